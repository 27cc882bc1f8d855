"""JSON API for orgs."""

from verifier.api import bp  # noqa: F401

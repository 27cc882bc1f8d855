"""JSON API for volunteers."""

from verifier.api import bp  # noqa: F401

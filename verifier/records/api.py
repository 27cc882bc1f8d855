"""JSON API for records."""

from verifier.api import bp  # noqa: F401

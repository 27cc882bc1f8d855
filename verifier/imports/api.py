"""JSON API for imports."""

from verifier.api import bp  # noqa: F401

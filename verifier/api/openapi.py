"""The OpenAPI 3 document at /api/v1/openapi.json."""

from verifier.api import bp  # noqa: F401

"""The JSON API under /api/v1: Bearer-token authentication, problem+json errors."""

from __future__ import annotations

from flask import Blueprint, g, request

from verifier.auth.services import user_for_token
from verifier.db import get_session

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def _authenticate() -> None:
    """Resolve the Bearer token, if any; views decide whether one is required."""
    g.api_user = None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        g.api_user = user_for_token(get_session(), token.strip())

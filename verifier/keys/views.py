"""The published public keys: /.well-known/jwks.json."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from verifier.auth.access import public
from verifier.db import get_session
from verifier.keys.services import jwks

bp = Blueprint("keys", __name__)


@bp.get("/.well-known/jwks.json")
@public
def jwks_document() -> Any:
    response = jsonify(jwks(get_session()))
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response

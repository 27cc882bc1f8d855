"""The published keys: /.well-known/jwks.json, and the signed trust list (issuers.json)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from verifier.auth.access import public
from verifier.db import get_session
from verifier.keys.services import TRUST_LIST_PATH, jwks, trust_list

bp = Blueprint("keys", __name__)

MAX_AGE = 300


@bp.get("/.well-known/jwks.json")
@public
def jwks_document() -> Any:
    response = jsonify(jwks(get_session()))
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get(TRUST_LIST_PATH)
@public
def trust_list_document() -> Any:
    """The trust list: a flattened JWS (RFC 7515, 7.2.2) signed by the root, with an ETag."""
    document = trust_list(get_session())
    text = json.dumps(document, separators=(",", ":"))
    etag = hashlib.sha256(text.encode()).hexdigest()[:32]  # changes with every signature
    if request.if_none_match.contains(etag):
        response = current_app.response_class(status=304)
    else:
        response = current_app.response_class(text, mimetype="application/jose+json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response

"""Public documents for credential verifiers: the did:web document and the status lists."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from verifier.auth.access import public, require_actor, roles
from verifier.auth.models import ORG_ROLES, REGULATOR_ROLES, VOLUNTEER
from verifier.certificates.services import number_display, visible_certificate
from verifier.credentials.services import (
    MAX_STATUS_LIST,
    STATUS_LIST_MAX_AGE,
    certificate_credential,
    did_document,
    organisation_did_document,
    status_list_credential,
)
from verifier.db import get_session

bp = Blueprint("credentials", __name__)

# The W3C media type of a Verifiable Credential (VC Data Model 2.0, registered with IANA).
VC_MEDIA_TYPE = "application/vc"


def vc_response(document: dict[str, Any], *, max_age: int | None = None) -> Any:
    """Answer a credential as application/vc; public ones may be cached for max_age seconds."""
    response = current_app.response_class(
        json.dumps(document, ensure_ascii=False, indent=2), mimetype=VC_MEDIA_TYPE
    )
    if max_age is None:
        response.headers["Cache-Control"] = "private, no-store"
    else:
        response.headers["Cache-Control"] = f"public, max-age={max_age}"
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# did:web resolves a DID without a path to /.well-known/did.json and one with a path (a
# BASE_URL like https://host/verifier) to {path}/did.json; the app answers both.
@bp.get("/.well-known/did.json")
@bp.get("/did.json")
@public
def did_json() -> Any:
    response = jsonify(did_document(get_session(), current_app.config["BASE_URL"]))
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# An organisation's did:web:HOST:orgs:USCC resolves to /orgs/USCC/did.json.
@bp.get("/orgs/<string(length=18):uscc>/did.json")
@public
def organisation_did_json(uscc: str) -> Any:
    document = organisation_did_document(get_session(), current_app.config["BASE_URL"], uscc)
    response = jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get(f"/credentials/status/<int(max={MAX_STATUS_LIST}):list_number>/<purpose>")
@public
def status_list(list_number: int, purpose: str) -> Any:
    """Serve a status list as signed at its last change, with an ETag (If-None-Match: 304)."""
    text = status_list_credential(
        get_session(),
        list_number,
        purpose,
        current_app.config["BASE_URL"],
        valid_hours=current_app.config["STATUS_LIST_VALID_HOURS"],
    )
    etag = hashlib.sha256(text.encode()).hexdigest()[:32]
    if request.if_none_match.contains(etag):
        response = current_app.response_class(status=304)
    else:
        response = current_app.response_class(text, mimetype=VC_MEDIA_TYPE)
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={STATUS_LIST_MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/certificates/<string(maxlength=64):number>/credential.json")
@roles(*sorted(ORG_ROLES), *sorted(REGULATOR_ROLES), VOLUNTEER)
def credential(number: str) -> Any:
    """Download a certificate's W3C Verifiable Credential (the link on the certificate's page)."""
    session = get_session()
    cert = visible_certificate(session, require_actor(), number)
    response = vc_response(certificate_credential(session, cert, current_app.config["BASE_URL"]))
    response.headers["Content-Disposition"] = (
        f'attachment; filename="certificate-{number_display(cert.number)}.credential.json"'
    )
    return response

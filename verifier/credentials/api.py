"""JSON API: a certificate as a W3C Verifiable Credential (Open Badges 3.0)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from verifier.api import bp
from verifier.auth.access import ANY_ROLE, require_actor, roles
from verifier.certificates.services import visible_certificate
from verifier.credentials.services import certificate_credential
from verifier.credentials.views import vc_response
from verifier.db import get_session


@bp.get("/certificates/<number>/credential.json")
@roles(*ANY_ROLE)
def certificate_credential_api(number: str) -> Any:
    """Download the credential: the issuing organisation's users, regulators, platform admins."""
    session = get_session()
    cert = visible_certificate(session, require_actor(), number[:64])
    document = certificate_credential(session, cert, current_app.config["BASE_URL"])
    response = vc_response(document)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="certificate-{cert.number}.credential.json"'
    )
    return response

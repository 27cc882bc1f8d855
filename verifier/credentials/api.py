"""JSON API: a certificate as a W3C Verifiable Credential (Open Badges 3.0)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.auth.access import ANY_ROLE, require_actor, roles
from verifier.certificates.services import visible_certificate
from verifier.credentials.services import certificate_credential
from verifier.credentials.views import vc_response
from verifier.db import get_session


@bp.get("/certificates/<string(maxlength=64):number>/credential.json")
@roles(*ANY_ROLE)
@operation(
    summary="The certificate as a W3C Verifiable Credential (Open Badges 3.0)",
    tag="certificates",
    description=(
        "Answers `application/vc`: a Verifiable Credential 2.0 of types VerifiableCredential "
        "and OpenBadgeCredential (achievementType CommunityService), issued by the platform's "
        "did:web (see /.well-known/did.json) in the name of the organisation, with the hours, "
        "the period, the volunteer number and the masked name (never the ID number), two "
        "BitstringStatusListEntry entries (revocation, suspension), and a Data Integrity proof "
        "(cryptosuite eddsa-jcs-2022) made with the active key. See docs/verification.md. "
        "The number is accepted grouped or not, in any case. Another organisation's "
        "certificate answers 404."
    ),
)
def certificate_credential_api(number: str) -> Any:
    """Download the credential: the issuing organisation's users, regulators, platform admins."""
    session = get_session()
    cert = visible_certificate(session, require_actor(), number)
    document = certificate_credential(session, cert, current_app.config["BASE_URL"])
    response = vc_response(document)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="certificate-{cert.number}.credential.json"'
    )
    return response

"""JSON API: a certificate as a W3C Verifiable Credential (Open Badges 3.0)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from pydantic import ConfigDict, Field

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import OutputModel
from verifier.auth.access import ANY_ROLE, require_actor, roles
from verifier.auth.models import VOLUNTEER
from verifier.certificates.services import visible_certificate
from verifier.credentials.services import certificate_credential
from verifier.credentials.views import VC_MEDIA_TYPE, vc_response
from verifier.db import get_session


class CredentialOut(OutputModel):
    """A Verifiable Credential 2.0 (Open Badges 3.0); docs/verification.md describes it whole."""

    model_config = ConfigDict(extra="allow")

    context: list[str] = Field(alias="@context")
    id: str = Field(description="urn:uuid of the certificate.")
    type: list[str] = Field(examples=[["VerifiableCredential", "OpenBadgeCredential"]])
    name: str
    issuer: dict[str, Any] = Field(description="The platform's did:web, for the organisation.")
    validFrom: str = Field(description="When it was issued (xsd:dateTime).")
    issuanceDate: str = Field(
        description="The same instant as validFrom, under its VC 1.1 name, which the 1EdTech "
        "OB 3.0 JSON Schema requires (ob_v3p0_achievementcredential_schema.json)."
    )
    credentialSubject: dict[str, Any] = Field(
        description="The achievement: hours, period, volunteer number and masked name."
    )
    credentialStatus: dict[str, Any] = Field(
        description="One BitstringStatusListEntry, statusPurpose message, statusSize 2: "
        "0x0 valid, 0x1 suspended, 0x2 revoked."
    )
    proof: list[dict[str, Any]] = Field(
        description="A proof set of one DataIntegrityProof, cryptosuite eddsa-jcs-2022."
    )


@bp.get("/certificates/<string(maxlength=64):number>/credential.json")
@roles(*ANY_ROLE, VOLUNTEER)
@operation(
    summary="The certificate as a W3C Verifiable Credential (Open Badges 3.0)",
    tag="certificates",
    description=(
        "Answers `application/vc`: a Verifiable Credential 2.0 of types VerifiableCredential "
        "and OpenBadgeCredential (achievementType CommunityService), issued by the platform's "
        "did:web (see /.well-known/did.json) in the name of the organisation, with the hours, "
        "the period, the volunteer number and the masked name (never the ID number), one "
        "BitstringStatusListEntry (statusPurpose message, statusSize 2: valid, suspended, "
        "revoked), and a Data Integrity proof (cryptosuite eddsa-jcs-2022, in a proof array) "
        "made with the active key. See docs/verification.md. "
        "The number is accepted grouped or not, in any case. Another organisation's "
        "certificate answers 404; a volunteer downloads their own certificates only."
    ),
    response=CredentialOut,
    media=VC_MEDIA_TYPE,
)
def certificate_credential_api(number: str) -> Any:
    """Download the credential: the issuing organisation's users, regulators, platform admins,
    and the volunteer it was issued to."""
    session = get_session()
    cert = visible_certificate(session, require_actor(), number)
    document = certificate_credential(session, cert, current_app.config["BASE_URL"])
    response = vc_response(document)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="certificate-{cert.number}.credential.json"'
    )
    return response

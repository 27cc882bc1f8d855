"""JSON API: a certificate's SD-JWT (RFC 9901), for the organisation that issued it."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import OutputModel, answer
from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER
from verifier.certificates.models import Certificate
from verifier.certificates.selective import choices_of, sd_jwt_of
from verifier.certificates.services import number_display, visible_certificate
from verifier.crypto.sdjwt import SD_JWT_TYPE
from verifier.db import get_session

NUMBER = "<string(maxlength=64):number>"


class DisclosableOut(OutputModel):
    key: str = Field(
        description="What to name in `disclose` to show it: name, id_type, vno or activity-N.",
        examples=["activity-0"],
    )
    claim: str = Field(description="The claim it discloses: name, id_type, vno or activities.")
    value: Any = Field(description="The disclosed value (an activity line: {activity, hours}).")


class SdJwtOut(OutputModel):
    """A certificate as an SD-JWT with every disclosure: the holder's to present."""

    number: str
    typ: str = Field(examples=[SD_JWT_TYPE])
    sd_jwt: str = Field(
        description="`<issuer-signed JWT>~<disclosure>~...~` (RFC 9901; no key binding)."
    )
    disclosable: list[DisclosableOut]

    @classmethod
    def of(cls, cert: Certificate, sd_jwt: str) -> SdJwtOut:
        return cls(
            number=number_display(cert.number),
            typ=SD_JWT_TYPE,
            sd_jwt=sd_jwt,
            disclosable=[
                DisclosableOut(key=c.key, claim=c.claim, value=c.value) for c in choices_of(sd_jwt)
            ],
        )


@bp.get(f"/certificates/{NUMBER}/sd-jwt")
@roles(ORG_ADMIN, ORG_RECORDER)
@operation(
    summary="The certificate as an SD-JWT (selective disclosure)",
    tag="certificates",
    description="The full SD-JWT with every disclosure (the volunteer's full name, ID type, "
    "volunteer number and each activity line), for the issuing organisation to hand to the "
    "holder; a certificate issued before SD-JWTs gets one signed on this first request with the "
    "current key. Another organisation's certificate answers 404; the public never gets it. "
    "docs/selective-disclosure.md describes the format.",
    response=SdJwtOut,
)
def certificate_sd_jwt_api(number: str) -> Any:
    session = get_session()
    actor = require_actor()
    cert = visible_certificate(session, actor, number)
    return answer(SdJwtOut.of(cert, sd_jwt_of(session, cert, actor)))

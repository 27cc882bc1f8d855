"""JSON API: the volunteer's SD-JWT of a certificate, and presentations that show only a part."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictStr

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import InputModel, OutputModel, answer, read_json
from verifier.auth.access import require_actor, roles
from verifier.auth.models import VOLUNTEER
from verifier.certificates.sdjwt_api import NUMBER, SdJwtOut
from verifier.certificates.selective import (
    PRESENTATION_MAX_QR_VERSION,
    make_presentation,
    presentation_link,
    sd_jwt_of,
)
from verifier.certificates.services import visible_certificate
from verifier.db import get_session

TAG = "certificate requests"


class PresentationCreate(InputModel):
    disclose: list[StrictStr] = Field(
        max_length=300,
        description="What to show besides the number, issuer, period and total hours: any of "
        "`name`, `id_type`, `vno` and `activity-N` (the keys of `disclosable`); [] shows "
        "only those.",
    )


class PresentationOut(OutputModel):
    presentation: str = Field(description="The SD-JWT with only the chosen disclosures.")
    url: str = Field(description="Opens the public verification page, which shows only those.")
    url_bytes: int
    link_fits: bool = Field(
        description="Whether the link is short enough for a web server's request line (4,000 "
        "bytes); if not, send the presentation to POST /verifications instead."
    )
    qr_version: int | None = Field(
        description=f"The QR code version the link needs at level M, or null beyond version "
        f"{PRESENTATION_MAX_QR_VERSION} (no QR code then)."
    )


@bp.get(f"/me/certificates/{NUMBER}/sd-jwt")
@roles(VOLUNTEER)
@operation(
    summary="Your certificate as an SD-JWT (selective disclosure)",
    tag=TAG,
    description="Your certificate with every disclosure; present only the parts you choose "
    "(POST .../presentations does it for you). Another volunteer's certificate answers 404.",
    response=SdJwtOut,
)
def my_certificate_sd_jwt_api(number: str) -> Any:
    session = get_session()
    actor = require_actor()
    cert = visible_certificate(session, actor, number)
    return answer(SdJwtOut.of(cert, sd_jwt_of(session, cert, actor)))


@bp.post(f"/me/certificates/{NUMBER}/presentations")
@roles(VOLUNTEER)
@operation(
    summary="Make a presentation of your certificate that shows only what you choose",
    tag=TAG,
    description="Nothing is stored: the presentation is the SD-JWT with the chosen disclosures "
    "only, and its link opens /v/, which verifies it and shows only those. A key that is not "
    "one of `disclosable` answers 422 naming `disclose`.",
    body=PresentationCreate,
    response=PresentationOut,
)
def my_certificate_presentation_api(number: str) -> Any:
    session = get_session()
    actor = require_actor()
    body = read_json(PresentationCreate)
    cert = visible_certificate(session, actor, number)
    link = presentation_link(make_presentation(sd_jwt_of(session, cert, actor), body.disclose))
    return answer(
        PresentationOut(
            presentation=link.presentation,
            url=link.url,
            url_bytes=len(link.url.encode("utf-8")),
            link_fits=link.link_fits,
            qr_version=link.qr.version if link.qr is not None else None,
        )
    )

"""The holder's SD-JWT of a certificate, and presentations that disclose only what they choose."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.audit.models import AuditEntry
from verifier.audit.services import record_event
from verifier.auth.models import User
from verifier.certificates.lifecycle import lock_certificate
from verifier.certificates.models import Certificate
from verifier.certificates.qr import QRCodeTooLarge, QRLayout, measure_qr, render_qr_png
from verifier.certificates.sdjwt import (
    ACTIVITIES,
    DISCLOSABLE_CLAIMS,
    ID_TYPE,
    NAME,
    VOLUNTEER_NUMBER,
    sd_jwt_hash,
    sign_sd_jwt,
)
from verifier.certificates.services import Signer
from verifier.crypto import sdjwt
from verifier.errors import ValidationError

# signing the SD-JWT of a certificate issued before SD-JWTs (on its first request)
SD_JWT_ACTION = "certificate.sd_jwt"
ACTIVITY_PREFIX = "activity-"
# A presentation's QR code is shown on a phone's screen, not printed: a denser code than the
# printed certificate's (version 22) still reads well from a screen; beyond this, a link only.
PRESENTATION_MAX_QR_VERSION = 30
# gunicorn refuses a request line over 4,094 bytes (limit_request_line): a longer link would not
# reach /v/; such a presentation is verified by POST /api/v1/verifications.
MAX_LINK_LENGTH = 4_000


def sd_jwt_of(session: Session, cert: Certificate, actor: User | None) -> str:
    """Return the certificate's SD-JWT, signing and storing one first if it has none.

    A certificate issued before SD-JWTs gets one signed with the current key of whoever signed its
    QR token (its organisation's, or the platform's root for a certificate from before
    organisation keys): that key may since have been retired. The signing is appended to the audit
    log, which is the SD-JWT's ledger entry.
    """
    if cert.sd_jwt is not None:
        return cert.sd_jwt
    cert = lock_certificate(session, cert)
    # read the (deferred) column again under the lock: another request may have signed one
    # meanwhile, and theirs stands (a second would orphan presentations of the first)
    session.refresh(cert, ["sd_jwt"])
    if cert.sd_jwt is None:
        signer = Signer.for_existing(session, cert)
        cert.sd_jwt = sign_sd_jwt(
            cert, base_url=signer.base_url, private_key=signer.private_key, kid=signer.kid
        )
        session.flush()
        record_event(
            session,
            actor,
            SD_JWT_ACTION,
            "certificate",
            cert.number,
            organisation_id=cert.organisation_id,
            details={
                "number": cert.number,
                "kid": signer.kid,
                "sd_jwt_sha256": sd_jwt_hash(cert.sd_jwt),
            },
        )
    return cert.sd_jwt


def sd_jwt_ledger_entry(
    session: Session, cert: Certificate, issue_entry: AuditEntry
) -> AuditEntry | None:
    """Return the ledger entry that recorded the certificate's stored SD-JWT, if any."""
    if cert.sd_jwt is None:
        return None
    wanted = sd_jwt_hash(cert.sd_jwt)
    if json.loads(issue_entry.details).get("sd_jwt_sha256") == wanted:
        return issue_entry
    for entry in session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action == SD_JWT_ACTION,
            AuditEntry.object_type == "certificate",
            AuditEntry.object_id == cert.number,
        )
        .order_by(AuditEntry.id)
    ):
        if json.loads(entry.details).get("sd_jwt_sha256") == wanted:
            return entry
    return None


@dataclass(frozen=True)
class Choice:
    """One thing the holder may disclose: its key in a request, its claim, and its value."""

    key: str
    claim: str
    value: Any


def choices_of(sd_jwt: str) -> list[Choice]:
    """Return what the holder may disclose: name, ID type, volunteer number, each activity line."""
    found: list[Choice] = []
    index = 0
    for disclosure in sdjwt.disclosures_of(sd_jwt):
        if disclosure.name is None:
            found.append(Choice(f"{ACTIVITY_PREFIX}{index}", ACTIVITIES, disclosure.value))
            index += 1
        elif disclosure.name in DISCLOSABLE_CLAIMS:
            found.append(Choice(disclosure.name, disclosure.name, disclosure.value))
    order = {NAME: 0, ID_TYPE: 1, VOLUNTEER_NUMBER: 2}
    return sorted(found, key=lambda c: order.get(c.key, 3))  # stable: activities in order


def make_presentation(sd_jwt: str, disclose: Iterable[str]) -> str:
    """Return a presentation of the SD-JWT with only the chosen disclosures.

    `disclose` holds keys of `choices_of` ("name", "id_type", "vno", "activity-0" ...); an
    unknown key is refused, naming it.
    """
    wanted = set(disclose)
    keys = {c.key for c in choices_of(sd_jwt)}
    unknown = sorted(wanted - keys)
    if unknown:
        raise ValidationError(
            _("%(key)s is not something this certificate can disclose", key=unknown[0][:40]),
            field="disclose",
            rule="known_claim",
        )
    kept: set[str] = set()
    index = 0
    for disclosure in sdjwt.disclosures_of(sd_jwt):
        if disclosure.name is None:
            key = f"{ACTIVITY_PREFIX}{index}"
            index += 1
        else:
            key = disclosure.name
        if key in wanted:
            kept.add(disclosure.encoded)
    return sdjwt.present(sd_jwt, lambda d: d.encoded in kept)


def presentation_url(presentation: str) -> str:
    """Return the link that opens a presentation on the public verification page."""
    return f"{current_app.config['BASE_URL']}/v/{presentation}"


@dataclass(frozen=True)
class PresentationLink:
    """A presentation, its link, and its QR code when one fits (with the version it needs)."""

    presentation: str
    url: str
    link_fits: bool
    qr: QRLayout | None
    qr_png: bytes | None


def presentation_link(presentation: str, *, with_png: bool = False) -> PresentationLink:
    """Return the presentation's link and, when it fits a screen, its QR code's size (and PNG)."""
    url = presentation_url(presentation)
    layout: QRLayout | None = None
    png: bytes | None = None
    with contextlib.suppress(QRCodeTooLarge):
        layout = measure_qr(url)
    if layout is not None and layout.version > PRESENTATION_MAX_QR_VERSION:
        layout = None
    if layout is not None and with_png:
        png = render_qr_png(url, box_size=6, max_version=PRESENTATION_MAX_QR_VERSION)
    return PresentationLink(presentation, url, len(url) <= MAX_LINK_LENGTH, layout, png)

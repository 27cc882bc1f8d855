"""API models for certificates: issuing one or many, listing, status changes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from flask import current_app, url_for
from pydantic import Field, StrictStr

from verifier.api.schemas import (
    InputModel,
    IsoDate,
    OutputModel,
    PageOut,
    PageQuery,
    QueryText,
    RecordId,
    local,
)
from verifier.certificates.bulk import BULK_LIMIT, BulkResult, SkipReason
from verifier.certificates.models import Certificate, VerificationChannel
from verifier.certificates.services import activities_of, number_display, verify_url
from verifier.certificates.states import CertificateStatus
from verifier.timeutil import format_hours

Reason = Annotated[StrictStr, Field(max_length=500, description="Why (at most 500 characters).")]
Handler = Annotated[
    StrictStr,
    Field(
        max_length=50,
        description="经办人, the handler printed on the certificate; default: the caller's name.",
    ),
]
NUMBER_TEXT = (
    "The certificate number, grouped (ABCD-EFGH-JKMN-PQRS-T) or not, in any case; "
    "I, L and O are read as 1, 1 and 0."
)


class CertificateCreate(InputModel):
    """Issue a certificate to a volunteer of the caller's organisation."""

    volunteer_id: RecordId
    record_ids: list[RecordId] | None = Field(
        None,
        max_length=2000,
        description="The records to certify (each a valid record of this volunteer kept by the "
        "caller's organisation). Without it, every valid record in the period is certified.",
    )
    period_from: IsoDate | None = Field(
        None, description="First day of the period (with no record_ids)."
    )
    period_to: IsoDate | None = Field(
        None, description="Last day of the period (with no record_ids)."
    )
    handler: Handler = ""


class BulkCreate(InputModel):
    """Issue certificates to many volunteers for one period, in one transaction."""

    period_from: IsoDate
    period_to: IsoDate
    volunteer_ids: list[RecordId] | None = Field(
        None,
        max_length=BULK_LIMIT,
        description=f"At most {BULK_LIMIT}. Without it, every volunteer of the organisation with "
        "valid records in the period.",
    )
    handler: Handler = ""


class StatusChange(InputModel):
    reason: Reason


class Reinstatement(InputModel):
    reason: Reason = ""


class CertificateQuery(PageQuery):
    q: QueryText = Field(
        "",
        max_length=60,
        description="A certificate number, a volunteer number, or part of a name.",
    )
    status: CertificateStatus | None = None


class ActivityOut(OutputModel):
    activity: str
    minutes: int
    hours: str
    records: int


class CertificateOut(OutputModel):
    """A certificate as its organisation (or a regulator) sees it: ID number masked."""

    number: str = Field(examples=["7K3Q-M9XA-2BHD-PW4R-E"])
    token: str = Field(description="The compact JWS (EdDSA) that the QR code carries.")
    verify_url: str = Field(description="What the QR code holds: {BASE_URL}/v/{token}.")
    status: CertificateStatus
    status_reason: str
    status_changed_at: datetime | None
    hours: str = Field(examples=["12.50"])
    total_minutes: int
    period_from: date
    period_to: date
    record_count: int
    activities: list[ActivityOut]
    volunteer_id: int
    volunteer_number: str
    volunteer_name: str
    volunteer_name_masked: str
    id_type: str
    id_number_masked: str
    issuer_name: str
    issuer_uscc: str
    responsible_person: str
    handler: str
    contact: str
    issued_at: datetime
    kid: str
    superseded_by: str | None = Field(
        None, description="The number of the certificate re-issued in its place."
    )
    verifications: dict[str, int] | None = Field(
        None, description="How often it was verified, per channel (scan, typed, api, batch)."
    )
    links: dict[str, str]
    issued_for: dict[str, str | None] | None = Field(
        default=None,
        description="Set when the certificate was issued after its organisation's "
        "deregistration by its successor (`by: successor`, `by_name`, `by_uscc`) or the "
        "platform (`by: platform`); issuer_name and issuer_uscc stay the deregistered "
        "organisation's, whose records it certifies.",
    )

    @classmethod
    def of(
        cls,
        cert: Certificate,
        counts: dict[str, int] | None = None,
        superseded_by: str | None = None,
    ) -> CertificateOut:
        number = number_display(cert.number)
        return cls(
            number=number,
            token=cert.token,
            verify_url=verify_url(cert),
            status=cert.status,
            status_reason=cert.status_reason,
            status_changed_at=local(cert.status_changed_at),
            hours=format_hours(cert.total_minutes),
            total_minutes=cert.total_minutes,
            period_from=cert.period_from,
            period_to=cert.period_to,
            record_count=cert.record_count,
            activities=[
                ActivityOut(
                    activity=a["activity"],
                    minutes=a["minutes"],
                    hours=format_hours(a["minutes"]),
                    records=a["records"],
                )
                for a in activities_of(cert)
            ],
            volunteer_id=cert.volunteer_id,
            volunteer_number=cert.volunteer_number,
            volunteer_name=cert.volunteer_name,
            volunteer_name_masked=cert.volunteer_name_masked,
            id_type=cert.id_type,
            id_number_masked=cert.id_masked,
            issuer_name=cert.issuer_name,
            issuer_uscc=cert.issuer_uscc,
            responsible_person=cert.responsible_person,
            handler=cert.handler,
            contact=cert.contact,
            issued_at=local(cert.issued_at),
            kid=cert.kid,
            superseded_by=number_display(superseded_by) if superseded_by else None,
            verifications=None
            if counts is None
            else {c: counts.get(c, 0) for c in VerificationChannel},
            links=_links(number),
            issued_for=None
            if cert.custodian_kind is None
            else {
                "by": cert.custodian_kind,
                "by_name": cert.custodian_name,
                "by_uscc": cert.custodian_uscc,
            },
        )


def _links(number: str) -> dict[str, str]:
    links = {
        "self": url_for("api.get_certificate_api", number=number),
        "qr_png": url_for("api.certificate_qr_api", number=number),
        "certificate_pdf": url_for("api.certificate_pdf_api", number=number),
        "status": url_for("api.certificate_status_api", number=number),
    }
    if "api.certificate_credential_api" in current_app.view_functions:  # the W3C credential
        links["credential_json"] = url_for("api.certificate_credential_api", number=number)
    return links


class CertificatePage(PageOut):
    items: list[CertificateOut]


class IssuedOut(OutputModel):
    number: str
    volunteer_id: int
    volunteer_number: str
    hours: str
    status: str
    verify_url: str = Field(description="Holds the token: {BASE_URL}/v/{token}.")

    @classmethod
    def of(cls, cert: Certificate) -> IssuedOut:
        return cls(
            number=number_display(cert.number),
            volunteer_id=cert.volunteer_id,
            volunteer_number=cert.volunteer_number,
            hours=format_hours(cert.total_minutes),
            status=cert.status,
            verify_url=verify_url(cert),
        )


class SkippedOut(OutputModel):
    volunteer_id: int
    reason: SkipReason
    message: str


class BulkOut(OutputModel):
    period_from: date
    period_to: date
    issued: list[IssuedOut]
    skipped: list[SkippedOut]

    @classmethod
    def of(cls, result: BulkResult, period_from: date, period_to: date) -> BulkOut:
        return cls(
            period_from=period_from,
            period_to=period_to,
            issued=[IssuedOut.of(c) for c in result.issued],
            skipped=[
                SkippedOut(volunteer_id=s.volunteer_id, reason=s.reason, message=s.message)
                for s in result.skipped
            ],
        )


class PdfQuery(InputModel):
    """Which form of the certificate's PDF, in which language."""

    form: Literal["holder", "public"] | None = Field(
        None,
        description="`holder`: the holder's copy (full name; only the issuing organisation and "
        "the volunteer); `public`: the masked form. Default: the holder's copy for those who may "
        "have it, else the public form.",
    )
    lang: Literal["zh", "en"] = Field("zh", description="The certificate's language.")

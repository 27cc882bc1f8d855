"""API models of certificate requests and of the volunteer's own certificates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from flask import current_app, url_for
from pydantic import Field

from verifier.api.schemas import (
    INT32_MAX,
    InputModel,
    IsoDate,
    OutputModel,
    PageOut,
    PageQuery,
    Text,
    local,
)
from verifier.certificates.models import Certificate, VerificationChannel
from verifier.certificates.schemas import Handler
from verifier.certificates.services import number_display, verify_url
from verifier.certificates.states import CertificateStatus
from verifier.complaints.models import CertificateRequest, CertificateRequestStatus
from verifier.portal.certreqs import REASON_LIMIT
from verifier.portal.certreqs_lists import is_overdue
from verifier.portal.record_schemas import AnsweredByOut
from verifier.timeutil import format_hours


class CertificateRequestCreate(InputModel):
    """Ask one of your organisations for a certificate of a period of your service (free)."""

    organisation_uscc: Text = Field(
        max_length=40,
        description="The unified social credit code of an organisation you are registered with.",
        examples=["53500000MJ0000001X"],
    )
    period_from: IsoDate = Field(description="First day of the period.")
    period_to: IsoDate = Field(description="Last day of the period (not after today).")


class IssueBody(InputModel):
    handler: Handler = ""


class Refusal(InputModel):
    reason: Text = Field(
        max_length=REASON_LIMIT,
        description=f"Why the certificate is refused (required, at most {REASON_LIMIT} "
        "characters); the volunteer is told, and regulators see it.",
    )


class CertificateRequestQuery(PageQuery):
    status: CertificateRequestStatus | None = Field(None, description="Only this status.")
    overdue: Literal["0", "1", "true", "false"] | None = Field(
        None, description="1: only pending requests past their deadline (due_on)."
    )
    organisation_id: int | None = Field(
        None,
        ge=1,
        le=INT32_MAX,
        description="Only this organisation's requests (regulators; organisation users always "
        "see only their own).",
    )


class IssuedCertificateRef(OutputModel):
    number: str
    links: dict[str, str]


def _certificate_api_links(number: str) -> dict[str, str]:
    links = {"certificate_pdf": url_for("api.certificate_pdf_api", number=number)}
    if "api.certificate_credential_api" in current_app.view_functions:
        links["credential_json"] = url_for("api.certificate_credential_api", number=number)
    return links


class MyCertificateRequestOut(OutputModel):
    """A request as the volunteer who made it sees it."""

    id: int
    organisation_name: str
    organisation_uscc: str
    period_from: date
    period_to: date
    status: CertificateRequestStatus
    created_at: datetime
    due_on: date = Field(description="The organisation answers by the end of this day.")
    overdue: bool = Field(description="Still pending after due_on.")
    answered_at: datetime | None
    refusal_reason: str
    certificate: IssuedCertificateRef | None = Field(
        None, description="The certificate issued for it."
    )
    answered_by: AnsweredByOut | None = Field(
        default=None, description="Who answers it (a deregistered organisation's successor…)."
    )

    @classmethod
    def of(cls, request: CertificateRequest, number: str | None) -> MyCertificateRequestOut:
        return cls(
            id=request.id,
            organisation_name=request.organisation.name,
            organisation_uscc=request.organisation.uscc,
            period_from=request.period_from,
            period_to=request.period_to,
            status=request.status,
            created_at=local(request.created_at),
            due_on=request.due_on,
            overdue=is_overdue(request),
            answered_at=local(request.answered_at),
            refusal_reason=request.refusal_reason,
            certificate=_ref(number),
            answered_by=AnsweredByOut.of(request.organisation),
        )


def _ref(number: str | None) -> IssuedCertificateRef | None:
    if number is None:
        return None
    shown = number_display(number)
    return IssuedCertificateRef(number=shown, links=_certificate_api_links(shown))


class MyCertificateRequestPage(PageOut):
    items: list[MyCertificateRequestOut]


class CertificateRequestOut(MyCertificateRequestOut):
    """A request as the organisation asked (or a regulator) sees it."""

    organisation_id: int
    volunteer_id: int
    volunteer_number: str
    volunteer_name: str
    answered_by_id: int | None

    @classmethod
    def of(cls, request: CertificateRequest, number: str | None) -> CertificateRequestOut:
        mine = MyCertificateRequestOut.of(request, number)
        return cls(
            **mine.model_dump(exclude={"certificate"}),
            certificate=mine.certificate,
            organisation_id=request.organisation_id,
            volunteer_id=request.volunteer_id,
            volunteer_number=request.volunteer.volunteer_number,
            volunteer_name=request.volunteer.name,
            answered_by_id=request.answered_by_id,
        )


class CertificateRequestPage(PageOut):
    items: list[CertificateRequestOut]


class OrganisationRequestsOut(OutputModel):
    organisation_id: int
    organisation_name: str
    organisation_uscc: str
    pending: int
    overdue: int = Field(description="Pending past their deadline.")
    refused: int
    oldest_due_on: date | None = Field(description="The earliest deadline of an overdue one.")


class OrganisationRequestsPage(PageOut):
    items: list[OrganisationRequestsOut]


class MyCertificateOut(OutputModel):
    """One of the volunteer's certificates, from any organisation."""

    number: str = Field(examples=["7K3Q-M9XA-2BHD-PW4R-E"])
    issuer_name: str
    issuer_uscc: str
    period_from: date
    period_to: date
    hours: str = Field(examples=["12.50"])
    total_minutes: int
    status: CertificateStatus
    status_reason: str
    issued_at: datetime
    verify_url: str = Field(description="What its QR code holds: anyone may check it there.")
    verification_counts: dict[str, int] = Field(
        description="How often it was verified, per channel (scan, typed, api, batch); counts "
        "only, never who verified."
    )
    links: dict[str, str] = Field(description="The PDF and the W3C credential (this API).")

    @classmethod
    def of(cls, cert: Certificate, counts: dict[str, int]) -> MyCertificateOut:
        number = number_display(cert.number)
        return cls(
            number=number,
            issuer_name=cert.issuer_name,
            issuer_uscc=cert.issuer_uscc,
            period_from=cert.period_from,
            period_to=cert.period_to,
            hours=format_hours(cert.total_minutes),
            total_minutes=cert.total_minutes,
            status=cert.status,
            status_reason=cert.status_reason,
            issued_at=local(cert.issued_at),
            verify_url=verify_url(cert),
            verification_counts={c: counts.get(c, 0) for c in VerificationChannel},
            links=_certificate_api_links(number),
        )


class MyCertificatesOut(OutputModel):
    items: list[MyCertificateOut]

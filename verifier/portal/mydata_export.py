"""The volunteer's copy of their data (个人信息保护法 Art. 45): the JSON document and its parts.

The page's download and `GET /api/v1/me/export` give the same document. Times are local, with
their offset, as in every answer of the API.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from flask_babel import gettext as _
from pydantic import Field

from verifier.api.schemas import OutputModel, local
from verifier.auth.models import ApiToken, User
from verifier.certificates.models import Certificate
from verifier.certificates.services import activities_of, number_display
from verifier.complaints.models import CertificateRequest, CorrectionRequest
from verifier.notifications.models import OutboxMessage
from verifier.portal.mydata import MyData
from verifier.portal.mydata_schemas import MissingRecordOut
from verifier.records.models import RecordConfirmation, RecordRevision, ServiceRecord
from verifier.records.schemas import RevisionContent
from verifier.timeutil import format_hours
from verifier.volunteers.models import Volunteer


class ExportVolunteer(OutputModel):
    volunteer_number: str
    name: str
    gender: str | None
    birth_date: date | None
    id_type: str
    id_number_masked: str
    id_number: str | None = Field(
        description="In full only when the password was entered again (POST); else null."
    )
    phone_masked: str
    guardian_name: str
    guardian_consent_at: datetime | None
    registered_at: datetime
    public_activities: bool = Field(description="The choice for public verification pages.")

    @classmethod
    def of(cls, volunteer: Volunteer, id_number: str | None) -> ExportVolunteer:
        return cls(
            volunteer_number=volunteer.volunteer_number,
            name=volunteer.name,
            gender=volunteer.gender,
            birth_date=volunteer.birth_date,
            id_type=volunteer.id_type,
            id_number_masked=volunteer.id_masked,
            id_number=id_number,
            phone_masked=volunteer.phone_masked,
            guardian_name=volunteer.guardian_name,
            guardian_consent_at=local(volunteer.guardian_consent_at),
            registered_at=_at(volunteer.created_at),
            public_activities=volunteer.public_activities,
        )


class ExportMembership(OutputModel):
    organisation_name: str
    organisation_uscc: str
    joined_at: datetime


class ExportConfirmation(OutputModel):
    revision: int
    confirmed_at: datetime


class ExportRecord(OutputModel):
    id: int
    organisation_name: str
    organisation_uscc: str
    activity: str
    place: str
    content: str
    leader: str
    evaluation: str
    started_at: datetime
    ended_at: datetime
    service_date: date
    minutes: int
    hours: str
    status: str = Field(description="active or voided.")
    revision: int
    source: str
    entered_late: bool
    recorded_at: datetime
    updated_at: datetime
    voided_at: datetime | None
    void_reason: str
    revisions: list[RevisionContent] = Field(description="Every revision, oldest first.")
    confirmations: list[ExportConfirmation] = Field(description="The revisions you confirmed.")

    @classmethod
    def of(
        cls,
        record: ServiceRecord,
        revisions: list[RecordRevision],
        confirmations: list[RecordConfirmation],
    ) -> ExportRecord:
        return cls(
            id=record.id,
            organisation_name=record.organisation.name,
            organisation_uscc=record.organisation.uscc,
            activity=record.activity,
            place=record.place,
            content=record.content,
            leader=record.leader,
            evaluation=record.evaluation,
            started_at=_at(record.started_at),
            ended_at=_at(record.ended_at),
            service_date=record.service_date,
            minutes=record.minutes,
            hours=format_hours(record.minutes),
            status=record.status,
            revision=record.revision,
            source=record.source,
            entered_late=record.entered_late,
            recorded_at=_at(record.recorded_at),
            updated_at=_at(record.updated_at),
            voided_at=local(record.voided_at),
            void_reason=record.void_reason,
            revisions=[RevisionContent.of(r) for r in revisions],
            confirmations=[
                ExportConfirmation(revision=c.revision, confirmed_at=_at(c.confirmed_at))
                for c in confirmations
            ],
        )


class ExportCorrection(OutputModel):
    """A dispute you filed, or a correction request an organisation noted about your record."""

    id: int
    record_id: int
    from_your_account: bool
    kind: str | None = Field(description="not_attended, wrong_time, wrong_minutes or other.")
    requested_by: str
    reason: str
    status: str = Field(description="open, resolved or rejected.")
    created_at: datetime
    due_on: date | None
    resolved_at: datetime | None
    resolution: str

    @classmethod
    def of(cls, request: CorrectionRequest) -> ExportCorrection:
        return cls(
            id=request.id,
            record_id=request.record_id,
            from_your_account=request.volunteer_id is not None,
            kind=request.kind,
            requested_by=request.requested_by,
            reason=request.reason,
            status=request.status,
            created_at=_at(request.created_at),
            due_on=request.due_on,
            resolved_at=local(request.resolved_at),
            resolution=request.resolution,
        )


class ExportCertificateRequest(OutputModel):
    id: int
    organisation_name: str
    period_from: date
    period_to: date
    status: str = Field(description="pending, issued or refused.")
    created_at: datetime
    due_on: date
    certificate_number: str | None
    refusal_reason: str
    answered_at: datetime | None

    @classmethod
    def of(cls, request: CertificateRequest, number: str | None) -> ExportCertificateRequest:
        return cls(
            id=request.id,
            organisation_name=request.organisation.name,
            period_from=request.period_from,
            period_to=request.period_to,
            status=request.status,
            created_at=_at(request.created_at),
            due_on=request.due_on,
            certificate_number=number_display(number) if number else None,
            refusal_reason=request.refusal_reason,
            answered_at=local(request.answered_at),
        )


class ExportActivity(OutputModel):
    activity: str
    hours: str
    records: int


class ExportCertificate(OutputModel):
    number: str
    status: str
    status_reason: str
    issuer_name: str
    issuer_uscc: str
    period_from: date
    period_to: date
    hours: str
    record_count: int
    activities: list[ExportActivity]
    issued_at: datetime
    verifications: int = Field(description="How often it was verified; never by whom.")

    @classmethod
    def of(cls, cert: Certificate, verifications: int) -> ExportCertificate:
        return cls(
            number=number_display(cert.number),
            status=cert.status,
            status_reason=cert.status_reason,
            issuer_name=cert.issuer_name,
            issuer_uscc=cert.issuer_uscc,
            period_from=cert.period_from,
            period_to=cert.period_to,
            hours=format_hours(cert.total_minutes),
            record_count=cert.record_count,
            activities=[
                ExportActivity(
                    activity=a["activity"],
                    hours=format_hours(a["minutes"]),
                    records=a.get("records", 0),
                )
                for a in activities_of(cert)
            ],
            issued_at=_at(cert.issued_at),
            verifications=verifications,
        )


class ExportToken(OutputModel):
    name: str
    prefix: str = Field(description="The token's first characters; the token is never kept.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> ExportToken:
        return cls(
            name=token.name,
            prefix=token.prefix,
            created_at=_at(token.created_at),
            last_used_at=local(token.last_used_at),
            revoked_at=local(token.revoked_at),
        )


class ExportAccount(OutputModel):
    login: str
    active: bool
    created_at: datetime
    last_sign_in_at: datetime | None
    locale: str
    privacy_accepted_at: datetime | None
    privacy_notice_version: str
    tokens: list[ExportToken]

    @classmethod
    def of(cls, user: User, tokens: list[ApiToken]) -> ExportAccount:
        return cls(
            login=user.email,
            active=user.active,
            created_at=_at(user.created_at),
            last_sign_in_at=local(user.last_login_at),
            locale=user.locale,
            privacy_accepted_at=local(user.privacy_accepted_at),
            privacy_notice_version=user.privacy_notice_version,
            tokens=[ExportToken.of(t) for t in tokens],
        )


class ExportNotification(OutputModel):
    """A message sent (or to be sent) to you: never its text."""

    kind: str
    channel: str = Field(description="email or sms.")
    to: str = Field(description="The address, masked.")
    created_at: datetime
    status: str = Field(description="pending, sending, sent or failed.")
    sent_at: datetime | None

    @classmethod
    def of(cls, message: OutboxMessage) -> ExportNotification:
        return cls(
            kind=message.kind,
            channel=message.channel,
            to=message.recipient_masked,
            created_at=_at(message.created_at),
            status=message.status,
            sent_at=local(message.sent_at),
        )


class ExportAuditEvent(OutputModel):
    """An entry of the audit log about you or your account (what happened, not its details)."""

    at: datetime
    action: str
    object_type: str
    object_id: str
    by_you: bool


class MyDataExport(OutputModel):
    """Everything the service holds about the volunteer."""

    format: Literal["verifier-my-data/1"] = "verifier-my-data/1"
    generated_at: datetime
    about: str = Field(description="What this is, how to correct it or ask for deletion.")
    volunteer: ExportVolunteer
    memberships: list[ExportMembership]
    records: list[ExportRecord] = Field(description="Every record, voided ones too.")
    corrections: list[ExportCorrection]
    missing_records: list[MissingRecordOut]
    certificate_requests: list[ExportCertificateRequest]
    certificates: list[ExportCertificate]
    account: ExportAccount
    notifications: list[ExportNotification]
    audit_events: list[ExportAuditEvent]

    @classmethod
    def of(cls, data: MyData) -> MyDataExport:
        return cls(
            generated_at=_at(data.generated_at),
            about=about_text(),
            volunteer=ExportVolunteer.of(data.volunteer, data.id_number),
            memberships=[
                ExportMembership(
                    organisation_name=org.name,
                    organisation_uscc=org.uscc,
                    joined_at=_at(membership.joined_at),
                )
                for membership, org in data.memberships
            ],
            records=[
                ExportRecord.of(r, data.revisions.get(r.id, []), data.confirmations.get(r.id, []))
                for r in data.records
            ],
            corrections=[ExportCorrection.of(c) for c in data.corrections],
            missing_records=[MissingRecordOut.of(m) for m in data.missing_records],
            certificate_requests=[
                ExportCertificateRequest.of(r, data.certificate_numbers.get(r.certificate_id or 0))
                for r in data.certificate_requests
            ],
            certificates=[ExportCertificate.of(c, n) for c, n in data.certificates],
            account=ExportAccount.of(data.account, data.tokens),
            notifications=[ExportNotification.of(m) for m in data.notifications],
            audit_events=[
                ExportAuditEvent(
                    at=_at(e.created_at),
                    action=e.action,
                    object_type=e.object_type,
                    object_id=e.object_id,
                    by_you=e.actor_user_id == data.account.id,
                )
                for e in data.audit
            ],
        )

    def filename(self) -> str:
        return f"my-data-{self.generated_at.date().isoformat()}.json"


def about_text() -> str:
    return str(
        _(
            "Everything this service holds about you, as of the time above. To correct a record, "
            "dispute it from your records page; the organisation that keeps it answers. Service "
            "records must be kept for at least 10 years (GB/T 40143), so they cannot be deleted "
            "on request before then; for anything else, ask the organisation that registered you "
            "or the civil-affairs authority that runs this service."
        )
    )


def _at(moment: datetime) -> datetime:
    shown = local(moment)
    assert shown is not None  # a stored time that is never empty
    return shown


def export_json(data: MyData) -> dict[str, Any]:
    """Return the export as JSON-ready data."""
    return MyDataExport.of(data).model_dump(mode="json")

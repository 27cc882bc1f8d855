"""A volunteer's own data: the public-activities choice, and everything held about them.

个人信息保护法 Arts. 44–47: the volunteer may see and copy what is held about them. The export
holds their ID number masked; in full only after they entered their password again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from verifier.audit.models import AuditEntry
from verifier.audit.services import record_event
from verifier.auth.models import ApiToken, User
from verifier.auth.services import authenticate
from verifier.certificates.models import Certificate, VerificationEvent
from verifier.complaints.models import CertificateRequest, CorrectionRequest, MissingRecordRequest
from verifier.db import utcnow
from verifier.errors import FieldError, Forbidden, ValidationError
from verifier.notifications.models import OutboxMessage
from verifier.orgs.models import Organisation
from verifier.records.models import RecordConfirmation, RecordRevision, ServiceRecord
from verifier.volunteers.models import Membership, Volunteer
from verifier.volunteers.services import reveal_id_number, surviving_volunteer


def own_volunteer(session: Session, actor: User) -> Volunteer:
    """Return the volunteer row of a volunteer's account (the surviving row after a merge)."""
    volunteer = (
        surviving_volunteer(session, actor.volunteer_id)
        if actor.is_volunteer and actor.volunteer_id is not None
        else None
    )
    if volunteer is None:
        raise Forbidden(_("only a volunteer's own account may do this"))
    return volunteer


# a volunteer row merged into another is the same person; a chain is never longer than this
_MERGE_DEPTH = 20


def person_ids(session: Session, volunteer: Volunteer) -> list[int]:
    """Return the ids of every volunteer row of this person: the row and those merged into it."""
    ids = [volunteer.id]
    frontier = [volunteer.id]
    for _step in range(_MERGE_DEPTH):
        frontier = list(
            session.scalars(select(Volunteer.id).where(Volunteer.merged_into_id.in_(frontier)))
        )
        if not frontier:
            break
        ids.extend(frontier)
    return sorted(ids)


def shows_activities(session: Session, volunteer_id: int) -> bool:
    """Tell whether public verification pages may name the activities of this volunteer."""
    volunteer = surviving_volunteer(session, volunteer_id)
    return bool(volunteer is not None and volunteer.public_activities)


MESSAGE_LOCALES = ("zh", "en")


def set_message_locale(session: Session, actor: User, locale: str) -> User:
    """Choose the language of the messages sent to the volunteer (receipts, answers, codes)."""
    if locale not in MESSAGE_LOCALES:
        raise ValidationError(_("choose zh or en"), field="locale", rule="one_of")
    if actor.locale != locale:
        actor.locale = locale
        session.flush()
        record_event(
            session,
            actor,
            "account.locale",
            "user",
            actor.id,
            details={"locale": locale},
        )
    return actor


def set_public_activities(session: Session, actor: User, shown: bool) -> Volunteer:
    """Record the volunteer's choice: activity names on public pages (True) or totals only."""
    volunteer = own_volunteer(session, actor)
    if volunteer.public_activities != shown:
        volunteer.public_activities = shown
        session.flush()
        record_event(
            session,
            actor,
            "volunteer.public_activities",
            "volunteer",
            volunteer.id,
            details={"public_activities": shown},
        )
    return volunteer


def confirm_password(session: Session, actor: User, password: str, *, address: str) -> None:
    """Check the account's password again, as a sign-in: a wrong one counts towards the lockout.

    Raises Forbidden naming `password`; the caller answers without raising further, so that the
    counted failure is committed.
    """
    result = authenticate(session, actor.email, password, address=address)
    if result.user is None or result.user.id != actor.id:
        message = _(
            "the password is wrong; after repeated failures the account is locked for a while"
        )
        raise Forbidden(message, errors=[FieldError("password", "wrong_password", message)])


@dataclass
class MyData:
    """Everything held about one volunteer, read at one moment."""

    volunteer: Volunteer
    account: User
    generated_at: datetime
    id_number: str | None = None  # in full: only after the password was entered again
    memberships: list[tuple[Membership, Organisation]] = field(default_factory=list)
    records: list[ServiceRecord] = field(default_factory=list)
    revisions: dict[int, list[RecordRevision]] = field(default_factory=dict)
    confirmations: dict[int, list[RecordConfirmation]] = field(default_factory=dict)
    corrections: list[CorrectionRequest] = field(default_factory=list)
    missing_records: list[MissingRecordRequest] = field(default_factory=list)
    certificate_requests: list[CertificateRequest] = field(default_factory=list)
    certificates: list[tuple[Certificate, int]] = field(default_factory=list)
    certificate_numbers: dict[int, str] = field(default_factory=dict)
    tokens: list[ApiToken] = field(default_factory=list)
    notifications: list[OutboxMessage] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)


def export_my_data(session: Session, actor: User, *, full_id_number: bool, channel: str) -> MyData:
    """Collect everything held about the actor (a volunteer) and note the export in the audit log.

    The audit entry says that an export was made and whether it held the full ID number; never
    what it held.
    """
    volunteer = own_volunteer(session, actor)
    ids = person_ids(session, volunteer)
    data = MyData(volunteer=volunteer, account=actor, generated_at=utcnow())
    if full_id_number:
        data.id_number = reveal_id_number(volunteer)
    data.memberships = [
        (membership, org)
        for membership, org in session.execute(
            select(Membership, Organisation)
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .where(Membership.volunteer_id == volunteer.id)
            .order_by(Membership.joined_at, Organisation.id)
        )
    ]
    _read_records(session, data, ids)
    of_person = select(ServiceRecord.id).where(ServiceRecord.volunteer_id.in_(ids))
    # the disputes they filed, and the correction requests an organisation noted about their records
    data.corrections = list(
        session.scalars(
            select(CorrectionRequest)
            .where(
                or_(
                    CorrectionRequest.volunteer_id.in_(ids),
                    CorrectionRequest.record_id.in_(of_person),
                )
            )
            .order_by(CorrectionRequest.id)
        )
    )
    data.missing_records = list(
        session.scalars(
            select(MissingRecordRequest)
            .where(MissingRecordRequest.volunteer_id.in_(ids))
            .order_by(MissingRecordRequest.id)
        )
    )
    data.certificate_requests = list(
        session.scalars(
            select(CertificateRequest)
            .where(CertificateRequest.volunteer_id.in_(ids))
            .order_by(CertificateRequest.id)
        )
    )
    _read_certificates(session, data, ids)
    data.tokens = list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == actor.id).order_by(ApiToken.id))
    )
    data.notifications = list(
        session.scalars(
            select(OutboxMessage)
            .where(or_(OutboxMessage.volunteer_id.in_(ids), OutboxMessage.user_id == actor.id))
            .order_by(OutboxMessage.id)
        )
    )
    data.audit = list(
        session.scalars(
            select(AuditEntry)
            .where(
                or_(
                    (AuditEntry.object_type == "volunteer")
                    & AuditEntry.object_id.in_([str(i) for i in ids]),
                    (AuditEntry.object_type == "user") & (AuditEntry.object_id == str(actor.id)),
                    AuditEntry.actor_user_id == actor.id,
                )
            )
            .order_by(AuditEntry.id)
        )
    )
    record_event(
        session,
        actor,
        "volunteer.export",
        "volunteer",
        volunteer.id,
        details={"full_id_number": full_id_number, "channel": channel},
    )
    return data


def _read_records(session: Session, data: MyData, ids: list[int]) -> None:
    data.records = list(
        session.scalars(
            select(ServiceRecord)
            .where(ServiceRecord.volunteer_id.in_(ids))
            .order_by(ServiceRecord.started_at, ServiceRecord.id)
        )
    )
    of_person = select(ServiceRecord.id).where(ServiceRecord.volunteer_id.in_(ids))
    revisions: dict[int, list[RecordRevision]] = defaultdict(list)
    for revision in session.scalars(
        select(RecordRevision)
        .where(RecordRevision.record_id.in_(of_person))
        .order_by(RecordRevision.record_id, RecordRevision.revision)
    ):
        revisions[revision.record_id].append(revision)
    confirmations: dict[int, list[RecordConfirmation]] = defaultdict(list)
    for confirmation in session.scalars(
        select(RecordConfirmation)
        .where(RecordConfirmation.record_id.in_(of_person))
        .order_by(RecordConfirmation.record_id, RecordConfirmation.revision)
    ):
        confirmations[confirmation.record_id].append(confirmation)
    data.revisions, data.confirmations = dict(revisions), dict(confirmations)


def _read_certificates(session: Session, data: MyData, ids: list[int]) -> None:
    certificates = list(
        session.scalars(
            select(Certificate)
            .where(Certificate.volunteer_id.in_(ids))
            .order_by(Certificate.issued_at, Certificate.id)
        )
    )
    counts = {
        certificate_id: count
        for certificate_id, count in session.execute(
            select(VerificationEvent.certificate_id, func.count())
            .where(VerificationEvent.certificate_id.in_([c.id for c in certificates]))
            .group_by(VerificationEvent.certificate_id)
        )
    }
    data.certificates = [(cert, int(counts.get(cert.id, 0))) for cert in certificates]
    requested = [r.certificate_id for r in data.certificate_requests if r.certificate_id]
    data.certificate_numbers = {
        cert_id: number
        for cert_id, number in session.execute(
            select(Certificate.id, Certificate.number).where(Certificate.id.in_(requested))
        )
    }

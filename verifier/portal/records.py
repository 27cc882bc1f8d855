"""A volunteer's own records, in every organisation: read them, confirm them, dispute them.

A volunteer sees only records about themselves (their volunteer row, the row it was merged into,
and the rows merged into that one); any other record id answers 404. Nothing the volunteer does
changes a record: a dispute opens a correction request in the organisation's queue, and only
the organisation's answer, through the correction path, changes the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, exists, extract, func, select
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import User
from verifier.complaints.models import CorrectionRequest, CorrectionStatus, DisputeKind
from verifier.db import utcnow
from verifier.errors import Conflict, FieldError, NotFound, ValidationError
from verifier.orgs.models import Organisation
from verifier.paging import paginate
from verifier.portal.record_labels import Confirmation, MyRecordStatus
from verifier.portal.stars import StarProgress, star_progress
from verifier.records.models import (
    CONTENT_FIELDS,
    RecordConfirmation,
    RecordRevision,
    RecordStatus,
    ServiceRecord,
)
from verifier.records.services import revisions_of
from verifier.text import clean_text
from verifier.timeutil import local_today
from verifier.volunteers.locks import lock_volunteer
from verifier.volunteers.models import Volunteer
from verifier.workdays import add_working_days

DISPUTE_REASON_LIMIT = 1000
DISPUTE_WORKING_DAYS = 10  # the organisation answers within 10 working days
MERGE_HOPS = 20  # a row merged into one that was merged later: follow at most this many


# --- whose records ------------------------------------------------------------------------------


def _person(session: Session, actor: User) -> tuple[int | None, list[int]]:
    """Return the surviving volunteer row of the actor's person, and every row of theirs."""
    if actor.volunteer_id is None:
        return None, []
    current = actor.volunteer_id
    for _hop in range(MERGE_HOPS):
        merged_into = session.scalar(
            select(Volunteer.merged_into_id).where(Volunteer.id == current)
        )
        if merged_into is None:
            break
        current = merged_into
    found = {current}
    frontier = {current}
    for _hop in range(MERGE_HOPS):
        merged = session.scalars(select(Volunteer.id).where(Volunteer.merged_into_id.in_(frontier)))
        frontier = set(merged) - found
        if not frontier:
            break
        found |= frontier
    return current, sorted(found)


def own_volunteer_ids(session: Session, actor: User) -> list[int]:
    """Return the volunteer rows of the actor's person: the surviving row and those merged into it.

    An account claimed for a row that was later merged into another (the same person) follows
    its records there.
    """
    return _person(session, actor)[1]


def own_volunteer(session: Session, actor: User) -> Volunteer:
    """Return the surviving volunteer row of the actor's person."""
    survivor, _ids = _person(session, actor)
    volunteer = session.get(Volunteer, survivor) if survivor is not None else None
    if volunteer is None:
        raise NotFound(_("no volunteer belongs to this account"))
    return volunteer


def _own_records(ids: Sequence[int]) -> Select[ServiceRecord]:
    return select(ServiceRecord).where(ServiceRecord.volunteer_id.in_(list(ids) or [0]))


def my_record(session: Session, actor: User, record_id: int) -> ServiceRecord:
    """Return a record about the actor, or raise NotFound (as for a record that does not exist)."""
    record = session.get(ServiceRecord, record_id)
    if record is None or record.volunteer_id not in own_volunteer_ids(session, actor):
        raise NotFound(_("no such record"))
    return record


# --- what the volunteer sees of a record --------------------------------------------------------


@dataclass(frozen=True)
class MyRecord:
    """A record with what its volunteer said about it."""

    record: ServiceRecord
    status: MyRecordStatus
    confirmation: Confirmation
    confirmed_at: datetime | None
    # the volunteer's latest dispute of the record, open or answered
    dispute: CorrectionRequest | None

    @property
    def may_confirm(self) -> bool:
        return (
            self.status != MyRecordStatus.VOIDED and self.confirmation == Confirmation.UNCONFIRMED
        )

    @property
    def may_dispute(self) -> bool:
        return self.status != MyRecordStatus.VOIDED and self.confirmation != Confirmation.DISPUTED


def status_of(record: ServiceRecord) -> MyRecordStatus:
    if record.status == RecordStatus.VOIDED:
        return MyRecordStatus.VOIDED
    return MyRecordStatus.CORRECTED if record.revision > 1 else MyRecordStatus.ACTIVE


def _is_open_dispute() -> list[ColumnElement[bool]]:
    return [
        CorrectionRequest.volunteer_id.is_not(None),
        CorrectionRequest.status == CorrectionStatus.OPEN,
    ]


def describe(session: Session, records: Sequence[ServiceRecord]) -> list[MyRecord]:
    """Add to each record its confirmation and its latest dispute (three queries in all)."""
    ids = [r.id for r in records]
    confirmed: dict[tuple[int, int], datetime] = {}
    disputes: dict[int, CorrectionRequest] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        for row in session.scalars(
            select(RecordConfirmation).where(RecordConfirmation.record_id.in_(chunk))
        ):
            confirmed[(row.record_id, row.revision)] = row.confirmed_at
        for request in session.scalars(
            select(CorrectionRequest)
            .where(
                CorrectionRequest.record_id.in_(chunk), CorrectionRequest.volunteer_id.is_not(None)
            )
            .order_by(CorrectionRequest.id)
        ):
            disputes[request.record_id] = request  # the latest wins
    described = []
    for record in records:
        dispute = disputes.get(record.id)
        confirmed_at = confirmed.get((record.id, record.revision))
        if dispute is not None and dispute.status == CorrectionStatus.OPEN:
            confirmation = Confirmation.DISPUTED
        elif confirmed_at is not None:
            confirmation = Confirmation.CONFIRMED
        else:
            confirmation = Confirmation.UNCONFIRMED
        described.append(MyRecord(record, status_of(record), confirmation, confirmed_at, dispute))
    return described


def list_my_records(
    session: Session, actor: User, *, page: int = 1, per_page: int = 50
) -> tuple[list[MyRecord], int]:
    """Return one page of the actor's records (every organisation, voided ones too), newest
    service first, and how many there are."""
    stmt = _own_records(own_volunteer_ids(session, actor))
    rows, total = paginate(
        session,
        stmt,
        ServiceRecord.started_at.desc(),
        ServiceRecord.id.desc(),
        page=page,
        per_page=per_page,
    )
    return describe(session, rows), total


def show_my_record(session: Session, actor: User, record_id: int) -> MyRecord:
    """Return one of the actor's records, described."""
    return describe(session, [my_record(session, actor, record_id)])[0]


@dataclass(frozen=True)
class RevisionChange:
    """One revision of a record as its volunteer reads it: what it says and what it changed."""

    revision: RecordRevision
    changed: list[str]  # content fields that differ from the revision before


def history(session: Session, record: ServiceRecord) -> list[RevisionChange]:
    """Return the record's revisions, oldest first, each with the fields it changed."""
    revisions = revisions_of(session, record)
    changes = []
    for before, after in zip([None, *revisions[:-1]], revisions, strict=True):
        changed = (
            []
            if before is None
            else [f for f in CONTENT_FIELDS if getattr(before, f) != getattr(after, f)]
        )
        changes.append(RevisionChange(after, changed))
    return changes


# --- totals and the star level -------------------------------------------------------------------


@dataclass(frozen=True)
class Total:
    """Active records and their minutes, over a year or with one organisation."""

    key: int  # the year, or the organisation's id
    records: int
    minutes: int
    organisation: Organisation | None = None


@dataclass(frozen=True)
class Summary:
    records: int
    minutes: int  # every active record
    counted_minutes: int  # active records without an open dispute: what the star level counts
    years: list[Total]
    organisations: list[Total]
    star: StarProgress
    thresholds_hours: tuple[Decimal, ...]


def summary(session: Session, actor: User, thresholds_hours: Sequence[Decimal]) -> Summary:
    """Return the actor's totals per year and per organisation, and their star level."""
    ids = own_volunteer_ids(session, actor) or [0]
    active = [ServiceRecord.volunteer_id.in_(ids), ServiceRecord.status == RecordStatus.ACTIVE]
    year = extract("year", ServiceRecord.service_date)
    years = [
        Total(int(y), int(n), int(m))
        for y, n, m in session.execute(
            select(year, func.count(), func.sum(ServiceRecord.minutes))
            .where(*active)
            .group_by(year)
            .order_by(year.desc())
        )
    ]
    organisations = [
        Total(org.id, int(n), int(m), org)
        for org, n, m in session.execute(
            select(Organisation, func.count(ServiceRecord.id), func.sum(ServiceRecord.minutes))
            .join(ServiceRecord, ServiceRecord.organisation_id == Organisation.id)
            .where(*active)
            .group_by(Organisation.id)
            .order_by(func.sum(ServiceRecord.minutes).desc(), Organisation.id)
        )
    ]
    disputed = exists().where(CorrectionRequest.record_id == ServiceRecord.id, *_is_open_dispute())
    counted = int(
        session.scalar(
            select(func.coalesce(func.sum(ServiceRecord.minutes), 0)).where(*active, ~disputed)
        )
        or 0
    )
    return Summary(
        records=sum(t.records for t in years),
        minutes=sum(t.minutes for t in years),
        counted_minutes=counted,
        years=years,
        organisations=organisations,
        star=star_progress(counted, thresholds_hours),
        thresholds_hours=tuple(thresholds_hours),
    )


# --- confirming and disputing -------------------------------------------------------------------


def _lock_and_reread(session: Session, record: ServiceRecord) -> None:
    """Take the lock of the volunteer the record is with (a merge may move it), then read it."""
    volunteer_id = record.volunteer_id
    for _hop in range(MERGE_HOPS):
        lock_volunteer(session, volunteer_id)
        now_with = session.scalar(
            select(ServiceRecord.volunteer_id).where(ServiceRecord.id == record.id)
        )
        if now_with is None or now_with == volunteer_id:
            break
        volunteer_id = now_with
    session.refresh(record)


def _refuse_voided(record: ServiceRecord, message: str) -> None:
    if record.status == RecordStatus.VOIDED:
        raise Conflict(message, errors=[FieldError("record_id", "record_voided", message)])


def open_dispute_of(session: Session, record: ServiceRecord) -> CorrectionRequest | None:
    return session.scalars(
        select(CorrectionRequest)
        .where(CorrectionRequest.record_id == record.id, *_is_open_dispute())
        .order_by(CorrectionRequest.id)
    ).first()


def _refuse_open_dispute(session: Session, record: ServiceRecord) -> None:
    dispute = open_dispute_of(session, record)
    if dispute is not None:
        message = _(
            "you already dispute record %(id)d (request %(request)d, to be answered by %(day)s); "
            "wait for the organisation's answer",
            id=record.id,
            request=dispute.id,
            day=dispute.due_on.isoformat() if dispute.due_on else "—",
        )
        raise Conflict(message, errors=[FieldError("record_id", "dispute_open", message)])


def confirm_record(session: Session, actor: User, record_id: int) -> MyRecord:
    """Confirm the current revision of one of the actor's records; confirming again changes
    nothing."""
    record = my_record(session, actor, record_id)
    _lock_and_reread(session, record)
    _refuse_voided(
        record,
        _(
            "record %(id)d was voided by the organisation: there is nothing to confirm",
            id=record.id,
        ),
    )
    _refuse_open_dispute(session, record)
    if session.get(RecordConfirmation, (record.id, record.revision)) is None:
        session.add(
            RecordConfirmation(
                record_id=record.id,
                revision=record.revision,
                volunteer_id=record.volunteer_id,
                confirmed_at=utcnow(),
            )
        )
        session.flush()
        record_event(
            session,
            actor,
            "record.confirm",
            "service_record",
            record.id,
            organisation_id=record.organisation_id,
            details={"revision": record.revision},
        )
    return describe(session, [record])[0]


def dispute_due_on(filed_on: date) -> date:
    """Return the day by which the organisation must answer a dispute filed on a local day."""
    return add_working_days(filed_on, DISPUTE_WORKING_DAYS)


def dispute_record(
    session: Session,
    actor: User,
    record_id: int,
    *,
    kind: str,
    reason: str,
    today: date | None = None,
) -> CorrectionRequest:
    """Dispute one of the actor's records: a correction request in the organisation's queue.

    `not_attended` also holds the record: no new certificate may cover it until the
    organisation answers. The record itself is not changed.
    """
    record = my_record(session, actor, record_id)
    if kind not in tuple(DisputeKind):
        raise ValidationError(
            _("kind must be one of %(values)s", values=", ".join(DisputeKind)),
            field="kind",
            rule="literal_error",
        )
    reason = clean_text(
        reason, field="reason", label=_("reason"), max_length=DISPUTE_REASON_LIMIT, required=True
    )
    _lock_and_reread(session, record)
    _refuse_voided(
        record,
        _(
            "record %(id)d was voided by the organisation: it no longer counts and cannot be "
            "disputed",
            id=record.id,
        ),
    )
    _refuse_open_dispute(session, record)
    filed_on = today or local_today()
    request = CorrectionRequest(
        record_id=record.id,
        organisation_id=record.organisation_id,
        requested_by=record.volunteer.name[:50],
        reason=reason,
        status=CorrectionStatus.OPEN,
        created_at=utcnow(),
        created_by_id=actor.id,
        volunteer_id=record.volunteer_id,
        kind=kind,
        record_revision=record.revision,
        due_on=dispute_due_on(filed_on),
    )
    session.add(request)
    if kind == DisputeKind.NOT_ATTENDED:
        record.certificate_hold = True
    session.flush()
    record_event(
        session,
        actor,
        "correction_request.dispute",
        "correction_request",
        request.id,
        organisation_id=record.organisation_id,
        details={
            "record_id": record.id,
            "kind": kind,
            "revision": record.revision,
            "due_on": request.due_on.isoformat() if request.due_on else None,
            "certificate_hold": record.certificate_hold,
        },
    )
    return request

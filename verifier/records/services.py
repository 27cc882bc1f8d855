"""Keep service records: create, correct and void them, with every rule and full history."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import User
from verifier.db import utcnow
from verifier.errors import Conflict, Forbidden, NotFound, ValidationError
from verifier.labels import RECORD_FIELD, label
from verifier.orgs.models import Organisation
from verifier.orgs.services import require_active
from verifier.orgs.succession import acting_details, answers_for
from verifier.paging import paginate
from verifier.records.attestation import attest_revision
from verifier.records.models import (
    CONTENT_FIELDS,
    RecordReassignment,
    RecordRevision,
    RecordSource,
    RecordStatus,
    RevisionKind,
    ServiceRecord,
)
from verifier.records.signals import record_changed, record_created
from verifier.text import clean_text, require_reason
from verifier.timeutil import (
    format_hours,
    local_zone,
    offsets_of,
    to_local,
    wall_time_problem,
)
from verifier.volunteers.locks import lock_volunteer
from verifier.volunteers.models import Volunteer
from verifier.volunteers.services import is_member
from verifier.workdays import working_days_between

DAY_MINUTES = 24 * 60
EARLIEST_SERVICE = datetime(1990, 1, 1, tzinfo=UTC)
# A little clock skew between an organisation's device and the server is not "the future".
FUTURE_TOLERANCE = timedelta(minutes=5)
TEXT_LIMITS = {"activity": 200, "place": 200, "content": 2000, "leader": 50, "evaluation": 500}


@dataclass
class RecordInput:
    activity: str
    place: str
    started_at: datetime
    ended_at: datetime
    minutes: int
    content: str = ""
    leader: str = ""
    evaluation: str = ""
    unpaid: bool = True
    not_job_duty: bool = True


def _clean_text(value: str | None, field: str, required: bool) -> str:
    return clean_text(
        value,
        field=field,
        label=label(RECORD_FIELD, field),
        max_length=TEXT_LIMITS[field],
        required=required,
    )


def validate_record(data: RecordInput, *, now: datetime | None = None) -> RecordInput:
    """Check one record's own fields (not yet against other records); return them cleaned."""
    now = now or utcnow()
    clean = replace(
        data,
        activity=_clean_text(data.activity, "activity", True),
        place=_clean_text(data.place, "place", True),
        content=_clean_text(data.content, "content", False),
        leader=_clean_text(data.leader, "leader", False),
        evaluation=_clean_text(data.evaluation, "evaluation", False),
    )
    started_at, ended_at = _times_in_utc(clean.started_at, clean.ended_at)
    clean = replace(clean, started_at=started_at, ended_at=ended_at)
    if isinstance(clean.minutes, bool) or not isinstance(clean.minutes, int):
        raise ValidationError(_("minutes must be a whole number"), field="minutes", rule="integer")
    if clean.minutes <= 0:
        raise ValidationError(
            _("service minutes must be greater than 0"), field="minutes", rule="minutes_positive"
        )
    _check_time_order(clean.started_at, clean.ended_at, now)
    span = int((clean.ended_at - clean.started_at).total_seconds() // 60)
    if clean.minutes > span:
        raise ValidationError(
            _(
                "service minutes (%(minutes)d) exceed the time between start and end (%(span)d minutes)",  # noqa: E501
                minutes=clean.minutes,
                span=span,
            ),
            field="minutes",
            rule="minutes_within_span",
        )
    if not clean.unpaid:
        raise ValidationError(
            _("paid work is not volunteering and may not be recorded"),
            field="unpaid",
            rule="unpaid_required",
        )
    if not clean.not_job_duty:
        raise ValidationError(
            _("work done as part of one's job is not volunteering and may not be recorded"),
            field="not_job_duty",
            rule="not_job_duty_required",
        )
    return clean


def check_service_times(
    started_at: datetime, ended_at: datetime, *, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """Check a stretch of service's start and end by the records' rules; return them in UTC.

    Aware times that the clocks showed, from 1990, not in the future, the end after the start.
    """
    started_at, ended_at = _times_in_utc(started_at, ended_at)
    _check_time_order(started_at, ended_at, now or utcnow())
    return started_at, ended_at


def _times_in_utc(started_at: datetime, ended_at: datetime) -> tuple[datetime, datetime]:
    times = {"started_at": started_at, "ended_at": ended_at}
    for field, value in times.items():
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValidationError(
                _("%(field)s must be a date and time", field=label(RECORD_FIELD, field)),
                field=field,
                rule="datetime",
            )
    for field, value in times.items():
        _check_wall_time(value, field)
    try:
        # Spans and comparisons in UTC: Python subtracts and compares two datetimes sharing a
        # tzinfo by their wall clocks, which is wrong across a daylight-saving change.
        return started_at.astimezone(UTC), ended_at.astimezone(UTC)
    except OverflowError:
        raise ValidationError(
            _("start time is before 1990"), field="started_at", rule="too_early"
        ) from None


def _check_time_order(started_at: datetime, ended_at: datetime, now: datetime) -> None:
    if started_at < EARLIEST_SERVICE:
        raise ValidationError(_("start time is before 1990"), field="started_at", rule="too_early")
    if started_at > now + FUTURE_TOLERANCE:
        raise ValidationError(
            _("start time is in the future"), field="started_at", rule="not_future"
        )
    if ended_at > now + FUTURE_TOLERANCE:
        raise ValidationError(
            _("end time is in the future; record service after it has happened"),
            field="ended_at",
            rule="not_future",
        )
    if ended_at <= started_at:
        raise ValidationError(
            _("end time must be after start time"), field="ended_at", rule="end_after_start"
        )


def _check_wall_time(moment: datetime, field: str) -> None:
    """Refuse a local time, typed without an offset, that the clocks skipped or showed twice."""
    problem = wall_time_problem(moment)
    if problem is None:
        return
    shown = moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M")
    name = label(RECORD_FIELD, field)
    if problem == "nonexistent_local_time":
        message = _(
            "%(field)s %(time)s does not exist in %(zone)s: the clocks went forward an hour then",
            field=name,
            time=shown,
            zone=str(moment.tzinfo),
        )
    else:
        first, second = offsets_of(moment)
        message = _(
            "%(field)s %(time)s happens twice in %(zone)s (the clocks went back an hour); "
            "give it with its UTC offset: %(first)s the first time, %(second)s the second",
            field=name,
            time=shown,
            zone=str(moment.tzinfo),
            first=first,
            second=second,
        )
    raise ValidationError(message, field=field, rule=problem)


def check_after_birth(volunteer: Volunteer, clean: RecordInput) -> None:
    """Refuse service on a local day before the volunteer's birth date."""
    if (
        volunteer.birth_date is not None
        and service_date_of(clean.started_at) < volunteer.birth_date
    ):
        raise ValidationError(
            _("the service is dated before the volunteer was born; check the date"),
            field="started_at",
            rule="before_birth",
        )


def service_date_of(started_at: datetime) -> date:
    """Return the local calendar day a record's minutes count towards: the day it started."""
    return to_local(started_at).date()


def dedupe_key_for(volunteer_id: int, data: RecordInput) -> str:
    """Return the key that makes the same record, entered or imported again, a duplicate."""
    text = "|".join(
        [
            str(volunteer_id),
            data.started_at.astimezone(UTC).isoformat(),
            data.ended_at.astimezone(UTC).isoformat(),
            str(data.minutes),
            data.activity,
        ]
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _refuse_merged(session: Session, volunteer: Volunteer) -> None:
    # read after the lock: a merge holds it while it moves the records away
    merged_into = session.scalar(
        select(Volunteer.merged_into_id).where(Volunteer.id == volunteer.id)
    )
    if merged_into is not None:
        raise ValidationError(
            _(
                "volunteer %(number)s was merged into another volunteer (the same person); "
                "record the service for that volunteer",
                number=volunteer.volunteer_number,
            ),
            field="volunteer_id",
            rule="volunteer_merged",
        )


def check_against_other_records(
    session: Session,
    volunteer_id: int,
    org_id: int,
    data: RecordInput,
    exclude_id: int | None = None,
) -> None:
    """Refuse overlap with the volunteer's active records, and more than 24 hours on one day."""
    overlap = select(ServiceRecord).where(
        ServiceRecord.volunteer_id == volunteer_id,
        ServiceRecord.status == RecordStatus.ACTIVE,
        ServiceRecord.started_at < data.ended_at,
        ServiceRecord.ended_at > data.started_at,
    )
    if exclude_id is not None:
        overlap = overlap.where(ServiceRecord.id != exclude_id)
    clash = session.scalars(overlap.limit(1)).first()
    if clash is not None:
        if clash.organisation_id == org_id:
            message = _(
                "overlaps record %(id)d (%(start)s to %(end)s) of this volunteer",
                id=clash.id,
                start=to_local(clash.started_at).strftime("%Y-%m-%d %H:%M"),
                end=to_local(clash.ended_at).strftime("%Y-%m-%d %H:%M"),
            )
        else:
            message = _("overlaps a record of this volunteer kept by another organisation")
        raise ValidationError(message, field="started_at", rule="no_overlap")
    day = service_date_of(data.started_at)
    total = select(func.coalesce(func.sum(ServiceRecord.minutes), 0)).where(
        ServiceRecord.volunteer_id == volunteer_id,
        ServiceRecord.status == RecordStatus.ACTIVE,
        ServiceRecord.service_date == day,
    )
    if exclude_id is not None:
        total = total.where(ServiceRecord.id != exclude_id)
    already = int(session.scalar(total) or 0)
    if already + data.minutes > DAY_MINUTES:
        raise ValidationError(
            _(
                "a volunteer cannot serve more than 24 hours on one day: %(day)s already has "
                "%(already)s hours, this record adds %(adds)s",
                day=day.isoformat(),
                already=format_hours(already),
                adds=format_hours(data.minutes),
            ),
            field="minutes",
            rule="daily_limit",
        )


def create_record(
    session: Session,
    org: Organisation,
    volunteer: Volunteer,
    data: RecordInput,
    actor: User | None,
    *,
    source: str = RecordSource.ENTRY,
    import_batch_id: int | None = None,
    late_after_working_days: int = 10,
    audit: bool = True,
) -> ServiceRecord:
    """Record a stretch of service for a volunteer of the organisation."""
    require_active(org)
    if not is_member(session, org.id, volunteer.id):
        raise ValidationError(
            _("this volunteer is not registered with your organisation"),
            field="volunteer_id",
            rule="member",
        )
    clean = validate_record(data)
    check_after_birth(volunteer, clean)
    key = dedupe_key_for(volunteer.id, clean)
    if session.scalar(
        select(ServiceRecord.id).where(
            ServiceRecord.organisation_id == org.id, ServiceRecord.dedupe_key == key
        )
    ):
        raise Conflict(_("this record has already been entered"))
    lock_volunteer(session, volunteer.id)
    _refuse_merged(session, volunteer)
    check_against_other_records(session, volunteer.id, org.id, clean)
    now = utcnow()
    entry_day = to_local(now).date()
    record = ServiceRecord(
        organisation_id=org.id,
        volunteer_id=volunteer.id,
        status=RecordStatus.ACTIVE,
        revision=1,
        service_date=service_date_of(clean.started_at),
        source=source,
        entered_late=working_days_between(to_local(clean.ended_at).date(), entry_day)
        > late_after_working_days,
        dedupe_key=key,
        import_batch_id=import_batch_id,
        recorded_by_id=actor.id if actor else None,
        recorded_at=now,
        updated_at=now,
        **{field: getattr(clean, field) for field in CONTENT_FIELDS},
        unpaid=clean.unpaid,
        not_job_duty=clean.not_job_duty,
    )
    session.add(record)
    session.flush()
    revision = _add_revision(session, record, RevisionKind.CREATED, "", actor, now)
    if audit:
        record_event(
            session,
            actor,
            "record.create",
            "service_record",
            record.id,
            organisation_id=org.id,
            details={
                "volunteer_id": volunteer.id,
                "minutes": record.minutes,
                "source": source,
                "attests": attest_revision(record, revision),
            },
        )
    record_created.send(record, session=session, actor=actor)
    return record


def _add_revision(
    session: Session,
    record: ServiceRecord,
    kind: str,
    reason: str,
    actor: User | None,
    at: datetime,
) -> RecordRevision:
    revision = RecordRevision(
        record_id=record.id,
        revision=record.revision,
        kind=kind,
        reason=reason,
        created_by_id=actor.id if actor else None,
        created_at=at,
        **{field: getattr(record, field) for field in CONTENT_FIELDS},
    )
    session.add(revision)
    session.flush()
    return revision


def _require_reason(reason: str) -> str:
    return require_reason(reason)


def _require_changeable(record: ServiceRecord, actor: User) -> None:
    # a deregistered organisation's records are corrected by who answers for it (its
    # successor's users, else a platform administrator), to answer its volunteers' requests
    custodian = answers_for(actor, record.organisation)
    if not custodian and (not actor.is_org_user or actor.organisation_id != record.organisation_id):
        raise Forbidden(_("only the organisation that keeps a record may change it"))
    if record.status == RecordStatus.VOIDED:
        raise Conflict(_("this record has been voided and can no longer be changed"))
    if not custodian:
        require_active(record.organisation)


def _lock_record_volunteer(session: Session, record: ServiceRecord) -> int:
    """Lock the record's volunteer; return that volunteer's id, read again under the lock.

    A merge of two volunteer rows moves records while it holds both rows' locks; a writer that
    waited for the old row's lock must then check against the volunteer the record is with now.
    """
    volunteer_id = record.volunteer_id
    while True:
        lock_volunteer(session, volunteer_id)
        now_with = session.scalar(
            select(ServiceRecord.volunteer_id).where(ServiceRecord.id == record.id)
        )
        if now_with is None or now_with == volunteer_id:
            return volunteer_id
        volunteer_id = now_with


def _lock_and_reread(session: Session, record: ServiceRecord, actor: User) -> int:
    """Take the lock of the record's volunteer, then read the record as the last writer left it.

    Returns the id of the volunteer the record is with now.
    """
    volunteer_id = _lock_record_volunteer(session, record)
    session.refresh(record)
    _require_changeable(record, actor)
    return volunteer_id


def correct_record(
    session: Session, record: ServiceRecord, data: RecordInput, reason: str, actor: User
) -> ServiceRecord:
    """Correct a record: a new revision with reason, who and when; the old one stays."""
    _require_changeable(record, actor)
    reason = _require_reason(reason)
    clean = validate_record(data)
    volunteer_id = _lock_and_reread(session, record, actor)
    check_after_birth(record.volunteer, clean)
    before = {field: getattr(record, field) for field in CONTENT_FIELDS}
    after = {field: getattr(clean, field) for field in CONTENT_FIELDS}
    if before == after:
        raise ValidationError(_("the correction changes nothing"), field="reason", rule="no_change")
    check_against_other_records(
        session, volunteer_id, record.organisation_id, clean, exclude_id=record.id
    )
    now = utcnow()
    for field, value in after.items():
        setattr(record, field, value)
    record.service_date = service_date_of(clean.started_at)
    record.revision += 1
    record.updated_at = now
    session.flush()
    revision = _add_revision(session, record, RevisionKind.CORRECTED, reason, actor, now)
    record_changed.send(record, session=session, actor=actor)
    changed = sorted(f for f in CONTENT_FIELDS if before[f] != after[f])
    record_event(
        session,
        actor,
        "record.correct",
        "service_record",
        record.id,
        organisation_id=record.organisation_id,
        details={
            "revision": record.revision,
            "reason": reason,
            "changed": changed,
            "attests": attest_revision(record, revision),
            **acting_details(actor, record.organisation),
        },
    )
    return record


def void_record(session: Session, record: ServiceRecord, reason: str, actor: User) -> ServiceRecord:
    """Void a record with a reason; it stays visible in the history but no longer counts."""
    _require_changeable(record, actor)
    reason = _require_reason(reason)
    _lock_and_reread(session, record, actor)
    now = utcnow()
    record.status = RecordStatus.VOIDED
    record.voided_at = now
    record.voided_by_id = actor.id
    record.void_reason = reason
    record.revision += 1
    record.updated_at = now
    session.flush()
    revision = _add_revision(session, record, RevisionKind.VOIDED, reason, actor, now)
    record_changed.send(record, session=session, actor=actor)
    record_event(
        session,
        actor,
        "record.void",
        "service_record",
        record.id,
        organisation_id=record.organisation_id,
        details={
            "reason": reason,
            "attests": attest_revision(record, revision),
            **acting_details(actor, record.organisation),
        },
    )
    return record


def visible_record(session: Session, actor: User, record_id: int) -> ServiceRecord:
    """Return a record the actor may see, or raise NotFound."""
    record = session.get(ServiceRecord, record_id)
    if record is None or (
        actor.is_org_user
        and record.organisation_id != actor.organisation_id
        and not answers_for(actor, record.organisation)
    ):
        raise NotFound(_("no such record"))
    return record


def list_records(
    session: Session,
    actor: User,
    *,
    volunteer_id: int | None = None,
    organisation_id: int | None = None,
    include_voided: bool = True,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[ServiceRecord], int]:
    """Return one page of records the actor may see, newest service first, and the total."""
    stmt = select(ServiceRecord)
    if actor.is_org_user:
        stmt = stmt.where(ServiceRecord.organisation_id == actor.organisation_id)
    elif organisation_id is not None:
        stmt = stmt.where(ServiceRecord.organisation_id == organisation_id)
    if volunteer_id is not None:
        stmt = stmt.where(ServiceRecord.volunteer_id == volunteer_id)
    if not include_voided:
        stmt = stmt.where(ServiceRecord.status == RecordStatus.ACTIVE)
    order = (ServiceRecord.started_at.desc(), ServiceRecord.id.desc())
    return paginate(session, stmt, *order, page=page, per_page=per_page)


def total_minutes(session: Session, actor: User, volunteer_id: int) -> int:
    """Return the active minutes of a volunteer that the actor may see."""
    stmt = select(func.coalesce(func.sum(ServiceRecord.minutes), 0)).where(
        ServiceRecord.volunteer_id == volunteer_id, ServiceRecord.status == RecordStatus.ACTIVE
    )
    if actor.is_org_user:
        stmt = stmt.where(ServiceRecord.organisation_id == actor.organisation_id)
    return int(session.scalar(stmt) or 0)


def revisions_of(session: Session, record: ServiceRecord) -> list[RecordRevision]:
    """Return every revision of a record, oldest first."""
    return list(
        session.scalars(
            select(RecordRevision)
            .where(RecordRevision.record_id == record.id)
            .order_by(RecordRevision.revision)
        )
    )


def reassignments_of(session: Session, record: ServiceRecord) -> list[RecordReassignment]:
    """Return the moves of a record between volunteer rows (merges of one person), oldest first."""
    return list(
        session.scalars(
            select(RecordReassignment)
            .where(RecordReassignment.record_id == record.id)
            .order_by(RecordReassignment.id)
        )
    )


def local_zone_name() -> str:
    return str(local_zone())

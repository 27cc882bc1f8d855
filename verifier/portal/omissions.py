"""Omissions: a volunteer reports service the organisation has not recorded; it answers.

The organisation either enters the record through the records' own path (`create_record`,
every rule of a record applies) and the request is linked to it, or refuses with a reason the
volunteer sees. It has 10 working days; an open request past its day is overdue, which
regulators see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, lazyload

from verifier.accounts.contact import notify_volunteer
from verifier.audit.services import record_event
from verifier.auth.models import User
from verifier.complaints.models import MissingRecordRequest, MissingRecordStatus
from verifier.db import utcnow
from verifier.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    TooManyRequests,
    ValidationError,
)
from verifier.identifiers import normalize_uscc
from verifier.labels import RECORD_FIELD
from verifier.notifications.services import contains_id_number
from verifier.orgs.models import Organisation
from verifier.orgs.succession import acting_details, answers_for
from verifier.paging import paginate
from verifier.portal.mydata import own_volunteer
from verifier.records.models import RecordSource, ServiceRecord
from verifier.records.services import RecordInput, check_service_times, create_record
from verifier.text import clean_text
from verifier.timeutil import format_hours, local_today, to_local
from verifier.volunteers.models import Volunteer
from verifier.volunteers.services import is_member, surviving_volunteer
from verifier.workdays import add_working_days

ANSWER_WORKING_DAYS = 10
ACTIVITY_LIMIT = 200
REASON_LIMIT = 1000
REFUSAL_LIMIT = 500
# one stretch of service, as one record: not longer than a day
MAX_SPAN = timedelta(hours=24)
# requests a volunteer may file in any 24 hours
DAILY_LIMIT = 10
NOTIFICATION_KIND = "missing_record_answered"


@dataclass
class MissingRecordInput:
    organisation_uscc: str
    activity: str
    started_at: datetime
    ended_at: datetime
    reason: str


def _text(value: str, field: str, field_label: str, limit: int) -> str:
    text = clean_text(value, field=field, label=field_label, max_length=limit, required=True)
    if contains_id_number(text):
        # the text goes into the messages about the request, which never carry an ID number
        raise ValidationError(
            _("%(field)s may not contain an ID number", field=field_label),
            field=field,
            rule="no_id_number",
        )
    return text


def _organisation_of(session: Session, volunteer: Volunteer, uscc: str) -> Organisation:
    code = normalize_uscc(uscc, field="organisation_uscc")
    org = session.scalars(select(Organisation).where(Organisation.uscc == code)).first()
    # an organisation that does not exist answers as one the volunteer is not registered with
    if org is None or not is_member(session, org.id, volunteer.id):
        raise ValidationError(
            _(
                "you are not registered with an organisation with unified social credit code "
                "%(uscc)s; ask the organisation you served with",
                uscc=code,
            ),
            field="organisation_uscc",
            rule="member",
        )
    return org


def _check_rate(session: Session, volunteer: Volunteer, now: datetime) -> None:
    filed = session.scalar(
        select(func.count()).where(
            MissingRecordRequest.volunteer_id == volunteer.id,
            MissingRecordRequest.created_at > now - timedelta(hours=24),
        )
    )
    if (filed or 0) >= DAILY_LIMIT:
        message = _(
            "you have reported %(n)d missing records in the last 24 hours; try again later",
            n=DAILY_LIMIT,
        )
        raise TooManyRequests(message, errors=[FieldError("volunteer", "daily_limit", message)])


def request_missing_record(
    session: Session, actor: User, data: MissingRecordInput
) -> MissingRecordRequest:
    """File a volunteer's report of service an organisation they belong to has not recorded."""
    volunteer = own_volunteer(session, actor)
    now = utcnow()
    org = _organisation_of(session, volunteer, data.organisation_uscc)
    activity = _text(data.activity, "activity", str(RECORD_FIELD["activity"]), ACTIVITY_LIMIT)
    started_at, ended_at = check_service_times(data.started_at, data.ended_at, now=now)
    if ended_at - started_at > MAX_SPAN:
        raise ValidationError(
            _("one report covers at most 24 hours; report a longer service day by day"),
            field="ended_at",
            rule="max_span",
        )
    reason = _text(data.reason, "reason", _("reason"), REASON_LIMIT)
    _check_rate(session, volunteer, now)
    if session.scalar(
        select(MissingRecordRequest.id).where(
            MissingRecordRequest.volunteer_id == volunteer.id,
            MissingRecordRequest.organisation_id == org.id,
            MissingRecordRequest.started_at == started_at,
            MissingRecordRequest.ended_at == ended_at,
            MissingRecordRequest.status == MissingRecordStatus.OPEN,
        )
    ):
        raise Conflict(_("you have already reported this service; wait for the answer"))
    request = MissingRecordRequest(
        volunteer_id=volunteer.id,
        organisation_id=org.id,
        activity=activity,
        started_at=started_at,
        ended_at=ended_at,
        reason=reason,
        status=MissingRecordStatus.OPEN,
        created_at=now,
        created_by_id=actor.id,
        due_on=add_working_days(local_today(), ANSWER_WORKING_DAYS),
    )
    session.add(request)
    session.flush()
    record_event(
        session,
        actor,
        "missing_record.request",
        "missing_record_request",
        request.id,
        organisation_id=org.id,
        details={"volunteer_id": volunteer.id, "due_on": request.due_on.isoformat()},
    )
    return request


def own_requests(session: Session, actor: User) -> list[MissingRecordRequest]:
    """Return the volunteer's own requests, newest first."""
    volunteer = own_volunteer(session, actor)
    return list(
        session.scalars(
            select(MissingRecordRequest)
            .where(MissingRecordRequest.volunteer_id == volunteer.id)
            .order_by(MissingRecordRequest.created_at.desc(), MissingRecordRequest.id.desc())
        )
    )


def own_request(session: Session, actor: User, request_id: int) -> MissingRecordRequest:
    """Return one of the volunteer's own requests, or raise NotFound."""
    volunteer = own_volunteer(session, actor)
    request = session.get(MissingRecordRequest, request_id)
    if request is None or request.volunteer_id != volunteer.id:
        raise NotFound(_("no such missing-record request"))
    return request


def visible_request(session: Session, actor: User, request_id: int) -> MissingRecordRequest:
    """Return a request to the actor's organisation, or raise NotFound."""
    request = session.get(MissingRecordRequest, request_id)
    if request is None or not (
        (actor.is_org_user and actor.organisation_id == request.organisation_id)
        or answers_for(actor, request.organisation)
    ):
        raise NotFound(_("no such missing-record request"))
    return request


def list_requests(
    session: Session, actor: User, *, status: str | None, page: int, per_page: int
) -> tuple[list[MissingRecordRequest], int]:
    """Return one page of the requests to the actor's organisation: open first, oldest due first."""
    if not actor.is_org_user:
        raise Forbidden(_("only the organisation's users keep its missing-record requests"))
    stmt = select(MissingRecordRequest).where(
        MissingRecordRequest.organisation_id == actor.organisation_id
    )
    if status is not None:
        stmt = stmt.where(MissingRecordRequest.status == status)
    open_first = case((MissingRecordRequest.status == MissingRecordStatus.OPEN, 0), else_=1)
    return paginate(
        session,
        stmt,
        open_first,
        MissingRecordRequest.due_on,
        MissingRecordRequest.id,
        page=page,
        per_page=per_page,
    )


def open_count(session: Session, organisation_id: int) -> int:
    """Count the organisation's unanswered requests."""
    return int(
        session.scalar(
            select(func.count()).where(
                MissingRecordRequest.organisation_id == organisation_id,
                MissingRecordRequest.status == MissingRecordStatus.OPEN,
            )
        )
        or 0
    )


def overdue_count(session: Session, today: date | None = None) -> int:
    """Count the open requests past the day they were due, over every organisation."""
    return int(
        session.scalar(
            select(func.count()).where(
                MissingRecordRequest.status == MissingRecordStatus.OPEN,
                MissingRecordRequest.due_on < (today or local_today()),
            )
        )
        or 0
    )


def is_overdue(request: MissingRecordRequest, today: date | None = None) -> bool:
    return request.status == MissingRecordStatus.OPEN and request.due_on < (today or local_today())


def suggested_record(request: MissingRecordRequest) -> RecordInput:
    """Return the record the request describes, for the organisation to complete (the place)."""
    minutes = int((request.ended_at - request.started_at).total_seconds() // 60)
    return RecordInput(
        activity=request.activity,
        place="",
        started_at=request.started_at,
        ended_at=request.ended_at,
        minutes=minutes,
    )


def _lock_open(session: Session, actor: User, request: MissingRecordRequest) -> None:
    """Lock the request's row, read it again and refuse one already answered."""
    if not answers_for(actor, request.organisation) and (
        not actor.is_org_user or actor.organisation_id != request.organisation_id
    ):
        raise Forbidden(_("only the organisation asked answers a missing-record request"))
    session.scalars(
        select(MissingRecordRequest)
        .where(MissingRecordRequest.id == request.id)
        .options(
            lazyload(MissingRecordRequest.organisation), lazyload(MissingRecordRequest.volunteer)
        )
        .with_for_update(of=MissingRecordRequest)
        .execution_options(populate_existing=True)
    ).one()
    if request.status != MissingRecordStatus.OPEN:
        raise Conflict(_("this missing-record request has already been answered"))


def enter_missing_record(
    session: Session,
    actor: User,
    request: MissingRecordRequest,
    data: RecordInput,
    *,
    source: str = RecordSource.ENTRY,
) -> ServiceRecord:
    """Enter the record a request asks for (every rule of a record applies) and link it."""
    if answers_for(actor, request.organisation):
        message = _(
            "a deregistered organisation records no new service, not even through its "
            "successor; refuse the request with your reasons"
        )
        raise Conflict(message, errors=[FieldError("organisation", "deregistered", message)])
    _lock_open(session, actor, request)
    # the person's row now: a merge since the request moved their records and memberships there
    volunteer = surviving_volunteer(session, request.volunteer_id) or request.volunteer
    record = create_record(
        session,
        actor.organisation,
        volunteer,
        data,
        actor,
        source=source,
        late_after_working_days=int(current_app.config["LATE_ENTRY_WORKING_DAYS"]),
    )
    _answer(session, actor, request, MissingRecordStatus.ENTERED, "", record.id)
    _notify(session, request, record)
    return record


def refuse_missing_record(
    session: Session, actor: User, request: MissingRecordRequest, reason: str
) -> MissingRecordRequest:
    """Refuse a request with a reason the volunteer sees."""
    _lock_open(session, actor, request)
    reason = _text(reason, "reason", _("reason"), REFUSAL_LIMIT)
    _answer(session, actor, request, MissingRecordStatus.REFUSED, reason, None)
    _notify(session, request, None)
    return request


def _answer(
    session: Session,
    actor: User,
    request: MissingRecordRequest,
    status: str,
    answer: str,
    record_id: int | None,
) -> None:
    request.status = status
    request.answer = answer
    request.record_id = record_id
    request.answered_at = utcnow()
    request.answered_by_id = actor.id
    session.flush()
    details: dict[str, object] = {"volunteer_id": request.volunteer_id}
    details.update(acting_details(actor, request.organisation))
    if record_id is not None:
        details["record_id"] = record_id
    record_event(
        session,
        actor,
        "missing_record.enter" if record_id is not None else "missing_record.refuse",
        "missing_record_request",
        request.id,
        organisation_id=request.organisation_id,
        details=details,
    )


def _notify(session: Session, request: MissingRecordRequest, record: ServiceRecord | None) -> None:
    link = f"{current_app.config['BASE_URL']}/me/missing-records"
    day = to_local(request.started_at).date().isoformat()

    def render() -> tuple[str, str]:
        if record is not None:
            subject = _("Your missing record was entered")
            body = _(
                '%(org)s entered the service you reported ("%(activity)s", %(day)s) as record '
                "%(id)d: %(hours)s hours. See your records: %(link)s",
                org=request.organisation.name,
                activity=request.activity,
                day=day,
                id=record.id,
                hours=format_hours(record.minutes),
                link=link,
            )
        else:
            subject = _("Your missing-record report was refused")
            body = _(
                '%(org)s refused to record the service you reported ("%(activity)s", %(day)s). '
                "Their reason: %(reason)s. See your reports: %(link)s",
                org=request.organisation.name,
                activity=request.activity,
                day=day,
                reason=request.answer,
                link=link,
            )
        return subject, body

    notify_volunteer(session, request.volunteer, kind=NOTIFICATION_KIND, render=render)

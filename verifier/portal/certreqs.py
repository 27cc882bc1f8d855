"""Certificate requests: a volunteer asks an organisation for a certificate of their service (free,
条例 Art. 19); the organisation issues it through the certificate service or refuses with a reason;
an unanswered request past its deadline (10 working days) is visible to regulators (Art. 38).

Locks: a request is written under its volunteer's row lock (`lock_volunteer`), then the request's
own row; issuing takes the volunteer's lock again inside `issue_certificate` (the same order).
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verifier.accounts.contact import notify_volunteer
from verifier.audit.services import record_event
from verifier.auth.models import User
from verifier.certificates.models import Certificate
from verifier.certificates.services import IssueRequest, issue_certificate, number_display
from verifier.complaints.models import CertificateRequest, CertificateRequestStatus
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
from verifier.notifications.services import contains_id_number
from verifier.orgs.models import Organisation
from verifier.orgs.succession import acting_details, answers_for
from verifier.text import check_characters
from verifier.timeutil import format_hours, local_today
from verifier.volunteers.locks import lock_volunteer
from verifier.volunteers.models import Membership, Volunteer
from verifier.volunteers.services import surviving_volunteer
from verifier.workdays import add_working_days

ANSWER_WORKING_DAYS = 10  # the organisation answers within 10 working days
MAX_SPAN_YEARS = 10  # a request covers at most ten years of service
REQUESTS_PER_DAY = 10  # per volunteer, over the last 24 hours
REASON_LIMIT = 500
ANSWERED_KIND = "certificate_request_answered"
PENDING = CertificateRequestStatus.PENDING


# --- the volunteer's side -------------------------------------------------------------------


def own_volunteer(session: Session, actor: User) -> Volunteer:
    """Return the signed-in volunteer's own volunteer row (only volunteers have one)."""
    volunteer = (
        surviving_volunteer(session, actor.volunteer_id)
        if actor.is_volunteer and actor.volunteer_id is not None
        else None
    )
    if volunteer is None:
        raise Forbidden(_("only a volunteer signed in to their own account may do this"))
    return volunteer


def _member_organisation(session: Session, volunteer_id: int, uscc: str) -> Organisation:
    """The organisation with this USCC, if the volunteer is registered with it.

    An unknown USCC and an organisation the volunteer is not registered with answer alike
    (422 on organisation_uscc), so the answer says nothing about other organisations' members.
    """
    code = normalize_uscc(uscc, field="organisation_uscc")
    org = session.scalars(
        select(Organisation)
        .join(Membership, Membership.organisation_id == Organisation.id)
        .where(Organisation.uscc == code, Membership.volunteer_id == volunteer_id)
    ).first()
    if org is None:
        raise ValidationError(
            _("you are not registered as a volunteer with an organisation of this code"),
            field="organisation_uscc",
            rule="membership",
        )
    return org


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def check_period(period_from: date, period_to: date, today: date) -> None:
    """Refuse a period that ends before it starts, ends in the future, or is too long."""
    if period_from > period_to:
        raise ValidationError(
            _("the period ends before it starts"), field="period_to", rule="period_order"
        )
    if period_to > today:
        raise ValidationError(
            _("the period may not end after today (%(today)s)", today=today.isoformat()),
            field="period_to",
            rule="not_future",
        )
    if period_from < _years_before(period_to, MAX_SPAN_YEARS):
        raise ValidationError(
            _("a request may cover at most %(n)d years; ask for several periods", n=MAX_SPAN_YEARS),
            field="period_from",
            rule="max_span",
        )


def _check_rate(session: Session, volunteer_id: int) -> None:
    since = utcnow() - timedelta(days=1)
    made = session.scalar(
        select(func.count())
        .select_from(CertificateRequest)
        .where(
            CertificateRequest.volunteer_id == volunteer_id,
            CertificateRequest.created_at >= since,
        )
    )
    if (made or 0) >= REQUESTS_PER_DAY:
        message = _(
            "you have made %(n)d certificate requests in the last 24 hours; try again tomorrow",
            n=made,
        )
        raise TooManyRequests(message, errors=[FieldError("body", "rate_limit", message)])


def _check_not_pending(
    session: Session, volunteer_id: int, org_id: int, period_from: date, period_to: date
) -> None:
    pending = session.scalars(
        select(CertificateRequest).where(
            CertificateRequest.volunteer_id == volunteer_id,
            CertificateRequest.organisation_id == org_id,
            CertificateRequest.status == PENDING,
            CertificateRequest.period_from <= period_to,
            CertificateRequest.period_to >= period_from,
        )
    ).first()
    if pending is not None:
        message = _(
            "request %(id)d for an overlapping period (%(start)s to %(end)s) is still waiting "
            "for the organisation's answer",
            id=pending.id,
            start=pending.period_from.isoformat(),
            end=pending.period_to.isoformat(),
        )
        raise Conflict(message, errors=[FieldError("period_from", "request_pending", message)])


def request_certificate(
    session: Session, actor: User, organisation_uscc: str, period_from: date, period_to: date
) -> CertificateRequest:
    """Ask one of the volunteer's organisations for a certificate of a period (free of charge)."""
    volunteer = own_volunteer(session, actor)
    org = _member_organisation(session, volunteer.id, organisation_uscc)
    today = local_today()
    check_period(period_from, period_to, today)
    # two requests sent at once are counted and compared one after the other
    lock_volunteer(session, volunteer.id)
    _check_rate(session, volunteer.id)
    _check_not_pending(session, volunteer.id, org.id, period_from, period_to)
    request = CertificateRequest(
        volunteer_id=volunteer.id,
        organisation_id=org.id,
        period_from=period_from,
        period_to=period_to,
        status=PENDING,
        created_at=utcnow(),
        created_by_id=actor.id,
        due_on=add_working_days(today, ANSWER_WORKING_DAYS),
    )
    session.add(request)
    session.flush()
    record_event(
        session,
        actor,
        "certificate_request.create",
        "certificate_request",
        request.id,
        organisation_id=org.id,
        details={
            "volunteer_id": volunteer.id,
            "period_from": period_from.isoformat(),
            "period_to": period_to.isoformat(),
            "due_on": request.due_on.isoformat(),
        },
    )
    return request


def own_request(session: Session, actor: User, request_id: int) -> CertificateRequest:
    """Return one of the volunteer's own requests; another volunteer's answers 404."""
    request = session.get(CertificateRequest, request_id)
    if (
        request is None
        or not actor.is_volunteer
        or request.volunteer_id != own_volunteer(session, actor).id
    ):
        raise NotFound(_("no such certificate request"))
    return request


# --- the organisation's queue ---------------------------------------------------------------


def visible_request(session: Session, actor: User, request_id: int) -> CertificateRequest:
    """Return a request the actor may see: their organisation's, or any for a regulator."""
    request = session.get(CertificateRequest, request_id)
    if request is None or not (
        actor.is_regulator
        or (actor.is_org_user and actor.organisation_id == request.organisation_id)
        or answers_for(actor, request.organisation)
    ):
        raise NotFound(_("no such certificate request"))
    return request


def _require_own_organisation(actor: User, request: CertificateRequest) -> None:
    # a deregistered organisation's requests: its successor's users, else a platform admin
    if answers_for(actor, request.organisation):
        return
    if not actor.is_org_user or actor.organisation_id != request.organisation_id:
        raise Forbidden(_("only the organisation asked answers a certificate request"))


def _lock_pending(session: Session, request: CertificateRequest) -> None:
    """Take the request under its volunteer's lock and refuse one already answered (409)."""
    lock_volunteer(session, request.volunteer_id)
    session.execute(
        select(CertificateRequest.id)
        .where(CertificateRequest.id == request.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    session.refresh(request)
    if request.status != PENDING:
        message = _("this certificate request has already been answered")
        raise Conflict(message, errors=[FieldError("status", "already_answered", message)])


def certificates_link() -> str:
    """The volunteer's page of certificates, as a link in a message."""
    return f"{current_app.config['BASE_URL']}/me/certificates"


def issue_for_request(
    session: Session, actor: User, request: CertificateRequest, handler: str = ""
) -> Certificate:
    """Issue the certificate a volunteer asked for, through the certificate service, and tell them.

    The certificate covers the volunteer's active records with the organisation in the period;
    none answers 422 (`no_records`), and the organisation refuses the request instead.
    """
    _require_own_organisation(actor, request)
    _lock_pending(session, request)
    org = session.get(Organisation, request.organisation_id)
    assert org is not None  # a foreign key
    cert = issue_certificate(
        session,
        org,
        IssueRequest(
            volunteer_id=request.volunteer_id,
            period_from=request.period_from,
            period_to=request.period_to,
            handler=handler,
        ),
        actor,
    )
    request.status = CertificateRequestStatus.ISSUED
    request.certificate_id = cert.id
    request.answered_at = utcnow()
    request.answered_by_id = actor.id
    session.flush()
    number = number_display(cert.number)
    record_event(
        session,
        actor,
        "certificate_request.issue",
        "certificate_request",
        request.id,
        organisation_id=org.id,
        details={"certificate": cert.number} | acting_details(actor, org),
    )
    link = certificates_link()
    notify_volunteer(
        session,
        request.volunteer,
        kind=ANSWERED_KIND,
        render=lambda: (
            _("Your certificate has been issued"),
            _(
                "%(org)s has issued the certificate you asked for (%(start)s to %(end)s): "
                "number %(number)s, %(hours)s hours. Download it at %(link)s",
                org=org.name,
                start=request.period_from.isoformat(),
                end=request.period_to.isoformat(),
                number=number,
                hours=format_hours(cert.total_minutes),
                link=link,
            ),
        ),
    )
    return cert


def refuse_request(
    session: Session, actor: User, request: CertificateRequest, reason: str
) -> CertificateRequest:
    """Refuse a certificate request with a reason the volunteer is told (and regulators see)."""
    _require_own_organisation(actor, request)
    text = (reason or "").strip()
    if not text:
        raise ValidationError(_("give the reason for refusing"), field="reason", rule="required")
    if len(text) > REASON_LIMIT:
        raise ValidationError(
            _("the reason is longer than %(n)d characters", n=REASON_LIMIT),
            field="reason",
            rule="max_length",
        )
    check_characters(text, field="reason", label=_("reason"))
    if contains_id_number(text):  # the reason is sent to the volunteer: never an ID number
        raise ValidationError(
            _("the reason may not contain an ID number"), field="reason", rule="no_id_number"
        )
    _lock_pending(session, request)
    request.status = CertificateRequestStatus.REFUSED
    request.refusal_reason = text
    request.answered_at = utcnow()
    request.answered_by_id = actor.id
    session.flush()
    org = request.organisation
    record_event(
        session,
        actor,
        "certificate_request.refuse",
        "certificate_request",
        request.id,
        organisation_id=request.organisation_id,
        details={"reason": text},
    )
    notify_volunteer(
        session,
        request.volunteer,
        kind=ANSWERED_KIND,
        render=lambda: (
            _("Your certificate request was refused"),
            _(
                "%(org)s refused your certificate request (%(start)s to %(end)s). "
                "Their reason: %(reason)s. See %(link)s",
                org=org.name,
                start=request.period_from.isoformat(),
                end=request.period_to.isoformat(),
                reason=text,
                link=certificates_link(),
            ),
        ),
    )
    return request

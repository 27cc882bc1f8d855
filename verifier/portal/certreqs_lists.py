"""Reading certificate requests: the volunteer's own requests and certificates, the
organisation's queue, and the figures regulators watch (overdue and refused requests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from verifier.auth.models import User
from verifier.certificates.models import Certificate
from verifier.complaints.models import CertificateRequest, CertificateRequestStatus
from verifier.errors import Forbidden
from verifier.orgs.models import Organisation
from verifier.paging import paginate
from verifier.portal.certreqs import PENDING, own_volunteer
from verifier.records.models import RecordStatus, ServiceRecord
from verifier.timeutil import local_today
from verifier.volunteers.models import Membership


def member_organisations(session: Session, volunteer_id: int) -> list[Organisation]:
    """Return the organisations the volunteer is registered with, by name."""
    return list(
        session.scalars(
            select(Organisation)
            .join(Membership, Membership.organisation_id == Organisation.id)
            .where(Membership.volunteer_id == volunteer_id)
            .order_by(Organisation.name, Organisation.id)
        )
    )


def own_requests(
    session: Session, actor: User, *, page: int = 1, per_page: int = 50
) -> tuple[list[CertificateRequest], int]:
    """Return one page of the volunteer's requests, newest first."""
    volunteer = own_volunteer(session, actor)
    stmt = select(CertificateRequest).where(CertificateRequest.volunteer_id == volunteer.id)
    return paginate(
        session,
        stmt,
        CertificateRequest.created_at.desc(),
        CertificateRequest.id.desc(),
        page=page,
        per_page=per_page,
    )


def own_certificates(session: Session, actor: User) -> list[Certificate]:
    """Return every certificate issued to the volunteer, by any organisation, newest first."""
    volunteer = own_volunteer(session, actor)
    return list(
        session.scalars(
            select(Certificate)
            .where(Certificate.volunteer_id == volunteer.id)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
    )


# --- the organisation's queue --------------------------------------------------------------------


def is_overdue(request: CertificateRequest, today: date | None = None) -> bool:
    """Tell whether a request is still unanswered after its deadline day."""
    return request.status == PENDING and request.due_on < (today or local_today())


def _overdue_condition(today: date) -> Any:
    return and_(CertificateRequest.status == PENDING, CertificateRequest.due_on < today)


def _scoped(actor: User) -> Select[CertificateRequest]:
    stmt = select(CertificateRequest)
    if actor.is_org_user:
        return stmt.where(CertificateRequest.organisation_id == actor.organisation_id)
    if actor.is_regulator:
        return stmt
    raise Forbidden(_("only organisations and regulators see certificate requests"))


def list_requests(
    session: Session,
    actor: User,
    *,
    status: str | None = None,
    overdue: bool = False,
    organisation_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[CertificateRequest], int]:
    """Return one page of the requests the actor may see: pending first, earliest deadline first
    (answered ones, asked for by status: the latest answer first).

    Organisation users see their own organisation's; regulators every organisation's, narrowed
    by `organisation_id`. `overdue` keeps pending requests past their deadline.
    """
    stmt = _scoped(actor)
    if organisation_id is not None:
        stmt = stmt.where(CertificateRequest.organisation_id == organisation_id)
    if status:
        stmt = stmt.where(CertificateRequest.status == status)
    if overdue:
        stmt = stmt.where(_overdue_condition(local_today()))
    if status and status != PENDING:  # answered ones: the latest answer first
        order: tuple[Any, ...] = (
            CertificateRequest.answered_at.desc(),
            CertificateRequest.id.desc(),
        )
    else:
        pending_first = case((CertificateRequest.status == PENDING, 0), else_=1)
        order = (pending_first, CertificateRequest.due_on, CertificateRequest.id)
    return paginate(session, stmt, *order, page=page, per_page=per_page)


def pending_count(session: Session, organisation_id: int) -> int:
    """Count an organisation's requests waiting for an answer (the navigation's badge)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(CertificateRequest)
            .where(
                CertificateRequest.organisation_id == organisation_id,
                CertificateRequest.status == PENDING,
            )
        )
        or 0
    )


@dataclass(frozen=True)
class PeriodRecords:
    """The volunteer's active records with the organisation in the requested period."""

    count: int
    minutes: int


def records_in_period(session: Session, request: CertificateRequest) -> PeriodRecords:
    """Count what a certificate for the request would cover now."""
    count, minutes = session.execute(
        select(func.count(), func.coalesce(func.sum(ServiceRecord.minutes), 0)).where(
            ServiceRecord.organisation_id == request.organisation_id,
            ServiceRecord.volunteer_id == request.volunteer_id,
            ServiceRecord.status == RecordStatus.ACTIVE,
            ServiceRecord.service_date.between(request.period_from, request.period_to),
        )
    ).one()
    return PeriodRecords(int(count), int(minutes))


# --- regulators -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationRequests:
    """One organisation's certificate requests, as regulators see them."""

    organisation: Organisation
    pending: int
    overdue: int
    refused: int
    oldest_due_on: date | None  # the earliest deadline among its overdue requests


def _summary_statement(today: date) -> Select[*tuple[Any, ...]]:
    overdue = _overdue_condition(today)
    pending = func.sum(case((CertificateRequest.status == PENDING, 1), else_=0))
    overdue_n = func.sum(case((overdue, 1), else_=0))
    refused = func.sum(
        case((CertificateRequest.status == CertificateRequestStatus.REFUSED, 1), else_=0)
    )
    oldest = func.min(case((overdue, CertificateRequest.due_on), else_=None))
    return (
        select(
            CertificateRequest.organisation_id,
            pending.label("pending"),
            overdue_n.label("overdue"),
            refused.label("refused"),
            oldest.label("oldest_due_on"),
        )
        .group_by(CertificateRequest.organisation_id)
        .having(or_(overdue_n > 0, refused > 0))
    )


def organisations_to_watch(
    session: Session, *, page: int = 1, per_page: int = 50
) -> tuple[list[OrganisationRequests], int]:
    """Organisations with overdue or refused certificate requests, most overdue first."""
    stmt = _summary_statement(local_today())
    sub = stmt.subquery()
    rows, total = paginate(
        session,
        select(sub),
        sub.c.overdue.desc(),
        sub.c.refused.desc(),
        sub.c.organisation_id,
        page=page,
        per_page=per_page,
    )
    orgs = {
        o.id: o
        for o in session.scalars(
            select(Organisation).where(Organisation.id.in_([r[0] for r in rows]))
        )
    }
    return [
        OrganisationRequests(orgs[r[0]], int(r[1]), int(r[2]), int(r[3]), r[4]) for r in rows
    ], total


def regulator_counts(session: Session) -> dict[str, int]:
    """Counts over every organisation for the regulators' dashboard: pending, overdue, refused."""
    today = local_today()
    pending, overdue, refused = session.execute(
        select(
            func.coalesce(func.sum(case((CertificateRequest.status == PENDING, 1), else_=0)), 0),
            func.coalesce(func.sum(case((_overdue_condition(today), 1), else_=0)), 0),
            func.coalesce(
                func.sum(
                    case(
                        (CertificateRequest.status == CertificateRequestStatus.REFUSED, 1), else_=0
                    )
                ),
                0,
            ),
        )
    ).one()
    return {"pending": int(pending), "overdue": int(overdue), "refused": int(refused)}

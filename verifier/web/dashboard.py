"""Figures for the dashboard of each kind of user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from verifier.auth.models import User
from verifier.orgs.models import Organisation
from verifier.orgs.signals import organisation_page
from verifier.records.models import RecordStatus, ServiceRecord
from verifier.records.services import list_records
from verifier.timeutil import local_today
from verifier.volunteers.models import Membership, Volunteer

RECENT_RECORDS = 10
ORGANISATIONS_SHOWN = 50


def dashboard_context(session: Session, actor: User | None) -> dict[str, Any]:
    """Return counts for the actor's organisation, or for the whole instance."""
    assert actor is not None
    records = select(func.count(), func.coalesce(func.sum(ServiceRecord.minutes), 0)).where(
        ServiceRecord.status == RecordStatus.ACTIVE
    )
    since = local_today() - timedelta(days=30)
    recent = select(func.count()).where(
        ServiceRecord.status == RecordStatus.ACTIVE, ServiceRecord.service_date >= since
    )
    late = select(func.count()).where(
        ServiceRecord.status == RecordStatus.ACTIVE, ServiceRecord.entered_late.is_(True)
    )
    if actor.is_org_user:
        volunteers = (
            select(func.count())
            .select_from(Membership)
            .where(Membership.organisation_id == actor.organisation_id)
        )
        scope = ServiceRecord.organisation_id == actor.organisation_id
        records, recent, late = records.where(scope), recent.where(scope), late.where(scope)
    else:
        volunteers = select(func.count()).select_from(Volunteer)
    count, minutes = session.execute(records).one()
    context: dict[str, Any] = {
        "volunteer_count": session.scalar(volunteers) or 0,
        "record_count": count,
        "total_minutes": int(minutes),
        "recent_count": session.scalar(recent) or 0,
        "late_count": session.scalar(late) or 0,
        "organisation_count": session.scalar(select(func.count()).select_from(Organisation)) or 0,
        "recent_records": [],
        "organisations": [],
    }
    if actor.is_org_user:
        context["recent_records"] = list_records(session, actor, per_page=RECENT_RECORDS)[0]
    else:
        context["organisations"] = organisation_summaries(session, ORGANISATIONS_SHOWN)
    return context


@dataclass(frozen=True)
class OrganisationFigures:
    """Counts of one organisation's volunteers and active records."""

    volunteers: int = 0
    records: int = 0
    minutes: int = 0
    late: int = 0


def _record_figures(org_ids: list[int] | None) -> Any:
    stmt = (
        select(
            ServiceRecord.organisation_id,
            func.count(),
            func.coalesce(func.sum(ServiceRecord.minutes), 0),
            func.coalesce(func.sum(case((ServiceRecord.entered_late.is_(True), 1), else_=0)), 0),
        )
        .where(ServiceRecord.status == RecordStatus.ACTIVE)
        .group_by(ServiceRecord.organisation_id)
    )
    if org_ids is not None:
        stmt = stmt.where(ServiceRecord.organisation_id.in_(org_ids))
    return stmt


def _volunteer_figures(org_ids: list[int]) -> Any:
    return (
        select(Membership.organisation_id, func.count())
        .where(Membership.organisation_id.in_(org_ids))
        .group_by(Membership.organisation_id)
    )


def figures_for(session: Session, org_ids: list[int]) -> dict[int, OrganisationFigures]:
    """Return the figures of several organisations in two queries."""
    volunteers = {org_id: n for org_id, n in session.execute(_volunteer_figures(org_ids))}
    result = {
        org_id: OrganisationFigures(volunteers=volunteers.get(org_id, 0)) for org_id in org_ids
    }
    for org_id, count, minutes, late in session.execute(_record_figures(org_ids)):
        result[org_id] = OrganisationFigures(
            result[org_id].volunteers, count, int(minutes), int(late)
        )
    return result


def organisation_figures(session: Session, org_id: int) -> OrganisationFigures:
    """Return one organisation's figures."""
    return figures_for(session, [org_id])[org_id]


def organisation_summaries(
    session: Session, limit: int
) -> list[tuple[Organisation, OrganisationFigures]]:
    """Return the first organisations by name, each with its figures."""
    orgs = list(session.scalars(select(Organisation).order_by(Organisation.name).limit(limit)))
    figures = figures_for(session, [org.id for org in orgs])
    return [(org, figures[org.id]) for org in orgs]


def _organisation_page_figures(
    org: Organisation, *, session: Session, actor: User
) -> dict[str, Any]:
    return {"figures": organisation_figures(session, org.id)}


def connect() -> None:
    """Show an organisation's figures on its page."""
    organisation_page.connect(_organisation_page_figures)

"""Figures for the dashboard of each kind of user."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verifier.auth.models import User
from verifier.orgs.models import Organisation
from verifier.records.models import ServiceRecord
from verifier.timeutil import local_today
from verifier.volunteers.models import Membership, Volunteer


def dashboard_context(session: Session, actor: User | None) -> dict[str, Any]:
    """Return counts for the actor's organisation, or for the whole instance."""
    assert actor is not None
    records = select(func.count(), func.coalesce(func.sum(ServiceRecord.minutes), 0)).where(
        ServiceRecord.status == "active"
    )
    since = local_today() - timedelta(days=30)
    recent = select(func.count()).where(ServiceRecord.status == "active", ServiceRecord.service_date >= since)
    late = select(func.count()).where(ServiceRecord.status == "active", ServiceRecord.entered_late.is_(True))
    if actor.is_org_user:
        volunteers = select(func.count()).select_from(Membership).where(
            Membership.organisation_id == actor.organisation_id
        )
        scope = ServiceRecord.organisation_id == actor.organisation_id
        records, recent, late = records.where(scope), recent.where(scope), late.where(scope)
    else:
        volunteers = select(func.count()).select_from(Volunteer)
    count, minutes = session.execute(records).one()
    return {
        "volunteer_count": session.scalar(volunteers) or 0,
        "record_count": count,
        "total_minutes": int(minutes),
        "recent_count": session.scalar(recent) or 0,
        "late_count": session.scalar(late) or 0,
        "organisation_count": session.scalar(select(func.count()).select_from(Organisation)) or 0,
    }

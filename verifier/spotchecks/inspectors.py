"""The second random (双随机): the inspector directory, declared conflicts (回避), open loads,
and drawing inspectors for a campaign's sampled organisations."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import REGULATOR_INSPECTOR, REGULATOR_SUPERVISOR, User
from verifier.errors import Forbidden, ValidationError
from verifier.orgs.models import Organisation
from verifier.spotchecks.draw import compute_inspector_draw, organisations_in_order
from verifier.spotchecks.models import (
    InspectorConflict,
    SpotCheckAssignment,
    SpotCheckCampaign,
    SpotCheckItem,
)
from verifier.spotchecks.population import item_number, org_item
from verifier.text import check_characters


def open_loads(session: Session, inspector_ids: list[int]) -> dict[int, int]:
    """Return each inspector's open load: organisations of campaigns still awaiting a finding."""
    rows = (
        select(
            SpotCheckAssignment.inspector_id,
            SpotCheckItem.campaign_id,
            SpotCheckItem.organisation_id,
        )
        .join(SpotCheckItem, SpotCheckItem.id == SpotCheckAssignment.item_id)
        .where(SpotCheckAssignment.inspector_id.in_(inspector_ids))
        # one finding closes an item for all its inspectors
        .where(~SpotCheckItem.finding.has())
    )
    pairs = rows.distinct().subquery()
    counted = select(pairs.c.inspector_id, func.count()).group_by(pairs.c.inspector_id)
    return {inspector_id: count for inspector_id, count in session.execute(counted)}


def inspector_directory(session: Session) -> list[User]:
    """Return the active inspectors, the directory the second random draw picks from."""
    return list(
        session.scalars(
            select(User)
            .where(User.role == REGULATOR_INSPECTOR, User.active.is_(True))
            .order_by(User.id)
        )
    )


def assign_inspectors(
    session: Session,
    campaign: SpotCheckCampaign,
    sample: list[dict[str, Any]],
    actor: User | None,
) -> None:
    """Draw k inspectors per sampled organisation and assign them to its items (双随机)."""
    assert campaign.seed is not None
    k = int(campaign.parameters["inspectors_per_organisation"])
    users = inspector_directory(session)
    inspectors = [f"inspector:{u.id}" for u in users]
    organisations = organisations_in_order(sample)
    org_ids = [item_number(o) for o in organisations]
    conflicts: dict[str, list[str]] = {}
    if org_ids:
        for inspector_id, org_id in session.execute(
            select(InspectorConflict.inspector_id, InspectorConflict.organisation_id).where(
                InspectorConflict.organisation_id.in_(org_ids)
            )
        ):
            conflicts.setdefault(org_item(org_id), []).append(f"inspector:{inspector_id}")
    loads = open_loads(session, [u.id for u in users])
    initial_load = {f"inspector:{uid}": n for uid, n in sorted(loads.items())}
    result = compute_inspector_draw(
        campaign.seed, organisations, inspectors, conflicts, initial_load, k
    )
    items = session.execute(
        select(SpotCheckItem.id, SpotCheckItem.organisation_id).where(
            SpotCheckItem.campaign_id == campaign.id
        )
    ).all()
    rows = []
    shortfall = []
    for entry in result:
        org_id = item_number(entry["organisation"])
        chosen = [item_number(i) for i in entry["assigned"]]
        rows += [
            {"item_id": item_id, "inspector_id": inspector}
            for item_id, item_org in items
            if item_org == org_id
            for inspector in chosen
        ]
        if len(chosen) < k:
            shortfall.append(
                {"organisation": entry["organisation"], "needed": k, "assigned": len(chosen)}
            )
    if rows:
        session.execute(insert(SpotCheckAssignment), rows)
    campaign.inspector_draw = {
        "k": k,
        "inspectors": inspectors,
        "initial_load": initial_load,
        "organisations": result,
    }
    campaign.shortfall = shortfall
    session.flush()
    record_event(
        session,
        actor,
        "spotcheck.assign",
        "spotcheck_campaign",
        campaign.id,
        details={
            "assignments": len(rows),
            "organisations": len(result),
            "shortfall": shortfall,
        },
    )


def declare_conflict(
    session: Session, actor: User, organisation_id: int, note: str
) -> InspectorConflict:
    """Record an inspector's affiliation with an organisation; they are never drawn for it."""
    if actor.role != REGULATOR_INSPECTOR:
        raise Forbidden(_("only an inspector declares their own conflicts"))
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise ValidationError(_("no such organisation"), field="organisation_id", rule="exists")
    existing = session.scalars(
        select(InspectorConflict).where(
            InspectorConflict.inspector_id == actor.id,
            InspectorConflict.organisation_id == org.id,
        )
    ).first()
    if existing is not None:
        return existing
    conflict = InspectorConflict(
        inspector_id=actor.id,
        organisation_id=org.id,
        note=check_characters((note or "").strip()[:500], field="note", label=_("note")),
    )
    session.add(conflict)
    session.flush()
    record_event(
        session,
        actor,
        "spotcheck.conflict.declare",
        "inspector_conflict",
        conflict.id,
        organisation_id=org.id,
        details={"inspector_id": actor.id, "note": conflict.note},
    )
    return conflict


def list_conflicts(session: Session, actor: User) -> list[InspectorConflict]:
    """Return an inspector's own conflicts, or every conflict for a supervisor."""
    stmt = select(InspectorConflict).order_by(InspectorConflict.declared_at.desc())
    if actor.role == REGULATOR_INSPECTOR:
        stmt = stmt.where(InspectorConflict.inspector_id == actor.id)
    elif actor.role != REGULATOR_SUPERVISOR:
        raise Forbidden(_("only regulators see declared conflicts"))
    return list(session.scalars(stmt))

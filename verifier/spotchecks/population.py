"""A campaign's population: the organisations and records in scope, with strata and weights."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.complaints.models import Complaint, ComplaintStatus
from verifier.orgs.models import Organisation, OrgStatus
from verifier.records.models import RecordStatus, ServiceRecord
from verifier.spotchecks.states import ItemKind
from verifier.timeutil import to_local


def org_item(org_id: int) -> str:
    return f"org:{org_id}"


def record_item(record_id: int) -> str:
    return f"rec:{record_id}"


def item_number(item_id: str) -> int:
    """Return the database id in "org:12" or "rec:345"."""
    return int(item_id.split(":", 1)[1])


def resolve_period(period: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Turn a period relative to the run (previous N days, previous month) into fixed dates."""
    today = to_local(now).date()
    mode = period.get("mode", "all")
    if mode == "previous_days":
        end = today - timedelta(days=1)
        start = end - timedelta(days=int(period["days"]) - 1)
    elif mode == "previous_month":
        end = today.replace(day=1) - timedelta(days=1)
        start = end.replace(day=1)
    else:
        return dict(period)
    return {"mode": "fixed", "from": start.isoformat(), "to": end.isoformat(), "as": mode}


def period_bounds(period: Mapping[str, Any]) -> tuple[date, date] | None:
    if period.get("mode") != "fixed":
        return None
    return date.fromisoformat(period["from"]), date.fromisoformat(period["to"])


def organisations_in_scope(session: Session, scope: Mapping[str, Any]) -> list[int]:
    """Return the ids of the organisations a plan's scope covers (not deregistered ones)."""
    stmt = select(Organisation.id).where(Organisation.status != OrgStatus.DEREGISTERED)
    if scope.get("region_prefix"):
        stmt = stmt.where(Organisation.region_code.startswith(scope["region_prefix"]))
    if scope.get("org_types"):
        stmt = stmt.where(Organisation.org_type.in_(scope["org_types"]))
    return list(session.scalars(stmt.order_by(Organisation.id)))


def always_included(session: Session, organisation_ids: Iterable[int]) -> set[int]:
    """Return the organisations that every campaign includes: those with open complaints."""
    wanted = set(organisation_ids)
    rows = session.scalars(
        select(Complaint.organisation_id).where(Complaint.status == ComplaintStatus.OPEN).distinct()
    )
    return {org_id for org_id in rows if org_id in wanted}


def _record_rows(
    session: Session, organisation_ids: list[int], bounds: tuple[date, date] | None
) -> list[tuple[int, int, int]]:
    stmt = select(ServiceRecord.id, ServiceRecord.organisation_id, ServiceRecord.minutes).where(
        ServiceRecord.status == RecordStatus.ACTIVE
    )
    if bounds is not None:
        stmt = stmt.where(ServiceRecord.service_date.between(*bounds))
    rows: list[tuple[int, int, int]] = []
    # chunks keep the IN list of organisation ids within every database's parameter limit
    for start in range(0, len(organisation_ids), 500):
        chunk = organisation_ids[start : start + 500]
        rows += [
            (record_id, org_id, minutes)
            for record_id, org_id, minutes in session.execute(
                stmt.where(ServiceRecord.organisation_id.in_(chunk)).order_by(ServiceRecord.id)
            )
        ]
    return rows


def _risk_weights(
    session: Session, organisation_ids: list[int], bounds: tuple[date, date] | None
) -> tuple[dict[int, int], dict[int, int]]:
    """Return the risk scores of records and of organisations (missing: 0)."""
    from verifier.spotchecks import risk

    records = risk.record_signals(session, organisation_ids=organisation_ids, period=bounds)
    orgs = risk.organisation_signals(session, organisation_ids=organisation_ids, period=bounds)
    return (
        {rid: result.score for rid, result in records.items()},
        {oid: result.score for oid, result in orgs.items()},
    )


def build_population(session: Session, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the population rows of a campaign: {id, kind, stratum, weight, forced}.

    Weights: 1 (uniform); hours (records: minutes / 60; organisations: their hours in the
    period, at least 1); risk (1 + the risk score). Records are stratified by organisation.
    """
    scope_orgs = organisations_in_scope(session, parameters["scope"])
    bounds = period_bounds(parameters["period"])
    forced = always_included(session, scope_orgs) if parameters["include_complaints"] else set()
    records = _record_rows(session, scope_orgs, bounds)
    weighting = parameters["weighting"]
    record_risk: dict[int, int] = {}
    org_risk: dict[int, int] = {}
    if weighting == "risk" and scope_orgs:
        record_risk, org_risk = _risk_weights(session, scope_orgs, bounds)
    org_minutes: dict[int, int] = {}
    for _rid, org_id, minutes in records:
        org_minutes[org_id] = org_minutes.get(org_id, 0) + minutes

    def record_weight(record_id: int, minutes: int) -> float:
        if weighting == "hours":
            return minutes / 60
        if weighting == "risk":
            return float(1 + record_risk.get(record_id, 0))
        return 1.0

    def org_weight(org_id: int) -> float:
        if weighting == "hours":
            return max(org_minutes.get(org_id, 0), 60) / 60
        if weighting == "risk":
            return float(1 + org_risk.get(org_id, 0))
        return 1.0

    rows: list[dict[str, Any]] = []
    org_ids = scope_orgs if parameters["unit"] == "two_stage" else sorted(forced)
    for org_id in org_ids:
        rows.append(
            {
                "id": org_item(org_id),
                "kind": ItemKind.ORGANISATION,
                "stratum": "",
                "weight": org_weight(org_id),
                "forced": org_id in forced,
            }
        )
    for record_id, org_id, minutes in records:
        rows.append(
            {
                "id": record_item(record_id),
                "kind": ItemKind.RECORD,
                "stratum": org_item(org_id),
                "weight": record_weight(record_id, minutes),
                "forced": False,
            }
        )
    return rows

"""A published campaign's public results (一公开), and the figures of the regulator's dashboard.

The public results say what was checked and what was found per organisation, in counts; they hold
nothing personal: no volunteer, no record content, no inspector.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from verifier.db import utcnow
from verifier.errors import NotFound
from verifier.orgs.models import Organisation
from verifier.spotchecks.models import SpotCheckCampaign, SpotCheckItem, SpotCheckPlan
from verifier.spotchecks.risk import organisation_signals
from verifier.supervision.models import (
    CaseStatus,
    DiscrepancyType,
    FindingResult,
    SpotCheckFinding,
    SupervisionCase,
)
from verifier.timeutil import to_local


@dataclass
class OrganisationResult:
    """What a published campaign says about one organisation: counts only."""

    name: str
    uscc: str
    items: int = 0
    results: Counter[str] = field(default_factory=Counter)
    types: Counter[str] = field(default_factory=Counter)
    sanctions: list[str] = field(default_factory=list)


@dataclass
class PublicResults:
    campaign: SpotCheckCampaign
    sample_size: int
    pending: int  # sampled items still without a finding
    organisations: list[OrganisationResult]
    results: Counter[str]
    types: Counter[str]


def published_campaign(session: Session, campaign_id: int) -> SpotCheckCampaign:
    """Return a published campaign, or NotFound (an unpublished one does not exist publicly)."""
    campaign = session.get(SpotCheckCampaign, campaign_id)
    if campaign is None or campaign.published_at is None:
        raise NotFound(_("no published spot check with this number"))
    return campaign


def public_results(session: Session, campaign_id: int) -> PublicResults:
    """Gather a published campaign's public results, per organisation."""
    campaign = published_campaign(session, campaign_id)
    per_org: dict[int, OrganisationResult] = {}
    rows = session.execute(
        select(
            Organisation.id,
            Organisation.name,
            Organisation.uscc,
            SpotCheckFinding.result,
            SpotCheckFinding.discrepancy_type,
        )
        .join(SpotCheckItem, SpotCheckItem.organisation_id == Organisation.id)
        .outerjoin(SpotCheckFinding, SpotCheckFinding.item_id == SpotCheckItem.id)
        .where(SpotCheckItem.campaign_id == campaign.id)
        .order_by(Organisation.name, Organisation.id)
    )
    results: Counter[str] = Counter()
    types: Counter[str] = Counter()
    sample_size = 0
    for org_id, name, uscc, result, kind in rows:
        entry = per_org.setdefault(org_id, OrganisationResult(name, uscc))
        entry.items += 1
        sample_size += 1
        if result:
            entry.results[result] += 1
            results[result] += 1
        if kind:
            entry.types[kind] += 1
            types[kind] += 1
    for org_id, sanction in session.execute(
        select(SupervisionCase.organisation_id, SupervisionCase.sanction).where(
            SupervisionCase.campaign_id == campaign.id, SupervisionCase.sanction.is_not(None)
        )
    ):
        if org_id in per_org and sanction is not None:  # not None: the query says so
            per_org[org_id].sanctions.append(sanction)
    pending = sample_size - sum(results.values())
    return PublicResults(campaign, sample_size, pending, list(per_org.values()), results, types)


# --- the regulator's dashboard ----------------------------------------------------------------


@dataclass
class CampaignProgress:
    campaign: SpotCheckCampaign
    items: int
    done: int
    discrepancies: int

    @property
    def percent(self) -> int:
        return 100 * self.done // self.items if self.items else 0


def campaign_progress(session: Session, limit: int = 20) -> list[CampaignProgress]:
    """The latest campaigns with their queue progress: items with a finding out of all."""
    campaigns = list(
        session.scalars(
            select(SpotCheckCampaign).order_by(SpotCheckCampaign.id.desc()).limit(limit)
        )
    )
    counts = {
        cid: (n, done, bad)
        for cid, n, done, bad in session.execute(
            select(
                SpotCheckItem.campaign_id,
                func.count(SpotCheckItem.id),
                func.count(SpotCheckFinding.id),
                func.coalesce(
                    func.sum(
                        case((SpotCheckFinding.result == FindingResult.DISCREPANCY, 1), else_=0)
                    ),
                    0,
                ),
            )
            .outerjoin(SpotCheckFinding, SpotCheckFinding.item_id == SpotCheckItem.id)
            .where(SpotCheckItem.campaign_id.in_([c.id for c in campaigns]))
            .group_by(SpotCheckItem.campaign_id)
        )
    }
    return [CampaignProgress(c, *counts.get(c.id, (0, 0, 0))) for c in campaigns]


def plans(session: Session) -> list[SpotCheckPlan]:
    return list(session.scalars(select(SpotCheckPlan).order_by(SpotCheckPlan.id.desc())))


@dataclass(frozen=True)
class OrganisationRate:
    organisation_id: int
    name: str
    findings: int
    discrepancies: int

    @property
    def rate(self) -> float:
        return self.discrepancies / self.findings if self.findings else 0.0


def rates_by_organisation(session: Session, limit: int = 15) -> list[OrganisationRate]:
    """Organisations with findings, the highest share of discrepancies first."""
    bad = func.sum(case((SpotCheckFinding.result == FindingResult.DISCREPANCY, 1), else_=0))
    rows = session.execute(
        select(Organisation.id, Organisation.name, func.count(SpotCheckFinding.id), bad)
        .join(SpotCheckItem, SpotCheckItem.organisation_id == Organisation.id)
        .join(SpotCheckFinding, SpotCheckFinding.item_id == SpotCheckItem.id)
        .group_by(Organisation.id, Organisation.name)
        .order_by((bad * 1.0 / func.count(SpotCheckFinding.id)).desc(), Organisation.name)
        .limit(limit)
    )
    return [OrganisationRate(oid, name, n, int(b or 0)) for oid, name, n, b in rows]


def findings_by_month(
    session: Session, months: int = 12, now: datetime | None = None
) -> list[tuple[str, dict[str, int]]]:
    """Findings per local calendar month, by result, for the last `months` months."""
    today = to_local(now or utcnow()).date()
    keys = []
    year, month = today.year, today.month
    for _step in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    keys.reverse()
    start = datetime(int(keys[0][:4]), int(keys[0][5:]), 1, tzinfo=to_local(utcnow()).tzinfo)
    counts: dict[str, dict[str, int]] = {k: dict.fromkeys(FindingResult, 0) for k in keys}
    # findings are few (one per sampled item); bucketing them by local month here is simplest
    for created_at, result in session.execute(
        select(SpotCheckFinding.created_at, SpotCheckFinding.result).where(
            SpotCheckFinding.created_at >= start
        )
    ):
        key = to_local(created_at).strftime("%Y-%m")
        if key in counts:
            counts[key][result] += 1
    return [(k, counts[k]) for k in keys]


@dataclass(frozen=True)
class RiskRow:
    organisation: Organisation
    score: int
    reasons: list[Any]


def risk_ranking(session: Session, limit: int = 10) -> list[RiskRow]:
    """Organisations by risk score (verifier.spotchecks.risk), highest first."""
    scored = sorted(
        ((oid, res) for oid, res in organisation_signals(session).items() if res.score > 0),
        key=lambda pair: (-pair[1].score, pair[0]),
    )[:limit]
    orgs = {
        o.id: o
        for o in session.scalars(
            select(Organisation).where(Organisation.id.in_([oid for oid, _r in scored]))
        )
    }
    return [RiskRow(orgs[oid], res.score, list(res.reasons)) for oid, res in scored if oid in orgs]


def case_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(SupervisionCase.status, func.count()).group_by(SupervisionCase.status)
    )
    return {status: n for status, n in rows}


def overdue_cases(session: Session, limit: int = 50) -> list[SupervisionCase]:
    return list(
        session.scalars(
            select(SupervisionCase)
            .where(SupervisionCase.status == CaseStatus.OVERDUE)
            .order_by(SupervisionCase.deadline)
            .limit(limit)
        )
    )


def discrepancy_type_totals(session: Session) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for kind, n in session.execute(
        select(SpotCheckFinding.discrepancy_type, func.count())
        .where(SpotCheckFinding.discrepancy_type.is_not(None))
        .group_by(SpotCheckFinding.discrepancy_type)
    ):
        if kind is not None:  # the query says so
            totals[kind] = n
    return {k: totals[k] for k in DiscrepancyType}

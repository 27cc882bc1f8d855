"""Risk signals (风险信号) over records and organisations: scores and the reasons for them.

The signals are computed in the database (verifier.spotchecks.risk_queries: one SQL query per
signal); here the flagged rows, or one row per organisation and month, become reasons and scores.
docs/spotchecks.md lists the signals, their weights and exactly when each fires.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from verifier.complaints.models import (
    CertificateRequest,
    CertificateRequestStatus,
    Complaint,
    CorrectionRequest,
)
from verifier.orgs.models import Organisation
from verifier.spotchecks.risk_queries import (
    OPEN_STATUS,
    RECORD_QUERIES,
    SPIKE_LOOKBACK_MONTHS,
    Period,
    Scope,
    build_scope,
    monthly_counts,
    overdue_disputes,
    round_numbers,
)
from verifier.timeutil import format_hours, local_today, to_local

# round_numbers: enough records to judge, a share far above the common one
ROUND_MIN_RECORDS = 20
ROUND_MIN_SHARE = 0.9
ROUND_BASELINE_FACTOR = 1.5
# volume_spike: a busy month, far above the organisation's own usual month
SPIKE_MIN_RECORDS = 20
SPIKE_FACTOR = 3
SPIKE_MIN_HISTORY = 3

WEIGHTS = {
    "over_24h_day": 5,
    "over_daily_cap": 2,
    "overlap": 4,
    "late_entry": 1,
    "entered_before_certificate": 3,
    "certificate_mismatch": 4,
    "open_complaints": 3,
    "open_corrections": 2,
    "round_numbers": 2,
    "volume_spike": 3,
    "volunteer_disputed": 5,
    "disputes_overdue": 4,
}
# certificate requests left unanswered past their deadline (issue 9, 条例 Art. 38)
WEIGHTS["certificate_requests_overdue"] = 3


@dataclass(frozen=True)
class Signal:
    """One reason for attention: a stable code, a sentence saying why, and its weight."""

    code: str
    message: str
    weight: int


@dataclass
class RiskResult:
    """A record's or an organisation's score: the sum of its reasons' weights."""

    score: int = 0
    reasons: list[Signal] = field(default_factory=list)

    def add(self, code: str, message: str) -> None:
        self.reasons.append(Signal(code, message, WEIGHTS[code]))
        self.score += WEIGHTS[code]


def _day(value: date) -> str:
    return value.isoformat()


def _record_message(code: str, row: Any, scope: Scope) -> str:
    if code == "over_24h_day":
        return _(
            "the volunteer has %(hours)s hours of active records on %(day)s, more than 24",
            hours=format_hours(int(row.total)),
            day=_day(row.service_date),
        )
    if code == "over_daily_cap":
        return _(
            "the volunteer has %(hours)s hours of active records on %(day)s, above the cap of "
            "%(cap)s hours",
            hours=format_hours(int(row.total)),
            day=_day(row.service_date),
            cap=format_hours(scope.daily_cap),
        )
    if code == "overlap":
        if row.elsewhere:
            return _(
                "overlaps %(n)d other active record(s) of the same volunteer, also at another "
                "organisation",
                n=row.others,
            )
        return _(
            "overlaps %(n)d other active record(s) of the same volunteer (first: record %(id)d)",
            n=row.others,
            id=row.first_other,
        )
    if code == "late_entry":
        return _(
            "entered on %(entered)s for service on %(day)s: more than %(n)d working days later",
            entered=to_local(row.recorded_at).strftime("%Y-%m-%d"),
            day=_day(row.service_date),
            n=scope.late_days,
        )
    if code == "entered_before_certificate":
        return _(
            "created or corrected less than %(n)d days before certificate %(number)s covering "
            "it was issued",
            n=scope.window_days,
            number=row.number,
        )
    if code == "certificate_mismatch":
        return _(
            "valid certificate %(number)s states %(stated)s hours, but its active records now "
            "add up to %(now)s hours",
            number=row.number,
            stated=format_hours(int(row.total_minutes)),
            now=format_hours(int(row.now or 0)),
        )
    if code == "open_complaints":
        return _("%(n)d open complaint(s) about this record", n=row.n)
    if code == "volunteer_disputed":
        return _(
            "the volunteer disputes this record; the organisation's answer is due by %(day)s",
            day=_day(row.due_on),
        )
    return _("%(n)d open correction request(s) for this record", n=row.n)


def record_signals(
    session: Session,
    *,
    record_ids: Iterable[int] | None = None,
    organisation_ids: Iterable[int] | None = None,
    period: Period | None = None,
    daily_cap: int | None = None,
    certificate_window_days: int | None = None,
) -> dict[int, RiskResult]:
    """Score the active records in scope; only records where a signal fires are returned.

    Scope: the given records, organisations and period of service days (each optional; all of
    them together narrow it). `daily_cap` defaults to the RISK_DAILY_CAP_MINUTES setting.
    """
    scope = build_scope(record_ids, organisation_ids, period, daily_cap, certificate_window_days)
    results: dict[int, RiskResult] = {}
    for code, query in RECORD_QUERIES.items():
        seen: set[int] = set()
        for row in session.execute(query(session, scope)):
            if row.record_id in seen:  # a record under two mismatched certificates: one reason
                continue
            seen.add(row.record_id)
            results.setdefault(row.record_id, RiskResult()).add(
                code, _record_message(code, row, scope)
            )
    for result in results.values():
        result.reasons.sort(key=lambda s: (-s.weight, s.code))
    return results


# --- organisation signals ---------------------------------------------------------------------


def _record_summary_message(code: str, n: int, scope: Scope) -> str:
    messages = {
        "over_24h_day": _("records on days when a volunteer has more than 24 hours: %(n)d", n=n),
        "over_daily_cap": _(
            "records on days when a volunteer has more than %(cap)s hours: %(n)d",
            cap=format_hours(scope.daily_cap),
            n=n,
        ),
        "overlap": _("records overlapping another record of the same volunteer: %(n)d", n=n),
        "late_entry": _(
            "records entered more than %(days)d working days after the activity: %(n)d",
            days=scope.late_days,
            n=n,
        ),
        "entered_before_certificate": _(
            "records created or corrected less than %(days)d days before a certificate covering "
            "them: %(n)d",
            days=scope.window_days,
            n=n,
        ),
        "certificate_mismatch": _(
            "records under a valid certificate whose hours no longer match them: %(n)d", n=n
        ),
        "volunteer_disputed": _("records their volunteers dispute, not yet answered: %(n)d", n=n),
    }
    return messages[code]


# the organisation-level open_complaints/open_corrections count every open item of the
# organisation; the per-record versions would count the same items twice
_SUMMARISED = [
    code for code in RECORD_QUERIES if code not in ("open_complaints", "open_corrections")
]


def _spikes(counts: dict[int, int], scope: Scope) -> list[tuple[int, int, float]]:
    """Months in the period far above the median of the organisation's earlier months."""
    if not counts:
        return []
    first_active = min(counts)
    low, high = min(counts), max(counts)
    if scope.period is not None:
        low = scope.period[0].year * 12 + scope.period[0].month - 1
        high = scope.period[1].year * 12 + scope.period[1].month - 1
    found = []
    for month, n in sorted(counts.items()):
        if n < SPIKE_MIN_RECORDS or not low <= month <= high:
            continue
        earlier = range(max(first_active, month - SPIKE_LOOKBACK_MONTHS), month)
        if sum(1 for m in earlier if counts.get(m)) < SPIKE_MIN_HISTORY:
            continue
        usual = statistics.median(counts.get(m, 0) for m in earlier)
        if n > SPIKE_FACTOR * usual:
            found.append((month, n, usual))
    return found


def _month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def organisation_signals(
    session: Session,
    *,
    organisation_ids: Iterable[int] | None = None,
    period: Period | None = None,
    daily_cap: int | None = None,
    certificate_window_days: int | None = None,
) -> dict[int, RiskResult]:
    """Score every organisation in scope (clean ones with 0), with reasons."""
    scope = build_scope(None, organisation_ids, period, daily_cap, certificate_window_days)
    org_stmt = select(Organisation.id)
    if scope.organisation_ids is not None:
        org_stmt = org_stmt.where(Organisation.id.in_(scope.organisation_ids))
    results = {
        org_id: RiskResult() for org_id in session.scalars(org_stmt.order_by(Organisation.id))
    }

    for code in _SUMMARISED:
        flagged = RECORD_QUERIES[code](session, scope).subquery()
        stmt = select(
            flagged.c.organisation_id, func.count(distinct(flagged.c.record_id))
        ).group_by(flagged.c.organisation_id)
        for org_id, n in session.execute(stmt):
            if org_id in results:
                results[org_id].add(code, _record_summary_message(code, n, scope))

    for org_id, n, whole, all_whole, all_n in session.execute(round_numbers(session, scope)):
        if org_id not in results or n < ROUND_MIN_RECORDS:
            continue
        # PostgreSQL sums integers as numeric (Decimal): make them ints before dividing
        share, baseline = int(whole) / int(n), int(all_whole or 0) / int(all_n)
        if share > ROUND_MIN_SHARE and share >= ROUND_BASELINE_FACTOR * baseline:
            results[org_id].add(
                "round_numbers",
                _(
                    "%(share)d%% of its %(n)d records are whole hours, against %(base)d%% over "
                    "all organisations",
                    share=round(share * 100),
                    n=n,
                    base=round(baseline * 100),
                ),
            )

    monthly: dict[int, dict[int, int]] = {}
    for org_id, month, n in session.execute(monthly_counts(session, scope)):
        monthly.setdefault(org_id, {})[int(month)] = n
    for org_id, counts in monthly.items():
        spikes = _spikes(counts, scope)
        if spikes and org_id in results:
            month, n, usual = max(spikes, key=lambda s: s[1])
            results[org_id].add(
                "volume_spike",
                _(
                    "%(n)d records in %(month)s, against a usual month of %(usual)s",
                    n=n,
                    month=_month_label(month),
                    usual=f"{usual:g}",
                ),
            )

    for model, code in ((Complaint, "open_complaints"), (CorrectionRequest, "open_corrections")):
        stmt = (
            select(model.organisation_id, func.count(model.id))
            .where(model.status == OPEN_STATUS[model])
            .group_by(model.organisation_id)
        )
        for org_id, n in session.execute(stmt):
            if org_id in results:
                if code == "open_complaints":
                    message = _("open complaints: %(n)d", n=n)
                else:
                    message = _("open correction requests: %(n)d", n=n)
                results[org_id].add(code, message)

    for org_id, n in session.execute(overdue_disputes(session, scope, local_today())):
        if org_id in results:
            results[org_id].add(
                "disputes_overdue",
                _("volunteers' disputes unanswered past their deadline: %(n)d", n=n),
            )
    _add_certificate_requests_overdue(session, results)

    for result in results.values():
        result.reasons.sort(key=lambda s: (-s.weight, s.code))
    return results


# --- certificate_requests_overdue (issue 9) ---------------------------------------------------


def _add_certificate_requests_overdue(session: Session, results: dict[int, RiskResult]) -> None:
    """Organisations with certificate requests still pending after their deadline day."""
    stmt = (
        select(CertificateRequest.organisation_id, func.count(CertificateRequest.id))
        .where(
            CertificateRequest.status == CertificateRequestStatus.PENDING,
            CertificateRequest.due_on < local_today(),
        )
        .group_by(CertificateRequest.organisation_id)
    )
    for org_id, n in session.execute(stmt):
        if org_id in results:
            results[org_id].add(
                "certificate_requests_overdue",
                _("certificate requests unanswered past their deadline: %(n)d", n=n),
            )

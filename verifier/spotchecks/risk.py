"""Risk signals (风险信号) over records and organisations, computed in the database.

Each signal is one SQL query (joins, GROUP BY, EXISTS, a window function) over the records in
scope; Python only turns the flagged rows, or one row per organisation and month, into reasons.
docs/spotchecks.md lists the signals, their weights and exactly when each fires.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    distinct,
    extract,
    false,
    func,
    select,
    true,
)
from sqlalchemy.orm import Session, aliased

from verifier.certificates.models import Certificate, CertificateRecord
from verifier.complaints.models import Complaint, CorrectionRequest
from verifier.orgs.models import Organisation
from verifier.records.models import RecordRevision, ServiceRecord
from verifier.timeutil import format_hours, to_local

Period = tuple[date, date]  # first and last local service day, inclusive

DAY_MINUTES = 24 * 60
DEFAULT_RISK_DAILY_CAP = 12 * 60
DEFAULT_LATE_WORKING_DAYS = 10
CERTIFICATE_WINDOW_DAYS = 3
# round_numbers: enough records to judge, a share far above the common one
ROUND_MIN_RECORDS = 20
ROUND_MIN_SHARE = 0.9
ROUND_BASELINE_FACTOR = 1.5
# volume_spike: a busy month, far above the organisation's own usual month
SPIKE_MIN_RECORDS = 20
SPIKE_FACTOR = 3
SPIKE_LOOKBACK_MONTHS = 12
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
}


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


@dataclass(frozen=True)
class _Scope:
    record_ids: list[int] | None
    organisation_ids: list[int] | None
    period: Period | None
    daily_cap: int
    window_days: int
    late_days: int

    def conditions(self, rec: Any) -> list[ColumnElement[bool]]:
        """Conditions that put an (aliased) active record in scope."""
        conds: list[ColumnElement[bool]] = [rec.status == "active"]
        if self.record_ids is not None:
            conds.append(rec.id.in_(self.record_ids))
        if self.organisation_ids is not None:
            conds.append(rec.organisation_id.in_(self.organisation_ids))
        if self.period is not None:
            conds.append(rec.service_date.between(self.period[0], self.period[1]))
        return conds


def _setting(key: str, default: int) -> int:
    return int(current_app.config.get(key, default)) if has_app_context() else default


def _scope(
    record_ids: Iterable[int] | None,
    organisation_ids: Iterable[int] | None,
    period: Period | None,
    daily_cap: int | None,
    window_days: int | None,
) -> _Scope:
    return _Scope(
        record_ids=None if record_ids is None else sorted(set(record_ids)),
        organisation_ids=None if organisation_ids is None else sorted(set(organisation_ids)),
        period=period,
        daily_cap=daily_cap or _setting("RISK_DAILY_CAP_MINUTES", DEFAULT_RISK_DAILY_CAP),
        window_days=CERTIFICATE_WINDOW_DAYS if window_days is None else window_days,
        late_days=_setting("LATE_ENTRY_WORKING_DAYS", DEFAULT_LATE_WORKING_DAYS),
    )


def _seconds_before(session: Session, later: Any, earlier: Any) -> Any:
    """Seconds from earlier to later, in the database's own date arithmetic."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400


# --- record signals: each query gives (record_id, organisation_id, details ...) ---------------


def _day_totals(session: Session, scope: _Scope) -> Select[Any]:
    """Records on a volunteer's local day whose active minutes, in all organisations, are high."""
    rec = aliased(ServiceRecord, name="t")
    other = aliased(ServiceRecord, name="o")
    mine = aliased(ServiceRecord, name="m")
    days = (
        select(other.volunteer_id, other.service_date, func.sum(other.minutes).label("total"))
        .where(
            other.status == "active",
            other.volunteer_id.in_(select(mine.volunteer_id).where(*scope.conditions(mine))),
        )
        .group_by(other.volunteer_id, other.service_date)
        .having(func.sum(other.minutes) > min(scope.daily_cap, DAY_MINUTES))
    )
    if scope.period is not None:
        days = days.where(other.service_date.between(scope.period[0], scope.period[1]))
    day = days.subquery("day")
    return (
        select(
            rec.id.label("record_id"),
            rec.organisation_id.label("organisation_id"),
            rec.service_date,
            day.c.total,
        )
        .join(
            day,
            and_(day.c.volunteer_id == rec.volunteer_id, day.c.service_date == rec.service_date),
        )
        .where(*scope.conditions(rec))
    )


def _over_24h(session: Session, scope: _Scope) -> Select[Any]:
    sub = _day_totals(session, scope).subquery()
    return select(sub).where(sub.c.total > DAY_MINUTES)


def _over_cap(session: Session, scope: _Scope) -> Select[Any]:
    sub = _day_totals(session, scope).subquery()
    return select(sub).where(sub.c.total > scope.daily_cap, sub.c.total <= DAY_MINUTES)


def _overlap(session: Session, scope: _Scope) -> Select[Any]:
    rec = aliased(ServiceRecord, name="t")
    other = aliased(ServiceRecord, name="o")
    return (
        select(
            rec.id.label("record_id"),
            rec.organisation_id.label("organisation_id"),
            func.count(other.id).label("others"),
            func.min(other.id).label("first_other"),
            func.max(case((other.organisation_id != rec.organisation_id, 1), else_=0)).label(
                "elsewhere"
            ),
        )
        .join(
            other,
            and_(
                other.volunteer_id == rec.volunteer_id,
                other.id != rec.id,
                other.status == "active",
                other.started_at < rec.ended_at,
                other.ended_at > rec.started_at,
            ),
        )
        .where(*scope.conditions(rec))
        .group_by(rec.id, rec.organisation_id)
    )


def _late(session: Session, scope: _Scope) -> Select[Any]:
    rec = aliased(ServiceRecord, name="t")
    return select(
        rec.id.label("record_id"),
        rec.organisation_id.label("organisation_id"),
        rec.service_date,
        rec.recorded_at,
    ).where(rec.entered_late.is_(True), *scope.conditions(rec))


def _before_certificate(session: Session, scope: _Scope) -> Select[Any]:
    rec = aliased(ServiceRecord, name="t")
    gap = _seconds_before(session, Certificate.issued_at, RecordRevision.created_at)
    return (
        select(
            rec.id.label("record_id"),
            rec.organisation_id.label("organisation_id"),
            func.min(Certificate.number).label("number"),
        )
        .join(CertificateRecord, CertificateRecord.record_id == rec.id)
        .join(Certificate, Certificate.id == CertificateRecord.certificate_id)
        .join(
            RecordRevision,
            and_(
                RecordRevision.record_id == rec.id,
                RecordRevision.kind.in_(("created", "corrected")),
                # issued_at is kept to the whole second: a revision in that same second is before
                gap > -1,
                gap < scope.window_days * 86400,
            ),
        )
        .where(*scope.conditions(rec), true() if scope.window_days > 0 else false())
        .group_by(rec.id, rec.organisation_id)
    )


def _certificate_mismatch(session: Session, scope: _Scope) -> Select[Any]:
    rec = aliased(ServiceRecord, name="t")
    covered = aliased(CertificateRecord, name="cc")
    member = aliased(ServiceRecord, name="cm")
    link = aliased(CertificateRecord, name="cl")
    scoped = aliased(ServiceRecord, name="cs")
    # certificates over records in scope: their covered records' active minutes now
    in_scope = (
        select(link.certificate_id)
        .join(scoped, scoped.id == link.record_id)
        .where(*scope.conditions(scoped))
    )
    now = (
        select(
            covered.certificate_id,
            func.sum(case((member.status == "active", member.minutes), else_=0)).label("now"),
        )
        .join(member, member.id == covered.record_id)
        .where(covered.certificate_id.in_(in_scope))
        .group_by(covered.certificate_id)
        .subquery("now_totals")
    )
    wrong = (
        select(Certificate.id, Certificate.number, Certificate.total_minutes, now.c.now)
        .join(now, now.c.certificate_id == Certificate.id)
        .where(Certificate.status == "valid", Certificate.total_minutes != now.c.now)
        .subquery("wrong")
    )
    return (
        select(
            rec.id.label("record_id"),
            rec.organisation_id.label("organisation_id"),
            wrong.c.number,
            wrong.c.total_minutes,
            wrong.c.now,
        )
        .join(CertificateRecord, CertificateRecord.record_id == rec.id)
        .join(wrong, wrong.c.id == CertificateRecord.certificate_id)
        .where(*scope.conditions(rec))
        .order_by(rec.id, wrong.c.number)
    )


def _open_about_record(model: Any, session: Session, scope: _Scope) -> Select[Any]:
    rec = aliased(ServiceRecord, name="t")
    return (
        select(
            rec.id.label("record_id"),
            rec.organisation_id.label("organisation_id"),
            func.count(model.id).label("n"),
        )
        .join(model, and_(model.record_id == rec.id, model.status == "open"))
        .where(*scope.conditions(rec))
        .group_by(rec.id, rec.organisation_id)
    )


def _open_complaints(session: Session, scope: _Scope) -> Select[Any]:
    return _open_about_record(Complaint, session, scope)


def _open_corrections(session: Session, scope: _Scope) -> Select[Any]:
    return _open_about_record(CorrectionRequest, session, scope)


def _day(value: date) -> str:
    return value.isoformat()


def _record_message(code: str, row: Any, scope: _Scope) -> str:
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
    return _("%(n)d open correction request(s) for this record", n=row.n)


RECORD_QUERIES = {
    "over_24h_day": _over_24h,
    "over_daily_cap": _over_cap,
    "overlap": _overlap,
    "late_entry": _late,
    "entered_before_certificate": _before_certificate,
    "certificate_mismatch": _certificate_mismatch,
    "open_complaints": _open_complaints,
    "open_corrections": _open_corrections,
}


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
    scope = _scope(record_ids, organisation_ids, period, daily_cap, certificate_window_days)
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


def _record_summary_message(code: str, n: int, scope: _Scope) -> str:
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
    }
    return messages[code]


# the organisation-level open_complaints/open_corrections count every open item of the
# organisation; the per-record versions would count the same items twice
_SUMMARISED = [
    code for code in RECORD_QUERIES if code not in ("open_complaints", "open_corrections")
]


def _round_numbers(session: Session, scope: _Scope) -> Select[Any]:
    """Per organisation: records, whole-hour records, and the whole-hour share over everyone."""
    rec = aliased(ServiceRecord, name="t")
    conds = [rec.status == "active"]
    if scope.period is not None:
        conds.append(rec.service_date.between(scope.period[0], scope.period[1]))
    per_org = (
        select(
            rec.organisation_id,
            func.count().label("n"),
            func.sum(case((rec.minutes % 60 == 0, 1), else_=0)).label("whole"),
        )
        .where(*conds)
        .group_by(rec.organisation_id)
        .subquery("per_org")
    )
    # the baseline is over every organisation, whichever ones were asked about
    return select(
        per_org.c.organisation_id,
        per_org.c.n,
        per_org.c.whole,
        func.sum(per_org.c.whole).over().label("all_whole"),
        func.sum(per_org.c.n).over().label("all_n"),
    )


def _month_index(column: Any) -> Any:
    return extract("year", column) * 12 + extract("month", column) - 1


def _monthly_counts(session: Session, scope: _Scope) -> Select[Any]:
    rec = aliased(ServiceRecord, name="t")
    month = _month_index(rec.service_date).label("month")
    conds = [rec.status == "active"]
    if scope.organisation_ids is not None:
        conds.append(rec.organisation_id.in_(scope.organisation_ids))
    if scope.period is not None:
        first = scope.period[0].year * 12 + scope.period[0].month - 1 - SPIKE_LOOKBACK_MONTHS
        start = date(first // 12, first % 12 + 1, 1)
        conds.append(rec.service_date.between(start, scope.period[1]))
    return (
        select(rec.organisation_id, month, func.count().label("n"))
        .where(*conds)
        .group_by(rec.organisation_id, month)
        .order_by(rec.organisation_id, month)
    )


def _spikes(counts: dict[int, int], scope: _Scope) -> list[tuple[int, int, float]]:
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
    scope = _scope(None, organisation_ids, period, daily_cap, certificate_window_days)
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

    for org_id, n, whole, all_whole, all_n in session.execute(_round_numbers(session, scope)):
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
    for org_id, month, n in session.execute(_monthly_counts(session, scope)):
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
            .where(model.status == "open")
            .group_by(model.organisation_id)
        )
        for org_id, n in session.execute(stmt):
            if org_id in results:
                if code == "open_complaints":
                    message = _("open complaints: %(n)d", n=n)
                else:
                    message = _("open correction requests: %(n)d", n=n)
                results[org_id].add(code, message)

    for result in results.values():
        result.reasons.sort(key=lambda s: (-s.weight, s.code))
    return results

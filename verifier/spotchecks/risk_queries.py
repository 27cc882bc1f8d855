"""The SQL behind the risk signals (风险信号): the records in scope, and one query per signal.

Each record signal is one query (joins, GROUP BY, EXISTS, a window function) that gives
(record_id, organisation_id, details ...) for the flagged records in scope; the organisation
signals add whole-hour shares and monthly counts. verifier.spotchecks.risk turns the rows into
scores and reasons.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    extract,
    false,
    func,
    select,
    true,
)
from sqlalchemy.orm import Session, aliased

from verifier.certificates.models import Certificate, CertificateRecord
from verifier.certificates.states import CertificateStatus
from verifier.complaints.models import (
    Complaint,
    ComplaintStatus,
    CorrectionRequest,
    CorrectionStatus,
)
from verifier.records.models import RecordRevision, RecordStatus, RevisionKind, ServiceRecord

Period = tuple[date, date]  # first and last local service day, inclusive

DAY_MINUTES = 24 * 60
DEFAULT_RISK_DAILY_CAP = 12 * 60
DEFAULT_LATE_WORKING_DAYS = 10
CERTIFICATE_WINDOW_DAYS = 3
# volume_spike: the months before the period that the usual month is taken from
SPIKE_LOOKBACK_MONTHS = 12


@dataclass(frozen=True)
class Scope:
    """The records a signal looks at, and the limits it judges them by."""

    record_ids: list[int] | None
    organisation_ids: list[int] | None
    period: Period | None
    daily_cap: int
    window_days: int
    late_days: int

    def conditions(self, rec: Any) -> list[ColumnElement[bool]]:
        """Conditions that put an (aliased) active record in scope."""
        conds: list[ColumnElement[bool]] = [rec.status == RecordStatus.ACTIVE]
        if self.record_ids is not None:
            conds.append(rec.id.in_(self.record_ids))
        if self.organisation_ids is not None:
            conds.append(rec.organisation_id.in_(self.organisation_ids))
        if self.period is not None:
            conds.append(rec.service_date.between(self.period[0], self.period[1]))
        return conds


# the status of a complaint or a correction request that is still open
OPEN_STATUS: dict[Any, str] = {
    Complaint: ComplaintStatus.OPEN,
    CorrectionRequest: CorrectionStatus.OPEN,
}


def _setting(key: str, default: int) -> int:
    return int(current_app.config.get(key, default)) if has_app_context() else default


def build_scope(
    record_ids: Iterable[int] | None,
    organisation_ids: Iterable[int] | None,
    period: Period | None,
    daily_cap: int | None,
    window_days: int | None,
) -> Scope:
    """Fix the scope: the daily cap (unless given) and the late-entry limit come from settings."""
    return Scope(
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


def _day_totals(session: Session, scope: Scope) -> Select[Any]:
    """Records on a volunteer's local day whose active minutes, in all organisations, are high."""
    rec = aliased(ServiceRecord, name="t")
    other = aliased(ServiceRecord, name="o")
    mine = aliased(ServiceRecord, name="m")
    days = (
        select(other.volunteer_id, other.service_date, func.sum(other.minutes).label("total"))
        .where(
            other.status == RecordStatus.ACTIVE,
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


def _over_24h(session: Session, scope: Scope) -> Select[Any]:
    sub = _day_totals(session, scope).subquery()
    return select(sub).where(sub.c.total > DAY_MINUTES)


def _over_cap(session: Session, scope: Scope) -> Select[Any]:
    sub = _day_totals(session, scope).subquery()
    return select(sub).where(sub.c.total > scope.daily_cap, sub.c.total <= DAY_MINUTES)


def _overlap(session: Session, scope: Scope) -> Select[*tuple[Any, ...]]:
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
                other.status == RecordStatus.ACTIVE,
                other.started_at < rec.ended_at,
                other.ended_at > rec.started_at,
            ),
        )
        .where(*scope.conditions(rec))
        .group_by(rec.id, rec.organisation_id)
    )


def _late(session: Session, scope: Scope) -> Select[*tuple[Any, ...]]:
    rec = aliased(ServiceRecord, name="t")
    return select(
        rec.id.label("record_id"),
        rec.organisation_id.label("organisation_id"),
        rec.service_date,
        rec.recorded_at,
    ).where(rec.entered_late.is_(True), *scope.conditions(rec))


def _before_certificate(session: Session, scope: Scope) -> Select[*tuple[Any, ...]]:
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
                RecordRevision.kind.in_((RevisionKind.CREATED, RevisionKind.CORRECTED)),
                # issued_at is kept to the whole second: a revision in that same second is before
                gap > -1,
                gap < scope.window_days * 86400,
            ),
        )
        .where(*scope.conditions(rec), true() if scope.window_days > 0 else false())
        .group_by(rec.id, rec.organisation_id)
    )


def _certificate_mismatch(session: Session, scope: Scope) -> Select[Any]:
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
            func.sum(case((member.status == RecordStatus.ACTIVE, member.minutes), else_=0)).label(
                "now"
            ),
        )
        .join(member, member.id == covered.record_id)
        .where(covered.certificate_id.in_(in_scope))
        .group_by(covered.certificate_id)
        .subquery("now_totals")
    )
    wrong = (
        select(Certificate.id, Certificate.number, Certificate.total_minutes, now.c.now)
        .join(now, now.c.certificate_id == Certificate.id)
        .where(
            Certificate.status == CertificateStatus.VALID, Certificate.total_minutes != now.c.now
        )
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


def _open_about_record(model: Any, session: Session, scope: Scope) -> Select[*tuple[Any, ...]]:
    rec = aliased(ServiceRecord, name="t")
    return (
        select(
            rec.id.label("record_id"),
            rec.organisation_id.label("organisation_id"),
            func.count(model.id).label("n"),
        )
        .join(model, and_(model.record_id == rec.id, model.status == OPEN_STATUS[model]))
        .where(*scope.conditions(rec))
        .group_by(rec.id, rec.organisation_id)
    )


def _open_complaints(session: Session, scope: Scope) -> Select[Any]:
    return _open_about_record(Complaint, session, scope)


def _open_corrections(session: Session, scope: Scope) -> Select[Any]:
    return _open_about_record(CorrectionRequest, session, scope)


def _open_dispute(request: Any) -> ColumnElement[bool]:
    """An open correction request that a volunteer made from their own account (a dispute)."""
    return and_(request.status == CorrectionStatus.OPEN, request.volunteer_id.is_not(None))


def _volunteer_disputed(session: Session, scope: Scope) -> Select[*tuple[Any, ...]]:
    rec = aliased(ServiceRecord, name="t")
    return (
        select(
            rec.id.label("record_id"),
            rec.organisation_id.label("organisation_id"),
            func.min(CorrectionRequest.due_on).label("due_on"),
        )
        .join(
            CorrectionRequest,
            and_(CorrectionRequest.record_id == rec.id, _open_dispute(CorrectionRequest)),
        )
        .where(*scope.conditions(rec))
        .group_by(rec.id, rec.organisation_id)
    )


RECORD_QUERIES = {
    "over_24h_day": _over_24h,
    "over_daily_cap": _over_cap,
    "overlap": _overlap,
    "late_entry": _late,
    "entered_before_certificate": _before_certificate,
    "certificate_mismatch": _certificate_mismatch,
    "open_complaints": _open_complaints,
    "open_corrections": _open_corrections,
    "volunteer_disputed": _volunteer_disputed,
}


# --- organisation signals ---------------------------------------------------------------------


def round_numbers(session: Session, scope: Scope) -> Select[Any]:
    """Per organisation: records, whole-hour records, and the whole-hour share over everyone."""
    rec = aliased(ServiceRecord, name="t")
    conds = [rec.status == RecordStatus.ACTIVE]
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


def overdue_disputes(session: Session, scope: Scope, today: date) -> Select[*tuple[Any, ...]]:
    """Per organisation: volunteers' disputes still open after their deadline day (`due_on`)."""
    conds = [_open_dispute(CorrectionRequest), CorrectionRequest.due_on < today]
    if scope.organisation_ids is not None:
        conds.append(CorrectionRequest.organisation_id.in_(scope.organisation_ids))
    return (
        select(CorrectionRequest.organisation_id, func.count(CorrectionRequest.id).label("n"))
        .where(*conds)
        .group_by(CorrectionRequest.organisation_id)
    )


def _month_index(column: Any) -> Any:
    return extract("year", column) * 12 + extract("month", column) - 1


def monthly_counts(session: Session, scope: Scope) -> Select[Any]:
    """Per organisation and month: active records, back to the look-back before the period."""
    rec = aliased(ServiceRecord, name="t")
    month = _month_index(rec.service_date).label("month")
    conds = [rec.status == RecordStatus.ACTIVE]
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

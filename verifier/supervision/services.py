"""Supervision cases (责令限期改正): open on a discrepancy, answer, flag overdue, and read them.

A discrepancy suspends exactly the certificates that cover the affected records; a supervisor's
decision (verifier.supervision.decisions) closes the case, reinstating or revoking them, or
escalates it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import REGULATOR_ROLES, User
from verifier.certificates.lifecycle import place_hold
from verifier.certificates.models import Certificate, CertificateRecord
from verifier.db import utcnow
from verifier.errors import Conflict, Forbidden, NotFound, ValidationError
from verifier.labels import label
from verifier.paging import paginate
from verifier.records.models import ServiceRecord
from verifier.supervision.labels import DISCREPANCY_TYPE
from verifier.supervision.models import (
    CaseCertificate,
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    FindingRecord,
    FindingResult,
    SpotCheckFinding,
    SupervisionCase,
)
from verifier.text import check_characters

DEFAULT_DEADLINE_DAYS = 30
TEXT_LIMIT = 5000


def checked_text(value: str | None, field_name: str, *, required: bool) -> str:
    """Return the text stripped; a ValidationError names the field if missing or too long."""
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(_("this text is required"), field=field_name, rule="required")
    if len(text) > TEXT_LIMIT:
        raise ValidationError(
            _("this text is longer than %(n)d characters", n=TEXT_LIMIT),
            field=field_name,
            rule="max_length",
        )
    return check_characters(text, field=field_name, label=_("this text"))


def record_case_event(
    session: Session,
    case: SupervisionCase,
    kind: str,
    actor: User | None,
    note: str = "",
    **details: Any,
) -> None:
    """Add a step to the case's history and append it to the audit chain."""
    session.add(
        CaseEvent(
            case_id=case.id,
            kind=kind,
            actor_id=actor.id if actor is not None else None,
            note=note,
            details=json.dumps(details, ensure_ascii=False, sort_keys=True),
        )
    )
    record_event(
        session,
        actor,
        f"supervision.{kind}",
        "supervision_case",
        case.id,
        organisation_id=case.organisation_id,
        details=details,
    )


def affected_record_ids(session: Session, finding_id: int) -> list[int]:
    """Return the records a finding says are affected."""
    return list(
        session.scalars(
            select(FindingRecord.record_id)
            .where(FindingRecord.finding_id == finding_id)
            .order_by(FindingRecord.record_id)
        )
    )


def covering_certificates(session: Session, record_ids: list[int]) -> list[Certificate]:
    """Return the certificates that cover any of these records, by number."""
    if not record_ids:
        return []
    return list(
        session.scalars(
            select(Certificate)
            .where(
                Certificate.id.in_(
                    select(CertificateRecord.certificate_id).where(
                        CertificateRecord.record_id.in_(record_ids)
                    )
                )
            )
            .order_by(Certificate.number)
        )
    )


def finding_reason(case: SupervisionCase, finding: SpotCheckFinding) -> str:
    """The reason a certificate shows while a case holds it: no personal data, only the type."""
    return _(
        "spot check finding %(finding)d (%(type)s), supervision case %(case)d",
        finding=finding.id,
        type=label(DISCREPANCY_TYPE, finding.discrepancy_type),
        case=case.id,
    )


def open_case(
    session: Session,
    finding: SpotCheckFinding,
    *,
    organisation_id: int,
    campaign_id: int,
    actor: User,
    deadline_days: int = DEFAULT_DEADLINE_DAYS,
    now: datetime | None = None,
) -> SupervisionCase:
    """Order the organisation to correct within a deadline; suspend the covering certificates."""
    if finding.result != FindingResult.DISCREPANCY:
        raise Conflict(_("only a discrepancy opens a supervision case"))
    if deadline_days < 1:
        raise ValidationError(
            _("the deadline must be at least one day"), field="deadline_days", rule="minimum"
        )
    now = now or utcnow()
    case = SupervisionCase(
        organisation_id=organisation_id,
        finding_id=finding.id,
        campaign_id=campaign_id,
        status=CaseStatus.OPEN,
        deadline=now + timedelta(days=deadline_days),
        opened_at=now,
    )
    session.add(case)
    session.flush()
    record_case_event(
        session,
        case,
        CaseEventKind.OPENED,
        actor,
        finding_id=finding.id,
        deadline=case.deadline.isoformat(),
        discrepancy_type=finding.discrepancy_type,
    )
    reason = finding_reason(case, finding)
    suspended = []
    certs = covering_certificates(session, affected_record_ids(session, finding.id))
    for cert in sorted(certs, key=lambda c: c.id):  # locked in id order, like every locker
        # valid ones are suspended; suspended ones (also one another case holds) stay so; either
        # way only a decision on a case lifts the hold now
        if place_hold(session, cert, reason, actor):
            session.add(CaseCertificate(case_id=case.id, certificate_id=cert.id))
            suspended.append(cert.number)
    session.flush()
    if suspended:
        record_case_event(
            session, case, CaseEventKind.CERTIFICATES_SUSPENDED, actor, certificates=suspended
        )
    return case


def visible_case(session: Session, actor: User, case_id: int) -> SupervisionCase:
    """Return a case the actor may see: regulators all, an organisation its own; else NotFound."""
    case = session.get(SupervisionCase, case_id)
    if case is None:
        raise NotFound(_("no such supervision case"))
    if actor.role in REGULATOR_ROLES:
        return case
    if actor.is_org_user and actor.organisation_id == case.organisation_id:
        return case
    raise NotFound(_("no such supervision case"))


def list_cases(
    session: Session,
    actor: User,
    *,
    status: str = "",
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[SupervisionCase], int]:
    """Return one page of the cases the actor may see, the nearest deadline first."""
    stmt = select(SupervisionCase)
    if actor.is_org_user:
        stmt = stmt.where(SupervisionCase.organisation_id == actor.organisation_id)
    elif actor.role not in REGULATOR_ROLES:
        raise Forbidden(_("Your role may not do this"))
    if status:
        stmt = stmt.where(SupervisionCase.status == status)
    order = (SupervisionCase.status == CaseStatus.CLOSED, SupervisionCase.deadline)
    return paginate(session, stmt, *order, page=page, per_page=per_page)


def respond(
    session: Session,
    case: SupervisionCase,
    actor: User,
    explanation: str,
    corrected_record_ids: list[int] | None = None,
) -> SupervisionCase:
    """Record the organisation's answer: an explanation and the records it corrected."""
    if not actor.is_org_user or actor.organisation_id != case.organisation_id:
        raise Forbidden(_("only the organisation under supervision may respond"))
    if case.status not in (CaseStatus.OPEN, CaseStatus.OVERDUE, CaseStatus.RESPONDED):
        raise Conflict(_("this case no longer takes responses"))
    explanation = checked_text(explanation, "explanation", required=True)
    ids = sorted(set(corrected_record_ids or []))
    if ids:
        own = set(
            session.scalars(
                select(ServiceRecord.id).where(
                    ServiceRecord.id.in_(ids),
                    ServiceRecord.organisation_id == case.organisation_id,
                )
            )
        )
        missing = [rid for rid in ids if rid not in own]
        if missing:
            raise ValidationError(
                _("record %(id)d is not a record of your organisation", id=missing[0]),
                field="corrected_record_ids",
                rule="own_record",
            )
    case.response = explanation
    case.corrected_record_ids = json.dumps(ids)
    case.responded_at = utcnow()
    case.responded_by_id = actor.id
    case.status = CaseStatus.RESPONDED
    session.flush()
    record_case_event(
        session, case, CaseEventKind.RESPONDED, actor, explanation, corrected_record_ids=ids
    )
    return case


def corrected_ids(case: SupervisionCase) -> list[int]:
    return list(json.loads(case.corrected_record_ids or "[]"))


def flag_overdue_cases(session: Session, now: datetime) -> int:
    """Mark open cases whose deadline has passed overdue; return how many (a daily job)."""
    cases = list(
        session.scalars(
            select(SupervisionCase)
            .where(SupervisionCase.status == CaseStatus.OPEN, SupervisionCase.deadline < now)
            .order_by(SupervisionCase.id)
            .with_for_update(skip_locked=True, of=SupervisionCase)
        )
    )
    for case in cases:
        case.status = CaseStatus.OVERDUE
        session.flush()
        record_case_event(
            session, case, CaseEventKind.OVERDUE, None, deadline=case.deadline.isoformat()
        )
    return len(cases)


def case_events(session: Session, case: SupervisionCase) -> list[CaseEvent]:
    """Return a case's steps, oldest first."""
    return list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        )
    )


def case_certificates(session: Session, case: SupervisionCase) -> list[Certificate]:
    """Return the certificates a case suspended, by number."""
    return list(
        session.scalars(
            select(Certificate)
            .join(CaseCertificate, CaseCertificate.certificate_id == Certificate.id)
            .where(CaseCertificate.case_id == case.id)
            .order_by(Certificate.number)
        )
    )

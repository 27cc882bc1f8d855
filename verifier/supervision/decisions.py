"""A supervisor's decision on a supervision case: close it (resolved or sanctioned) or escalate it.

Closing lifts the case's hold and reinstates the certificates it suspended (one whose records
changed becomes `superseded`) unless another unclosed case still holds them; when the supervisor
confirms falsification, the certificates covering the affected records are revoked with the
finding as the reason instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verifier.auth.models import REGULATOR_SUPERVISOR, User
from verifier.certificates.lifecycle import lift_hold, lock_certificate
from verifier.certificates.lifecycle import set_status as set_certificate_status
from verifier.certificates.models import Certificate
from verifier.certificates.states import CertificateStatus
from verifier.db import utcnow
from verifier.errors import Conflict, Forbidden, ValidationError
from verifier.labels import label
from verifier.orgs.models import OrgStatus
from verifier.orgs.services import set_status as set_organisation_status
from verifier.supervision.labels import SANCTION
from verifier.supervision.models import (
    FALSIFICATION_TYPES,
    CaseCertificate,
    CaseEventKind,
    CaseOutcome,
    CaseStatus,
    Sanction,
    SupervisionCase,
)
from verifier.supervision.services import (
    affected_record_ids,
    checked_text,
    covering_certificates,
    finding_reason,
    record_case_event,
)

UNCLOSED = (CaseStatus.OPEN, CaseStatus.RESPONDED, CaseStatus.OVERDUE, CaseStatus.ESCALATED)


def _require_supervisor(actor: User) -> None:
    if actor.role != REGULATOR_SUPERVISOR:
        raise Forbidden(_("only a regulator supervisor may decide a supervision case"))


@dataclass
class Decision:
    """How a supervisor closes a case."""

    outcome: str  # resolved | sanctioned
    decision: str
    sanction: str | None = None
    falsification_confirmed: bool = False
    notes: list[str] = field(default_factory=list)


def _check_decision(case: SupervisionCase, decision: Decision) -> None:
    if decision.outcome not in tuple(CaseOutcome):
        raise ValidationError(
            _("the outcome is resolved or sanctioned"), field="outcome", rule="outcome"
        )
    if decision.outcome == CaseOutcome.SANCTIONED and decision.sanction not in tuple(Sanction):
        raise ValidationError(
            _("choose a sanction: %(s)s", s=", ".join(Sanction)), field="sanction", rule="sanction"
        )
    if decision.outcome == CaseOutcome.RESOLVED and decision.sanction:
        raise ValidationError(
            _("a resolved case carries no sanction"), field="sanction", rule="no_sanction"
        )
    if (
        decision.falsification_confirmed
        and case.finding.discrepancy_type not in FALSIFICATION_TYPES
    ):
        raise ValidationError(
            _(
                "falsification can be confirmed only for inflated hours, an activity not held or "
                "an altered or forged certificate"
            ),
            field="falsification_confirmed",
            rule="falsification_type",
        )


def _held_elsewhere(session: Session, case: SupervisionCase, certificate_id: int) -> bool:
    return (
        session.scalar(
            select(func.count())
            .select_from(CaseCertificate)
            .join(SupervisionCase, SupervisionCase.id == CaseCertificate.case_id)
            .where(
                CaseCertificate.certificate_id == certificate_id,
                CaseCertificate.case_id != case.id,
                SupervisionCase.status.in_(UNCLOSED),
            )
        )
        or 0
    ) > 0


def _held_by(session: Session, case: SupervisionCase) -> list[Certificate]:
    return list(
        session.scalars(
            select(Certificate)
            .join(CaseCertificate, CaseCertificate.certificate_id == Certificate.id)
            .where(CaseCertificate.case_id == case.id)
            .order_by(Certificate.id)
        )
    )


def close_case(
    session: Session, case: SupervisionCase, actor: User, decision: Decision
) -> SupervisionCase:
    """Close a case: resolved, or with a sanction; revoke on confirmed falsification."""
    _require_supervisor(actor)
    if case.status == CaseStatus.CLOSED:
        raise Conflict(_("this case is already closed"))
    _check_decision(case, decision)
    text = checked_text(decision.decision, "decision", required=True)
    now = utcnow()
    case.status = CaseStatus.CLOSED
    case.outcome = decision.outcome
    case.sanction = decision.sanction if decision.outcome == CaseOutcome.SANCTIONED else None
    case.falsification_confirmed = decision.falsification_confirmed
    case.decision = text
    case.closed_at = now
    case.closed_by_id = actor.id
    session.flush()
    record_case_event(
        session,
        case,
        CaseEventKind.CLOSED,
        actor,
        text,
        outcome=case.outcome,
        sanction=case.sanction,
        falsification_confirmed=case.falsification_confirmed,
    )
    reason = finding_reason(case, case.finding)
    if decision.falsification_confirmed:
        revoked = []
        certs = covering_certificates(session, affected_record_ids(session, case.finding_id))
        for cert in sorted(certs, key=lambda c: c.id):
            lock_certificate(session, cert)  # read its status as it is now
            if cert.status != CertificateStatus.REVOKED:
                set_certificate_status(
                    session, cert, CertificateStatus.REVOKED, reason, actor, by_regulator=True
                )
                revoked.append(cert.number)
        if revoked:
            record_case_event(
                session, case, CaseEventKind.CERTIFICATES_REVOKED, actor, certificates=revoked
            )
        for cert in _held_by(session, case):  # decided: the hold ends with the case
            lift_hold(
                session, cert, reason, actor, still_held=_held_elsewhere(session, case, cert.id)
            )
    else:
        outcomes: dict[str, str] = {}
        for cert in _held_by(session, case):
            lift_hold(
                session,
                cert,
                _("supervision case %(id)d closed", id=case.id),
                actor,
                still_held=_held_elsewhere(session, case, cert.id),
            )
            outcomes[cert.number] = cert.status
        if outcomes:
            record_case_event(
                session, case, CaseEventKind.CERTIFICATES_REINSTATED, actor, certificates=outcomes
            )
    if case.sanction == Sanction.STOP_ACTIVITIES and case.organisation.status == OrgStatus.ACTIVE:
        set_organisation_status(
            session,
            case.organisation,
            OrgStatus.SUSPENDED,
            _(
                "%(sanction)s, supervision case %(id)d",
                sanction=label(SANCTION, Sanction.STOP_ACTIVITIES),
                id=case.id,
            ),
            actor,
            by_regulator=True,
        )
        record_case_event(session, case, CaseEventKind.ORGANISATION_SUSPENDED, actor)
    return case


def escalate_case(
    session: Session, case: SupervisionCase, actor: User, note: str
) -> SupervisionCase:
    """Hand a case up (移送/上报); its certificates stay suspended until it is closed."""
    _require_supervisor(actor)
    if case.status not in (CaseStatus.OPEN, CaseStatus.RESPONDED, CaseStatus.OVERDUE):
        raise Conflict(_("only an open, answered or overdue case can be escalated"))
    note = checked_text(note, "note", required=True)
    case.status = CaseStatus.ESCALATED
    case.escalated_at = utcnow()
    session.flush()
    record_case_event(session, case, CaseEventKind.ESCALATED, actor, note)
    return case

"""Record and close complaints; record and answer volunteers' correction requests."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import REGULATOR_SUPERVISOR, User
from verifier.complaints.models import (
    Complaint,
    ComplaintSource,
    ComplaintStatus,
    CorrectionRequest,
    CorrectionStatus,
    DisputeKind,
)
from verifier.complaints.signals import correction_answered
from verifier.db import utcnow
from verifier.errors import Conflict, Forbidden, NotFound, ValidationError
from verifier.orgs.models import Organisation
from verifier.orgs.succession import acting_details, answered_organisation_ids, answers_for
from verifier.records.models import RecordRevision, RecordStatus, RevisionKind, ServiceRecord
from verifier.text import check_characters

SUMMARY_LIMIT = 2000
REQUESTED_BY_LIMIT = 50


def _text(value: str | None, field: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError(_("%(field)s is required", field=field), field=field, rule="required")
    if len(text) > limit:
        raise ValidationError(
            _("%(field)s is longer than %(n)d characters", field=field, n=limit),
            field=field,
            rule="max_length",
        )
    return check_characters(text, field=field, label=field)


def _require_regulator(actor: User) -> None:
    if not actor.is_regulator:
        raise Forbidden(_("only the civil-affairs authority keeps complaints"))


def _require_supervisor(actor: User) -> None:
    if actor.role != REGULATOR_SUPERVISOR:
        raise Forbidden(_("only a regulator supervisor records and closes complaints"))


def _require_own_record(actor: User, organisation_id: int, org: Organisation | None = None) -> None:
    """Refuse anyone but the organisation's users (or, for a deregistered organisation given
    as org, those who answer for it: its successor's users, else a platform administrator)."""
    if org is not None and answers_for(actor, org):
        return
    if not actor.is_org_user or actor.organisation_id != organisation_id:
        raise Forbidden(
            _("only the organisation that keeps a record answers its correction requests")
        )


def record_complaint(
    session: Session,
    actor: User,
    org: Organisation,
    *,
    source: str,
    summary: str,
    record_id: int | None = None,
) -> Complaint:
    """Record a complaint against an organisation, perhaps about one of its records."""
    _require_supervisor(actor)
    if source not in tuple(ComplaintSource):
        raise ValidationError(
            _("source must be one of %(values)s", values=", ".join(ComplaintSource)),
            field="source",
            rule="one_of",
        )
    summary = _text(summary, "summary", SUMMARY_LIMIT)
    if record_id is not None:
        record = session.get(ServiceRecord, record_id)
        if record is None or record.organisation_id != org.id:
            raise ValidationError(
                _("record %(id)d is not a record of this organisation", id=record_id),
                field="record_id",
                rule="record_of_organisation",
            )
    complaint = Complaint(
        organisation_id=org.id,
        record_id=record_id,
        source=source,
        summary=summary,
        status=ComplaintStatus.OPEN,
        created_at=utcnow(),
        created_by_id=actor.id,
    )
    session.add(complaint)
    session.flush()
    record_event(
        session,
        actor,
        "complaint.record",
        "complaint",
        complaint.id,
        organisation_id=org.id,
        details={"source": source, "record_id": record_id},
    )
    return complaint


def close_complaint(
    session: Session, actor: User, complaint: Complaint, resolution: str
) -> Complaint:
    """Close an open complaint with what was found and done."""
    _require_supervisor(actor)
    if complaint.status != ComplaintStatus.OPEN:
        raise Conflict(_("this complaint is already closed"))
    complaint.resolution = _text(resolution, "resolution", SUMMARY_LIMIT)
    complaint.status = ComplaintStatus.CLOSED
    complaint.closed_at = utcnow()
    complaint.closed_by_id = actor.id
    session.flush()
    record_event(
        session,
        actor,
        "complaint.close",
        "complaint",
        complaint.id,
        organisation_id=complaint.organisation_id,
        details={"resolution": complaint.resolution},
    )
    return complaint


def visible_complaint(session: Session, actor: User, complaint_id: int) -> Complaint:
    """Return a complaint the actor may see (regulators only), or raise NotFound."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or not actor.is_regulator:
        raise NotFound(_("no such complaint"))
    return complaint


def list_complaints(
    session: Session,
    actor: User,
    *,
    organisation_id: int | None = None,
    status: str | None = None,
) -> list[Complaint]:
    """Return the complaints a regulator asks for, open ones first, newest first."""
    _require_regulator(actor)
    stmt = select(Complaint)
    if organisation_id is not None:
        stmt = stmt.where(Complaint.organisation_id == organisation_id)
    if status is not None:
        stmt = stmt.where(Complaint.status == status)
    return list(
        session.scalars(stmt.order_by(Complaint.status.desc(), Complaint.created_at.desc()))
    )


def record_correction_request(
    session: Session, actor: User, record: ServiceRecord, *, requested_by: str, reason: str
) -> CorrectionRequest:
    """Record a volunteer's request to correct one of the organisation's records."""
    _require_own_record(actor, record.organisation_id)
    if record.status != RecordStatus.ACTIVE:
        raise Conflict(_("this record has been voided and can no longer be changed"))
    request = CorrectionRequest(
        record_id=record.id,
        organisation_id=record.organisation_id,
        requested_by=_text(requested_by, "requested_by", REQUESTED_BY_LIMIT),
        reason=_text(reason, "reason", SUMMARY_LIMIT),
        status=CorrectionStatus.OPEN,
        created_at=utcnow(),
        created_by_id=actor.id,
    )
    session.add(request)
    session.flush()
    record_event(
        session,
        actor,
        "correction_request.record",
        "correction_request",
        request.id,
        organisation_id=record.organisation_id,
        details={"record_id": record.id},
    )
    return request


def record_changed_since(session: Session, request: CorrectionRequest) -> bool:
    """Tell whether the record got a new revision (a correction or voiding) after the request."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    RecordRevision.record_id == request.record_id,
                    RecordRevision.kind.in_((RevisionKind.CORRECTED, RevisionKind.VOIDED)),
                    RecordRevision.created_at >= request.created_at,
                )
            )
        )
    )


def answer_correction_request(
    session: Session, actor: User, request: CorrectionRequest, *, status: str, resolution: str
) -> CorrectionRequest:
    """Resolve a request (the record was corrected or voided since) or reject it with reasons.

    A deregistered organisation's requests are answered by its successor, else the platform.
    """
    org = session.get(Organisation, request.organisation_id)
    _require_own_record(actor, request.organisation_id, org)
    if request.status != CorrectionStatus.OPEN:
        raise Conflict(_("this correction request has already been answered"))
    if status not in (CorrectionStatus.RESOLVED, CorrectionStatus.REJECTED):
        raise ValidationError(
            _("the answer must be resolved or rejected"), field="status", rule="one_of"
        )
    resolution = _text(resolution, "resolution", SUMMARY_LIMIT)
    if status == CorrectionStatus.RESOLVED and not record_changed_since(session, request):
        raise ValidationError(
            _(
                "record %(id)d has not been corrected since the request; correct it first, "
                "or reject the request with your reasons",
                id=request.record_id,
            ),
            field="status",
            rule="record_corrected",
        )
    request.status = status
    request.resolution = resolution
    request.resolved_at = utcnow()
    request.resolved_by_id = actor.id
    session.flush()
    released = _release_certificate_hold(session, request)
    details: dict[str, object] = {"record_id": request.record_id, "resolution": resolution}
    if released:
        details["certificate_hold"] = False
    if org is not None:
        details.update(acting_details(actor, org))
    record_event(
        session,
        actor,
        f"correction_request.{'resolve' if status == 'resolved' else 'reject'}",
        "correction_request",
        request.id,
        organisation_id=request.organisation_id,
        details=details,
    )
    correction_answered.send(request, session=session, actor=actor)
    return request


def _release_certificate_hold(session: Session, request: CorrectionRequest) -> bool:
    """Lift the record's certificate hold once no "not attended" dispute of it is open.

    Tell whether it was lifted. The hold is the volunteer's dispute's: it lasts until the
    organisation answers, whatever the answer.
    """
    record = session.get(ServiceRecord, request.record_id)
    if record is None or not record.certificate_hold:
        return False
    still_open = session.scalar(
        select(
            exists().where(
                CorrectionRequest.record_id == record.id,
                CorrectionRequest.status == CorrectionStatus.OPEN,
                CorrectionRequest.kind == DisputeKind.NOT_ATTENDED,
            )
        )
    )
    if still_open:
        return False
    record.certificate_hold = False
    session.flush()
    return True


def overdue_disputes(
    session: Session, *, today: date, organisation_id: int | None = None, limit: int = 50
) -> tuple[int, list[CorrectionRequest]]:
    """Return how many volunteers' disputes are unanswered past their deadline, and the oldest.

    A dispute is due by the end of its `due_on` day (local): overdue from the day after.
    """
    conditions = [
        CorrectionRequest.status == CorrectionStatus.OPEN,
        CorrectionRequest.volunteer_id.is_not(None),
        CorrectionRequest.due_on < today,
    ]
    if organisation_id is not None:
        conditions.append(CorrectionRequest.organisation_id == organisation_id)
    count = session.scalar(select(func.count(CorrectionRequest.id)).where(*conditions)) or 0
    rows = session.scalars(
        select(CorrectionRequest)
        .where(*conditions)
        .order_by(CorrectionRequest.due_on, CorrectionRequest.id)
        .limit(limit)
    )
    return count, list(rows)


def visible_correction_request(session: Session, actor: User, request_id: int) -> CorrectionRequest:
    """Return a correction request the actor may see, or raise NotFound."""
    request = session.get(CorrectionRequest, request_id)
    if request is None or not (
        actor.is_regulator
        or (actor.is_org_user and actor.organisation_id == request.organisation_id)
        or request.organisation_id in answered_organisation_ids(session, actor)
    ):
        raise NotFound(_("no such correction request"))
    return request


def list_correction_requests(
    session: Session,
    actor: User,
    *,
    organisation_id: int | None = None,
    record_id: int | None = None,
    status: str | None = None,
) -> list[CorrectionRequest]:
    """Return the correction requests the actor may see, open ones first, newest first.

    Organisation users see their organisation's and those of the deregistered organisations
    it succeeds; a platform administrator sees those of deregistered organisations without one.
    """
    stmt = select(CorrectionRequest)
    answered = answered_organisation_ids(session, actor)
    if actor.is_org_user:
        stmt = stmt.where(
            CorrectionRequest.organisation_id.in_([actor.organisation_id or 0, *answered])
        )
    elif not actor.is_regulator:
        if not answered:
            return []
        stmt = stmt.where(CorrectionRequest.organisation_id.in_(answered))
    if organisation_id is not None:
        stmt = stmt.where(CorrectionRequest.organisation_id == organisation_id)
    if record_id is not None:
        stmt = stmt.where(CorrectionRequest.record_id == record_id)
    if status is not None:
        stmt = stmt.where(CorrectionRequest.status == status)
    open_first = case((CorrectionRequest.status == CorrectionStatus.OPEN, 0), else_=1)
    return list(session.scalars(stmt.order_by(open_first, CorrectionRequest.created_at.desc())))

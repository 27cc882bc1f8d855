"""The inspector's queue: the sampled items assigned to them, and a finding per item.

Inspectors are drawn per organisation, so an inspector assigned to any item of an organisation in a
campaign works on all of that organisation's sampled items there (the organisation and its records).
An item outside the caller's assignments answers NotFound, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from verifier.audit.services import record_event
from verifier.auth.models import REGULATOR_INSPECTOR, REGULATOR_SUPERVISOR, User
from verifier.certificates.models import Certificate, CertificateRecord
from verifier.errors import Conflict, Forbidden, NotFound, ValidationError
from verifier.records.models import ServiceRecord
from verifier.spotchecks.models import SpotCheckAssignment, SpotCheckItem
from verifier.supervision.evidence import MAX_FILES, EvidenceFile
from verifier.supervision.models import (
    DISCREPANCY_TYPES,
    FINDING_RESULTS,
    FindingEvidence,
    FindingRecord,
    SpotCheckFinding,
    SupervisionCase,
)
from verifier.supervision.services import DEFAULT_DEADLINE_DAYS, TEXT_LIMIT, open_case


def _assigned_clause(user_id: int) -> Any:
    """SQL: the item shares its campaign and organisation with an item assigned to the user."""
    other = aliased(SpotCheckItem)
    return exists(
        select(SpotCheckAssignment.id)
        .join(other, other.id == SpotCheckAssignment.item_id)
        .where(
            SpotCheckAssignment.inspector_id == user_id,
            other.campaign_id == SpotCheckItem.campaign_id,
            other.organisation_id == SpotCheckItem.organisation_id,
        )
    )


def is_assigned(session: Session, user: User, item: SpotCheckItem) -> bool:
    """Tell whether the user is one of the inspectors drawn for this item's organisation."""
    return bool(
        session.scalar(
            select(func.count())
            .select_from(SpotCheckItem)
            .where(SpotCheckItem.id == item.id, _assigned_clause(user.id))
        )
    )


def visible_item(session: Session, actor: User, item_id: int) -> SpotCheckItem:
    """Return an item the actor may see: a supervisor any, an inspector their own."""
    item = session.get(SpotCheckItem, item_id)
    if item is None:
        raise NotFound(_("no such spot-check item"))
    if actor.role == REGULATOR_SUPERVISOR:
        return item
    if actor.role == REGULATOR_INSPECTOR and is_assigned(session, actor, item):
        return item
    raise NotFound(_("no such spot-check item"))


@dataclass
class QueueRow:
    item: SpotCheckItem
    finding: SpotCheckFinding | None


def list_items(
    session: Session,
    actor: User,
    *,
    mine: bool = True,
    campaign_id: int | None = None,
    pending_only: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[QueueRow], int]:
    """Return one page of the queue: the actor's own items (a supervisor: all, with mine off)."""
    if actor.role not in (REGULATOR_INSPECTOR, REGULATOR_SUPERVISOR):
        raise Forbidden(_("Your role may not do this"))
    stmt = select(SpotCheckItem, SpotCheckFinding).outerjoin(
        SpotCheckFinding, SpotCheckFinding.item_id == SpotCheckItem.id
    )
    if mine or actor.role == REGULATOR_INSPECTOR:
        stmt = stmt.where(_assigned_clause(actor.id))
    if campaign_id is not None:
        stmt = stmt.where(SpotCheckItem.campaign_id == campaign_id)
    if pending_only:
        stmt = stmt.where(SpotCheckFinding.id.is_(None))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(
            SpotCheckItem.campaign_id.desc(),
            SpotCheckItem.organisation_id,
            SpotCheckItem.stage,
            SpotCheckItem.rank,
        )
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page)
    ).all()
    return [QueueRow(item, finding) for item, finding in rows], total


@dataclass
class ItemDetail:
    """What an inspector needs to check an item."""

    item: SpotCheckItem
    records: list[ServiceRecord]
    certificates: dict[int, list[Certificate]]  # record id -> certificates covering it
    signals: dict[int, Any]  # record id -> RiskResult (when risk signals are available)
    organisation_signals: Any
    inspectors: list[User]
    finding: SpotCheckFinding | None
    evidence: list[FindingEvidence]
    affected: list[int]
    case: SupervisionCase | None
    related_items: list[SpotCheckItem] = field(default_factory=list)


def sampled_records(session: Session, item: SpotCheckItem) -> list[ServiceRecord]:
    """A record item: its record; an organisation item: the records sampled within it."""
    if item.record_id is not None:
        record = session.get(ServiceRecord, item.record_id)
        return [record] if record is not None else []
    return list(
        session.scalars(
            select(ServiceRecord)
            .join(SpotCheckItem, SpotCheckItem.record_id == ServiceRecord.id)
            .where(
                SpotCheckItem.campaign_id == item.campaign_id,
                SpotCheckItem.organisation_id == item.organisation_id,
            )
            .order_by(SpotCheckItem.rank)
        )
    )


def certificates_by_record(
    session: Session, record_ids: Sequence[int]
) -> dict[int, list[Certificate]]:
    """Return the certificates covering each record."""
    found: dict[int, list[Certificate]] = {rid: [] for rid in record_ids}
    if record_ids:
        rows = session.execute(
            select(CertificateRecord.record_id, Certificate)
            .join(Certificate, Certificate.id == CertificateRecord.certificate_id)
            .where(CertificateRecord.record_id.in_(list(record_ids)))
            .order_by(Certificate.number)
        )
        for rid, cert in rows:
            found[rid].append(cert)
    return found


def risk_of_records(session: Session, record_ids: list[int]) -> dict[int, Any]:
    """Risk signals of the records (helper module verifier.spotchecks.risk), if it is there."""
    try:
        from verifier.spotchecks.risk import record_signals
    except ImportError:
        return {}
    return record_signals(session, record_ids=record_ids) if record_ids else {}


def risk_of_organisation(session: Session, organisation_id: int) -> Any:
    try:
        from verifier.spotchecks.risk import organisation_signals
    except ImportError:
        return None
    return organisation_signals(session, organisation_ids=[organisation_id]).get(organisation_id)


def finding_of(session: Session, item_id: int) -> SpotCheckFinding | None:
    return session.scalars(
        select(SpotCheckFinding).where(SpotCheckFinding.item_id == item_id)
    ).first()


def evidence_of(session: Session, finding_id: int) -> list[FindingEvidence]:
    return list(
        session.scalars(
            select(FindingEvidence)
            .where(FindingEvidence.finding_id == finding_id)
            .order_by(FindingEvidence.id)
        )
    )


def item_detail(session: Session, item: SpotCheckItem) -> ItemDetail:
    """Gather the organisation, records, covering certificates, risk signals and any finding."""
    from verifier.supervision.services import affected_record_ids

    records = sampled_records(session, item)
    ids = [r.id for r in records]
    finding = finding_of(session, item.id)
    inspectors = list(
        session.scalars(
            select(User)
            .join(SpotCheckAssignment, SpotCheckAssignment.inspector_id == User.id)
            .join(SpotCheckItem, SpotCheckItem.id == SpotCheckAssignment.item_id)
            .where(
                SpotCheckItem.campaign_id == item.campaign_id,
                SpotCheckItem.organisation_id == item.organisation_id,
            )
            .distinct()
            .order_by(User.id)
        )
    )
    related = list(
        session.scalars(
            select(SpotCheckItem)
            .where(
                SpotCheckItem.campaign_id == item.campaign_id,
                SpotCheckItem.organisation_id == item.organisation_id,
                SpotCheckItem.id != item.id,
            )
            .order_by(SpotCheckItem.stage, SpotCheckItem.rank)
        )
    )
    case = None
    if finding is not None:
        case = session.scalars(
            select(SupervisionCase).where(SupervisionCase.finding_id == finding.id)
        ).first()
    return ItemDetail(
        item=item,
        records=records,
        certificates=certificates_by_record(session, ids),
        signals=risk_of_records(session, ids),
        organisation_signals=risk_of_organisation(session, item.organisation_id)
        if item.kind == "organisation"
        else None,
        inspectors=inspectors,
        finding=finding,
        evidence=evidence_of(session, finding.id) if finding else [],
        affected=affected_record_ids(session, finding.id) if finding else [],
        case=case,
        related_items=related,
    )


@dataclass
class FindingInput:
    result: str
    discrepancy_type: str | None = None
    notes: str = ""
    record_ids: list[int] | None = None


def _check_finding(data: FindingInput) -> FindingInput:
    if data.result not in FINDING_RESULTS:
        raise ValidationError(
            _("the result is one of %(r)s", r=", ".join(FINDING_RESULTS)),
            field="result",
            rule="result",
        )
    notes = (data.notes or "").strip()
    if len(notes) > TEXT_LIMIT:
        raise ValidationError(
            _("this text is longer than %(n)d characters", n=TEXT_LIMIT),
            field="notes",
            rule="max_length",
        )
    kind = data.discrepancy_type or None
    if data.result == "discrepancy":
        if kind not in DISCREPANCY_TYPES:
            raise ValidationError(
                _("a discrepancy needs its type: %(t)s", t=", ".join(DISCREPANCY_TYPES)),
                field="discrepancy_type",
                rule="discrepancy_type",
            )
        if not notes:
            raise ValidationError(
                _("describe the discrepancy in the notes"), field="notes", rule="required"
            )
    else:
        if kind is not None:
            raise ValidationError(
                _("only a discrepancy has a type"),
                field="discrepancy_type",
                rule="only_for_discrepancy",
            )
        if data.record_ids:
            raise ValidationError(
                _("affected records are named only for a discrepancy"),
                field="record_ids",
                rule="only_for_discrepancy",
            )
    return FindingInput(data.result, kind, notes, data.record_ids)


def _affected(session: Session, item: SpotCheckItem, given: list[int] | None) -> list[int]:
    """The records a discrepancy affects: those named, or the item's own record."""
    if given is None:
        return [item.record_id] if item.record_id is not None else []
    ids = sorted(set(given))
    own = set(
        session.scalars(
            select(ServiceRecord.id).where(
                ServiceRecord.id.in_(ids), ServiceRecord.organisation_id == item.organisation_id
            )
        )
    )
    for rid in ids:
        if rid not in own:
            raise ValidationError(
                _("record %(id)d is not a record of the organisation under inspection", id=rid),
                field="record_ids",
                rule="own_record",
            )
    return ids


def record_finding(
    session: Session,
    actor: User,
    item: SpotCheckItem,
    data: FindingInput,
    files: Sequence[EvidenceFile] = (),
    *,
    deadline_days: int = DEFAULT_DEADLINE_DAYS,
) -> tuple[SpotCheckFinding, SupervisionCase | None]:
    """Record what an assigned inspector found; a discrepancy opens a supervision case."""
    if not is_assigned(session, actor, item):
        raise Forbidden(_("only an inspector assigned to this item may record its finding"))
    if finding_of(session, item.id) is not None:
        raise Conflict(_("this item already has a finding"))
    clean = _check_finding(data)
    if len(files) > MAX_FILES:
        raise ValidationError(
            _("at most %(n)d evidence files", n=MAX_FILES), field="evidence", rule="max_files"
        )
    affected = _affected(session, item, clean.record_ids) if clean.result == "discrepancy" else []
    finding = SpotCheckFinding(
        item_id=item.id,
        inspector_id=actor.id,
        result=clean.result,
        discrepancy_type=clean.discrepancy_type,
        notes=clean.notes,
    )
    session.add(finding)
    session.flush()
    session.add_all(FindingRecord(finding_id=finding.id, record_id=rid) for rid in affected)
    for upload in files:
        session.add(
            FindingEvidence(
                finding_id=finding.id,
                filename=upload.filename,
                content_type=upload.content_type,
                size=upload.size,
                sha256=upload.sha256,
                data=upload.data,
                uploaded_by_id=actor.id,
            )
        )
    session.flush()
    record_event(
        session,
        actor,
        "spotcheck.finding",
        "spotcheck_item",
        item.id,
        organisation_id=item.organisation_id,
        details={
            "finding_id": finding.id,
            "campaign_id": item.campaign_id,
            "result": finding.result,
            "discrepancy_type": finding.discrepancy_type,
            "record_ids": affected,
            "evidence": [{"sha256": f.sha256, "size": f.size} for f in files],
        },
    )
    case = None
    if clean.result == "discrepancy":
        case = open_case(
            session,
            finding,
            organisation_id=item.organisation_id,
            campaign_id=item.campaign_id,
            actor=actor,
            deadline_days=deadline_days,
        )
    return finding, case


def visible_evidence(session: Session, actor: User, evidence_id: int) -> FindingEvidence:
    """Return an evidence file for regulators, or for the organisation of the finding's case."""
    evidence = session.get(FindingEvidence, evidence_id)
    if evidence is None:
        raise NotFound(_("no such evidence file"))
    if actor.is_regulator:
        return evidence
    if actor.is_org_user:
        own_case = session.scalar(
            select(func.count())
            .select_from(SupervisionCase)
            .where(
                and_(
                    SupervisionCase.finding_id == evidence.finding_id,
                    SupervisionCase.organisation_id == actor.organisation_id,
                )
            )
        )
        if own_case:
            return evidence
    raise NotFound(_("no such evidence file"))

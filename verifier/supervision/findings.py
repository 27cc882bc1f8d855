"""Findings: what an assigned inspector found on a sampled item, with evidence files.

A discrepancy names the records it affects and opens a supervision case
(verifier.supervision.services.open_case). Evidence is readable by regulators and by the
organisation of the case the finding opened; anyone else gets NotFound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import REGULATOR_INSPECTOR, REGULATOR_SUPERVISOR, User
from verifier.errors import Conflict, Forbidden, NotFound, ValidationError
from verifier.records.models import ServiceRecord
from verifier.spotchecks.models import SpotCheckItem
from verifier.supervision.evidence import MAX_FILES, EvidenceFile
from verifier.supervision.inspections import finding_of, is_assigned
from verifier.supervision.models import (
    DiscrepancyType,
    FindingEvidence,
    FindingRecord,
    FindingResult,
    SpotCheckFinding,
    SupervisionCase,
)
from verifier.supervision.services import DEFAULT_DEADLINE_DAYS, TEXT_LIMIT, open_case
from verifier.text import check_characters


@dataclass
class FindingInput:
    result: str
    discrepancy_type: str | None = None
    notes: str = ""
    record_ids: list[int] | None = None


def _check_finding(data: FindingInput) -> FindingInput:
    if data.result not in tuple(FindingResult):
        raise ValidationError(
            _("the result is one of %(r)s", r=", ".join(FindingResult)),
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
    check_characters(notes, field="notes", label=_("notes"))
    kind = data.discrepancy_type or None
    if data.result == FindingResult.DISCREPANCY:
        if kind not in tuple(DiscrepancyType):
            raise ValidationError(
                _("a discrepancy needs its type: %(t)s", t=", ".join(DiscrepancyType)),
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
    affected = (
        _affected(session, item, clean.record_ids)
        if clean.result == FindingResult.DISCREPANCY
        else []
    )
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
    if clean.result == FindingResult.DISCREPANCY:
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
    """Return evidence to a supervisor, an inspector drawn for its item, or the case's org."""
    evidence = session.get(FindingEvidence, evidence_id)
    if evidence is None:
        raise NotFound(_("no such evidence file"))
    if actor.role == REGULATOR_SUPERVISOR:
        return evidence
    if actor.role == REGULATOR_INSPECTOR:
        finding = session.get(SpotCheckFinding, evidence.finding_id)
        item = session.get(SpotCheckItem, finding.item_id) if finding is not None else None
        if item is not None and is_assigned(session, actor, item):
            return evidence
        raise NotFound(_("no such evidence file"))
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

"""JSON API for the inspector's queue: sampled items, findings with evidence (cases: case_api)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Response, current_app, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import answer, read_json, read_query
from verifier.auth.access import require_actor, roles
from verifier.db import get_session
from verifier.errors import PayloadTooLarge, UnsupportedMediaType
from verifier.spotchecks.models import SpotCheckItem
from verifier.supervision import findings, inspections
from verifier.supervision.case_api import CASE_READERS, REGULATORS, case_out, org_ref
from verifier.supervision.evidence import (
    DEFAULT_MAX_BYTES,
    EvidenceFile,
    extension_for,
    human_size,
    read_evidence,
)
from verifier.supervision.forms import finding_from_fields
from verifier.supervision.models import (
    FindingEvidence,
    SpotCheckFinding,
    SupervisionCase,
)
from verifier.supervision.schemas import (
    EvidenceOut,
    FindingCreate,
    FindingCreated,
    FindingOut,
    FindingUpload,
    ItemDetailOut,
    ItemOut,
    ItemPage,
    ItemQuery,
    SampledRecord,
    SignalOut,
    cert_ref,
    flag,
    when,
)
from verifier.supervision.services import DEFAULT_DEADLINE_DAYS, affected_record_ids

ITEM = "<int(max=2147483647):item_id>"


def evidence_max_bytes() -> int:
    return int(current_app.config.get("EVIDENCE_MAX_BYTES", DEFAULT_MAX_BYTES))


def deadline_days() -> int:
    return int(current_app.config.get("SUPERVISION_DEADLINE_DAYS", DEFAULT_DEADLINE_DAYS))


def finding_out(finding: SpotCheckFinding) -> FindingOut:
    session = get_session()
    case_id = session.scalar(
        select(SupervisionCase.id).where(SupervisionCase.finding_id == finding.id)
    )
    return FindingOut(
        id=finding.id,
        item_id=finding.item_id,
        result=finding.result,
        discrepancy_type=finding.discrepancy_type,
        notes=finding.notes,
        record_ids=affected_record_ids(session, finding.id),
        inspector_id=finding.inspector_id,
        created_at=when(finding.created_at),
        evidence=[_evidence_out(e) for e in inspections.evidence_of(session, finding.id)],
        case_id=case_id,
    )


def _evidence_out(evidence: FindingEvidence) -> EvidenceOut:
    return EvidenceOut(
        id=evidence.id,
        filename=evidence.filename,
        content_type=evidence.content_type,
        size=evidence.size,
        sha256=evidence.sha256,
        url=url_for("api.evidence_file_api", evidence_id=evidence.id),
    )


def _item_fields(item: SpotCheckItem, finding: SpotCheckFinding | None) -> dict[str, Any]:
    return {
        "id": item.id,
        "campaign_id": item.campaign_id,
        "kind": item.kind,
        "item": item.item_id,
        "organisation": org_ref(item.organisation),
        "record_id": item.record_id,
        "stage": item.stage,
        "rank": item.rank,
        "finding": finding_out(finding) if finding is not None else None,
    }


def _signals(result: Any) -> tuple[int | None, list[SignalOut]]:
    if result is None:
        return None, []
    return result.score, [
        SignalOut(code=s.code, message=str(s.message), weight=s.weight) for s in result.reasons
    ]


@bp.get("/spotcheck/items")
@roles(*REGULATORS)
@operation(
    summary="The inspector's queue of sampled items",
    tag="spot checks",
    description="`mine=1` (the default): the items of the organisations the caller was drawn "
    "to inspect. Inspectors only ever get their own; a supervisor with `mine=0` gets every "
    "item. Each item carries its finding, if recorded.",
    query=ItemQuery,
    response=ItemPage,
)
def list_items_api() -> Any:
    query = read_query(ItemQuery)
    rows, total = inspections.list_items(
        get_session(),
        require_actor(),
        mine=flag(query.mine),
        campaign_id=query.campaign_id,
        pending_only=flag(query.pending),
        page=query.page,
        per_page=query.per_page,
    )
    return answer(
        ItemPage.of(query, rows, total, lambda r: ItemOut(**_item_fields(r.item, r.finding)))
    )


@bp.get(f"/spotcheck/items/{ITEM}")
@roles(*REGULATORS)
@operation(
    summary="A sampled item with what is needed to check it",
    tag="spot checks",
    description="The organisation, the sampled records (an organisation item: the records "
    "sampled within it), the certificates covering each record, the risk signals, and the "
    "finding. Another inspector's item answers 404.",
    response=ItemDetailOut,
)
def get_item_api(item_id: int) -> Any:
    session, actor = get_session(), require_actor()
    detail = inspections.item_detail(session, inspections.visible_item(session, actor, item_id))
    records = []
    for record in detail.records:
        score, signals = _signals(detail.signals.get(record.id))
        records.append(
            SampledRecord(
                id=record.id,
                activity=record.activity,
                service_date=record.service_date.isoformat(),
                minutes=record.minutes,
                status=record.status,
                revision=record.revision,
                history_url=url_for("api.record_history_api", record_id=record.id),
                certificates=[cert_ref(c) for c in detail.certificates.get(record.id, [])],
                risk_score=score,
                risk_signals=signals,
            )
        )
    org_score, org_signals = _signals(detail.organisation_signals)
    return answer(
        ItemDetailOut(
            **_item_fields(detail.item, detail.finding),
            records=records,
            organisation_risk_score=org_score,
            organisation_risk_signals=org_signals,
            inspector_ids=[u.id for u in detail.inspectors],
        )
    )


def read_finding() -> tuple[FindingCreate, list[EvidenceFile]]:
    """Read a finding sent as JSON, or as multipart/form-data with evidence files."""
    if request.mimetype != "multipart/form-data":
        if not request.is_json:
            raise UnsupportedMediaType(
                _("send the finding as JSON, or as multipart/form-data with evidence files")
            )
        return read_json(FindingCreate), []
    try:
        form, uploads = request.form, request.files.getlist("evidence")
    except RequestEntityTooLarge:
        raise evidence_too_large() from None
    return finding_from_fields(form, form.getlist("record_ids")), evidence_files(uploads)


def evidence_too_large() -> PayloadTooLarge:
    """The answer to a finding whose upload is larger than the service reads at all."""
    return PayloadTooLarge(
        _(
            "the upload is too large; each evidence file may be at most %(s)s",
            s=human_size(evidence_max_bytes()),
        )
    )


def evidence_files(uploads: Iterable[FileStorage]) -> list[EvidenceFile]:
    """Read and check the evidence files of a finding; a file input left empty is skipped."""
    limit = evidence_max_bytes()
    return [
        read_evidence(upload.stream, upload.filename or "evidence", limit)
        for upload in uploads
        if upload.filename
    ]


@bp.post(f"/spotcheck/items/{ITEM}/finding")
@roles(*REGULATORS)
@operation(
    summary="Record the finding of a sampled item",
    tag="spot checks",
    description="By an inspector drawn for the item's organisation (403 otherwise; 404 for "
    "another inspector's item); one finding per item (409). JSON, or multipart/form-data with "
    "`evidence` files: PDF, JPEG or PNG, recognised by their first bytes, each at most the "
    "configured size (VERIFIER_EVIDENCE_MAX_BYTES, default 10 MB; 413 above). A discrepancy "
    "opens a supervision case (责令限期改正) against the organisation with a deadline, and "
    "suspends exactly the certificates covering the affected records.",
    body=FindingCreate,
    form=FindingUpload,
    response=FindingCreated,
    status=201,
    errors=(409, 413),
)
def record_finding_api(item_id: int) -> Any:
    session, actor = get_session(), require_actor()
    item = inspections.visible_item(session, actor, item_id)
    body, files = read_finding()
    finding, case = findings.record_finding(
        session,
        actor,
        item,
        findings.FindingInput(body.result, body.discrepancy_type, body.notes, body.record_ids),
        files,
        deadline_days=deadline_days(),
    )
    return answer(
        FindingCreated(finding=finding_out(finding), case=case_out(case) if case else None), 201
    )


@bp.get("/spotcheck/evidence/<int(max=2147483647):evidence_id>")
@roles(*CASE_READERS)
@operation(
    summary="Download an evidence file",
    tag="spot checks",
    description="Regulators, and the organisation of the case the finding opened; 404 for "
    "anyone else. Sent as an attachment with its checked content type.",
    media=("application/pdf", "image/jpeg", "image/png"),
)
def evidence_file_api(evidence_id: int) -> Any:
    evidence = findings.visible_evidence(get_session(), require_actor(), evidence_id)
    return evidence_response(evidence)


def evidence_response(evidence: FindingEvidence) -> Response:
    """Send an evidence file as a download, never rendered inline."""
    response = Response(evidence.data, mimetype=evidence.content_type)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="evidence-{evidence.id}{extension_for(evidence.content_type)}"; '
        "filename*=UTF-8''" + _quote(evidence.filename)
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Evidence-SHA256"] = evidence.sha256
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")

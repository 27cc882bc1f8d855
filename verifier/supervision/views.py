"""Pages: the inspector's queue and findings, supervision cases, and the regulator's dashboard."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from verifier.api.schemas import validate
from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER, REGULATOR_INSPECTOR, REGULATOR_SUPERVISOR
from verifier.db import get_session
from verifier.errors import PayloadTooLarge, ValidationError, VerifierError
from verifier.supervision import charts, findings, inspections, results
from verifier.supervision.api import deadline_days, evidence_max_bytes, evidence_response
from verifier.supervision.decisions import Decision, close_case, escalate_case
from verifier.supervision.evidence import human_size, read_evidence
from verifier.supervision.labels import (
    CASE_EVENT,
    CASE_OUTCOME,
    CASE_STATUS,
    DISCREPANCY_TYPE,
    FINDING_RESULT,
    SANCTION,
)
from verifier.supervision.models import (
    FALSIFICATION_TYPES,
    CaseStatus,
    DiscrepancyType,
    FindingResult,
    Sanction,
)
from verifier.supervision.schemas import FindingCreate
from verifier.supervision.services import (
    affected_record_ids,
    case_certificates,
    case_events,
    corrected_ids,
    list_cases,
    respond,
    visible_case,
)
from verifier.text import is_ascii_number
from verifier.web.paging import Page, requested_page

bp = Blueprint("supervision", __name__)

REGULATORS = (REGULATOR_SUPERVISOR, REGULATOR_INSPECTOR)
ORG_USERS = (ORG_ADMIN, ORG_RECORDER)
CASE_READERS = (*ORG_USERS, *REGULATORS)
PER_PAGE = 50


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {
        "finding_result_labels": FINDING_RESULT,
        "discrepancy_type_labels": DISCREPANCY_TYPE,
        "case_status_labels": CASE_STATUS,
        "case_outcome_labels": CASE_OUTCOME,
        "sanction_labels": SANCTION,
        "case_event_labels": CASE_EVENT,
    }


def _errors(error: VerifierError) -> list[str]:
    return [e.message for e in error.errors] or [error.message]


def _ids(text: str, field_name: str) -> list[int]:
    parts = [p for p in re.split(r"[\s,，、;]+", text or "") if p]
    if not all(is_ascii_number(p) and len(p) < 11 for p in parts):
        raise ValidationError(
            _("list record numbers separated by commas"), field=field_name, rule="int_parsing"
        )
    return [int(p) for p in parts]


@bp.get("/inspections")
@roles(*REGULATORS)
def queue() -> Any:
    """The items the signed-in inspector was drawn to check (a supervisor may see all)."""
    actor = require_actor()
    mine = actor.role == REGULATOR_INSPECTOR or request.args.get("mine", "1") != "0"
    pending = request.args.get("pending") == "1"
    number = requested_page()
    rows, total = inspections.list_items(
        get_session(), actor, mine=mine, pending_only=pending, page=number, per_page=PER_PAGE
    )
    page = Page(rows, number, PER_PAGE, total, {"mine": "1" if mine else "0", "pending": pending})
    return render_template("supervision/queue.html", page=page, mine=mine, pending=pending)


def _finding_from_form() -> tuple[FindingCreate, list[Any]]:
    limit = evidence_max_bytes()
    try:
        form, uploads = request.form, request.files.getlist("evidence")
    except RequestEntityTooLarge:
        raise PayloadTooLarge(
            _(
                "the upload is too large; each evidence file may be at most %(s)s",
                s=human_size(limit),
            )
        ) from None
    data: dict[str, Any] = {k: form[k] for k in ("result", "notes") if form.get(k)}
    if form.get("result") == FindingResult.DISCREPANCY and form.get("discrepancy_type"):
        data["discrepancy_type"] = form["discrepancy_type"]
    ids = [int(v) for v in form.getlist("record_ids") if is_ascii_number(v) and len(v) < 11]
    ids += _ids(form.get("other_record_ids", ""), "record_ids")
    if form.get("result") == FindingResult.DISCREPANCY and ids:
        data["record_ids"] = sorted(set(ids))
    body = validate(FindingCreate, data)
    files = [
        read_evidence(u.stream, u.filename or "evidence", limit) for u in uploads if u.filename
    ]
    return body, files


@bp.route("/inspections/<int(max=2147483647):item_id>", methods=["GET", "POST"])
@roles(*REGULATORS)
def item(item_id: int) -> Any:
    """One sampled item: its records, certificates and risk signals; the finding form."""
    actor = require_actor()
    session = get_session()
    sampled = inspections.visible_item(session, actor, item_id)
    form_errors: list[str] = []
    status = 200
    if request.method == "POST":
        try:
            body, files = _finding_from_form()
            _finding, case = findings.record_finding(
                session,
                actor,
                sampled,
                findings.FindingInput(
                    body.result, body.discrepancy_type, body.notes, body.record_ids
                ),
                files,
                deadline_days=deadline_days(),
            )
        except VerifierError as error:
            session.rollback()
            form_errors, status = _errors(error), error.status
        else:
            if case is not None:
                flash(_("Finding recorded; supervision case %(id)d opened", id=case.id), "success")
            else:
                flash(_("Finding recorded"), "success")
            return redirect(url_for("supervision.item", item_id=sampled.id))
    detail = inspections.item_detail(session, sampled)
    return render_template(
        "supervision/item.html",
        detail=detail,
        may_record=detail.finding is None and inspections.is_assigned(session, actor, sampled),
        form_errors=form_errors,
        values=request.form if request.method == "POST" else {},
        chosen=request.form.getlist("record_ids") if request.method == "POST" else [],
        results_order=tuple(FindingResult),
        types_order=tuple(DiscrepancyType),
        max_size=human_size(evidence_max_bytes()),
    ), status


@bp.get("/supervision/cases")
@roles(*CASE_READERS)
def cases() -> Any:
    """Supervision cases: an organisation's own, or all for regulators."""
    actor = require_actor()
    status = request.args.get("status", "")
    status = status if status in tuple(CaseStatus) else ""
    number = requested_page()
    rows, total = list_cases(get_session(), actor, status=status, page=number, per_page=PER_PAGE)
    page = Page(rows, number, PER_PAGE, total, {"status": status})
    return render_template(
        "supervision/cases.html", page=page, status=status, statuses=tuple(CaseStatus)
    )


def _case_page(case_id: int, form_errors: list[str] | None = None, status: int = 200) -> Any:
    actor = require_actor()
    session = get_session()
    case = visible_case(session, actor, case_id)
    finding = case.finding
    return render_template(
        "supervision/case.html",
        case=case,
        finding=finding,
        affected=affected_record_ids(session, finding.id),
        corrected=corrected_ids(case),
        evidence=inspections.evidence_of(session, finding.id),
        certificates=case_certificates(session, case),
        events=[(e, json.loads(e.details)) for e in case_events(session, case)],
        falsification_possible=finding.discrepancy_type in FALSIFICATION_TYPES,
        sanctions=tuple(Sanction),
        form_errors=form_errors or [],
        values=request.form if request.method == "POST" else {},
    ), status


@bp.get("/supervision/cases/<int(max=2147483647):case_id>")
@roles(*CASE_READERS)
def case(case_id: int) -> Any:
    """A case: the finding, the deadline, the certificates held, its history, and the forms."""
    return _case_page(case_id)


@bp.post("/supervision/cases/<int(max=2147483647):case_id>/respond")
@roles(*ORG_USERS)
def respond_case(case_id: int) -> Any:
    """The organisation answers: an explanation and the records it corrected."""
    actor = require_actor()
    session = get_session()
    found = visible_case(session, actor, case_id)
    try:
        ids = _ids(request.form.get("corrected_record_ids", ""), "corrected_record_ids")
        respond(session, found, actor, request.form.get("explanation", ""), ids)
    except VerifierError as error:
        session.rollback()
        return _case_page(case_id, _errors(error), error.status)
    flash(_("Your response was recorded"), "success")
    return redirect(url_for("supervision.case", case_id=case_id))


@bp.post("/supervision/cases/<int(max=2147483647):case_id>/close")
@roles(REGULATOR_SUPERVISOR)
def close(case_id: int) -> Any:
    """The supervisor closes the case: resolved, or with a sanction; falsification revokes."""
    actor = require_actor()
    session = get_session()
    found = visible_case(session, actor, case_id)
    form = request.form
    try:
        close_case(
            session,
            found,
            actor,
            Decision(
                outcome=form.get("outcome", ""),
                decision=form.get("decision", ""),
                sanction=form.get("sanction") or None,
                falsification_confirmed=form.get("falsification_confirmed") == "1",
            ),
        )
    except VerifierError as error:
        session.rollback()
        return _case_page(case_id, _errors(error), error.status)
    flash(_("The case is closed"), "success")
    return redirect(url_for("supervision.case", case_id=case_id))


@bp.post("/supervision/cases/<int(max=2147483647):case_id>/escalate")
@roles(REGULATOR_SUPERVISOR)
def escalate(case_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    found = visible_case(session, actor, case_id)
    try:
        escalate_case(session, found, actor, request.form.get("note", ""))
    except VerifierError as error:
        session.rollback()
        return _case_page(case_id, _errors(error), error.status)
    flash(_("The case was escalated"), "success")
    return redirect(url_for("supervision.case", case_id=case_id))


@bp.get("/supervision/evidence/<int(max=2147483647):evidence_id>")
@roles(*CASE_READERS)
def evidence(evidence_id: int) -> Any:
    """Download an evidence file (regulators, and the organisation of the finding's case)."""
    return evidence_response(findings.visible_evidence(get_session(), require_actor(), evidence_id))


@bp.get("/regulator")
@roles(*REGULATORS)
def dashboard() -> Any:
    """Plans, campaigns and their progress, findings as charts, risk ranking, overdue cases."""
    session = get_session()
    rates = results.rates_by_organisation(session)
    months = results.findings_by_month(session)
    labels = {k: str(v) for k, v in FINDING_RESULT.items()}
    return render_template(
        "supervision/dashboard.html",
        plans=results.plans(session),
        campaigns=results.campaign_progress(session),
        rates=rates,
        rate_chart=charts.rate_bars(
            [charts.Bar(r.name, r.rate, f"{r.discrepancies} / {r.findings}") for r in rates],
            _("Share of findings that are discrepancies, per organisation"),
        )
        if rates
        else None,
        month_chart=charts.stacked_columns(
            months, tuple(FindingResult), labels, _("Findings per month, by result")
        ),
        months=months,
        risk=results.risk_ranking(session),
        overdue=results.overdue_cases(session),
        case_counts=results.case_counts(session),
        type_totals=results.discrepancy_type_totals(session),
    )

"""Pages: the inspector's queue and findings, supervision cases, and the regulator's dashboard."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.exceptions import RequestEntityTooLarge

from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER, REGULATOR_INSPECTOR, REGULATOR_SUPERVISOR
from verifier.complaints.forms import DISPUTE_KIND_LABELS
from verifier.complaints.services import overdue_disputes
from verifier.db import get_session, savepoint
from verifier.errors import ValidationError, VerifierError
from verifier.orgs.services import visible_organisation
from verifier.portal.certreqs_lists import regulator_counts as certificate_request_counts
from verifier.portal.omissions import overdue_count as overdue_missing_records
from verifier.supervision import charts, findings, inspections, results
from verifier.supervision.api import (
    deadline_days,
    evidence_files,
    evidence_max_bytes,
    evidence_response,
    evidence_too_large,
)
from verifier.supervision.decisions import Decision, close_case, escalate_case
from verifier.supervision.evidence import human_size
from verifier.supervision.forms import (
    CloseCaseForm,
    EscalateForm,
    FindingForm,
    RespondForm,
    RevokeAllForm,
    finding_from_fields,
)
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
    FindingResult,
)
from verifier.supervision.revocations import revoke_all_certificates
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
from verifier.timeutil import local_today
from verifier.web.forms import distinct_ids, show_errors
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


@bp.route("/inspections/<int(max=2147483647):item_id>", methods=["GET", "POST"])
@roles(*REGULATORS)
def item(item_id: int) -> Any:
    """One sampled item: its records, certificates and risk signals; the finding form."""
    actor = require_actor()
    session = get_session()
    sampled = inspections.visible_item(session, actor, item_id)
    try:
        form = FindingForm()
    except RequestEntityTooLarge:
        raise evidence_too_large() from None
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        typed = re.split(r"[\s,，、;]+", form.other_record_ids.data or "")
        try:
            body = finding_from_fields(
                {name: form[name].data for name in ("result", "discrepancy_type", "notes")},
                [*(form.record_ids.data or []), *typed],
            )
            files = evidence_files(form.evidence.data or [])
            with savepoint():
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
            # ticked or typed, record ids' errors show below the typed ones (always on the page)
            form_errors = show_errors(form, error, {"record_ids": "other_record_ids"})
            status = error.status
        else:
            if case is not None:
                flash(_("Finding recorded; supervision case %(id)d opened", id=case.id), "success")
            else:
                flash(_("Finding recorded"), "success")
            return redirect(url_for("supervision.item", item_id=sampled.id))
    elif request.method == "POST":
        status = 422
    detail = inspections.item_detail(session, sampled)
    return render_template(
        "supervision/item.html",
        detail=detail,
        may_record=detail.finding is None and inspections.is_assigned(session, actor, sampled),
        form=form,
        form_errors=form_errors,
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


# the forms on a case's page, by the view each is sent to
CASE_FORMS: dict[str, type[FlaskForm]] = {
    "respond": RespondForm,
    "close": CloseCaseForm,
    "escalate": EscalateForm,
}


def _case_page(
    case_id: int,
    posted: tuple[str, FlaskForm] | None = None,
    form_errors: list[str] | None = None,
    status: int = 200,
) -> Any:
    """A case's page; with `posted`, the form that was sent, showing its errors at its fields."""
    actor = require_actor()
    session = get_session()
    case = visible_case(session, actor, case_id)
    finding = case.finding
    forms = {name: form_class(formdata=None) for name, form_class in CASE_FORMS.items()}
    if posted is not None:
        forms[posted[0]] = posted[1]
    distinct_ids(forms)
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
        forms=forms,
        form_errors=form_errors or [],
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
    form = RespondForm()
    try:
        ids = _ids(form.corrected_record_ids.data or "", "corrected_record_ids")
        with savepoint():
            respond(session, found, actor, form.explanation.data or "", ids)
    except VerifierError as error:
        return _case_page(case_id, ("respond", form), show_errors(form, error), error.status)
    flash(_("Your response was recorded"), "success")
    return redirect(url_for("supervision.case", case_id=case_id))


@bp.post("/supervision/cases/<int(max=2147483647):case_id>/close")
@roles(REGULATOR_SUPERVISOR)
def close(case_id: int) -> Any:
    """The supervisor closes the case: resolved, or with a sanction; falsification revokes."""
    actor = require_actor()
    session = get_session()
    found = visible_case(session, actor, case_id)
    form = CloseCaseForm()
    try:
        with savepoint():
            close_case(
                session,
                found,
                actor,
                Decision(
                    outcome=form.outcome.data or "",
                    decision=form.decision.data or "",
                    sanction=form.sanction.data or None,
                    falsification_confirmed=bool(form.falsification_confirmed.data),
                ),
            )
    except VerifierError as error:
        return _case_page(case_id, ("close", form), show_errors(form, error), error.status)
    flash(_("The case is closed"), "success")
    return redirect(url_for("supervision.case", case_id=case_id))


@bp.post("/supervision/cases/<int(max=2147483647):case_id>/escalate")
@roles(REGULATOR_SUPERVISOR)
def escalate(case_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    found = visible_case(session, actor, case_id)
    form = EscalateForm()
    try:
        with savepoint():
            escalate_case(session, found, actor, form.note.data or "")
    except VerifierError as error:
        return _case_page(case_id, ("escalate", form), show_errors(form, error), error.status)
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
        overdue_disputes=overdue_disputes(session, today=local_today()),
        dispute_kind_labels=DISPUTE_KIND_LABELS,
        certificate_requests=certificate_request_counts(session),
        missing_records_overdue=overdue_missing_records(session),
    )


@bp.post("/orgs/<int:org_id>/revoke-certificates")
@roles(REGULATOR_SUPERVISOR)
def revoke_all(org_id: int) -> Any:
    session, actor = get_session(), require_actor()
    org = visible_organisation(session, actor, org_id)
    form = RevokeAllForm()
    back = redirect(url_for("orgs.detail", org_id=org.id) + "#revoke-all")
    if not form.validate_on_submit() or not form.confirm.data:
        flash(_("Tick the confirmation to revoke every certificate of this organisation"), "error")
        return back
    try:
        with savepoint():
            numbers = revoke_all_certificates(session, org, form.reason.data or "", actor)
    except VerifierError as error:
        flash(error.message, "error")
        return back
    flash(_("%(n)d certificates revoked", n=len(numbers)), "success")
    return back

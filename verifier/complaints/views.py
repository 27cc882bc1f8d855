"""Pages: regulators record and close complaints; organisations keep correction requests."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER, REGULATOR_ROLES, REGULATOR_SUPERVISOR
from verifier.complaints.forms import (
    COMPLAINT_STATUS_LABELS,
    DISPUTE_KIND_LABELS,
    REQUEST_STATUS_LABELS,
    SOURCE_LABELS,
    AnswerRequestForm,
    CloseComplaintForm,
    ComplaintForm,
    CorrectionRequestForm,
)
from verifier.complaints.models import ComplaintStatus
from verifier.complaints.services import (
    answer_correction_request,
    close_complaint,
    list_complaints,
    list_correction_requests,
    record_changed_since,
    record_complaint,
    record_correction_request,
    visible_complaint,
    visible_correction_request,
)
from verifier.db import get_session, savepoint
from verifier.errors import VerifierError
from verifier.orgs.services import visible_organisation
from verifier.records.services import visible_record
from verifier.timeutil import local_today
from verifier.web.forms import show_errors
from verifier.web.ids import requested_id

bp = Blueprint("complaints", __name__)

ORG_USERS = (ORG_ADMIN, ORG_RECORDER)
REGULATORS = tuple(sorted(REGULATOR_ROLES))
LABELS = {
    "source_labels": SOURCE_LABELS,
    "complaint_status_labels": COMPLAINT_STATUS_LABELS,
    "request_status_labels": REQUEST_STATUS_LABELS,
    "dispute_kind_labels": DISPUTE_KIND_LABELS,
}


@bp.get("/complaints")
@roles(*REGULATORS)
def index() -> Any:
    actor = require_actor()
    status: str | None = request.args.get("status", ComplaintStatus.OPEN)
    status = status if status in tuple(ComplaintStatus) else None
    complaints = list_complaints(get_session(), actor, status=status)
    return render_template(
        "complaints/index.html", complaints=complaints, status=status or "all", **LABELS
    )


@bp.get("/orgs/<int:org_id>/complaints")
@roles(*ORG_USERS, *REGULATORS)
def organisation(org_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    org = visible_organisation(session, actor, org_id)
    complaints = (
        list_complaints(session, actor, organisation_id=org.id) if actor.is_regulator else None
    )
    requests = list_correction_requests(session, actor, organisation_id=org.id)
    return render_template(
        "complaints/organisation.html",
        org=org,
        complaints=complaints,
        requests=requests,
        today=local_today(),
        **LABELS,
    )


@bp.route("/orgs/<int:org_id>/complaints/new", methods=["GET", "POST"])
@roles(REGULATOR_SUPERVISOR)
def new(org_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    org = visible_organisation(session, actor, org_id)
    form = ComplaintForm()
    if request.method == "GET" and requested_id("record"):
        form.record_id.data = requested_id("record")
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            with savepoint():
                record_complaint(
                    session,
                    actor,
                    org,
                    source=form.source.data or "",
                    summary=form.summary.data or "",
                    record_id=form.record_id.data,
                )
        except VerifierError as error:
            form_errors, status = show_errors(form, error), error.status
        else:
            flash(_("Complaint recorded"), "success")
            return redirect(url_for("complaints.organisation", org_id=org.id))
    elif request.method == "POST":
        status = 422
    return render_template(
        "complaints/new.html", form=form, org=org, form_errors=form_errors
    ), status


@bp.route("/complaints/<int:complaint_id>/close", methods=["GET", "POST"])
@roles(REGULATOR_SUPERVISOR)
def close(complaint_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    complaint = visible_complaint(session, actor, complaint_id)
    form = CloseComplaintForm()
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            with savepoint():
                close_complaint(session, actor, complaint, form.resolution.data or "")
        except VerifierError as error:
            form_errors, status = show_errors(form, error), error.status
        else:
            flash(_("Complaint closed"), "success")
            return redirect(url_for("complaints.organisation", org_id=complaint.organisation_id))
    elif request.method == "POST":
        status = 422
    return render_template(
        "complaints/close.html",
        form=form,
        complaint=complaint,
        form_errors=form_errors,
        **LABELS,
    ), status


@bp.route("/records/<int:record_id>/correction-requests/new", methods=["GET", "POST"])
@roles(*ORG_USERS)
def new_request(record_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    record = visible_record(session, actor, record_id)
    form = CorrectionRequestForm()
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            with savepoint():
                record_correction_request(
                    session,
                    actor,
                    record,
                    requested_by=form.requested_by.data or "",
                    reason=form.reason.data or "",
                )
        except VerifierError as error:
            form_errors, status = show_errors(form, error), error.status
        else:
            flash(
                _("Correction request recorded: check the record and correct it promptly"),
                "success",
            )
            return redirect(url_for("complaints.organisation", org_id=record.organisation_id))
    elif request.method == "POST":
        status = 422
    return render_template(
        "complaints/new_request.html", form=form, record=record, form_errors=form_errors
    ), status


@bp.route("/correction-requests/<int:request_id>/answer", methods=["GET", "POST"])
@roles(*ORG_USERS)
def answer_request(request_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    correction = visible_correction_request(session, actor, request_id)
    form = AnswerRequestForm()
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            with savepoint():
                answer_correction_request(
                    session,
                    actor,
                    correction,
                    status=form.status.data or "",
                    resolution=form.resolution.data or "",
                )
        except VerifierError as error:
            form_errors, status = show_errors(form, error), error.status
        else:
            flash(_("Correction request answered"), "success")
            if actor.organisation_id != correction.organisation_id:  # a successor answered
                return redirect(url_for("succession.index"))
            return redirect(url_for("complaints.organisation", org_id=correction.organisation_id))
    elif request.method == "POST":
        status = 422
    return render_template(
        "complaints/answer_request.html",
        form=form,
        correction=correction,
        corrected=record_changed_since(session, correction),
        form_errors=form_errors,
        today=local_today(),
        **LABELS,
    ), status

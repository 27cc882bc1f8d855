"""Pages of who answers for a deregistered organisation: its successor's users, or the platform."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER, PLATFORM_ADMIN
from verifier.certificates.services import IssueRequest, number_display
from verifier.complaints.forms import DISPUTE_KIND_LABELS, AnswerRequestForm
from verifier.complaints.services import (
    answer_correction_request,
    record_changed_since,
    visible_correction_request,
)
from verifier.db import get_session, savepoint
from verifier.errors import VerifierError
from verifier.orgs.succession import answered_organisation, require_answering
from verifier.succession.forms import SuccessorIssueForm
from verifier.succession.services import answered_volunteer, docket, dockets, issue_for_deregistered
from verifier.timeutil import local_today
from verifier.web.forms import show_errors

bp = Blueprint("succession", __name__)

CUSTODIANS = (PLATFORM_ADMIN, ORG_ADMIN, ORG_RECORDER)


@bp.get("/successor")
@roles(*CUSTODIANS)
def index() -> Any:
    actor = require_actor()
    return render_template(
        "succession/index.html",
        dockets=dockets(get_session(), actor),
        dispute_kind_labels=DISPUTE_KIND_LABELS,
        today=local_today(),
    )


@bp.route("/successor/correction-requests/<int:request_id>/answer", methods=["GET", "POST"])
@roles(*CUSTODIANS)
def answer(request_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    correction = visible_correction_request(session, actor, request_id)
    org = correction.record.organisation
    require_answering(actor, org, _("no such correction request"))
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
            return redirect(url_for("succession.index"))
    elif request.method == "POST":
        status = 422
    return render_template(
        "succession/answer.html",
        form=form,
        correction=correction,
        org=org,
        corrected=record_changed_since(session, correction),
        form_errors=form_errors,
        dispute_kind_labels=DISPUTE_KIND_LABELS,
    ), status


@bp.route("/successor/orgs/<int:org_id>/certificates/new", methods=["GET", "POST"])
@roles(*CUSTODIANS)
def issue(org_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    org = answered_organisation(session, actor, org_id)
    form = SuccessorIssueForm()
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            with savepoint():
                volunteer = answered_volunteer(session, org, form.volunteer_number.data or "")
                cert = issue_for_deregistered(
                    session,
                    actor,
                    org,
                    volunteer,
                    IssueRequest(
                        volunteer_id=volunteer.id,
                        period_from=form.period_from.data,
                        period_to=form.period_to.data,
                    ),
                )
        except VerifierError as error:
            form_errors, status = show_errors(form, error), error.status
        else:
            flash(_("Certificate %(number)s issued", number=number_display(cert.number)), "success")
            return redirect(url_for("succession.index"))
    elif request.method == "POST":
        status = 422
    return render_template(
        "succession/issue.html",
        form=form,
        docket=docket(session, actor, org.id),
        form_errors=form_errors,
    ), status

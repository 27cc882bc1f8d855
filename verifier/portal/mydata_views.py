"""Pages: a volunteer's missing-record reports, privacy choice and data; the queue of requests."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from verifier.api.schemas import validate
from verifier.auth.access import current_actor, require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER, VOLUNTEER
from verifier.complaints.models import MissingRecordStatus
from verifier.db import get_session, savepoint, writes_data
from verifier.errors import VerifierError
from verifier.orgs.models import Organisation
from verifier.portal.mydata import (
    confirm_password,
    export_my_data,
    own_volunteer,
    set_message_locale,
    set_public_activities,
)
from verifier.portal.mydata_export import MyDataExport
from verifier.portal.mydata_forms import (
    MISSING_RECORD_STATUS,
    SHOW_ACTIVITIES,
    SHOW_TOTALS,
    ExportForm,
    LanguageForm,
    MissingRecordForm,
    PrivacyForm,
    RefuseForm,
    aware,
)
from verifier.portal.mydata_schemas import MissingRecordCreate
from verifier.portal.omissions import (
    ANSWER_WORKING_DAYS,
    enter_missing_record,
    is_overdue,
    list_requests,
    open_count,
    own_requests,
    refuse_missing_record,
    request_missing_record,
    suggested_record,
    visible_request,
)
from verifier.ratelimit import limiter
from verifier.records.forms import RecordForm
from verifier.records.models import RecordSource
from verifier.timeutil import to_local
from verifier.volunteers.models import Membership
from verifier.web.forms import distinct_ids, show_errors
from verifier.web.paging import Page, requested_page

bp = Blueprint("mydata", __name__)

ORG_USERS = (ORG_ADMIN, ORG_RECORDER)
PER_PAGE = 50
PRIVACY_NOTICE_PATH = "/privacy"
# set by verifier.VerifierFlask when anything raised while the request was handled
_REQUEST_FAILED = "verifier.request_failed"


@bp.app_context_processor
def _navigation() -> dict[str, Any]:
    def missing_records_badge() -> str:
        """The open count beside the navigation's link: read once per page, when shown."""
        if "missing_records_open" not in g:
            actor = current_actor()
            failed = request.environ.get(_REQUEST_FAILED)  # an error page: the query may not run
            g.missing_records_open = (
                open_count(get_session(), actor.organisation_id)
                if actor is not None and actor.organisation_id is not None and not failed
                else 0
            )
        count = int(g.missing_records_open)
        return f" ({count})" if count else ""

    return {
        "missing_records_badge": missing_records_badge,
        "missing_record_status_labels": MISSING_RECORD_STATUS,
    }


@bp.route("/me/missing-records", methods=["GET", "POST"])
@roles(VOLUNTEER)
def missing_records() -> Any:
    """Report a missing record, and see the answers to earlier reports."""
    session, actor = get_session(), require_actor()
    volunteer = own_volunteer(session, actor)
    organisations = list(
        session.scalars(
            select(Organisation)
            .join(Membership, Membership.organisation_id == Organisation.id)
            .where(Membership.volunteer_id == volunteer.id)
            .order_by(Organisation.name)
        )
    )
    form = MissingRecordForm()
    form.organisation.choices = [SelectChoice(org.uscc, org.name) for org in organisations]
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            body = validate(
                MissingRecordCreate,
                {
                    "organisation_uscc": form.organisation.data or "",
                    "activity": form.activity.data or "",
                    "started_at": aware(form.started_at.data),
                    "ended_at": aware(form.ended_at.data),
                    "reason": form.reason.data or "",
                },
            )
            with savepoint():
                missing = request_missing_record(session, actor, body.to_input())
        except VerifierError as error:
            aliases = {"organisation_uscc": "organisation"}
            form_errors, status = show_errors(form, error, aliases), error.status
        else:
            flash(
                _(
                    "Reported. %(org)s answers by %(day)s.",
                    org=missing.organisation.name,
                    day=missing.due_on.isoformat(),
                ),
                "success",
            )
            return redirect(url_for("mydata.missing_records"))
    elif request.method == "POST":
        status = 422
    return render_template(
        "mydata/missing_records.html",
        form=form,
        form_errors=form_errors,
        requests=own_requests(session, actor),
        has_organisations=bool(organisations),
        working_days=ANSWER_WORKING_DAYS,
        is_overdue=is_overdue,
    ), status


@bp.route("/me/privacy", methods=["GET", "POST"])
@roles(VOLUNTEER)
def privacy() -> Any:
    """Choose what public verification pages show of the volunteer's certificates."""
    session, actor = get_session(), require_actor()
    volunteer = own_volunteer(session, actor)
    form = PrivacyForm()
    if request.method == "GET":
        form.shown.data = SHOW_ACTIVITIES if volunteer.public_activities else SHOW_TOTALS
    status = 200
    if form.validate_on_submit():
        set_public_activities(session, actor, form.shown.data == SHOW_ACTIVITIES)
        flash(_("Saved: it applies at once, to every certificate of yours"), "success")
        return redirect(url_for("mydata.privacy"))
    if request.method == "POST":
        status = 422
    language = LanguageForm(prefix="language", locale=actor.locale)
    return render_template(
        "mydata/privacy.html",
        form=form,
        language=language,
        volunteer=volunteer,
        notice_path=PRIVACY_NOTICE_PATH,
    ), status


@bp.post("/me/language")
@roles(VOLUNTEER)
def language() -> Any:
    """Choose the language of the messages sent to the volunteer."""
    form = LanguageForm(prefix="language")
    if form.validate_on_submit():
        set_message_locale(get_session(), require_actor(), form.locale.data)
        flash(_("Saved: messages to you will be in this language"), "success")
    else:
        flash(_("Choose a language for your messages"), "error")
    return redirect(url_for("mydata.privacy"))


@bp.route("/me/data", methods=["GET", "POST"])
@roles(VOLUNTEER)
@limiter.limit("10 per minute", methods=["POST"])
def data() -> Any:
    """Explain what is held and offer it as a download; the full ID number after the password."""
    session, actor = get_session(), require_actor()
    form = ExportForm()
    status = 200
    if form.validate_on_submit():
        try:
            confirm_password(
                session, actor, form.password.data or "", address=request.remote_addr or ""
            )
        except VerifierError as error:
            # the page is answered, not raised: the failed attempt stays counted
            show_errors(form, error)
            status = error.status
        else:
            export = export_my_data(session, actor, full_id_number=True, channel="page")
            return _download(MyDataExport.of(export))
    elif request.method == "POST":
        status = 422
    return render_template("mydata/data.html", form=form, notice_path=PRIVACY_NOTICE_PATH), status


@bp.get("/me/data/export.json")
@roles(VOLUNTEER)
@writes_data
def download() -> Any:
    """Download everything held, the ID number masked."""
    export = export_my_data(get_session(), require_actor(), full_id_number=False, channel="page")
    return _download(MyDataExport.of(export))


def _download(export: MyDataExport) -> Any:
    response = jsonify(export.model_dump(mode="json"))
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename()}"'
    return response


@bp.get("/missing-records")
@roles(*ORG_USERS)
def queue() -> Any:
    """The organisation's missing-record requests: open ones first."""
    session, actor = get_session(), require_actor()
    shown = request.args.get("status", MissingRecordStatus.OPEN)
    status = shown if shown in tuple(MissingRecordStatus) else None
    number = requested_page()
    rows, total = list_requests(session, actor, status=status, page=number, per_page=PER_PAGE)
    page = Page(rows, number, PER_PAGE, total, {"status": status or "all"})
    return render_template(
        "mydata/queue.html", page=page, status=status or "all", is_overdue=is_overdue
    )


@bp.get("/missing-records/<int:missing_id>")
@roles(*ORG_USERS)
def queue_detail(missing_id: int) -> Any:
    """A request, with the record to enter (prefilled from it) and the refusal."""
    missing = visible_request(get_session(), require_actor(), missing_id)
    enter_form, refuse_form = RecordForm(formdata=None), RefuseForm(formdata=None)
    _prefill(enter_form, missing)
    return _detail(missing, enter_form, refuse_form, [], 200)


@bp.post("/missing-records/<int:missing_id>/enter")
@roles(*ORG_USERS)
def queue_enter(missing_id: int) -> Any:
    session, actor = get_session(), require_actor()
    missing = visible_request(session, actor, missing_id)
    enter_form, refuse_form = RecordForm(), RefuseForm(formdata=None)
    form_errors: list[str] = []
    status = 422
    if enter_form.validate_on_submit():
        try:
            with savepoint():
                record = enter_missing_record(
                    session, actor, missing, enter_form.to_input(), source=RecordSource.ENTRY
                )
        except VerifierError as error:
            form_errors, status = show_errors(enter_form, error), error.status
        else:
            flash(_("Record %(id)d entered; the volunteer is told", id=record.id), "success")
            return redirect(url_for("mydata.queue_detail", missing_id=missing.id))
    return _detail(missing, enter_form, refuse_form, form_errors, status)


@bp.post("/missing-records/<int:missing_id>/refuse")
@roles(*ORG_USERS)
def queue_refuse(missing_id: int) -> Any:
    session, actor = get_session(), require_actor()
    missing = visible_request(session, actor, missing_id)
    enter_form, refuse_form = RecordForm(formdata=None), RefuseForm()
    _prefill(enter_form, missing)
    form_errors: list[str] = []
    status = 422
    if refuse_form.validate_on_submit():
        try:
            with savepoint():
                refuse_missing_record(session, actor, missing, refuse_form.reason.data or "")
        except VerifierError as error:
            form_errors, status = show_errors(refuse_form, error), error.status
        else:
            flash(_("Request refused; the volunteer is told"), "success")
            return redirect(url_for("mydata.queue_detail", missing_id=missing.id))
    return _detail(missing, enter_form, refuse_form, form_errors, status)


def _prefill(form: RecordForm, missing: Any) -> None:
    suggested = suggested_record(missing)
    form.activity.data = suggested.activity
    form.started_at.data = to_local(suggested.started_at).replace(tzinfo=None)
    form.ended_at.data = to_local(suggested.ended_at).replace(tzinfo=None)
    form.minutes.data = suggested.minutes
    # the declarations are made afresh by whoever enters the record
    form.unpaid.data = False
    form.not_job_duty.data = False


def _detail(
    missing: Any, enter_form: RecordForm, refuse_form: RefuseForm, errors: list[str], status: int
) -> Any:
    distinct_ids({"enter": enter_form, "refuse": refuse_form})
    return render_template(
        "mydata/queue_detail.html",
        missing=missing,
        enter_form=enter_form,
        refuse_form=refuse_form,
        form_errors=errors,
        overdue=is_overdue(missing),
    ), status

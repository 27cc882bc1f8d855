"""Record pages: entry, the record itself, correction, voiding and the full history."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from verifier.audit.services import entries_for
from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER, REGULATOR_ROLES
from verifier.db import get_session, savepoint
from verifier.errors import VerifierError
from verifier.labels import RECORD_FIELD, Labels
from verifier.orgs.models import Organisation, OrgStatus
from verifier.records.forms import CorrectionForm, RecordForm, VoidForm
from verifier.records.models import (
    CONTENT_FIELDS,
    RecordRevision,
    RecordSource,
    RecordStatus,
    RevisionKind,
    ServiceRecord,
)
from verifier.records.services import (
    correct_record,
    create_record,
    list_records,
    reassignments_of,
    revisions_of,
    visible_record,
    void_record,
)
from verifier.volunteers.services import visible_volunteer
from verifier.web.forms import show_errors
from verifier.web.ids import requested_id
from verifier.web.paging import Page, requested_page

bp = Blueprint("records", __name__)

ORG_USERS = (ORG_ADMIN, ORG_RECORDER)
READERS = (*ORG_USERS, *sorted(REGULATOR_ROLES))
PER_PAGE = 50

FIELD_LABELS = RECORD_FIELD
KIND_LABELS: Labels = {
    RevisionKind.CREATED: _l("Created"),
    RevisionKind.CORRECTED: _l("Corrected"),
    RevisionKind.VOIDED: _l("Voided"),
}
SOURCE_LABELS: Labels = {
    RecordSource.ENTRY: _l("Entered on a page"),
    RecordSource.API: _l("Sent through the API"),
    RecordSource.IMPORT: _l("Imported from a file"),
    RecordSource.CHECKIN: _l("Check-in"),
}


@bp.get("/records")
@roles(*READERS)
def index() -> Any:
    actor = require_actor()
    session = get_session()
    org_id = None if actor.is_org_user else requested_id("org")
    org = session.get(Organisation, org_id) if org_id else None
    number = requested_page()
    rows, total = list_records(
        session, actor, organisation_id=org_id, page=number, per_page=PER_PAGE
    )
    page = Page(rows, number, PER_PAGE, total, {"org": org_id})
    return render_template("records/index.html", page=page, org=org)


@bp.route("/volunteers/<int:volunteer_id>/records/new", methods=["GET", "POST"])
@roles(*ORG_USERS)
def new(volunteer_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    volunteer = visible_volunteer(session, actor, volunteer_id)
    form = RecordForm()
    if request.method == "GET":
        form.unpaid.data = False  # the declarations are made afresh for each entry
        form.not_job_duty.data = False
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            with savepoint():
                record = create_record(
                    session,
                    actor.organisation,
                    volunteer,
                    form.to_input(),
                    actor,
                    late_after_working_days=current_app.config["LATE_ENTRY_WORKING_DAYS"],
                )
        except VerifierError as error:
            form_errors, status = show_errors(form, error), error.status
        else:
            flash(_("Record saved"), "success")
            if record.entered_late:
                flash(
                    _(
                        "This record was entered more than %(n)d working days after the activity "
                        "and is marked as late",
                        n=current_app.config["LATE_ENTRY_WORKING_DAYS"],
                    ),
                    "warning",
                )
            return redirect(url_for("records.detail", record_id=record.id))
    elif request.method == "POST":
        status = 422
    return render_template(
        "records/new.html", form=form, volunteer=volunteer, form_errors=form_errors
    ), status


@bp.get("/records/<int:record_id>")
@roles(*READERS)
def detail(record_id: int) -> Any:
    actor = require_actor()
    record = visible_record(get_session(), actor, record_id)
    return render_template(
        "records/detail.html",
        record=record,
        source_labels=SOURCE_LABELS,
        may_change=_may_change(actor, record),
    )


@bp.route("/records/<int:record_id>/correct", methods=["GET", "POST"])
@roles(*ORG_USERS)
def correct(record_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    record = visible_record(session, actor, record_id)
    form = CorrectionForm()
    if request.method == "GET":
        form.fill_from(record)
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            with savepoint():
                correct_record(session, record, form.to_input(), form.reason.data or "", actor)
        except VerifierError as error:
            form_errors, status = show_errors(form, error), error.status
        else:
            flash(_("Correction saved as revision %(n)d", n=record.revision), "success")
            return redirect(url_for("records.detail", record_id=record.id))
    elif request.method == "POST":
        status = 422
    return render_template(
        "records/correct.html", form=form, record=record, form_errors=form_errors
    ), status


@bp.route("/records/<int:record_id>/void", methods=["GET", "POST"])
@roles(*ORG_USERS)
def void(record_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    record = visible_record(session, actor, record_id)
    form = VoidForm()
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            with savepoint():
                void_record(session, record, form.reason.data or "", actor)
        except VerifierError as error:
            form_errors, status = show_errors(form, error), error.status
        else:
            flash(_("Record voided"), "success")
            return redirect(url_for("records.detail", record_id=record.id))
    return render_template(
        "records/void.html", form=form, record=record, form_errors=form_errors
    ), status


@bp.get("/records/<int:record_id>/history")
@roles(*READERS)
def history(record_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    record = visible_record(session, actor, record_id)
    revisions = revisions_of(session, record)
    entries = [
        (entry, _readable_details(entry.details))
        for entry in entries_for(session, "service_record", record.id)
    ]
    return render_template(
        "records/history.html",
        record=record,
        revisions=[(rev, _changed_fields(prev, rev)) for prev, rev in _pairs(revisions)],
        entries=entries,
        moves=reassignments_of(session, record),
        kind_labels=KIND_LABELS,
        field_labels=FIELD_LABELS,
    )


def _may_change(actor: Any, record: ServiceRecord) -> bool:
    return (
        actor.is_org_user
        and actor.organisation_id == record.organisation_id
        and record.status == RecordStatus.ACTIVE
        and record.organisation.status == OrgStatus.ACTIVE
    )


def _pairs(revisions: list[RecordRevision]) -> list[tuple[RecordRevision | None, RecordRevision]]:
    return list(zip([None, *revisions[:-1]], revisions, strict=True))


def _changed_fields(before: RecordRevision | None, after: RecordRevision) -> list[str]:
    if before is None:
        return []
    return [f for f in CONTENT_FIELDS if getattr(before, f) != getattr(after, f)]


def _readable_details(details: str) -> list[tuple[str, str]]:
    try:
        data = json.loads(details or "{}")
    except ValueError:
        return [("", details)]
    if not isinstance(data, dict):
        return [("", str(data))]
    return [
        (key, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
        for key, value in data.items()
    ]

"""The volunteer's own pages (/me): their records, totals and star level; confirm and dispute."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from verifier.api.schemas import validate
from verifier.auth.access import require_actor, roles
from verifier.auth.models import VOLUNTEER, User
from verifier.complaints.forms import DISPUTE_KIND_LABELS, REQUEST_STATUS_LABELS
from verifier.config import star_thresholds
from verifier.db import get_session, savepoint
from verifier.errors import VerifierError
from verifier.labels import RECORD_FIELD
from verifier.portal.record_forms import ConfirmForm, DisputeForm
from verifier.portal.record_labels import CONFIRMATION, MY_RECORD_STATUS, REVISION_KIND
from verifier.portal.record_limits import dispute_limit
from verifier.portal.record_schemas import DisputeCreate
from verifier.portal.records import (
    MyRecord,
    confirm_record,
    dispute_record,
    history,
    list_my_records,
    own_volunteer,
    show_my_record,
    summary,
)
from verifier.timeutil import local_today
from verifier.web.forms import filled, show_errors
from verifier.web.paging import Page, requested_page
from verifier.web.redirects import safe_local_target

bp = Blueprint("portal", __name__, url_prefix="/me")

PER_PAGE = 20


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "my_record_status_labels": MY_RECORD_STATUS,
        "confirmation_labels": CONFIRMATION,
        "dispute_kind_labels": DISPUTE_KIND_LABELS,
        "request_status_labels": REQUEST_STATUS_LABELS,
        "today": local_today(),
    }


@bp.get("")
@roles(VOLUNTEER)
def home() -> Any:
    """The volunteer's home: star level, totals per year and organisation, their records."""
    actor = require_actor()
    session = get_session()
    number = requested_page()
    rows, total = list_my_records(session, actor, page=number, per_page=PER_PAGE)
    return render_template(
        "portal/home.html",
        volunteer=own_volunteer(session, actor),
        summary=summary(session, actor, star_thresholds(current_app.config["STAR_THRESHOLDS"])),
        page=Page(rows, number, PER_PAGE, total, {}),
    )


def _record_page(
    session: Session,
    actor: User,
    mine: MyRecord,
    *,
    dispute_form: DisputeForm | None = None,
    form_errors: list[str] | None = None,
    status: int = 200,
) -> Any:
    return render_template(
        "portal/record.html",
        mine=mine,
        record=mine.record,
        changes=history(session, mine.record),
        dispute_form=dispute_form or DisputeForm(formdata=None),
        form_errors=form_errors or [],
        field_labels=RECORD_FIELD,
        revision_kind_labels=REVISION_KIND,
    ), status


@bp.get("/records/<int:record_id>")
@roles(VOLUNTEER)
def record(record_id: int) -> Any:
    """One record: what it says, its history, and the confirm and dispute forms."""
    actor = require_actor()
    session = get_session()
    return _record_page(session, actor, show_my_record(session, actor, record_id))


@bp.post("/records/<int:record_id>/confirm")
@roles(VOLUNTEER)
def confirm(record_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    mine = show_my_record(session, actor, record_id)  # another volunteer's record: 404
    form = ConfirmForm()
    try:
        with savepoint():
            confirm_record(session, actor, record_id)
    except VerifierError as error:
        return _record_page(
            session, actor, mine, form_errors=show_errors(form, error), status=error.status
        )
    flash(_("Thank you: you confirmed this record"), "success")
    target = safe_local_target(form.next.data) or url_for("portal.record", record_id=record_id)
    return redirect(target)


@bp.post("/records/<int:record_id>/dispute")
@roles(VOLUNTEER)
@dispute_limit
def dispute(record_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    mine = show_my_record(session, actor, record_id)  # another volunteer's record: 404
    form = DisputeForm()
    try:
        with savepoint():
            body = validate(DisputeCreate, filled(form, "kind", "reason"))
            request = dispute_record(session, actor, record_id, kind=body.kind, reason=body.reason)
    except VerifierError as error:
        errors = show_errors(form, error)
        return _record_page(
            session, actor, mine, dispute_form=form, form_errors=errors, status=error.status
        )
    flash(
        _(
            "Your dispute was sent to %(org)s; they must answer by %(day)s",
            org=mine.record.organisation.name,
            day=request.due_on.isoformat() if request.due_on else "—",
        ),
        "success",
    )
    return redirect(url_for("portal.record", record_id=record_id))

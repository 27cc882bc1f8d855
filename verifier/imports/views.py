"""Pages for imports: the upload form and the row report."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField
from wtforms.validators import DataRequired

from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER
from verifier.db import get_session, savepoint
from verifier.errors import VerifierError
from verifier.imports.api import uploaded_file
from verifier.imports.jobs import queue_import, runs_as_job
from verifier.imports.readers import human_size
from verifier.imports.schemas import CHINESE_HEADERS, OPTIONAL, REQUIRED
from verifier.imports.services import import_records
from verifier.jobs.api import request_locale
from verifier.orgs.models import Organisation
from verifier.web.forms import show_errors

bp = Blueprint("imports", __name__)


class ImportForm(FlaskForm):
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a CSV or XLSX file"))])
    declaration = BooleanField(
        _l("The service in these rows was unpaid and not part of the volunteers' jobs"),
        validators=[
            DataRequired(
                _l(
                    "Confirm that the service was unpaid and not part of the volunteers' jobs: "
                    "paid work and job duties may not be recorded as volunteering"
                )
            )
        ],
    )
    dry_run = BooleanField(_l("Dry run: check every row and report; write nothing"))
    all_or_nothing = BooleanField(_l("All or nothing: write nothing if any row is rejected"))


def _column_table() -> list[dict[str, Any]]:
    return [
        {"name": name, "chinese": CHINESE_HEADERS[name], "required": name in REQUIRED}
        for name in (*REQUIRED, *OPTIONAL)
    ]


@bp.route("/imports", methods=["GET", "POST"])
@roles(ORG_ADMIN, ORG_RECORDER)
def upload() -> Any:
    """Show the upload form; on submit, import the file and show the row report."""
    actor = require_actor()
    # read the upload first, so that an oversize body gets the import's own message
    uploaded_file()
    form = ImportForm()
    report = None
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        session = get_session()
        org = session.get(Organisation, actor.organisation_id)
        assert org is not None  # an organisation role always has one
        upload = form.file.data
        try:
            with savepoint():
                if runs_as_job(upload.stream):
                    job = queue_import(
                        session,
                        org,
                        actor,
                        upload.stream,
                        upload.filename or "upload",
                        dry_run=bool(form.dry_run.data),
                        all_or_nothing=bool(form.all_or_nothing.data),
                        declaration="form",
                        locale=request_locale(),
                    )
                    return redirect(url_for("jobs.detail", job_id=job.id), 303)
                report = import_records(
                    session,
                    org,
                    actor,
                    upload.stream,
                    upload.filename or "upload",
                    dry_run=bool(form.dry_run.data),
                    all_or_nothing=bool(form.all_or_nothing.data),
                    max_bytes=int(current_app.config["IMPORT_MAX_BYTES"]),
                    late_after_working_days=int(current_app.config["LATE_ENTRY_WORKING_DAYS"]),
                    declaration="form",
                )
        except VerifierError as error:
            form_errors, status = show_errors(form, error), error.status
    elif form.is_submitted():
        status = 422
    return (
        render_template(
            "imports/upload.html",
            form=form,
            report=report,
            form_errors=form_errors,
            columns=_column_table(),
            max_size=human_size(int(current_app.config["IMPORT_MAX_BYTES"])),
        ),
        status,
    )


@bp.get("/imports/template.csv")
@roles(ORG_ADMIN, ORG_RECORDER)
def template() -> Any:
    """Download an empty import file: the Chinese header row, UTF-8 with BOM (opens in Excel)."""
    text = io.StringIO()
    csv.writer(text).writerow(CHINESE_HEADERS[name] for name in (*REQUIRED, *OPTIONAL))
    return Response(
        "\ufeff" + text.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=records-import-template.csv"},
    )

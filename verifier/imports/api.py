"""JSON API for imports: `POST /api/v1/records/import` (multipart field `file`)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from verifier.api import bp
from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER
from verifier.db import get_session
from verifier.errors import BadRequest, FieldError, PayloadTooLarge
from verifier.imports.jobs import queue_import, runs_as_job
from verifier.imports.readers import human_size
from verifier.imports.schemas import parse_flag
from verifier.imports.services import import_records
from verifier.jobs.api import accepted, prefers_async, request_locale
from verifier.orgs.models import Organisation


def uploaded_file(field_name: str = "file") -> FileStorage | None:
    """Return the uploaded file of a multipart request; refuse a body over the size limit."""
    try:
        upload = request.files.get(field_name)
    except RequestEntityTooLarge:
        raise PayloadTooLarge(
            _(
                "The upload is larger than the import limit of %(limit)s; split the file "
                "(the limit is set by VERIFIER_IMPORT_MAX_BYTES)",
                limit=human_size(int(current_app.config["IMPORT_MAX_BYTES"])),
            )
        ) from None
    if upload is None or not upload.filename:
        return None
    return upload


@bp.post("/records/import")
@roles(ORG_ADMIN, ORG_RECORDER)
def import_records_api() -> Any:
    """Import a CSV or XLSX file of service records for the caller's organisation.

    A file over `IMPORT_SYNC_MAX_BYTES` (or any file, with `Prefer: respond-async`) is imported
    by a job: 202 with the job, whose result is this report.
    """
    actor = require_actor()
    upload = uploaded_file()
    if upload is None:
        message = _("Send the file as multipart/form-data in the field 'file'")
        raise BadRequest(message, errors=[FieldError("file", "required", message)])
    dry_run = parse_flag(request.form.get("dry_run"), "dry_run")
    all_or_nothing = parse_flag(request.form.get("all_or_nothing"), "all_or_nothing")
    session = get_session()
    org = session.get(Organisation, actor.organisation_id)
    assert org is not None  # an organisation role always has one
    if runs_as_job(upload.stream, prefers_async()):
        job = queue_import(
            session,
            org,
            actor,
            upload.stream,
            upload.filename or "upload",
            dry_run=dry_run,
            all_or_nothing=all_or_nothing,
            declaration="implied",
            locale=request_locale(),
        )
        return accepted(job)
    report = import_records(
        session,
        org,
        actor,
        upload.stream,
        upload.filename or "upload",
        dry_run=dry_run,
        all_or_nothing=all_or_nothing,
        max_bytes=int(current_app.config["IMPORT_MAX_BYTES"]),
        late_after_working_days=int(current_app.config["LATE_ENTRY_WORKING_DAYS"]),
    )
    return jsonify(report.as_dict()), 200

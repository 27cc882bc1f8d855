"""JSON API for imports: `POST /api/v1/records/import` (multipart field `file`)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from pydantic import Field
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import InputModel, OutputModel, UploadedFile
from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER
from verifier.db import get_session
from verifier.errors import BadRequest, FieldError, PayloadTooLarge
from verifier.imports.jobs import queue_import, runs_as_job
from verifier.imports.readers import human_size
from verifier.imports.schemas import parse_flag
from verifier.imports.services import import_records
from verifier.jobs.api import ACCEPTED_TEXT, accepted, prefers_async, request_locale
from verifier.jobs.schemas import JobOut
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


class ImportForm(InputModel):
    """The import request: multipart/form-data."""

    file: UploadedFile = Field(description="The CSV or XLSX file.")
    dry_run: bool = Field(
        False, description="Check every row and write nothing (true/false, 1/0, yes/no, on/off)."
    )
    all_or_nothing: bool = Field(False, description="Write nothing if any row fails.")


class ImportRejection(OutputModel):
    line: int = Field(description="Line in the file (the header is line 1).")
    column: str = Field(
        description="The column's header as written in the file, or '' for the row."
    )
    field: str = Field(description="The field the rule is about (`id_number`, `minutes`, ...).")
    rule: str = Field(description="The rule broken (`id_checksum`, `no_overlap`, ...).")
    message: str


class ImportFile(OutputModel):
    name: str = Field(description="The file's name as uploaded.")
    sha256: str = Field(description="SHA-256 (hex) of the file's bytes.")
    size: int = Field(description="Bytes.")
    format: str = Field(description="`csv` or `xlsx`.")
    encoding: str = Field(description="The text encoding read (CSV), e.g. `utf-8`, `gb18030`.")


class ImportReportOut(OutputModel):
    """What an import did, or (a dry run) would do."""

    imported: int = Field(
        description="Rows imported; for a dry run, the rows a real run would import."
    )
    skipped: int = Field(
        description="Rows already recorded before (importing again never duplicates)."
    )
    rejected: list[ImportRejection] = Field(
        description="Each broken rule of each refused row (at most 1,000; see `rejected_total`)."
    )
    rejected_rows: int = Field(description="Rows refused.")
    rejected_total: int = Field(description="Broken rules over all refused rows.")
    rejected_truncated: bool = Field(description="`rejected` holds only the first 1,000.")
    dry_run: bool
    all_or_nothing: bool
    total_rows: int = Field(description="Data rows read (the header and blank rows not counted).")
    valid: int = Field(description="Rows that passed every rule.")
    new_volunteers: int = Field(description="Volunteers registered by this import.")
    written: bool = Field(description="Whether anything was written.")
    batch_id: int | None = Field(description="The import batch that holds the written records.")
    file: ImportFile
    columns: dict[str, str] = Field(
        description="Each field found, with its column's header as written in the file."
    )
    stopped_at_line: int | None = Field(
        None,
        description="Only when an all-or-nothing import run by a job stopped at this line "
        "because of a concurrent change (its rows were all checked first); the rows before it "
        "stay written.",
    )


@bp.post("/records/import")
@roles(ORG_ADMIN, ORG_RECORDER)
@operation(
    summary="Import records from a CSV or XLSX file",
    tag="records",
    description=(
        "Upload a file of service records for the caller's organisation as "
        "`multipart/form-data`, field `file`. Columns `name,id_type,id_number,activity,place,"
        "started_at,ended_at,minutes,content` or the Chinese headers `姓名,证件类型,证件号码,"
        "活动名称,服务地点,开始时间,结束时间,服务时长（分钟）,服务内容`; UTF-8 (with or "
        "without BOM) or GB18030/GBK; times like `2026-03-05 09:00` in local time. A volunteer "
        "not yet known is registered. With `dry_run` nothing is written and every row is "
        "checked; with `all_or_nothing` nothing is written if any row fails; otherwise every "
        "valid row is written and the others are reported. No file answers 400. A file beyond "
        "a cap is refused whole before any row is written, `errors[0].rule` naming the cap: "
        "413 for `max_rows` (100,000 rows), `max_unpacked_bytes` (200 MB unpacked), "
        "`max_zip_ratio` (a part compressed over 100 times), `max_shared_strings` (1,000,000), "
        "`max_shared_string_chars` (20,000,000), `max_part_bytes`, `max_unit_bytes`, "
        "`max_zip_members`; 422 for `max_columns` (256), `line_too_long` and a text encoding "
        "it cannot read; 415 for a file that is not a table (an image, an .xls or damaged "
        "workbook). A file larger than `VERIFIER_IMPORT_SYNC_MAX_BYTES` (default 64 KB) is "
        "imported by a job: " + ACCEPTED_TEXT + " 429 when the organisation already has too "
        "many jobs waiting."
    ),
    form=ImportForm,
    response=ImportReportOut,
    responses={202: ("Queued as a job; poll `Location` (GET /api/v1/jobs/{id}).", JobOut)},
    errors=(415, 429),
)
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

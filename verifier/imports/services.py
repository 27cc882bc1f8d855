"""Import service records in bulk from a CSV or XLSX file, with a per-row report.

Every row is written inside its own SAVEPOINT, and the whole import inside one more: a row that
breaks a rule is rolled back alone and reported; a dry run, or an all-or-nothing import with a
rejected row, rolls back the whole import. So a dry run reports exactly what a real run would do,
including rows of the same file checked against each other (overlap, 24 hours a day, duplicates),
and writes nothing, not even the batch or its audit entry.

A job (verifier/imports/jobs.py) writes a big import in batches instead (`ImportBatches`): it
commits every few hundred rows, with a checkpoint (the last line written and the report so far)
in the same transaction, so other writers wait for one short batch at most and an interrupted
import resumes after its last committed row, never importing a row twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import User
from verifier.errors import Conflict, Forbidden, ValidationError, VerifierError
from verifier.imports.readers import FileInfo, inspect_file, read_table, seekable
from verifier.imports.report import ImportReport, RowProblem
from verifier.imports.schemas import (
    HEADER_SEARCH_ROWS,
    Columns,
    ParsedRow,
    is_blank,
    looks_like_header,
    map_columns,
    parse_row,
)
from verifier.orgs.models import Organisation
from verifier.orgs.services import require_active
from verifier.records.attestation import attest_revisions
from verifier.records.models import ImportBatch, RecordSource, ServiceRecord
from verifier.records.services import create_record, dedupe_key_for, validate_record
from verifier.volunteers.models import Volunteer
from verifier.volunteers.services import (
    find_by_identity,
    is_member,
    register_volunteer,
    validate_volunteer,
)

# Fields of the services that are not columns, and the column a user should look at instead.
_FIELD_COLUMN = {"birth_date": "id_number", "guardian_consent": "id_number"}


@dataclass
class ImportBatches:
    """Write an import in short transactions, resumable (the mode of an import job).

    `commit(checkpoint)` commits the rows written so far together with the checkpoint (a JSON
    dict: the import batch, the last line written, the report so far); `resume` is the last
    checkpoint of an interrupted run. A batch ends after `rows` rows or `seconds` seconds.
    With `stop_on_reject` (the writing pass of an all-or-nothing import, whose rows were all
    checked first) the import stops at the first row refused now, because of a concurrent
    change, keeping the rows before it.
    """

    commit: Callable[[dict[str, Any]], None]
    resume: dict[str, Any] | None = None
    rows: int = 500
    seconds: float = 1.0
    stop_on_reject: bool = False


def require_importer(actor: User | None, org: Organisation) -> None:
    """Allow an organisation's own users (or the command line, actor None) to import."""
    if actor is not None and (not actor.is_org_user or actor.organisation_id != org.id):
        raise Forbidden(_("only the organisation's own users may import its records"))


def import_records(
    session: Session,
    org: Organisation,
    actor: User | None,
    stream: IO[bytes],
    filename: str,
    *,
    dry_run: bool = False,
    all_or_nothing: bool = False,
    max_bytes: int,
    late_after_working_days: int = 10,
    progress: Callable[[int, int | None, str], None] | None = None,
    actor_label: str | None = None,
    declaration: str = "implied",
    batches: ImportBatches | None = None,
) -> ImportReport:
    """Import a file of service records for an organisation; report every row that was refused.

    `progress(position, total, unit)` is called as rows are read (bytes for CSV, rows for XLSX).
    `declaration` says how the importer declared the rows unpaid and not job duty ("form": the
    upload page's tick-box; "implied": an API or command-line caller, by using the interface);
    it goes into the audit entry.
    """
    require_importer(actor, org)
    require_active(org)
    name = (filename or "upload").replace("\\", "/").rsplit("/", 1)[-1][:255] or "upload"
    stream, release = seekable(stream, max_bytes)
    try:
        info = inspect_file(stream, name, max_bytes)
        reader = read_table(stream, info, max_bytes)
        try:
            report = ImportReport(
                filename=name,
                dry_run=dry_run,
                all_or_nothing=all_or_nothing,
                file_sha256=info.sha256,
                file_size=info.size,
                file_format=info.kind,
                encoding=info.encoding,
            )
            run = _ImportRun(
                session,
                org,
                actor,
                info,
                report,
                late_after_working_days=late_after_working_days,
                actor_label=actor_label,
                declaration=declaration,
                batches=batches,
            )

            def tick(position: int) -> None:
                if progress is not None:
                    progress(position, reader.total, reader.unit)

            run.execute(reader.rows(), reader.position, tick)
        finally:
            reader.close()
    finally:
        release()
    return report


class _ImportRun:
    """One pass over the rows, inside one SAVEPOINT."""

    def __init__(
        self,
        session: Session,
        org: Organisation,
        actor: User | None,
        info: FileInfo,
        report: ImportReport,
        *,
        late_after_working_days: int,
        actor_label: str | None,
        declaration: str,
        batches: ImportBatches | None = None,
    ) -> None:
        self.session = session
        self.org = org
        self.actor = actor
        self.info = info
        self.report = report
        self.late_days = late_after_working_days
        self.actor_label = actor_label
        self.declaration = declaration
        self.columns: Columns | None = None
        # volunteers this import already registered or linked: (id_type, number) -> (id, name)
        self.known: dict[tuple[str, str], tuple[int, str]] = {}
        # registrations and links to append to the audit log when the import is written:
        # (action, volunteer id, volunteer number, id type); plain values, not ORM objects
        self.volunteer_events: list[tuple[str, int, str, str]] = []
        self.batches = batches

    def execute(self, rows: Any, position: Callable[[], int], tick: Callable[[int], None]) -> None:
        if self.batches is not None:
            self._execute_in_batches(rows, position, tick, self.batches)
            return
        session = self.session
        outer = session.begin_nested()
        try:
            batch = self._new_batch()
            for row in self._records(rows, position, tick):
                self._row(row.line, row.cells, row.error, batch.id)
            self._finish(outer, batch)
        except BaseException:
            if outer.is_active:
                outer.rollback()
            raise

    def _new_batch(self) -> ImportBatch:
        batch = ImportBatch(
            organisation_id=self.org.id,
            filename=self.info.filename,
            file_sha256=self.info.sha256,
            encoding=self.info.encoding,
            created_by_id=self.actor.id if self.actor else None,
        )
        self.session.add(batch)
        self.session.flush()
        return batch

    def _records(
        self, rows: Any, position: Callable[[], int], tick: Callable[[int], None]
    ) -> Iterator[Any]:
        """Find the header row, then yield the rows below it."""
        first_nonblank: tuple[int, list[Any]] | None = None
        for row in rows:
            tick(position())
            if self.columns is None:
                if row.error or is_blank(row.cells):
                    continue
                if first_nonblank is None:
                    first_nonblank = (row.line, row.cells)
                if looks_like_header(row.cells):
                    self._set_columns(row.cells, row.line)
                elif row.line >= HEADER_SEARCH_ROWS:
                    self._set_columns(first_nonblank[1], first_nonblank[0])
                continue
            yield row
        if self.columns is None:
            if first_nonblank is None:
                raise ValidationError(
                    _("The file has no header row and no records"), field="file", rule="empty"
                )
            self._set_columns(first_nonblank[1], first_nonblank[0])

    def _execute_in_batches(
        self,
        rows: Any,
        position: Callable[[], int],
        tick: Callable[[int], None],
        batches: ImportBatches,
    ) -> None:
        """Write the rows in short committed batches, from the checkpoint of an earlier run."""
        session = self.session
        report = self.report
        if report.dry_run:
            raise ValueError("a dry run writes nothing: it is never run in batches")
        resume = batches.resume
        if resume:
            batch = session.get(ImportBatch, resume["batch_id"])
            if batch is None:  # pragma: no cover - the checkpoint commits with its batch
                raise RuntimeError("the checkpoint's import batch is missing")
            report.restore(resume["report"])
            done_line = int(resume["line"])
        else:
            batch = self._new_batch()
            done_line = 0
        pending, started = 0, time.monotonic()
        for row in self._records(rows, position, tick):
            if row.line <= done_line:
                continue  # written by an earlier run (with the checkpoint that says so)
            refused = report.rejected_rows
            self._row(row.line, row.cells, row.error, batch.id)
            if batches.stop_on_reject and report.rejected_rows > refused:
                report.stopped_at_line = row.line
                break
            pending += 1
            if pending >= batches.rows or time.monotonic() - started >= batches.seconds:
                self._commit_batch(batch, row.line, batches)
                pending, started = 0, time.monotonic()
        self._finish(None, batch)

    def _commit_batch(self, batch: ImportBatch, line: int, batches: ImportBatches) -> None:
        """Commit the rows so far, their audit entries and counts, and where to resume."""
        report = self.report
        batch.rows_total = report.total_rows
        batch.rows_imported = report.valid
        batch.rows_skipped = report.skipped
        batch.rows_rejected = report.rejected_rows
        self.session.flush()
        self._audit_volunteers(batch)
        batches.commit({"batch_id": batch.id, "line": line, "report": report.as_dict()})

    def _set_columns(self, cells: list[Any], line: int) -> None:
        self.columns = map_columns(cells, line)
        self.report.columns = dict(self.columns.labels)

    def _problem(self, line: int, field_name: str, rule: str, message: str) -> RowProblem:
        assert self.columns is not None
        column_field = _FIELD_COLUMN.get(field_name, field_name)
        column = self.columns.labels.get(column_field, "")
        return RowProblem(line, column, field_name, rule, message)

    def _reject(self, line: int, problems: list[RowProblem]) -> None:
        self.report.rejected_rows += 1
        for problem in problems:
            self.report.reject(problem)

    def _row(self, line: int, cells: list[Any], error: str, batch_id: int) -> None:
        assert self.columns is not None
        report = self.report
        if error:
            report.total_rows += 1
            self._reject(line, [RowProblem(line, "", "", "csv_syntax", error)])
            return
        if is_blank(cells):
            return
        report.total_rows += 1
        width = self.columns.width
        too_many = len(cells) > width and not is_blank(cells[width:])
        too_few = self.info.kind == "csv" and len(cells) < width
        if too_many or too_few:
            message = _(
                "this row has %(n)d fields but the header has %(width)d; "
                "a comma or a quote may be missing or extra",
                n=len(cells),
                width=width,
            )
            self._reject(line, [RowProblem(line, "", "", "field_count", message)])
            return
        parsed = parse_row(cells, self.columns)
        if parsed.problems:
            self._reject(line, [self._problem(line, f, r, m) for f, r, m in parsed.problems])
            return
        savepoint = self.session.begin_nested()
        try:
            outcome, volunteer, event = self._write(parsed, batch_id)
        except VerifierError as exc:
            savepoint.rollback()
            first = exc.errors[0] if exc.errors else None
            problem = self._problem(
                line,
                first.field if first else "",
                first.rule if first else exc.code,
                first.message if first else exc.message,
            )
            self._reject(line, [problem])
            return
        except IntegrityError:
            # a concurrent writer got there first; the row can be imported again later
            savepoint.rollback()
            message = _("this row conflicts with a record written at the same time; import again")
            self._reject(line, [RowProblem(line, "", "", "conflict", message)])
            return
        savepoint.commit()
        self.known[self._identity(parsed)] = (volunteer.id, volunteer.name)
        if event is not None:
            self.volunteer_events.append(
                (event, volunteer.id, volunteer.volunteer_number, volunteer.id_type)
            )
            if event == "volunteer.create":
                report.new_volunteers += 1
        if outcome == "skipped":
            report.skipped += 1
        else:
            report.valid += 1

    @staticmethod
    def _identity(parsed: ParsedRow) -> tuple[str, str]:
        return (parsed.volunteer.id_type, parsed.volunteer.id_number)

    def _volunteer(self, parsed: ParsedRow) -> tuple[Volunteer, str | None]:
        """Register or link the row's volunteer; once per person and import (rows repeat people).

        Returns the volunteer and the audit action it needs ("volunteer.create" or
        "volunteer.link"), written by `_finish`: audit entries serialise every writer until
        commit, so a long import appends them all at its end.
        """
        session = self.session
        known = self.known.get(self._identity(parsed))
        if known is not None and known[1] == parsed.volunteer.name:
            volunteer = session.get(Volunteer, known[0])
            if volunteer is not None:
                return volunteer, None
        existing = find_by_identity(session, parsed.volunteer.id_type, parsed.volunteer.id_number)
        was_member = existing is not None and is_member(session, self.org.id, existing.id)
        try:
            volunteer, created = register_volunteer(
                session, self.org, parsed.volunteer, self.actor, audit=False
            )
        except Conflict as exc:
            raise ValidationError(exc.message, field="name", rule="name_matches_id") from exc
        if created:
            return volunteer, "volunteer.create"
        return volunteer, (None if was_member else "volunteer.link")

    def _write(self, parsed: ParsedRow, batch_id: int) -> tuple[str, Volunteer, str | None]:
        session = self.session
        parsed.volunteer = validate_volunteer(parsed.volunteer)
        clean = validate_record(parsed.record)
        volunteer, event = self._volunteer(parsed)
        if _already_recorded(session, self.org.id, volunteer, clean):
            return "skipped", volunteer, event
        create_record(
            session,
            self.org,
            volunteer,
            clean,
            self.actor,
            source=RecordSource.IMPORT,
            import_batch_id=batch_id,
            late_after_working_days=self.late_days,
            audit=False,  # the batch's audit entry covers its records, linked by import_batch_id
        )
        return "created", volunteer, event

    def _audit_volunteers(self, batch: ImportBatch) -> None:
        """Append the registrations and links of volunteers not yet in the audit log."""
        for action, volunteer_id, number, id_type in self.volunteer_events:
            details: dict[str, Any] = {"volunteer_number": number, "import_batch_id": batch.id}
            if action == "volunteer.create":
                details["id_type"] = id_type
            record_event(
                self.session,
                self.actor,
                action,
                "volunteer",
                volunteer_id,
                organisation_id=self.org.id,
                details=details,
                actor_label=self.actor_label,
            )
        self.volunteer_events = []

    def _finish(self, outer: Any, batch: ImportBatch) -> None:
        """Close the import (`outer` is its SAVEPOINT, or None when written in batches)."""
        report = self.report
        if report.dry_run or (report.all_or_nothing and report.rejected_rows and outer):
            outer.rollback()
            return
        batch.rows_total = report.total_rows
        batch.rows_imported = report.imported
        batch.rows_skipped = report.skipped
        batch.rows_rejected = report.rejected_rows
        self.session.flush()
        self._audit_volunteers(batch)
        record_event(
            self.session,
            self.actor,
            "records.import",
            "import_batch",
            batch.id,
            organisation_id=self.org.id,
            details={
                "filename": batch.filename,
                "sha256": self.info.sha256,
                "size": self.info.size,
                "format": self.info.kind,
                "encoding": self.info.encoding,
                "all_or_nothing": report.all_or_nothing,
                "rows": report.total_rows,
                "imported": report.imported,
                "skipped": report.skipped,
                "rejected": report.rejected_rows,
                "new_volunteers": report.new_volunteers,
                "declaration": self.declaration,
                # every revision the batch wrote, by content: one query, digests in Python
                "attests": attest_revisions(
                    self.session, ServiceRecord.import_batch_id == batch.id
                ),
            },
            actor_label=self.actor_label,
        )
        if outer is not None:
            outer.commit()
        report.written = True
        report.batch_id = batch.id


def _already_recorded(session: Session, org_id: int, volunteer: Volunteer, clean: Any) -> bool:
    key = dedupe_key_for(volunteer.id, clean)
    return (
        session.scalar(
            select(ServiceRecord.id).where(
                ServiceRecord.organisation_id == org_id, ServiceRecord.dedupe_key == key
            )
        )
        is not None
    )

"""`verifier import records FILE --org USCC [--dry-run] [--all-or-nothing]`.

Exit status: 0 when every row was imported or skipped as already recorded; 1 when rows were
rejected (without --all-or-nothing the valid rows were imported; with it nothing was written);
2 when the file or the arguments were refused as a whole (missing, too big, binary, wrong
encoding, unknown or missing columns, unknown organisation) and nothing was read or written.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from verifier.commands import transaction
from verifier.errors import VerifierError
from verifier.imports.readers import human_size
from verifier.imports.report import ImportReport
from verifier.imports.services import import_records
from verifier.orgs.services import get_by_uscc

EXIT_REJECTED = 1
EXIT_REFUSED = 2


@click.group("import")
def import_group() -> None:
    """Import records from files."""


def _refuse(message: str, details: list[str] | None = None) -> None:
    click.echo(f"error: {message}", err=True)
    for line in details or []:
        click.echo(f"  {line}", err=True)
    click.echo("nothing was imported", err=True)
    sys.exit(EXIT_REFUSED)


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in some containers
        return "cli"


@import_group.command("records")
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@click.option(
    "--org", "org_uscc", required=True, help="the organisation's unified social credit code"
)
@click.option("--dry-run", is_flag=True, help="check every row and report; write nothing")
@click.option("--all-or-nothing", is_flag=True, help="write nothing if any row is rejected")
@with_appcontext
def import_records_command(file: Path, org_uscc: str, dry_run: bool, all_or_nothing: bool) -> None:
    """Import service records from a CSV (UTF-8 or GB18030) or XLSX file.

    Exit status 0: all rows imported or already recorded; 1: some rows were rejected;
    2: the file or the arguments were refused and nothing was imported.
    """
    if not file.exists():
        _refuse(f"no such file: {file}")
    if not file.is_file():
        _refuse(f"not a file: {file}")
    try:
        handle = file.open("rb")
    except OSError as exc:
        _refuse(f"cannot read {file}: {exc.strerror or exc}")
    bar = tqdm(total=None, file=sys.stderr, disable=None, leave=False, mininterval=0.2)

    def progress(position: int, total: int | None, unit: str) -> None:
        if bar.disable:
            return
        if bar.total != total:
            bar.total = total
            bar.unit = unit
            bar.unit_scale = unit == "B"
        bar.update(position - bar.n)

    try:
        with handle, transaction() as session:
            org = get_by_uscc(session, org_uscc)
            report = import_records(
                session,
                org,
                None,
                handle,
                file.name,
                dry_run=dry_run,
                all_or_nothing=all_or_nothing,
                max_bytes=int(current_app.config["IMPORT_MAX_BYTES"]),
                late_after_working_days=int(current_app.config["LATE_ENTRY_WORKING_DAYS"]),
                progress=progress,
                actor_label=_operator(),
            )
    except VerifierError as exc:
        bar.close()
        _refuse(exc.message, [f"{e.field}: {e.message}" for e in exc.errors[1:]])
        return
    bar.close()
    _print_summary(report)
    if report.rejected_rows:
        sys.exit(EXIT_REJECTED)


def _print_summary(report: ImportReport) -> None:
    encoding = f", {report.encoding}" if report.encoding else ""
    click.echo(
        f"file: {report.filename} ({report.file_format.upper()}{encoding}, "
        f"{human_size(report.file_size)}, sha256 {report.file_sha256})"
    )
    verb = "would import" if report.dry_run else "imported"
    click.echo(
        f"rows: {report.total_rows}  {verb}: {report.imported}  "
        f"skipped (already recorded): {report.skipped}  rejected: {report.rejected_rows}"
    )
    if report.new_volunteers:
        verb = "would register" if report.dry_run else "registered"
        click.echo(f"new volunteers {verb}: {report.new_volunteers}")
    if report.problems:
        click.echo("rejected rows:")
        for problem in report.problems:
            where = f"line {problem.line}" + (f", {problem.column}" if problem.column else "")
            click.echo(f"  {where} [{problem.rule}]: {problem.message}")
        if report.truncated:
            click.echo(
                f"  ... only the first {len(report.problems)} of {report.problems_total} "
                "problems are listed"
            )
    if report.dry_run:
        tail = "Dry run: nothing was written."
        if report.rejected_rows:
            tail += f" {report.rejected_rows} rows would be rejected."
    elif report.all_or_nothing and report.rejected_rows:
        tail = (
            f"Nothing was written: {report.rejected_rows} rows were rejected "
            "and --all-or-nothing was given."
        )
    elif report.rejected_rows:
        tail = (
            f"{report.rejected_rows} rows were rejected and not imported; "
            f"the other {report.imported} were imported (batch {report.batch_id})."
        )
    else:
        tail = f"Imported {report.imported} rows (batch {report.batch_id})."
    click.echo(tail)

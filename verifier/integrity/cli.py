"""`verifier audit ...` commands.

`verifier audit verify` exit status: 0 the log is intact (warnings may be printed), 1 the log
is broken (the first problem is named), 2 a checkpoint copy given could not be read or the
arguments are wrong.
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from verifier.commands import handle_errors, transaction
from verifier.db import get_session
from verifier.integrity.checkpoints import latest_checkpoint, make_checkpoint
from verifier.integrity.verify import UnusableInput, load_copy, verify_integrity
from verifier.records.attestation import attest_legacy

EXIT_OK = 0
EXIT_BROKEN = 1
EXIT_UNUSABLE = 2
MAX_SHOWN = 20


@click.group("audit", cls=AppGroup)
def audit_group() -> None:
    """The hash-chained audit log."""


@audit_group.command("verify")
@click.option(
    "--checkpoints",
    "sources",
    multiple=True,
    metavar="FILE_OR_URL",
    help="A copy of the checkpoint list kept elsewhere: a JSON file as "
    "GET /api/v1/audit/checkpoints serves it, or that URL (its pages are followed). "
    "May be given more than once. The database's own checkpoints are always compared.",
)
@click.option(
    "--records/--no-records",
    default=True,
    show_default=True,
    help="Also check that every record revision is attested by an audit entry.",
)
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for a URL.")
def audit_verify(sources: tuple[str, ...], records: bool, timeout: float) -> None:
    """Check the chain, its signed checkpoints and the attested records; name the first problem.

    Exit status: 0 intact, 1 broken, 2 a checkpoint copy could not be read.
    """
    try:
        copies = [load_copy(source, timeout) for source in sources]
    except UnusableInput as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_UNUSABLE)
    report = verify_integrity(get_session(), copies, records=records)
    problems = list(report.problems)
    if not report.chain.ok:
        chain = report.chain
        click.echo(
            f"audit log BROKEN at entry {chain.broken_id}: {chain.problem} "
            f"({chain.checked} entries before it are intact)",
            err=True,
        )
    elif problems:
        click.echo(f"audit log BROKEN: {problems.pop(0)}", err=True)
    if not report.ok:
        for problem in problems[:MAX_SHOWN]:
            click.echo(f"  also: {problem}", err=True)
        if len(problems) > MAX_SHOWN:
            click.echo(f"  and {len(problems) - MAX_SHOWN} more problems", err=True)
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
        sys.exit(EXIT_BROKEN)
    click.echo(f"audit log intact: {report.chain.checked} entries checked")
    sources_text = ", ".join(f"{n} from {source}" for source, n in report.sources.items())
    if report.latest is not None:
        click.echo(
            f"checkpoints: {report.checkpoints} checked ({sources_text}); the latest, "
            f"#{report.latest.seq}, covers {report.latest.count} entries"
        )
    else:
        click.echo(f"checkpoints: none to compare ({sources_text})")
    if report.records is not None:
        click.echo(
            f"records: {report.records.records} records, {report.records.attested} of "
            f"{report.records.revisions} revisions attested by the log"
        )
    for warning in report.warnings:
        click.echo(f"warning: {warning}")


@audit_group.command("checkpoint")
@handle_errors
def audit_checkpoint() -> None:
    """Sign a checkpoint of the chain's head now (when entries were appended since the last)."""
    with transaction() as session:
        checkpoint = make_checkpoint(session)
        latest = latest_checkpoint(session) if checkpoint is None else None
    if checkpoint is not None:
        click.echo(
            f"checkpoint #{checkpoint.seq}: {checkpoint.entry_count} entries, head "
            f"{checkpoint.head_hash}, signed by key {checkpoint.kid}"
        )
    elif latest is not None:
        click.echo(
            f"no new entries since checkpoint #{latest.seq} ({latest.entry_count} entries); "
            "nothing to sign"
        )
    else:
        click.echo("the audit log is empty; nothing to sign")


@audit_group.command("attest-legacy")
@handle_errors
def audit_attest_legacy() -> None:
    """Attest, once, the record revisions written before records were attested (after upgrading).

    Check the data first: what this attests is taken as it is now.
    """
    with transaction() as session:
        attested = attest_legacy(session)
    if attested is None:
        click.echo("no legacy record revisions: nothing to attest")
        return
    first, last = attested["revisions"][0][0], attested["revisions"][-1][1]
    click.echo(
        f"attested {attested['count']} legacy record revisions (rows {first}–{last}) in one "
        "audit entry (records.attest_legacy)"
    )

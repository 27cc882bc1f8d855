"""`verifier volunteers duplicates | merge | rekey`: bring stored identifiers into normal form.

The documented steps after upgrading (README, "Command line"):

1. `verifier volunteers duplicates` lists volunteers that are one person (the same ID number in
   normal form) and volunteers whose stored ID number is not in normal form; ID numbers are shown
   masked only. Exit 0: nothing to do; 1: something is listed; 2: the command failed.
2. For each group: `verifier volunteers merge --keep V... --merge V... --reason TEXT`.
   Exit 0: merged; 1: merged, and the kept volunteer now has overlapping records or days over
   24 hours (listed, for their organisations to correct or void); 2: refused, nothing changed.
3. `verifier volunteers rekey` re-keys the volunteers that stand alone. Exit 0: every live
   volunteer is in normal form; 1: some are left (listed: merge them first, or they cannot be
   normalised); 2: the command failed.
4. `verifier volunteers duplicates` again: exit 0.
"""

from __future__ import annotations

import getpass
import sys

import click
from flask.cli import AppGroup

from verifier.commands import transaction
from verifier.crypto.encryption import DecryptionError
from verifier.db import get_session
from verifier.errors import VerifierError
from verifier.identifiers import mask_name
from verifier.identities.duplicates import (
    StoredIdentity,
    find_duplicates,
    rekey_volunteers,
    suggested_keep,
)
from verifier.identities.merges import MergeResult, merge_volunteers
from verifier.timeutil import to_local

EXIT_FOUND = 1
EXIT_REFUSED = 2
UNDECRYPTABLE = "a stored ID number cannot be decrypted ({problem}); nothing was changed"


@click.group("volunteers", cls=AppGroup)
def volunteers_group() -> None:
    """Volunteers: duplicates, merges, identifiers in normal form."""


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in some containers
        return "cli"


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_REFUSED)


def _row(row: StoredIdentity) -> str:
    form = "normal form" if row.in_normal_form else "NOT in normal form"
    return (
        f"  {row.volunteer_number}  {mask_name(row.name)}  "
        f"created {to_local(row.created_at):%Y-%m-%d}  {row.records} records  "
        f"{row.organisations} organisations  [{form}]"
    )


@volunteers_group.command("duplicates")
def duplicates_command() -> None:
    """List volunteers that are one person, and identifiers not in normal form (masked only).

    Exit status 0: every live volunteer is one person and in normal form; 1: something is
    listed; 2: the command failed.
    """
    try:
        report = find_duplicates(get_session())
    except VerifierError as exc:
        _fail(exc.message)
    except DecryptionError as exc:
        _fail(UNDECRYPTABLE.format(problem=exc))
    for group in report.groups:
        first = group[0]
        names = "" if len({r.name for r in group}) == 1 else "; the names differ: check them"
        click.echo(
            f"same person, {len(group)} volunteers: {first.id_type} {first.id_masked}{names}"
        )
        for row in group:
            click.echo(_row(row))
        keep = suggested_keep(group)
        merge = " ".join(f"--merge {r.volunteer_number}" for r in group if r is not keep)
        click.echo(
            f"  merge with: verifier volunteers merge --keep {keep.volunteer_number} {merge} "
            '--reason "..."'
        )
    if report.not_normal:
        click.echo(
            f"{len(report.not_normal)} volunteers alone with an ID number not in normal form "
            "(fix with: verifier volunteers rekey):"
        )
        for row in report.not_normal:
            click.echo(f"  {row.volunteer_number}  {row.id_type} {row.id_masked}")
    if report.unreadable:
        click.echo(
            f"{len(report.unreadable)} volunteers whose ID number has no normal form "
            "(check the person's document and correct by hand):"
        )
        for row in report.unreadable:
            click.echo(f"  {row.volunteer_number}  {row.id_type} {row.id_masked}  ({row.problem})")
    groups = len(report.groups)
    click.echo(
        f"checked {report.checked} volunteers: {groups} groups of duplicates, "
        f"{len(report.not_normal)} to re-key, {len(report.unreadable)} without a normal form"
    )
    sys.exit(0 if report.clean else EXIT_FOUND)


def _conflicts(result: MergeResult) -> None:
    for overlap in result.overlaps:
        click.echo(
            f"  overlap: record {overlap.first_id} (organisation {overlap.first_org}) and record "
            f"{overlap.second_id} (organisation {overlap.second_org}), from "
            f"{to_local(overlap.started_at):%Y-%m-%d %H:%M}"
        )
    for day in result.long_days:
        click.echo(f"  over 24 hours: {day.day.isoformat()} has {day.minutes} minutes")


@volunteers_group.command("merge")
@click.option("--keep", "keep", required=True, help="volunteer number of the volunteer kept")
@click.option(
    "--merge", "merge", required=True, multiple=True, help="volunteer number merged into it"
)
@click.option("--reason", required=True, help="why: goes into every record's history")
@click.option(
    "--allow-different-names", is_flag=True, help="merge although the names differ (checked)"
)
def merge_command(
    keep: str, merge: tuple[str, ...], reason: str, allow_different_names: bool
) -> None:
    """Merge volunteers that are one person into the one kept, keeping every record.

    Exit status 0: merged; 1: merged, with overlapping records or days over 24 hours listed for
    their organisations to correct; 2: refused, nothing changed.
    """
    try:
        with transaction() as session:
            result = merge_volunteers(
                session,
                keep,
                list(merge),
                reason=reason,
                operator=_operator(),
                allow_different_names=allow_different_names,
            )
            kept = result.kept.volunteer_number
            merged = [v.volunteer_number for v in result.merged]
    except VerifierError as exc:
        click.echo(f"error: {exc.message}", err=True)
        click.echo("nothing was merged", err=True)
        sys.exit(EXIT_REFUSED)
    except DecryptionError as exc:
        _fail(UNDECRYPTABLE.format(problem=exc))
    click.echo(
        f"merged {', '.join(merged)} into {kept}: {len(result.moved_records)} records and "
        f"{len(result.moved_certificates)} certificates moved, "
        f"{len(result.linked_organisations)} organisations linked"
    )
    if result.has_conflicts:
        click.echo(
            f"{kept} now has {len(result.overlaps)} overlapping pairs of records and "
            f"{len(result.long_days)} days over 24 hours; their organisations must correct or "
            "void them:"
        )
        _conflicts(result)
        sys.exit(EXIT_FOUND)


@volunteers_group.command("rekey")
def rekey_command() -> None:
    """Store every lone volunteer's ID number and look-up key in normal form.

    Exit status 0: every live volunteer is in normal form; 1: some are left (listed); 2: the
    command failed.
    """
    try:
        with transaction() as session:
            result = rekey_volunteers(session, operator=_operator())
    except VerifierError as exc:
        _fail(exc.message)
    except DecryptionError as exc:
        _fail(UNDECRYPTABLE.format(problem=exc))
    click.echo(f"re-keyed {len(result.rekeyed)} volunteers")
    for row in result.colliding:
        click.echo(
            f"  left: {row.volunteer_number} is the same person as another volunteer; "
            "merge them first (verifier volunteers duplicates)"
        )
    for row in result.unreadable:
        click.echo(f"  left: {row.volunteer_number} has no normal form ({row.problem})")
    sys.exit(EXIT_FOUND if result.colliding or result.unreadable else 0)

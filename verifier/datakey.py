"""Rotate the data key: every encrypted column re-encrypted under VERIFIER_DATA_KEY, in batches.

`verifier keys rotate-data-key` (docs/security.md, "Rotating the data key"). The new key is
VERIFIER_DATA_KEY and the old one VERIFIER_DATA_KEY_PREVIOUS, both set in the environment of
every process before the command runs; no key is ever given on the command line. Each batch is
one transaction that locks its rows in id order (docs/architecture.md, "Locks") and commits. A
value already under the data key is left alone, so running the command again resumes an
interrupted rotation. This module knows every feature's encrypted columns, so, like the app
factory and the command line, it sits above the features.
"""

from __future__ import annotations

import getpass
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import LargeBinary, func, inspect, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.commands import transaction
from verifier.crypto.encryption import DecryptionError, FieldCipher, Place, get_cipher
from verifier.db import sqlite_begin
from verifier.identities.rotation import StaleLookupKey, rotate_volunteer
from verifier.jobs.models import JobFile
from verifier.jobs.services import file_place
from verifier.keys.models import SigningKey
from verifier.keys.services import private_key_place
from verifier.notifications.models import OutboxMessage
from verifier.notifications.services import body_place, recipient_place
from verifier.spotchecks.models import SpotCheckCampaign
from verifier.spotchecks.services import server_secret_place
from verifier.volunteers.models import Volunteer
from verifier.volunteers.services import id_number_place, phone_place

LEGACY = "format 1"  # written before ciphertexts named their key
UNREADABLE = "unknown format"
SHOWN_PROBLEMS = 20


@dataclass(frozen=True)
class EncryptedTable:
    """A table with encrypted columns: (attribute, place of a row id) each."""

    model: Any
    columns: tuple[tuple[str, Callable[[int], Place]], ...]
    # for a row that needs more than its values re-encrypted (the volunteer's look-up key)
    rotate_row: Callable[[Any], int] | None = None

    @property
    def name(self) -> str:
        return str(self.model.__tablename__)

    @property
    def primary_key(self) -> Any:
        return getattr(self.model, inspect(self.model).primary_key[0].key)

    def labels(self) -> list[str]:
        return [f"{self.name}.{attribute}" for attribute, _place in self.columns]


def encrypted_tables() -> tuple[EncryptedTable, ...]:
    """Every encrypted column (tests/crypto/test_rotation.py checks that none is missing)."""
    return (
        EncryptedTable(
            Volunteer,
            (("id_number_enc", id_number_place), ("phone_enc", phone_place)),
            rotate_volunteer,
        ),
        EncryptedTable(SigningKey, (("private_key_enc", private_key_place),)),
        EncryptedTable(SpotCheckCampaign, (("server_secret_enc", server_secret_place),)),
        EncryptedTable(JobFile, (("data", file_place),)),
        EncryptedTable(
            OutboxMessage, (("recipient_enc", recipient_place), ("body_enc", body_place))
        ),
    )


def key_census(session: Session, cipher: FieldCipher) -> dict[str, Counter[str]]:
    """Count each column's values by the key they are under (its id, LEGACY or UNREADABLE)."""
    census: dict[str, Counter[str]] = {}
    for table in encrypted_tables():
        pk = table.primary_key
        for (attribute, place), label in zip(table.columns, table.labels(), strict=True):
            column = getattr(table.model, attribute)
            head = func.substr(column, 1, 5, type_=LargeBinary)  # version and key id only
            counts: Counter[str] = Counter()
            after = 0
            while True:
                rows = session.execute(
                    select(pk, head).where(pk > after, column.is_not(None)).order_by(pk).limit(1000)
                ).all()
                if not rows:
                    break
                for row_id, header in rows:
                    try:
                        counts[cipher.key_id_of(bytes(header), place(row_id)) or LEGACY] += 1
                    except DecryptionError:
                        counts[UNREADABLE] += 1
                after = rows[-1][0]
            census[label] = counts
    return census


def unusable(census: dict[str, Counter[str]], cipher: FieldCipher) -> list[str]:
    """Say which values no configured key can read, by column and key id."""
    known = {cipher.key_id, cipher.previous_key_id, LEGACY}
    return [
        f"{label}: {count} value(s) "
        + (
            "not in a known ciphertext format"
            if key == UNREADABLE
            else f"under data key {key}, which is neither VERIFIER_DATA_KEY ({cipher.key_id}) "
            f"nor VERIFIER_DATA_KEY_PREVIOUS ({cipher.previous_key_id or 'not set'})"
        )
        for label, counts in census.items()
        for key, count in sorted(counts.items())
        if key not in known
    ]


@dataclass
class BatchResult:
    last_id: int | None  # None: no rows left after the one asked for
    rotated: int = 0
    problems: list[str] = field(default_factory=list)


def rotate_batch(session: Session, table: EncryptedTable, after: int, size: int) -> BatchResult:
    """Lock the next rows after an id (in id order) with a value not under the data key, and
    re-encrypt their values; flush."""
    pk = table.primary_key
    prefix = get_cipher().prefix
    to_do = or_(
        *(
            func.coalesce(
                func.substr(getattr(table.model, attribute), 1, 5, type_=LargeBinary), prefix
            )
            != prefix
            for attribute, _ in table.columns
        )
    )
    ids = session.scalars(select(pk).where(pk > after, to_do).order_by(pk).limit(size)).all()
    if not ids:
        return BatchResult(None)
    rows = session.scalars(
        select(table.model)
        .where(pk.in_(ids))
        .order_by(pk)
        .with_for_update(of=table.model)  # not NO KEY UPDATE: a unique look-up key changes
        .execution_options(populate_existing=True)  # read again after the lock
    ).all()
    result = BatchResult(ids[-1])
    rotate_row = table.rotate_row or (lambda row: _reseal_columns(table, row))
    for row in rows:
        try:
            with session.begin_nested():
                result.rotated += rotate_row(row)
                session.flush()
        except (DecryptionError, StaleLookupKey) as exc:
            result.problems.append(str(exc))
        except IntegrityError:
            result.problems.append(
                f"{table.name}/{getattr(row, pk.key)}: under the new key its look-up key is "
                "another row's (the same person twice: see `verifier volunteers duplicates`); "
                "the row was left as it is"
            )
    return result


def _reseal_columns(table: EncryptedTable, row: Any) -> int:
    """Re-encrypt a row's values under the data key; change nothing if one cannot be read."""
    cipher = get_cipher()
    row_id = getattr(row, table.primary_key.key)
    changes = {}
    for attribute, place in table.columns:
        value = getattr(row, attribute)
        if value is not None and (resealed := cipher.reseal(value, place(row_id))) is not None:
            changes[attribute] = resealed
    for attribute, value in changes.items():
        setattr(row, attribute, value)
    return len(changes)


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in some containers
        return "cli"


def _show_census(census: dict[str, Counter[str]], cipher: FieldCipher) -> int:
    """Print each column's values by key; return how many are not under the data key."""
    remaining = 0
    for label, counts in census.items():
        others = {key: n for key, n in counts.items() if key != cipher.key_id}
        remaining += sum(others.values())
        text = ", ".join(f"{n} under {key}" for key, n in sorted(others.items()))
        click.echo(
            f"  {label}: {counts[cipher.key_id]} under the data key" + (f", {text}" if text else "")
        )
    return remaining


@click.command("rotate-data-key")
@with_appcontext
@click.option(
    "--batch-size",
    default=500,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="rows per transaction",
)
@click.option("--check", is_flag=True, help="only count the values under each key")
def rotate_data_key_command(batch_size: int, check: bool) -> None:
    """Re-encrypt every stored secret under VERIFIER_DATA_KEY.

    Set the new key as VERIFIER_DATA_KEY and the old one as VERIFIER_DATA_KEY_PREVIOUS for
    every process first (never on the command line). Each batch commits; run it again to
    resume. Exit status 0: every value is under VERIFIER_DATA_KEY (VERIFIER_DATA_KEY_PREVIOUS
    may be removed); 1: values remain under another key or could not be read (listed); 2: a
    setting is wrong; 3: the database cannot be used.
    """
    cipher = get_cipher()
    click.echo(f"data key {cipher.key_id}; previous data key {cipher.previous_key_id or 'not set'}")
    with sqlite_begin("DEFERRED"), transaction() as session:
        before = key_census(session, cipher)
    refused = unusable(before, cipher)
    if refused:
        for line in refused:
            click.echo(f"error: {line}", err=True)
        click.echo(
            "error: set VERIFIER_DATA_KEY_PREVIOUS to the key those values were written under; "
            "nothing was changed",
            err=True,
        )
        sys.exit(1)
    problems: list[str] = []
    if not check:
        rotated: dict[str, int] = {}
        for table in encrypted_tables():
            after, count = 0, 0
            while True:
                with transaction() as session:
                    result = rotate_batch(session, table, after, batch_size)
                if result.last_id is None:
                    break
                after, count = result.last_id, count + result.rotated
                problems += result.problems
            rotated[table.name] = count
            click.echo(f"{table.name}: {count} value(s) re-encrypted")
        if any(rotated.values()):
            with transaction() as session:
                record_event(
                    session,
                    None,
                    "data_key.rotate",
                    "data_key",
                    cipher.key_id,
                    details={"previous": cipher.previous_key_id, "re_encrypted": rotated},
                    actor_label=_operator(),
                )
    for line in problems[:SHOWN_PROBLEMS]:
        click.echo(f"error: {line}", err=True)
    if len(problems) > SHOWN_PROBLEMS:
        click.echo(f"error: ... and {len(problems) - SHOWN_PROBLEMS} more", err=True)
    with sqlite_begin("DEFERRED"), transaction() as session:
        after_census = key_census(session, cipher)
    click.echo("values by key:")
    remaining = _show_census(after_census, cipher)
    if remaining or problems:
        click.echo(
            f"{remaining} value(s) are not under data key {cipher.key_id} yet: keep "
            "VERIFIER_DATA_KEY_PREVIOUS set"
            + ("" if check else " and run the command again (after fixing what is listed)"),
            err=True,
        )
        sys.exit(1)
    click.echo(
        f"every value is under data key {cipher.key_id}: VERIFIER_DATA_KEY_PREVIOUS may be removed"
    )
    if current_app.config.get("DATA_KEY_READ_FORMAT_1", True):
        click.echo(
            "no value is left in format 1 (bound to its column only): set "
            "VERIFIER_DATA_KEY_READ_FORMAT_1=false, so that a value copied from another row or "
            "an old backup is refused"
        )

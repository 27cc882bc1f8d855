"""`verifier certificates ...`: issue certificates in bulk from the command line."""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select
from tqdm import tqdm

from verifier.certificates.bulk import (
    CLI_BULK_LIMIT,
    BulkRequest,
    issue_bulk,
    volunteer_ids_for_numbers,
)
from verifier.commands import handle_errors, transaction
from verifier.errors import NotFound, ValidationError
from verifier.identifiers import normalize_uscc
from verifier.orgs.models import Organisation

_SHOWN = 10  # how many problem lines to print before "... and N more"


@click.group("certificates", cls=AppGroup)
def certificates_group() -> None:
    """Certificates (志愿服务记录证明)."""


def _date(_ctx: click.Context, param: click.Parameter, value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date written as YYYY-MM-DD") from None


def _read_numbers(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            f"{path} is not UTF-8 text", field="volunteer_numbers", rule="utf8"
        ) from None
    numbers = [line.strip() for line in text.splitlines()]
    numbers = [n for n in numbers if n and not n.startswith("#")]
    if not numbers:
        raise ValidationError(
            f"{path} holds no volunteer numbers (one per line)",
            field="volunteer_numbers",
            rule="not_empty",
        )
    return numbers


def _more(items: list[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" ... and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


@certificates_group.command("issue-bulk")
@click.option(
    "--org", "uscc", required=True, help="The issuing organisation's unified social credit code."
)
@click.option("--from", "period_from", required=True, callback=_date, help="First day, YYYY-MM-DD.")
@click.option("--to", "period_to", required=True, callback=_date, help="Last day, YYYY-MM-DD.")
@click.option(
    "--volunteer-numbers",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of volunteer numbers (志愿者编号), one per line; default: every volunteer "
    "with valid records in the period.",
)
@click.option(
    "--handler",
    default="",
    help="经办人 printed on the certificates (default: the organisation's contact).",
)
@handle_errors
def issue_bulk_command(
    uscc: str, period_from: date, period_to: date, volunteer_numbers: Path | None, handler: str
) -> None:
    """Issue one certificate per volunteer over their valid records in a period, all at once."""
    uscc = normalize_uscc(uscc, field="org")
    numbers = _read_numbers(volunteer_numbers) if volunteer_numbers else None
    started = time.perf_counter()
    with transaction() as session:
        org = session.scalars(select(Organisation).where(Organisation.uscc == uscc)).first()
        if org is None:
            raise NotFound(f"no organisation with USCC {uscc}")
        volunteer_ids = None
        if numbers is not None:
            found, missing = volunteer_ids_for_numbers(session, numbers)
            if missing:
                raise ValidationError(
                    f"{len(missing)} volunteer number(s) not found: {_more(missing)}",
                    field="volunteer_numbers",
                    rule="known",
                )
            volunteer_ids = list(found.values())
        bar = tqdm(total=None, unit="cert", desc="issuing", file=sys.stderr, leave=True)
        try:
            result = issue_bulk(
                session,
                org,
                BulkRequest(period_from, period_to, volunteer_ids, handler),
                None,
                limit=CLI_BULK_LIMIT,
                progress=lambda done, total: _advance(bar, done, total),
            )
        finally:
            bar.close()
    elapsed = time.perf_counter() - started
    rate = len(result.issued) / elapsed if elapsed and result.issued else 0
    click.echo(
        f"{org.name} ({org.uscc}), {period_from} to {period_to}: issued {len(result.issued)}, "
        f"skipped {len(result.skipped)} in {elapsed:.1f} s ({rate:.0f} certificates/s)"
    )
    reasons: dict[str, int] = {}
    for skipped in result.skipped:
        reasons[skipped.reason] = reasons.get(skipped.reason, 0) + 1
    for reason, count in sorted(reasons.items()):
        click.echo(f"  skipped, {reason}: {count}")


def _advance(bar: tqdm[Any], done: int, total: int) -> None:
    if bar.total != total:
        bar.reset(total=total)
    bar.update(done - bar.n)

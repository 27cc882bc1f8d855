"""`verifier spotcheck run-due | replay` and `verifier scheduler`."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from verifier import jsonlimits
from verifier.commands import handle_errors
from verifier.db import MAX_ID, get_session
from verifier.errors import NotFound

# A manifest lists its population's ids: about 40 bytes each, so this is millions of them.
MAX_MANIFEST_BYTES = 256 * 1024 * 1024


@click.group("spotcheck", cls=AppGroup)
def spotcheck_group() -> None:
    """Spot checks (抽查): scheduled runs and replaying a draw."""


@spotcheck_group.command("run-due")
@handle_errors
def run_due_command() -> None:
    """Run every plan whose scheduled time has come and that has not run for that time yet."""
    from verifier.spotchecks.scheduler import run_due

    outcomes = run_due(current_app._get_current_object())  # type: ignore[attr-defined]  # current_app is a proxy, typed as the app
    if not outcomes:
        click.echo("nothing due")
    for outcome in outcomes:
        line = f"plan {outcome.plan_id}, period {outcome.period_key}: {outcome.status}"
        if outcome.campaign_id:
            line += f", campaign {outcome.campaign_id}"
        if outcome.message:
            line += f" ({outcome.message})"
        click.echo(line)
    if any(outcome.status == "failed" for outcome in outcomes):
        sys.exit(1)


def _load_manifest(source: str) -> tuple[dict[str, Any], str]:
    path = Path(source)
    if path.is_file():
        try:
            # a manifest comes from outside: its size and nesting are checked before parsing
            with path.open("rb") as handle:
                raw = handle.read(MAX_MANIFEST_BYTES + 1)
            data = jsonlimits.loads(raw.decode("utf-8-sig"), max_bytes=MAX_MANIFEST_BYTES)
        except OSError as exc:
            raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise click.ClickException(f"{path} is not a JSON manifest: {exc}") from None
        if not isinstance(data, dict):
            raise click.ClickException(f"{path} is not a JSON manifest (not an object)")
        return data, str(path)
    if not (source.isascii() and source.isdigit()):
        raise click.ClickException(f"{source} is neither a file nor a campaign id")
    if int(source) > MAX_ID:
        raise NotFound(f"no campaign {source}")  # beyond the id column: it cannot exist
    from verifier.spotchecks.services import get_campaign, manifest

    session = get_session()
    campaign = get_campaign(session, int(source))
    data = manifest(session, campaign)
    session.rollback()
    return json.loads(json.dumps(data, default=str)), f"campaign {source}"


@spotcheck_group.command("replay")
@click.argument("source")
@handle_errors
def replay_command(source: str) -> None:
    """Recompute a draw from a manifest (a file, or a campaign id) and say whether it matches.

    Format 2 first checks the revealed server secret against its commitment and the seed's
    derivation from it and the ceremony input; format 1 uses the seed as written. A file is
    replayed without the database. Exits 0 on a match, 1 on a mismatch, naming the first
    difference.
    """
    from verifier.spotchecks.draw import MANIFEST_FORMAT_V1, replay

    try:
        data, label = _load_manifest(source)
    except NotFound:
        raise click.ClickException(f"no campaign {source}") from None
    try:
        result = replay(data)
    except (KeyError, TypeError, ValueError) as exc:
        click.echo(f"mismatch: {label}: the manifest is incomplete or malformed ({exc!r})")
        sys.exit(1)
    if result.ok:
        if data["format"] == MANIFEST_FORMAT_V1:
            seed = (
                f"seed {data['seed']} (format 1: the seed as it was given; there is no "
                "commitment to check, so this replay cannot show that the seed was not chosen: "
                "only campaigns seeded before commitments existed are format 1)"
            )
        else:
            seed = (
                f"server secret matching commitment {data['commitment']}, seed {data['seed']} "
                f"derived from it and the ceremony input {data['ceremony_input']!r}"
            )
        click.echo(
            f"match: {label}: population of {len(data['population'])} (hash "
            f"{data['population_hash']}), {seed}, sample of {result.sample_size} "
            "and the inspector draw reproduced"
        )
        return
    click.echo(f"mismatch: {label}: {result.difference}")
    sys.exit(1)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the scheduler in this process (beside the web server, never inside it).

    It runs the spot-check plans and the daily overdue-cases job, sends the outbox every
    minute (unless VERIFIER_OUTBOX_SCHEDULER=false), and works the jobs queue.
    """
    from verifier.spotchecks.scheduler import run_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    click.echo(
        "scheduler started; its jobs are kept in the database (table apscheduler_jobs); "
        "working the jobs queue (table jobs)"
    )
    if current_app.config["OUTBOX_SCHEDULER"]:
        click.echo("sending the outbox every minute (verifier outbox list)")
    run_scheduler()

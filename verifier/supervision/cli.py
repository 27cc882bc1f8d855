"""`verifier spotcheck flag-overdue`: mark open supervision cases past their deadline overdue."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from verifier.commands import handle_errors, transaction
from verifier.db import utcnow


@click.command("flag-overdue")
@with_appcontext
@handle_errors
def flag_overdue_command() -> None:
    """Mark open supervision cases whose deadline has passed as overdue (the daily job)."""
    from verifier.supervision.services import flag_overdue_cases

    with transaction() as session:
        count = flag_overdue_cases(session, utcnow())
    click.echo(f"{count} case(s) flagged overdue")

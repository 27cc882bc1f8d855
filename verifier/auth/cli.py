"""`verifier tokens ...` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from verifier.auth.services import create_token, get_user_by_email
from verifier.commands import handle_errors, transaction


@click.group("tokens", cls=AppGroup)
def tokens_group() -> None:
    """API tokens."""


@tokens_group.command("create")
@click.option("--email", required=True)
@click.option("--name", default="cli")
@handle_errors
def tokens_create(email: str, name: str) -> None:
    """Create an API token; the token is printed alone on the last line, once."""
    with transaction() as session:
        user = get_user_by_email(session, email)
        token = create_token(session, user, name)
    click.echo(f"API token for {user.email} ({user.role}); it is shown only this once:")
    click.echo(token)

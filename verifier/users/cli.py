"""`verifier users ...` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from verifier.auth.services import create_user
from verifier.commands import handle_errors, transaction
from verifier.orgs.services import get_by_uscc


@click.group("users", cls=AppGroup)
def users_group() -> None:
    """User accounts."""


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True, help="at least 10 characters")
@click.option(
    "--role",
    required=True,
    help="platform_admin, org_admin, org_recorder, regulator_supervisor or regulator_inspector",
)
@click.option(
    "--org", "org_uscc", default=None, help="the organisation's USCC (organisation roles)"
)
@click.option("--name", "display_name", default="")
@handle_errors
def users_create(
    email: str, password: str, role: str, org_uscc: str | None, display_name: str
) -> None:
    """Create a user."""
    with transaction() as session:
        org = get_by_uscc(session, org_uscc) if org_uscc else None
        user = create_user(
            session,
            email=email,
            password=password,
            role=role,
            organisation=org,
            display_name=display_name,
        )
    click.echo(f"created user {user.email} ({user.role})")

"""`verifier orgs ...` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from verifier.commands import handle_errors, transaction
from verifier.orgs.models import OrgType
from verifier.orgs.services import OrganisationInput, create_organisation


@click.group("orgs", cls=AppGroup)
def orgs_group() -> None:
    """Organisations."""


@orgs_group.command("create")
@click.option("--name", required=True)
@click.option("--uscc", required=True)
@click.option("--responsible-person", required=True)
@click.option("--type", "org_type", default=OrgType.VOLUNTEER_ORG)
@click.option("--region-code", default="")
@click.option("--contact-name", default="")
@click.option("--contact-phone", default="")
@handle_errors
def orgs_create(**fields: str) -> None:
    """Register an organisation."""
    with transaction() as session:
        org = create_organisation(session, OrganisationInput(**fields), None)
    click.echo(f"created organisation {org.id}: {org.name} ({org.uscc})")

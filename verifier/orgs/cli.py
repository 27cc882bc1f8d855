"""`verifier orgs ...` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from verifier.commands import handle_errors, transaction
from verifier.orgs.models import OrgStatus, OrgType
from verifier.orgs.services import OrganisationInput, create_organisation, get_by_uscc, set_status


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


@orgs_group.command("set-status")
@click.option("--uscc", required=True)
@click.option("--status", required=True, type=click.Choice([s.value for s in OrgStatus]))
@click.option("--reason", required=True)
@click.option("--successor", default="", help="With deregistered: the successor's USCC.")
@handle_errors
def orgs_set_status(uscc: str, status: str, reason: str, successor: str) -> None:
    """Suspend, deregister (naming an optional successor) or reactivate an organisation."""
    with transaction() as session:
        org = get_by_uscc(session, uscc)
        heir = get_by_uscc(session, successor) if successor else None
        set_status(session, org, status, reason, None, successor=heir)
    note = f", successor {heir.uscc}" if heir is not None else ""
    click.echo(f"organisation {org.uscc} is now {status}{note}")

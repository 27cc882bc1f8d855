"""`verifier keys ...`: list, rotate, retire and mark compromised the signing keys.

Without `--org` each command acts on the platform's root keys; with `--org USCC` on that
organisation's keys (docs/verification.md, "Two levels of keys").
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from verifier.commands import handle_errors, transaction
from verifier.errors import ValidationError
from verifier.keys import services
from verifier.timeutil import parse_local_datetime

_ORG_OPTION = click.option(
    "--org",
    "uscc",
    default=None,
    metavar="USCC",
    help="Act on this organisation's keys (its unified social credit code); without it, the "
    "platform's root keys.",
)


@click.group("keys", cls=AppGroup)
def keys_group() -> None:
    """Ed25519 signing keys (published at /.well-known/jwks.json and /.well-known/issuers.json)."""


@keys_group.command("list")
@_ORG_OPTION
@click.option("--all", "everything", is_flag=True, help="Every key, root and organisations'.")
@handle_errors
def keys_list(uscc: str | None, everything: bool) -> None:
    """List keys with their status and dates (root keys unless --org or --all)."""
    with transaction() as session:
        if everything:
            keys = services.all_keys(session)
        else:
            org = services.organisation_by_uscc(session, uscc) if uscc else None
            keys = services.list_keys(session, org)
        owners = services.organisation_usccs(session)
    if not keys:
        click.echo(
            "no keys yet; the first is made when the first certificate is issued"
            if uscc
            else "no keys yet; the first is made on first use"
        )
    for key in keys:
        extra = f" compromised from {key.compromised_at.isoformat()}" if key.compromised_at else ""
        retired = f" retired {key.retired_at:%Y-%m-%d}" if key.retired_at else ""
        level = owners.get(key.organisation_id, "?") if key.organisation_id else "root"
        click.echo(
            f"{key.kid}  {level:<18} {key.status:<11} created {key.created_at:%Y-%m-%d}"
            f"{retired}{extra}"
        )


@keys_group.command("rotate")
@_ORG_OPTION
@handle_errors
def keys_rotate(uscc: str | None) -> None:
    """Retire the active key and make a new one.

    A new root key re-endorses every organisation key.
    """
    with transaction() as session:
        org = services.organisation_by_uscc(session, uscc) if uscc else None
        key = services.rotate(session, organisation=org)
    click.echo(f"new active {'key of ' + org.uscc if org else 'root key'} {key.kid}")


@keys_group.command("retire")
@click.argument("kid")
@_ORG_OPTION
@handle_errors
def keys_retire(kid: str, uscc: str | None) -> None:
    """Stop signing with a key; certificates it signed stay valid."""
    with transaction() as session:
        org = services.organisation_by_uscc(session, uscc) if uscc else None
        key = services.retire(session, kid, organisation=org)
    click.echo(f"key {key.kid} is {key.status}")


@keys_group.command("compromise")
@click.argument("kid")
@_ORG_OPTION
@click.option("--at", "at_text", required=True, help="ISO time from which the key is not trusted")
@click.option("--reason", default="")
@handle_errors
def keys_compromise(kid: str, uscc: str | None, at_text: str, reason: str) -> None:
    """Mark a key compromised from a time; certificates not in the ledger before it fail.

    An organisation's key (--org) touches only that organisation's certificates.
    """
    try:
        at = parse_local_datetime(at_text)
    except ValueError:
        raise ValidationError(
            f"--at {at_text!r} is not an ISO 8601 time, e.g. 2026-03-05T09:00:00+08:00",
            field="at",
            rule="datetime",
        ) from None
    with transaction() as session:
        org = services.organisation_by_uscc(session, uscc) if uscc else None
        key = services.compromise(session, kid, at, reason, organisation=org)
    assert key.compromised_at is not None  # compromise() sets it
    click.echo(f"key {key.kid} compromised from {key.compromised_at.isoformat()}")

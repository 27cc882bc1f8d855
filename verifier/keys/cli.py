"""`verifier keys ...`: list, rotate, retire and mark compromised the signing keys."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from verifier.commands import handle_errors, transaction
from verifier.errors import ValidationError
from verifier.keys import services
from verifier.timeutil import parse_local_datetime


@click.group("keys", cls=AppGroup)
def keys_group() -> None:
    """Ed25519 signing keys (published at /.well-known/jwks.json)."""


@keys_group.command("list")
def keys_list() -> None:
    """List every key with its status and dates."""
    with transaction() as session:
        keys = services.list_keys(session)
    if not keys:
        click.echo("no keys yet; the first is made when the first certificate is issued")
    for key in keys:
        extra = f" compromised from {key.compromised_at.isoformat()}" if key.compromised_at else ""
        retired = f" retired {key.retired_at:%Y-%m-%d}" if key.retired_at else ""
        click.echo(f"{key.kid}  {key.status:<11} created {key.created_at:%Y-%m-%d}{retired}{extra}")


@keys_group.command("rotate")
@handle_errors
def keys_rotate() -> None:
    """Retire the active key and make a new one."""
    with transaction() as session:
        key = services.rotate(session)
    click.echo(f"new active key {key.kid}")


@keys_group.command("retire")
@click.argument("kid")
@handle_errors
def keys_retire(kid: str) -> None:
    """Stop signing with a key; certificates it signed stay valid."""
    with transaction() as session:
        key = services.retire(session, kid)
    click.echo(f"key {key.kid} is {key.status}")


@keys_group.command("compromise")
@click.argument("kid")
@click.option("--at", "at_text", required=True, help="ISO time from which the key is not trusted")
@click.option("--reason", default="")
@handle_errors
def keys_compromise(kid: str, at_text: str, reason: str) -> None:
    """Mark a key compromised from a time; certificates not in the ledger before it fail."""
    try:
        at = parse_local_datetime(at_text)
    except ValueError:
        raise ValidationError(
            f"--at {at_text!r} is not an ISO 8601 time, e.g. 2026-03-05T09:00:00+08:00",
            field="at",
            rule="datetime",
        ) from None
    with transaction() as session:
        key = services.compromise(session, kid, at, reason)
    assert key.compromised_at is not None  # compromise() sets it
    click.echo(f"key {key.kid} compromised from {key.compromised_at.isoformat()}")

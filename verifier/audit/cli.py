"""`verifier audit ...` commands."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from verifier.audit.services import verify_chain
from verifier.db import get_session


@click.group("audit", cls=AppGroup)
def audit_group() -> None:
    """The hash-chained audit log."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Check the whole chain; name the first broken entry."""
    report = verify_chain(get_session())
    if report.ok:
        click.echo(f"audit log intact: {report.checked} entries checked")
        return
    click.echo(
        f"audit log BROKEN at entry {report.broken_id}: {report.problem} "
        f"({report.checked} entries before it are intact)",
        err=True,
    )
    sys.exit(1)

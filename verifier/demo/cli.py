"""`verifier demo`: load demonstration data once and print the logins."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from verifier.commands import handle_errors, transaction
from verifier.demo.services import load_demo
from verifier.records.signals import record_created


@click.command("demo")
@click.option("--volunteers", default=200, show_default=True)
@click.option("--records", default=5000, show_default=True)
@with_appcontext
@handle_errors
def demo_command(volunteers: int, records: int) -> None:
    """Load demo organisations, volunteers, records and users (idempotent); print the logins."""
    # a year of made-up history is no news to the demo's volunteers: no receipt per record
    with transaction() as session, record_created.muted():
        summary = load_demo(
            session, Path(current_app.instance_path), volunteers=volunteers, records=records
        )
    if summary.created:
        click.echo(
            f"demo data loaded: {summary.organisations} organisations, "
            f"{summary.volunteers} volunteers, "
            f"{summary.certificates} certificates, {summary.campaigns} spot-check campaign, "
            f"{summary.records} records"
        )
    else:
        click.echo("demo data already present")
    click.echo("demo logins (e-mail, role, password):")
    for email, role, password in summary.logins:
        click.echo(f"  {email:<32} {role:<22} {password}")

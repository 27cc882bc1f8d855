"""`verifier demo`: load demonstration data once."""

import click


@click.command("demo")
def demo_command() -> None:
    """Load demo organisations, volunteers, records and users (idempotent); print the logins."""

"""`verifier import ...` commands."""

import click
from flask.cli import AppGroup


@click.group("import", cls=AppGroup)
def import_group() -> None:
    """Import records from files."""

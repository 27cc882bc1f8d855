"""`verifier import ...` commands."""

import click


@click.group("import")
def import_group() -> None:
    """Import records from files."""

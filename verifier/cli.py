"""The `verifier` command: a Flask CLI group over the app; each feature adds its own commands."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup, FlaskGroup
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from verifier.config import ConfigError
from verifier.db import get_session
from verifier.errors import VerifierError


def _create_app() -> Flask:
    from verifier import create_app

    try:
        return create_app()
    except ConfigError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)


# Exit statuses every command shares (a command may add its own, documented with it).
EXIT_CONFIG = 2  # a setting is missing or wrong: nothing was done
EXIT_DATABASE = 3  # the database cannot be reached or answered with an error: nothing was done


def database_problem(error: DBAPIError) -> str:
    """Say in one line what went wrong with the database, without a traceback or a password."""
    text = str(error.orig if error.orig is not None else error).strip().splitlines()
    first = text[0].strip() if text else type(error).__name__
    hint = ""
    if "no such table" in first or ("relation" in first and "does not exist" in first):
        hint = " (run `verifier db upgrade`)"
    return f"error: the database cannot be used: {first[:300]}{hint}"


class VerifierGroup(FlaskGroup):
    """The app's CLI; a database that is down is one line and exit status 3, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DBAPIError as error:
            click.echo(database_problem(error), err=True)
            ctx.exit(EXIT_DATABASE)


@click.group(
    cls=VerifierGroup, create_app=_create_app, add_default_commands=True, set_debug_flag=False
)
def main() -> None:
    """Volunteer service records, certificates and spot checks."""


@contextmanager
def transaction() -> Iterator[Session]:
    """Give a command one transaction: commit at the end, roll back on any exception."""
    session = get_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the project's errors into a clear message and exit status 1, without a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except VerifierError as exc:
            click.echo(f"error: {exc.message}", err=True)
            for error in exc.errors[1:]:
                click.echo(f"  {error.field}: {error.message}", err=True)
            sys.exit(1)

    return wrapper


def register_commands(app: Flask) -> None:
    """Attach every feature's commands to the app's CLI."""
    from verifier.audit.cli import audit_group
    from verifier.auth.cli import tokens_group, users_group
    from verifier.demo.cli import demo_command
    from verifier.imports.cli import import_group
    from verifier.keys.cli import keys_group
    from verifier.orgs.cli import orgs_group
    from verifier.verification.cli import verify_qr_command
    from verifier.volunteers.cli import volunteers_group

    app.cli.add_command(db_group)
    for group in (users_group, tokens_group, audit_group, import_group, orgs_group, keys_group):
        app.cli.add_command(group)
    app.cli.add_command(demo_command)
    app.cli.add_command(volunteers_group)
    from verifier.certificates.cli import certificates_group

    app.cli.add_command(certificates_group)
    app.cli.add_command(verify_qr_command)
    from verifier.spotchecks.cli import scheduler_command, spotcheck_group

    app.cli.add_command(spotcheck_group)
    app.cli.add_command(scheduler_command)
    from verifier.supervision.cli import flag_overdue_command

    spotcheck_group.add_command(flag_overdue_command)
    from verifier.jobs.cli import jobs_group

    app.cli.add_command(jobs_group)


@click.group("db", cls=AppGroup)
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the migrations up to a revision."""
    from flask import current_app

    from verifier.db import upgrade_database

    upgrade_database(current_app._get_current_object(), revision)  # type: ignore[attr-defined]  # current_app is a proxy, typed as the app
    click.echo(f"database at {revision}")

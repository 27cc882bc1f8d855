"""What every feature's commands share: one transaction per command, errors as one message."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import click
from sqlalchemy.orm import Session

from verifier.db import get_session
from verifier.errors import VerifierError


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

"""Shared pieces of page forms: putting a service's error messages next to the fields they name."""

from __future__ import annotations

from collections.abc import Mapping

from flask_wtf import FlaskForm

from verifier.errors import VerifierError


def show_errors(
    form: FlaskForm, error: VerifierError, aliases: Mapping[str, str] | None = None
) -> list[str]:
    """Attach each field error to its form field; return the messages no field of the form shows."""
    aliases = aliases or {}
    leftover: list[str] = []
    for item in error.errors:
        name = aliases.get(item.field, item.field)
        field = form._fields.get(name)
        if field is None or name == "csrf_token":
            leftover.append(item.message)
        else:
            field.errors = [*field.errors, item.message]
    if not error.errors:
        leftover.append(error.message)
    return leftover

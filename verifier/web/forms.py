"""Shared pieces of page forms.

Every page form is a Flask-WTF form (CSRF included). Its fields only carry what was typed; the
rules are the service's and its pydantic schema's, whose errors `show_errors` puts next to the
fields they name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, FormField
from wtforms.form import BaseForm

from verifier.errors import VerifierError


def show_errors(
    form: BaseForm, error: VerifierError, aliases: Mapping[str, str] | None = None
) -> list[str]:
    """Attach each field error to the form field it names; return the messages no field shows.

    An error's field is looked up by its name, or through `aliases` (the error's field → the
    form's, a dotted path for a field of a sub-form: "size.count"); a nested name
    ("parameters.sample_size.count", "record_ids.0") falls back to its parents. The messages
    returned belong at the top of the form.
    """
    aliases = aliases or {}
    leftover: list[str] = []
    for item in error.errors:
        field = _field_for(form, item.field, aliases)
        if field is None:
            leftover.append(item.message)
        elif item.message not in field.errors:
            field.errors = [*field.errors, item.message]
    if not error.errors:
        leftover.append(error.message)
    return leftover


def _field_for(form: BaseForm, name: str, aliases: Mapping[str, str]) -> Field | None:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        path = ".".join(parts[:end])
        field = _field_at(form, aliases.get(path, path))
        if field is not None:
            return field
    return None


def _field_at(form: BaseForm, path: str) -> Field | None:
    node: Any = form
    for part in path.split("."):
        fields = getattr(node, "_fields", None)
        if not isinstance(fields, Mapping) or part not in fields:
            return None
        node = fields[part]
    if isinstance(node, FormField) or node.name == "csrf_token":
        return None
    return node


def distinct_ids(forms: Mapping[str, BaseForm]) -> None:
    """Give the fields of several forms on one page ids of their own: "<form>-<field>"."""
    for prefix, form in forms.items():
        for field in form:
            field.id = f"{prefix}-{field.name}"


def filled(form: FlaskForm, *names: str) -> dict[str, Any]:
    """Return the named text fields that were filled in, stripped; an empty field is not given."""
    values = {}
    for name in names:
        value = (form[name].data or "").strip()
        if value:
            values[name] = value
    return values


def typed_number(value: str) -> Any:
    """Read a number typed into a form: an int or a float when it is one, else the text itself.

    The schema then refuses the text with a message naming its field (as the API would). Only
    ASCII digits make a number: `int()` would take some other scripts' digits, and refuse "²".
    """
    value = value.strip()
    if re.fullmatch(r"-?[0-9]{1,9}", value):
        return int(value)
    if re.fullmatch(r"-?[0-9]{0,9}\.[0-9]{1,12}", value):
        return float(value)
    return value

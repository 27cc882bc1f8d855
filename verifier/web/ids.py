"""Ids in URLs and query strings: only a number that can be a row's id reaches the database.

Ids are PostgreSQL `integer` columns (SQLite stores 64 bits). A bigger number in a URL made
PostgreSQL raise "out of range" (a 500) and SQLite overflow; such an id cannot exist, so it
answers 404 like any other unknown id.
"""

from __future__ import annotations

import re
from typing import Any

from flask import request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter, Map

from verifier.db import MAX_ID
from verifier.errors import NotFound


class DatabaseIntegerConverter(IntegerConverter):
    """`<int:...>` of every route: a whole number up to MAX_ID, unless the rule says otherwise.

    ASCII digits only: werkzeug's `\\d+` also takes full-width and other scripts' digits, so
    `/orgs/１` would be another spelling of `/orgs/1`.
    """

    regex = r"[0-9]+"
    signed_regex = r"-?[0-9]+"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def requested_id(name: str, source: Any = None) -> int | None:
    """Return the id given as ?name= (or in `source`); None when absent or not a number.

    A number that cannot be an id (below 1 or above MAX_ID) answers 404.
    """
    raw = (request.args if source is None else source).get(name, "")
    raw = raw.strip() if isinstance(raw, str) else ""
    if not re.fullmatch(r"-?[0-9]+", raw):
        return None
    if len(raw) > len(str(MAX_ID)) or not 1 <= int(raw) <= MAX_ID:
        raise NotFound(_("No such %(name)s: %(value)s", name=name, value=raw[:20]))
    return int(raw)

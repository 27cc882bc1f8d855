"""Page numbers for long lists: read them from the query string, describe the page for templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from flask_babel import gettext as _

from verifier.errors import BadRequest, FieldError
from verifier.paging import MAX_PAGE  # the same bound as the API's PageQuery


def requested_page() -> int:
    """Return the page asked for in ?page=, at least 1; 400 above MAX_PAGE."""
    page = request.args.get("page", 1, type=int) or 1
    if page > MAX_PAGE:
        message = _("The page number must be at most %(n)d", n=MAX_PAGE)
        raise BadRequest(message, errors=[FieldError("page", "less_than_equal", message)])
    return max(page, 1)


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, its number, and the arguments its neighbours' links need."""

    items: list[Any]
    number: int
    per_page: int
    total: int
    args: dict[str, Any]

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    def link_args(self, number: int) -> dict[str, Any]:
        """Return the query arguments for another page of the same list."""
        return {**{k: v for k, v in self.args.items() if v not in (None, "")}, "page": number}

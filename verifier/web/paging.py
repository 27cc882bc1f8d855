"""Page numbers for long lists: read them from the query string, describe the page for templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request


def requested_page() -> int:
    """Return the page asked for in ?page=, at least 1."""
    page = request.args.get("page", 1, type=int) or 1
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

"""One page of a list: the bounds of `page` and `per_page`, and the count-and-page query.

Every list (organisations, volunteers, records, certificates, users, the inspection queue,
supervision cases) is read through `paginate`, by its pages and by the API alike; the API's
`PageQuery` reads the two numbers and `PageOut.of` writes the answer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

# The highest page number a list answers: 100,000 pages of 50 are five million rows. A bigger
# number made an OFFSET that overflowed (a 500).
MAX_PAGE = 100_000
MAX_PER_PAGE = 200


def paginate(
    session: Session, stmt: Select[*tuple[Any, ...]], *order_by: Any, page: int, per_page: int
) -> tuple[list[Any], int]:
    """Return one page of the statement's rows in this order, and the rows over all pages.

    A statement of one entity gives its objects; one of several, rows of them (tuples).
    A page below 1 is the first.
    """
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    ordered = stmt.order_by(*order_by).offset((max(page, 1) - 1) * per_page).limit(per_page)
    if len(stmt.column_descriptions) == 1:
        return list(session.scalars(ordered).all()), total
    return list(session.execute(ordered).all()), total

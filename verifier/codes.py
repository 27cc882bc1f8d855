"""Status and kind codes: each feature defines its own as a StrEnum; this writes their SQL checks.

A member is a `str` equal to its value, so it compares, hashes, formats and serialises (JSON, the
database, pydantic) exactly as the bare string did. The values are published (API fields, tokens,
stored rows): add a member freely, never rename one (see docs/development.md, "Status enums").
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


def one_of(column: str, codes: Iterable[StrEnum], *, nullable: bool = False) -> str:
    """Write the SQL check that `column` holds one of the codes (an enum: all of its members),
    in their order.

    The text is exactly what the migrations wrote (`status IN ('a','b')`), so models and the
    migrated schema stay word-for-word the same.
    """
    listed = ",".join(f"'{code.value}'" for code in codes)
    check = f"{column} IN ({listed})"
    return f"{column} IS NULL OR {check}" if nullable else check

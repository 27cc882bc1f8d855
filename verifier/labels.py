"""Translated labels for the codes that appear inside messages (statuses, types, field names)."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l

# A table of labels by code (a feature's StrEnum members): lazy strings, rendered in the
# reader's language. Looked up with the plain strings read from the database.
Labels = Mapping[str, object]

RECORD_FIELD: Labels = {
    "activity": _l("Activity name"),
    "place": _l("Place"),
    "content": _l("Service content"),
    "leader": _l("Activity leader"),
    "evaluation": _l("Evaluation"),
    "started_at": _l("Start time"),
    "ended_at": _l("End time"),
    "minutes": _l("Service minutes"),
}


def label(table: Mapping[str, object], code: str | None) -> str:
    """Return the translated label of a code, or the code itself when it has none."""
    if code is None:
        return ""
    return str(table.get(code, code))

"""Translated labels for the codes that appear inside messages (statuses, types, field names)."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l

ORG_STATUS = {
    "active": _l("active"),
    "suspended": _l("suspended"),
    "deregistered": _l("deregistered"),
}
ORG_TYPE = {
    "volunteer_org": _l("Volunteer service organisation"),
    "charity": _l("Charitable organisation"),
    "community": _l("Community"),
    "event_host": _l("Public-benefit event organiser"),
    "public_service": _l("Public service institution"),
}
CERTIFICATE_STATUS = {
    "valid": _l("valid"),
    "revoked": _l("revoked"),
    "suspended": _l("suspended (under review)"),
    "superseded": _l("superseded"),
}
KEY_STATUS = {"active": _l("active"), "retired": _l("retired"), "compromised": _l("compromised")}
RECORD_FIELD = {
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

"""Local time (Asia/Shanghai by default), parsing of entered times, and hours from minutes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_ZONE = "Asia/Shanghai"


def local_zone() -> ZoneInfo:
    """Return the zone in which people enter and read times."""
    name = current_app.config.get("TIMEZONE", DEFAULT_ZONE) if has_app_context() else DEFAULT_ZONE
    return ZoneInfo(name)


def local_today() -> date:
    return datetime.now(local_zone()).date()


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(local_zone())


def parse_local_datetime(text: str) -> datetime:
    """Parse ISO 8601 or '2026-03-05 09:00' (no offset: local time); raise ValueError."""
    value = (text or "").strip().replace("/", "-")
    if not value:
        raise ValueError("empty")
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=local_zone())
    return parsed


def wall_time_problem(moment: datetime) -> str | None:
    """Tell whether a time typed without an offset names no real moment, or two of them.

    A datetime carrying a zone (not a fixed offset) is a wall-clock reading in that zone. In the
    hour skipped when clocks go forward it names no moment ("nonexistent_local_time"); in the
    hour repeated when they go back it names two ("ambiguous_local_time"). Python would silently
    pick one (fold=0), so the caller refuses both and asks for an offset. Returns None otherwise.
    """
    zone = moment.tzinfo
    if not isinstance(zone, ZoneInfo):
        return None
    first, second = moment.replace(fold=0), moment.replace(fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    wall = moment.replace(tzinfo=None, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None, fold=0) != wall:
        return "nonexistent_local_time"
    return "ambiguous_local_time"


def offsets_of(moment: datetime) -> tuple[str, str]:
    """Return the two UTC offsets a repeated wall-clock time may have, earlier first ("+09:00")."""
    earlier, later = (
        moment.replace(fold=fold).isoformat(timespec="minutes")[-6:] for fold in (0, 1)
    )
    return earlier, later


def format_hours(minutes: int) -> str:
    """Show minutes as hours with two decimals, computed exactly ("2.50")."""
    return str(
        (Decimal(int(minutes)) / Decimal(60)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    )

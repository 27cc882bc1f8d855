"""Local time (Asia/Shanghai by default), parsing of entered times, and hours from minutes."""

from __future__ import annotations

from datetime import date, datetime
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


def format_hours(minutes: int) -> str:
    """Show minutes as hours with two decimals, computed exactly ("2.50")."""
    return str(
        (Decimal(int(minutes)) / Decimal(60)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    )

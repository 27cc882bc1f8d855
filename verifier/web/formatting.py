"""Template filters and globals: local times, hours, labels, the language switch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, request
from flask_babel import get_locale

from verifier.timeutil import format_hours, to_local


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Show a UTC time in the local zone."""
    return "" if value is None else to_local(value).strftime(fmt)


def register(app: Flask) -> None:
    """Install the filters and globals every template can use."""
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(format_hours, "hours")

    @app.context_processor
    def _globals() -> dict[str, Any]:
        from verifier.auth.access import current_actor

        return {
            "actor": current_actor() if request else None,
            "current_locale": str(get_locale() or "zh"),
        }

"""How supervision reacts to the features below it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from verifier.spotchecks.signals import overdue_check
from verifier.supervision.services import flag_overdue_cases


def _flag_overdue(_app: Any, *, session: Session, now: datetime) -> None:
    flag_overdue_cases(session, now)


def connect() -> None:
    """Flag overdue supervision cases when the scheduler's daily job runs."""
    overdue_check.connect(_flag_overdue)

"""How supervision reacts to the features below it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from verifier.auth.models import REGULATOR_SUPERVISOR, User
from verifier.orgs.models import Organisation
from verifier.orgs.signals import organisation_page
from verifier.spotchecks.signals import overdue_check
from verifier.supervision.forms import RevokeAllForm
from verifier.supervision.services import flag_overdue_cases


def _flag_overdue(_app: Any, *, session: Session, now: datetime) -> None:
    flag_overdue_cases(session, now)


def _revoke_all_form(org: Organisation, *, session: Session, actor: User) -> dict[str, Any]:
    # a supervisor may revoke all of an organisation's certificates (confirmed fraud)
    if actor.role != REGULATOR_SUPERVISOR:
        return {}
    return {"revoke_all_form": RevokeAllForm(formdata=None)}


def connect() -> None:
    """Flag overdue cases daily; offer the supervisor the mass revocation on organisation pages."""
    overdue_check.connect(_flag_overdue)
    organisation_page.connect(_revoke_all_form)

"""What accounts adds to the pages of the features below it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from verifier.accounts.contact import account_of
from verifier.auth.models import User
from verifier.volunteers.models import Volunteer
from verifier.volunteers.signals import volunteer_page


def _volunteer_account(volunteer: Volunteer, *, session: Session, actor: User) -> dict[str, Any]:
    # the organisation's button "create invitation" is shown only while there is no account
    return {"volunteer_has_account": account_of(session, volunteer) is not None}


def connect() -> None:
    """Tell a volunteer's page whether the volunteer has claimed an account."""
    volunteer_page.connect(_volunteer_account)

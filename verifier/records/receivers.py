"""How service records take part in the pages of the features below them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from verifier.auth.models import REGULATOR_ROLES, User
from verifier.orgs.models import Organisation
from verifier.orgs.signals import organisation_page
from verifier.records.services import list_records, total_minutes
from verifier.volunteers.models import Volunteer
from verifier.volunteers.signals import volunteer_page
from verifier.web.paging import Page, requested_page

RECORDS_PER_PAGE = 25


def _organisation_records(org: Organisation, *, session: Session, actor: User) -> dict[str, Any]:
    # the organisation's own users and the regulators see its records, a page at a time
    if not (actor.is_org_user or actor.role in REGULATOR_ROLES):
        return {"records_page": None}
    number = requested_page()
    rows, total = list_records(
        session, actor, organisation_id=org.id, page=number, per_page=RECORDS_PER_PAGE
    )
    return {"records_page": Page(rows, number, RECORDS_PER_PAGE, total, {"org_id": org.id})}


def _volunteer_records(volunteer: Volunteer, *, session: Session, actor: User) -> dict[str, Any]:
    number = requested_page()
    rows, total = list_records(
        session, actor, volunteer_id=volunteer.id, page=number, per_page=RECORDS_PER_PAGE
    )
    return {
        "page": Page(rows, number, RECORDS_PER_PAGE, total, {"volunteer_id": volunteer.id}),
        "minutes": total_minutes(session, actor, volunteer.id),
    }


def connect() -> None:
    """Show an organisation's and a volunteer's records on their pages."""
    organisation_page.connect(_organisation_records)
    volunteer_page.connect(_volunteer_records)

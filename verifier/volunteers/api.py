"""JSON API for volunteers: register with the caller's organisation, show, search."""

from __future__ import annotations

from typing import Any

from flask import url_for

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import answer, read_json, read_query
from verifier.auth.access import ANY_ROLE, require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER
from verifier.db import get_session
from verifier.volunteers.schemas import VolunteerCreate, VolunteerOut, VolunteerPage, VolunteerQuery
from verifier.volunteers.services import register_volunteer, search_volunteers, visible_volunteer

ID = "<int(min=1, max=2147483647):volunteer_id>"


@bp.post("/volunteers")
@roles(ORG_ADMIN, ORG_RECORDER)
@operation(
    summary="Register a volunteer with the caller's organisation",
    tag="volunteers",
    description=(
        "A person is one volunteer however many organisations register them (found by ID type "
        "and number). **201** when the person is new; **200** with the existing volunteer when the "
        "person was already known (now linked to the caller's organisation, if not already). The "
        "same ID number under a different name is refused (409). The answer never holds the "
        "full ID number or phone, only masked ones."
    ),
    body=VolunteerCreate,
    response=VolunteerOut,
    status=201,
    responses={200: ("The person was already known; linked to the organisation.", VolunteerOut)},
    errors=(409,),
)
def create_volunteer_api() -> Any:
    body = read_json(VolunteerCreate)
    actor = require_actor()
    volunteer, created = register_volunteer(
        get_session(), actor.organisation, body.to_input(), actor
    )
    location = url_for("api.get_volunteer_api", volunteer_id=volunteer.id)
    return answer(VolunteerOut.of(volunteer), 201 if created else 200, location)


@bp.get("/volunteers")
@roles(*ANY_ROLE)
@operation(
    summary="Search volunteers",
    tag="volunteers",
    description="Newest first. Organisation users see their own organisation's volunteers.",
    query=VolunteerQuery,
    response=VolunteerPage,
)
def list_volunteers_api() -> Any:
    query = read_query(VolunteerQuery)
    rows, total = search_volunteers(
        get_session(), require_actor(), query.q, query.page, query.per_page
    )
    return answer(VolunteerPage.of(query, rows, total, VolunteerOut.of))


@bp.get(f"/volunteers/{ID}")
@roles(*ANY_ROLE)
@operation(summary="Show a volunteer", tag="volunteers", response=VolunteerOut)
def get_volunteer_api(volunteer_id: int) -> Any:
    return answer(VolunteerOut.of(visible_volunteer(get_session(), require_actor(), volunteer_id)))

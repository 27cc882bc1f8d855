"""JSON API for organisations: register (platform admin), list, show, change status."""

from __future__ import annotations

from typing import Any

from flask import url_for

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import answer, read_json, read_query
from verifier.auth.access import ANY_ROLE, require_actor, roles
from verifier.auth.models import PLATFORM_ADMIN
from verifier.db import get_session
from verifier.orgs.schemas import (
    OrganisationCreate,
    OrganisationOut,
    OrganisationPage,
    OrganisationQuery,
    OrganisationStatusChange,
)
from verifier.orgs.services import (
    create_organisation,
    get_by_uscc,
    list_organisations,
    set_status,
    visible_organisation,
)

ID = "<int(min=1, max=2147483647):org_id>"


@bp.post("/organisations")
@roles(PLATFORM_ADMIN)
@operation(
    summary="Register an organisation",
    tag="organisations",
    description="The USCC is checked (GB 32100) and must not be registered yet (409).",
    body=OrganisationCreate,
    response=OrganisationOut,
    status=201,
    errors=(409,),
)
def create_organisation_api() -> Any:
    body = read_json(OrganisationCreate)
    org = create_organisation(get_session(), body.to_input(), require_actor())
    location = url_for("api.get_organisation_api", org_id=org.id)
    return answer(OrganisationOut.of(org), 201, location)


@bp.get("/organisations")
@roles(*ANY_ROLE)
@operation(
    summary="List organisations",
    tag="organisations",
    description="Ordered by name. Organisation users see only their own organisation.",
    query=OrganisationQuery,
    response=OrganisationPage,
)
def list_organisations_api() -> Any:
    query = read_query(OrganisationQuery)
    rows, total = list_organisations(
        get_session(), require_actor(), query.q, query.page, query.per_page
    )
    return answer(OrganisationPage.of(query, rows, total, OrganisationOut.of))


@bp.get(f"/organisations/{ID}")
@roles(*ANY_ROLE)
@operation(summary="Show an organisation", tag="organisations", response=OrganisationOut)
def get_organisation_api(org_id: int) -> Any:
    return answer(OrganisationOut.of(visible_organisation(get_session(), require_actor(), org_id)))


@bp.post(f"/organisations/{ID}/status")
@roles(PLATFORM_ADMIN)
@operation(
    summary="Change an organisation's status",
    tag="organisations",
    description="active, suspended or deregistered, with a reason. A suspended or deregistered "
    "organisation may no longer register volunteers, write records or issue certificates (403, "
    "rule `organisation_active`); certificates it issued before stay valid, and verification "
    "notes the status and since when. A deregistration may name a successor (`successor_uscc`).",
    body=OrganisationStatusChange,
    response=OrganisationOut,
)
def set_organisation_status_api(org_id: int) -> Any:
    session, actor = get_session(), require_actor()
    org = visible_organisation(session, actor, org_id)
    body = read_json(OrganisationStatusChange)
    successor = get_by_uscc(session, body.successor_uscc) if body.successor_uscc else None
    set_status(session, org, body.status, body.reason, actor, successor=successor)
    return answer(OrganisationOut.of(org))

"""JSON API for service records: create, list, show, correct, void, history."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import answer, read_json, read_query
from verifier.auth.access import ANY_ROLE, require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER
from verifier.db import get_session
from verifier.records.models import RecordSource
from verifier.records.schemas import (
    RecordCorrection,
    RecordCreate,
    RecordHistory,
    RecordOut,
    RecordPage,
    RecordQuery,
    RecordVoid,
    RevisionOut,
)
from verifier.records.services import (
    correct_record,
    create_record,
    list_records,
    revisions_of,
    visible_record,
    void_record,
)
from verifier.volunteers.services import visible_volunteer

ID = "<int(min=1, max=2147483647):record_id>"


@bp.post("/records")
@roles(ORG_ADMIN, ORG_RECORDER)
@operation(
    summary="Record a stretch of service",
    tag="records",
    description=(
        "For a volunteer registered with the caller's organisation. Rules, each with its own "
        "`rule` in the 422 answer: minutes > 0 (`minutes_positive`) and not more than end minus "
        "start (`minutes_within_span`); end after start (`end_after_start`); nothing in the future "
        "(`not_future`); no overlap with another active record of the volunteer, kept by any "
        "organisation (`no_overlap`; another organisation's record is not described); not more "
        "than 24 hours on one day (`daily_limit`); the work declared unpaid (`unpaid_required`) "
        "and not part of the volunteer's job (`not_job_duty_required`). `unpaid` and "
        "`not_job_duty` default to true: posting a record declares both. The same record entered "
        "twice is refused (409)."
    ),
    body=RecordCreate,
    response=RecordOut,
    status=201,
    errors=(404, 409),
)
def create_record_api() -> Any:
    body = read_json(RecordCreate)
    session, actor = get_session(), require_actor()
    volunteer = visible_volunteer(session, actor, body.volunteer_id)
    record = create_record(
        session,
        actor.organisation,
        volunteer,
        body.to_input(),
        actor,
        source=RecordSource.API,
        late_after_working_days=int(current_app.config["LATE_ENTRY_WORKING_DAYS"]),
    )
    location = url_for("api.get_record_api", record_id=record.id)
    return answer(RecordOut.of(record), 201, location)


@bp.get("/records")
@roles(*ANY_ROLE)
@operation(
    summary="List records",
    tag="records",
    description="Newest service first, voided records included. Organisation users see their "
    "own organisation's records; a volunteer they cannot see answers 404.",
    query=RecordQuery,
    response=RecordPage,
    errors=(404,),
)
def list_records_api() -> Any:
    query = read_query(RecordQuery)
    session, actor = get_session(), require_actor()
    if query.volunteer_id is not None:
        visible_volunteer(session, actor, query.volunteer_id)
    rows, total = list_records(
        session,
        actor,
        volunteer_id=query.volunteer_id,
        organisation_id=query.organisation_id,
        page=query.page,
        per_page=query.per_page,
    )
    return answer(RecordPage.of(query, rows, total, RecordOut.of))


@bp.get(f"/records/{ID}")
@roles(*ANY_ROLE)
@operation(summary="Show a record", tag="records", response=RecordOut)
def get_record_api(record_id: int) -> Any:
    return answer(RecordOut.of(visible_record(get_session(), require_actor(), record_id)))


@bp.get(f"/records/{ID}/history")
@roles(*ANY_ROLE)
@operation(
    summary="A record's history",
    tag="records",
    description="Every revision, oldest first: created, each correction, voided; with kind, "
    "reason, who and when. Revisions are never changed.",
    response=RecordHistory,
)
def record_history_api(record_id: int) -> Any:
    session = get_session()
    record = visible_record(session, require_actor(), record_id)
    revisions = [RevisionOut.of(r) for r in revisions_of(session, record)]
    return answer(RecordHistory(record_id=record.id, status=record.status, revisions=revisions))


@bp.post(f"/records/{ID}/corrections")
@roles(ORG_ADMIN, ORG_RECORDER)
@operation(
    summary="Correct a record",
    tag="records",
    description=(
        "Send the `reason` and only the fields that change; a field left out (or null) keeps its "
        "current value, and the merged record is checked by every rule of creation (its own "
        "earlier version excluded from the overlap and daily checks). Makes a new revision; the "
        "old one stays in the history. Answers 200 with the record at its new revision. A "
        "correction that changes nothing is refused (422, `no_change`); a voided record cannot be "
        "corrected (409)."
    ),
    body=RecordCorrection,
    response=RecordOut,
    errors=(409,),
)
def correct_record_api(record_id: int) -> Any:
    session, actor = get_session(), require_actor()
    record = visible_record(session, actor, record_id)
    body = read_json(RecordCorrection)
    correct_record(session, record, body.merged_over(record), body.reason, actor)
    return answer(RecordOut.of(record))


@bp.post(f"/records/{ID}/void")
@roles(ORG_ADMIN, ORG_RECORDER)
@operation(
    summary="Void a record",
    tag="records",
    description="With a reason. The record stays, with its history, but no longer counts. "
    "Answers 200 with the record at its new revision; voiding again answers 409.",
    body=RecordVoid,
    response=RecordOut,
    errors=(409,),
)
def void_record_api(record_id: int) -> Any:
    session, actor = get_session(), require_actor()
    record = visible_record(session, actor, record_id)
    body = read_json(RecordVoid)
    void_record(session, record, body.reason, actor)
    return answer(RecordOut.of(record))

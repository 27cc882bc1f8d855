"""JSON API of a volunteer's own records: list, show, totals, confirm, dispute (/api/v1/me)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import PageQuery, answer, read_json, read_query
from verifier.auth.access import require_actor, roles
from verifier.auth.models import VOLUNTEER
from verifier.config import star_thresholds
from verifier.db import get_session
from verifier.portal.record_limits import DISPUTE_RATE, dispute_limit
from verifier.portal.record_schemas import (
    DisputeCreate,
    DisputeOut,
    MyRecordDetail,
    MyRecordOut,
    MyRecordPage,
    MyRevisionOut,
    SummaryOut,
)
from verifier.portal.records import (
    DISPUTE_REASON_LIMIT,
    confirm_record,
    dispute_record,
    history,
    list_my_records,
    show_my_record,
    summary,
)

ID = "<int(min=1, max=2147483647):record_id>"
SEES_ONLY_OWN = (
    "A volunteer's account only: staff roles get 403. Only records about the caller (in any "
    "organisation) exist here: another volunteer's record id answers 404."
)


@bp.get("/me/records")
@roles(VOLUNTEER)
@operation(
    summary="My records, in every organisation",
    tag="me",
    description="Newest service first; voided records included (status `voided`). Each with "
    "its organisation (name, USCC), whether you confirmed or dispute it, and your latest "
    "dispute. " + SEES_ONLY_OWN,
    query=PageQuery,
    response=MyRecordPage,
)
def list_my_records_api() -> Any:
    query = read_query(PageQuery)
    rows, total = list_my_records(
        get_session(), require_actor(), page=query.page, per_page=query.per_page
    )
    return answer(MyRecordPage.of(query, rows, total, MyRecordOut.of))


@bp.get(f"/me/records/{ID}")
@roles(VOLUNTEER)
@operation(
    summary="One of my records, with its history",
    tag="me",
    description="Every revision, oldest first, with what each changed and why. " + SEES_ONLY_OWN,
    response=MyRecordDetail,
)
def get_my_record_api(record_id: int) -> Any:
    session = get_session()
    mine = show_my_record(session, require_actor(), record_id)
    revisions = [MyRevisionOut.of(change) for change in history(session, mine.record)]
    return answer(MyRecordDetail(**MyRecordOut.of(mine).model_dump(), revisions=revisions))


@bp.get("/me/summary")
@roles(VOLUNTEER)
@operation(
    summary="My totals and star level",
    tag="me",
    description="Hours per year and per organisation (active records), and the star level "
    "(星级, 0-5) from the counted hours: active records you do not dispute. The level is the "
    "number of thresholds (VERIFIER_STAR_THRESHOLDS, default 100, 300, 600, 1000, 1500 hours) "
    "that the counted minutes reach (minutes ≥ hours × 60). " + SEES_ONLY_OWN,
    response=SummaryOut,
)
def my_summary_api() -> Any:
    thresholds = star_thresholds(current_app.config["STAR_THRESHOLDS"])
    return answer(SummaryOut.of(summary(get_session(), require_actor(), thresholds)))


@bp.post(f"/me/records/{ID}/confirm")
@roles(VOLUNTEER)
@operation(
    summary="Confirm one of my records",
    tag="me",
    description="Confirms the record's current revision (a later correction asks again). "
    "Confirming again answers 200 and changes nothing. A voided record answers 409 (rule "
    "`record_voided`); so does a record you dispute until the organisation answers (rule "
    "`dispute_open`). " + SEES_ONLY_OWN,
    response=MyRecordOut,
    errors=(404, 409),
)
def confirm_my_record_api(record_id: int) -> Any:
    return answer(MyRecordOut.of(confirm_record(get_session(), require_actor(), record_id)))


@bp.post(f"/me/records/{ID}/dispute")
@roles(VOLUNTEER)
@dispute_limit
@operation(
    summary="Dispute one of my records",
    tag="me",
    description=(
        "Opens a correction request in the organisation's queue; the record is not changed. "
        "The organisation answers within 10 working days (`due_on`; public holidays and "
        "make-up working days counted); an unanswered dispute past its day is shown to the "
        "regulators and raises the organisation's risk score. `not_attended` also holds the "
        "record: no new certificate may cover it until the answer. A second dispute while one "
        "is open answers 409 (rule `dispute_open`); a voided record, 409 (`record_voided`); "
        f"`reason` is required and at most {DISPUTE_REASON_LIMIT} characters (422). "
        f"At most {DISPUTE_RATE} per volunteer (429 beyond). " + SEES_ONLY_OWN
    ),
    body=DisputeCreate,
    response=DisputeOut,
    status=201,
    errors=(404, 409, 429),
)
def dispute_my_record_api(record_id: int) -> Any:
    body = read_json(DisputeCreate)
    request = dispute_record(
        get_session(), require_actor(), record_id, kind=body.kind, reason=body.reason
    )
    return answer(DisputeOut.of(request), 201)

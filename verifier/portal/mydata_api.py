"""JSON API: missing-record requests and their queue; the volunteer's consent and data."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import answer, read_json, read_query
from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER, VOLUNTEER
from verifier.db import get_session, writes_data
from verifier.errors import VerifierError, problem_response
from verifier.portal.mydata import (
    confirm_password,
    export_my_data,
    own_volunteer,
    set_message_locale,
    set_public_activities,
)
from verifier.portal.mydata_export import MyDataExport
from verifier.portal.mydata_schemas import (
    MissingRecordCreate,
    MissingRecordEntry,
    MissingRecordList,
    MissingRecordOut,
    MissingRecordPage,
    MissingRecordQuery,
    MissingRecordRefusal,
    PasswordConfirmation,
    Preferences,
    PreferencesUpdate,
    QueuedMissingRecordOut,
)
from verifier.portal.omissions import (
    ANSWER_WORKING_DAYS,
    DAILY_LIMIT,
    enter_missing_record,
    list_requests,
    own_request,
    own_requests,
    refuse_missing_record,
    request_missing_record,
    visible_request,
)
from verifier.ratelimit import limiter
from verifier.records.models import RecordSource

ID = "<int(min=1, max=2147483647):missing_id>"
ORG_USERS = (ORG_ADMIN, ORG_RECORDER)
EXPORT_CONFIRM_LIMIT = "10 per minute"


@bp.post("/me/missing-records")
@roles(VOLUNTEER)
@operation(
    summary="Report a missing record",
    tag="me",
    description=(
        "Service an organisation the volunteer is registered with has not recorded. The "
        "organisation answers within "
        f"{ANSWER_WORKING_DAYS} working days (`due_on`): it enters the record or refuses with a "
        "reason. Rules, each with its `rule` in the 422 answer: the organisation's code is valid "
        "(`uscc_*`) and the volunteer is registered with it (`member`, also for a code no "
        "organisation has); times as for records (`not_future`, `end_after_start`, `too_early`) "
        "and at most 24 hours (`max_span`); `activity` (at most 200 characters) and `reason` "
        "(at most 1000) are required (`required`, `max_length`) and hold no ID number "
        f"(`no_id_number`). At most {DAILY_LIMIT} reports in 24 hours (429, `daily_limit`); "
        "the same time reported again while open answers 409."
    ),
    body=MissingRecordCreate,
    response=MissingRecordOut,
    status=201,
    errors=(409, 429),
)
def create_missing_record_api() -> Any:
    body = read_json(MissingRecordCreate)
    missing = request_missing_record(get_session(), require_actor(), body.to_input())
    location = url_for("api.get_my_missing_record_api", missing_id=missing.id)
    return answer(MissingRecordOut.of(missing), 201, location)


@bp.get("/me/missing-records")
@roles(VOLUNTEER)
@operation(
    summary="My missing-record reports",
    tag="me",
    description="Every report the volunteer filed, newest first, with the answer.",
    response=MissingRecordList,
)
def list_my_missing_records_api() -> Any:
    items = own_requests(get_session(), require_actor())
    return answer(MissingRecordList(items=[MissingRecordOut.of(r) for r in items]))


@bp.get(f"/me/missing-records/{ID}")
@roles(VOLUNTEER)
@operation(
    summary="One of my missing-record reports",
    tag="me",
    description="Another volunteer's report answers 404.",
    response=MissingRecordOut,
)
def get_my_missing_record_api(missing_id: int) -> Any:
    return answer(MissingRecordOut.of(own_request(get_session(), require_actor(), missing_id)))


@bp.get("/missing-records")
@roles(*ORG_USERS)
@operation(
    summary="The organisation's missing-record requests",
    tag="missing-records",
    description="Volunteers' reports of service the organisation has not recorded: open ones "
    "first, the one due first first. `overdue`: still open after `due_on`.",
    query=MissingRecordQuery,
    response=MissingRecordPage,
)
def list_missing_records_api() -> Any:
    query = read_query(MissingRecordQuery)
    rows, total = list_requests(
        get_session(),
        require_actor(),
        status=query.status,
        page=query.page,
        per_page=query.per_page,
    )
    return answer(MissingRecordPage.of(query, rows, total, QueuedMissingRecordOut.of))


@bp.get(f"/missing-records/{ID}")
@roles(*ORG_USERS)
@operation(
    summary="A missing-record request",
    tag="missing-records",
    description="Another organisation's request answers 404.",
    response=QueuedMissingRecordOut,
)
def get_missing_record_api(missing_id: int) -> Any:
    return answer(
        QueuedMissingRecordOut.of(visible_request(get_session(), require_actor(), missing_id))
    )


@bp.post(f"/missing-records/{ID}/enter")
@roles(*ORG_USERS)
@operation(
    summary="Enter the record a request asks for",
    tag="missing-records",
    description=(
        "Enters the record as `POST /records` does (its source is `api`; every rule of a "
        "record applies, with the same `rule` names) and links it to the request, which becomes "
        "`entered`. `place` is needed; activity, start and end default to the request's, "
        "minutes to the whole time between start and end. The volunteer is told. Answers 201 "
        "with the request (its `record_id`); Location is the record. A request already answered "
        "answers 409."
    ),
    body=MissingRecordEntry,
    response=QueuedMissingRecordOut,
    status=201,
    errors=(409,),
)
def enter_missing_record_api(missing_id: int) -> Any:
    session, actor = get_session(), require_actor()
    missing = visible_request(session, actor, missing_id)
    body = read_json(MissingRecordEntry)
    record = enter_missing_record(
        session, actor, missing, body.over(missing), source=RecordSource.API
    )
    location = url_for("api.get_record_api", record_id=record.id)
    return answer(QueuedMissingRecordOut.of(missing), 201, location)


@bp.post(f"/missing-records/{ID}/refuse")
@roles(*ORG_USERS)
@operation(
    summary="Refuse a missing-record request",
    tag="missing-records",
    description="With a `reason` the volunteer sees (required, at most 500 characters, no ID "
    "number). The volunteer is told. A request already answered answers 409.",
    body=MissingRecordRefusal,
    response=QueuedMissingRecordOut,
    errors=(409,),
)
def refuse_missing_record_api(missing_id: int) -> Any:
    session, actor = get_session(), require_actor()
    missing = visible_request(session, actor, missing_id)
    body = read_json(MissingRecordRefusal)
    refuse_missing_record(session, actor, missing, body.reason)
    return answer(QueuedMissingRecordOut.of(missing))


@bp.get("/me/preferences")
@roles(VOLUNTEER)
@operation(
    summary="My choices",
    tag="me",
    description="Whether public verification pages name the activities of the volunteer's "
    "certificates.",
    response=Preferences,
)
def get_preferences_api() -> Any:
    actor = require_actor()
    volunteer = own_volunteer(get_session(), actor)
    return answer(Preferences(public_activities=volunteer.public_activities, locale=actor.locale))


@bp.put("/me/preferences")
@roles(VOLUNTEER)
@operation(
    summary="Change my choices",
    tag="me",
    description="`public_activities`: true shows the activity names and their hours on the "
    "public verification pages and API answers of every certificate of the volunteer, issued "
    "or to come; false (the default) shows only the total hours. Applies at once. `locale`: "
    "the language of the messages sent to the volunteer. A field left out stays as it is.",
    body=PreferencesUpdate,
    response=Preferences,
)
def set_preferences_api() -> Any:
    body = read_json(PreferencesUpdate)
    session, actor = get_session(), require_actor()
    if body.locale is not None:
        set_message_locale(session, actor, body.locale)
    volunteer = (
        own_volunteer(session, actor)
        if body.public_activities is None
        else set_public_activities(session, actor, body.public_activities)
    )
    return answer(Preferences(public_activities=volunteer.public_activities, locale=actor.locale))


EXPORT_TEXT = (
    "Everything held about the volunteer (个人信息保护法 Arts. 44–47): the volunteer's "
    "details, memberships, every record with its revisions and confirmations, disputes and "
    "correction requests, missing-record reports, certificate requests, certificates (with how "
    "often each was verified, never by whom), the account and its tokens (names and prefixes), "
    "the messages sent (kind, time, status; never their text) and the audit entries about the "
    "volunteer or the account. Each export is noted in the audit log (not what it held)."
)


@bp.get("/me/export")
@roles(VOLUNTEER)
@operation(
    summary="My data",
    tag="me",
    description=EXPORT_TEXT + " The ID number is masked (`id_number` is null).",
    response=MyDataExport,
)
@writes_data
def export_api() -> Any:
    data = export_my_data(get_session(), require_actor(), full_id_number=False, channel="api")
    return _download(MyDataExport.of(data))


@bp.post("/me/export")
@roles(VOLUNTEER)
@limiter.limit(EXPORT_CONFIRM_LIMIT)
@operation(
    summary="My data, with my full ID number",
    tag="me",
    description=EXPORT_TEXT
    + " With the account's `password` entered again, `id_number` holds the ID number in full. "
    "A wrong password answers 403 naming `password` (rule `wrong_password`) and counts as a "
    f"failed sign-in towards the account's lockout. At most {EXPORT_CONFIRM_LIMIT} per address "
    "(429).",
    body=PasswordConfirmation,
    response=MyDataExport,
    errors=(429,),
)
def export_confirmed_api() -> Any:
    session, actor = get_session(), require_actor()
    body = read_json(PasswordConfirmation)
    try:
        confirm_password(session, actor, body.password, address=request.remote_addr or "")
    except VerifierError as error:
        # answered, not raised: the failed attempt stays counted (the transaction commits)
        return problem_response(error)
    data = export_my_data(session, actor, full_id_number=True, channel="api")
    return _download(MyDataExport.of(data))


def _download(export: MyDataExport) -> Any:
    response = jsonify(export.model_dump(mode="json"))
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename()}"'
    return response

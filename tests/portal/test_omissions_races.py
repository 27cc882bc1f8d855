"""Two users of an organisation answer one missing-record request at the same moment
(PostgreSQL, real concurrent transactions): exactly one answer stands."""

from __future__ import annotations

import time
from typing import Any

import pytest
from mydata_helpers import build_world, report_body
from sqlalchemy import func, select
from support import Factory
from support.races import race

from verifier.auth.models import User
from verifier.complaints.models import MissingRecordRequest
from verifier.db import get_session
from verifier.notifications.models import OutboxMessage
from verifier.portal.omissions import enter_missing_record, refuse_missing_record
from verifier.records.models import ServiceRecord
from verifier.records.services import RecordInput

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("twice", ["enter", "refuse", "both"])
def test_one_request_is_answered_once(committing_app, twice):
    make = Factory(committing_app)
    w = build_world(committing_app, make)
    client = committing_app.test_client()
    request_id = client.post(
        "/api/v1/me/missing-records", json=report_body(w), headers=w.auth("volunteer")
    ).get_json()["id"]

    def enter(session: Any) -> None:
        request = session.get(MissingRecordRequest, request_id)  # read first, as a request does
        time.sleep(0.05)
        record = RecordInput(
            activity=request.activity,
            place="东城街道",
            started_at=request.started_at,
            ended_at=request.ended_at,
            minutes=60,
        )
        enter_missing_record(session, session.get(User, w.admin.id), request, record)

    def refuse(session: Any) -> None:
        request = session.get(MissingRecordRequest, request_id)
        time.sleep(0.05)
        refuse_missing_record(session, session.get(User, w.recorder.id), request, "没有这次活动")

    jobs = {"enter": [enter, enter], "refuse": [refuse, refuse], "both": [enter, refuse]}[twice]
    outcomes = race(committing_app, jobs)
    assert sorted(outcomes) == ["Conflict", "ok"]
    with committing_app.app_context():
        session = get_session()
        request = session.get(MissingRecordRequest, request_id)
        records = session.scalar(select(func.count()).select_from(ServiceRecord))
        answers = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "missing_record_answered")
        )
        receipts = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "record_receipt")
        )
        assert request.status in ("entered", "refused")
        assert records == (1 if request.status == "entered" else 0)
        assert (request.record_id is not None) == (request.status == "entered")
        assert answers == 1 and receipts == records  # one answer; a receipt for the record

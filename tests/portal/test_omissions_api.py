"""Omissions through the API: a volunteer reports a missing record; the organisation answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mydata_helpers import build_world, local_iso, problem, refused, report_body
from sqlalchemy import select
from support import days_ago, make_uscc

from verifier.audit.models import AuditEntry
from verifier.auth.models import User
from verifier.complaints.models import MissingRecordRequest
from verifier.crypto.encryption import get_cipher
from verifier.db import get_session
from verifier.notifications.models import OutboxMessage
from verifier.notifications.services import body_place
from verifier.portal.omissions import DAILY_LIMIT
from verifier.records.models import ServiceRecord
from verifier.timeutil import local_today
from verifier.workdays import add_working_days

MINE = "/api/v1/me/missing-records"
QUEUE = "/api/v1/missing-records"


@pytest.fixture
def w(app, make):
    return build_world(app, make)


def report(client, w, who="volunteer", **fields):
    return client.post(MINE, json=report_body(w, **fields), headers=w.auth(who))


def reported(client, w, **fields):
    response = report(client, w, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_volunteer_reports_a_missing_record_and_sees_it(client, w):
    response = report(client, w)
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "open"
    assert body["due_on"] == add_working_days(local_today(), 10).isoformat()
    assert body["organisation_name"] == "南川区志愿者协会"
    assert body["record_id"] is None and body["answer"] == "" and body["overdue"] is False
    assert response.headers["Location"].endswith(f"{MINE}/{body['id']}")
    listed = client.get(MINE, headers=w.auth("volunteer")).get_json()["items"]
    assert [r["id"] for r in listed] == [body["id"]]
    one = client.get(f"{MINE}/{body['id']}", headers=w.auth("volunteer"))
    assert one.status_code == 200 and one.get_json()["activity"] == "社区敬老服务"
    entries = w.rows(AuditEntry, AuditEntry.action == "missing_record.request")
    assert [e.object_id for e in entries] == [str(body["id"])]


def test_another_volunteers_report_answers_404_and_is_not_listed(client, w):
    mine = reported(client, w)
    assert client.get(MINE, headers=w.auth("other_volunteer")).get_json() == {"items": []}
    problem(client.get(f"{MINE}/{mine['id']}", headers=w.auth("other_volunteer")), 404)
    problem(client.get(f"{MINE}/999999", headers=w.auth("volunteer")), 404)


@pytest.mark.parametrize(
    ("fields", "field", "rule"),
    [
        ({"organisation_uscc": "123"}, "organisation_uscc", "uscc_length"),
        ({"organisation_uscc": "53500000MJ0000001A"}, "organisation_uscc", "uscc_checksum"),
        ({"activity": ""}, "activity", "required"),
        ({"activity": "活" * 201}, "activity", "max_length"),
        ({"activity": "身份证 110101199003070021"}, "activity", "no_id_number"),
        ({"activity": 5}, "activity", "string_type"),
        ({"reason": "  "}, "reason", "required"),
        ({"reason": "因" * 1001}, "reason", "max_length"),
        ({"reason": "a\u202eb"}, "reason", "invisible_character"),
        ({"started_at": "yesterday"}, "started_at", "datetime_format"),
        ({"started_at": "1980-01-01T09:00:00+08:00"}, "started_at", "too_early"),
        ({"colour": "red"}, "colour", "extra_forbidden"),
    ],
)
def test_bad_reports_are_refused_naming_field_and_rule(client, w, fields, field, rule):
    refused(report(client, w, **fields), 422, field, rule)
    assert w.rows(MissingRecordRequest) == []


def test_time_rules_are_the_records_rules(client, w):
    future = days_ago(-2)
    refused(
        report(client, w, started_at=local_iso(future), ended_at=local_iso(future)),
        422,
        "started_at",
        "not_future",
    )
    start = days_ago(3)
    refused(
        report(client, w, started_at=local_iso(start), ended_at=local_iso(start)),
        422,
        "ended_at",
        "end_after_start",
    )
    refused(report(client, w, hours=25), 422, "ended_at", "max_span")
    assert reported(client, w, hours=24)["status"] == "open"


def test_only_an_organisation_the_volunteer_belongs_to(client, w, make):
    # 张三 is registered with org only; an organisation that does not exist answers the same
    error = refused(
        report(client, w, organisation_uscc=w.other_org.uscc), 422, "organisation_uscc", "member"
    )
    stranger = make.org(name="陌生的协会")
    refused(report(client, w, organisation_uscc=stranger.uscc), 422, "organisation_uscc", "member")
    nobody = make_uscc(9_999_991)
    again = refused(report(client, w, organisation_uscc=nobody), 422, "organisation_uscc", "member")
    assert error["message"].replace(w.other_org.uscc, nobody) == again["message"]
    # 李四 is registered with both
    assert (
        report(client, w, "other_volunteer", organisation_uscc=w.other_org.uscc).status_code == 201
    )


def test_the_same_open_report_twice_is_a_conflict(client, w):
    reported(client, w)
    problem(report(client, w), 409)


def test_reports_are_limited_per_volunteer(client, w):
    for day in range(DAILY_LIMIT):
        reported(client, w, days=day + 2)
    refused(report(client, w, days=30), 429, "volunteer", "daily_limit")
    # another volunteer is not held back
    assert report(client, w, "other_volunteer", days=30).status_code == 201


@pytest.mark.parametrize(
    "who", ["org_admin", "org_recorder", "regulator_supervisor", "platform_admin"]
)
def test_staff_may_not_use_the_volunteers_routes(client, w, who):
    reported_id = reported(client, w)["id"]
    for method, url, body in [
        ("POST", MINE, report_body(w)),
        ("GET", MINE, None),
        ("GET", f"{MINE}/{reported_id}", None),
        ("GET", "/api/v1/me/preferences", None),
        ("PUT", "/api/v1/me/preferences", {"public_activities": True}),
        ("GET", "/api/v1/me/export", None),
        ("POST", "/api/v1/me/export", {"password": "x"}),
    ]:
        response = client.open(url, method=method, json=body, headers=w.auth(who))
        assert response.status_code == 403, (method, url, response.get_json())
    assert client.get(MINE).status_code == 401


def test_the_queue_lists_the_organisations_requests_only(client, w):
    first = reported(client, w)
    second = reported(client, w, days=8)
    other = client.post(
        MINE,
        json=report_body(w, organisation_uscc=w.other_org.uscc),
        headers=w.auth("other_volunteer"),
    ).get_json()
    page = client.get(QUEUE, query_string={"status": "open"}, headers=w.auth("org_recorder"))
    assert page.status_code == 200
    body = page.get_json()
    assert body["total"] == 2 and body["page"] == 1 and body["per_page"] == 50
    assert {r["id"] for r in body["items"]} == {first["id"], second["id"]}
    assert body["items"][0]["volunteer_name"] == "张三"
    paged = client.get(QUEUE, query_string={"per_page": 1, "page": 2}, headers=w.auth("org_admin"))
    assert paged.get_json()["total"] == 2 and len(paged.get_json()["items"]) == 1
    theirs = client.get(QUEUE, headers=w.auth("other_admin")).get_json()
    assert [r["id"] for r in theirs["items"]] == [other["id"]]
    problem(client.get(f"{QUEUE}/{first['id']}", headers=w.auth("other_admin")), 404)
    assert client.get(f"{QUEUE}/{first['id']}", headers=w.auth("org_admin")).status_code == 200
    refused(
        client.get(QUEUE, query_string={"status": "lost"}, headers=w.auth("org_admin")),
        422,
        "status",
        "literal_error",
    )
    problem(client.get(QUEUE, headers=w.auth("regulator_supervisor")), 403)
    problem(client.get(QUEUE, headers=w.auth("volunteer")), 403)


def _outbox(w):
    return w.rows(OutboxMessage, OutboxMessage.kind == "missing_record_answered")


def _body_of(app, message):
    with app.app_context():
        return get_cipher().open_text(message.body_enc, body_place(message.id))


def test_the_organisation_enters_the_record_and_the_volunteer_is_told(app, client, w):
    request = reported(client, w, days=4)
    response = client.post(
        f"{QUEUE}/{request['id']}/enter",
        json={"place": "南川区东城街道"},
        headers=w.auth("org_recorder"),
    )
    assert response.status_code == 201, response.get_json()
    answered = response.get_json()
    assert answered["status"] == "entered" and answered["record_id"]
    assert response.headers["Location"].endswith(f"/api/v1/records/{answered['record_id']}")
    (record,) = w.rows(ServiceRecord, ServiceRecord.id == answered["record_id"])
    assert record.source == "api"
    assert record.activity == "社区敬老服务" and record.minutes == 180
    assert record.volunteer_id == w.volunteer.id and record.organisation_id == w.org.id
    assert local_iso(record.started_at) == request["started_at"]
    mine = client.get(f"{MINE}/{request['id']}", headers=w.auth("volunteer")).get_json()
    assert mine["status"] == "entered" and mine["record_id"] == record.id
    (message,) = _outbox(w)
    assert message.volunteer_id == w.volunteer.id and message.user_id == w.user.id
    assert str(record.id) in _body_of(app, message)
    # answering twice
    problem(
        client.post(
            f"{QUEUE}/{request['id']}/enter", json={"place": "x"}, headers=w.auth("org_admin")
        ),
        409,
    )
    problem(
        client.post(
            f"{QUEUE}/{request['id']}/refuse", json={"reason": "不对"}, headers=w.auth("org_admin")
        ),
        409,
    )
    actions = [e.action for e in w.rows(AuditEntry) if e.action.startswith("missing_record.")]
    assert actions == ["missing_record.request", "missing_record.enter"]


def test_the_entered_record_may_differ_from_the_report(client, w):
    request = reported(client, w, days=4)
    start = days_ago(4, hour=10)
    response = client.post(
        f"{QUEUE}/{request['id']}/enter",
        json={
            "place": "东城街道",
            "activity": "敬老院探访",
            "started_at": local_iso(start),
            "ended_at": local_iso(start + timedelta(hours=2)),
            "minutes": 100,
            "content": "陪老人聊天",
        },
        headers=w.auth("org_admin"),
    )
    assert response.status_code == 201, response.get_json()
    (record,) = w.rows(ServiceRecord, ServiceRecord.id == response.get_json()["record_id"])
    assert (record.activity, record.minutes, record.content) == ("敬老院探访", 100, "陪老人聊天")


def test_entering_keeps_every_rule_of_a_record(client, w, make):
    request = reported(client, w, days=4)
    url = f"{QUEUE}/{request['id']}/enter"
    refused(client.post(url, json={}, headers=w.auth("org_admin")), 422, "place", "missing")
    refused(
        client.post(url, json={"place": "x", "minutes": 181}, headers=w.auth("org_admin")),
        422,
        "minutes",
        "minutes_within_span",
    )
    refused(
        client.post(
            url,
            json={"place": "x", "ended_at": local_iso(days_ago(5))},
            headers=w.auth("org_admin"),
        ),
        422,
        "ended_at",
        "end_after_start",
    )
    refused(
        client.post(url, json={"place": "x", "unpaid": False}, headers=w.auth("org_admin")),
        422,
        "unpaid",
        "unpaid_required",
    )
    make.record(w.org, w.volunteer, actor=w.admin, started_at=days_ago(4, hour=10))
    refused(
        client.post(url, json={"place": "x"}, headers=w.auth("org_admin")),
        422,
        "started_at",
        "no_overlap",
    )
    # nothing was answered
    mine = client.get(f"{MINE}/{request['id']}", headers=w.auth("volunteer")).get_json()
    assert mine["status"] == "open" and _outbox(w) == []
    problem(client.post(url, json={"place": "x"}, headers=w.auth("other_admin")), 404)
    problem(client.post(url, json={"place": "x"}, headers=w.auth("regulator_supervisor")), 403)


def test_the_organisation_refuses_with_a_reason_the_volunteer_sees(app, client, w):
    request = reported(client, w)
    url = f"{QUEUE}/{request['id']}/refuse"
    refused(
        client.post(url, json={"reason": ""}, headers=w.auth("org_admin")),
        422,
        "reason",
        "required",
    )
    refused(
        client.post(url, json={"reason": "x" * 501}, headers=w.auth("org_admin")),
        422,
        "reason",
        "max_length",
    )
    refused(
        client.post(
            url, json={"reason": "110101199003070021 不是本人"}, headers=w.auth("org_admin")
        ),
        422,
        "reason",
        "no_id_number",
    )
    problem(client.post(url, json={"reason": "没有"}, headers=w.auth("other_admin")), 404)
    response = client.post(
        url, json={"reason": "当天签到表上没有你的名字"}, headers=w.auth("org_admin")
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "refused"
    mine = client.get(f"{MINE}/{request['id']}", headers=w.auth("volunteer")).get_json()
    assert mine["status"] == "refused" and mine["answer"] == "当天签到表上没有你的名字"
    assert mine["answered_at"]
    (message,) = _outbox(w)
    assert "当天签到表上没有你的名字" in _body_of(app, message)
    problem(client.post(url, json={"reason": "再拒绝"}, headers=w.auth("org_admin")), 409)


def test_an_open_request_past_its_day_is_overdue(app, client, w):
    request = reported(client, w)

    def backdate(session):
        session.get(MissingRecordRequest, request["id"]).due_on = local_today() - timedelta(days=1)

    w.run(backdate)
    mine = client.get(f"{MINE}/{request['id']}", headers=w.auth("volunteer")).get_json()
    assert mine["overdue"] is True
    queued = client.get(QUEUE, headers=w.auth("org_admin")).get_json()["items"][0]
    assert queued["overdue"] is True


def test_without_an_account_or_phone_the_answer_is_kept_but_not_sent(client, w, make):
    # a volunteer's account deactivated, no phone on file: the answer stands, nobody is messaged
    request = client.post(
        MINE,
        json=report_body(w, organisation_uscc=w.other_org.uscc),
        headers=w.auth("other_volunteer"),
    ).get_json()

    def deactivate(session):
        session.get(User, w.other_user.id).active = False

    w.run(deactivate)
    response = client.post(
        f"{QUEUE}/{request['id']}/refuse",
        json={"reason": "不是本会活动"},
        headers=w.auth("other_admin"),
    )
    assert response.status_code == 200
    assert _outbox(w) == []
    with client.application.app_context():
        assert get_session().scalar(select(MissingRecordRequest.status)) == "refused"

"""The volunteer's records over the API: every organisation's, only their own; confirm; dispute."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from myrecords_helpers import World, volunteer_account
from sqlalchemy import func, select
from support import ROLES, bearer, days_ago, make_resident_id

from verifier.audit.models import AuditEntry
from verifier.complaints.models import CorrectionRequest
from verifier.records.models import RecordConfirmation, ServiceRecord
from verifier.volunteers.models import Volunteer


@pytest.fixture
def world(make):
    return World(make)


def _get(client, world, path, token=None):
    return client.get(path, headers=bearer(token or world.token))


def _post(client, world, path, body=None, token=None):
    return client.post(path, headers=bearer(token or world.token), json=body or {})


def _dispute(client, world, record_id, kind="wrong_minutes", reason="我只服务了两小时", token=None):
    return _post(
        client,
        world,
        f"/api/v1/me/records/{record_id}/dispute",
        {"kind": kind, "reason": reason},
        token,
    )


def _by_id(items):
    return {item["id"]: item for item in items}


def test_my_records_are_every_organisations_and_only_mine(client, world):
    response = _get(client, world, "/api/v1/me/records")
    assert response.status_code == 200
    body = response.get_json()
    items = _by_id(body["items"])
    assert set(items) == {world.record.id, world.elsewhere.id}
    assert body["total"] == 2
    mine = items[world.elsewhere.id]
    assert mine["organisation"]["name"] == "重庆市南川区红十字会"
    assert len(mine["organisation"]["uscc"]) == 18
    assert mine["activity"] == "应急救护培训"
    assert mine["place"] == "南川区红十字会培训室"
    assert mine["content"] == "陪伴老人，打扫卫生"
    assert mine["minutes"] == 120 and mine["hours"] == "2.00"
    assert mine["started_at"].endswith("+08:00") and mine["ended_at"].endswith("+08:00")
    assert mine["status"] == "active" and mine["revision"] == 1
    assert mine["confirmation"] == "unconfirmed" and mine["dispute"] is None
    assert mine["url"].endswith(f"/me/records/{world.elsewhere.id}")
    # newest service first
    assert [i["id"] for i in body["items"]] == [world.elsewhere.id, world.record.id]


def test_corrected_and_voided_records_say_so(client, world):
    world.correct(world.record, minutes=150)
    world.void(world.elsewhere)
    items = _by_id(_get(client, world, "/api/v1/me/records").get_json()["items"])
    assert items[world.record.id]["status"] == "corrected"
    assert items[world.record.id]["revision"] == 2
    assert items[world.record.id]["minutes"] == 150
    assert items[world.elsewhere.id]["status"] == "voided"
    assert items[world.elsewhere.id]["void_reason"] == "重复录入"


def test_one_record_with_its_history(client, world):
    world.correct(world.record, minutes=150, reason="核对签到表后更正")
    response = _get(client, world, f"/api/v1/me/records/{world.record.id}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == world.record.id and body["status"] == "corrected"
    first, second = body["revisions"]
    assert first["kind"] == "created" and first["changed"] == [] and first["minutes"] == 180
    assert second["kind"] == "corrected" and second["changed"] == ["minutes"]
    assert second["reason"] == "核对签到表后更正" and second["minutes"] == 150
    assert "created_by" not in second  # the volunteer does not see the organisation's users


def test_another_volunteers_record_answers_404_everywhere(client, world):
    rid = world.strangers_record.id
    assert _get(client, world, f"/api/v1/me/records/{rid}").status_code == 404
    assert _post(client, world, f"/api/v1/me/records/{rid}/confirm").status_code == 404
    assert _dispute(client, world, rid).status_code == 404
    assert _get(client, world, "/api/v1/me/records/2147483647").status_code == 404
    # and the other volunteer sees only theirs
    items = _get(client, world, "/api/v1/me/records", world.stranger_token).get_json()["items"]
    assert [i["id"] for i in items] == [rid]
    assert (
        world.make.run(lambda s: s.scalar(select(func.count()).select_from(CorrectionRequest))) == 0
    )


@pytest.mark.parametrize("role", ROLES)
def test_staff_roles_are_refused(client, make, world, role):
    user = make.user(role, world.org if role in ("org_admin", "org_recorder") else None)
    token = make.token(user)
    rid = world.record.id
    for method, path in [
        ("GET", "/api/v1/me/records"),
        ("GET", f"/api/v1/me/records/{rid}"),
        ("GET", "/api/v1/me/summary"),
        ("POST", f"/api/v1/me/records/{rid}/confirm"),
        ("POST", f"/api/v1/me/records/{rid}/dispute"),
    ]:
        response = client.open(
            path, method=method, headers=bearer(token), json={"kind": "other", "reason": "x"}
        )
        assert response.status_code == 403, (role, path)
        assert response.content_type == "application/problem+json"


def test_without_a_token_answers_401(client, world):
    assert client.get("/api/v1/me/records").status_code == 401


def test_a_volunteer_account_cannot_use_staff_routes(client, world):
    assert _get(client, world, "/api/v1/records").status_code == 403
    assert _get(client, world, f"/api/v1/records/{world.record.id}").status_code == 403


def test_confirm_is_idempotent_and_a_correction_asks_again(client, world, make):
    path = f"/api/v1/me/records/{world.record.id}/confirm"
    first = _post(client, world, path)
    assert first.status_code == 200
    assert first.get_json()["confirmation"] == "confirmed"
    assert first.get_json()["confirmed_at"] is not None
    again = _post(client, world, path)
    assert again.status_code == 200 and again.get_json()["confirmation"] == "confirmed"

    def count(session):
        confirmations = session.scalar(select(func.count()).select_from(RecordConfirmation))
        audited = session.scalar(select(func.count()).where(AuditEntry.action == "record.confirm"))
        return confirmations, audited

    assert make.run(count) == (1, 1)
    world.correct(world.record, minutes=160)
    item = _get(client, world, f"/api/v1/me/records/{world.record.id}").get_json()
    assert item["confirmation"] == "unconfirmed"
    assert _post(client, world, path).get_json()["confirmation"] == "confirmed"


def test_confirming_a_voided_record_is_refused_naming_the_rule(client, world):
    world.void(world.record)
    response = _post(client, world, f"/api/v1/me/records/{world.record.id}/confirm")
    assert response.status_code == 409
    assert response.get_json()["errors"][0]["rule"] == "record_voided"


def test_confirming_while_my_dispute_is_open_is_refused(client, world):
    assert _dispute(client, world, world.record.id).status_code == 201
    response = _post(client, world, f"/api/v1/me/records/{world.record.id}/confirm")
    assert response.status_code == 409
    assert response.get_json()["errors"][0]["rule"] == "dispute_open"


def test_a_dispute_opens_a_correction_request_and_changes_nothing_of_the_record(
    client, world, make
):
    before = _get(client, world, f"/api/v1/me/records/{world.elsewhere.id}").get_json()
    response = _dispute(client, world, world.elsewhere.id, "wrong_time", "那天我下午才到")
    assert response.status_code == 201
    body = response.get_json()
    assert body["kind"] == "wrong_time" and body["status"] == "open"
    assert body["record_id"] == world.elsewhere.id and body["record_revision"] == 1
    assert date.fromisoformat(body["due_on"]) > date.today() - timedelta(days=1)
    assert body["overdue"] is False

    def stored(session):
        request = session.get(CorrectionRequest, body["id"])
        return (
            request.organisation_id,
            request.volunteer_id,
            request.requested_by,
            request.reason,
            request.kind,
            request.record_revision,
            request.due_on.isoformat(),
            request.created_by_id,
        )

    assert make.run(stored) == (
        world.other_org.id,
        world.volunteer.id,
        "陈小明",
        "那天我下午才到",
        "wrong_time",
        1,
        body["due_on"],
        world.account.id,
    )
    after = _get(client, world, f"/api/v1/me/records/{world.elsewhere.id}").get_json()
    assert after["confirmation"] == "disputed"
    assert after["dispute"]["id"] == body["id"]
    for key in ("revision", "minutes", "started_at", "ended_at", "activity", "status"):
        assert after[key] == before[key]
    assert make.run(lambda s: s.get(ServiceRecord, world.elsewhere.id).certificate_hold) is False


def test_a_second_dispute_while_one_is_open_is_refused_and_allowed_after_the_answer(client, world):
    first = _dispute(client, world, world.record.id)
    assert first.status_code == 201
    second = _dispute(client, world, world.record.id, "other", "还有别的问题")
    assert second.status_code == 409
    assert second.get_json()["errors"][0] == {
        "field": "record_id",
        "rule": "dispute_open",
        "message": second.get_json()["errors"][0]["message"],
    }
    world.answer(first.get_json()["id"])
    item = _get(client, world, f"/api/v1/me/records/{world.record.id}").get_json()
    assert item["confirmation"] == "unconfirmed"
    assert item["dispute"]["status"] == "rejected"
    assert item["dispute"]["resolution"] == "经核实，记录无误"
    assert _dispute(client, world, world.record.id, "other", "我仍然认为有误").status_code == 201


def test_disputing_a_voided_record_is_refused(client, world):
    world.void(world.record)
    response = _dispute(client, world, world.record.id)
    assert response.status_code == 409
    assert response.get_json()["errors"][0]["rule"] == "record_voided"


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"kind": "wrong_minutes", "reason": "长" * 1001}, "reason", "string_too_long"),
        ({"kind": "wrong_minutes"}, "reason", "missing"),
        ({"kind": "wrong_minutes", "reason": "   "}, "reason", "required"),
        ({"kind": "not_sure", "reason": "x"}, "kind", "literal_error"),
        ({"reason": "x"}, "kind", "missing"),
        ({"kind": "other", "reason": "x", "minutes": 60}, "minutes", "extra_forbidden"),
        ({"kind": "other", "reason": "a\u202eb"}, "reason", "invisible_character"),
    ],
)
def test_bad_disputes_name_the_field_and_rule(client, world, body, field, rule):
    response = _post(client, world, f"/api/v1/me/records/{world.record.id}/dispute", body)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert (errors[0]["field"], errors[0]["rule"]) == (field, rule)


def test_a_reason_of_exactly_the_limit_is_taken(client, world):
    assert _dispute(client, world, world.record.id, reason="长" * 1000).status_code == 201


def test_disputes_are_rate_limited_per_volunteer(client, world):
    codes = [_dispute(client, world, world.record.id).status_code for _ in range(11)]
    assert codes[0] == 201 and set(codes[1:10]) == {409}
    assert codes[10] == 429
    # another volunteer is counted apart
    assert (
        _dispute(client, world, world.strangers_record.id, token=world.stranger_token).status_code
        == 201
    )


def test_a_dispute_is_due_ten_working_days_later_counting_the_national_day_holiday(
    client, world, monkeypatch
):
    monkeypatch.setattr("verifier.portal.records.local_today", lambda: date(2026, 9, 30))
    body = _dispute(client, world, world.record.id).get_json()
    # 1-7 October are the holiday, Saturday 10 October a make-up working day
    assert body["due_on"] == "2026-10-20"


def test_records_of_a_row_merged_into_mine_are_mine(client, make, world):
    twin = make.volunteer(world.org, name="陈小明", id_number=make_resident_id(902))
    twins_record = make.record(world.org, twin, actor=world.admin, started_at=days_ago(40))

    def merge(session):
        session.get(Volunteer, twin.id).merged_into_id = world.volunteer.id

    make.run(merge)
    items = _by_id(_get(client, world, "/api/v1/me/records").get_json()["items"])
    assert twins_record.id in items
    assert _get(client, world, f"/api/v1/me/records/{twins_record.id}").status_code == 200
    # an account claimed for the row merged away follows the person to the row kept
    twin_token = make.token(volunteer_account(make, twin))
    items = _by_id(_get(client, world, "/api/v1/me/records", twin_token).get_json()["items"])
    assert {world.record.id, world.elsewhere.id, twins_record.id} <= set(items)


def test_paging(client, world):
    body = _get(client, world, "/api/v1/me/records?per_page=1&page=2").get_json()
    assert body["total"] == 2 and [i["id"] for i in body["items"]] == [world.record.id]
    assert _get(client, world, "/api/v1/me/records?per_page=0").status_code == 422

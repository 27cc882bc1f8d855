"""Corrections and voiding through the API: new revisions, full history, no change after voiding."""

import pytest
from support.api_world import build_world, field_error, problem, record_body


@pytest.fixture
def world(make):
    return build_world(make)


@pytest.fixture
def record(client, world):
    response = client.post(
        "/api/v1/records", json=record_body(world.volunteer.id), headers=world.auth("org_recorder")
    )
    assert response.status_code == 201
    return response.get_json()


def correct(client, world, record, body, role="org_admin"):
    return client.post(
        f"/api/v1/records/{record['id']}/corrections", json=body, headers=world.auth(role)
    )


def test_correction_creates_revision_2_and_history_shows_both(client, world, record):
    response = correct(client, world, record, {"reason": "时长录入错误", "minutes": 150})
    assert response.status_code == 200, response.get_json()
    corrected = response.get_json()
    assert corrected["id"] == record["id"]
    assert corrected["revision"] == 2
    assert corrected["minutes"] == 150 and corrected["hours"] == "2.50"
    # fields left out keep their values
    for field in ("activity", "place", "content", "started_at", "ended_at"):
        assert corrected[field] == record[field]

    history = client.get(
        f"/api/v1/records/{record['id']}/history", headers=world.auth("regulator_inspector")
    )
    assert history.status_code == 200
    body = history.get_json()
    assert body["record_id"] == record["id"] and body["status"] == "active"
    first, second = body["revisions"]
    assert (first["revision"], first["kind"], first["reason"], first["minutes"]) == (
        1,
        "created",
        "",
        180,
    )
    assert (second["revision"], second["kind"], second["reason"], second["minutes"]) == (
        2,
        "corrected",
        "时长录入错误",
        150,
    )
    assert first["created_by"] == world.users["org_recorder"].label  # its name, else its e-mail
    assert second["created_by"] == world.users["org_admin"].label
    assert second["created_at"].endswith("+08:00")


def test_correction_is_checked_by_the_creation_rules(client, world, record):
    error = field_error(
        correct(client, world, record, {"reason": "改", "minutes": 999}),
        "minutes",
        "minutes_within_span",
    )
    assert "exceed" in error["message"]
    field_error(
        correct(client, world, record, {"reason": "改", "minutes": "90"}), "minutes", "int_type"
    )
    field_error(
        correct(client, world, record, {"reason": "改", "ended_at": record["started_at"]}),
        "ended_at",
        "end_after_start",
    )
    field_error(
        correct(client, world, record, {"reason": "改", "unpaid": False}),
        "unpaid",
        "unpaid_required",
    )
    field_error(
        correct(client, world, record, {"reason": "改", "minute": 90}), "minute", "extra_forbidden"
    )


def test_correction_needs_a_reason_and_a_change(client, world, record):
    field_error(correct(client, world, record, {"minutes": 150}), "reason", "missing")
    field_error(
        correct(client, world, record, {"reason": "  ", "minutes": 150}), "reason", "required"
    )
    error = field_error(correct(client, world, record, {"reason": "核对"}), "reason", "no_change")
    assert "changes nothing" in error["message"]
    same = {"reason": "核对", "minutes": record["minutes"], "activity": record["activity"]}
    field_error(correct(client, world, record, same), "reason", "no_change")


def test_void_then_correction_is_a_conflict(client, world, record):
    url = f"/api/v1/records/{record['id']}/void"
    response = client.post(url, json={"reason": "活动重复登记"}, headers=world.auth("org_recorder"))
    assert response.status_code == 200, response.get_json()
    voided = response.get_json()
    assert voided["status"] == "voided" and voided["revision"] == 2
    assert voided["void_reason"] == "活动重复登记" and voided["voided_at"].endswith("+08:00")

    conflict = problem(correct(client, world, record, {"reason": "改", "minutes": 60}), 409)
    assert "voided" in conflict["detail"]
    again = client.post(url, json={"reason": "再次作废"}, headers=world.auth("org_admin"))
    problem(again, 409)

    revisions = client.get(
        f"/api/v1/records/{record['id']}/history", headers=world.auth("org_admin")
    ).get_json()["revisions"]
    assert [(r["revision"], r["kind"]) for r in revisions] == [(1, "created"), (2, "voided")]
    assert revisions[1]["reason"] == "活动重复登记"


def test_void_needs_a_reason(client, world, record):
    url = f"/api/v1/records/{record['id']}/void"
    field_error(client.post(url, json={}, headers=world.auth("org_admin")), "reason", "missing")
    field_error(
        client.post(url, json={"reason": ""}, headers=world.auth("org_admin")), "reason", "required"
    )


def test_a_voided_record_frees_its_time(client, world, record):
    client.post(
        f"/api/v1/records/{record['id']}/void",
        json={"reason": "录错"},
        headers=world.auth("org_admin"),
    )
    again = client.post(
        "/api/v1/records",
        json=record_body(world.volunteer.id, minutes=170),
        headers=world.auth("org_admin"),
    )
    assert again.status_code == 201, again.get_json()

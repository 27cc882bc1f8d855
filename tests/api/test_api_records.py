"""POST/GET /api/v1/records: each rule through the API with its status, field, rule and message."""

from datetime import timedelta

import pytest
from support import days_ago
from support.api_world import BEIJING, build_world, field_error, local_iso, problem, record_body


@pytest.fixture
def world(make):
    return build_world(make)


def post_record(client, world, body, role="org_recorder"):
    return client.post("/api/v1/records", json=body, headers=world.auth(role))


def test_create_record_answers_201_with_local_times_and_hours(client, world):
    body = record_body(world.volunteer.id, leader="王队长", evaluation="优秀")
    response = post_record(client, world, body)
    assert response.status_code == 201, response.get_json()
    record = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/records/{record['id']}")
    assert record["volunteer_id"] == world.volunteer.id
    assert record["volunteer_number"] == world.volunteer.volunteer_number
    assert record["organisation_id"] == world.org.id
    assert record["started_at"] == body["started_at"]
    assert record["ended_at"].endswith("+08:00")
    assert record["minutes"] == 180
    assert record["hours"] == "3.00"
    assert record["status"] == "active"
    assert record["revision"] == 1
    assert record["source"] == "api"
    assert record["unpaid"] is True and record["not_job_duty"] is True
    assert record["leader"] == "王队长"
    fetched = client.get(f"/api/v1/records/{record['id']}", headers=world.auth("org_admin"))
    assert fetched.status_code == 200
    assert fetched.get_json() == record


def test_time_without_offset_is_beijing_time_and_utc_is_converted(client, world):
    start = days_ago(4, hour=9)
    naive = start.astimezone(BEIJING).replace(tzinfo=None)
    body = record_body(
        world.volunteer.id,
        started_at=naive.isoformat(timespec="minutes"),
        ended_at=(start + timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
        minutes=90,
    )
    response = post_record(client, world, body)
    assert response.status_code == 201, response.get_json()
    record = response.get_json()
    assert record["started_at"] == local_iso(start)
    assert record["ended_at"] == local_iso(start + timedelta(hours=2))
    assert record["hours"] == "1.50"


@pytest.mark.parametrize(
    ("changes", "field", "rule", "words"),
    [
        ({"minutes": 0}, "minutes", "minutes_positive", "greater than 0"),
        ({"minutes": -30}, "minutes", "minutes_positive", "greater than 0"),
        ({"minutes": 181}, "minutes", "minutes_within_span", "exceed"),
        ({"minutes": 10**30}, "minutes", "less_than_equal", "at most"),
        ({"minutes": 1e30}, "minutes", "int_type", "whole number"),
        ({"minutes": "180"}, "minutes", "int_type", "whole number"),
        ({"minutes": 179.5}, "minutes", "int_type", "whole number"),
        ({"minutes": True}, "minutes", "int_type", "whole number"),
        ({"minutes": None}, "minutes", "int_type", "whole number"),
        ({"volunteer_id": 10**30}, "volunteer_id", "less_than_equal", "at most"),
        ({"volunteer_id": "1"}, "volunteer_id", "int_type", "whole number"),
        (
            {"started_at": "2999-03-05T09:00:00+08:00", "ended_at": "2999-03-05T12:00:00+08:00"},
            "started_at",
            "not_future",
            "future",
        ),
        (
            {"started_at": "1989-03-05T09:00:00+08:00", "ended_at": "1989-03-05T12:00:00+08:00"},
            "started_at",
            "too_early",
            "1990",
        ),
        ({"started_at": "yesterday"}, "started_at", "datetime_format", "ISO 8601"),
        ({"started_at": "2026-02-30T09:00:00"}, "started_at", "datetime_format", "ISO 8601"),
        ({"started_at": "9999-12-31T23:59:59-12:00"}, "started_at", "datetime_format", "ISO 8601"),
        ({"started_at": 1767225600}, "started_at", "datetime_type", "string"),
        ({"unpaid": False}, "unpaid", "unpaid_required", "paid work"),
        ({"not_job_duty": False}, "not_job_duty", "not_job_duty_required", "job"),
        ({"unpaid": "yes"}, "unpaid", "bool_type", "true or false"),
        ({"activity": "   "}, "activity", "required", "required"),
        ({"activity": 5}, "activity", "string_type", "string"),
        ({"activity": "x" * 201}, "activity", "max_length", "200"),
        ({"content": "ok\x00"}, "content", "control_character", "control"),
        ({"minute": 180}, "minute", "extra_forbidden", "not a field"),
    ],
)
def test_each_rule_has_its_field_rule_and_message(client, world, changes, field, rule, words):
    response = post_record(client, world, record_body(world.volunteer.id, **changes))
    error = field_error(response, field, rule)
    assert words in error["message"]
    assert words in response.get_json()["detail"]


def test_end_before_start_is_refused(client, world):
    body = record_body(world.volunteer.id)
    body["started_at"], body["ended_at"] = body["ended_at"], body["started_at"]
    error = field_error(post_record(client, world, body), "ended_at", "end_after_start")
    assert error["message"] == "end time must be after start time"


def test_missing_fields_are_each_named(client, world):
    response = post_record(client, world, {"volunteer_id": world.volunteer.id})
    body = problem(response, 422)
    missing = {e["field"] for e in body["errors"] if e["rule"] == "missing"}
    assert missing == {"activity", "place", "content", "started_at", "ended_at", "minutes"}
    assert "minutes is required" in body["detail"]


def test_overlap_with_own_record_names_it(client, world, make):
    existing = make.record(
        world.org, world.volunteer, world.users["org_admin"], started_at=days_ago(3)
    )
    body = record_body(world.volunteer.id, days=3, hour=10, minutes=60)
    error = field_error(post_record(client, world, body), "started_at", "no_overlap")
    assert f"record {existing.id}" in error["message"]


def test_overlap_with_another_organisations_record_reveals_nothing(client, world, make):
    # the same person, registered with both organisations
    make.volunteer(world.other_org, name="张三", id_number=world.volunteer_id_number)
    theirs = make.record(
        world.other_org, world.volunteer, started_at=days_ago(3), activity="秘密活动"
    )
    response = post_record(
        client, world, record_body(world.volunteer.id, days=3, hour=10, minutes=60)
    )
    error = field_error(response, "started_at", "no_overlap")
    assert error["message"] == "overlaps a record of this volunteer kept by another organisation"
    text = response.get_data(as_text=True)
    for secret in (world.other_org.name, "秘密活动", f"record {theirs.id}", "09:00", "12:00"):
        assert secret not in text


def test_more_than_24_hours_on_one_day_is_refused(client, world):
    day = days_ago(6, hour=0)
    first = record_body(
        world.volunteer.id,
        started_at=local_iso(day + timedelta(hours=1)),
        ended_at=local_iso(day + timedelta(hours=23)),
        minutes=22 * 60,
    )
    assert post_record(client, world, first).status_code == 201
    second = record_body(
        world.volunteer.id,
        started_at=local_iso(day + timedelta(hours=23)),
        ended_at=local_iso(day + timedelta(hours=27)),
        minutes=240,
    )
    error = field_error(post_record(client, world, second), "minutes", "daily_limit")
    assert "24 hours" in error["message"] and "22.00" in error["message"]


def test_the_same_record_twice_is_a_conflict(client, world):
    body = record_body(world.volunteer.id)
    assert post_record(client, world, body).status_code == 201
    assert "already been entered" in problem(post_record(client, world, body), 409)["detail"]


def test_script_tags_and_sql_are_stored_as_given(client, world):
    texts = {
        "activity": "<script>alert('x')</script>",
        "place": "'; DROP TABLE service_records; --",
        "content": '<img src=x onerror="alert(1)"> & 1=1',
        "leader": "Robert'); --",
    }
    response = post_record(client, world, record_body(world.volunteer.id, **texts))
    assert response.status_code == 201, response.get_json()
    record = client.get(
        f"/api/v1/records/{response.get_json()['id']}", headers=world.auth("regulator_inspector")
    ).get_json()
    for field, value in texts.items():
        assert record[field] == value
    assert response.mimetype == "application/json"


def test_another_organisations_volunteer_is_not_found(client, world):
    response = post_record(client, world, record_body(world.other_volunteer.id))
    assert "no such volunteer" in problem(response, 404)["detail"]


def test_unknown_volunteer_is_not_found(client, world):
    problem(post_record(client, world, record_body(2_000_000_000)), 404)


def test_suspended_organisation_may_not_record(client, world):
    response = client.post(
        f"/api/v1/organisations/{world.org.id}/status",
        json={"status": "suspended", "reason": "抽查发现问题"},
        headers=world.auth("platform_admin"),
    )
    assert response.status_code == 200
    assert (
        "suspended"
        in problem(post_record(client, world, record_body(world.volunteer.id)), 403)["detail"]
    )


def test_list_records_by_volunteer_is_scoped(client, world, make):
    mine = make.record(world.org, world.volunteer, started_at=days_ago(8))
    make.record(world.other_org, world.other_volunteer, started_at=days_ago(8))
    url = f"/api/v1/records?volunteer_id={world.volunteer.id}"
    page = client.get(url, headers=world.auth("org_recorder")).get_json()
    assert [r["id"] for r in page["items"]] == [mine.id]
    assert page["total"] == 1 and page["page"] == 1
    everything = client.get("/api/v1/records", headers=world.auth("org_admin")).get_json()
    assert {r["organisation_id"] for r in everything["items"]} == {world.org.id}
    regulator = client.get("/api/v1/records", headers=world.auth("regulator_supervisor")).get_json()
    assert regulator["total"] == 2
    other = f"/api/v1/records?volunteer_id={world.other_volunteer.id}"
    problem(client.get(other, headers=world.auth("org_admin")), 404)
    by_org = f"/api/v1/records?organisation_id={world.other_org.id}"
    assert client.get(by_org, headers=world.auth("platform_admin")).get_json()["total"] == 1


def test_list_query_is_validated(client, world):
    field_error(
        client.get("/api/v1/records?page=abc", headers=world.auth("org_admin")),
        "page",
        "int_parsing",
    )
    field_error(
        client.get("/api/v1/records?page=0", headers=world.auth("org_admin")),
        "page",
        "greater_than_equal",
    )
    field_error(
        client.get("/api/v1/records?page=10000000000000000000000", headers=world.auth("org_admin")),
        "page",
        "less_than_equal",
    )
    field_error(
        client.get("/api/v1/records?volunteer=3", headers=world.auth("org_admin")),
        "volunteer",
        "extra_forbidden",
    )


def test_regulators_and_platform_admin_read_but_never_write(client, world, make):
    record = make.record(world.org, world.volunteer, started_at=days_ago(5))
    for role in ("regulator_supervisor", "regulator_inspector", "platform_admin"):
        assert (
            client.get(f"/api/v1/records/{record.id}", headers=world.auth(role)).status_code == 200
        )
        history = client.get(f"/api/v1/records/{record.id}/history", headers=world.auth(role))
        assert history.status_code == 200
        writes = [
            ("/api/v1/records", record_body(world.volunteer.id, days=2)),
            (f"/api/v1/records/{record.id}/corrections", {"reason": "x", "minutes": 60}),
            (f"/api/v1/records/{record.id}/void", {"reason": "x"}),
        ]
        for url, body in writes:
            response = client.post(url, json=body, headers=world.auth(role))
            assert "role may not" in problem(response, 403)["detail"]


def test_another_organisations_record_is_not_found(client, world, make):
    theirs = make.record(world.other_org, world.other_volunteer, started_at=days_ago(5))
    headers = world.auth("org_admin")
    for url in (f"/api/v1/records/{theirs.id}", f"/api/v1/records/{theirs.id}/history"):
        assert "no such record" in problem(client.get(url, headers=headers), 404)["detail"]
    for url, body in (
        (f"/api/v1/records/{theirs.id}/corrections", {"reason": "改", "minutes": 60}),
        (f"/api/v1/records/{theirs.id}/void", {"reason": "作废"}),
    ):
        problem(client.post(url, json=body, headers=headers), 404)


def test_huge_or_zero_path_ids_are_not_found(client, world):
    for url in ("/api/v1/records/10000000000000000000000000", "/api/v1/records/0"):
        problem(client.get(url, headers=world.auth("org_admin")), 404)


def test_late_entry_is_flagged(client, world):
    late = post_record(client, world, record_body(world.volunteer.id, days=40)).get_json()
    timely = post_record(client, world, record_body(world.volunteer.id, days=2)).get_json()
    assert late["entered_late"] is True
    assert timely["entered_late"] is False

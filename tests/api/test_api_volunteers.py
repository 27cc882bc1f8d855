"""POST/GET /api/v1/volunteers: identifier rules, linking, scoping, and never a full ID number."""

import pytest
from support import make_resident_id
from support.api_world import build_world, field_error, problem

NEW_ID = make_resident_id(777, birth="19851120")


@pytest.fixture
def world(make):
    return build_world(make)


def post_volunteer(client, world, body, role="org_recorder"):
    return client.post("/api/v1/volunteers", json=body, headers=world.auth(role))


def test_register_answers_201_with_masked_identifiers_only(client, world):
    body = {"name": "王五", "id_type": "resident_id", "id_number": NEW_ID, "phone": "13912345678"}
    response = post_volunteer(client, world, body)
    assert response.status_code == 201, response.get_json()
    volunteer = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/volunteers/{volunteer['id']}")
    assert volunteer["name"] == "王五"
    assert volunteer["volunteer_number"].startswith("V")
    assert NEW_ID[6:14] not in volunteer["volunteer_number"]
    assert volunteer["id_type"] == "resident_id"
    assert volunteer["id_number_masked"] == NEW_ID[:3] + "*" * 13 + NEW_ID[-2:]
    assert volunteer["birth_date"] == "1985-11-20"
    assert volunteer["gender"] in ("male", "female")
    assert volunteer["phone_masked"] == "139****5678"
    assert "id_number" not in volunteer and "phone" not in volunteer
    raw = response.get_data()
    assert NEW_ID.encode() not in raw and b"13912345678" not in raw


def test_the_full_id_number_never_appears_in_any_answer(client, world, make):
    number = world.volunteer_id_number
    headers = world.auth("org_admin")
    make.record(world.org, world.volunteer)
    answers = [
        post_volunteer(
            client, world, {"name": "张三", "id_type": "resident_id", "id_number": number}
        ),
        post_volunteer(
            client, world, {"name": "张三丰", "id_type": "resident_id", "id_number": number}
        ),
        post_volunteer(
            client,
            world,
            {"name": "张三", "id_type": "resident_id", "id_number": number[:-1] + "0"},
        ),
        client.get(f"/api/v1/volunteers/{world.volunteer.id}", headers=headers),
        client.get("/api/v1/volunteers", headers=headers),
        client.get(f"/api/v1/volunteers?q={number}", headers=headers),
        client.get(f"/api/v1/volunteers?q={number}", headers=world.auth("regulator_supervisor")),
        client.get(f"/api/v1/records?volunteer_id={world.volunteer.id}", headers=headers),
    ]
    assert [a.status_code for a in answers][:3] == [200, 409, 422]
    for answer in answers:
        raw = answer.get_data()
        assert number.encode() not in raw
        assert number[:17].encode() not in raw
        assert b"13800138000" not in raw


def test_a_known_person_is_linked_and_answers_200(client, world):
    body = {"name": "李四", "id_type": "resident_id", "id_number": make_resident_id(902)}
    response = post_volunteer(client, world, body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["id"] == world.other_volunteer.id
    # now a member of the caller's organisation
    got = client.get(
        f"/api/v1/volunteers/{world.other_volunteer.id}", headers=world.auth("org_admin")
    )
    assert got.status_code == 200
    # registering again is still 200, never a second volunteer
    assert post_volunteer(client, world, body).status_code == 200


def test_same_id_number_under_another_name_is_a_conflict(client, world):
    body = {"name": "别人", "id_type": "resident_id", "id_number": world.volunteer_id_number}
    assert "different name" in problem(post_volunteer(client, world, body), 409)["detail"]


@pytest.mark.parametrize(
    ("changes", "field", "rule", "words"),
    [
        (
            {"id_number": NEW_ID[:-1] + ("0" if NEW_ID[-1] != "0" else "1")},
            "id_number",
            "id_checksum",
            "GB 11643",
        ),
        ({"id_number": "110101" + "19901332" + "0011"}, "id_number", "id_birth_date", "birth date"),
        ({"id_number": "12345"}, "id_number", "id_format", "18 characters"),
        ({"id_type": "passport", "id_number": "E1"}, "id_number", "id_format", "passport"),
        ({"id_type": "driving_licence"}, "id_type", "literal_error", "one of"),
        ({"birth_date": "1990-01-01"}, "birth_date", "birth_date_matches_id", "does not match"),
        ({"birth_date": "01/01/1990"}, "birth_date", "date_format", "YYYY-MM-DD"),
        ({"gender": "x"}, "gender", "literal_error", "one of"),
        ({"phone": "call me"}, "phone", "phone", "digits"),
        ({"name": ""}, "name", "required", "required"),
        ({"guardian_consent": "yes"}, "guardian_consent", "bool_type", "true or false"),
        ({"id_numbr": "x"}, "id_numbr", "extra_forbidden", "not a field"),
    ],
)
def test_each_rule_has_its_field_rule_and_message(client, world, changes, field, rule, words):
    body = {"name": "王五", "id_type": "resident_id", "id_number": NEW_ID, **changes}
    error = field_error(post_volunteer(client, world, body), field, rule)
    assert words in error["message"]


def test_missing_fields_are_named(client, world):
    body = problem(post_volunteer(client, world, {"name": "王五"}), 422)
    assert {(e["field"], e["rule"]) for e in body["errors"]} == {
        ("id_type", "missing"),
        ("id_number", "missing"),
    }


def test_under_14_needs_guardian_consent(client, world):
    child = make_resident_id(31, birth="20200101")
    body = {"name": "小明", "id_type": "resident_id", "id_number": child}
    error = field_error(
        post_volunteer(client, world, body), "guardian_consent", "guardian_consent_under_14"
    )
    assert "under 14" in error["message"]
    half = {**body, "guardian_name": "小明妈妈"}
    field_error(
        post_volunteer(client, world, half), "guardian_consent", "guardian_consent_under_14"
    )
    consented = {**half, "guardian_consent": True}
    response = post_volunteer(client, world, consented)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["guardian_consent"] is True
    assert response.get_json()["guardian_name"] == "小明妈妈"


def test_search_by_name_number_and_exact_id_number(client, world):
    headers = world.auth("org_admin")
    number = world.volunteer.volunteer_number
    for q in ("张", number, world.volunteer_id_number):
        page = client.get("/api/v1/volunteers", query_string={"q": q}, headers=headers).get_json()
        assert [v["id"] for v in page["items"]] == [world.volunteer.id], q
    # another organisation's volunteer is not found by an organisation user, even by ID number
    other = client.get("/api/v1/volunteers", query_string={"q": "李四"}, headers=headers).get_json()
    assert other["items"] == [] and other["total"] == 0
    regulator = client.get(
        "/api/v1/volunteers", query_string={"q": "李四"}, headers=world.auth("regulator_inspector")
    ).get_json()
    assert [v["id"] for v in regulator["items"]] == [world.other_volunteer.id]
    paged = client.get("/api/v1/volunteers?per_page=1&page=1", headers=world.auth("platform_admin"))
    assert paged.get_json()["per_page"] == 1 and paged.get_json()["total"] == 2
    field_error(
        client.get("/api/v1/volunteers?per_page=1000", headers=headers),
        "per_page",
        "less_than_equal",
    )


def test_scoping_of_volunteers(client, world):
    url = f"/api/v1/volunteers/{world.other_volunteer.id}"
    assert (
        "no such volunteer"
        in problem(client.get(url, headers=world.auth("org_admin")), 404)["detail"]
    )
    for role in ("regulator_supervisor", "regulator_inspector", "platform_admin"):
        assert client.get(url, headers=world.auth(role)).status_code == 200
        body = {"name": "王五", "id_type": "resident_id", "id_number": NEW_ID}
        assert "role may not" in problem(post_volunteer(client, world, body, role), 403)["detail"]

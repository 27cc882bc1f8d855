"""The organisations API: registration by the platform admin, scoping, status changes."""

import pytest
from support import make_uscc
from support.api_world import build_world, field_error, problem, record_body

NEW_USCC = make_uscc(4242)


@pytest.fixture
def world(make):
    return build_world(make)


def post_org(client, world, body, role="platform_admin"):
    return client.post("/api/v1/organisations", json=body, headers=world.auth(role))


def org_body(**fields):
    body = {"name": "渝北区社区志愿服务中心", "uscc": NEW_USCC, "responsible_person": "赵负责"}
    body.update(fields)
    return body


def test_platform_admin_registers_an_organisation(client, world):
    response = post_org(client, world, org_body(org_type="community", contact_phone="023-1234567"))
    assert response.status_code == 201, response.get_json()
    org = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/organisations/{org['id']}")
    assert org["uscc"] == NEW_USCC and org["name"] == "渝北区社区志愿服务中心"
    assert (
        org["org_type"] == "community" and org["org_type_label"] == "Community"
    )  # English: the client asks for it
    assert org["region_code"] == NEW_USCC[2:8]
    assert org["status"] == "active" and org["responsible_person"] == "赵负责"
    got = client.get(
        f"/api/v1/organisations/{org['id']}", headers=world.auth("regulator_inspector")
    )
    assert got.get_json() == org


@pytest.mark.parametrize(
    ("changes", "field", "rule", "words"),
    [
        (
            {"uscc": NEW_USCC[:-1] + ("0" if NEW_USCC[-1] != "0" else "1")},
            "uscc",
            "uscc_checksum",
            "GB 32100",
        ),
        ({"uscc": "123"}, "uscc", "uscc_length", "18 characters"),
        ({"uscc": "91350100M000100YI3"}, "uscc", "uscc_charset", "I"),
        ({"responsible_person": " "}, "responsible_person", "required", "required"),
        ({"org_type": "company"}, "org_type", "literal_error", "one of"),
        ({"region_code": "12"}, "region_code", "region_code", "6 digits"),
        ({"contact_phone": "<b>"}, "contact_phone", "phone", "digits"),
        ({"address": "长" * 201}, "address", "string_too_long", "200"),
        ({"homepage": "x"}, "homepage", "extra_forbidden", "not a field"),
    ],
)
def test_each_rule_has_its_field_rule_and_message(client, world, changes, field, rule, words):
    error = field_error(post_org(client, world, org_body(**changes)), field, rule)
    assert words in error["message"]


def test_missing_fields_and_duplicate_uscc(client, world):
    body = problem(post_org(client, world, {}), 422)
    assert {e["field"] for e in body["errors"]} == {"name", "uscc", "responsible_person"}
    duplicate = post_org(client, world, org_body(uscc=world.org.uscc))
    assert "already registered" in problem(duplicate, 409)["detail"]


def test_only_the_platform_admin_registers(client, world):
    for role in ("org_admin", "org_recorder", "regulator_supervisor", "regulator_inspector"):
        problem(post_org(client, world, org_body(), role), 403)
    problem(client.post("/api/v1/organisations", json=org_body()), 401)


def test_organisation_users_see_only_their_own(client, world):
    mine = client.get("/api/v1/organisations", headers=world.auth("org_recorder")).get_json()
    assert [o["id"] for o in mine["items"]] == [world.org.id] and mine["total"] == 1
    url = f"/api/v1/organisations/{world.other_org.id}"
    problem(client.get(url, headers=world.auth("org_admin")), 404)
    everyone = client.get("/api/v1/organisations", headers=world.auth("regulator_supervisor"))
    assert everyone.get_json()["total"] == 2
    found = client.get(
        "/api/v1/organisations", query_string={"q": "慈善"}, headers=world.auth("platform_admin")
    ).get_json()
    assert [o["id"] for o in found["items"]] == [world.other_org.id]


def test_status_change_needs_a_reason_and_stops_recording(client, world):
    url = f"/api/v1/organisations/{world.org.id}/status"
    admin = world.auth("platform_admin")
    field_error(client.post(url, json={"status": "suspended"}, headers=admin), "reason", "missing")
    field_error(
        client.post(url, json={"status": "closed", "reason": "x"}, headers=admin),
        "status",
        "literal_error",
    )
    problem(
        client.post(
            url, json={"status": "suspended", "reason": "x"}, headers=world.auth("org_admin")
        ),
        403,
    )
    response = client.post(url, json={"status": "suspended", "reason": "责令整改"}, headers=admin)
    assert response.status_code == 200 and response.get_json()["status"] == "suspended"
    refused = client.post(
        "/api/v1/records", json=record_body(world.volunteer.id), headers=world.auth("org_admin")
    )
    assert "suspended" in problem(refused, 403)["detail"]
    back = client.post(url, json={"status": "active", "reason": "整改完成"}, headers=admin)
    assert back.get_json()["status"] == "active"

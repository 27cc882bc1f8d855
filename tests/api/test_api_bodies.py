"""Whatever arrives as a body gets a clear 4xx in problem+json, never a 500."""

import json

import pytest
from support import bearer
from support.api_world import build_world, field_error, problem, record_body


@pytest.fixture
def world(make):
    return build_world(make)


def raw_post(client, world, data, content_type="application/json", url="/api/v1/records"):
    return client.post(url, data=data, content_type=content_type, headers=world.auth("org_admin"))


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'{"activity": "x",', "not valid JSON"),
        (b"{'activity': 'x'}", "not valid JSON"),
        (b"", "empty"),
        (b"   ", "empty"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
        (b"null", "JSON object"),
        (b"\xff\xfe\xfa", "not"),
        (b'{"minutes": ' + b"9" * 5000 + b"}", "number too long to read"),
    ],
)
def test_malformed_bodies_are_400(client, world, data, words):
    assert words in problem(raw_post(client, world, data), 400)["detail"]


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
)
def test_bodies_not_sent_as_json_are_415(client, world, content_type):
    body = problem(raw_post(client, world, b'{"a": 1}', content_type), 415)
    assert "Content-Type: application/json" in body["detail"]


def test_no_body_at_all_is_415(client, world):
    response = client.post("/api/v1/records", headers=world.auth("org_admin"))
    problem(response, 415)


def test_json_with_charset_is_accepted(client, world):

    data = json.dumps(record_body(world.volunteer.id)).encode()
    response = raw_post(client, world, data, "application/json; charset=utf-8")
    assert response.status_code == 201, response.get_json()


def test_nested_object_where_text_is_expected(client, world):
    body = record_body(world.volunteer.id, activity={"$ne": None}, place=["a"])
    errors = problem(
        client.post("/api/v1/records", json=body, headers=world.auth("org_admin")), 422
    )
    assert {(e["field"], e["rule"]) for e in errors["errors"]} == {
        ("activity", "string_type"),
        ("place", "string_type"),
    }


def test_wrong_method_and_unknown_route_are_problems(client, world):
    headers = world.auth("org_admin")
    response = client.delete("/api/v1/records", headers=headers)
    assert problem(response, 405)
    assert "POST" in response.headers["Allow"]
    problem(client.get("/api/v1/nothing-here", headers=headers), 404)


def test_tokens_missing_malformed_unknown_or_revoked_are_401(client, world, app):
    from verifier.auth.models import User
    from verifier.auth.services import revoke_token, tokens_of
    from verifier.db import get_session

    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        bearer("vfr_not-a-real-token"),
        bearer("x" * 5000),
    ):
        body = problem(client.get("/api/v1/records", headers=headers), 401)
        assert "Bearer" in body["detail"]

    user = world.users["org_admin"]
    assert client.get("/api/v1/records", headers=world.auth("org_admin")).status_code == 200
    with app.app_context():
        session = get_session()
        actor = session.get(User, user.id)
        revoke_token(session, tokens_of(session, actor)[0].id, actor)
        session.commit()
    problem(client.get("/api/v1/records", headers=world.auth("org_admin")), 401)
    problem(client.post("/api/v1/records", json={}, headers=world.auth("org_admin")), 401)


def test_control_characters_and_broken_unicode_are_refused_before_the_database(client, world):
    # PostgreSQL refuses NUL in text and no database can store a lone surrogate: both were 500s
    headers = world.auth("platform_admin")
    org = {"name": "协会\x00", "uscc": "91350100M000100Y43", "responsible_person": "王"}
    response = client.post("/api/v1/organisations", json=org, headers=headers)
    assert field_error(response, "name", "control_character")["message"] == (
        "name contains a control character (U+0000)"
    )
    volunteer = {"name": "张\x07三", "id_type": "passport", "id_number": "E12345678"}
    response = client.post("/api/v1/volunteers", json=volunteer, headers=world.auth("org_admin"))
    field_error(response, "name", "control_character")
    search = client.get("/api/v1/volunteers?q=a%00b", headers=world.auth("org_admin"))
    field_error(search, "q", "control_character")
    body = json.dumps(record_body(world.volunteer.id), ensure_ascii=False)
    body = body.replace("社区敬老服务", "\\ud800")
    response = raw_post(client, world, body.encode())
    assert field_error(response, "activity", "unicode")["message"] == (
        "activity is not valid Unicode text"
    )
    multiline = record_body(world.volunteer.id, content="第一行\n第二行\t完")
    response = client.post("/api/v1/records", json=multiline, headers=world.auth("org_admin"))
    assert response.status_code == 201
    assert response.get_json()["content"] == "第一行\n第二行\t完"

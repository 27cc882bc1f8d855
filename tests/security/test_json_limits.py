"""Resource limits on JSON: size and nesting depth are checked before anything parses a body.

A body of a few hundred kilobytes of `[` used to raise RecursionError (a 500) on every JSON
endpoint, anonymous verification included. (JSON files on the command line:
test_untrusted_files.py.)
"""

from __future__ import annotations

import io
import json
import re

import pytest
from support import bearer, test_config

from verifier import create_app
from verifier.config import ConfigError
from verifier.jsonlimits import JsonTooDeep, JsonTooLarge, loads, nesting_depth

DEPTH = 32  # the default of VERIFIER_JSON_MAX_DEPTH


def nested(depth: int, inner: bytes = b"1") -> bytes:
    """A JSON object whose member holds arrays nested so that the whole is `depth` deep."""
    return b'{"token": ' + b"[" * (depth - 1) + inner + b"]" * (depth - 1) + b"}"


def problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def json_endpoints(app):
    """Every API route that takes a body, with a URL to call it by (ids are 1)."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
            yield method, re.sub(r"<[^>]+>", "1", rule.rule)


@pytest.fixture
def tokens(make):
    org = make.org()
    return {
        role: make.token(make.user(role, org if role.startswith("org") else None))
        for role in ("org_admin", "platform_admin", "regulator_supervisor", "regulator_inspector")
    }


def test_deep_json_is_refused_on_every_json_endpoint_for_every_caller(app, client, tokens):
    body = b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    endpoints = list(json_endpoints(app))
    assert ("POST", "/api/v1/verifications") in endpoints and len(endpoints) > 20
    for method, path in endpoints:
        for headers in [{}, *(bearer(token) for token in tokens.values())]:
            response = client.open(
                path,
                method=method,
                data=body,
                content_type="application/json",
                headers={**headers, "Accept-Language": "en"},
            )
            answer = problem(response, 400)
            assert answer["errors"][0]["field"] == "body"
            assert answer["errors"][0]["rule"] == "max_depth"
            assert "more than 32 levels deep" in answer["detail"], (method, path)


def test_anonymous_verification_at_the_depth_limit_is_read_and_beyond_it_refused(client):
    at_limit = client.post(
        "/api/v1/verifications",
        data=nested(DEPTH),
        content_type="application/json",
        headers={"Accept-Language": "en"},
    )
    # parsed: the body is refused for what it holds, not for its shape
    assert problem(at_limit, 422)["errors"][0]["field"] == "token"
    beyond = client.post(
        "/api/v1/verifications",
        data=nested(DEPTH + 1),
        content_type="application/json",
        headers={"Accept-Language": "en"},
    )
    assert problem(beyond, 400)["errors"][0]["rule"] == "max_depth"


def test_deep_json_sent_as_text_to_verification_is_415_not_a_crash(client):
    # the rate limit looks into the body to tell a batch from a single check
    response = client.post(
        "/api/v1/verifications",
        data=b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        content_type="text/plain",
    )
    problem(response, 415)


def test_messages_are_translated(client):
    response = client.post(
        "/api/v1/verifications", data=nested(DEPTH + 1), content_type="application/json"
    )
    assert "32" in problem(response, 400)["detail"]
    assert "VERIFIER_JSON_MAX_DEPTH" in response.get_json()["detail"]
    assert "层" in response.get_json()["detail"]


@pytest.fixture
def small_app(database_url):
    app = create_app(test_config(database_url, JSON_MAX_BYTES=1000, JSON_MAX_DEPTH=3))
    yield app
    app.extensions["verifier.db"].engine.dispose()


def test_a_body_over_the_size_limit_is_413_naming_the_limit(small_app):
    client = small_app.test_client()
    body = json.dumps({"token": "x" * 2000}).encode()
    response = client.post(
        "/api/v1/verifications",
        data=body,
        content_type="application/json",
        headers={"Accept-Language": "en"},
    )
    answer = problem(response, 413)
    assert answer["errors"][0] == {
        "field": "body",
        "rule": "max_bytes",
        "message": "the request body is larger than the limit of 1000 bytes for JSON "
        "(VERIFIER_JSON_MAX_BYTES)",
    }


def test_a_body_without_a_length_stops_at_the_size_limit(small_app):
    client = small_app.test_client()
    body = json.dumps({"token": "x" * 5000}).encode()
    response = client.post(
        "/api/v1/verifications",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked", "Accept-Language": "en"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert problem(response, 413)["errors"][0]["rule"] == "max_bytes"


def test_the_limits_are_settings(small_app):
    client = small_app.test_client()
    response = client.post(
        "/api/v1/verifications",
        data=b'{"token": [[["x"]]]}',
        content_type="application/json",
        headers={"Accept-Language": "en"},
    )
    assert "more than 3 levels deep" in problem(response, 400)["detail"]
    under = client.post("/api/v1/verifications", json={"token": [["x"]]})
    assert problem(under, 422)["errors"][0]["field"] == "token"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("VERIFIER_JSON_MAX_DEPTH", "0", "VERIFIER_JSON_MAX_DEPTH must be a positive"),
        ("VERIFIER_JSON_MAX_DEPTH", "1000", "VERIFIER_JSON_MAX_DEPTH must be at most 256"),
        ("VERIFIER_JSON_MAX_BYTES", "-1", "VERIFIER_JSON_MAX_BYTES must be a positive"),
        ("VERIFIER_JSON_MAX_BYTES", "4MB", "VERIFIER_JSON_MAX_BYTES"),
    ],
)
def test_bad_limits_stop_the_app_naming_the_variable(monkeypatch, name, value, words):
    monkeypatch.setenv("VERIFIER_DATABASE_URL", "sqlite:///:memory:")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=words):
        create_app()


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"1", 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'["[[[[", "\\"]]]", "\\\\", [{}]]', 3),  # brackets and escaped quotes inside strings
        (b"[" * 10_000, 10_000),
    ],
)
def test_nesting_depth_counts_structure_not_text(text, depth):
    assert nesting_depth(text) == depth
    assert nesting_depth(text.decode()) == depth


def test_loads_refuses_before_parsing():
    with pytest.raises(JsonTooDeep) as deep:
        loads(b"[" * 100_000 + b"]" * 100_000)
    assert deep.value.limit == 32 and isinstance(deep.value, ValueError)
    with pytest.raises(JsonTooLarge):
        loads(b"[1, 2, 3]", max_bytes=5)
    assert loads('{"a": ["b"]}') == {"a": ["b"]}

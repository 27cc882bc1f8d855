"""Ids and page numbers beyond the database's integer range are 404/400/422, never a 500.

PostgreSQL's `integer` ends at 2^31 - 1: a bigger id in a URL, a query string or a form raised
DataError ("out of range"), and on SQLite a number past 2^63 raised OverflowError; a huge
?page= made an OFFSET that overflowed. The tests run on SQLite and on PostgreSQL (the
`committing_app` test, and the whole suite with VERIFIER_TEST_DB=postgresql).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from support import Factory, bearer, login
from werkzeug.routing import IntegerConverter

from verifier.web.paging import MAX_PAGE

BEYOND = [2**31, 2**63, 10**30]
# list pages with ?page=, and a role that may see each
LIST_PAGES = {
    "/orgs": "platform_admin",
    "/users": "platform_admin",
    "/volunteers": "org_admin",
    "/records": "regulator_supervisor",
    "/certificates": "org_admin",
    "/inspections": "regulator_supervisor",
    "/supervision/cases": "org_admin",
}
ROLES = ("platform_admin", "org_admin", "regulator_supervisor", "regulator_inspector")


class World:
    """A user of each role, signed in on its own client, with an API token; an organisation."""

    def __init__(self, app: Flask) -> None:
        make = Factory(app)
        self.org = make.org()
        self.volunteer = make.volunteer(self.org)
        self.users = make.users(self.org, ROLES)
        self.tokens = make.tokens(self.users)
        self.clients = {}
        for role, user in self.users.items():
            client = app.test_client()
            assert login(client, user.email).status_code == 302
            self.clients[role] = client

    def api(self, role: str) -> dict[str, str]:
        return {**bearer(self.tokens[role]), "Accept-Language": "en"}


def id_routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, rule) whose URL holds an int id."""
    found = []
    for rule in app.url_map.iter_rules():
        if any(isinstance(c, IntegerConverter) for c in rule._converters.values()):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((method, rule.rule))
    return found


def check_ids_in_urls(app: Flask, world: World, values: list[int]) -> None:
    routes = id_routes(app)
    assert len(routes) > 40
    for method, rule in routes:
        for value in values:
            path = re.sub(r"<int[^>]*>", str(value), rule)
            path = re.sub(r"<[^>]+>", "x", path)
            for role in ("platform_admin", "org_admin", "regulator_supervisor"):
                if path.startswith("/api/"):
                    response = world.clients[role].open(
                        path, method=method, headers=world.api(role)
                    )
                else:
                    response = world.clients[role].open(path, method=method, data={})
                assert response.status_code == 404, (method, path, role, response.status_code)


def check_page_numbers(world: World) -> None:
    for path, role in LIST_PAGES.items():
        client = world.clients[role]
        assert client.get(f"{path}?page={MAX_PAGE}").status_code == 200, path
        for value in BEYOND:
            response = client.get(f"{path}?page={value}", headers={"Accept-Language": "en"})
            assert response.status_code == 400, (path, value, response.status_code)
            assert "The page number must be at most 100000" in response.get_data(as_text=True)


def check_ids_in_query_strings(world: World, values: list[int]) -> None:
    pages = [
        ("regulator_supervisor", "/records?org={}"),
        ("platform_admin", "/users?org={}"),
        ("platform_admin", "/users/new?org={}"),
        ("regulator_supervisor", f"/orgs/{world.org.id}/complaints/new?record={{}}"),
        ("org_admin", "/certificates/new?volunteer_id={}"),
    ]
    for value in values:
        for role, pattern in pages:
            response = world.clients[role].get(pattern.format(value))
            assert response.status_code == 404, (pattern, value, response.status_code)
        posted = world.clients["org_admin"].post("/certificates/new", data={"volunteer_id": value})
        assert posted.status_code == 404
        complaint = world.clients["regulator_supervisor"].post(
            f"/orgs/{world.org.id}/complaints/new",
            data={"source": "public", "summary": "投诉内容", "record_id": str(value)},
            headers={"Accept-Language": "en"},
        )
        assert complaint.status_code == 422
        assert "This is not a record number" in complaint.get_data(as_text=True)


def check_ids_in_the_api(world: World, values: list[int]) -> None:
    """Ids as query parameters and in JSON bodies: 422 naming the field."""
    for value in values:
        calls: list[tuple[str, str, str, Any, str]] = [
            ("org_admin", "GET", f"/api/v1/records?volunteer_id={value}", None, "volunteer_id"),
            ("org_admin", "GET", f"/api/v1/records?page={value}", None, "page"),
            ("org_admin", "POST", "/api/v1/records", {"volunteer_id": value}, "volunteer_id"),
            (
                "org_admin",
                "POST",
                "/api/v1/certificates",
                {"volunteer_id": world.volunteer.id, "record_ids": [value]},
                "record_ids.0",
            ),
            (
                "org_admin",
                "POST",
                "/api/v1/certificates/bulk",
                {"period_from": "2026-01-01", "period_to": "2026-01-31", "volunteer_ids": [value]},
                "volunteer_ids.0",
            ),
            (
                "regulator_supervisor",
                "POST",
                "/api/v1/spotcheck/campaigns",
                {"plan_id": value},
                "plan_id",
            ),
            (
                "regulator_inspector",
                "POST",
                "/api/v1/spotcheck/conflicts",
                {"organisation_id": value},
                "organisation_id",
            ),
        ]
        for role, method, path, body, field in calls:
            client = world.clients[role]
            response = client.open(path, method=method, json=body, headers=world.api(role))
            assert response.status_code == 422, (path, response.get_data(as_text=True))
            fields = {e["field"] for e in response.get_json()["errors"]}
            assert field in fields, (path, fields)


@pytest.fixture
def world(app):
    return World(app)


def test_ids_beyond_the_database_in_urls_are_404_on_every_route(app, world):
    check_ids_in_urls(app, world, BEYOND)


def test_page_numbers_beyond_the_limit_are_400_naming_it(world):
    check_page_numbers(world)


def test_ids_beyond_the_database_in_query_strings_and_forms(world):
    check_ids_in_query_strings(world, BEYOND)


def test_ids_beyond_the_database_in_the_api_are_422_naming_the_field(world):
    check_ids_in_the_api(world, BEYOND)


def test_the_page_limit_message_is_translated(world):
    response = world.clients["platform_admin"].get(f"/orgs?page={10**20}")
    assert response.status_code == 400
    assert "页码不能大于 100000" in response.get_data(as_text=True)


@pytest.mark.postgres
def test_on_postgresql_nothing_out_of_range_reaches_the_database(committing_app):
    # 2^31 fits SQLite's integers: only PostgreSQL's `integer` columns refuse it
    world = World(committing_app)
    check_ids_in_urls(committing_app, world, [2**31])
    check_page_numbers(world)
    check_ids_in_query_strings(world, [2**31])
    check_ids_in_the_api(world, [2**31])


def test_ids_in_urls_are_ascii_digits_only(world):
    """`/orgs/１` (a full-width one) is no other spelling of `/orgs/1`."""
    client = world.clients["platform_admin"]
    assert client.get(f"/orgs/{world.org.id}").status_code == 200
    full_width = "".join(chr(ord(d) - ord("0") + ord("０")) for d in str(world.org.id))
    assert client.get(f"/orgs/{full_width}").status_code == 404
    superscript = "²" if world.org.id == 2 else "¹"
    assert client.get(f"/orgs/{superscript}").status_code == 404

"""Dashboard and navigation per role, the language switch, and CSRF on page forms."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import func, select
from support import Factory, csrf_token_from, make_resident_id, new_app, rolled_back
from support import login as sign_in

from verifier.audit.models import AuditEntry
from verifier.db import get_session
from verifier.volunteers.models import Volunteer


def login(client, email):
    """Sign in and read the pages in English, so the assertions hold once translations exist."""
    response = sign_in(client, email)
    client.set_cookie("lang", "en")
    return response


def nav(html: str) -> str:
    found = re.search(r"<nav>(.*?)</nav>", html, re.S)
    assert found
    return found.group(1)


def test_org_user_dashboard_shows_own_counts_and_recent_records(client, make):
    org, other = make.org(), make.org()
    user = make.user("org_recorder", org)
    volunteer = make.volunteer(org)
    record = make.record(org, volunteer, minutes=150)
    stranger = make.volunteer(other)
    hidden = make.record(other, stranger, activity="别家的活动")
    login(client, user.email)
    html = client.get("/dashboard").get_data(as_text=True)
    assert org.name in html and "2.50" in html
    assert f'href="/records/{record.id}"' in html and f"/records/{hidden.id}" not in html
    assert "别家的活动" not in html and other.name not in html
    assert 'href="/volunteers/new"' in html


def test_regulator_dashboard_lists_every_organisation(client, make):
    orgs = [make.org(), make.org()]
    make.record(orgs[1], make.volunteer(orgs[1]), minutes=90)
    supervisor = make.user("regulator_supervisor")
    login(client, supervisor.email)
    html = client.get("/dashboard").get_data(as_text=True)
    for org in orgs:
        assert org.name in html and f'href="/orgs/{org.id}"' in html
    assert "1.50" in html
    assert "/orgs/new" not in html and "/volunteers/new" not in html


def test_platform_admin_dashboard_offers_registration(client, make):
    org = make.org()
    admin = make.user("platform_admin")
    login(client, admin.email)
    html = client.get("/dashboard").get_data(as_text=True)
    assert org.name in html and 'href="/orgs/new"' in html and 'href="/users/new"' in html


@pytest.mark.parametrize(
    ("role", "present", "absent"),
    [
        ("org_recorder", ["/volunteers", "/records", "/orgs/", "/imports"], ["/users"]),
        ("org_admin", ["/volunteers", "/records", "/users"], []),
        ("regulator_inspector", ["/orgs", "/volunteers", "/records"], ["/users", "/imports"]),
        ("platform_admin", ["/orgs", "/users"], ["/volunteers", "/records"]),
    ],
)
def test_navigation_per_role(client, make, role, present, absent):
    org = make.org() if role.startswith("org_") else None
    user = make.user(role, org)
    login(client, user.email)
    links = nav(client.get("/dashboard").get_data(as_text=True))
    hrefs = re.findall(r'href="([^"]+)"', links)
    for prefix in present:
        assert any(h.startswith(prefix) for h in hrefs), (prefix, hrefs)
    for prefix in absent:
        assert not any(h.startswith(prefix) for h in hrefs), (prefix, hrefs)
    # every link in the navigation opens for this role
    for href in hrefs:
        assert client.get(href).status_code == 200, href


@pytest.mark.parametrize("url", ["/dashboard", "/orgs", "/volunteers", "/records", "/users"])
def test_pages_send_anonymous_visitors_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_english_switch_changes_the_page_language(client, make):
    user = make.user("regulator_inspector")
    sign_in(client, user.email)
    assert '<html lang="zh-CN">' in client.get("/volunteers").get_data(as_text=True)
    switched = client.get("/lang/en?next=/volunteers")
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/volunteers")
    assert '<html lang="en">' in client.get("/volunteers").get_data(as_text=True)
    client.get("/lang/zh")
    assert '<html lang="zh-CN">' in client.get("/volunteers").get_data(as_text=True)


@pytest.fixture
def csrf_app(database_url: str):
    """An app with CSRF protection on, inside a transaction rolled back afterwards."""
    application: Flask = new_app(database_url, TESTING_CSRF=True)
    with rolled_back(application):
        yield application
    application.extensions["verifier.db"].engine.dispose()


def test_a_post_without_csrf_token_is_refused_and_writes_nothing(csrf_app):
    make = Factory(csrf_app)
    org = make.org()
    user = make.user("org_recorder", org)
    client = csrf_app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    signed_in = client.post(
        "/login",
        data={"email": user.email, "password": "correct-horse-battery", "csrf_token": token},
    )
    assert signed_in.status_code == 302

    def counts():
        with csrf_app.app_context():
            session = get_session()
            return (
                session.scalar(select(func.count()).select_from(Volunteer)),
                session.scalar(select(func.count()).select_from(AuditEntry)),
            )

    before = counts()
    form = client.get("/volunteers/new").get_data(as_text=True)
    assert 'name="csrf_token"' in form
    data = {"name": "陈晓", "id_type": "resident_id", "id_number": make_resident_id(71)}
    refused = client.post("/volunteers/new", data=data)
    assert refused.status_code == 400
    assert counts() == before
    accepted = client.post("/volunteers/new", data={**data, "csrf_token": csrf_token_from(form)})
    assert accepted.status_code == 302
    assert counts()[0] == before[0] + 1

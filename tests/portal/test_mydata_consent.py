"""The volunteer's choice: public verification shows activity names, or only the totals."""

from __future__ import annotations

import json

import pytest
from mydata_helpers import build_world, problem, refused
from support import days_ago

from verifier.audit.models import AuditEntry
from verifier.certificates.services import number_display
from verifier.volunteers.models import Volunteer

PREFS = "/api/v1/me/preferences"


@pytest.fixture
def w(app, make):
    world = build_world(app, make)
    records = [
        make.record(world.org, world.volunteer, actor=world.admin, started_at=days_ago(20)),
        make.record(
            world.org,
            world.volunteer,
            actor=world.admin,
            started_at=days_ago(10),
            activity="防汛值守",
        ),
    ]
    # issued before the volunteer chooses anything: the choice applies to it all the same
    world.cert = make.certificate(world.org, world.admin, world.volunteer, records)
    return world


def choose(client, w, shown):
    response = client.put(PREFS, json={"public_activities": shown}, headers=w.auth("volunteer"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"public_activities": shown, "locale": "zh"}


def test_the_choice_is_totals_only_by_default_and_can_be_changed(client, w):
    shown = client.get(PREFS, headers=w.auth("volunteer")).get_json()
    assert shown == {"public_activities": False, "locale": "zh"}
    choose(client, w, True)
    shown = client.get(PREFS, headers=w.auth("volunteer")).get_json()
    assert shown == {"public_activities": True, "locale": "zh"}
    (volunteer,) = w.rows(Volunteer, Volunteer.id == w.volunteer.id)
    assert volunteer.public_activities is True
    (entry,) = w.rows(AuditEntry, AuditEntry.action == "volunteer.public_activities")
    assert entry.object_id == str(w.volunteer.id) and json.loads(entry.details) == {
        "public_activities": True
    }
    # the other volunteer's choice is their own
    assert client.get(PREFS, headers=w.auth("other_volunteer")).get_json() == {
        "public_activities": False,
        "locale": "zh",
    }


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"public_activities": "yes"}, "public_activities", "bool_type"),
        ({"public_activities": 1}, "public_activities", "bool_type"),
        ({"locale": "fr"}, "locale", "literal_error"),
        ({"public_activities": True, "language": "en"}, "language", "extra_forbidden"),
    ],
)
def test_bad_choices_are_refused(client, w, body, field, rule):
    refused(client.put(PREFS, json=body, headers=w.auth("volunteer")), 422, field, rule)


def test_staff_cannot_choose_for_a_volunteer(client, w):
    for who in ("org_admin", "regulator_supervisor", "platform_admin"):
        problem(client.put(PREFS, json={"public_activities": True}, headers=w.auth(who)), 403)


def _api(client, **body):
    response = client.post("/api/v1/verifications", json=body)
    assert response.status_code == 200
    return response.get_json()["certificate"]


def test_the_verification_api_shows_activities_only_with_consent(client, w):
    for shown in (_api(client, token=w.cert.token), _api(client, number=w.cert.number)):
        assert shown["activities"] == [] and shown["activities_shown"] is False
        assert shown["hours"] == "6.00"
    status = client.get(f"/api/v1/certificates/{w.cert.number}/status").get_json()["certificate"]
    assert status["activities"] == [] and status["activities_shown"] is False
    batch = client.post("/api/v1/verifications", json={"items": [{"token": w.cert.token}]})
    assert batch.get_json()["results"][0]["certificate"]["activities"] == []
    choose(client, w, True)
    shown = _api(client, token=w.cert.token)
    assert shown["activities_shown"] is True
    assert {a["activity"]: a["hours"] for a in shown["activities"]} == {
        "社区敬老服务": "3.00",
        "防汛值守": "3.00",
    }
    choose(client, w, False)
    assert _api(client, number=w.cert.number)["activities"] == []


def _page_text(response):
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_public_pages_show_activities_only_with_consent(client, w):
    client.set_cookie("lang", "en")
    pages = {
        "scanned": lambda: client.get(f"/v/{w.cert.token}"),
        "typed": lambda: client.get("/verify", query_string={"number": w.cert.number}),
        "holder check": lambda: client.post(
            f"/verify/{number_display(w.cert.number)}/match", data={"name": "张三"}
        ),
    }
    for name, page in pages.items():
        html = _page_text(page())
        assert "社区敬老服务" not in html and "防汛值守" not in html, name
        assert "The volunteer chose to show only the total hours" in html, name
        assert "6.00" in html, name
    assert "Matches" in _page_text(pages["holder check"]())
    choose(client, w, True)
    for name, page in pages.items():
        html = _page_text(page())
        assert "社区敬老服务" in html and "防汛值守" in html, name
        assert "chose to show only the total hours" not in html, name


def test_the_volunteer_chooses_the_language_of_their_messages(app, client, w, make):
    from sqlalchemy import select

    from verifier.crypto.encryption import get_cipher
    from verifier.db import get_session
    from verifier.notifications.models import OutboxMessage
    from verifier.notifications.services import body_place

    changed = client.put(PREFS, json={"locale": "en"}, headers=w.auth("volunteer"))
    assert changed.get_json() == {"public_activities": False, "locale": "en"}
    # the next receipt is in English
    make.record(w.org, w.volunteer, actor=w.admin, started_at=days_ago(3))
    with app.app_context():
        session = get_session()
        message = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "record_receipt")
            .order_by(OutboxMessage.id.desc())
        ).first()
        assert message.locale == "en"
        body = get_cipher().open_text(message.body_enc, body_place(message.id))
        assert "record" in body.lower() and "记录" not in body


def test_the_privacy_page_sets_the_message_language(client, w):
    from support import login

    login(client, w.user.email)
    page = client.get("/me/privacy").get_data(as_text=True)
    assert 'id="message-language"' in page
    saved = client.post("/me/language", data={"language-locale": "en"})
    assert saved.status_code == 302
    assert client.get(PREFS, headers=w.auth("volunteer")).get_json()["locale"] == "en"

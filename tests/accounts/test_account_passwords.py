"""Changing a password (page and API, every user) and resetting it with a code sent to the login."""

from __future__ import annotations

import re
from datetime import timedelta

from account_helpers import outbox, problem_errors
from sqlalchemy import select, update
from support import PASSWORD, bearer, login

from verifier.accounts.models import OneTimeCode
from verifier.audit.models import AuditEntry
from verifier.db import get_session, utcnow

NEW = "another-password-2"


def _change_form(current=PASSWORD, new=NEW, repeat=None):
    return {
        "current_password": current,
        "new_password": new,
        "new_password_repeat": new if repeat is None else repeat,
    }


def test_a_volunteer_changes_the_password_and_other_sessions_end(app, make):
    user = make.volunteer_user()
    here, elsewhere = app.test_client(), app.test_client()
    login(here, user.email)
    login(elsewhere, user.email)
    page = here.get("/account/password")
    assert page.status_code == 200 and 'name="new_password_repeat"' in page.get_data(as_text=True)
    response = here.post("/account/password", data=_change_form())
    assert response.status_code == 302
    assert here.get("/account/password").status_code == 200  # still signed in here
    assert elsewhere.get("/account/password").status_code == 302  # signed out there
    other = app.test_client()
    assert login(other, user.email, PASSWORD).status_code == 401
    assert login(other, user.email, NEW).status_code == 302
    with app.app_context():
        actions = get_session().scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == str(user.id))
        )
        assert "account.password_change" in set(actions)


def test_the_page_names_each_refusal_at_its_field(client, make):
    user = make.volunteer_user()
    login(client, user.email)
    cases = [
        (_change_form(current="wrong-password-9"), "current_password"),
        (_change_form(new="short"), "new_password"),
        (_change_form(new=PASSWORD), "new_password"),
        (_change_form(repeat="something-else-1"), "new_password_repeat"),
    ]
    for form, field in cases:
        response = client.post("/account/password", data=form)
        assert response.status_code == 422, field
        assert f'id="{field}-error"' in response.get_data(as_text=True), field
    assert login(client, user.email).status_code == 302  # the password is unchanged


def test_staff_change_their_password_on_the_same_page(client, make):
    user = make.user("regulator_inspector")
    login(client, user.email)
    assert client.post("/account/password", data=_change_form()).status_code == 302
    client.post("/logout")
    assert login(client, user.email, NEW).status_code == 302


def test_the_api_changes_the_password_for_every_signed_in_user(app, client, make):
    for user in (make.volunteer_user(), make.user("platform_admin")):
        browser = app.test_client()
        login(browser, user.email)
        token = make.token(user)
        response = client.post(
            "/api/v1/account/password",
            json={"current_password": "wrong-password-9", "new_password": NEW},
            headers=bearer(token),
        )
        assert problem_errors(response, 422) == [("current_password", "wrong_password")]
        response = client.post(
            "/api/v1/account/password",
            json={"current_password": PASSWORD, "new_password": "short"},
            headers=bearer(token),
        )
        assert problem_errors(response, 422) == [("new_password", "password_length")]
        response = client.post(
            "/api/v1/account/password",
            json={"current_password": PASSWORD, "new_password": NEW},
            headers=bearer(token),
        )
        assert response.status_code == 204 and response.get_data() == b""
        assert browser.get("/account/password").status_code == 302  # its session ended
        assert login(app.test_client(), user.email, NEW).status_code == 302


def test_password_changes_are_limited_per_address(client, make):
    token = make.token(make.volunteer_user())
    body = {"current_password": "wrong-password-9", "new_password": NEW}
    statuses = [
        client.post("/api/v1/account/password", json=body, headers=bearer(token)).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [422] * 10 and statuses[10] == 429


# resetting -----------------------------------------------------------------------------------


def _code_from(app, user_id: int) -> str:
    message = [m for m in outbox(app, "password_reset") if m["user_id"] == user_id][-1]
    return re.search(r"\b(\d{8})\b", message["body"]).group(1)


def _reset_form(login_text, code, new=NEW, repeat=None):
    return {
        "login": login_text,
        "code": code,
        "new_password": new,
        "new_password_repeat": new if repeat is None else repeat,
    }


def test_a_volunteer_resets_a_forgotten_password_with_a_code_sent_to_the_mobile(app, client, make):
    user = make.volunteer_user(login="13700137000")
    elsewhere = app.test_client()
    login(elsewhere, "13700137000")
    page = client.get("/account/reset")
    assert page.status_code == 200
    response = client.post("/account/reset", data={"login": "137 0013 7000"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/reset/code"
    (message,) = outbox(app, "password_reset")
    assert message["recipient"] == "13700137000" and message["channel"] == "sms"
    code = _code_from(app, user.id)
    # the next page knows the login already
    form = client.get("/account/reset/code").get_data(as_text=True)
    assert 'value="137 0013 7000"' in form
    response = client.post("/account/reset/code", data=_reset_form("13700137000", code))
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert login(client, "13700137000", NEW).status_code == 302
    assert elsewhere.get("/account/password").status_code == 302  # signed out everywhere
    # the code works once
    client.post("/logout")
    again = client.post(
        "/account/reset/code", data=_reset_form("13700137000", code, "third-pass-3")
    )
    assert again.status_code == 422


def test_staff_reset_by_e_mail_too(app, client, make):
    user = make.user("org_admin", make.org())
    client.post("/account/reset", data={"login": user.email})
    (message,) = outbox(app, "password_reset")
    assert message["recipient"] == user.email and message["channel"] == "email"
    code = _code_from(app, user.id)
    assert client.post("/account/reset/code", data=_reset_form(user.email, code)).status_code == 302
    assert login(client, user.email, NEW).status_code == 302


def test_asking_for_an_unknown_login_answers_exactly_the_same(app, make):
    user = make.volunteer_user()
    known, unknown = app.test_client(), app.test_client()
    first = known.post("/account/reset", data={"login": user.email})
    second = unknown.post("/account/reset", data={"login": "nobody@example.cn"})
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    page_one = known.get(first.headers["Location"]).get_data(as_text=True)
    page_two = unknown.get(second.headers["Location"]).get_data(as_text=True)
    assert page_one.replace(user.email, "X") == page_two.replace("nobody@example.cn", "X")
    assert len(outbox(app, "password_reset")) == 1
    # a code typed for the unknown login gets the same refusal as a wrong one
    response = unknown.post(
        "/account/reset/code", data=_reset_form("nobody@example.cn", "12345678")
    )
    wrong = known.post("/account/reset/code", data=_reset_form(user.email, "00000000"))
    assert response.status_code == wrong.status_code == 422
    assert 'id="code-error"' in response.get_data(as_text=True)
    assert 'id="code-error"' in wrong.get_data(as_text=True)


def test_a_login_that_cannot_be_one_is_refused_at_its_field(client):
    response = client.post("/account/reset", data={"login": "not a login"})
    assert response.status_code == 422
    assert 'id="login-error"' in response.get_data(as_text=True)


def test_a_code_dies_after_five_wrong_tries(app, client, make):
    user = make.volunteer_user()
    client.post("/account/reset", data={"login": user.email})
    code = _code_from(app, user.id)
    wrong = "00000000" if code != "00000000" else "11111111"
    for _ in range(5):
        response = client.post("/account/reset/code", data=_reset_form(user.email, wrong))
        assert response.status_code == 422
    with app.app_context():
        row = get_session().scalars(select(OneTimeCode).where(OneTimeCode.user_id == user.id))
        assert row.one().attempts == 5  # each wrong try was kept, though each was refused
    response = client.post("/account/reset/code", data=_reset_form(user.email, code))
    assert response.status_code == 422
    assert login(client, user.email, PASSWORD).status_code == 302


def test_a_code_expires_after_fifteen_minutes(app, client, make):
    user = make.volunteer_user()
    client.post("/account/reset", data={"login": user.email})
    code = _code_from(app, user.id)
    make.run(
        lambda s: s.execute(update(OneTimeCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    )
    assert client.post("/account/reset/code", data=_reset_form(user.email, code)).status_code == 422
    with app.app_context():
        row = get_session().scalars(select(OneTimeCode)).one()
        assert row.expires_at - row.created_at <= timedelta(minutes=15)


def test_a_new_code_replaces_the_older_one(app, client, make):
    user = make.volunteer_user()
    client.post("/account/reset", data={"login": user.email})
    first = _code_from(app, user.id)
    client.post("/account/reset", data={"login": user.email})
    second = _code_from(app, user.id)
    if first != second:
        response = client.post("/account/reset/code", data=_reset_form(user.email, first))
        assert response.status_code == 422
    assert (
        client.post("/account/reset/code", data=_reset_form(user.email, second)).status_code == 302
    )


def test_the_new_password_follows_the_rules_and_a_refusal_keeps_the_code(app, client, make):
    user = make.volunteer_user()
    client.post("/account/reset", data={"login": user.email})
    code = _code_from(app, user.id)
    response = client.post("/account/reset/code", data=_reset_form(user.email, code, new="short"))
    assert response.status_code == 422
    assert 'id="new_password-error"' in response.get_data(as_text=True)
    response = client.post(
        "/account/reset/code", data=_reset_form(user.email, code, repeat="other-password-4")
    )
    assert response.status_code == 422
    assert client.post("/account/reset/code", data=_reset_form(user.email, code)).status_code == 302


def test_asking_for_codes_is_limited_per_login_and_per_address(app, make):
    user = make.volunteer_user()
    statuses = []
    for i in range(6):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{i + 1}"
        statuses.append(
            client.post("/account/reset", data={"login": user.email.upper()}).status_code
        )
    assert statuses[:5] == [302] * 5 and statuses[5] == 429
    assert len(outbox(app, "password_reset")) == 5
    client = app.test_client()
    statuses = [
        client.post("/account/reset", data={"login": f"n{i}@example.cn"}).status_code
        for i in range(6)
    ]
    assert statuses[:5] == [302] * 5 and statuses[5] == 429


def test_typing_codes_is_limited_per_login(app, make):
    user = make.volunteer_user()
    statuses = []
    for i in range(11):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{i + 1}"
        form = _reset_form(user.email, "12345678", new="short")
        statuses.append(client.post("/account/reset/code", data=form).status_code)
    assert statuses[:10] == [422] * 10 and statuses[10] == 429

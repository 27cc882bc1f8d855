"""Findings of the attacker's review of the volunteers' accounts, each fixed and kept fixed."""

from __future__ import annotations

import re

from account_helpers import claim_body, invite, outbox, problem_errors
from support import PASSWORD, bearer

NEW = "another-password-2"


def _reset_code(app, user_id):
    (message,) = [m for m in outbox(app, "password_reset") if m["user_id"] == user_id][-1:]
    return re.search(r"\b(\d{8})\b", message["body"]).group(1)


def test_a_password_reset_revokes_the_api_tokens_made_with_the_old_password(app, client, make):
    # someone who learnt the password makes a token; the owner notices and resets by code
    user = make.volunteer_user()
    stolen = client.post(
        "/api/v1/account/tokens", json={"login": user.email, "password": PASSWORD, "name": "x"}
    )
    assert stolen.status_code == 201
    token = stolen.get_json()["token"]
    assert client.get("/api/v1/me/records", headers=bearer(token)).status_code == 200
    owner = app.test_client()
    owner.post("/account/reset", data={"login": user.email})
    done = owner.post(
        "/account/reset/code",
        data={
            "login": user.email,
            "code": _reset_code(app, user.id),
            "new_password": NEW,
            "new_password_repeat": NEW,
        },
    )
    assert done.status_code == 302
    assert app.test_client().get("/api/v1/me/records", headers=bearer(token)).status_code == 401


def test_the_claim_limit_per_code_is_shared_by_the_page_and_the_api(app, make):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    client = app.test_client()
    code = invite(client, make, volunteer, admin)["code"]
    body = {"code": code, "login": "bad login", "password": "x", "accept_privacy_notice": True}
    for i in range(10):  # ten tries from ten addresses: the code's allowance for the hour
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{i}"
        assert client.post("/api/v1/account/claim", json=body).status_code != 429
    client.environ_base["REMOTE_ADDR"] = "10.0.1.1"
    assert client.post("/api/v1/account/claim", json=body).status_code == 429
    # the page counts against the same allowance
    page = client.post("/account/claim", data=dict(body, password_repeat="x"))
    assert page.status_code == 429


def test_a_claim_is_told_to_the_mobile_number_on_file(app, client, make):
    # the code passes through the organisation's hands: the person hears of every claim
    org = make.org(name="南川区志愿者协会")
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, phone="13800138000")
    code = invite(client, make, volunteer, admin)["code"]
    made = client.post("/api/v1/account/claim", json=claim_body(code, login="x@example.cn"))
    assert made.status_code == 201
    (notice,) = outbox(app, "account_claimed")
    assert notice["recipient"] == "13800138000" and notice["channel"] == "sms"
    assert "x***@example.cn" in notice["body"] and "南川区志愿者协会" in notice["body"]
    assert "x@example.cn" not in notice["subject"]


def test_no_claim_notice_when_the_login_is_the_number_on_file(app, client, make):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, phone="13800138000")
    code = invite(client, make, volunteer, admin)["code"]
    made = client.post("/api/v1/account/claim", json=claim_body(code, login="13800138000"))
    assert made.status_code == 201
    assert outbox(app, "account_claimed") == []


def _sent_code(app, login):
    (message,) = [m for m in outbox(app, "claim_login_code") if m["recipient"] == login][-1:]
    return re.search(r"\b(\d{8})\b", message["body"]).group(1)


def test_a_claim_needs_the_code_sent_to_its_login(app, client, make):
    # the login is proven: an account is never opened on an address that is not the claimant's
    org = make.org(name="南川区志愿者协会")
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    code = invite(client, make, volunteer, admin)["code"]
    sent = client.post(
        "/api/v1/account/claim/login-code", json={"code": code, "login": "13912345678"}
    )
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json() == {"sent_to": "139****5678", "valid_minutes": 15}
    (message,) = outbox(app, "claim_login_code")
    assert message["recipient"] == "13912345678" and message["channel"] == "sms"
    assert "南川区志愿者协会" in message["body"]
    received = _sent_code(app, "13912345678")
    body = {
        "code": code,
        "login": "13912345678",
        "password": "a-long-password-1",
        "accept_privacy_notice": True,
    }
    # without it, with a wrong one, or with the code of another login: refused, naming it
    refused = client.post("/api/v1/account/claim", json=body)
    assert problem_errors(refused, 422) == [("login_code", "missing")]
    wrong = str((int(received) + 1) % 10**8).zfill(8)
    refused = client.post("/api/v1/account/claim", json=dict(body, login_code=wrong))
    assert problem_errors(refused, 422) == [("login_code", "invalid")]
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in received)  # never a 500
    refused = client.post("/api/v1/account/claim", json=dict(body, login_code=full_width))
    assert problem_errors(refused, 422) == [("login_code", "invalid")]
    other = dict(body, login="13800000000", login_code=received)
    assert problem_errors(client.post("/api/v1/account/claim", json=other), 422) == [
        ("login_code", "invalid")
    ]
    made = client.post("/api/v1/account/claim", json=dict(body, login_code=f" {received} "))
    assert made.status_code == 201, made.get_json()
    # the code is used up: asking again names the rule
    again = client.post(
        "/api/v1/account/claim/login-code", json={"code": code, "login": "13700000000"}
    )
    assert problem_errors(again, 409) == [("code", "used")]


def test_no_login_code_for_a_login_that_is_taken_or_malformed(app, client, make):
    org = make.org()
    admin = make.user("org_admin", org)
    code = invite(client, make, make.volunteer(org), admin)["code"]
    taken = client.post(
        "/api/v1/account/claim/login-code", json={"code": code, "login": admin.email.upper()}
    )
    assert problem_errors(taken, 409) == [("login", "unique")]
    bad = client.post("/api/v1/account/claim/login-code", json={"code": "", "login": "x"})
    assert sorted(problem_errors(bad, 422)) == [("code", "required"), ("login", "login")]
    assert outbox(app, "claim_login_code") == []


def test_login_codes_to_one_login_are_limited(app, client, make):
    org = make.org()
    admin = make.user("org_admin", org)
    code = invite(client, make, make.volunteer(org), admin)["code"]
    body = {"code": code, "login": "flood@example.cn"}
    for i in range(5):
        client.environ_base["REMOTE_ADDR"] = f"10.0.2.{i}"
        assert client.post("/api/v1/account/claim/login-code", json=body).status_code == 202
    client.environ_base["REMOTE_ADDR"] = "10.0.3.1"
    assert client.post("/api/v1/account/claim/login-code", json=body).status_code == 429
    assert len(outbox(app, "claim_login_code")) == 5


def test_the_claim_page_sends_the_code_then_opens_the_account(app, client, make):
    org = make.org()
    admin = make.user("org_admin", org)
    code = invite(client, make, make.volunteer(org), admin)["code"]
    assert 'name="send_login_code"' in client.get("/account/claim").get_data(as_text=True)
    first = client.post(
        "/account/claim",
        data={"code": code, "login": "me@example.cn", "send_login_code": "y"},
    )
    assert first.status_code == 200
    shown = first.get_data(as_text=True)
    assert 'id="login-code-sent"' in shown and "m***@example.cn" in shown
    assert f'value="{code}"' in shown  # what was typed stays
    done = client.post(
        "/account/claim",
        data={
            "code": code,
            "login": "me@example.cn",
            "login_code": _sent_code(app, "me@example.cn"),
            "password": "a-long-password-1",
            "password_repeat": "a-long-password-1",
            "accept_privacy_notice": "y",
        },
    )
    assert done.status_code == 302 and done.headers["Location"] == "/dashboard"

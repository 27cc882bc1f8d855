"""Findings of the attacker's review of the volunteers' accounts, each fixed and kept fixed."""

from __future__ import annotations

import re

from account_helpers import claim_body, invite, outbox
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

"""Signing in with a mobile number, API tokens for a login and password, a volunteer's limits."""

from __future__ import annotations

import pytest
from account_helpers import problem_errors
from sqlalchemy import select
from support import PASSWORD, bearer, login

from verifier.auth.models import ApiToken, SignInFailure
from verifier.db import get_session


def test_a_volunteer_signs_in_with_a_mobile_number_typed_any_usual_way(client, make):
    volunteer_user = make.volunteer_user(login="13900139000")
    assert volunteer_user.email == "13900139000"
    for typed in ("13900139000", "139 0013 9000", "+86 139-0013-9000"):
        assert login(client, typed).status_code == 302, typed
        client.post("/logout")
    assert login(client, "13900139001").status_code == 401


def test_the_sign_in_page_asks_for_an_e_mail_or_a_mobile_number(client):
    page = client.get("/login?lang=en").get_data(as_text=True)
    assert "E-mail or mobile number" in page
    assert 'type="email"' not in page  # a phone's keyboard would not offer digits first
    assert 'href="/account/reset"' in page and 'href="/account/claim"' in page


def test_staff_still_sign_in_with_their_e_mail(client, make):
    user = make.user("org_admin", make.org())
    assert login(client, user.email.upper()).status_code == 302


def test_a_volunteer_gets_an_api_token_with_login_and_password(client, make):
    user = make.volunteer_user(login="13900139000")
    response = client.post(
        "/api/v1/account/tokens",
        json={"login": "139 0013 9000", "password": PASSWORD, "name": "my phone"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["token"].startswith("vfr_")
    assert body["login"] == "13900139000" and body["role"] == "volunteer"
    # the token acts as the volunteer: it may change their password, and nothing of the staff's
    headers = bearer(body["token"])
    for url in (
        "/api/v1/volunteers",
        "/api/v1/records",
        "/api/v1/certificates",
        "/api/v1/organisations",
        f"/api/v1/volunteers/{user.volunteer_id}",
    ):
        assert client.get(url, headers=headers).status_code == 403, url
    response = client.post(f"/api/v1/volunteers/{user.volunteer_id}/invitation", headers=headers)
    assert response.status_code == 403
    response = client.post(
        "/api/v1/account/password",
        json={"current_password": PASSWORD, "new_password": "another-password-2"},
        headers=headers,
    )
    assert response.status_code == 204


def test_staff_get_tokens_the_same_way(client, make):
    user = make.user("org_recorder", make.org())
    response = client.post(
        "/api/v1/account/tokens", json={"login": user.email, "password": PASSWORD}
    )
    assert response.status_code == 201
    token = response.get_json()["token"]
    assert client.get("/api/v1/volunteers", headers=bearer(token)).status_code == 200


def test_a_wrong_password_is_refused_and_counted_like_a_sign_in(app, client, make):
    user = make.volunteer_user()
    unknown = client.post(
        "/api/v1/account/tokens", json={"login": "nobody@example.cn", "password": "guess-12345"}
    )
    wrong = client.post(
        "/api/v1/account/tokens", json={"login": user.email, "password": "guess-12345"}
    )
    assert problem_errors(unknown, 400) == [("login", "invalid_credentials")]
    assert problem_errors(wrong, 400) == [("login", "invalid_credentials")]
    assert unknown.get_json()["detail"] == wrong.get_json()["detail"]
    with app.app_context():
        failures = get_session().scalars(
            select(SignInFailure).where(SignInFailure.user_id == user.id)
        )
        assert failures.one().failures == 1  # kept although the answer was an error
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        client.post("/api/v1/account/tokens", json={"login": user.email, "password": "guess-12345"})
    # locked out at this address: the right password is refused too, as on the sign-in page
    response = client.post(
        "/api/v1/account/tokens", json={"login": user.email, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert login(client, user.email).status_code == 401


def test_token_requests_are_limited_per_address(client):
    body = {"login": "nobody@example.cn", "password": "guess-12345"}
    statuses = [client.post("/api/v1/account/tokens", json=body).status_code for _ in range(21)]
    assert statuses[:20] == [400] * 20 and statuses[20] == 429


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"password": "x"}, "login", "missing"),
        ({"login": "a@example.cn"}, "password", "missing"),
        (
            {"login": "a@example.cn", "password": "x", "role": "platform_admin"},
            "role",
            "extra_forbidden",
        ),
    ],
)
def test_a_token_request_names_a_bad_field(client, body, field, rule):
    assert (field, rule) in problem_errors(client.post("/api/v1/account/tokens", json=body), 422)


def test_a_volunteer_lists_and_revokes_their_tokens_on_the_tokens_page(app, client, make):
    user = make.volunteer_user()
    token = make.token(user)
    login(client, user.email)
    page = client.get("/account/tokens")
    assert page.status_code == 200
    with app.app_context():
        token_id = get_session().scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    response = client.post(
        "/api/v1/account/password",
        json={"current_password": PASSWORD, "new_password": "another-password-2"},
        headers=bearer(token),
    )
    assert response.status_code == 401


def test_a_volunteer_signs_out(client, make):
    user = make.volunteer_user()
    login(client, user.email)
    assert client.get("/account/password").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/account/password").status_code == 302  # sent to sign in


def test_a_volunteer_reaches_no_staff_page(client, make):
    org = make.org()
    volunteer = make.volunteer(org)
    user = make.volunteer_user(volunteer)
    login(client, user.email)
    for url in ("/volunteers", f"/volunteers/{volunteer.id}", "/records", "/certificates", "/orgs"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/volunteers/{volunteer.id}/invitation").status_code == 403


def test_the_tokens_page_speaks_to_a_volunteer_as_one(client, make):
    from support import login

    user = make.volunteer_user()
    assert login(client, user.email).status_code == 302
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "以您的身份" in page and "本组织自有系统" not in page

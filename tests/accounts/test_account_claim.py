"""Claiming an account with an invitation code: the API, the phone page, every refusal, limits."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from account_helpers import claim_body, invite, login_code, problem_errors
from sqlalchemy import select, update
from support import login

from verifier.accounts.invitations import PRIVACY_NOTICE_VERSION, code_hashes, new_code
from verifier.accounts.models import VolunteerInvitation
from verifier.auth.models import User
from verifier.db import get_session, utcnow


@pytest.fixture
def invited(client, make):
    """A volunteer of an organisation, and an invitation code for them."""
    org = make.org()
    volunteer = make.volunteer(org)
    body = invite(client, make, volunteer, make.user("org_admin", org))
    return volunteer, body["code"]


def test_a_volunteer_claims_an_account_with_the_code(app, client, invited):
    volunteer, code = invited
    response = client.post(
        "/api/v1/account/claim", json=claim_body(code, "Zhang.San@Example.CN", locale="en")
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["login"] == "zhang.san@example.cn" and body["role"] == "volunteer"
    with app.app_context():
        session = get_session()
        user = session.get(User, body["user_id"])
        assert user.role == "volunteer" and user.volunteer_id == volunteer.id
        assert user.organisation_id is None
        assert user.locale == "en"
        assert user.privacy_notice_version == PRIVACY_NOTICE_VERSION
        assert user.privacy_accepted_at is not None
        invitation = session.scalars(select(VolunteerInvitation)).one()
        assert invitation.used_at is not None and invitation.used_by_id == user.id
    # and signs in with it, on the sign-in page
    assert login(client, "zhang.san@example.cn", "a-long-password-1").status_code == 302


def test_a_mobile_number_is_a_login_written_any_usual_way(client, invited):
    _volunteer, code = invited
    response = client.post("/api/v1/account/claim", json=claim_body(code, "+86 138-0013 8000"))
    assert response.status_code == 201
    assert response.get_json()["login"] == "13800138000"
    assert login(client, "138 0013 8000", "a-long-password-1").status_code == 302


def test_the_code_is_read_in_any_case_with_or_without_dashes_and_spaces(client, invited):
    _volunteer, code = invited
    typed = " " + code.replace("-", " ").lower() + " "
    assert client.post("/api/v1/account/claim", json=claim_body(typed)).status_code == 201


@pytest.mark.parametrize("code", ["ABCD-EFGH-JKMN", "not a code", "0000-0000-0000", "A" * 64])
def test_a_code_that_is_not_one_is_refused_without_saying_more(client, invited, code):
    response = client.post("/api/v1/account/claim", json=claim_body(code))
    assert problem_errors(response, 422) == [("code", "invalid")]


def test_a_used_code_is_refused(client, invited):
    _volunteer, code = invited
    assert (
        client.post("/api/v1/account/claim", json=claim_body(code, "a@example.cn")).status_code
        == 201
    )
    response = client.post("/api/v1/account/claim", json=claim_body(code, "b@example.cn"))
    assert problem_errors(response, 409) == [("code", "used")]


def test_an_expired_code_is_refused(make, client, invited):
    _volunteer, code = invited
    make.run(
        lambda s: s.execute(
            update(VolunteerInvitation).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    )
    response = client.post("/api/v1/account/claim", json=claim_body(code))
    assert problem_errors(response, 422) == [("code", "expired")]


def test_a_code_for_a_volunteer_who_already_has_an_account_is_refused(make, client):
    org = make.org()
    volunteer = make.volunteer(org)
    make.volunteer_user(volunteer)
    # an open invitation the claim did not use (written directly: the service would refuse it)
    code = new_code()

    def add(session):
        session.add(
            VolunteerInvitation(
                volunteer_id=volunteer.id,
                organisation_id=org.id,
                code_hash=code_hashes(code)[0],
                expires_at=utcnow() + timedelta(days=1),
            )
        )

    make.run(add)
    response = client.post("/api/v1/account/claim", json=claim_body(code, "again@example.cn"))
    assert problem_errors(response, 409) == [("code", "already_claimed")]


def test_the_privacy_notice_must_be_accepted(client, invited):
    _volunteer, code = invited
    for body in (claim_body(code, accept_privacy_notice=False), _without(claim_body(code))):
        response = client.post("/api/v1/account/claim", json=body)
        assert problem_errors(response, 422) == [("accept_privacy_notice", "required")]
    response = client.post(
        "/api/v1/account/claim", json=claim_body(code, accept_privacy_notice="yes")
    )
    assert problem_errors(response, 422) == [("accept_privacy_notice", "bool_type")]


def _without(body):
    body.pop("accept_privacy_notice")
    return body


def test_a_login_already_used_by_anyone_is_refused(client, make, invited):
    _volunteer, code = invited
    staff = make.user("org_recorder", make.org())
    response = client.post("/api/v1/account/claim", json=claim_body(code, staff.email.upper()))
    assert problem_errors(response, 409) == [("login", "unique")]


@pytest.mark.parametrize(
    "login_text", ["zhangsan", "12345678901", "2380013800", "a@b", "1380013800x"]
)
def test_a_login_that_is_neither_an_e_mail_nor_a_mobile_number_is_refused(
    client, invited, login_text
):
    _volunteer, code = invited
    response = client.post("/api/v1/account/claim", json=claim_body(code, login_text))
    assert problem_errors(response, 422) == [("login", "login")]


def test_the_password_rules_are_the_sign_in_rules(client, invited):
    _volunteer, code = invited
    response = client.post("/api/v1/account/claim", json=claim_body(code, password="short"))
    assert problem_errors(response, 422) == [("password", "password_length")]
    response = client.post("/api/v1/account/claim", json=claim_body(code, password="aaaaaaaaaaaa"))
    assert problem_errors(response, 422) == [("password", "password_strength")]


def test_every_rule_that_needs_no_code_is_named_at_once(client):
    body = {"code": "", "login": "x", "password": "short", "accept_privacy_notice": False}
    body["login_code"] = ""
    response = client.post("/api/v1/account/claim", json=body)
    assert sorted(problem_errors(response, 422)) == [
        ("accept_privacy_notice", "required"),
        ("code", "required"),
        ("login", "login"),
        ("password", "password_length"),
    ]


def test_claims_are_limited_per_address(app, client):
    client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    statuses = [
        client.post("/api/v1/account/claim", json=claim_body(new_code())).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.8"
    assert other.post("/api/v1/account/claim", json=claim_body(new_code())).status_code == 422


def test_claims_are_limited_per_code_however_it_is_typed(app, invited):
    _volunteer, code = invited
    spellings = [code, code.lower(), code.replace("-", ""), code.replace("-", " ")]
    statuses = []
    for i in range(11):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{i + 1}"
        body = claim_body(spellings[i % 4], password="short")  # refused, the code kept
        statuses.append(client.post("/api/v1/account/claim", json=body).status_code)
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429


# the page ------------------------------------------------------------------------------------


def _page_form(code: str, **fields):
    form = {
        "code": code,
        "login": fields.get("login", "13800138000"),
        "password": "a-long-password-1",
        "password_repeat": "a-long-password-1",
        "accept_privacy_notice": "y",
    }
    form["login_code"] = login_code(code, form["login"])
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


def test_the_claim_page_shows_the_whole_privacy_notice_and_a_required_checkbox(client):
    page = client.get("/account/claim").get_data(as_text=True)
    assert 'name="code"' in page and 'name="login"' in page
    assert 'name="password_repeat"' in page
    checkbox = re.search(r'<input[^>]*name="accept_privacy_notice"[^>]*>', page).group(0)
    assert 'type="checkbox"' in checkbox and "required" in checkbox
    # what is kept, why, for how long, who sees it
    for text in (
        "隐私告知",
        "GB/T 40143",
        "至少保存 10 年",
        "抽查",
        "遮蔽",
        "志愿服务条例",
        "监管部门",
    ):
        assert text in page, text
    assert '<meta name="viewport"' in page


def test_the_privacy_page_is_public_and_holds_the_same_notice(client):
    page = client.get("/privacy")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "GB/T 40143" in text and PRIVACY_NOTICE_VERSION in text
    english = client.get("/privacy?lang=en").get_data(as_text=True)
    assert "Privacy notice" in english and "at least 10 years" in english


def test_claiming_on_the_page_signs_the_volunteer_in(app, client, invited):
    _volunteer, code = invited
    response = client.post("/account/claim", data=_page_form(code.lower()))
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    # signed in as the new volunteer: the password page is theirs
    assert client.get("/account/password").status_code == 200
    with app.app_context():
        user = get_session().scalars(select(User).where(User.email == "13800138000")).one()
        assert user.role == "volunteer" and user.locale == "zh"


def test_the_page_names_each_refusal_at_its_field(client, invited):
    _volunteer, code = invited
    response = client.post("/account/claim", data=_page_form(code, accept_privacy_notice=None))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="accept_privacy_notice-error"' in page
    response = client.post("/account/claim", data=_page_form(code, password_repeat="different-123"))
    assert response.status_code == 422
    assert 'id="password_repeat-error"' in response.get_data(as_text=True)
    response = client.post("/account/claim", data=_page_form("ABCD-EFGH-JKMN"))
    assert response.status_code == 422
    assert 'id="code-error"' in response.get_data(as_text=True)
    # none of these used the code up
    assert client.post("/account/claim", data=_page_form(code)).status_code == 302
    response = client.post("/account/claim", data=_page_form(code, login="x@example.cn"))
    assert response.status_code == 409
    assert 'id="code-error"' in response.get_data(as_text=True)


def test_knowing_a_name_and_id_number_is_not_enough(client, make):
    """The claim takes a code only: the person's identity is no field of it."""
    org = make.org()
    volunteer = make.volunteer(org, name="王五")
    body = claim_body("", name="王五", id_number="110101199003070011", volunteer_id=volunteer.id)
    response = client.post("/api/v1/account/claim", json=body)
    assert ("name", "extra_forbidden") in problem_errors(response, 422)
    assert client.get("/account/claim").get_data(as_text=True).count('name="id_number"') == 0


def test_the_page_counts_against_the_same_limits(app, invited):
    _volunteer, code = invited
    statuses = []
    for i in range(11):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{i + 1}"
        form = _page_form(code.replace("-", "") if i % 2 else code, password="short")
        statuses.append(client.post("/account/claim", data=form).status_code)
    assert statuses[:10] == [422] * 10 and statuses[10] == 429

"""Password sign-in, lock-out, throttling, session cookies, CSRF and API tokens."""

import re

from sqlalchemy import select
from support import PASSWORD, bearer, csrf_token_from, login

from verifier.auth.models import ApiToken, SignInFailure, User
from verifier.db import get_session, utcnow


def test_sign_in_sets_a_secure_session_cookie(client, make):
    user = make.user("platform_admin")
    response = login(client, user.email)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert client.get("/dashboard").status_code == 200


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, make):
    user = make.user("platform_admin")
    wrong = login(client, user.email, "not-the-password")
    unknown = login(client, "nobody@example.cn", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "wrong e-mail or password" in wrong.get_data(
        as_text=True
    ) or "邮箱或密码错误" in wrong.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_an_address_that_keeps_failing_is_locked_out_of_the_account(app, client, make):
    user = make.user("org_admin", make.org())
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(client, user.email, "bad-password-123").status_code == 401
    # even the right password is refused from that address while the lock lasts
    assert login(client, user.email, PASSWORD).status_code == 401
    assert client.get("/dashboard").status_code == 302
    with app.app_context():
        pair = get_session().scalars(select(SignInFailure).where(SignInFailure.user_id == user.id))
        assert pair.one().locked_until is not None


def test_knowing_an_e_mail_is_not_enough_to_lock_its_owner_out(app, make):
    """Failures from one address lock that address out, not the owner at another address."""
    user = make.user("org_admin", make.org())
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for _ in range(app.config["LOGIN_MAX_FAILURES"] * 3):
        assert login(attacker, user.email, "guessing-123").status_code == 401
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert login(owner, user.email, PASSWORD).status_code == 302
    assert owner.get("/dashboard").status_code == 200
    # the attacker's address stays locked out, even with the right password
    assert login(attacker, user.email, PASSWORD).status_code == 401


def test_failures_from_many_addresses_make_the_account_back_off(app, make):
    """A guesser with many addresses is slowed down for everyone, briefly, then more."""
    app.config.update(LOGIN_ACCOUNT_MAX_FAILURES=6, LOGIN_MAX_FAILURES=100)
    user = make.user("org_admin", make.org())
    for i in range(6):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{i + 1}"
        assert login(client, user.email, "guessing-123").status_code == 401
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert login(owner, user.email, PASSWORD).status_code == 401  # backing off for a minute
    with app.app_context():
        stored = get_session().get(User, user.id)
        assert stored.failed_logins == 6
        minutes = (stored.locked_until - utcnow()).total_seconds() / 60
        assert 0.9 < minutes <= 1


def test_the_account_back_off_doubles_and_is_capped():
    from datetime import timedelta

    from verifier.auth.services import LockoutPolicy

    policy = LockoutPolicy(account_max_failures=50, account_lock_max_minutes=60)
    assert policy.account_lock(49) is None
    assert policy.account_lock(50) == timedelta(minutes=1)
    assert policy.account_lock(51) is None
    assert policy.account_lock(100) == timedelta(minutes=2)
    assert policy.account_lock(150) == timedelta(minutes=4)
    assert policy.account_lock(5000) == timedelta(minutes=60)


def test_sign_in_attempts_are_throttled_per_address(client, make):
    user = make.user("platform_admin")
    statuses = [login(client, user.email, f"guess-{i}-xxxxx").status_code for i in range(21)]
    assert statuses[-1] == 429


def test_sign_in_form_needs_csrf_token_when_protection_is_on(app, make):
    user = make.user("platform_admin")
    # the same app (and so the test's transaction, where the user exists), with CSRF on
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    assert login(client, user.email).status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = csrf_token_from(page)
    ok = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert ok.status_code == 302


def test_token_is_printed_once_and_stored_hashed(app, make):
    user = make.user("org_recorder", make.org())
    result = app.test_cli_runner().invoke(args=["tokens", "create", "--email", user.email])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("vfr_") and len(token) > 40
    with app.app_context():
        stored = get_session().scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
        assert token not in (stored.token_hash, stored.prefix)
        assert stored.prefix == token[:10]


def test_revoked_token_no_longer_works(app, client, make):
    org = make.org()
    user = make.user("org_admin", org)
    token = make.token(user)
    assert client.get("/api/v1/organisations", headers=bearer(token)).status_code == 200
    login(client, user.email)
    with app.app_context():
        token_id = (
            get_session().scalars(select(ApiToken.id).where(ApiToken.user_id == user.id)).one()
        )
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    api = app.test_client()
    response = api.get("/api/v1/organisations", headers=bearer(token))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_cli_user_creation_reports_bad_input_clearly(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "x@example.cn",
            "--password",
            "short",
            "--role",
            "platform_admin",
        ]
    )
    assert result.exit_code == 1
    assert "10" in result.output and "Traceback" not in result.output
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "y@example.cn",
            "--password",
            PASSWORD,
            "--role",
            "org_admin",
        ]
    )
    assert result.exit_code == 1
    assert "org_admin" in result.output and "Traceback" not in result.output


def test_api_without_token_says_how_to_authenticate(client):
    response = client.get("/api/v1/organisations")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_copied_session_cookie_stops_working_after_sign_out(app, make):
    user = make.user("org_admin", make.org())
    browser = app.test_client()
    assert login(browser, user.email).status_code == 302
    cookie = browser.get_cookie("session")
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/dashboard").status_code == 200
    assert browser.post("/logout").status_code == 302
    assert thief.get("/dashboard").status_code == 302  # sent to sign in


def test_a_locked_account_answers_like_a_wrong_password(app, client, make):
    user = make.user("org_admin", make.org())
    pages = []
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 1):
        response = login(client, user.email, "bad-password-123")
        pages.append(response.get_data(as_text=True))
    unknown = login(client, "nobody@example.cn", "bad-password-123").get_data(as_text=True)
    message = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.S)
    assert message.search(pages[0]).group(1) == message.search(pages[-1]).group(1)
    assert message.search(unknown).group(1) == message.search(pages[-1]).group(1)


def test_many_addresses_cannot_keep_the_owner_out_of_a_known_address(app, make):
    """The account-wide back-off spares an address the owner signed in from before."""
    app.config.update(LOGIN_ACCOUNT_MAX_FAILURES=6, LOGIN_MAX_FAILURES=100)
    user = make.user("org_admin", make.org())
    office = app.test_client()
    office.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert login(office, user.email).status_code == 302
    office.post("/logout")
    for i in range(12):  # two rounds of back-off from twelve addresses
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{i + 1}"
        assert login(client, user.email, "guessing-123").status_code == 401
    stranger = app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert login(stranger, user.email, PASSWORD).status_code == 401  # backing off there
    assert login(office, user.email).status_code == 302  # but not at the owner's office

"""Sign-in and sign-out: a fresh session, cookie flags, lock-out, and timing that tells nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from support import PASSWORD, bearer, login

from verifier.auth import services as auth_services
from verifier.auth.models import SignInFailure, User
from verifier.db import get_session


def test_sign_in_starts_a_fresh_session(client, make):
    user = make.user("platform_admin")
    client.get("/login")
    with client.session_transaction() as before:
        before["planted_by_someone_else"] = "x"
        old_csrf = before.get("csrf_token")
    assert login(client, user.email).status_code == 302
    with client.session_transaction() as after:
        assert "planted_by_someone_else" not in after
        assert after["_user_id"].split(".")[0] == str(user.id)
        assert old_csrf is None or after.get("csrf_token") != old_csrf


def test_sign_out_forgets_everything_in_the_session(client, make):
    user = make.user("platform_admin")
    login(client, user.email)
    with client.session_transaction() as session:
        session["left_over"] = "x"
    assert client.post("/logout").status_code == 302
    with client.session_transaction() as session:
        assert "_user_id" not in session and "left_over" not in session
    assert client.get("/dashboard").status_code == 302


def test_session_cookie_is_httponly_and_samesite(client, make):
    user = make.user("platform_admin")
    cookie = login(client, user.email).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_deactivated_users_session_and_tokens_stop_working(app, client, make):
    user = make.user("org_admin", make.org())
    token = make.token(user)
    login(client, user.email)
    assert client.get("/dashboard").status_code == 200

    def deactivate(session):
        session.get(User, user.id).active = False

    make.run(deactivate)
    assert client.get("/dashboard").status_code == 302
    assert client.get("/api/v1/volunteers", headers=bearer(token)).status_code == 401


@pytest.fixture
def hash_checks(monkeypatch):
    calls = []
    real = auth_services._verify

    def counting(password_hash, password):
        calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(auth_services, "_verify", counting)
    return calls


def test_every_failed_sign_in_costs_one_password_hash(app, client, make, hash_checks):
    """Unknown, wrong, locked or deactivated: the same work, so timing tells nothing."""
    wrong = make.user("platform_admin")
    locked = make.user("org_admin", make.org())
    inactive = make.user("org_admin", make.org())

    def prepare(session):
        from datetime import timedelta

        from verifier.db import utcnow

        session.get(User, locked.id).locked_until = utcnow() + timedelta(minutes=10)
        session.get(User, inactive.id).active = False

    make.run(prepare)
    for email, password in (
        ("nobody@example.cn", "whatever-password"),
        (wrong.email, "whatever-password"),
        (locked.email, PASSWORD),
        (inactive.email, PASSWORD),
    ):
        hash_checks.clear()
        assert login(client, email, password).status_code == 401, email
        assert len(hash_checks) == 1, email


def test_lock_out_holds_and_is_counted(app, client, make):
    user = make.user("org_recorder", make.org())
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(client, user.email, "not-the-password")
    assert login(client, user.email).status_code == 401
    with app.app_context():
        pair = get_session().scalars(select(SignInFailure).where(SignInFailure.user_id == user.id))
        assert pair.one().locked_until is not None

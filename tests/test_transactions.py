"""One transaction rule: a request commits when its view returns, and rolls back when anything
raises (a view or a before_request hook, a 4xx problem or a 500), whatever the status."""

from __future__ import annotations

import pytest
from flask import redirect, request
from sqlalchemy import select
from support import login, new_app, rolled_back

from verifier.audit.models import AuditEntry
from verifier.audit.services import record_event
from verifier.auth.access import public
from verifier.auth.models import SignInFailure, User
from verifier.certificates.models import Certificate
from verifier.db import get_session, savepoint
from verifier.errors import Conflict, TooManyRequests


def _write(step: str) -> None:
    record_event(get_session(), None, "test.write", "test", step)


def _written(app) -> list[str]:
    with app.app_context():
        return list(
            get_session().scalars(
                select(AuditEntry.object_id)
                .where(AuditEntry.action == "test.write")
                .order_by(AuditEntry.id)
            )
        )


@pytest.fixture
def routes(database_url):
    """An app of its own with test-only views that write and then raise, return an error page,
    or catch and redirect (the shared app's routes stay as they are)."""
    app = new_app(database_url)

    @public
    def raises():
        _write("raises")
        raise Conflict("refused after writing")

    @public
    def crashes():
        _write("crashes")
        raise RuntimeError("a bug after writing")

    @public
    def returns_4xx():
        _write("returns_4xx")
        return "refused, but what was written counts", 422

    @public
    def catches():
        _write("before")
        try:
            with savepoint():
                _write("failed step")
                raise Conflict("the step failed halfway")
        except Conflict:
            return redirect("/", 303)

    @public
    def hooked():
        _write("view")  # never reached: the hook raises first
        return "ok"

    for view in (raises, crashes, returns_4xx, catches, hooked):
        app.add_url_rule(f"/_test/{view.__name__}", view.__name__, view, methods=["POST"])

    @app.before_request
    def _refuse_after_writing():
        if request.path == "/_test/hooked":
            _write("hook")
            raise TooManyRequests("a before_request hook refused after writing")

    with rolled_back(app):
        yield app
    app.extensions["verifier.db"].engine.dispose()


def test_a_view_that_raises_after_writing_keeps_nothing(routes):
    client = routes.test_client()
    response = client.post("/_test/raises", headers={"Accept": "application/json"})
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert _written(routes) == []


def test_a_view_that_crashes_after_writing_keeps_nothing(routes):
    client = routes.test_client()
    assert client.post("/_test/crashes").status_code == 500
    assert _written(routes) == []


def test_a_before_request_hook_that_raises_after_writing_keeps_nothing(routes):
    client = routes.test_client()
    assert client.post("/_test/hooked").status_code == 429
    assert _written(routes) == []


def test_a_view_that_returns_an_error_page_keeps_what_it_wrote(routes):
    client = routes.test_client()
    assert client.post("/_test/returns_4xx").status_code == 422
    assert _written(routes) == ["returns_4xx"]


def test_a_view_that_catches_an_error_keeps_nothing_of_the_failed_step(routes):
    client = routes.test_client()
    assert client.post("/_test/catches").status_code == 303
    assert _written(routes) == ["before"]


def test_a_failed_sign_in_is_counted_though_the_answer_is_401(app, client, make):
    user = make.user("org_admin", make.org())
    response = client.post("/login", data={"email": user.email, "password": "not-the-password"})
    assert response.status_code == 401
    with app.app_context():
        session = get_session()
        assert session.get(User, user.id).failed_logins == 1
        pair = session.scalars(select(SignInFailure).where(SignInFailure.user_id == user.id)).one()
        assert pair.failures == 1


def test_a_certificate_change_that_fails_halfway_keeps_nothing(app, client, make, monkeypatch):
    """The page catches the service's error and answers; the half-done change is not kept."""
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    cert = make.certificate(org, admin, volunteer, [make.record(org, volunteer, actor=admin)])
    from verifier.certificates import views

    real_set_status = views.set_status

    def fails_after_writing(session, cert, status, reason, actor, **kwargs):
        real_set_status(session, cert, status, reason, actor, **kwargs)  # suspended, audited
        raise Conflict("the change failed after its first writes")

    monkeypatch.setattr(views, "set_status", fails_after_writing)
    assert login(client, admin.email).status_code == 302
    number = views.number_display(cert.number)
    response = client.post(f"/certificates/{number}/suspend", data={"reason": "复核中"})
    assert response.status_code == 409
    assert "the change failed after its first writes" in response.text
    with app.app_context():
        session = get_session()
        assert session.get(Certificate, cert.id).status == "valid"
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == cert.number)
        ).all()
        assert "certificate.suspend" not in actions

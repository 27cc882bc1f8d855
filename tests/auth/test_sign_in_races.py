"""Sign-in attempts sent at the same moment are each counted (PostgreSQL, real connections)."""

from __future__ import annotations

import threading

import pytest
from support import PASSWORD, Factory

from verifier.auth.models import SignInFailure, User
from verifier.auth.services import authenticate
from verifier.db import get_session

pytestmark = pytest.mark.postgres


def test_parallel_failures_from_one_address_are_each_counted_and_then_locked(committing_app):
    make = Factory(committing_app)
    user = make.user("org_admin", make.org())
    attempts = 12
    barrier = threading.Barrier(attempts)
    results: list[bool] = []

    def attempt(i: int) -> None:
        with committing_app.app_context():
            session = get_session()
            barrier.wait(30)
            result = authenticate(session, user.email, f"guess-{i}-xxxxxx", address="203.0.113.5")
            session.commit()
            results.append(result.user is not None)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads)
    assert results == [False] * attempts
    with committing_app.app_context():
        session = get_session()
        # exactly the limit was evaluated before the pair locked; no failure was lost
        assert (
            session.get(User, user.id).failed_logins == committing_app.config["LOGIN_MAX_FAILURES"]
        )
        pair = session.query(SignInFailure).filter_by(user_id=user.id).one()
        assert pair.locked_until is not None
        # and the right password from that address is refused while the lock lasts
        assert authenticate(session, user.email, PASSWORD, address="203.0.113.5").user is None

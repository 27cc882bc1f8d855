"""Two claims of one invitation code at once: exactly one gets the account (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from support import Factory

from verifier.accounts.invitations import (
    ClaimInput,
    claim_account,
    create_invitation,
    login_code_for,
)
from verifier.auth.models import Role, User
from verifier.db import get_session
from verifier.errors import VerifierError

pytestmark = pytest.mark.postgres


def test_two_claims_of_one_code_at_once_make_one_account(committing_app):
    make = Factory(committing_app)
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    code = make.run(lambda s: create_invitation(s, s.get(User, admin.id), volunteer.id).code)
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def claim(i: int) -> None:
        with committing_app.app_context():
            session = get_session()
            data = ClaimInput(
                code=code,
                login=f"racer{i}@example.cn",
                password="a-long-password-1",
                accept_privacy_notice=True,
                login_code=login_code_for(code, f"racer{i}@example.cn"),
            )
            barrier.wait(30)
            try:
                claim_account(session, data)
                session.commit()
                outcomes[i] = "created"
            except VerifierError as error:
                session.rollback()
                outcomes[i] = f"{error.status}:{error.errors[0].rule}"

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads)
    assert sorted(outcomes.values()) == ["409:used", "created"]
    with committing_app.app_context():
        session = get_session()
        count = session.scalar(select(func.count(User.id)).where(User.role == Role.VOLUNTEER))
        assert count == 1


def test_two_claims_through_the_api_at_once_make_one_account(committing_app):
    make = Factory(committing_app)
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    code = make.run(lambda s: create_invitation(s, s.get(User, admin.id), volunteer.id).code)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def claim(i: int) -> None:
        client = committing_app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{i + 1}"
        body = {
            "code": code,
            "login": f"api-racer{i}@example.cn",
            "password": "a-long-password-1",
            "accept_privacy_notice": True,
        }
        with committing_app.app_context():
            body["login_code"] = login_code_for(code, body["login"])
        barrier.wait(30)
        statuses.append(client.post("/api/v1/account/claim", json=body).status_code)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [201, 409]
    with committing_app.app_context():
        session = get_session()
        count = session.scalar(select(func.count(User.id)).where(User.role == Role.VOLUNTEER))
        assert count == 1

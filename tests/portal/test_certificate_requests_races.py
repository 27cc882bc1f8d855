"""Certificate requests under concurrency (PostgreSQL): two answers to one request, two requests
for one period sent at once. Exactly one wins; the other gets the 409 a user would see."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from certreq_helpers import volunteer_account
from sqlalchemy import func, select
from support import Factory, days_ago
from support.races import race

from verifier.auth.models import User
from verifier.certificates.models import Certificate
from verifier.complaints.models import CertificateRequest
from verifier.portal.certreqs import issue_for_request, refuse_request, request_certificate
from verifier.timeutil import local_today

pytestmark = pytest.mark.postgres


@pytest.fixture
def world(committing_app):
    make = Factory(committing_app)
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    make.record(org, volunteer, actor=admin, started_at=days_ago(20))
    user = volunteer_account(make, volunteer, "racer@example.cn")
    return make, org, admin, volunteer, user


def _ask(user: Any, org: Any) -> Callable[[Any], Any]:
    def job(session: Any) -> None:
        today = local_today()
        request_certificate(
            session, session.get(User, user.id), org.uscc, today - timedelta(days=60), today
        )

    return job


def test_two_answers_to_one_request_one_wins(committing_app, world):
    make, org, admin, _volunteer, user = world
    make.run(_ask(user, org))
    request_id = make.run(lambda s: s.scalar(select(CertificateRequest.id)))

    def issue(session: Any) -> None:
        found = session.get(CertificateRequest, request_id)
        issue_for_request(session, session.get(User, admin.id), found)

    def refuse(session: Any) -> None:
        found = session.get(CertificateRequest, request_id)
        refuse_request(session, session.get(User, admin.id), found, "重复")

    outcomes = race(committing_app, [issue, issue, refuse])
    assert sorted(outcomes) == ["Conflict", "Conflict", "ok"], outcomes
    certificates = make.run(lambda s: s.scalar(select(func.count()).select_from(Certificate)))
    status = make.run(lambda s: s.get(CertificateRequest, request_id).status)
    assert certificates == (1 if status == "issued" else 0)


def test_two_requests_for_one_period_one_is_kept(committing_app, world):
    make, org, _admin, _volunteer, user = world
    outcomes = race(committing_app, [_ask(user, org), _ask(user, org)])
    assert sorted(outcomes) == ["Conflict", "ok"], outcomes
    assert make.run(lambda s: s.scalar(select(func.count()).select_from(CertificateRequest))) == 1

"""Two first requests for an old certificate's SD-JWT at once, on PostgreSQL: one is signed."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select, update
from support import Factory, days_ago

from verifier.audit.models import AuditEntry
from verifier.certificates.models import Certificate
from verifier.certificates.selective import SD_JWT_ACTION, sd_jwt_of
from verifier.db import get_session

pytestmark = pytest.mark.postgres


def test_two_first_requests_sign_one_sd_jwt(committing_app):
    app = committing_app
    make = Factory(app)
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    record = make.record(org, volunteer, actor=admin, started_at=days_ago(5))
    cert = make.certificate(org, admin, volunteer, [record])
    with app.app_context():
        session = get_session()
        session.execute(update(Certificate).where(Certificate.id == cert.id).values(sd_jwt=None))
        session.commit()

    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def worker(i: int) -> None:
        with app.test_request_context():
            session = get_session()
            found = session.get(Certificate, cert.id)
            assert found.sd_jwt is None  # read before the race, as a request does
            barrier.wait(30)
            time.sleep(0.05 * i)
            results[i] = sd_jwt_of(session, found, None)
            session.commit()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(t.is_alive() for t in threads)
    assert results[0] and results[0] == results[1]
    with app.app_context():
        session = get_session()
        stored = session.scalar(select(Certificate.sd_jwt).where(Certificate.id == cert.id))
        signed = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == SD_JWT_ACTION, AuditEntry.object_id == cert.number)
        )
    assert stored == results[0] and signed == 1

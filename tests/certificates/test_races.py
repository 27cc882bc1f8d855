"""Certificate status changes, re-issue, bulk issue and issuance racing a correction, on
PostgreSQL with real concurrent connections: the state machine holds whatever the interleaving."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from support import Factory, days_ago
from support.races import race

from verifier.auth.models import User
from verifier.certificates import lifecycle, services
from verifier.certificates.bulk import BulkRequest, issue_bulk
from verifier.certificates.models import Certificate
from verifier.credentials.services import status_list_bits
from verifier.db import get_session
from verifier.orgs.models import Organisation
from verifier.records.models import ServiceRecord
from verifier.records.services import RecordInput, correct_record

pytestmark = pytest.mark.postgres


class World:
    def __init__(self, app: Any) -> None:
        self.app = app
        make = Factory(app)
        self.make = make
        self.org = make.org()
        self.admin = make.user("org_admin", self.org)
        self.volunteer = make.volunteer(self.org)
        self.records = [
            make.record(self.org, self.volunteer, actor=self.admin, started_at=days_ago(d))
            for d in (20, 10)
        ]

    def issue(self) -> Certificate:
        return self.make.certificate(self.org, self.admin, self.volunteer, self.records)

    def cert(self, cert_id: int) -> Certificate:
        with self.app.app_context():
            return get_session().get(Certificate, cert_id)

    def change(self, cert_id: int, status: str) -> Callable[[Any], Any]:
        def job(session: Any) -> None:
            cert = session.get(Certificate, cert_id)  # read before the race, as a request does
            time.sleep(0.05)
            lifecycle.set_status(
                session, cert, status, "竞态测试", session.get(User, self.admin.id)
            )

        return job


@pytest.fixture
def world(committing_app):
    return World(committing_app)


def test_revoke_and_suspend_at_once_never_leave_a_revoked_certificate_changed(world):
    for _round in range(8):
        cert = world.issue()
        outcomes = race(
            world.app, [world.change(cert.id, "revoked"), world.change(cert.id, "suspended")]
        )
        final = world.cert(cert.id).status
        if outcomes[0] == "ok":
            assert final == "revoked", outcomes  # revoked is final, whoever came second
            assert outcomes[1] in ("ok", "Conflict")  # suspended first, then revoked; or refused
        else:
            assert outcomes == ["Conflict", "ok"] and final == "suspended"


def test_reinstate_and_revoke_at_once(world):
    for _round in range(6):
        cert = world.issue()
        world.make.run(
            lambda s, cid=cert.id: lifecycle.set_status(
                s, s.get(Certificate, cid), "suspended", "暂停", s.get(User, world.admin.id)
            )
        )
        outcomes = race(
            world.app, [world.change(cert.id, "revoked"), world.change(cert.id, "valid")]
        )
        final = world.cert(cert.id).status
        assert outcomes[0] == "ok"  # revoking a suspended or a valid certificate is allowed
        assert final == "revoked", outcomes


def test_four_re_issues_at_once_make_one_certificate(world, monkeypatch):
    cert = world.issue()
    world.make.run(
        lambda s: correct_record(
            s,
            s.get(ServiceRecord, world.records[0].id),
            RecordInput(
                activity="社区敬老服务",
                place="南川区西城街道",
                content="陪伴老人，打扫卫生",
                started_at=world.records[0].started_at,
                ended_at=world.records[0].ended_at,
                minutes=120,
            ),
            "更正时长",
            s.get(User, world.admin.id),
        )
    )
    assert world.cert(cert.id).status == "superseded"
    real = services.build_certificate

    def slow_build(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)  # widen the window between the check and the insert
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "build_certificate", slow_build)

    def reissue(session: Any) -> None:
        old = session.get(Certificate, cert.id)
        lifecycle.reissue(session, old, session.get(User, world.admin.id))

    outcomes = race(world.app, [reissue] * 4)
    assert sorted(outcomes) == ["Conflict", "Conflict", "Conflict", "ok"]
    with world.app.app_context():
        count = get_session().scalar(select(func.count()).select_from(Certificate))
    assert count == 2  # the superseded one and exactly one successor


def test_three_bulk_runs_at_once_issue_each_certificate_once(world, monkeypatch):
    others = [world.make.volunteer(world.org) for _ in range(3)]
    for volunteer in others:
        world.make.record(world.org, volunteer, actor=world.admin, started_at=days_ago(15))
    from verifier.certificates import bulk

    real = bulk.build_certificate

    def slow_build(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.05)
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk, "build_certificate", slow_build)
    term = BulkRequest(period_from=days_ago(60).date(), period_to=days_ago(1).date())

    def run(session: Any) -> None:
        issue_bulk(session, session.get(Organisation, world.org.id), term, None)

    outcomes = race(world.app, [run] * 3)
    assert outcomes == ["ok"] * 3  # the later runs find the certificates and skip them
    with world.app.app_context():
        rows = get_session().execute(
            select(Certificate.volunteer_id, func.count()).group_by(Certificate.volunteer_id)
        )
        per_volunteer = {volunteer_id: n for volunteer_id, n in rows}
    assert per_volunteer == {v: 1 for v in [world.volunteer.id, *(o.id for o in others)]}


def test_issuance_racing_a_correction_ends_superseded_or_issued_over_the_correction(
    world, monkeypatch
):
    """Whichever wins, a valid certificate always covers its records as they are now."""
    real = services.build_certificate

    def slow_build(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)  # the records are read; the correction would slip in here
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "build_certificate", slow_build)
    for minutes in (150, 120, 90):
        record = world.records[0]

        def issue(session: Any) -> None:
            Factory.issue(session, world.org, world.admin, world.volunteer, [record])

        def correct(session: Any, minutes: int = minutes) -> None:
            time.sleep(0.1)  # let the issuance read the records first
            correct_record(
                session,
                session.get(ServiceRecord, record.id),
                RecordInput(
                    activity="社区敬老服务",
                    place="南川区东城街道",
                    content="陪伴老人，打扫卫生",
                    started_at=record.started_at,
                    ended_at=record.ended_at,
                    minutes=minutes,
                ),
                "按签到更正",
                session.get(User, world.admin.id),
            )

        assert race(world.app, [issue, correct]) == ["ok", "ok"]
        with world.app.app_context():
            session = get_session()
            newest = session.scalars(select(Certificate).order_by(Certificate.id.desc())).first()
            current = session.get(ServiceRecord, record.id)
            if newest.status == "valid":
                assert newest.total_minutes == current.minutes
                assert lifecycle.records_intact(session, newest)
            else:
                assert newest.status == "superseded"
                assert newest.total_minutes != current.minutes
                # ... and the published status list says so (revocation purpose)
                bits = status_list_bits(session, newest.status_index // 131_072, "revocation")
                index = newest.status_index % 131_072
                assert bits[index // 8] >> (7 - index % 8) & 1 == 1


def test_a_case_hold_racing_the_organisation_s_reinstatement_holds(world, monkeypatch):
    """The case's hold and the organisation's reinstatement at once: the hold wins either way."""
    for _round in range(4):
        cert = world.issue()
        world.make.run(
            lambda s, cid=cert.id: lifecycle.set_status(
                s, s.get(Certificate, cid), "suspended", "暂停", s.get(User, world.admin.id)
            )
        )

        def hold(session: Any, cid: int = cert.id) -> None:
            held = session.get(Certificate, cid)
            time.sleep(0.05)
            assert lifecycle.place_hold(session, held, "督查案件", None)

        outcomes = race(world.app, [hold, world.change(cert.id, "valid")])
        final = world.cert(cert.id)
        assert outcomes[0] == "ok"
        assert final.status == "suspended" and final.regulator_hold, outcomes
        # reinstated first and then held again, or refused because the hold came first
        assert outcomes[1] in ("ok", "Conflict")
        world.make.run(  # the case is decided, so the records may be certified again
            lambda s, cid=cert.id: lifecycle.lift_hold(
                s, s.get(Certificate, cid), "案件已决定", None, still_held=False
            )
        )

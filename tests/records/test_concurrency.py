"""Two requests racing to record overlapping service for one volunteer: exactly one wins."""

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from support import Factory, days_ago

from verifier.db import get_session
from verifier.errors import ValidationError
from verifier.orgs.models import Organisation
from verifier.records import services
from verifier.records.models import ServiceRecord
from verifier.volunteers.models import Volunteer

pytestmark = pytest.mark.postgres


def _race(app, org_ids, volunteer_id, starts, monkeypatch):
    """Run create_record in two threads at once, each pausing after its checks."""
    real_check = services.check_against_other_records

    def slow_check(*args, **kwargs):
        real_check(*args, **kwargs)
        time.sleep(0.4)  # widen the window between check and insert

    monkeypatch.setattr(services, "check_against_other_records", slow_check)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker(org_id, start):
        with app.app_context():
            session = get_session()
            barrier.wait()
            try:
                services.create_record(
                    session,
                    session.get(Organisation, org_id),
                    session.get(Volunteer, volunteer_id),
                    services.RecordInput(
                        activity="赛事服务",
                        place="体育中心",
                        started_at=start,
                        ended_at=start + timedelta(hours=3),
                        minutes=180,
                    ),
                    None,
                )
                session.commit()
                outcomes.append("ok")
            except ValidationError as exc:
                session.rollback()
                outcomes.append(exc.first.rule)

    threads = [threading.Thread(target=worker, args=args) for args in zip(org_ids, starts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


def test_overlapping_records_from_two_organisations_racing(committing_app, monkeypatch):
    make = Factory(committing_app)
    org_a, org_b = make.org(), make.org()
    volunteer = make.volunteer(org_a, id_number="11010119900307002X", name="张三")
    make.volunteer(org_b, id_number="11010119900307002X", name="张三")
    start = days_ago(5, hour=9)
    outcomes = _race(
        committing_app,
        [org_a.id, org_b.id],
        volunteer.id,
        [start, start + timedelta(hours=1)],
        monkeypatch,
    )
    assert outcomes == ["no_overlap", "ok"]
    with committing_app.app_context():
        count = get_session().scalar(
            select(func.count())
            .select_from(ServiceRecord)
            .where(ServiceRecord.volunteer_id == volunteer.id)
        )
    assert count == 1


def test_daily_limit_holds_under_a_race(committing_app, monkeypatch):
    make = Factory(committing_app)
    org = make.org()
    volunteer = make.volunteer(org)
    day = days_ago(5, hour=0)
    # 20 hours already recorded on that day
    make.record(org, volunteer, started_at=day, ended_at=day + timedelta(hours=20), minutes=1200)
    outcomes = _race(
        committing_app,
        [org.id, org.id],
        volunteer.id,
        [day + timedelta(hours=20), day + timedelta(hours=20, minutes=59) + timedelta(hours=3)],
        monkeypatch,
    )
    # the first fits (23 h), the second would bring the day to 26 h or overlaps
    assert outcomes[-1] == "ok"
    assert outcomes[0] in ("daily_limit", "no_overlap")

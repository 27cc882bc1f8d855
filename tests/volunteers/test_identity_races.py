"""Identity races on PostgreSQL: one new person registered twice at once; merge vs correction."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select
from support import Factory, bearer, make_resident_id

from verifier.db import get_session
from verifier.volunteers import services
from verifier.volunteers.models import Membership, Volunteer

pytestmark = pytest.mark.postgres

NUMBER = make_resident_id(71)


def _race(app, tokens, monkeypatch, bodies):
    """POST /api/v1/volunteers from two threads at once; each pauses between look-up and insert."""
    real = services._unused_volunteer_number

    def slow(session):
        number = real(session)
        time.sleep(0.4)  # both have looked the person up and found nobody
        return number

    monkeypatch.setattr(services, "_unused_volunteer_number", slow)
    barrier = threading.Barrier(len(tokens))
    answers: dict[int, tuple[int, dict]] = {}

    def worker(i, token, body):
        client = app.test_client()
        barrier.wait(timeout=10)
        response = client.post(
            "/api/v1/volunteers", json=body, headers={**bearer(token), "Accept-Language": "en"}
        )
        answers[i] = (response.status_code, response.get_json())

    threads = [
        threading.Thread(target=worker, args=(i, token, body))
        for i, (token, body) in enumerate(zip(tokens, bodies, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    return [answers[i] for i in sorted(answers)]


def _tokens(make, orgs):
    return [make.token(make.user("org_recorder", org)) for org in orgs]


def test_two_organisations_registering_one_new_person_get_one_volunteer(
    committing_app, monkeypatch
):
    make = Factory(committing_app)
    orgs = [make.org(), make.org()]
    body = {"name": "赵六", "id_type": "resident_id", "id_number": NUMBER}
    # the second spells the number in full-width digits: still the same person
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in NUMBER)
    answers = _race(
        committing_app,
        _tokens(make, orgs),
        monkeypatch,
        [body, {**body, "id_number": full_width}],
    )
    statuses = sorted(status for status, _body in answers)
    assert statuses == [200, 201], answers
    assert answers[0][1]["id"] == answers[1][1]["id"]
    assert answers[0][1]["volunteer_number"] == answers[1][1]["volunteer_number"]
    with committing_app.app_context():
        session = get_session()
        assert session.scalar(select(func.count()).select_from(Volunteer)) == 1
        members = session.scalars(select(Membership.organisation_id)).all()
        assert sorted(members) == sorted(org.id for org in orgs)


def test_one_organisation_sending_the_same_person_twice_at_once(committing_app, monkeypatch):
    make = Factory(committing_app)
    org = make.org()
    body = {"name": "赵六", "id_type": "resident_id", "id_number": NUMBER}
    answers = _race(committing_app, _tokens(make, [org, org]), monkeypatch, [body, body])
    assert sorted(status for status, _body in answers) == [200, 201], answers
    with committing_app.app_context():
        session = get_session()
        assert session.scalar(select(func.count()).select_from(Volunteer)) == 1
        assert session.scalar(select(func.count()).select_from(Membership)) == 1


def test_the_same_number_under_another_name_racing_is_a_409(committing_app, monkeypatch):
    make = Factory(committing_app)
    orgs = [make.org(), make.org()]
    body = {"name": "赵六", "id_type": "resident_id", "id_number": NUMBER}
    answers = _race(
        committing_app, _tokens(make, orgs), monkeypatch, [body, {**body, "name": "赵七"}]
    )
    assert sorted(status for status, _body in answers) == [201, 409], answers


def test_a_correction_racing_a_merge_sees_the_moved_records(committing_app, monkeypatch):
    """The merge holds both record locks while it moves records; a correction waiting for the
    merged row's lock must then check against the kept volunteer, where the records now are."""
    from datetime import timedelta

    from support import days_ago

    from verifier.auth.models import User
    from verifier.crypto.encryption import get_cipher
    from verifier.errors import ValidationError
    from verifier.identities import merges
    from verifier.records.models import ServiceRecord
    from verifier.records.services import RecordInput, correct_record
    from verifier.volunteers.services import new_volunteer_number, seal_id_number

    make = Factory(committing_app)
    org_a, org_b = make.org(), make.org()
    admin_b = make.user("org_admin", org_b)
    kept = make.volunteer(org_a, name="赵六", id_number=NUMBER)
    typed = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in NUMBER)

    def legacy(session):  # stored and hashed as typed, as before identifiers had a normal form
        cipher = get_cipher()
        row = Volunteer(
            volunteer_number=new_volunteer_number(),
            name="赵六",
            id_type="resident_id",
            id_number_enc=b"",
            id_lookup=cipher.lookup_hash(f"resident_id:{typed}"),
            id_masked="x",
            phone_masked="",
            guardian_name="",
        )
        session.add(row)
        session.flush()
        seal_id_number(row, typed)
        session.add(Membership(organisation_id=org_b.id, volunteer_id=row.id))
        return row

    twin = make.run(legacy)
    start = days_ago(5, hour=9)
    make.record(org_a, kept, started_at=start)  # 09:00-12:00
    moving = make.record(org_b, twin, started_at=start + timedelta(hours=5))  # 14:00-17:00
    moved = threading.Event()
    real = merges.service_conflicts

    def slow_conflicts(session, volunteer_id):
        moved.set()  # the records have moved; the merge still holds the locks
        time.sleep(0.5)
        return real(session, volunteer_id)

    monkeypatch.setattr(merges, "service_conflicts", slow_conflicts)
    outcome: dict[str, str] = {}

    def merge():
        with committing_app.app_context():
            session = get_session()
            merges.merge_volunteers(
                session,
                kept.volunteer_number,
                [twin.volunteer_number],
                reason="同一人",
                operator="t",
            )
            session.commit()
            outcome["merge"] = "ok"

    def correct():
        assert moved.wait(timeout=10)
        with committing_app.app_context():
            session = get_session()
            record = session.get(ServiceRecord, moving.id)
            data = RecordInput(
                activity=record.activity,
                place=record.place,
                content=record.content,
                started_at=start + timedelta(hours=2),  # 11:00-14:00: overlaps 09:00-12:00
                ended_at=start + timedelta(hours=5),
                minutes=180,
            )
            try:
                correct_record(session, record, data, "时间录错", session.get(User, admin_b.id))
                session.commit()
                outcome["correct"] = "ok"
            except ValidationError as exc:
                session.rollback()
                outcome["correct"] = exc.first.rule

    threads = [threading.Thread(target=merge), threading.Thread(target=correct)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert outcome == {"merge": "ok", "correct": "no_overlap"}

"""Risk signals: each fires, with its reason, when it should, and not otherwise.

Some states cannot be reached through the services (more than 24 hours a day, overlaps, a valid
certificate whose records changed): legacy imports and direct database writes can hold them, so
these tests write such rows directly. The suite runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from verifier.auth.models import User
from verifier.complaints.services import (
    close_complaint,
    record_complaint,
    record_correction_request,
)
from verifier.db import get_session, utcnow
from verifier.orgs.models import Organisation
from verifier.records.models import RecordRevision, ServiceRecord
from verifier.records.services import RecordInput, correct_record, void_record
from verifier.spotchecks.risk import WEIGHTS, organisation_signals, record_signals

LOCAL = ZoneInfo("Asia/Shanghai")
_keys = itertools.count()


@pytest.fixture(autouse=True)
def english_messages(app):
    """These tests read the signals' messages in English (outside a request, the default locale)."""
    app.config["DEFAULT_LOCALE"] = "en"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL)


def raw_record(session, org_id, volunteer_id, start, end, minutes, *, status="active"):
    """Insert a record as a legacy import or a direct write would: no service checks."""
    record = ServiceRecord(
        organisation_id=org_id,
        volunteer_id=volunteer_id,
        status=status,
        revision=1,
        activity="旧系统导入",
        place="南川区",
        started_at=start,
        ended_at=end,
        service_date=start.astimezone(LOCAL).date(),
        minutes=minutes,
        dedupe_key=f"raw-{next(_keys)}",
        recorded_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(record)
    session.flush()
    return record


def codes(result) -> set[str]:
    return {signal.code for signal in result.reasons} if result else set()


@pytest.fixture
def two_orgs(app, make):
    org, other = make.org(), make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    return org, other, admin, volunteer


DAY = date(2025, 3, 4)  # a Tuesday, long past


def test_more_than_24_hours_on_one_day(app, two_orgs):
    org, other, _admin, volunteer = two_orgs
    with app.app_context():
        s = get_session()
        a = raw_record(s, org.id, volunteer.id, local(DAY, 0), local(DAY, 12), 800)
        b = raw_record(s, other.id, volunteer.id, local(DAY, 12), local(DAY, 23, 59), 700)
        next_day = raw_record(
            s,
            org.id,
            volunteer.id,
            local(DAY + timedelta(1), 9),
            local(DAY + timedelta(1), 17),
            480,
        )
        found = record_signals(s)
    assert codes(found[a.id]) == {"over_24h_day"}  # not also the cap: the stronger one only
    assert codes(found[b.id]) == {"over_24h_day"}
    assert "25" in found[a.id].reasons[0].message and "2025-03-04" in found[a.id].reasons[0].message
    assert found[a.id].score == WEIGHTS["over_24h_day"]
    assert next_day.id not in found


def test_over_the_configurable_daily_cap(app, two_orgs):
    org, other, _admin, volunteer = two_orgs
    with app.app_context():
        s = get_session()
        a = raw_record(s, org.id, volunteer.id, local(DAY, 8), local(DAY, 15), 400)
        b = raw_record(s, other.id, volunteer.id, local(DAY, 16), local(DAY, 23), 400)
        day2 = DAY + timedelta(days=1)
        c = raw_record(s, org.id, volunteer.id, local(day2, 8), local(day2, 20), 700)
        found = record_signals(s)
        assert app.config["RISK_DAILY_CAP_MINUTES"] == 720
        assert codes(found[a.id]) == codes(found[b.id]) == {"over_daily_cap"}
        assert "13.33" in found[a.id].reasons[0].message
        assert c.id not in found  # 700 minutes: under the cap
        stricter = record_signals(s, daily_cap=600)
        assert codes(stricter[c.id]) == {"over_daily_cap"}
        app.config["RISK_DAILY_CAP_MINUTES"] = 900
        assert a.id not in record_signals(s)


def test_overlapping_records_across_organisations(app, two_orgs):
    org, other, _admin, volunteer = two_orgs
    with app.app_context():
        s = get_session()
        a = raw_record(s, org.id, volunteer.id, local(DAY, 9), local(DAY, 12), 180)
        b = raw_record(s, other.id, volunteer.id, local(DAY, 11), local(DAY, 13), 120)
        touching = raw_record(s, org.id, volunteer.id, local(DAY, 13), local(DAY, 14), 60)
        day2 = DAY + timedelta(days=1)
        c = raw_record(s, org.id, volunteer.id, local(day2, 9), local(day2, 12), 180)
        raw_record(s, org.id, volunteer.id, local(day2, 10), local(day2, 11), 60, status="voided")
        found = record_signals(s)
    assert codes(found[a.id]) == {"overlap"}
    assert codes(found[b.id]) == {"overlap"}
    assert "another organisation" in found[a.id].reasons[0].message
    assert touching.id not in found  # ends where the other starts: no overlap
    assert c.id not in found  # the overlapping record was voided


def test_overlap_within_one_organisation_names_the_other_record(app, two_orgs):
    org, _other, _admin, volunteer = two_orgs
    with app.app_context():
        s = get_session()
        a = raw_record(s, org.id, volunteer.id, local(DAY, 9), local(DAY, 12), 180)
        b = raw_record(s, org.id, volunteer.id, local(DAY, 10), local(DAY, 11), 60)
        found = record_signals(s, record_ids=[a.id])
    assert set(found) == {a.id}  # only the records asked about
    assert f"record {b.id}" in found[a.id].reasons[0].message


def test_late_entry(app, make, two_orgs):
    from support import days_ago

    org, _other, admin, volunteer = two_orgs
    late = make.record(org, volunteer, actor=admin, started_at=days_ago(40))
    timely = make.record(org, volunteer, actor=admin, started_at=days_ago(2))
    with app.app_context():
        found = record_signals(get_session())
    assert codes(found[late.id]) == {"late_entry"}
    assert "more than 10 working days" in found[late.id].reasons[0].message
    assert timely.id not in found


def _backdate(session, record_id, days):
    session.execute(
        update(RecordRevision)
        .where(RecordRevision.record_id == record_id)
        .values(created_at=utcnow() - timedelta(days=days))
    )


def test_entered_or_corrected_shortly_before_a_certificate(app, make, two_orgs):
    from support import days_ago

    org, _other, admin, volunteer = two_orgs
    fresh = make.record(org, volunteer, actor=admin, started_at=days_ago(3))
    settled = make.record(org, volunteer, actor=admin, started_at=days_ago(4))
    corrected = make.record(org, volunteer, actor=admin, started_at=days_ago(5))
    with app.app_context():
        s = get_session()
        _backdate(s, settled.id, 10)
        _backdate(s, corrected.id, 10)
        stored = s.get(ServiceRecord, corrected.id)
        correct_record(
            s,
            stored,
            RecordInput(
                activity=stored.activity,
                place=stored.place,
                started_at=stored.started_at,
                ended_at=stored.ended_at,
                minutes=150,
            ),
            "志愿者申请更正",
            s.get(User, admin.id),
        )
        cert = make.issue(s, org, admin, volunteer, [fresh.id, settled.id, corrected.id])
        found = record_signals(s)
        assert codes(found.get(fresh.id)) == {"entered_before_certificate"}
        assert codes(found.get(corrected.id)) == {"entered_before_certificate"}
        assert settled.id not in found
        assert cert.number in found[fresh.id].reasons[0].message
        # a window of 0 days: nothing is "shortly before"
        assert record_signals(s, certificate_window_days=0) == {}


def test_certificate_hours_that_no_longer_match_the_records(app, make, two_orgs):
    from support import days_ago

    org, _other, admin, volunteer = two_orgs
    first = make.record(org, volunteer, actor=admin, started_at=days_ago(3))
    second = make.record(org, volunteer, actor=admin, started_at=days_ago(4))
    with app.app_context():
        s = get_session()
        cert = make.issue(s, org, admin, volunteer, [first.id, second.id])
        quiet = record_signals(s, certificate_window_days=0)
        assert quiet == {}
        # a direct write, past the services (which would have superseded the certificate)
        s.execute(update(ServiceRecord).where(ServiceRecord.id == first.id).values(minutes=60))
        found = record_signals(s, certificate_window_days=0)
        assert codes(found[first.id]) == codes(found[second.id]) == {"certificate_mismatch"}
        message = found[first.id].reasons[0].message
        assert cert.number in message and "6" in message and "4" in message
        # through the services, the certificate is superseded and no longer claims anything
        void_record(s, s.get(ServiceRecord, second.id), "重复登记", s.get(User, admin.id))
        assert record_signals(s, certificate_window_days=0) == {}


def test_open_complaints_and_correction_requests(app, make, two_orgs):
    org, other, admin, volunteer = two_orgs
    supervisor = make.user("regulator_supervisor")
    record = make.record(org, volunteer, actor=admin)
    other_record = make.record(
        org, volunteer, actor=admin, started_at=record.started_at + timedelta(days=1)
    )
    with app.app_context():
        s = get_session()
        reg = s.get(User, supervisor.id)
        the_org = s.get(Organisation, org.id)
        record_complaint(
            s, reg, the_org, source="public", summary="活动未举办", record_id=record.id
        )
        closed = record_complaint(s, reg, the_org, source="volunteer", summary="时长不实")
        close_complaint(s, reg, closed, "经核实无误")
        record_complaint(s, reg, s.get(Organisation, other.id), source="public", summary="收费")
        stored = s.get(ServiceRecord, other_record.id)
        record_correction_request(
            s, s.get(User, admin.id), stored, requested_by="本人", reason="时长少记一小时"
        )
        found = record_signals(s, certificate_window_days=0)
        orgs = organisation_signals(s, certificate_window_days=0)
    assert codes(found[record.id]) == {"open_complaints"}
    assert codes(found[other_record.id]) == {"open_corrections"}
    assert codes(orgs[org.id]) == {"open_complaints", "open_corrections"}
    assert {s.message for s in orgs[org.id].reasons} == {
        "open complaints: 1",
        "open correction requests: 1",
    }
    assert codes(orgs[other.id]) == {"open_complaints"}
    assert orgs[org.id].score == WEIGHTS["open_complaints"] + WEIGHTS["open_corrections"]


def _many(session, org_id, volunteer_id, day, count, minutes):
    """count non-overlapping records of the volunteer, one a day from `day`."""
    return [
        raw_record(
            session,
            org_id,
            volunteer_id,
            local(day + timedelta(days=i), 9),
            local(day + timedelta(days=i), 9) + timedelta(minutes=minutes),
            minutes,
        )
        for i in range(count)
    ]


def test_round_numbers_per_organisation(app, make, two_orgs):
    org, other, _admin, volunteer = two_orgs
    third = make.org()
    with app.app_context():
        s = get_session()
        _many(s, org.id, volunteer.id, date(2025, 1, 1), 20, 180)  # all whole hours
        _many(s, other.id, volunteer.id, date(2025, 2, 1), 25, 95)  # none
        _many(s, third.id, volunteer.id, date(2025, 3, 1), 19, 120)  # too few to judge
        found = organisation_signals(s)
    assert "round_numbers" in codes(found[org.id])
    message = next(r.message for r in found[org.id].reasons if r.code == "round_numbers")
    assert message.startswith("100% of its 20 records are whole hours")
    assert "round_numbers" not in codes(found[other.id])
    assert "round_numbers" not in codes(found[third.id])


def test_round_numbers_are_not_unusual_when_everyone_rounds(app, make, two_orgs):
    org, other, _admin, volunteer = two_orgs
    with app.app_context():
        s = get_session()
        _many(s, org.id, volunteer.id, date(2025, 1, 1), 20, 180)
        _many(s, other.id, volunteer.id, date(2025, 2, 1), 20, 120)
        found = organisation_signals(s)
    assert "round_numbers" not in codes(found[org.id]) | codes(found[other.id])


def test_volume_spike_against_the_organisations_own_months(app, make, two_orgs):
    org, other, _admin, volunteer = two_orgs
    with app.app_context():
        s = get_session()
        for month in (1, 2, 3):
            _many(s, org.id, volunteer.id, date(2025, month, 1), 5, 95)
            _many(s, other.id, volunteer.id, date(2025, month, 10), 25, 95)
        _many(s, org.id, volunteer.id, date(2025, 5, 1), 25, 95)  # April empty: counts as 0
        _many(s, other.id, volunteer.id, date(2025, 5, 10), 25, 95)
        found = organisation_signals(s)
        in_march = organisation_signals(s, period=(date(2025, 3, 1), date(2025, 3, 31)))
    assert "volume_spike" in codes(found[org.id])
    message = next(r.message for r in found[org.id].reasons if r.code == "volume_spike")
    assert message == "25 records in 2025-05, against a usual month of 5"
    assert "volume_spike" not in codes(found[other.id])  # a steady 25 a month
    assert "volume_spike" not in codes(in_march[org.id])  # the period excludes May


def test_organisation_summarises_its_records_signals_once_per_code(app, two_orgs):
    org, other, _admin, volunteer = two_orgs
    with app.app_context():
        s = get_session()
        for day in (DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)):
            raw_record(s, org.id, volunteer.id, local(day, 9), local(day, 12), 180)
            raw_record(s, org.id, volunteer.id, local(day, 10), local(day, 11), 55)
        found = organisation_signals(s)
        only_other = organisation_signals(s, organisation_ids=[other.id])
    overlap = next(r for r in found[org.id].reasons if r.code == "overlap")
    assert overlap.message.endswith(": 6")
    assert overlap.weight == WEIGHTS["overlap"]
    assert found[org.id].score == sum(r.weight for r in found[org.id].reasons)
    assert found[other.id].score == 0 and found[other.id].reasons == []
    assert set(only_other) == {other.id}


def test_period_and_organisation_limit_the_records_looked_at(app, two_orgs):
    org, other, _admin, volunteer = two_orgs
    with app.app_context():
        s = get_session()
        a = raw_record(s, org.id, volunteer.id, local(DAY, 9), local(DAY, 12), 180)
        b = raw_record(s, other.id, volunteer.id, local(DAY, 10), local(DAY, 11), 60)
        assert set(record_signals(s)) == {a.id, b.id}
        assert set(record_signals(s, organisation_ids=[other.id])) == {b.id}
        assert record_signals(s, period=(DAY + timedelta(days=1), DAY + timedelta(days=9))) == {}
        assert set(record_signals(s, period=(DAY, DAY))) == {a.id, b.id}

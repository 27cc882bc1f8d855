"""Records are never edited in place: corrections and voids add revisions; history shows all."""

from datetime import date, timedelta

import pytest
from support import days_ago

from verifier.auth.models import User
from verifier.db import get_session
from verifier.errors import Conflict, ValidationError
from verifier.records.models import ServiceRecord
from verifier.records.services import (
    RecordInput,
    correct_record,
    revisions_of,
    void_record,
)
from verifier.workdays import working_days_between


def _input(record, **changes):
    values = {
        "activity": record.activity,
        "place": record.place,
        "content": record.content,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "minutes": record.minutes,
    }
    values.update(changes)
    return RecordInput(**values)


def test_correction_and_void_keep_every_revision(app, make):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    record = make.record(org, volunteer, actor=admin)
    with app.app_context():
        session = get_session()
        stored = session.get(ServiceRecord, record.id)
        actor = session.get(User, admin.id)
        correct_record(session, stored, _input(stored, minutes=120), "时长录入错误", actor)
        void_record(session, stored, "活动重复登记", actor)
        session.commit()
        history = revisions_of(session, stored)
    assert [(r.revision, r.kind, r.minutes) for r in history] == [
        (1, "created", 180),
        (2, "corrected", 120),
        (3, "voided", 120),
    ]
    assert history[1].reason == "时长录入错误"
    assert history[1].created_by_id == admin.id


def test_correction_needs_a_reason_and_a_change(app, make):
    org = make.org()
    admin = make.user("org_admin", org)
    record = make.record(org, make.volunteer(org), actor=admin)
    with app.app_context():
        session = get_session()
        stored = session.get(ServiceRecord, record.id)
        actor = session.get(User, admin.id)
        with pytest.raises(ValidationError) as excinfo:
            correct_record(session, stored, _input(stored, minutes=60), "  ", actor)
        assert excinfo.value.first.rule == "required"
        with pytest.raises(ValidationError) as excinfo:
            correct_record(session, stored, _input(stored), "no change", actor)
        assert excinfo.value.first.rule == "no_change"


def test_voided_record_cannot_be_corrected_and_frees_its_time(app, make):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    record = make.record(org, volunteer, actor=admin)
    with app.app_context():
        session = get_session()
        stored = session.get(ServiceRecord, record.id)
        actor = session.get(User, admin.id)
        void_record(session, stored, "重复", actor)
        with pytest.raises(Conflict):
            correct_record(session, stored, _input(stored, minutes=60), "x", actor)
        session.commit()
    # the same hours can be recorded again (different activity, so not a duplicate)
    again = make.record(
        org, volunteer, activity="社区敬老服务（重新登记）", started_at=record.started_at
    )
    assert again.id != record.id


def test_another_organisations_user_cannot_correct(app, make):
    from verifier.errors import Forbidden

    org, other = make.org(), make.org()
    admin_other = make.user("org_admin", other)
    record = make.record(org, make.volunteer(org))
    with app.app_context():
        session = get_session()
        stored = session.get(ServiceRecord, record.id)
        with pytest.raises(Forbidden):
            correct_record(
                session, stored, _input(stored, minutes=60), "x", session.get(User, admin_other.id)
            )


def test_late_entry_is_flagged_but_allowed(make):
    org = make.org()
    volunteer = make.volunteer(org)
    recent = make.record(org, volunteer, started_at=days_ago(3))
    late = make.record(org, volunteer, started_at=days_ago(40))
    assert not recent.entered_late
    assert late.entered_late


def test_working_days_skip_weekends():
    friday = date(2026, 3, 6)
    assert working_days_between(friday, friday + timedelta(days=3)) == 1  # Monday
    assert working_days_between(friday, friday + timedelta(days=14)) == 10
    assert working_days_between(friday, friday) == 0


def test_working_days_of_the_late_entry_rule_follow_the_official_calendar():
    """Public holidays do not count; make-up working days on a weekend do (调休)."""
    # National Day 2026: 1-7 October off, Saturday 10 October worked
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert working_days_between(date(2026, 10, 9), date(2026, 10, 10)) == 1

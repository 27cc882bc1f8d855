"""What a volunteer's dispute sets going: the certificate hold, the organisation's queue and
answer, the risk signals, the regulators' dashboard; and the holiday-aware working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from myrecords_helpers import World, dispute, messages
from sqlalchemy import update
from support import bearer, login

from verifier.complaints.models import CorrectionRequest
from verifier.records.models import ServiceRecord
from verifier.records.services import working_days_between as late_rule_days
from verifier.spotchecks.risk import WEIGHTS, organisation_signals, record_signals
from verifier.workdays import working_days_between


@pytest.fixture
def world(make):
    return World(make)


def _hold(make, record_id):
    return make.run(lambda s: s.get(ServiceRecord, record_id).certificate_hold)


def _issue(client, world, record_ids=None):
    body = {"volunteer_id": world.volunteer.id}
    if record_ids is not None:
        body["record_ids"] = record_ids
    return client.post(
        "/api/v1/certificates", json=body, headers=bearer(world.make.token(world.admin))
    )


def _bulk(client, world):
    day = world.record.started_at.astimezone(UTC).date()
    term = {
        "period_from": (day - timedelta(days=1)).isoformat(),
        "period_to": (day + timedelta(days=1)).isoformat(),
        "volunteer_ids": [world.volunteer.id],
    }
    return client.post(
        "/api/v1/certificates/bulk", json=term, headers=bearer(world.make.token(world.admin))
    )


def _overdue(make, request_id, days=3):
    make.run(
        lambda s: s.execute(
            update(CorrectionRequest)
            .where(CorrectionRequest.id == request_id)
            .values(due_on=date.today() - timedelta(days=days))
        )
    )


def test_not_attended_holds_the_record_from_new_certificates_until_the_answer(client, make, world):
    opened = dispute(client, world.record.id, world.token, "not_attended", "那天我在外地，没有参加")
    assert opened.status_code == 201
    assert _hold(make, world.record.id) is True
    refused = _issue(client, world, [world.record.id])
    assert refused.status_code == 409
    assert refused.get_json()["errors"][0]["rule"] == "record_disputed"
    by_period = _issue(client, world)  # every valid record: the held one among them
    assert by_period.status_code == 409
    bulk = _bulk(client, world)
    assert bulk.status_code == 200, bulk.get_json()
    assert [s["reason"] for s in bulk.get_json()["skipped"]] == ["disputed"]
    assert bulk.get_json()["issued"] == []

    world.answer(opened.get_json()["id"], "rejected", "签到表有本人签名")
    assert _hold(make, world.record.id) is False
    assert _issue(client, world, [world.record.id]).status_code == 201


def test_other_kinds_of_dispute_do_not_hold(client, make, world):
    assert dispute(client, world.record.id, world.token, "wrong_time").status_code == 201
    assert _hold(make, world.record.id) is False
    assert _issue(client, world, [world.record.id]).status_code == 201


def test_resolving_after_a_void_lifts_the_hold_and_the_volunteer_hears_the_answer(
    client, make, world
):
    opened = dispute(client, world.record.id, world.token, "not_attended", "没有参加").get_json()
    world.void(world.record, reason="志愿者未参加，作废")
    assert _hold(make, world.record.id) is True  # only the answer lifts it
    world.answer(opened["id"], "resolved", "已作废该记录")
    assert _hold(make, world.record.id) is False
    answers = messages(make, world.volunteer.id, "dispute_answer")
    assert len(answers) == 1
    message, body = answers[0]
    assert "南川区青年志愿者协会" in message.subject
    assert "已作废该记录" in body
    assert f"/me/records/{world.record.id}" in body


def test_answering_a_request_the_organisation_recorded_sends_nothing(client, make, world):
    from verifier.auth.models import User
    from verifier.complaints.services import record_correction_request

    request = make.run(
        lambda s: record_correction_request(
            s,
            s.get(User, world.admin.id),
            s.get(ServiceRecord, world.record.id),
            requested_by="本人",
            reason="电话反映时长不对",
        )
    )
    world.answer(request.id)
    assert messages(make, world.volunteer.id, "dispute_answer") == []


def test_the_organisations_queue_shows_the_kind_the_due_day_and_overdue(client, make, world):
    late = dispute(client, world.record.id, world.token, "not_attended", "没有参加").get_json()
    timely = dispute(client, world.record.id, world.token, "wrong_minutes")
    assert timely.status_code == 409  # one open dispute per record
    _overdue(make, late["id"])
    login(client, world.admin.email)
    page = client.get(f"/orgs/{world.org.id}/complaints")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = html[html.index(f"#{world.record.id}") :].split("</tr>")[0]
    assert "我没有参加" in row
    assert (date.today() - timedelta(days=3)).isoformat() in row
    assert "已逾期" in row
    answer = client.get(f"/correction-requests/{late['id']}/answer").get_data(as_text=True)
    assert "我没有参加" in answer and "已逾期" in answer


def test_an_open_dispute_is_a_risk_signal_of_weight_five(app, client, make, world):
    app.config["DEFAULT_LOCALE"] = "en"
    opened = dispute(client, world.record.id, world.token, "wrong_minutes").get_json()

    def signals(session):
        records = record_signals(session, organisation_ids=[world.org.id])
        orgs = organisation_signals(session, organisation_ids=[world.org.id])
        return records, orgs

    records, orgs = make.run(signals)
    reasons = {s.code: s for s in records[world.record.id].reasons}
    assert reasons["volunteer_disputed"].weight == WEIGHTS["volunteer_disputed"] == 5
    assert opened["due_on"] in reasons["volunteer_disputed"].message
    assert "open_corrections" in reasons  # a dispute is a correction request too
    org_codes = {s.code for s in orgs[world.org.id].reasons}
    assert {"volunteer_disputed", "open_corrections"} <= org_codes
    assert "disputes_overdue" not in org_codes

    _overdue(make, opened["id"])
    records, orgs = make.run(signals)
    overdue = {s.code: s for s in orgs[world.org.id].reasons}["disputes_overdue"]
    assert overdue.weight == WEIGHTS["disputes_overdue"]
    assert "1" in overdue.message
    before = orgs[world.org.id].score

    world.answer(opened["id"])
    records, orgs = make.run(signals)
    assert "volunteer_disputed" not in {s.code for s in records[world.record.id].reasons}
    assert orgs[world.org.id].score == before - (
        WEIGHTS["volunteer_disputed"] + WEIGHTS["disputes_overdue"] + WEIGHTS["open_corrections"]
    )


def test_regulators_see_overdue_disputes_on_their_dashboard(client, make, world):
    opened = dispute(client, world.elsewhere.id, world.token, "not_attended", "没有参加").get_json()
    supervisor = make.user("regulator_supervisor")
    login(client, supervisor.email)

    def section():
        html = client.get("/regulator").get_data(as_text=True)
        return html[html.index('id="overdue-disputes"') :].split("</section>")[0]

    assert '<span class="n">0</span>' in section()
    _overdue(make, opened["id"])
    shown = section()
    assert '<span class="n">1</span>' in shown
    assert "重庆市南川区红十字会" in shown and "我没有参加" in shown
    assert f"#{world.elsewhere.id}" in shown
    world.answer(opened["id"])
    assert '<span class="n">0</span>' in section()


def test_the_late_entry_rule_counts_public_holidays_and_make_up_days(make, world, monkeypatch):
    # from Friday 25 September to Monday 12 October 2026: Mon-Fri would count 11 days; the
    # official calendar only 7 (28-30 Sept, 8-9 Oct, Saturday 10 Oct made a working day, 12 Oct)
    assert late_rule_days is working_days_between
    assert working_days_between(date(2026, 9, 25), date(2026, 10, 12)) == 7
    entered = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # 10:00 local
    monkeypatch.setattr("verifier.records.services.utcnow", lambda: entered)
    served = datetime(2026, 9, 25, 1, 0, tzinfo=UTC)
    record = make.record(world.org, world.volunteer, actor=world.admin, started_at=served)
    assert record.entered_late is False
    earlier = datetime(2026, 9, 18, 1, 0, tzinfo=UTC)  # 12 working days before
    record = make.record(world.org, world.volunteer, actor=world.admin, started_at=earlier)
    assert record.entered_late is True


def test_a_held_record_is_not_reissued_either(client, make, world):
    issued = _issue(client, world, [world.record.id])
    assert issued.status_code == 201
    opened = dispute(client, world.record.id, world.token, "not_attended", "没有参加").get_json()
    world.correct(world.record, minutes=120, reason="先按签到表更正时长")  # supersedes it
    number = issued.get_json()["number"]
    reissued = client.post(
        f"/api/v1/certificates/{number}/reissue", headers=bearer(make.token(world.admin))
    )
    assert reissued.status_code == 409
    assert reissued.get_json()["errors"][0]["rule"] == "record_disputed"
    world.answer(opened["id"], "resolved", "已按签到表更正")
    again = client.post(
        f"/api/v1/certificates/{number}/reissue", headers=bearer(make.token(world.admin))
    )
    assert again.status_code == 201

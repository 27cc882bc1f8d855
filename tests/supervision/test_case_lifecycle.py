"""Supervision cases (责令限期改正): the organisation answers its own, the supervisor decides."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from support.supervision_world import build_world, certificate_status, finding

from verifier.audit.models import AuditEntry
from verifier.db import get_session, utcnow
from verifier.supervision.services import flag_overdue_cases


@pytest.fixture
def world(app):
    return build_world(app)


def _open_case(client, world, item="org", kind="hours_inflated", records=None):
    response = finding(
        client,
        world,
        item,
        result="discrepancy",
        discrepancy_type=kind,
        notes="核查发现时长与签到不符",
        record_ids=records if records is not None else [world.records[0].id, world.records[2].id],
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["case"]["id"]


def _case(client, world, case_id, who="supervisor"):
    return client.get(f"/api/v1/supervision/cases/{case_id}", headers=world.auth(who))


def _audit_actions(app, case_id):
    with app.app_context():
        return [
            e.action
            for e in get_session().scalars(
                select(AuditEntry)
                .where(
                    AuditEntry.object_type == "supervision_case",
                    AuditEntry.object_id == str(case_id),
                )
                .order_by(AuditEntry.id)
            )
        ]


def test_case_lifecycle_resolved(app, client, world):
    case_id = _open_case(client, world)
    assert certificate_status(client, world, "first") == "suspended"
    assert certificate_status(client, world, "second") == "suspended"

    # the organisation sees its case; another organisation neither lists nor reads it
    listed = client.get("/api/v1/supervision/cases", headers=world.auth("org_recorder")).get_json()
    assert [c["id"] for c in listed["items"]] == [case_id]
    others = client.get("/api/v1/supervision/cases", headers=world.auth("other_admin")).get_json()
    assert others["items"] == [] and others["total"] == 0
    assert _case(client, world, case_id, "other_admin").status_code == 404
    assert world.client("other_admin").get(f"/supervision/cases/{case_id}").status_code == 404
    page = world.client("org_admin").get(f"/supervision/cases/{case_id}")
    assert page.status_code == 200 and "Respond" in page.get_data(as_text=True)

    # it corrects record 2 through the record API (its certificate becomes superseded) ...
    corrected = client.post(
        f"/api/v1/records/{world.records[2].id}/corrections",
        json={"minutes": 60, "reason": "按签到记录更正时长"},
        headers=world.auth("org_admin"),
    )
    assert corrected.status_code == 200, corrected.get_json()
    assert certificate_status(client, world, "second") == "superseded"

    # ... and answers, through the page
    answered = world.client("org_admin").post(
        f"/supervision/cases/{case_id}/respond",
        data={
            "explanation": "已核对签到记录并更正",
            "corrected_record_ids": str(world.records[2].id),
        },
    )
    assert answered.status_code == 302
    shown = _case(client, world, case_id).get_json()
    assert shown["status"] == "responded" and shown["corrected_record_ids"] == [world.records[2].id]

    # an organisation cannot decide its own case; an inspector cannot either
    decision = {"outcome": "resolved", "decision": "已整改"}
    for who in ("org_admin", "inspector"):
        refused = client.post(
            f"/api/v1/supervision/cases/{case_id}/close", json=decision, headers=world.auth(who)
        )
        assert refused.status_code == 403, who

    closed = client.post(
        f"/api/v1/supervision/cases/{case_id}/close",
        json=decision,
        headers=world.auth("supervisor"),
    )
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["status"] == "closed" and closed.get_json()["outcome"] == "resolved"
    # the unchanged record's certificate is valid again; the corrected one stays superseded
    assert certificate_status(client, world, "first") == "valid"
    assert certificate_status(client, world, "second") == "superseded"
    assert certificate_status(client, world, "other") == "valid"
    # closed is final
    again = client.post(
        f"/api/v1/supervision/cases/{case_id}/close",
        json=decision,
        headers=world.auth("supervisor"),
    )
    assert again.status_code == 409
    late = client.post(
        f"/api/v1/supervision/cases/{case_id}/response",
        json={"explanation": "补充"},
        headers=world.auth("org_admin"),
    )
    assert late.status_code == 409
    kinds = [e["kind"] for e in closed.get_json()["events"]]
    assert kinds == [
        "opened",
        "certificates_suspended",
        "responded",
        "closed",
        "certificates_reinstated",
    ]
    assert _audit_actions(app, case_id) == [f"supervision.{k}" for k in kinds]


def test_confirmed_falsification_revokes_and_stopping_activities_suspends_the_organisation(
    client, world
):
    case_id = _open_case(client, world, kind="activity_not_held")
    closed = client.post(
        f"/api/v1/supervision/cases/{case_id}/close",
        json={
            "outcome": "sanctioned",
            "sanction": "stop_activities",
            "falsification_confirmed": True,
            "decision": "经查活动未举办，记录系虚构",
        },
        headers=world.auth("supervisor"),
    )
    assert closed.status_code == 200, closed.get_json()
    assert certificate_status(client, world, "first") == "revoked"
    assert certificate_status(client, world, "second") == "revoked"
    assert certificate_status(client, world, "other") == "valid"
    page = client.get(f"/v/{world.certs['first'].token}").get_data(as_text=True)
    assert "Activity not held" in page or "活动未举办" in page
    org = client.get(f"/api/v1/organisations/{world.org.id}", headers=world.auth("org_admin"))
    assert org.get_json()["status"] == "suspended"
    # a suspended organisation may no longer issue certificates
    issued = client.post(
        "/api/v1/certificates",
        json={"volunteer_id": world.volunteer.id, "record_ids": [world.records[1].id]},
        headers=world.auth("org_admin"),
    )
    assert issued.status_code == 403


def test_falsification_is_confirmed_only_for_falsification_types(client, world):
    case_id = _open_case(client, world, kind="volunteer_unaware")
    refused = client.post(
        f"/api/v1/supervision/cases/{case_id}/close",
        json={
            "outcome": "sanctioned",
            "sanction": "warning",
            "falsification_confirmed": True,
            "decision": "x",
        },
        headers=world.auth("supervisor"),
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "falsification_confirmed"
    assert certificate_status(client, world, "first") == "suspended"
    no_sanction = client.post(
        f"/api/v1/supervision/cases/{case_id}/close",
        json={"outcome": "sanctioned", "decision": "x"},
        headers=world.auth("supervisor"),
    )
    assert no_sanction.status_code == 422
    warned = client.post(
        f"/api/v1/supervision/cases/{case_id}/close",
        json={"outcome": "sanctioned", "sanction": "warning", "decision": "给予警告"},
        headers=world.auth("supervisor"),
    )
    assert warned.status_code == 200
    assert certificate_status(client, world, "first") == "valid"
    org = client.get(f"/api/v1/organisations/{world.org.id}", headers=world.auth("org_admin"))
    assert org.get_json()["status"] == "active"


def test_a_certificate_held_by_two_cases_waits_for_both(client, world):
    first = _open_case(client, world, item="record0", records=None)
    second = _open_case(client, world, item="record1", kind="duplicate", records=None)
    decision = {"outcome": "resolved", "decision": "已整改"}
    client.post(
        f"/api/v1/supervision/cases/{first}/close", json=decision, headers=world.auth("supervisor")
    )
    assert certificate_status(client, world, "first") == "suspended"
    client.post(
        f"/api/v1/supervision/cases/{second}/close", json=decision, headers=world.auth("supervisor")
    )
    assert certificate_status(client, world, "first") == "valid"


def test_overdue_cases_are_flagged_once(app, client, world):
    case_id = _open_case(client, world)
    answered_id = _open_case(client, world, item="record1", kind="duplicate", records=None)
    client.post(
        f"/api/v1/supervision/cases/{answered_id}/response",
        json={"explanation": "已删除重复记录"},
        headers=world.auth("org_admin"),
    )
    with app.app_context():
        session = get_session()
        assert flag_overdue_cases(session, utcnow() + timedelta(days=29)) == 0
        assert flag_overdue_cases(session, utcnow() + timedelta(days=31)) == 1
        assert flag_overdue_cases(session, utcnow() + timedelta(days=31)) == 0
        session.commit()
    assert _case(client, world, case_id).get_json()["status"] == "overdue"
    assert _case(client, world, answered_id).get_json()["status"] == "responded"
    # an overdue case can still be answered
    answered = client.post(
        f"/api/v1/supervision/cases/{case_id}/response",
        json={"explanation": "逾期说明"},
        headers=world.auth("org_admin"),
    )
    assert answered.status_code == 200 and answered.get_json()["status"] == "responded"


def test_flag_overdue_command(app, client, world):
    app.config["SUPERVISION_DEADLINE_DAYS"] = 1
    case_id = _open_case(client, world)
    with app.app_context():
        from verifier.supervision.models import SupervisionCase

        session = get_session()
        session.get(SupervisionCase, case_id).deadline = utcnow() - timedelta(hours=1)
        session.commit()
    result = app.test_cli_runner().invoke(args=["spotcheck", "flag-overdue"])
    assert result.exit_code == 0, result.output
    assert "1 case(s) flagged overdue" in result.output
    assert _case(client, world, case_id).get_json()["status"] == "overdue"


def test_the_schedulers_daily_job_flags_overdue_cases(app, client, world, monkeypatch):
    from verifier.spotchecks import scheduler
    from verifier.supervision.models import SupervisionCase

    app.config["SUPERVISION_DEADLINE_DAYS"] = 1
    case_id = _open_case(client, world)
    with app.app_context():
        session = get_session()
        session.get(SupervisionCase, case_id).deadline = utcnow() - timedelta(hours=1)
        session.commit()
    monkeypatch.setattr(scheduler, "_app", app)
    scheduler.overdue_job()
    assert _case(client, world, case_id).get_json()["status"] == "overdue"


def test_escalation(client, world):
    case_id = _open_case(client, world)
    escalated = client.post(
        f"/api/v1/supervision/cases/{case_id}/escalate",
        json={"note": "移送上级民政部门"},
        headers=world.auth("supervisor"),
    )
    assert escalated.status_code == 200 and escalated.get_json()["status"] == "escalated"
    assert certificate_status(client, world, "first") == "suspended"
    no_answer = client.post(
        f"/api/v1/supervision/cases/{case_id}/response",
        json={"explanation": "x"},
        headers=world.auth("org_admin"),
    )
    assert no_answer.status_code == 409
    again = client.post(
        f"/api/v1/supervision/cases/{case_id}/escalate",
        json={"note": "again"},
        headers=world.auth("supervisor"),
    )
    assert again.status_code == 409


def test_the_deadline_follows_the_configuration(app, client, world):
    app.config["SUPERVISION_DEADLINE_DAYS"] = 7
    case_id = _open_case(client, world)
    body = _case(client, world, case_id).get_json()
    from datetime import datetime

    opened = datetime.fromisoformat(body["opened_at"])
    assert datetime.fromisoformat(body["deadline"]) - opened == timedelta(days=7)


def test_case_pages_for_the_supervisor(client, world):
    case_id = _open_case(client, world)
    supervisor = world.client("supervisor")
    listing = supervisor.get("/supervision/cases?status=open").get_data(as_text=True)
    assert f"/supervision/cases/{case_id}" in listing
    bad = supervisor.post(f"/supervision/cases/{case_id}/close", data={"outcome": "resolved"})
    assert bad.status_code == 422 and "Close the case" in bad.get_data(as_text=True)
    done = supervisor.post(
        f"/supervision/cases/{case_id}/close",
        data={"outcome": "resolved", "decision": "已整改完毕"},
    )
    assert done.status_code == 302
    page = supervisor.get(f"/supervision/cases/{case_id}").get_data(as_text=True)
    assert "已整改完毕" in page and "Certificates reinstated" in page

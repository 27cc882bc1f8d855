"""My data: everything held about a volunteer, the ID number in full only after the password."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from mydata_helpers import ID_NUMBER, build_world, problem, refused, report_body
from support import PASSWORD, days_ago, login

from verifier.audit.models import AuditEntry
from verifier.auth.models import SignInFailure, User
from verifier.certificates.services import number_display
from verifier.complaints.models import CertificateRequest, CorrectionRequest
from verifier.records.models import RecordConfirmation, ServiceRecord
from verifier.records.services import RecordInput, correct_record, void_record
from verifier.timeutil import local_today

EXPORT = "/api/v1/me/export"


@pytest.fixture
def w(app, make, client):
    world = build_world(app, make)
    first = make.record(world.org, world.volunteer, actor=world.admin, started_at=days_ago(20))
    second = make.record(
        world.org, world.volunteer, actor=world.admin, started_at=days_ago(12), activity="防汛值守"
    )
    third = make.record(world.org, world.volunteer, actor=world.admin, started_at=days_ago(8))
    # another person's record: never in this volunteer's export
    make.record(world.other_org, world.other_volunteer, actor=world.other_admin, activity="别人的")
    cert = make.certificate(world.org, world.admin, world.volunteer, [first])
    world.cert = cert

    def history(session):
        admin = session.get(User, world.admin.id)
        record = session.get(ServiceRecord, second.id)
        correct_record(
            session,
            record,
            RecordInput(
                activity="防汛值守",
                place=record.place,
                started_at=record.started_at,
                ended_at=record.ended_at,
                minutes=120,
                content=record.content,
            ),
            "签到表记的是两小时",
            admin,
        )
        void_record(session, session.get(ServiceRecord, third.id), "重复录入", admin)
        session.add(
            RecordConfirmation(record_id=first.id, revision=1, volunteer_id=world.volunteer.id)
        )
        session.add(
            CorrectionRequest(
                record_id=second.id,
                organisation_id=world.org.id,
                requested_by="本人",
                reason="时长不对",
                volunteer_id=world.volunteer.id,
                kind="wrong_minutes",
                record_revision=1,
                due_on=local_today() + timedelta(days=14),
            )
        )
        session.add(
            CertificateRequest(
                volunteer_id=world.volunteer.id,
                organisation_id=world.org.id,
                period_from=local_today() - timedelta(days=30),
                period_to=local_today(),
                status="issued",
                due_on=local_today() + timedelta(days=14),
                certificate_id=cert.id,
            )
        )

    world.run(history)
    world.records = (first, second, third)
    request = client.post(
        "/api/v1/me/missing-records",
        json=report_body(world, days=3),
        headers=world.auth("volunteer"),
    ).get_json()
    client.post(
        f"/api/v1/missing-records/{request['id']}/refuse",
        json={"reason": "当天没有活动"},
        headers=world.auth("org_admin"),
    )
    for _ in range(2):
        client.post("/api/v1/verifications", json={"number": cert.number})
    return world


def exported(client, w, who="volunteer"):
    response = client.get(EXPORT, headers=w.auth(who))
    assert response.status_code == 200, response.get_json()
    return response


def test_the_export_holds_everything_about_the_volunteer(client, w):
    response = exported(client, w)
    today = local_today().isoformat()
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="my-data-{today}.json"'
    )
    data = response.get_json()
    assert data["format"] == "verifier-my-data/1"
    assert "GB/T 40143" in data["about"]
    person = data["volunteer"]
    assert person["name"] == "张三" and person["id_type"] == "resident_id"
    assert person["id_number"] is None
    assert person["id_number_masked"] == ID_NUMBER[:3] + "*" * 13 + ID_NUMBER[-2:]
    assert person["phone_masked"] == "138****8000"
    assert person["birth_date"] == "1995-06-11" and person["public_activities"] is False
    assert [m["organisation_name"] for m in data["memberships"]] == ["南川区志愿者协会"]
    records = {r["id"]: r for r in data["records"]}
    first, second, third = (records[r.id] for r in w.records)
    assert len(records) == 3 and "别人的" not in json.dumps(data, ensure_ascii=False)
    assert [c["revision"] for c in first["confirmations"]] == [1]
    assert [(r["kind"], r["minutes"]) for r in second["revisions"]] == [
        ("created", 180),
        ("corrected", 120),
    ]
    assert second["revisions"][1]["reason"] == "签到表记的是两小时"
    assert third["status"] == "voided" and third["void_reason"] == "重复录入"
    (dispute,) = data["corrections"]
    assert dispute["from_your_account"] and dispute["kind"] == "wrong_minutes"
    (missing,) = data["missing_records"]
    assert missing["status"] == "refused" and missing["answer"] == "当天没有活动"
    (asked,) = data["certificate_requests"]
    assert asked["certificate_number"] == number_display(w.cert.number)
    (cert,) = data["certificates"]
    assert cert["number"] == number_display(w.cert.number) and cert["verifications"] == 2
    assert cert["activities"] == [{"activity": "社区敬老服务", "hours": "3.00", "records": 1}]
    account = data["account"]
    assert account["login"] == "zhangsan@example.cn" and account["locale"] == "zh"
    assert [t["name"] for t in account["tokens"]] == ["test"]
    assert account["tokens"][0]["prefix"].startswith("vfr_")
    # the receipts of the records and the answer to the missing-record report, without bodies
    kinds = [note["kind"] for note in data["notifications"]]
    assert "missing_record_answered" in kinds and "record_receipt" in kinds
    for note in data["notifications"]:
        assert set(note) == {"kind", "channel", "to", "created_at", "status", "sent_at"}
    (note,) = [n for n in data["notifications"] if n["kind"] == "missing_record_answered"]
    assert note["to"] == "z***@example.cn"
    actions = {(e["action"], e["by_you"]) for e in data["audit_events"]}
    assert ("volunteer.create", False) in actions
    assert ("missing_record.request", True) in actions
    text = response.get_data(as_text=True)
    for secret in (ID_NUMBER, "13800138000", "token_hash", "password", "当天没有活动的消息正文"):
        assert secret not in text


def test_each_export_is_audited_without_its_content(client, w):
    exported(client, w)
    (entry,) = w.rows(AuditEntry, AuditEntry.action == "volunteer.export")
    assert entry.object_id == str(w.volunteer.id)
    assert json.loads(entry.details) == {"full_id_number": False, "channel": "api"}


def test_another_volunteer_gets_only_their_own(client, w):
    data = exported(client, w, "other_volunteer").get_json()
    assert data["volunteer"]["name"] == "李四"
    assert [r["activity"] for r in data["records"]] == ["别人的"]
    assert data["certificates"] == [] and data["missing_records"] == []
    assert data["corrections"] == [] and data["certificate_requests"] == []
    assert {m["organisation_name"] for m in data["memberships"]} == {
        "南川区志愿者协会",
        "另一家慈善会",
    }


def test_the_full_id_number_only_after_the_password(client, w):
    response = client.post(EXPORT, json={"password": PASSWORD}, headers=w.auth("volunteer"))
    assert response.status_code == 200
    assert response.get_json()["volunteer"]["id_number"] == ID_NUMBER
    assert "attachment" in response.headers["Content-Disposition"]
    (entry,) = w.rows(AuditEntry, AuditEntry.action == "volunteer.export")
    assert json.loads(entry.details) == {"full_id_number": True, "channel": "api"}
    assert ID_NUMBER not in entry.details
    refused(client.post(EXPORT, json={}, headers=w.auth("volunteer")), 422, "password", "missing")
    refused(
        client.post(EXPORT, json={"password": "x" * 1025}, headers=w.auth("volunteer")),
        422,
        "password",
        "string_too_long",
    )


def test_a_wrong_password_is_refused_and_counts_towards_the_lockout(client, w):
    wrong = client.post(EXPORT, json={"password": "wrong"}, headers=w.auth("volunteer"))
    error = refused(wrong, 403, "password", "wrong_password")
    assert ID_NUMBER not in wrong.get_data(as_text=True) and error["message"]
    (user,) = w.rows(User, User.id == w.user.id)
    assert user.failed_logins == 1
    assert w.rows(SignInFailure, SignInFailure.user_id == w.user.id)[0].failures == 1
    assert w.rows(AuditEntry, AuditEntry.action == "auth.sign_in_failed")
    assert w.rows(AuditEntry, AuditEntry.action == "volunteer.export") == []
    for _ in range(4):  # five failures from one address lock it for a while
        client.post(EXPORT, json={"password": "wrong"}, headers=w.auth("volunteer"))
    locked = client.post(EXPORT, json={"password": PASSWORD}, headers=w.auth("volunteer"))
    refused(locked, 403, "password", "wrong_password")


def test_staff_have_no_export(client, w):
    for who in ("org_admin", "regulator_supervisor", "platform_admin"):
        problem(client.get(EXPORT, headers=w.auth(who)), 403)
    problem(client.get(EXPORT), 401)


def _signed_in(client, w):
    assert login(client, w.user.email).status_code == 302
    client.set_cookie("lang", "en")


def test_the_data_page_explains_and_offers_both_downloads(client, w):
    _signed_in(client, w)
    html = client.get("/me/data").get_data(as_text=True)
    assert "GB/T 40143" in html and "at least 10 years" in html
    assert 'href="/privacy"' in html and 'href="/me/data/export.json"' in html
    assert "dispute it from your records" in html
    download = client.get("/me/data/export.json")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith('attachment; filename="my-data-')
    assert download.get_json()["volunteer"]["id_number"] is None
    assert ID_NUMBER not in download.get_data(as_text=True)
    wrong = client.post("/me/data", data={"password": "wrong"})
    assert wrong.status_code == 403
    assert "the password is wrong" in wrong.get_data(as_text=True)
    assert ID_NUMBER not in wrong.get_data(as_text=True)
    empty = client.post("/me/data", data={"password": ""})
    assert empty.status_code == 422 and "enter your password" in empty.get_data(as_text=True)
    full = client.post("/me/data", data={"password": PASSWORD})
    assert full.status_code == 200 and "attachment" in full.headers["Content-Disposition"]
    assert full.get_json()["volunteer"]["id_number"] == ID_NUMBER
    channels = [
        json.loads(e.details)["channel"]
        for e in w.rows(AuditEntry, AuditEntry.action == "volunteer.export")
    ]
    assert channels == ["page", "page"]


def test_the_privacy_page_sets_the_choice(client, w):
    _signed_in(client, w)
    html = client.get("/me/privacy").get_data(as_text=True)
    assert 'href="/privacy"' in html
    assert re.search(r'<input checked[^>]*value="totals"', html)
    assert not re.search(r'<input checked[^>]*value="activities"', html)
    assert "applies at once" in html
    assert client.post("/me/privacy", data={"shown": "everything"}).status_code == 422
    response = client.post("/me/privacy", data={"shown": "activities"})
    assert response.status_code == 302
    assert "it applies at once" in client.get(response.headers["Location"]).get_data(as_text=True)
    shown = client.post("/api/v1/verifications", json={"token": w.cert.token}).get_json()
    assert shown["certificate"]["activities_shown"] is True

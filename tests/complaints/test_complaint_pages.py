"""Complaints and correction requests as regulators and organisations see them on the pages."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from support import days_ago
from support import login as sign_in

from verifier.audit.models import AuditEntry
from verifier.complaints.models import Complaint, CorrectionRequest
from verifier.db import get_session

SHANGHAI = ZoneInfo("Asia/Shanghai")


def login(client, email):
    """Sign in and read the pages in English, so the assertions hold once translations exist."""
    response = sign_in(client, email)
    client.set_cookie("lang", "en")
    return response


class World:
    def __init__(self, app, make):
        self.app = app
        self.org = make.org(name="南川区青年志愿者协会")
        self.other = make.org(name="另一家协会")
        self.admin = make.user("org_admin", self.org)
        self.recorder = make.user("org_recorder", self.org)
        self.other_admin = make.user("org_admin", self.other)
        self.supervisor = make.user("regulator_supervisor")
        self.inspector = make.user("regulator_inspector")
        self.volunteer = make.volunteer(self.org)
        self.record = make.record(self.org, self.volunteer, actor=self.admin)
        other_volunteer = make.volunteer(self.other)
        self.other_record = make.record(self.other, other_volunteer, actor=self.other_admin)

    def rows(self, model):
        with self.app.app_context():
            return list(get_session().scalars(select(model).order_by(model.id)))

    def actions(self):
        with self.app.app_context():
            return [
                e.action
                for e in get_session().scalars(select(AuditEntry).order_by(AuditEntry.id))
                if e.action.startswith(("complaint.", "correction_request."))
            ]


@pytest.fixture
def world(app, make):
    return World(app, make)


def test_a_supervisor_records_and_closes_a_complaint(client, world):
    login(client, world.supervisor.email)
    form = client.get(f"/orgs/{world.org.id}/complaints/new?record={world.record.id}")
    assert form.status_code == 200
    assert f'value="{world.record.id}"' in form.get_data(as_text=True)
    response = client.post(
        f"/orgs/{world.org.id}/complaints/new",
        data={"source": "public", "summary": "活动当天并未举办", "record_id": world.record.id},
    )
    assert response.status_code == 302
    page = client.get(f"/orgs/{world.org.id}/complaints").get_data(as_text=True)
    assert "活动当天并未举办" in page and "Member of the public" in page
    listing = client.get("/complaints").get_data(as_text=True)
    assert "活动当天并未举办" in listing and "南川区青年志愿者协会" in listing
    [complaint] = world.rows(Complaint)
    assert (complaint.status, complaint.record_id) == ("open", world.record.id)

    login(client, world.supervisor.email)
    assert client.post(f"/complaints/{complaint.id}/close", data={}).status_code == 422
    response = client.post(
        f"/complaints/{complaint.id}/close", data={"resolution": "经核实，活动已举办，投诉不成立"}
    )
    assert response.status_code == 302
    [complaint] = world.rows(Complaint)
    assert complaint.status == "closed" and complaint.closed_by_id == world.supervisor.id
    assert "投诉不成立" in client.get(f"/orgs/{world.org.id}/complaints").get_data(as_text=True)
    assert "活动当天并未举办" not in client.get("/complaints").get_data(as_text=True)
    assert "活动当天并未举办" in client.get("/complaints?status=closed").get_data(as_text=True)
    again = client.post(f"/complaints/{complaint.id}/close", data={"resolution": "再次关闭"})
    assert again.status_code == 409
    assert world.actions() == ["complaint.record", "complaint.close"]


def test_a_complaint_names_only_a_record_of_that_organisation(client, world):
    login(client, world.supervisor.email)
    response = client.post(
        f"/orgs/{world.org.id}/complaints/new",
        data={"source": "volunteer", "summary": "时长虚报", "record_id": world.other_record.id},
    )
    assert response.status_code == 422
    assert f"record {world.other_record.id} is not a record of this organisation" in (
        response.get_data(as_text=True)
    )
    empty = client.post(f"/orgs/{world.org.id}/complaints/new", data={"source": "public"})
    assert empty.status_code == 422 and "summary is required" in empty.get_data(as_text=True)
    unknown = client.post(
        f"/orgs/{world.org.id}/complaints/new", data={"source": "rumour", "summary": "x"}
    )
    assert unknown.status_code == 422
    assert world.rows(Complaint) == []


def test_organisations_do_not_see_complaints(client, app, world):
    login(client, world.supervisor.email)
    client.post(
        f"/orgs/{world.org.id}/complaints/new", data={"source": "public", "summary": "举报内容甲"}
    )
    login(client, world.admin.email)
    page = client.get(f"/orgs/{world.org.id}/complaints")
    assert page.status_code == 200
    assert "举报内容甲" not in page.get_data(as_text=True)
    assert client.get("/complaints").status_code == 403
    [complaint] = world.rows(Complaint)
    assert client.get(f"/complaints/{complaint.id}/close").status_code == 403
    login(client, world.other_admin.email)
    assert client.get(f"/orgs/{world.org.id}/complaints").status_code == 404


def _correction(world, minutes):
    start = days_ago(10, hour=9)
    local = start.astimezone(SHANGHAI)
    return {
        "activity": "社区敬老服务",
        "place": "南川区东城街道",
        "content": "陪伴老人，打扫卫生",
        "started_at": local.strftime("%Y-%m-%dT%H:%M"),
        "ended_at": (local + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "minutes": str(minutes),
        "unpaid": "y",
        "not_job_duty": "y",
        "reason": "志愿者申请更正：多记半小时",
    }


def test_a_correction_request_is_resolved_only_after_the_record_is_corrected(client, world):
    login(client, world.recorder.email)
    url = f"/records/{world.record.id}/correction-requests/new"
    assert "本人" in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"requested_by": "本人", "reason": "实际服务2.5小时"})
    assert response.status_code == 302
    [request] = world.rows(CorrectionRequest)
    assert (request.status, request.organisation_id) == ("open", world.org.id)
    page = client.get(f"/orgs/{world.org.id}/complaints").get_data(as_text=True)
    assert "实际服务2.5小时" in page and f"/correction-requests/{request.id}/answer" in page

    answer = f"/correction-requests/{request.id}/answer"
    form = client.get(answer).get_data(as_text=True)
    assert f"/records/{world.record.id}/correct" in form  # the way to correct the record
    too_soon = client.post(answer, data={"status": "resolved", "resolution": "已更正"})
    assert too_soon.status_code == 422
    assert "has not been corrected since the request" in too_soon.get_data(as_text=True)

    corrected = client.post(f"/records/{world.record.id}/correct", data=_correction(world, 150))
    assert corrected.status_code == 302, corrected.get_data(as_text=True)
    assert "changed since the request" in client.get(answer).get_data(as_text=True)
    done = client.post(answer, data={"status": "resolved", "resolution": "已更正为2.5小时"})
    assert done.status_code == 302
    [request] = world.rows(CorrectionRequest)
    assert (request.status, request.resolved_by_id) == ("resolved", world.recorder.id)
    assert client.post(answer, data={"status": "rejected", "resolution": "x"}).status_code == 409
    assert world.actions() == ["correction_request.record", "correction_request.resolve"]


def test_a_correction_request_may_be_rejected_with_reasons(client, world):
    login(client, world.admin.email)
    client.post(
        f"/records/{world.record.id}/correction-requests/new",
        data={"requested_by": "张三", "reason": "活动时间记错"},
    )
    [request] = world.rows(CorrectionRequest)
    answer = f"/correction-requests/{request.id}/answer"
    assert client.post(answer, data={"status": "rejected"}).status_code == 422
    response = client.post(
        answer, data={"status": "rejected", "resolution": "签到记录显示时间无误"}
    )
    assert response.status_code == 302
    [request] = world.rows(CorrectionRequest)
    assert request.status == "rejected" and request.resolution == "签到记录显示时间无误"
    assert world.actions() == ["correction_request.record", "correction_request.reject"]


def test_correction_requests_stay_within_the_organisation(client, world):
    login(client, world.admin.email)
    client.post(
        f"/records/{world.record.id}/correction-requests/new",
        data={"requested_by": "本人", "reason": "地点写错"},
    )
    [request] = world.rows(CorrectionRequest)
    login(client, world.other_admin.email)
    assert client.get(f"/records/{world.record.id}/correction-requests/new").status_code == 404
    assert client.get(f"/correction-requests/{request.id}/answer").status_code == 404
    assert (
        client.post(
            f"/correction-requests/{request.id}/answer",
            data={"status": "rejected", "resolution": "x"},
        ).status_code
        == 404
    )
    # regulators read them, but the answer is the organisation's
    login(client, world.inspector.email)
    page = client.get(f"/orgs/{world.org.id}/complaints").get_data(as_text=True)
    assert "地点写错" in page and "/answer" not in page
    assert client.get(f"/correction-requests/{request.id}/answer").status_code == 403
    [request] = world.rows(CorrectionRequest)
    assert request.status == "open"


def test_a_voided_record_takes_no_correction_request(client, world):
    login(client, world.admin.email)
    client.post(f"/records/{world.record.id}/void", data={"reason": "重复登记"})
    response = client.post(
        f"/records/{world.record.id}/correction-requests/new",
        data={"requested_by": "本人", "reason": "时长有误"},
    )
    assert response.status_code == 409
    assert world.rows(CorrectionRequest) == []

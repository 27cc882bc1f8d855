"""Omissions on the pages: the volunteer's form and list (phone), the organisation's queue."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from mydata_helpers import build_world, report_body
from support import days_ago, login

from verifier.complaints.models import MissingRecordRequest
from verifier.records.models import ServiceRecord
from verifier.timeutil import local_today, to_local

FORM_TIME = "%Y-%m-%dT%H:%M"


@pytest.fixture
def w(app, make):
    return build_world(app, make)


def signed_in(client, user):
    response = login(client, user.email)
    assert response.status_code == 302, response.get_data(as_text=True)
    client.set_cookie("lang", "en")
    return client


def form(w, **fields):
    start = to_local(days_ago(6, hour=14))
    data = {
        "organisation": w.org.uscc,
        "activity": "河道清洁",
        "started_at": start.strftime(FORM_TIME),
        "ended_at": (start + timedelta(hours=2)).strftime(FORM_TIME),
        "reason": "和社区的李老师一起",
    }
    data.update(fields)
    return data


def api_report(client, w, **fields):
    response = client.post(
        "/api/v1/me/missing-records", json=report_body(w, **fields), headers=w.auth("volunteer")
    )
    assert response.status_code == 201
    return response.get_json()


def test_a_volunteer_reports_on_the_page_and_sees_the_report(client, w):
    signed_in(client, w.user)
    page = client.get("/me/missing-records")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="viewport"' in html and 'class="phone"' in html
    assert f'<option value="{w.org.uscc}">南川区志愿者协会</option>' in html
    assert "另一家慈善会" not in html  # not registered there
    assert "No reports yet." in html
    response = client.post("/me/missing-records", data=form(w))
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "南川区志愿者协会 answers by" in html
    assert "河道清洁" in html and "Waiting for the answer" in html
    (request,) = w.rows(MissingRecordRequest)
    assert request.volunteer_id == w.volunteer.id and request.reason == "和社区的李老师一起"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"activity": ""}, "Activity name is required"),
        ({"reason": "证件 110101199003070021"}, "reason may not contain an ID number"),
        ({"ended_at": ""}, "enter the end date and time"),
        ({"organisation": "53500000MJ0000001A"}, "check character is wrong"),
    ],
)
def test_a_bad_report_shows_the_error_at_its_field(client, w, fields, message):
    signed_in(client, w.user)
    response = client.post("/me/missing-records", data=form(w, **fields))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'class="field-error"' in html
    assert w.rows(MissingRecordRequest) == []


def test_times_on_the_page_follow_the_records_rules(client, w):
    signed_in(client, w.user)
    start = to_local(days_ago(3, hour=9))
    response = client.post(
        "/me/missing-records",
        data=form(
            w,
            started_at=start.strftime(FORM_TIME),
            ended_at=(start - timedelta(hours=1)).strftime(FORM_TIME),
        ),
    )
    assert response.status_code == 422
    assert "end time must be after start time" in response.get_data(as_text=True)


def test_staff_and_other_volunteers_see_nothing_of_it(client, w, app):
    api_report(client, w)
    signed_in(client, w.other_user)
    assert "社区敬老服务" not in client.get("/me/missing-records").get_data(as_text=True)
    staff = app.test_client()
    signed_in(staff, w.admin)
    for url in ("/me/missing-records", "/me/data", "/me/privacy", "/me/data/export.json"):
        assert staff.get(url).status_code == 403, url
    assert client.get("/missing-records").status_code == 403  # a volunteer has no queue


def test_the_queue_shows_open_requests_with_the_count_in_the_navigation(client, w, app):
    first = api_report(client, w)
    api_report(client, w, days=9, activity="防汛值守")
    signed_in(client, w.recorder)
    html = client.get("/missing-records").get_data(as_text=True)
    assert "Missing records (2)" in html
    assert "社区敬老服务" in html and "防汛值守" in html and "张三" in html
    assert f"/missing-records/{first['id']}" in html
    other = app.test_client()
    signed_in(other, w.other_admin)
    html = other.get("/missing-records").get_data(as_text=True)
    assert "社区敬老服务" not in html and "Missing records (" not in html
    assert other.get(f"/missing-records/{first['id']}").status_code == 404
    # an organisation page elsewhere shows the count too
    assert "Missing records (2)" in client.get("/records").get_data(as_text=True)


def test_the_detail_prefills_the_record_and_enters_it(client, w):
    request = api_report(client, w, days=4)
    signed_in(client, w.recorder)
    html = client.get(f"/missing-records/{request['id']}").get_data(as_text=True)
    assert 'value="社区敬老服务"' in html
    assert 'value="180"' in html
    started = to_local(days_ago(4, hour=9)).strftime(FORM_TIME)
    assert f'value="{started}"' in html
    assert "和王老师一起去的" in html
    # the declarations must be made afresh
    assert re.search(r'id="enter-unpaid"[^>]*checked', html) is None
    url = f"/missing-records/{request['id']}/enter"
    fields = {
        "activity": "社区敬老服务",
        "place": "东城街道敬老院",
        "started_at": started,
        "ended_at": to_local(days_ago(4, hour=12)).strftime(FORM_TIME),
        "minutes": "180",
    }
    missing = client.post(url, data=fields)
    assert missing.status_code == 422
    assert "paid work is not volunteering" in missing.get_data(as_text=True)
    response = client.post(url, data={**fields, "unpaid": "y", "not_job_duty": "y"})
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Record" in html and "Entered" in html and "Missing records (" not in html
    (req,) = w.rows(MissingRecordRequest)
    (record,) = w.rows(ServiceRecord, ServiceRecord.id == req.record_id)
    assert record.source == "entry" and record.place == "东城街道敬老院"
    assert client.post(url, data={**fields, "unpaid": "y", "not_job_duty": "y"}).status_code == 409


def test_refusing_on_the_page_needs_a_reason(client, w):
    request = api_report(client, w)
    signed_in(client, w.admin)
    url = f"/missing-records/{request['id']}/refuse"
    response = client.post(url, data={"reason": ""})
    assert response.status_code == 422
    assert "reason is required" in response.get_data(as_text=True)
    response = client.post(url, data={"reason": "当天没有这个活动"})
    assert response.status_code == 302
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "当天没有这个活动" in detail and "Refused" in detail
    volunteer = client.application.test_client()
    signed_in(volunteer, w.user)
    mine = volunteer.get("/me/missing-records").get_data(as_text=True)
    assert "当天没有这个活动" in mine and "Refused" in mine


def test_regulators_see_overdue_requests_on_their_dashboard(client, w):
    request = api_report(client, w)

    def backdate(session):
        session.get(MissingRecordRequest, request["id"]).due_on = local_today() - timedelta(days=1)

    signed_in(client, w.supervisor)
    stat = re.compile(r'id="missing-records-overdue"><span class="n">(\d+)</span>')
    assert stat.search(client.get("/regulator").get_data(as_text=True)).group(1) == "0"
    w.run(backdate)
    html = client.get("/regulator").get_data(as_text=True)
    assert stat.search(html).group(1) == "1"
    assert "Missing-record requests overdue" in html

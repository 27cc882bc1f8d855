"""Record pages as a user sees them: entry, rules on the form, correction, voiding, history."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from support import days_ago
from support import login as sign_in

from verifier.audit.models import AuditEntry
from verifier.db import get_session
from verifier.records.models import RecordRevision, ServiceRecord

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_input(days: int, hour: int, minute: int = 0) -> str:
    """A datetime-local value, some days ago, in Shanghai time."""
    day = datetime.now(SHANGHAI) - timedelta(days=days)
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M")


def entry(**changes):
    data = {
        "activity": "社区敬老服务",
        "place": "南川区东城街道",
        "content": "陪伴老人",
        "leader": "王组长",
        "started_at": local_input(3, 9),
        "ended_at": local_input(3, 12),
        "minutes": "150",
        "evaluation": "认真",
        "unpaid": "y",
        "not_job_duty": "y",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def login(client, email):
    """Sign in and read the pages in English, so the assertions hold once translations exist."""
    response = sign_in(client, email)
    client.set_cookie("lang", "en")
    return response


def count(app, model) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model))


def field_error(html: str, field_id: str) -> str:
    found = re.search(rf'id="{field_id}-error"[^>]*>(.*?)</p>', html, re.S)
    assert found, f"no error shown for {field_id}"
    return found.group(1)


class World:
    """Two organisations and a volunteer; users are made on first use (password hashing is slow)."""

    def __init__(self, make):
        self.make = make
        self.org = make.org()
        self.other = make.org()
        self.volunteer = make.volunteer(self.org)

    @cached_property
    def recorder(self):
        return self.make.user("org_recorder", self.org)

    @cached_property
    def admin(self):
        return self.make.user("org_admin", self.org)

    @cached_property
    def outsider(self):
        return self.make.user("org_admin", self.other)

    @cached_property
    def inspector(self):
        return self.make.user("regulator_inspector")


@pytest.fixture
def world(make):
    return World(make)


def test_enter_a_record_through_the_form_and_see_it_listed(app, client, world):
    login(client, world.recorder.email)
    form = client.get(f"/volunteers/{world.volunteer.id}/records/new")
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert 'type="datetime-local"' in html and 'name="unpaid"' in html

    response = client.post(f"/volunteers/{world.volunteer.id}/records/new", data=entry())
    assert response.status_code == 302
    record_url = response.headers["Location"]
    page = client.get(record_url, follow_redirects=True).get_data(as_text=True)
    assert "社区敬老服务" in page and "2.50" in page and "王组长" in page

    listing = client.get(f"/volunteers/{world.volunteer.id}").get_data(as_text=True)
    assert "社区敬老服务" in listing and record_url in listing
    assert "2.50" in listing  # total hours
    with app.app_context():
        record = get_session().scalars(select(ServiceRecord)).one()
        assert record.minutes == 150 and record.recorded_by_id == world.recorder.id
        assert record.started_at.astimezone(SHANGHAI).hour == 9


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"minutes": "200"}, "minutes", "exceed the time between start and end"),
        ({"minutes": "0"}, "minutes", "greater than 0"),
        ({"minutes": "1.5"}, "minutes", "integer"),
        ({"unpaid": None}, "unpaid", "paid work is not volunteering"),
        ({"not_job_duty": None}, "not_job_duty", "part of one&#39;s job"),
        ({"ended_at": local_input(3, 8)}, "ended_at", "end time must be after start time"),
        (
            {"started_at": local_input(-2, 9), "ended_at": local_input(-2, 10)},
            "started_at",
            "future",
        ),
        ({"activity": "   "}, "activity", "Activity name is required"),
        ({"started_at": "yesterday"}, "started_at", "datetime"),
        ({"ended_at": ""}, "ended_at", "enter the end date and time"),
    ],
)
def test_a_broken_rule_shows_its_message_by_the_field_and_writes_nothing(
    app, client, world, changes, field, words
):
    login(client, world.recorder.email)
    before = count(app, AuditEntry)
    response = client.post(f"/volunteers/{world.volunteer.id}/records/new", data=entry(**changes))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert words.lower() in field_error(html, field).lower()
    assert 'aria-invalid="true"' in html
    assert count(app, ServiceRecord) == 0
    assert count(app, AuditEntry) == before
    # what was typed is kept in the form
    assert "南川区东城街道" in html


def test_overlap_with_an_existing_record_is_refused_on_the_form(app, client, make, world):
    make.record(world.org, world.volunteer, started_at=days_ago(3, hour=10))
    login(client, world.recorder.email)
    response = client.post(f"/volunteers/{world.volunteer.id}/records/new", data=entry())
    assert response.status_code == 422
    assert "overlaps record" in field_error(response.get_data(as_text=True), "started_at")
    assert count(app, ServiceRecord) == 1


def test_the_same_record_twice_is_a_conflict_shown_on_the_form(app, client, world):
    login(client, world.recorder.email)
    assert (
        client.post(f"/volunteers/{world.volunteer.id}/records/new", data=entry()).status_code
        == 302
    )
    again = client.post(f"/volunteers/{world.volunteer.id}/records/new", data=entry())
    assert again.status_code == 409
    assert "already been entered" in again.get_data(as_text=True)
    assert count(app, ServiceRecord) == 1


def test_correction_makes_revision_two_and_history_shows_both(app, client, make, world):
    record = make.record(world.org, world.volunteer, actor=world.recorder)
    login(client, world.admin.email)
    form = client.get(f"/records/{record.id}/correct").get_data(as_text=True)
    assert 'value="社区敬老服务"' in form and 'value="180"' in form  # prefilled
    start = record.started_at.astimezone(SHANGHAI)
    data = entry(
        started_at=start.strftime("%Y-%m-%dT%H:%M"),
        ended_at=(start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        minutes="120",
        activity="社区敬老服务",
        reason="志愿者反映时长记多了",
    )
    response = client.post(f"/records/{record.id}/correct", data=data)
    assert response.status_code == 302
    with app.app_context():
        session = get_session()
        assert session.get(ServiceRecord, record.id).revision == 2
        assert session.get(ServiceRecord, record.id).minutes == 120
        assert session.scalar(select(func.count()).select_from(RecordRevision)) == 2

    history = client.get(f"/records/{record.id}/history")
    assert history.status_code == 200
    html = history.get_data(as_text=True)
    assert "志愿者反映时长记多了" in html
    assert "180 minutes" in html and "120 minutes" in html
    assert "Created" in html and "Corrected" in html
    assert "record.create" in html and "record.correct" in html
    assert world.admin.email in html
    rows = re.findall(r"<tr>\s*<td>(\d)</td>", html)
    assert rows == ["1", "2"]


def test_correction_needs_a_reason_and_a_change(app, client, make, world):
    record = make.record(world.org, world.volunteer)
    login(client, world.recorder.email)
    start = record.started_at.astimezone(SHANGHAI)
    same = entry(
        started_at=start.strftime("%Y-%m-%dT%H:%M"),
        ended_at=(start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        minutes="180",
        content="陪伴老人，打扫卫生",
        leader="",
        evaluation="",
    )
    no_reason = client.post(f"/records/{record.id}/correct", data=same)
    assert no_reason.status_code == 422
    assert "a reason is required" in field_error(no_reason.get_data(as_text=True), "reason")
    no_change = client.post(f"/records/{record.id}/correct", data={**same, "reason": "检查"})
    assert no_change.status_code == 422
    assert "changes nothing" in no_change.get_data(as_text=True)
    with app.app_context():
        assert get_session().get(ServiceRecord, record.id).revision == 1


def test_void_with_a_reason(app, client, make, world):
    record = make.record(world.org, world.volunteer)
    login(client, world.recorder.email)
    assert client.get(f"/records/{record.id}/void").status_code == 200
    refused = client.post(f"/records/{record.id}/void", data={"reason": " "})
    assert refused.status_code == 422
    response = client.post(f"/records/{record.id}/void", data={"reason": "重复录入"})
    assert response.status_code == 302
    page = client.get(f"/records/{record.id}").get_data(as_text=True)
    assert "重复录入" in page and "Voided" in page
    assert f"/records/{record.id}/correct" not in page  # a voided record offers no changes
    history = client.get(f"/records/{record.id}/history").get_data(as_text=True)
    assert "record.void" in history and "重复录入" in history
    again = client.post(f"/records/{record.id}/correct", data=entry(reason="x"))
    assert again.status_code == 409
    detail = client.get(f"/volunteers/{world.volunteer.id}").get_data(as_text=True)
    assert "0.00" in detail  # a voided record no longer counts


def test_late_entry_is_shown_as_a_warning(client, make, world):
    record = make.record(world.org, world.volunteer, started_at=days_ago(40))
    login(client, world.recorder.email)
    page = client.get(f"/records/{record.id}").get_data(as_text=True)
    assert 'class="badge late"' in page
    listing = client.get(f"/volunteers/{world.volunteer.id}").get_data(as_text=True)
    assert 'class="badge late"' in listing


def test_another_organisations_records_are_not_found(client, make, world):
    record = make.record(world.org, world.volunteer)
    login(client, world.outsider.email)
    for url in (
        f"/records/{record.id}",
        f"/records/{record.id}/history",
        f"/records/{record.id}/correct",
        f"/records/{record.id}/void",
        f"/volunteers/{world.volunteer.id}/records/new",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/records/{record.id}/void", data={"reason": "x"}).status_code == 404


def test_regulators_read_records_and_history_but_see_no_forms(app, client, make, world):
    record = make.record(world.org, world.volunteer)
    login(client, world.inspector.email)
    page = client.get(f"/records/{record.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "社区敬老服务" in html and "<form" not in html.replace(
        '<form method="post" action="/logout"', ""
    )
    assert f"/records/{record.id}/correct" not in html and f"/records/{record.id}/void" not in html
    assert client.get(f"/records/{record.id}/history").status_code == 200
    volunteer = client.get(f"/volunteers/{world.volunteer.id}").get_data(as_text=True)
    assert "/records/new" not in volunteer
    for url in (
        f"/records/{record.id}/correct",
        f"/records/{record.id}/void",
        f"/volunteers/{world.volunteer.id}/records/new",
    ):
        assert client.get(url).status_code == 403
        assert client.post(url, data=entry(reason="x")).status_code == 403
    with app.app_context():
        assert get_session().get(ServiceRecord, record.id).revision == 1


def test_script_in_an_activity_name_is_escaped(client, make, world):
    record = make.record(world.org, world.volunteer, activity="<script>alert(1)</script>")
    login(client, world.recorder.email)
    for url in (
        f"/records/{record.id}",
        f"/volunteers/{world.volunteer.id}",
        f"/records/{record.id}/history",
        "/dashboard",
        "/records",
    ):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_script_typed_into_the_form_is_stored_as_given_and_escaped(app, client, world):
    login(client, world.recorder.email)
    text = "<script>alert('x')</script>' OR 1=1 --"
    response = client.post(
        f"/volunteers/{world.volunteer.id}/records/new", data=entry(activity=text)
    )
    assert response.status_code == 302
    with app.app_context():
        assert get_session().scalars(select(ServiceRecord.activity)).one() == text
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<script>alert(" not in html and "&lt;script&gt;" in html


def test_record_list_pages(client, make, world):
    for n in range(55):
        make.record(world.org, world.volunteer, started_at=days_ago(3 + n), activity=f"活动{n:02d}")
    login(client, world.recorder.email)
    first = client.get("/records").get_data(as_text=True)
    assert "活动00" in first and "活动54" not in first and "?page=2" in first
    second = client.get("/records?page=2").get_data(as_text=True)
    assert "活动54" in second and "活动00" not in second

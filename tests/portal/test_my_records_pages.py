"""The volunteer's pages (/me): star level, totals, records as cards with their buttons; a record
with its history; confirming and disputing from a phone."""

from __future__ import annotations

import re

import pytest
from myrecords_helpers import World, dispute
from sqlalchemy import select
from support import ROLES, csrf_token_from, days_ago, login

from verifier.complaints.models import CorrectionRequest
from verifier.records.models import RecordConfirmation


@pytest.fixture
def world(make):
    return World(make)


@pytest.fixture
def signed_in(client, world):
    assert login(client, world.account.email).status_code == 302
    return client


def _page(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _card(html, record_id):
    start = html.index(f'id="record-{record_id}"')
    return html[start : html.index("</article>", start)]


def test_home_shows_the_star_level_totals_and_my_records_as_cards(app, signed_in, world):
    app.config["STAR_THRESHOLDS"] = "1,2,3,4,5"  # 3 + 2 hours of records: level 5
    html = _page(signed_in, "/me")
    assert "我的志愿服务" in html and "陈小明" in html
    star = html[html.index('id="star"') :].split("</section>")[0]
    assert "星级：5 星" in star and "已达到最高星级" in star
    assert "计入星级的时长：5.00 小时" in star
    totals = html[html.index('id="totals"') :].split("</section>")[0]
    assert "南川区青年志愿者协会" in totals and "重庆市南川区红十字会" in totals
    assert "3.00 小时" in totals and "2.00 小时" in totals
    assert "<table" not in html  # cards, not wide tables
    card = _card(html, world.record.id)
    assert "社区敬老服务" in card and "南川区青年志愿者协会" in card
    assert "待确认" in card and "确认无误" in card and "有误，提出异议" in card
    assert 'name="viewport"' in html
    assert "portal.css" in html
    assert "我的记录" in html  # the navigation


def test_progress_to_the_next_star(app, signed_in, world):
    app.config["STAR_THRESHOLDS"] = "4,10,20,40,80"
    star = _page(signed_in, "/me")
    star = star[star.index('id="star"') :].split("</section>")[0]
    assert "星级：1 星" in star
    assert "再服务 5.00 小时可达 2 星（10 小时）" in star
    assert re.search(r'<progress max="100" value="16"', star)


def test_a_disputed_record_counts_for_no_star_and_shows_its_due_day(app, signed_in, world):
    app.config["STAR_THRESHOLDS"] = "2,3,4,5,6"
    opened = dispute(signed_in, world.record.id, world.token).get_json()
    html = _page(signed_in, "/me")
    assert "计入星级的时长：2.00 小时" in html and "星级：1 星" in html
    card = _card(html, world.record.id)
    assert "已提出异议" in card and f"应于 {opened['due_on']} 前答复" in card
    assert "确认无误" not in card and "提出异议</a>" not in card


def test_the_record_page_shows_its_history_and_the_forms(signed_in, world):
    world.correct(world.record, minutes=150, place="东城街道敬老院", reason="核对签到表后更正")
    html = _page(signed_in, f"/me/records/{world.record.id}")
    assert "已更正" in html
    history = html[html.index('id="history"') :].split("</section>")[0]
    assert "组织登记" in history and "组织更正" in history
    assert "地点" in history and "服务时长" in history  # what the correction changed
    assert "核对签到表后更正" in history
    form = html[html.index('id="dispute"') :].split("</section>")[0]
    for label in ("我没有参加", "日期或时间不对", "服务时长不对", "其他问题"):
        assert label in form
    assert 'maxlength="1000"' in form
    assert "确认无误" in html


def test_confirming_on_the_page(signed_in, make, world):
    html = _page(signed_in, "/me")
    token = csrf_token_from(html)
    response = signed_in.post(
        f"/me/records/{world.record.id}/confirm",
        data={"csrf_token": token, "next": f"/me#record-{world.record.id}"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/me#record-{world.record.id}")
    card = _card(_page(signed_in, "/me"), world.record.id)
    assert "已确认" in card and "确认无误" not in card
    assert make.run(lambda s: s.get(RecordConfirmation, (world.record.id, 1))) is not None


def test_confirm_never_leaves_the_site(signed_in, world):
    response = signed_in.post(
        f"/me/records/{world.record.id}/confirm", data={"next": "//evil.example/x"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/me/records/{world.record.id}")


def test_confirming_a_voided_record_on_the_page_says_why(signed_in, world):
    world.void(world.record)
    response = signed_in.post(f"/me/records/{world.record.id}/confirm", data={})
    assert response.status_code == 409
    assert "已被组织作废，无需确认" in response.get_data(as_text=True)


def test_disputing_on_the_page(signed_in, make, world):
    response = signed_in.post(
        f"/me/records/{world.record.id}/dispute",
        data={"kind": "not_attended", "reason": "那天我在外地"},
    )
    assert response.status_code == 302
    html = _page(signed_in, response.headers["Location"])
    assert "您的异议已提交给南川区青年志愿者协会" in html
    mine = html[html.index('id="my-dispute"') :].split("</section>")[0]
    assert "我没有参加" in mine and "那天我在外地" in mine and "未办结" in mine
    assert 'id="dispute"' not in html  # no second dispute while this one is open
    request = make.run(
        lambda s: s.scalars(
            select(CorrectionRequest).where(CorrectionRequest.record_id == world.record.id)
        ).one()
    )
    assert request.kind == "not_attended" and request.volunteer_id == world.volunteer.id


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"kind": "wrong_time", "reason": "长" * 1001}, 422, "reason 超过 1000 个字符"),
        ({"kind": "wrong_time", "reason": ""}, 422, "reason 为必填项"),
        ({"kind": "sometimes", "reason": "x"}, 422, "kind"),
    ],
)
def test_a_bad_dispute_is_shown_at_its_field(signed_in, world, data, status, message):
    response = signed_in.post(f"/me/records/{world.record.id}/dispute", data=data)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert 'class="field-error"' in html
    assert message in html


def test_a_second_dispute_on_the_page_says_one_is_open(signed_in, world):
    assert dispute(signed_in, world.record.id, world.token).status_code == 201
    response = signed_in.post(
        f"/me/records/{world.record.id}/dispute", data={"kind": "other", "reason": "再次提出"}
    )
    assert response.status_code == 409
    assert "您已对记录" in response.get_data(as_text=True)


def test_another_volunteers_record_page_answers_404(signed_in, world):
    rid = world.strangers_record.id
    assert signed_in.get(f"/me/records/{rid}").status_code == 404
    assert signed_in.post(f"/me/records/{rid}/confirm", data={}).status_code == 404
    data = {"kind": "other", "reason": "x"}
    assert signed_in.post(f"/me/records/{rid}/dispute", data=data).status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_staff_may_not_open_the_volunteers_pages(client, make, world, role):
    user = make.user(role, world.org if role in ("org_admin", "org_recorder") else None)
    login(client, user.email)
    assert client.get("/me").status_code == 403
    assert client.get(f"/me/records/{world.record.id}").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client, world):
    response = client.get("/me")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_pages_read_in_english_too(signed_in, world):
    signed_in.get("/lang/en")
    html = _page(signed_in, f"/me/records/{world.record.id}")
    assert "I was not there" in html and "Confirm: this is right" in html


def test_many_records_are_paged(signed_in, make, world):
    for days in range(40, 62):
        make.record(world.org, world.volunteer, actor=world.admin, started_at=days_ago(days))
    first = _page(signed_in, "/me")
    assert first.count("<article") == 20
    second = _page(signed_in, "/me?page=2")
    assert second.count("<article") == 4


def test_the_page_and_the_api_share_the_dispute_rate_limit(signed_in, world):
    for _ in range(10):
        dispute(signed_in, world.record.id, world.token)
    response = signed_in.post(
        f"/me/records/{world.elsewhere.id}/dispute", data={"kind": "other", "reason": "x"}
    )
    assert response.status_code == 429

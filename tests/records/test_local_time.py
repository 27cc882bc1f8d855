"""Minutes are checked against the real elapsed time, also across a daylight-saving change.

Shanghai kept summer time from 1986 to 1991 (1991: 14 April 02:00 -> 03:00, 15 September
02:00 -> 01:00); a configured zone such as Europe/Berlin changes every year (2025: 30 March
02:00 -> 03:00, 26 October 03:00 -> 02:00). A local time that does not exist (the skipped hour)
or happens twice (the repeated hour), typed without an offset, is refused with a named rule.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select
from support import bearer, login, make_resident_id

from verifier.db import get_session
from verifier.records.models import ServiceRecord

EN = {"Accept-Language": "en"}


@pytest.fixture
def world(make):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, name="王老", id_number=make_resident_id(61, birth="19600101"))
    return {"org": org, "admin": admin, "volunteer": volunteer, "token": make.token(admin)}


@pytest.fixture
def berlin(app):
    app.config["TIMEZONE"] = "Europe/Berlin"
    return app


def post_record(client, world, started_at, ended_at, minutes):
    body = {
        "volunteer_id": world["volunteer"].id,
        "activity": "夜间值守",
        "place": "社区服务站",
        "content": "值班",
        "started_at": started_at,
        "ended_at": ended_at,
        "minutes": minutes,
    }
    return client.post("/api/v1/records", json=body, headers={**bearer(world["token"]), **EN})


def rule_of(response):
    assert response.status_code == 422, response.get_json()
    [error] = response.get_json()["errors"]
    return error["field"], error["rule"], error["message"]


def test_shanghai_1991_spring_forward_hour_is_not_two_hours(client, world):
    # 01:30 to 03:30 on the wall clock is 60 real minutes: 02:00 became 03:00
    response = post_record(client, world, "1991-04-14T01:30:00", "1991-04-14T03:30:00", 120)
    field, rule, message = rule_of(response)
    assert (field, rule) == ("minutes", "minutes_within_span")
    assert "60 minutes" in message
    accepted = post_record(client, world, "1991-04-14T01:30:00", "1991-04-14T03:30:00", 60)
    assert accepted.status_code == 201, accepted.get_json()


def test_shanghai_1991_fall_back_gives_the_real_span(client, world):
    # 00:30 to 02:30 on the wall clock is 180 real minutes: 02:00 went back to 01:00
    accepted = post_record(client, world, "1991-09-15T00:30:00", "1991-09-15T02:30:00", 180)
    assert accepted.status_code == 201, accepted.get_json()
    refused = post_record(client, world, "1991-09-16T00:30:00", "1991-09-16T02:30:00", 180)
    assert rule_of(refused)[1] == "minutes_within_span"  # an ordinary night: 120 minutes


def test_the_same_rule_with_explicit_offsets(client, world):
    # +08:00 then +09:00: the clocks moved, one real hour passed
    response = post_record(
        client, world, "1991-04-14T01:30:00+08:00", "1991-04-14T03:30:00+09:00", 120
    )
    assert rule_of(response)[1] == "minutes_within_span"


def test_a_local_time_in_the_skipped_hour_is_refused(client, world):
    response = post_record(client, world, "1991-04-14T02:30:00", "1991-04-14T04:00:00", 30)
    field, rule, message = rule_of(response)
    assert (field, rule) == ("started_at", "nonexistent_local_time")
    assert "1991-04-14 02:30" in message and "Asia/Shanghai" in message


def test_a_local_time_in_the_repeated_hour_without_an_offset_is_refused(client, world):
    response = post_record(client, world, "1991-09-15T00:30:00", "1991-09-15T01:30:00", 30)
    field, rule, message = rule_of(response)
    assert (field, rule) == ("ended_at", "ambiguous_local_time")
    assert "+09:00" in message and "+08:00" in message
    # with the offset it says which of the two it was
    second = post_record(
        client, world, "1991-09-15T00:30:00+09:00", "1991-09-15T01:30:00+08:00", 120
    )
    assert second.status_code == 201, second.get_json()


def test_a_configured_zone_with_yearly_dst(berlin, client, world):
    refused = post_record(client, world, "2025-03-30T01:30:00", "2025-03-30T03:30:00", 120)
    assert rule_of(refused)[1] == "minutes_within_span"
    gap = post_record(client, world, "2025-03-30T02:15:00", "2025-03-30T04:00:00", 30)
    assert rule_of(gap)[:2] == ("started_at", "nonexistent_local_time")
    repeated = post_record(client, world, "2025-10-26T02:30:00", "2025-10-26T04:00:00", 30)
    assert rule_of(repeated)[:2] == ("started_at", "ambiguous_local_time")
    longer = post_record(client, world, "2025-10-26T01:30:00", "2025-10-26T03:30:00", 180)
    assert longer.status_code == 201, longer.get_json()
    assert longer.get_json()["started_at"] == "2025-10-26T01:30:00+02:00"
    assert longer.get_json()["ended_at"] == "2025-10-26T03:30:00+01:00"


def test_an_import_checks_the_real_span_and_names_the_rules(client, world):
    header = "姓名,证件类型,证件号码,活动名称,服务地点,开始时间,结束时间,服务时长（分钟）\r\n"
    person = f"王老,居民身份证,{make_resident_id(61, birth='19600101')},夜间值守,社区服务站"
    rows = [
        f"{person},1991-04-14 01:30,1991-04-14 03:30,120",
        f"{person},1991-04-14 02:30,1991-04-14 04:30,60",
        f"{person},1991-09-15 00:30,1991-09-15 01:30,30",
        f"{person},1991-09-16 00:30,1991-09-16 02:30,120",
    ]
    csv = header + "".join(r + "\r\n" for r in rows)
    response = client.post(
        "/api/v1/records/import",
        data={"file": (io.BytesIO(csv.encode()), "night.csv")},
        headers={**bearer(world["token"]), **EN},
        content_type="multipart/form-data",
    )
    report = response.get_json()
    assert [(p["line"], p["field"], p["rule"]) for p in report["rejected"]] == [
        (2, "minutes", "minutes_within_span"),
        (3, "started_at", "nonexistent_local_time"),
        (4, "ended_at", "ambiguous_local_time"),
    ]
    assert report["imported"] == 1


def test_the_record_form_refuses_the_skipped_hour(berlin, client, world):
    login(client, world["admin"].email)
    client.set_cookie("lang", "en")
    form = {
        "activity": "夜间值守",
        "place": "社区服务站",
        "started_at": "2025-03-30T02:30",
        "ended_at": "2025-03-30T04:00",
        "minutes": "30",
        "unpaid": "y",
        "not_job_duty": "y",
    }
    response = client.post(f"/volunteers/{world['volunteer'].id}/records/new", data=form)
    assert response.status_code == 422
    assert "does not exist" in response.get_data(as_text=True)
    ok = client.post(
        f"/volunteers/{world['volunteer'].id}/records/new",
        data={**form, "started_at": "2025-03-30T01:30", "ended_at": "2025-03-30T03:30"},
    )
    assert ok.status_code == 302  # 60 real minutes, 30 served


def test_records_are_stored_in_utc_with_the_real_times(app, client, world):
    post_record(client, world, "1991-09-15T00:30:00", "1991-09-15T02:30:00", 180)
    with app.app_context():
        record = get_session().scalars(select(ServiceRecord)).one()
        assert (record.ended_at - record.started_at).total_seconds() == 3 * 3600
        assert record.service_date == date(1991, 9, 15)


def test_service_before_the_volunteer_was_born_is_refused(client, make, world):
    # born 1990-03-07 (from the ID number); the local service date is what counts
    young = make.volunteer(world["org"], name="小李", id_number=make_resident_id(62))
    world = {**world, "volunteer": young}
    refused = post_record(client, world, "1990-03-06T23:00:00", "1990-03-06T23:30:00", 30)
    field, rule, message = rule_of(refused)
    assert (field, rule) == ("started_at", "before_birth")
    assert "1990-03-07" not in message  # the birth date is not told
    # 1990-03-06 16:30 UTC is already the 7th in Beijing
    born_that_day = post_record(client, world, "1990-03-06T16:30:00Z", "1990-03-06T17:00:00Z", 30)
    assert born_that_day.status_code == 201, born_that_day.get_json()
    correction = client.post(
        f"/api/v1/records/{born_that_day.get_json()['id']}/corrections",
        json={
            "reason": "日期录错",
            "started_at": "1990-03-01T09:00:00",
            "ended_at": "1990-03-01T10:00:00",
        },
        headers={**bearer(world["token"]), **EN},
    )
    assert rule_of(correction)[:2] == ("started_at", "before_birth")
    header = "姓名,证件类型,证件号码,活动名称,服务地点,开始时间,结束时间,服务时长（分钟）\r\n"
    person = f"小李,居民身份证,{make_resident_id(62)},夜间值守,社区服务站"
    line2 = f"{person},1990-03-01 09:00,1990-03-01 10:00,60"
    report = client.post(
        "/api/v1/records/import",
        data={"file": (io.BytesIO((header + line2 + "\r\n").encode()), "early.csv")},
        headers={**bearer(world["token"]), **EN},
        content_type="multipart/form-data",
    ).get_json()
    assert [(p["field"], p["rule"]) for p in report["rejected"]] == [("started_at", "before_birth")]

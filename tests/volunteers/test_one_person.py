"""One person, one volunteer: an ID number typed in other digits is the same person or refused.

NFKC turns full-width digits (１１０１…) into ASCII ones, so they are the same ID number and the
same volunteer; Arabic-Indic digits (١١٠١…) are not changed by NFKC and are refused naming the
character, on every path: the API, the form, an import, search and the public holder check.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from support import bearer, days_ago, login, make_resident_id

from verifier.certificates.services import number_display
from verifier.db import get_session
from verifier.volunteers.models import Membership, Volunteer

EN = {"Accept-Language": "en"}
NUMBER = make_resident_id(41)


def full_width(text: str) -> str:
    """Write ASCII digits as full-width digits (U+FF10..U+FF19); leave the rest."""
    return "".join(
        chr(ord(c) - ord("0") + 0xFF10) if c.isascii() and c.isdigit() else c for c in text
    )


def arabic_indic(text: str) -> str:
    """Write ASCII digits as Arabic-Indic digits (U+0660..U+0669); leave the rest."""
    return "".join(
        chr(ord(c) - ord("0") + 0x0660) if c.isascii() and c.isdigit() else c for c in text
    )


# the check character stays ASCII, as in the report: only the 17 digits are different
FULL_WIDTH = full_width(NUMBER[:17]) + NUMBER[17]
ARABIC = arabic_indic(NUMBER[:17]) + NUMBER[17]


def count(app, model) -> int:
    with app.app_context():
        return int(get_session().scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def world(make):
    first, second = make.org(), make.org()
    known = make.volunteer(first, name="张三", id_number=NUMBER)
    admin = make.user("org_admin", second)
    return {"first": first, "second": second, "known": known, "admin": admin, "make": make}


def post_volunteer(client, world, number):
    token = world["make"].token(world["admin"])
    body = {"name": "张三", "id_type": "resident_id", "id_number": number}
    return client.post("/api/v1/volunteers", json=body, headers={**bearer(token), **EN})


def test_full_width_digits_are_the_known_person_through_the_api(app, client, world):
    response = post_volunteer(client, world, FULL_WIDTH)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["id"] == world["known"].id
    assert response.get_json()["volunteer_number"] == world["known"].volunteer_number
    assert count(app, Volunteer) == 1
    assert count(app, Membership) == 2


def test_arabic_indic_digits_are_refused_naming_the_character(app, client, world):
    response = post_volunteer(client, world, ARABIC)
    assert response.status_code == 422
    [error] = response.get_json()["errors"]
    assert (error["field"], error["rule"]) == ("id_number", "id_charset")
    assert "U+0661" in error["message"] and "ARABIC-INDIC DIGIT ONE" in error["message"]
    assert ARABIC not in response.get_data(as_text=True)
    assert count(app, Volunteer) == 1


def test_full_width_digits_link_through_the_form_and_arabic_ones_are_refused(app, client, world):
    login(client, world["admin"].email)
    client.set_cookie("lang", "en")
    data = {"name": "张三", "id_type": "resident_id", "id_number": FULL_WIDTH}
    linked = client.post("/volunteers/new", data=data)
    assert linked.status_code == 302
    assert linked.headers["Location"].endswith(f"/volunteers/{world['known'].id}")
    refused = client.post("/volunteers/new", data={**data, "id_number": ARABIC})
    assert refused.status_code == 422
    assert "U+0661" in refused.get_data(as_text=True)
    assert count(app, Volunteer) == 1


def _import(client, world, rows):
    token = world["make"].token(world["admin"])
    header = "姓名,证件类型,证件号码,活动名称,服务地点,开始时间,结束时间,服务时长（分钟）\r\n"
    body = header + "".join(",".join(r) + "\r\n" for r in rows)
    return client.post(
        "/api/v1/records/import",
        data={"file": (io.BytesIO(body.encode("utf-8")), "rows.csv")},
        headers={**bearer(token), **EN},
        content_type="multipart/form-data",
    )


def test_an_import_finds_the_known_person_so_the_day_and_overlap_rules_hold(app, client, world):
    make = world["make"]
    start = days_ago(6, hour=0)
    # the person already has 20 hours that day with the first organisation
    make.record(
        world["first"],
        world["known"],
        started_at=start,
        ended_at=start + timedelta(hours=20),
        minutes=1200,
    )
    local = start + timedelta(hours=8)  # Beijing wall time, as the file holds it
    fmt = "%Y-%m-%d %H:%M"

    def line(number, hours_from, hours_to):
        return [
            "张三",
            "居民身份证",
            number,
            "赛事服务",
            "体育中心",
            (local + timedelta(hours=hours_from)).strftime(fmt),
            (local + timedelta(hours=hours_to)).strftime(fmt),
            str((hours_to - hours_from) * 60),
        ]

    response = _import(client, world, [line(FULL_WIDTH, 10, 14), line(ARABIC, 21, 23)])
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["imported"] == 0
    assert [(p["line"], p["rule"]) for p in report["rejected"]] == [
        (2, "no_overlap"),
        (3, "id_charset"),
    ]
    assert "U+0661" in report["rejected"][1]["message"]
    assert count(app, Volunteer) == 1


def test_search_by_a_full_width_id_number_finds_the_person(client, world):
    token = world["make"].token(world["admin"])
    world["make"].volunteer(world["second"], name="张三", id_number=NUMBER)
    found = client.get(
        "/api/v1/volunteers", query_string={"q": FULL_WIDTH}, headers=bearer(token)
    ).get_json()
    assert [v["id"] for v in found["items"]] == [world["known"].id]


def test_the_public_holder_check_reads_full_width_digits(app, client, world):
    make = world["make"]
    org_admin = make.user("org_admin", world["first"])
    record = make.record(world["first"], world["known"], actor=org_admin)

    cert = make.certificate(world["first"], org_admin, world["known"], [record])
    url = f"/verify/{number_display(cert.number)}/match"
    assert "match-yes" in client.post(url, data={"id_number": FULL_WIDTH}).get_data(as_text=True)
    assert "match-no" in client.post(url, data={"id_number": ARABIC}).get_data(as_text=True)


def test_a_full_width_credit_code_is_the_registered_organisation(make, world):
    from verifier.errors import Conflict, ValidationError

    uscc = world["first"].uscc
    with pytest.raises(Conflict):
        make.org(uscc=full_width(uscc))
    with pytest.raises(ValidationError) as excinfo:
        make.org(uscc=arabic_indic(uscc))
    assert excinfo.value.first.rule == "uscc_charset"
    assert "U+06" in excinfo.value.first.message


def test_region_codes_and_phones_take_ascii_digits_only(make):
    from verifier.errors import ValidationError

    org = make.org(region_code=full_width("500119"))
    assert org.region_code == "500119"
    with pytest.raises(ValidationError) as excinfo:
        make.org(region_code=arabic_indic("500119"))
    assert excinfo.value.first.rule == "region_code"
    volunteer = make.volunteer(org, phone=full_width("13812345678"))
    assert volunteer.phone_masked == "138****5678"
    with pytest.raises(ValidationError) as excinfo:
        make.volunteer(org, phone=arabic_indic("13812345678"))
    assert excinfo.value.first.rule == "phone"

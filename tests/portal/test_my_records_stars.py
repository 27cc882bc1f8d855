"""The star level (星级): a pure rule over counted minutes and five thresholds in hours; the
thresholds setting is checked when the app starts; the summary over the API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from myrecords_helpers import World, dispute
from support import TEST_DATA_KEY, bearer

from verifier.config import ConfigError, load_settings, star_thresholds
from verifier.portal.stars import star_level, star_progress

# enough for the settings to load without the development secrets of an instance folder
BASE = {
    "ENV": "testing",
    "SECRET_KEY": "s" * 32,
    "DATA_KEY": TEST_DATA_KEY,
    "DATABASE_URL": "sqlite://",
}
DEFAULT = tuple(Decimal(h) for h in (100, 300, 600, 1000, 1500))


@pytest.mark.parametrize(
    ("minutes", "level"),
    [
        (0, 0),
        (100 * 60 - 1, 0),
        (100 * 60, 1),
        (300 * 60 - 1, 1),
        (300 * 60, 2),
        (600 * 60, 3),
        (1000 * 60 - 1, 3),
        (1000 * 60, 4),
        (1500 * 60 - 1, 4),
        (1500 * 60, 5),
        (10_000 * 60, 5),
    ],
)
def test_the_level_is_the_number_of_thresholds_reached(minutes, level):
    assert star_level(minutes, DEFAULT) == level


def test_thresholds_may_be_fractions_of_hours():
    half_hours = [Decimal("0.5"), Decimal("1.5"), 2, 3, 4]
    assert star_level(29, half_hours) == 0
    assert star_level(30, half_hours) == 1
    assert star_level(90, half_hours) == 2


def test_progress_towards_the_next_level():
    progress = star_progress(100 * 60 + 50 * 60, DEFAULT)  # 150 hours: half way from 100 to 300
    assert (progress.level, progress.next_level) == (1, 2)
    assert progress.next_threshold_hours == 300
    assert progress.minutes_to_next == 150 * 60
    assert progress.percent == 25
    start = star_progress(0, DEFAULT)
    assert (start.level, start.next_level, start.minutes_to_next, start.percent) == (0, 1, 6000, 0)
    top = star_progress(1500 * 60, DEFAULT)
    assert (top.level, top.next_level, top.minutes_to_next, top.percent) == (5, None, None, 100)


def test_the_default_thresholds():
    assert load_settings(BASE)["STAR_THRESHOLDS"] == DEFAULT


def test_the_thresholds_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("VERIFIER_STAR_THRESHOLDS", " 50, 100,200 ,400,800")
    assert load_settings(BASE)["STAR_THRESHOLDS"] == tuple(
        Decimal(h) for h in (50, 100, 200, 400, 800)
    )


@pytest.mark.parametrize(
    "value",
    [
        "100,300,600,1000",  # four
        "100,300,600,1000,1500,2000",  # six
        "100,300,300,1000,1500",  # not increasing
        "300,100,600,1000,1500",
        "0,300,600,1000,1500",  # not positive
        "-1,300,600,1000,1500",
        "100,300,600,1000,lots",
        "100,300,600,1000,Infinity",
        "100,300,NaN,1000,1500",
        "",
    ],
)
def test_bad_thresholds_stop_the_app_from_starting(monkeypatch, value):
    monkeypatch.setenv("VERIFIER_STAR_THRESHOLDS", value or ",")
    with pytest.raises(ConfigError, match="VERIFIER_STAR_THRESHOLDS"):
        load_settings(BASE)
    with pytest.raises(ConfigError):
        star_thresholds(value)


@pytest.fixture
def world(make):
    return World(make)


def test_the_summary_totals_per_year_and_organisation_and_the_star_level(app, client, world):
    app.config["STAR_THRESHOLDS"] = "2,4,6,8,10"
    body = client.get("/api/v1/me/summary", headers=bearer(world.token)).get_json()
    assert (body["records"], body["minutes"], body["hours"]) == (2, 300, "5.00")
    assert body["counted_minutes"] == 300
    assert body["star"] == {
        "level": 2,
        "thresholds_hours": ["2", "4", "6", "8", "10"],
        "next_level": 3,
        "next_threshold_hours": "6",
        "hours_to_next": "1.00",
        "percent": 50,
    }
    assert sum(y["minutes"] for y in body["years"]) == 300
    orgs = {o["organisation"]["name"]: o for o in body["organisations"]}
    assert orgs["南川区青年志愿者协会"]["minutes"] == 180
    assert orgs["重庆市南川区红十字会"]["hours"] == "2.00"
    assert [o["minutes"] for o in body["organisations"]] == [180, 120]  # most hours first

    # a dispute takes its record out of the counted hours; a void out of everything
    dispute(client, world.record.id, world.token)
    body = client.get("/api/v1/me/summary", headers=bearer(world.token)).get_json()
    assert (body["minutes"], body["counted_minutes"], body["star"]["level"]) == (300, 120, 1)
    world.void(world.elsewhere)
    body = client.get("/api/v1/me/summary", headers=bearer(world.token)).get_json()
    assert (body["minutes"], body["counted_minutes"], body["star"]["level"]) == (180, 0, 0)
    assert [o["organisation"]["name"] for o in body["organisations"]] == ["南川区青年志愿者协会"]
    # the answer puts the record back
    world.answer(world.make.run(lambda s: _open_request_id(s, world.record.id)))
    body = client.get("/api/v1/me/summary", headers=bearer(world.token)).get_json()
    assert body["counted_minutes"] == 180


def _open_request_id(session, record_id):
    from sqlalchemy import select

    from verifier.complaints.models import CorrectionRequest

    return session.scalar(
        select(CorrectionRequest.id).where(
            CorrectionRequest.record_id == record_id, CorrectionRequest.status == "open"
        )
    )


def test_a_volunteer_with_no_records_has_level_zero(client, make, world):
    from myrecords_helpers import volunteer_account

    newcomer = make.volunteer(world.org, name="新人")
    token = make.token(volunteer_account(make, newcomer))
    body = client.get("/api/v1/me/summary", headers=bearer(token)).get_json()
    assert body["records"] == 0 and body["years"] == [] and body["organisations"] == []
    assert body["star"]["level"] == 0 and body["star"]["hours_to_next"] == "100.00"

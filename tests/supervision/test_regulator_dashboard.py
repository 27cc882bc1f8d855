"""The regulator's dashboard: progress, charts drawn as SVG on the server, overdue cases."""

import re
from datetime import timedelta

import pytest
from support.supervision_world import build_world, finding

from verifier.db import get_session, utcnow
from verifier.supervision.charts import Bar, rate_bars, stacked_columns
from verifier.supervision.services import flag_overdue_cases


@pytest.fixture
def world(app):
    return build_world(app)


def test_the_dashboard_shows_progress_charts_and_overdue_cases(app, client, world):
    opened = finding(
        client,
        world,
        "record0",
        result="discrepancy",
        discrepancy_type="hours_inflated",
        notes="虚报",
    )
    case_id = opened.get_json()["case"]["id"]
    assert finding(client, world, "record1", result="confirmed").status_code == 201
    with app.app_context():
        session = get_session()
        flag_overdue_cases(session, utcnow() + timedelta(days=40))
        session.commit()
    page = world.client("inspector").get("/regulator")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = html[html.index(f'data-campaign="{world.campaign.id}"') :].split("</tr>")[0]
    assert "2 / 5" in row
    charts = re.findall(r"<svg [^>]*>.*?</svg>", html, flags=re.S)
    assert len(charts) == 2
    assert world.org.name in charts[0] and "1 / 2" in charts[0]  # one of two findings
    assert f"/supervision/cases/{case_id}" in html[html.index("Overdue cases") :]


def test_only_regulators_see_the_dashboard(world):
    assert world.client("org_admin").get("/regulator").status_code == 403
    assert world.client("admin").get("/regulator").status_code == 403


def test_rate_bars_scale_and_escape():
    svg = str(rate_bars([Bar("<b>甲</b>", 0.5, "1 / 2"), Bar("乙", 1.0, "3 / 3")], "t", width=640))
    widths = [float(w) for w in re.findall(r'width="([\d.]+)" height="16" fill="#c62828"', svg)]
    assert widths == [165.0, 330.0]  # half and all of the 330-pixel track
    assert "<b>" not in svg and "&lt;b&gt;" in svg


def test_stacked_columns_stack_by_series():
    svg = str(
        stacked_columns(
            [("2026-01", {"confirmed": 2, "discrepancy": 2}), ("2026-02", {"confirmed": 1})],
            ("confirmed", "discrepancy"),
            {"confirmed": "Confirmed", "discrepancy": "Discrepancy"},
            "t",
        )
    )
    heights = [
        float(h)
        for h in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"', svg)
    ]
    # the tallest column (4) fills the plot; its two halves are equal; the 1 is a quarter of it
    assert heights[0] == heights[1] and abs(heights[2] * 2 - heights[0]) < 0.2

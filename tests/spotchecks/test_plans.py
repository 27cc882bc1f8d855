"""Plans and the spot-check pages: create, validate, run now, ceremony seed, conflicts."""

from __future__ import annotations

import hashlib
import re

import pytest
from support import login
from support.campaign_world import SEED, World, parameters


@pytest.fixture
def world(app):
    return World(app, orgs=3, records=2)


def _signed_in(app, user):
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def test_a_supervisor_creates_a_plan_by_api(client, world):
    body = {"name": "2026年度抽查", "parameters": parameters(), "schedule": "0  2 1 * *"}
    response = client.post("/api/v1/spotcheck/plans", json=body, headers=world.headers())
    assert response.status_code == 201
    plan = response.get_json()
    assert plan["schedule"] == "0 2 1 * *" and plan["active"] is True
    assert plan["parameters"]["inspectors_per_organisation"] == 2
    assert plan["parameters"]["period"] == {"mode": "all", "from": None, "to": None, "days": None}
    listed = client.get("/api/v1/spotcheck/plans", headers=world.headers("inspector0"))
    assert [p["id"] for p in listed.get_json()["items"]] == [plan["id"]]
    campaign = client.post(
        "/api/v1/spotcheck/campaigns",
        json={"plan_id": plan["id"], "seed": SEED},
        headers=world.headers(),
    )
    assert campaign.status_code == 201 and campaign.get_json()["plan_id"] == plan["id"]


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"inspectors_per_organisation": 0}, "parameters.inspectors_per_organisation",
         "greater_than_equal"),
        ({"records_per_organisation": None}, "parameters", "per_org_required"),
        ({"sample_size": {"mode": "statistical", "confidence": 1.5, "tolerable_rate": 0.05}},
         "parameters.sample_size.confidence", "less_than"),
        ({"sample_size": {"mode": "rate", "rate": 0.1, "minimum": 5, "maximum": 2}},
         "parameters.sample_size", "size_bounds"),
        ({"period": {"mode": "fixed", "from": "2026-03-01"}}, "parameters.period",
         "period_incomplete"),
        ({"scope": {"region_prefix": "50ab"}}, "parameters.scope.region_prefix",
         "string_pattern_mismatch"),
        ({"weighting": "popularity"}, "parameters.weighting", "literal_error"),
    ],
)  # fmt: skip
def test_plan_parameters_are_validated(client, world, change, field, rule):
    body = {"name": "x", "parameters": parameters(**change)}
    response = client.post("/api/v1/spotcheck/plans", json=body, headers=world.headers())
    assert response.status_code == 422
    error = response.get_json()["errors"][0]
    assert (error["field"], error["rule"]) == (field, rule)


def test_only_a_supervisor_creates_plans(client, world):
    body = {"name": "x", "parameters": parameters()}
    for who in ("inspector0", "org_admin"):
        response = client.post("/api/v1/spotcheck/plans", json=body, headers=world.headers(who))
        assert response.status_code == 403


def test_a_schedule_and_a_single_run_time_exclude_each_other(client, world):
    body = {
        "name": "x",
        "parameters": parameters(),
        "schedule": "0 2 1 * *",
        "run_at": "2026-05-01T02:00:00+08:00",
    }
    response = client.post("/api/v1/spotcheck/plans", json=body, headers=world.headers())
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "run_at"


def _plan_form(**changes):
    form = {
        "name": "季度抽查",
        "unit": "two_stage",
        "weighting": "uniform",
        "period_mode": "previous_days",
        "period_days": "90",
        "size_mode": "rate",
        "size_rate": "0.4",
        "size_minimum": "1",
        "per_org_mode": "fixed",
        "per_org_count": "1",
        "inspectors_per_organisation": "2",
        "include_complaints": "on",
        "schedule": "0 2 1 */3 *",
    }
    form.update(changes)
    return form


def test_the_plan_page_creates_a_plan_and_runs_it_now(app, world):
    client = _signed_in(app, world.supervisor)
    page = client.get("/spotchecks/plans/new")
    assert page.status_code == 200 and 'name="size_mode"' in page.text
    created = client.post("/spotchecks/plans/new", data=_plan_form())
    assert created.status_code == 302
    detail = client.get(created.headers["Location"])
    assert "季度抽查" in detail.text and "0 2 1 */3 *" in detail.text
    plan_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
    run = client.post(f"/spotchecks/plans/{plan_id}/run", data={})
    assert run.status_code == 302
    campaign = client.get(run.headers["Location"])
    assert campaign.status_code == 200
    assert re.search(r'<code class="hash">[0-9a-f]{64}</code>', campaign.text)
    # 40% of 3 organisations is 2, one record each: 4 items, each with 2 inspectors
    assert campaign.text.count('<td class="num">') == 4
    listed = _signed_in(app, world.inspectors[0]).get("/spotchecks/campaigns")
    assert "季度抽查" in listed.text


def test_the_plan_page_shows_errors_with_their_fields(app, world):
    client = _signed_in(app, world.supervisor)
    response = client.post(
        "/spotchecks/plans/new", data=_plan_form(size_rate="lots", schedule="every day")
    )
    assert response.status_code == 422
    assert "parameters.sample_size.rate" in response.text
    assert 'value="every day"' in response.text  # the form keeps what was typed


def test_a_ceremony_campaign_shows_the_hash_before_the_seed(app, world):
    client = app.test_client()
    created = client.post(
        "/api/v1/spotcheck/plans",
        json={"name": "公开摇号抽查", "parameters": parameters()},
        headers=world.headers(),
    )
    plan_id = created.get_json()["id"]
    page_client = _signed_in(app, world.supervisor)
    run = page_client.post(f"/spotchecks/plans/{plan_id}/run", data={"ceremony": "on"})
    page = page_client.get(run.headers["Location"])
    # the population hash and the commitment to the server secret, before any seed
    population_hash, commitment = re.findall(r'<code class="hash">([0-9a-f]{64})</code>', page.text)
    assert 'name="ceremony_input"' in page.text and "<table>" not in page.text  # no sample yet
    seed_url = run.headers["Location"].replace("http://localhost", "") + "/seed"
    bad = page_client.post(seed_url, data={"ceremony_input": "12345"}, follow_redirects=True)
    assert 'name="ceremony_input"' in bad.text  # refused; still awaiting the input
    good = page_client.post(seed_url, data={"ceremony_input": SEED}, follow_redirects=True)
    assert SEED in good.text and population_hash in good.text and commitment in good.text
    secrets = re.findall(r'<code class="hash">([0-9a-f]{64})</code>', good.text)
    (secret,) = [s for s in secrets if hashlib.sha256(s.encode()).hexdigest() == commitment]
    assert hashlib.sha256(f"{secret}\n{SEED}".encode()).hexdigest() in good.text
    assert 'name="ceremony_input"' not in good.text
    inspectors = [u.email for u in world.inspectors]
    assert any(email in good.text for email in inspectors)


def test_inspectors_declare_conflicts_and_supervisors_see_them(app, world):
    inspector = _signed_in(app, world.inspectors[1])
    target = world.orgs[2]
    page = inspector.get("/spotchecks/conflicts")
    assert page.status_code == 200 and f'value="{target.id}"' in page.text
    declared = inspector.post(
        "/spotchecks/conflicts",
        data={"organisation_id": str(target.id), "note": "曾任该组织理事"},
        follow_redirects=True,
    )
    assert "曾任该组织理事" in declared.text
    other = _signed_in(app, world.inspectors[0]).get("/spotchecks/conflicts")
    assert "曾任该组织理事" not in other.text
    supervisor = _signed_in(app, world.supervisor).get("/spotchecks/conflicts")
    assert "曾任该组织理事" in supervisor.text and world.inspectors[1].email in supervisor.text

"""Bulk issuance and campaign draws above their limits run as jobs; the pages show them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from job_helpers import EN, csv_bytes, job_row, multipart, rows, work_queue
from sqlalchemy import func, select
from support import bearer, days_ago, login

from verifier.certificates.models import Certificate
from verifier.db import get_session


@pytest.fixture
def school(make: Any) -> dict[str, Any]:
    org = make.org()
    admin = make.user("org_admin", org)
    students = [make.volunteer(org, name=f"学生{i}") for i in range(4)]
    for student in students[:3]:
        make.record(org, student, actor=admin, started_at=days_ago(10))
    return {
        "org": org,
        "admin": admin,
        "auth": {**EN, **bearer(make.token(admin))},
        "students": students,
        "term": {
            "period_from": days_ago(60).date().isoformat(),
            "period_to": days_ago(1).date().isoformat(),
        },
    }


def _certificates(app: Any) -> int:
    with app.app_context():
        return int(get_session().scalar(select(func.count()).select_from(Certificate)) or 0)


def test_bulk_issuance_below_the_limit_answers_at_once(client, app, school):
    response = client.post("/api/v1/certificates/bulk", json=school["term"], headers=school["auth"])
    assert response.status_code == 201 and len(response.get_json()["issued"]) == 3


def test_bulk_issuance_above_the_limit_runs_as_a_job(client, app, school):
    app.config["BULK_SYNC_MAX_VOLUNTEERS"] = 2  # three volunteers have records in the term
    response = client.post("/api/v1/certificates/bulk", json=school["term"], headers=school["auth"])
    assert response.status_code == 202
    job = response.get_json()
    assert job["kind"] == "certificates.issue_bulk" and job["status"] == "queued"
    assert _certificates(app) == 0
    work_queue(app)
    done = client.get(response.headers["Location"], headers=school["auth"]).get_json()
    assert done["status"] == "succeeded" and done["result_status"] == 201
    result = done["result"]
    assert set(result) == {"period_from", "period_to", "issued", "skipped"}
    assert len(result["issued"]) == 3 and result["skipped"] == []
    assert done["progress"] == {"done": 3, "total": 3, "unit": "volunteer"}
    # the certificates are real: they verify
    tokens = [{"token": c["verify_url"].split("/v/", 1)[1]} for c in result["issued"]]
    verdicts = client.post("/api/v1/verifications", json={"items": tokens}).get_json()
    assert [v["status"] for v in verdicts["results"]] == ["valid"] * 3
    # the same term again, as a job too: nothing twice, and the answer says 200 as it would
    again = client.post(
        "/api/v1/certificates/bulk",
        json=school["term"],
        headers={**school["auth"], "Prefer": "respond-async"},
    )
    assert again.status_code == 202
    work_queue(app)
    repeated = client.get(again.headers["Location"], headers=school["auth"]).get_json()
    assert repeated["result_status"] == 200 and repeated["result"]["issued"] == []
    assert _certificates(app) == 3


def test_the_bulk_page_redirects_to_the_job_page(app, school):
    app.config["BULK_SYNC_MAX_VOLUNTEERS"] = 2
    client = app.test_client()
    assert login(client, school["admin"].email).status_code == 302
    client.get("/lang/en")
    posted = client.post("/certificates/bulk", data={**school["term"], "handler": "李老师"})
    assert posted.status_code == 303
    location = posted.headers["Location"]
    assert re.fullmatch(r"/jobs/\d+", location)
    waiting = client.get(location)
    assert waiting.status_code == 200
    assert '<meta http-equiv="refresh" content="3">' in waiting.text
    assert "Waiting for a worker" in waiting.text and "<script" not in waiting.text
    work_queue(app)
    done = client.get(location)
    assert "http-equiv" not in done.text
    assert "Issued 3, skipped 0" in done.text
    assert done.text.count("/certificates/") >= 3


# --- campaigns -------------------------------------------------------------------------------


@pytest.fixture
def regulators(make: Any) -> dict[str, Any]:
    orgs = [make.org() for _ in range(4)]
    for org in orgs:
        volunteer = make.volunteer(org)
        for i in range(3):
            make.record(org, volunteer, started_at=days_ago(3 + 2 * i))
    supervisor = make.user("regulator_supervisor")
    inspectors = [make.user("regulator_inspector") for _ in range(3)]
    return {
        "supervisor": supervisor,
        "auth": {**EN, **bearer(make.token(supervisor))},
        "inspector": {**EN, **bearer(make.token(inspectors[0]))},
        "org_admin": {**EN, **bearer(make.token(make.user("org_admin", orgs[0])))},
    }


PARAMETERS = {
    "unit": "two_stage",
    "sample_size": {"mode": "fixed", "count": 2},
    "records_per_organisation": {"mode": "fixed", "count": 1},
    "weighting": "uniform",
    "include_complaints": True,
    "inspectors_per_organisation": 2,
}


def test_a_campaign_over_a_big_population_is_drawn_by_a_job(client, app, regulators):
    app.config["CAMPAIGN_SYNC_MAX_POPULATION"] = 10  # 4 organisations and 12 records: 16
    response = client.post(
        "/api/v1/spotcheck/campaigns",
        json={"parameters": PARAMETERS, "name": "大抽查"},
        headers=regulators["auth"],
    )
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["kind"] == "spotcheck.campaign"
    assert (
        client.get("/api/v1/spotcheck/campaigns", headers=regulators["auth"]).get_json()["items"]
        == []
    )
    work_queue(app)
    # an inspector may follow the regulator's job; an organisation may not
    done = client.get(response.headers["Location"], headers=regulators["inspector"]).get_json()
    assert done["status"] == "succeeded" and done["result_status"] == 201
    result = done["result"]
    assert result["population_size"] == 16 and len(result["sample"]) == 4
    # exactly what the synchronous call answers about that campaign
    shown = client.get(
        f"/api/v1/spotcheck/campaigns/{result['id']}", headers=regulators["auth"]
    ).get_json()
    assert result == shown
    outsider = client.get(response.headers["Location"], headers=regulators["org_admin"])
    assert outsider.status_code == 404


def test_a_small_campaign_is_still_drawn_at_once(client, app, regulators):
    response = client.post(
        "/api/v1/spotcheck/campaigns", json={"parameters": PARAMETERS}, headers=regulators["auth"]
    )
    assert response.status_code == 201


def test_running_a_plan_from_its_page_redirects_to_the_job(client, app, regulators):
    plan = client.post(
        "/api/v1/spotcheck/plans",
        json={"name": "季度抽查", "parameters": PARAMETERS},
        headers=regulators["auth"],
    ).get_json()
    app.config["CAMPAIGN_SYNC_MAX_POPULATION"] = 10
    page = app.test_client()
    assert login(page, regulators["supervisor"].email).status_code == 302
    run = page.post(f"/spotchecks/plans/{plan['id']}/run", data={})
    assert run.status_code == 303 and re.fullmatch(r"/jobs/\d+", run.headers["Location"])
    waiting = page.get(run.headers["Location"])
    assert "等待" in waiting.text and 'http-equiv="refresh"' in waiting.text  # Chinese default
    work_queue(app)
    done = page.get(run.headers["Location"])
    assert re.search(r'href="/spotchecks/campaigns/\d+"', done.text)
    job_id = int(run.headers["Location"].rsplit("/", 1)[1])
    assert job_row(app, job_id).result["population_size"] == 16


def test_the_import_page_redirects_to_the_job_page(app, make):
    org = make.org()
    user = make.user("org_recorder", org)
    app.config["IMPORT_SYNC_MAX_BYTES"] = 1024
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    client.get("/lang/en")
    data = csv_bytes(rows(20))
    posted = client.post(
        "/imports",
        data=multipart(data, declaration="y"),
        content_type="multipart/form-data; boundary=job-test-boundary",
    )
    assert posted.status_code == 303, posted.text[:500]
    waiting = client.get(posted.headers["Location"])
    assert "Import of service records" in waiting.text and "Waiting for a worker" in waiting.text
    work_queue(app)
    done = client.get(posted.headers["Location"])
    assert "20 rows were imported." in done.text and "Import report" in done.text
    # another organisation's user gets 404 for the page
    stranger = make.user("org_admin", make.org())
    other = app.test_client()
    login(other, stranger.email)
    assert other.get(posted.headers["Location"]).status_code == 404

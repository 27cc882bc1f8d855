"""Big imports run as jobs: 202 and a job URL, the synchronous report as the result, batches."""

from __future__ import annotations

from typing import Any

import pytest
from job_helpers import (
    EN,
    csv_bytes,
    job_row,
    post_import,
    record_count,
    row,
    rows,
    work_queue,
)
from sqlalchemy import func, select
from support import bearer, days_ago

from verifier.audit.services import verify_chain
from verifier.db import get_session
from verifier.jobs.models import Job, JobFile
from verifier.records.models import ImportBatch


@pytest.fixture
def org(make: Any) -> Any:
    return make.org()


@pytest.fixture
def recorder(make: Any, org: Any) -> Any:
    return make.user("org_recorder", org)


@pytest.fixture
def token(make: Any, recorder: Any) -> str:
    return make.token(recorder)


@pytest.fixture
def small_limit(app: Any) -> None:
    """Files over 1 KB run as jobs (the default is 64 KB); batches of 5 rows."""
    app.config.update(IMPORT_SYNC_MAX_BYTES=1024, IMPORT_BATCH_ROWS=5)


def test_a_small_file_is_still_imported_at_once(client, app, token):
    response = post_import(client, token, csv_bytes(rows(3)))
    assert response.status_code == 200
    assert response.get_json()["imported"] == 3


def test_a_big_file_answers_202_with_the_job_and_its_result_is_the_report(
    client, app, token, org, small_limit
):
    data = csv_bytes([*rows(20), row(799, minutes="-5")])
    assert len(data) > 1024
    # what the synchronous import predicts (a dry run of the same file, answered at once)
    app.config["IMPORT_SYNC_MAX_BYTES"] = 10**6
    predicted = post_import(client, token, data, dry_run="true").get_json()
    app.config["IMPORT_SYNC_MAX_BYTES"] = 1024

    response = post_import(client, token, data)
    assert response.status_code == 202
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/jobs/{body['id']}" == body["url"]
    assert body["page_url"] == f"/jobs/{body['id']}"
    assert (body["kind"], body["status"], body["result"]) == ("records.import", "queued", None)
    assert response.headers["Retry-After"]
    assert record_count(app, org.id) == 0  # nothing is imported by the request

    polled = client.get(body["url"], headers=bearer(token))
    assert polled.status_code == 200 and polled.get_json()["status"] == "queued"
    assert work_queue(app) == 1
    done = client.get(body["url"], headers=bearer(token)).get_json()
    assert done["status"] == "succeeded", done
    assert done["result_status"] == 200
    result = done["result"]
    assert result["written"] is True and isinstance(result["batch_id"], int)
    # exactly the synchronous answer: the dry run's prediction, written
    assert result == {
        **predicted,
        "dry_run": False,
        "written": True,
        "batch_id": result["batch_id"],
    }
    assert (result["imported"], result["skipped"], result["rejected_rows"]) == (20, 0, 1)
    assert record_count(app, org.id) == 20
    with app.app_context():
        session = get_session()
        job = session.get(Job, body["id"])
        assert job.progress_done == job.progress_total and job.progress_total > 0
        assert session.get(JobFile, body["id"]) is None  # the upload is deleted at the end
        assert verify_chain(session).ok


def test_a_dry_run_job_answers_exactly_the_synchronous_dry_run(client, app, token, small_limit):
    data = csv_bytes([*rows(12), row(700, days_ago=12)])  # the last row repeats the first
    app.config["IMPORT_SYNC_MAX_BYTES"] = 10**6
    synchronous = post_import(client, token, data, dry_run="true").get_json()
    app.config["IMPORT_SYNC_MAX_BYTES"] = 1024
    job = post_import(client, token, data, dry_run="true").get_json()
    work_queue(app)
    result = client.get(job["url"], headers=bearer(token)).get_json()["result"]
    assert result == synchronous
    assert result["dry_run"] is True and result["written"] is False
    assert record_count(app) == 0


def test_prefer_respond_async_makes_a_job_of_any_file(client, app, token):
    response = post_import(
        client, token, csv_bytes(rows(2)), headers={"Prefer": "respond-async, wait=10"}
    )
    assert response.status_code == 202
    assert response.headers["Preference-Applied"] == "respond-async"
    work_queue(app)
    done = client.get(response.headers["Location"], headers=bearer(token)).get_json()
    assert done["status"] == "succeeded" and done["result"]["imported"] == 2


def test_a_file_refused_as_a_whole_is_refused_at_once_without_a_job(
    client, app, token, small_limit
):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 4000
    response = post_import(client, token, png)
    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"
    gb = "姓名\r\n".encode("utf-16")
    assert post_import(client, token, gb * 400).status_code == 422
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Job)) == 0


def test_all_or_nothing_job_writes_nothing_when_a_row_fails(client, app, token, small_limit):
    data = csv_bytes([*rows(15), row(799, minutes="abc")])
    job = post_import(client, token, data, all_or_nothing="true").get_json()
    work_queue(app)
    result = client.get(job["url"], headers=bearer(token)).get_json()["result"]
    assert (result["imported"], result["rejected_rows"], result["written"]) == (0, 1, False)
    assert result["dry_run"] is False and result["all_or_nothing"] is True
    assert record_count(app) == 0


def test_all_or_nothing_job_writes_in_batches_when_every_row_passes(
    client, app, token, org, small_limit
):
    job = post_import(client, token, csv_bytes(rows(17)), all_or_nothing="true").get_json()
    work_queue(app)
    result = client.get(job["url"], headers=bearer(token)).get_json()["result"]
    assert (result["imported"], result["rejected_rows"], result["written"]) == (17, 0, True)
    assert record_count(app, org.id) == 17


def test_all_or_nothing_stops_at_a_row_refused_only_after_the_check(
    client, app, token, org, make, monkeypatch, small_limit
):
    """A concurrent change between the check and the write: the import stops there."""
    from verifier.imports import jobs as import_jobs

    body = rows(17)
    real = import_jobs.import_records
    calls: list[bool] = []

    def checked_then_changed(*args: Any, **kwargs: Any) -> Any:
        report = real(*args, **kwargs)
        if kwargs.get("dry_run") and not calls:
            calls.append(True)
            # end the job's transaction first: the tests' sessions share one connection
            args[0].rollback()
            # someone registers the person of the 12th row and records an overlapping stretch
            volunteer = make.volunteer(org, name=body[11][0], id_number=body[11][2])
            make.record(org, volunteer, started_at=days_ago(13, hour=9))
        return report

    monkeypatch.setattr(import_jobs, "import_records", checked_then_changed)
    job = post_import(client, token, csv_bytes(body), all_or_nothing="true").get_json()
    work_queue(app)
    done = client.get(job["url"], headers=bearer(token)).get_json()
    assert done["status"] == "succeeded", done
    result = done["result"]
    assert result["stopped_at_line"] == 13  # the header is line 1
    assert (result["imported"], result["rejected_rows"], result["written"]) == (11, 1, True)
    assert result["rejected"][0]["rule"] == "no_overlap"
    assert record_count(app, org.id) == 11 + 1  # the 11 rows before it, and the other record


def test_the_job_is_seen_only_by_its_organisation(client, app, make, org, token):
    job = post_import(
        client, token, csv_bytes(rows(2)), headers={"Prefer": "respond-async"}
    ).get_json()
    colleague = make.token(make.user("org_admin", org))
    assert client.get(job["url"], headers=bearer(colleague)).status_code == 200
    other = make.token(make.user("org_admin", make.org()))
    regulator = make.token(make.user("regulator_supervisor"))
    for outsider in (other, regulator):
        response = client.get(job["url"], headers={**EN, **bearer(outsider)})
        assert response.status_code == 404
        assert response.get_json()["detail"] == "no such job"
    assert client.get(job["url"]).status_code == 401


def test_batches_commit_with_checkpoints(client, app, token, org, small_limit, monkeypatch):
    from verifier.jobs.worker import JobContext

    saved: list[dict[str, Any]] = []
    real = JobContext.save

    def spy(self: JobContext, checkpoint: dict[str, Any]) -> None:
        saved.append(checkpoint)
        real(self, checkpoint)

    monkeypatch.setattr(JobContext, "save", spy)
    job = post_import(client, token, csv_bytes(rows(23))).get_json()
    work_queue(app)
    assert [c["line"] for c in saved] == [6, 11, 16, 21]  # five rows each; the rest at the end
    assert [c["report"]["valid"] for c in saved] == [5, 10, 15, 20]
    assert len({c["batch_id"] for c in saved}) == 1
    with app.app_context():
        batch = get_session().get(ImportBatch, saved[0]["batch_id"])
        assert (batch.rows_total, batch.rows_imported) == (23, 23)
    assert job_row(app, job["id"]).status == "succeeded"


def test_an_organisation_cannot_flood_the_queue(client, app, token, make, org):
    async_ = {"Prefer": "respond-async"}
    for _ in range(5):
        assert post_import(client, token, csv_bytes(rows(1)), headers=async_).status_code == 202
    refused = post_import(client, token, csv_bytes(rows(1)), headers=async_)
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert "5 jobs are already waiting or running" in refused.get_json()["detail"]
    # another organisation is not held up
    other = make.token(make.user("org_admin", make.org()))
    assert post_import(client, other, csv_bytes(rows(1)), headers=async_).status_code == 202
    work_queue(app)
    assert post_import(client, token, csv_bytes(rows(1)), headers=async_).status_code == 202


def test_a_dry_run_job_on_sqlite_checks_a_private_copy_and_holds_no_lock(tmp_path, monkeypatch):
    """While the rolled-back checking pass runs, another connection can still write at once."""
    import sqlite3

    from support import Factory, committing_sqlite_app

    from verifier.imports import jobs as import_jobs

    app = committing_sqlite_app(tmp_path / "service.db", IMPORT_SYNC_MAX_BYTES=0)
    make = Factory(app)
    org = make.org()
    user = make.user("org_recorder", org)
    client = app.test_client()
    probes: list[str] = []
    real = import_jobs.import_records

    def probing(session, *args, **kwargs):
        report = real(session, *args, **kwargs)
        if kwargs.get("dry_run"):  # its rows are written, not yet rolled back
            other = sqlite3.connect(tmp_path / "service.db", timeout=0.5, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                probes.append("free")
            except sqlite3.OperationalError as exc:
                probes.append(str(exc))
            finally:
                other.close()
        return report

    monkeypatch.setattr(import_jobs, "import_records", probing)
    queued = post_import(client, make.token(user), csv_bytes(rows(12)), dry_run="true")
    assert queued.status_code == 202, queued.get_json()
    assert work_queue(app) == 1
    assert probes == ["free"]
    job = job_row(app, queued.get_json()["id"])
    assert job.status == "succeeded" and job.result["imported"] == 12, job.result
    assert record_count(app) == 0  # a dry run writes nothing, on the copy or elsewhere
    app.extensions["verifier.db"].engine.dispose()

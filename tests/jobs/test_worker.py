"""Workers: a job whose worker died resumes, a worker taken over writes nothing, give-up."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from job_helpers import EN, csv_bytes, job_row, post_import, record_count, rows, work_queue
from sqlalchemy import func, select, update
from support import Factory, bearer

from verifier.audit.models import AuditEntry
from verifier.audit.services import verify_chain
from verifier.db import get_session, utcnow
from verifier.jobs import services
from verifier.jobs.models import Job, JobFile, JobKind
from verifier.jobs.services import claim_next, enqueue
from verifier.jobs.worker import JobContext, work_claimed
from verifier.records.models import ImportBatch, ServiceRecord


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs in the worker (no error handling, no commit)."""


@pytest.fixture
def org(make: Any) -> Any:
    return make.org()


@pytest.fixture
def token(make: Any, org: Any) -> str:
    return make.token(make.user("org_recorder", org))


@pytest.fixture(autouse=True)
def small_batches(app: Any) -> None:
    app.config.update(IMPORT_SYNC_MAX_BYTES=1024, IMPORT_BATCH_ROWS=5)


def _queue(client: Any, token: str, count: int = 23) -> int:
    response = post_import(client, token, csv_bytes(rows(count)))
    assert response.status_code == 202
    return int(response.get_json()["id"])


def _claim(app: Any, worker: str) -> Any:
    with app.app_context():
        return claim_next(get_session(), worker)


def _make_stale(app: Any, job_id: int) -> None:
    with app.app_context():
        session = get_session()
        session.execute(
            update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow() - timedelta(hours=1))
        )
        session.commit()


def _die_after_saves(monkeypatch: Any, saves: int) -> None:
    real = JobContext.save
    done: list[int] = []

    def save(self: JobContext, checkpoint: dict[str, Any]) -> None:
        real(self, checkpoint)
        done.append(1)
        if len(done) == saves:
            raise Killed

    monkeypatch.setattr(JobContext, "save", save)


def test_a_job_claimed_by_a_dead_worker_is_resumed_by_the_next(
    client, app, token, org, monkeypatch
):
    job_id = _queue(client, token)
    claim = _claim(app, "worker-a")
    _die_after_saves(monkeypatch, 2)
    with pytest.raises(Killed):
        work_claimed(app, claim, heartbeat=False)
    monkeypatch.undo()
    app.config.update(IMPORT_SYNC_MAX_BYTES=1024, IMPORT_BATCH_ROWS=5)
    dead = job_row(app, job_id)
    assert (dead.status, dead.attempts, dead.checkpoint["line"]) == ("running", 1, 11)
    assert record_count(app, org.id) == 10  # two committed batches; the third died with it
    assert work_queue(app) == 0  # its heartbeat is recent: the worker may still be alive

    _make_stale(app, job_id)
    assert work_queue(app) == 1
    done = job_row(app, job_id)
    assert (done.status, done.attempts, done.worker) == ("succeeded", 2, "test-worker")
    # every row exactly once, and the report counts them as imported, none as skipped
    assert (done.result["imported"], done.result["skipped"], done.result["total_rows"]) == (
        23,
        0,
        23,
    )
    assert record_count(app, org.id) == 23
    with app.app_context():
        session = get_session()
        keys = session.scalars(
            select(ServiceRecord.dedupe_key).where(ServiceRecord.organisation_id == org.id)
        ).all()
        assert len(keys) == len(set(keys)) == 23
        batches = session.scalars(select(ImportBatch).where(ImportBatch.organisation_id == org.id))
        (batch,) = batches.all()
        assert (batch.rows_total, batch.rows_imported, batch.rows_skipped) == (23, 23, 0)
        created = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "volunteer.create")
        )
        assert created == 10  # ten people, each registered once in the audit log
        assert verify_chain(session).ok


def test_a_job_whose_workers_keep_dying_is_given_up_with_a_clear_message(
    client, app, token, org, monkeypatch
):
    job_id = _queue(client, token)
    for attempt in range(1, 4):
        claim = _claim(app, f"worker-{attempt}")
        assert claim is not None and claim.attempt == attempt
        _die_after_saves(monkeypatch, 1)
        with pytest.raises(Killed):
            work_claimed(app, claim, heartbeat=False)
        monkeypatch.undo()
        app.config.update(IMPORT_SYNC_MAX_BYTES=1024, IMPORT_BATCH_ROWS=5)
        _make_stale(app, job_id)
    assert work_queue(app) == 0  # nothing to work: the job is given up instead
    failed = job_row(app, job_id)
    assert failed.status == "failed" and failed.attempts == 3 and failed.finished_at
    response = client.get(f"/api/v1/jobs/{job_id}", headers={**EN, **bearer(token)})
    body = response.get_json()
    assert body["status"] == "failed" and body["result"] is None
    assert "stopped 3 times" in body["error"]["detail"]
    assert "skips the rows it already imported" in body["error"]["detail"]
    # what it wrote stays, and the record of it is kept: the batch and the audit log
    assert record_count(app, org.id) == 15
    with app.app_context():
        session = get_session()
        assert session.get(JobFile, job_id) is None
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "job.fail")).one()
        assert entry.object_id == str(job_id) and '"line":16' in entry.details
        assert verify_chain(session).ok
    # importing the file again finishes the work: the rows already there are skipped
    again = post_import(client, token, csv_bytes(rows(23)))
    work_queue(app)
    result = client.get(again.headers["Location"], headers=bearer(token)).get_json()["result"]
    assert (result["imported"], result["skipped"]) == (8, 15)


def test_a_worker_that_was_taken_over_writes_nothing(client, app, token, org):
    job_id = _queue(client, token)
    slow = _claim(app, "worker-slow")
    _make_stale(app, job_id)  # it stopped beating (paused, partitioned): thought dead
    quick = _claim(app, "worker-quick")
    assert quick is not None and quick.token != slow.token
    assert work_claimed(app, slow, heartbeat=False) == "lost"
    assert record_count(app, org.id) == 0
    assert work_claimed(app, quick, heartbeat=False) == "succeeded"
    assert record_count(app, org.id) == 23
    assert job_row(app, job_id).result["imported"] == 23


def test_a_worker_asked_to_stop_puts_the_job_back_where_it_was(client, app, token, org):
    job_id = _queue(client, token)
    claim = _claim(app, "worker-a")
    stop = threading.Event()
    stop.set()  # e.g. SIGTERM during the first batch
    assert work_claimed(app, claim, stop=stop, heartbeat=False) == "queued"
    back = job_row(app, job_id)
    assert (back.status, back.attempts, back.checkpoint["line"]) == ("queued", 0, 6)
    assert record_count(app, org.id) == 5
    assert work_queue(app) == 1
    assert job_row(app, job_id).result["imported"] == 23
    assert record_count(app, org.id) == 23


def test_a_file_that_breaks_half_way_fails_the_job_before_any_row_is_written(
    client, app, token, org
):
    # twenty good rows, then a line longer than any table's: found only by reading that far
    data = csv_bytes(rows(20)) + b"x" * 1_000_100 + b"\r\n"
    response = post_import(client, token, data)
    assert response.status_code == 202
    work_queue(app)
    body = client.get(response.headers["Location"], headers={**EN, **bearer(token)}).get_json()
    assert body["status"] == "failed"
    assert body["error"]["status"] == 422
    assert body["error"]["errors"][0]["rule"] == "line_too_long"
    assert "Line 22 is longer than" in body["error"]["detail"]
    assert record_count(app, org.id) == 0  # not the twenty rows before it either


def test_missing_columns_fail_the_job_with_the_synchronous_problem(client, app, token):
    data = ("姓名,证件号码\r\n" + "张三,11010119900307002X\r\n" * 200).encode()
    app.config["IMPORT_SYNC_MAX_BYTES"] = 10**6
    synchronous = post_import(client, token, data)
    app.config["IMPORT_SYNC_MAX_BYTES"] = 1024
    queued = post_import(client, token, data)
    work_queue(app)
    body = client.get(queued.headers["Location"], headers={**EN, **bearer(token)}).get_json()
    problem = synchronous.get_json()
    assert synchronous.status_code == 422 and body["status"] == "failed"
    assert body["error"] == {k: v for k, v in problem.items() if k != "instance"}


def test_a_job_of_a_user_deactivated_meanwhile_fails(client, app, make, org):
    user = make.user("org_recorder", org)
    job_id = _queue(client, make.token(user))

    def deactivate(session: Any) -> None:
        from verifier.auth.models import User

        session.get(User, user.id).active = False

    make.run(deactivate)
    work_queue(app)
    failed = job_row(app, job_id)
    assert failed.status == "failed" and failed.error["status"] == 403
    assert record_count(app, org.id) == 0


def test_the_command_works_the_queue(client, app, token, org):
    _queue(client, token)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "work", "--once"])
    assert result.exit_code == 0, result.output
    assert "worked 1 job(s)" in result.output
    listed = runner.invoke(args=["jobs", "list"])
    assert "records.import  succeeded  " in listed.output
    assert record_count(app, org.id) == 23


def test_claims_skip_running_jobs_and_take_the_oldest_queued(app, make, org):
    user = make.user("org_admin", org)

    def queue(session: Any) -> list[int]:
        from verifier.auth.models import User

        actor = session.get(User, user.id)
        return [enqueue(session, services.IMPORT, actor, {}, organisation_id=org.id).id
                for _ in range(3)]  # fmt: skip

    first, second, third = Factory(app).run(queue)
    assert _claim(app, "a").job_id == first
    assert _claim(app, "b").job_id == second
    assert _claim(app, "c").job_id == third
    assert _claim(app, "d") is None


def test_every_kind_has_the_handler_its_feature_registered(app):
    # create_app connects the features, and each registers the handlers of its own kinds
    assert set(services.HANDLERS) == set(JobKind)
    assert services.HANDLERS[JobKind.IMPORT].__module__ == "verifier.imports.jobs"
    assert services.HANDLERS[JobKind.BULK_ISSUE].__module__ == "verifier.certificates.jobs"
    assert services.HANDLERS[JobKind.CAMPAIGN].__module__ == "verifier.spotchecks.jobs"


def test_a_job_of_a_kind_without_a_handler_fails_and_says_so_in_the_log(
    client, app, token, org, monkeypatch, caplog
):
    job_id = _queue(client, token)
    monkeypatch.delitem(services.HANDLERS, JobKind.IMPORT)
    assert work_queue(app) == 1
    body = client.get(f"/api/v1/jobs/{job_id}", headers={**EN, **bearer(token)}).get_json()
    assert body["status"] == "failed" and body["error"]["status"] == 500
    assert body["error"]["detail"] == "Internal error; the problem was logged"
    assert "no handler registered for job kind 'records.import'" in caplog.text
    assert record_count(app, org.id) == 0

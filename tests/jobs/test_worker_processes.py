"""Real workers: kill -9 of `verifier jobs work` in the middle of an import, then a second
worker finishes it, every row exactly once; the scheduler's worker thread; racing claims."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from job_helpers import csv_bytes, post_import, rows
from sqlalchemy import func, select
from support import TEST_DATA_KEY, Factory, committing_sqlite_app

from verifier.audit.services import verify_chain
from verifier.db import get_session
from verifier.jobs.models import Job
from verifier.jobs.services import IMPORT, claim_next, enqueue
from verifier.jobs.worker import work
from verifier.records.models import ServiceRecord

SETTINGS = {
    "IMPORT_SYNC_MAX_BYTES": 1024,
    "IMPORT_BATCH_ROWS": 20,
    "JOB_HEARTBEAT_SECONDS": 1,
    "JOB_STALE_SECONDS": 3,
    "JOB_POLL_SECONDS": 1,
}
DEADLINE_SECONDS = 90

# The worker, slowed down after each committed batch so that the test can kill it half-way.
SLOW_WORKER = textwrap.dedent(
    """
    import sys, time
    from verifier.jobs.worker import JobContext
    real = JobContext.save
    def save(self, checkpoint):
        real(self, checkpoint)
        time.sleep(0.25)
    JobContext.save = save
    from verifier.cli import main
    sys.argv = ["verifier", "jobs", "work"]
    main()
    """
)


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_app(request: Any, tmp_path: Path) -> Iterator[Flask]:
    """An app whose data other processes see: a SQLite file, or the PostgreSQL test database."""
    if request.param == "sqlite":
        app = committing_sqlite_app(tmp_path / "jobs.db", **SETTINGS)
        yield app
        app.extensions["verifier.db"].engine.dispose()
    else:
        app = request.getfixturevalue("committing_app")
        app.config.update(SETTINGS)
        yield app


def _env(app: Flask) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        VERIFIER_DATABASE_URL=app.config["DATABASE_URL"],
        VERIFIER_ENV="development",
        VERIFIER_SECRET_KEY="test-secret-key-0123456789",
        VERIFIER_DATA_KEY=TEST_DATA_KEY,
        VERIFIER_IMPORT_BATCH_ROWS=str(SETTINGS["IMPORT_BATCH_ROWS"]),
        VERIFIER_JOB_HEARTBEAT_SECONDS=str(SETTINGS["JOB_HEARTBEAT_SECONDS"]),
        VERIFIER_JOB_STALE_SECONDS=str(SETTINGS["JOB_STALE_SECONDS"]),
        VERIFIER_JOB_POLL_SECONDS="1",
    )
    return env


def _job(app: Flask, job_id: int) -> Job:
    with app.app_context():
        session = get_session()
        job = session.get(Job, job_id)
        session.expunge(job)
        session.rollback()
        return job


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def test_kill_9_in_the_middle_of_an_import_then_a_second_worker_finishes_it(shared_app):
    app = shared_app
    make = Factory(app)
    org = make.org()
    token = make.token(make.user("org_recorder", org))
    response = post_import(app.test_client(), token, csv_bytes(rows(300)))
    assert response.status_code == 202
    job_id = response.get_json()["id"]

    worker = subprocess.Popen(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", SLOW_WORKER],
        env=_env(app),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # wait until three batches (60 rows) are committed, then kill it without warning
        _wait_for(lambda: (_job(app, job_id).checkpoint or {}).get("line", 0) > 60, "batches")
    finally:
        worker.kill()
        _out, err = worker.communicate(timeout=30)
    killed = _job(app, job_id)
    assert killed.status == "running" and killed.attempts == 1, err.decode()[-2000:]
    written = killed.checkpoint["report"]["valid"]
    assert 60 <= written < 300

    # a second worker takes the job over once the dead one's heartbeat is stale
    finished = threading.Event()

    def second_worker() -> None:
        while not finished.is_set():
            if work(app, once=True, worker="second"):
                finished.set()
            else:
                time.sleep(0.5)

    thread = threading.Thread(target=second_worker, daemon=True)
    thread.start()
    thread.join(timeout=DEADLINE_SECONDS)
    finished.set()
    assert not thread.is_alive(), "the second worker did not finish in time"

    done = _job(app, job_id)
    assert (done.status, done.attempts, done.worker) == ("succeeded", 2, "second")
    assert (done.result["imported"], done.result["skipped"], done.result["rejected_rows"]) == (
        300,
        0,
        0,
    )
    with app.app_context():
        session = get_session()
        keys = session.scalars(
            select(ServiceRecord.dedupe_key).where(ServiceRecord.organisation_id == org.id)
        ).all()
        assert len(keys) == len(set(keys)) == 300  # every row exactly once
        assert verify_chain(session).ok


def test_the_scheduler_works_the_queue_in_a_thread(tmp_path):
    from verifier.spotchecks.scheduler import start_job_worker

    app = committing_sqlite_app(tmp_path / "scheduler.db", **SETTINGS)
    try:
        make = Factory(app)
        org = make.org()
        token = make.token(make.user("org_recorder", org))
        worker = start_job_worker(app)
        try:
            response = post_import(app.test_client(), token, csv_bytes(rows(30)))
            job_id = response.get_json()["id"]
            _wait_for(lambda: _job(app, job_id).status == "succeeded", "the scheduler's worker")
        finally:
            worker.stop()
        assert not worker.is_alive()
        assert _job(app, job_id).result["imported"] == 30
    finally:
        app.extensions["verifier.db"].engine.dispose()


@pytest.mark.postgres
def test_racing_workers_never_claim_the_same_job(committing_app):
    make = Factory(committing_app)
    org = make.org()

    def queue(session: Any) -> list[int]:
        return [enqueue(session, IMPORT, None, {}, organisation_id=org.id).id for _ in range(3)]

    queued = make.run(queue)
    barrier = threading.Barrier(4)
    claimed: list[int | None] = []

    def claimer(name: str) -> None:
        with committing_app.app_context():
            session = get_session()
            barrier.wait(timeout=30)
            claim = claim_next(session, name)
            claimed.append(claim.job_id if claim else None)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(c for c in claimed if c is not None) == sorted(queued)
    assert claimed.count(None) == 1
    with committing_app.app_context():
        attempts = get_session().scalars(select(Job.attempts).order_by(Job.id)).all()
        assert attempts == [1, 1, 1]
        assert get_session().scalar(select(func.count()).select_from(Job)) == 3


def test_sign_in_and_verification_work_while_an_import_job_writes(tmp_path, monkeypatch):
    """SQLite: requests that write wait for a batch of the running import, never 409."""
    from verifier.jobs.worker import JobContext

    real_save = JobContext.save

    def slow_save(self: JobContext, checkpoint: dict[str, Any]) -> None:
        time.sleep(0.3)  # hold the batch's write lock longer (the window the requests meet)
        real_save(self, checkpoint)

    monkeypatch.setattr(JobContext, "save", slow_save)
    from support import PASSWORD

    from verifier.spotchecks.scheduler import start_job_worker

    # batches of 100 rows hold the write lock for a good part of a second each
    app = committing_sqlite_app(tmp_path / "busy.db", **{**SETTINGS, "IMPORT_BATCH_ROWS": 100})
    try:
        make = Factory(app)
        org = make.org()
        admin = make.user("org_admin", org)
        volunteer = make.volunteer(org)
        cert = make.certificate(org, admin, volunteer, [make.record(org, volunteer, actor=admin)])
        token = make.token(make.user("org_recorder", org))
        client = app.test_client()
        job_id = post_import(client, token, csv_bytes(rows(1000))).get_json()["id"]
        worker = start_job_worker(app)
        try:
            _wait_for(lambda: (_job(app, job_id).checkpoint or {}).get("line"), "a first batch")
            assert _job(app, job_id).status == "running"  # the requests meet its batches
            statuses = []
            for _ in range(3):
                page = app.test_client()
                statuses.append(
                    page.post(
                        "/login", data={"email": admin.email, "password": PASSWORD}
                    ).status_code
                )
                statuses.append(page.get(f"/v/{cert.token}").status_code)
                statuses.append(
                    page.post("/api/v1/verifications", json={"token": cert.token}).status_code
                )
            assert statuses == [302, 200, 200] * 3
            _wait_for(lambda: _job(app, job_id).status == "succeeded", "the import")
        finally:
            worker.stop()
        assert _job(app, job_id).result["imported"] == 1000
    finally:
        app.extensions["verifier.db"].engine.dispose()

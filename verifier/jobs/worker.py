"""Work claimed jobs: the handler's context, the heartbeat thread, the end of a job, the loop.

A worker runs one job at a time. Its handler gets a `JobContext`: the job's parameters and
file, a session, `progress()` (written by the heartbeat) and `save(checkpoint)` (commits the
work done so far with where to resume). The job ends in the same transaction as its handler's
last writes. Every write is fenced by the claim (`claimed_by`), so a worker that was thought
dead and taken over writes nothing more.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Connection, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from verifier.auth.models import User
from verifier.db import get_db, get_session, utcnow
from verifier.errors import Forbidden, VerifierError
from verifier.jobs.models import Job, JobFile, JobStatus
from verifier.jobs.services import (
    HANDLERS,
    Claim,
    JobOutcome,
    anything_ready,
    claim_next,
    claimed_by,
    file_place,
    record_end,
    rows_changed,
)

log = logging.getLogger(__name__)

# On SQLite a worker pauses this long after each committed batch, so that requests waiting for
# the write lock (their busy handler polls every 100 ms at most) get it between two batches:
# twice their polling interval, so that one of their polls always falls in the pause.
SQLITE_BATCH_PAUSE_SECONDS = 0.2


class JobLost(Exception):
    """Another worker took this job over (this one was thought dead); stop without writing."""


class JobStopped(Exception):
    """The worker is asked to stop; the job goes back to the queue and resumes later."""


@dataclass
class _Progress:
    done: int = 0
    total: int | None = None
    unit: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def values(self) -> dict[str, Any]:
        with self.lock:
            return {"progress_done": self.done, "progress_total": self.total,
                    "progress_unit": self.unit}  # fmt: skip


class JobContext:
    """What a handler gets: its job's parameters, a session, progress and checkpoints."""

    def __init__(
        self,
        session: Session,
        job: Job,
        claim: Claim,
        stop: threading.Event,
        lost: threading.Event,
    ) -> None:
        self.session = session
        self.job_id = job.id
        self.kind = job.kind
        self.params: dict[str, Any] = dict(job.params or {})
        self.organisation_id = job.organisation_id
        self.created_by_id = job.created_by_id
        self.checkpoint: dict[str, Any] | None = job.checkpoint
        self.attempt = claim.attempt
        self.claim = claim
        self._stop = stop
        self._lost = lost
        self._progress = _Progress(job.progress_done, job.progress_total, job.progress_unit)

    def actor(self) -> User | None:
        """Return the user who queued the job; refuse when they may no longer act."""
        if self.created_by_id is None:
            return None
        user = self.session.get(User, self.created_by_id)
        if user is None or not user.active:
            raise Forbidden(_("the user who started this job is no longer active"))
        return user

    def file(self) -> tuple[str, bytes]:
        """Return the job's stored file, decrypted: (name, bytes)."""
        from verifier.crypto.encryption import get_cipher

        stored = self.session.get(JobFile, self.job_id)
        if stored is None:
            raise RuntimeError(f"job {self.job_id} has no file")
        return stored.filename, get_cipher().open(stored.data, file_place(self.job_id))

    def progress(self, done: int, total: int | None = None, unit: str = "") -> None:
        """Note how far the work is; the heartbeat and the next checkpoint write it."""
        with self._progress.lock:
            self._progress.done, self._progress.total, self._progress.unit = done, total, unit

    def save(self, checkpoint: dict[str, Any]) -> None:
        """Commit the work done so far together with where to resume from.

        Raises JobLost (after rolling back) when the job is no longer this worker's, and
        JobStopped (after committing) when the worker is asked to stop.
        """
        session = self.session
        if self._lost.is_set():
            session.rollback()
            raise JobLost(self.job_id)
        written = session.execute(
            update(Job)
            .where(*claimed_by(self.claim))
            .values(checkpoint=checkpoint, heartbeat_at=utcnow(), **self._progress.values())
            .execution_options(synchronize_session=False)
        )
        if rows_changed(written) != 1:
            session.rollback()
            raise JobLost(self.job_id)
        session.commit()
        self.checkpoint = checkpoint
        if session.get_bind().dialect.name == "sqlite":
            time.sleep(SQLITE_BATCH_PAUSE_SECONDS)
        if self._stop.is_set():
            raise JobStopped(self.job_id)

    @property
    def progress_values(self) -> dict[str, Any]:
        return self._progress.values()


def load_handler(kind: str) -> Callable[[JobContext], JobOutcome]:
    """The handler its feature registered for a kind (LookupError when none did)."""
    handler = HANDLERS.get(kind)
    if handler is None:
        raise LookupError(f"no handler registered for job kind {kind!r}")
    return handler


class Heartbeat(threading.Thread):
    """Write the job's heartbeat and progress every few seconds from a connection of its own."""

    def __init__(self, app: Flask, claim: Claim, context: JobContext, interval: float) -> None:
        super().__init__(name=f"heartbeat-{claim.job_id}", daemon=True)
        self.app = app
        self.claim = claim
        self.context = context
        self.interval = interval
        self.stopping = threading.Event()
        self.lost = context._lost

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            with self.app.app_context():
                session = get_session()
                try:
                    beat = session.execute(
                        update(Job)
                        .where(*claimed_by(self.claim))
                        .values(heartbeat_at=utcnow(), **self.context.progress_values)
                        .execution_options(synchronize_session=False)
                    )
                    session.commit()
                except DBAPIError:  # e.g. SQLite busy for longer than its timeout: try again
                    session.rollback()
                    log.warning("job %s: heartbeat not written", self.claim.job_id)
                    continue
                if rows_changed(beat) != 1:
                    if self.stopping.is_set():
                        return  # the job has just ended
                    log.warning("job %s was taken over by another worker", self.claim.job_id)
                    self.lost.set()
                    return

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=max(self.interval, 1) + 35)


def _own_connections(app: Flask) -> bool:
    """Tell whether sessions get connections of their own (not one shared connection, as the
    tests' rolled-back transaction gives): only then may a second thread write a heartbeat."""
    return not isinstance(get_db(app).sessionmaker.kw.get("bind"), Connection)


def work_claimed(
    app: Flask, claim: Claim, *, stop: threading.Event | None = None, heartbeat: bool = True
) -> str:
    """Work one claimed job to its end (or until it is lost or stopped); return its status."""
    stop = stop or threading.Event()
    lost = threading.Event()
    with app.app_context():
        session = get_session()
        job = session.get(Job, claim.job_id)
        if job is None:  # pragma: no cover - jobs are never deleted
            return "missing"
        context = JobContext(session, job, claim, stop, lost)
        locale = job.locale or app.config["DEFAULT_LOCALE"]
        interval = float(app.config["JOB_HEARTBEAT_SECONDS"])
        beat = None
        if heartbeat and interval > 0 and _own_connections(app):
            beat = Heartbeat(app, claim, context, interval)
            beat.start()
        try:
            with force_locale(locale):
                try:
                    outcome = load_handler(job.kind)(context)
                except BaseException:
                    if beat is not None:
                        beat.stopping.set()  # the job ends here: no heartbeat after it
                    raise
                if beat is not None:
                    beat.stopping.set()
                if lost.is_set():
                    session.rollback()
                    log.warning("job %s: taken over by another worker; stopped", claim.job_id)
                    return "lost"
                return _finish(session, claim, context, outcome=outcome)
        except JobLost:
            session.rollback()
            log.warning("job %s: taken over by another worker; stopped", claim.job_id)
            return "lost"
        except JobStopped:
            session.rollback()
            _release(session, claim)
            return JobStatus.QUEUED
        except VerifierError as exc:
            session.rollback()
            with force_locale(locale):
                return _finish(session, claim, context, problem=exc.to_problem())
        except OperationalError:
            # the database went away or stayed locked: let a later attempt resume
            session.rollback()
            log.exception("job %s: database error; it will be tried again", claim.job_id)
            with force_locale(locale):
                _release(session, claim, count_attempt=True)
            return JobStatus.QUEUED
        except Exception:
            session.rollback()
            log.exception("job %s failed", claim.job_id)
            with force_locale(locale):
                problem = {
                    "type": "urn:verifier:problem:internal_error",
                    "title": "internal error",
                    "status": 500,
                    "detail": _("Internal error; the problem was logged"),
                }
                return _finish(session, claim, context, problem=problem)
        finally:
            if beat is not None:
                beat.stop()


def _finish(
    session: Session,
    claim: Claim,
    context: JobContext,
    *,
    outcome: JobOutcome | None = None,
    problem: dict[str, Any] | None = None,
) -> str:
    """Record the end of a job in the same transaction as its last work, and commit."""
    status = JobStatus.SUCCEEDED if outcome is not None else JobStatus.FAILED
    values: dict[str, Any] = {
        "status": status,
        "finished_at": utcnow(),
        "heartbeat_at": utcnow(),
        "claim_token": None,
        **context.progress_values,
    }
    if outcome is not None:
        values.update(result=outcome.result, result_status=outcome.status)
        if values["progress_total"] is not None:
            values["progress_done"] = values["progress_total"]
    else:
        values["error"] = problem
    ended = session.execute(
        update(Job)
        .where(*claimed_by(claim))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if rows_changed(ended) != 1:
        session.rollback()
        log.warning("job %s: taken over by another worker; its outcome is not kept", claim.job_id)
        return "lost"
    record_end(session, session.get(Job, claim.job_id), status)
    session.commit()
    log.info("job %s %s", claim.job_id, status)
    return status


def _release(session: Session, claim: Claim, count_attempt: bool = False) -> None:
    """Put a job back in the queue (the worker stops); it resumes from its checkpoint."""
    job = session.get(Job, claim.job_id)
    if job is None:  # pragma: no cover
        return
    attempts = job.attempts if count_attempt else max(job.attempts - 1, 0)
    if count_attempt and attempts >= job.max_attempts:
        problem = {
            "type": "urn:verifier:problem:job_abandoned",
            "title": "job abandoned",
            "status": 500,
            "detail": _(
                "The job failed %(n)d times because of a database error and was given up. "
                "What it had written stays written; start it again to finish.",
                n=attempts,
            ),
        }
        released = session.execute(
            update(Job)
            .where(*claimed_by(claim))
            .values(status=JobStatus.FAILED, error=problem, finished_at=utcnow(), claim_token=None)
            .execution_options(synchronize_session=False)
        )
        if rows_changed(released) == 1:
            record_end(session, job, JobStatus.FAILED)
    else:
        session.execute(
            update(Job)
            .where(*claimed_by(claim))
            .values(status=JobStatus.QUEUED, attempts=attempts, claim_token=None, worker="")
            .execution_options(synchronize_session=False)
        )
    session.commit()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def work(
    app: Flask,
    *,
    once: bool = False,
    stop: threading.Event | None = None,
    heartbeat: bool = True,
    worker: str | None = None,
) -> int:
    """Work the queue: claim and work jobs one at a time; return how many were worked.

    With `once`, stop when no job is ready; otherwise wait `JOB_POLL_SECONDS` and look again,
    until `stop` is set.
    """
    stop = stop or threading.Event()
    worker = worker or worker_name()
    poll = float(app.config["JOB_POLL_SECONDS"])
    worked = 0
    while not stop.is_set():
        with app.app_context():
            session = get_session()
            claim = claim_next(session, worker) if anything_ready(session) else None
        if claim is None:
            if once:
                break
            stop.wait(poll)
            continue
        work_claimed(app, claim, stop=stop, heartbeat=heartbeat)
        worked += 1
    return worked


class WorkerThread(threading.Thread):
    """Work the queue in a thread of a long-running process (`verifier scheduler`)."""

    def __init__(self, app: Flask, worker: str | None = None) -> None:
        super().__init__(name="job-worker", daemon=True)
        self.app = app
        self.worker = worker or f"{worker_name()}:scheduler"
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                work(self.app, stop=self.stopping, worker=self.worker)
            except Exception:  # the database was unreachable: wait, then work on
                log.exception("job worker: the queue could not be read; trying again")
                self.stopping.wait(float(self.app.config["JOB_POLL_SECONDS"]))

    def stop(self, timeout: float = 30) -> None:
        """Ask the worker to stop: the job at hand is saved at its next batch and requeued."""
        self.stopping.set()
        self.join(timeout)

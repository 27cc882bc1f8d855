"""Queue jobs, claim them atomically, work them with a heartbeat, and record how they ended.

A request that would take long queues a job and answers 202; a worker (`verifier jobs work`, or
the thread in `verifier scheduler`) claims it and runs the handler of its kind. Claiming is a
conditional UPDATE (on PostgreSQL after `SELECT ... FOR UPDATE SKIP LOCKED`), so two workers
never take the same job. A running job's worker writes a heartbeat every few seconds; a job
whose heartbeat is older than `JOB_STALE_SECONDS` lost its worker (killed, crashed, machine
gone) and is claimed again, resuming from the checkpoint its handler saved with its last
committed batch. After `max_attempts` claims it fails with a clear message instead.
Every write a worker makes is fenced by the claim's random token: once another worker has taken
the job over, the first one's writes find no row and it stops.
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Connection, and_, delete, exists, or_, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import User
from verifier.db import get_db, get_session, sqlite_begin, utcnow
from verifier.errors import NotFound, VerifierError
from verifier.jobs.models import Job, JobFile

log = logging.getLogger(__name__)

IMPORT = "records.import"
BULK_ISSUE = "certificates.issue_bulk"
CAMPAIGN = "spotcheck.campaign"
# kind -> "module:function" of its handler; imported when a worker first meets the kind
HANDLERS: dict[str, str] = {
    IMPORT: "verifier.imports.jobs:run_import_job",
    BULK_ISSUE: "verifier.certificates.jobs:run_bulk_job",
    CAMPAIGN: "verifier.spotchecks.jobs:run_campaign_job",
}
# kinds whose jobs belong to the regulator, not to an organisation
REGULATOR_KINDS = frozenset({CAMPAIGN})
# On SQLite a worker pauses this long after each committed batch, so that requests waiting for
# the write lock (their busy handler polls every 100 ms at most) get it between two batches.
SQLITE_BATCH_PAUSE_SECONDS = 0.05


class JobLost(Exception):
    """Another worker took this job over (this one was thought dead); stop without writing."""


class JobStopped(Exception):
    """The worker is asked to stop; the job goes back to the queue and resumes later."""


@dataclass(frozen=True)
class Claim:
    job_id: int
    token: str
    attempt: int


@dataclass
class JobOutcome:
    """What a handler answers: the synchronous call's body and status."""

    result: dict[str, Any]
    status: int = 200


# --- queueing and reading ----------------------------------------------------------------------


def enqueue(
    session: Session,
    kind: str,
    actor: User | None,
    params: dict[str, Any],
    *,
    organisation_id: int | None = None,
    file: tuple[str, bytes] | None = None,
    locale: str = "zh",
    max_attempts: int | None = None,
) -> Job:
    """Queue a job of a kind; a file (name, bytes) is stored encrypted until the job ends."""
    if kind not in HANDLERS:
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job(
        kind=kind,
        status="queued",
        organisation_id=organisation_id,
        created_by_id=actor.id if actor is not None else None,
        locale=locale[:8],
        params=params,
        max_attempts=max_attempts or int(current_app.config["JOB_MAX_ATTEMPTS"]),
        created_at=utcnow(),
    )
    session.add(job)
    session.flush()
    if file is not None:
        name, data = file
        from verifier.crypto.encryption import sha256_hex
        from verifier.volunteers.services import get_cipher

        session.add(
            JobFile(
                job_id=job.id,
                filename=name[:255],
                size=len(data),
                sha256=sha256_hex(data),
                data=get_cipher().encrypt_bytes(data, _file_context(job.id)),
            )
        )
        session.flush()
    return job


def _file_context(job_id: int) -> str:
    return f"job_files.data:{job_id}"


def visible_job(session: Session, actor: User, job_id: int) -> Job:
    """Return a job its viewer may see: its organisation's users, or regulators for theirs."""
    job = session.get(Job, job_id)
    if job is None or not may_see(actor, job):
        raise NotFound(_("no such job"))
    return job


def may_see(actor: User, job: Job) -> bool:
    if job.created_by_id == actor.id:
        return True
    if job.kind in REGULATOR_KINDS:
        return actor.is_regulator
    return (
        job.organisation_id is not None
        and actor.is_org_user
        and actor.organisation_id == job.organisation_id
    )


def list_jobs(session: Session, limit: int = 50, status: str | None = None) -> list[Job]:
    stmt = select(Job).order_by(Job.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(Job.status == status)
    return list(session.scalars(stmt))


# --- claiming ------------------------------------------------------------------------------------


def _ready(now: datetime, stale_after: timedelta) -> Any:
    return or_(
        Job.status == "queued",
        and_(Job.status == "running", Job.heartbeat_at < now - stale_after),
    )


def stale_after(app: Flask | None = None) -> timedelta:
    return timedelta(seconds=int((app or current_app).config["JOB_STALE_SECONDS"]))


def anything_ready(session: Session, now: datetime | None = None) -> bool:
    """Tell, with a read only, whether a job waits for a worker."""
    now = now or utcnow()
    with sqlite_begin("DEFERRED"):
        found = bool(session.scalar(select(exists().where(_ready(now, stale_after())))))
        session.rollback()
    return found


def claim_next(session: Session, worker: str, now: datetime | None = None) -> Claim | None:
    """Claim the oldest job that waits for a worker, and commit; None when there is none.

    A running job whose heartbeat is stale lost its worker and is claimed again, unless it has
    used its attempts: then it fails, saying so, and the next job is looked at.
    """
    stale = stale_after()
    while True:
        now = now or utcnow()
        stmt = (
            select(Job.id, Job.status, Job.attempts, Job.max_attempts)
            .where(_ready(now, stale))
            .order_by(Job.id)
            .limit(1)
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        row = session.execute(stmt).first()
        if row is None:
            session.rollback()
            return None
        job_id, status, attempts, max_attempts = row
        if status == "running" and attempts >= max_attempts:
            _give_up(session, job_id, attempts, now, stale)
            session.commit()
            continue
        token = secrets.token_hex(16)
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts == attempts, _ready(now, stale))
            .values(
                status="running",
                attempts=attempts + 1,
                claim_token=token,
                worker=worker[:100],
                heartbeat_at=now,
                started_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # another worker was quicker
            session.rollback()
            continue
        session.commit()
        log.info("job %s claimed by %s (attempt %s)", job_id, worker, attempts + 1)
        return Claim(job_id, token, attempts + 1)


def _give_up(session: Session, job_id: int, attempts: int, now: datetime, stale: timedelta) -> None:
    """Fail a job whose workers stopped `attempts` times without finishing it."""
    message = _(
        "The job was stopped %(n)d times before it finished (its worker was stopped or "
        "crashed) and was given up. What it had written before it stopped stays written; "
        "start it again to finish: an import skips the rows it already imported.",
        n=attempts,
    )
    problem = {
        "type": "urn:verifier:problem:job_abandoned",
        "title": "job abandoned",
        "status": 500,
        "detail": message,
    }
    done = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running", Job.heartbeat_at < now - stale)
        .values(status="failed", error=problem, finished_at=utcnow(), claim_token=None)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount == 1:
        _after_end(session, session.get(Job, job_id), "failed")


def _after_end(session: Session, job: Job | None, status: str) -> None:
    """Delete the job's file; record a failure in the audit log with how far the job got."""
    if job is None:
        return
    session.execute(delete(JobFile).where(JobFile.job_id == job.id))
    if status != "failed":
        return
    session.refresh(job)
    checkpoint = job.checkpoint or {}
    record_event(
        session,
        None,
        "job.fail",
        "job",
        job.id,
        organisation_id=job.organisation_id,
        details={
            "kind": job.kind,
            "attempts": job.attempts,
            "error": (job.error or {}).get("detail", ""),
            "progress": [job.progress_done, job.progress_total, job.progress_unit],
            "checkpoint": {k: v for k, v in checkpoint.items() if k != "report"},
            "created_by_id": job.created_by_id,
        },
        actor_label="job-worker",
    )


# --- working -------------------------------------------------------------------------------------


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
            from verifier.errors import Forbidden

            raise Forbidden(_("the user who started this job is no longer active"))
        return user

    def file(self) -> tuple[str, bytes]:
        """Return the job's stored file, decrypted: (name, bytes)."""
        from verifier.volunteers.services import get_cipher

        stored = self.session.get(JobFile, self.job_id)
        if stored is None:
            raise RuntimeError(f"job {self.job_id} has no file")
        return stored.filename, get_cipher().decrypt_bytes(stored.data, _file_context(self.job_id))

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
            .where(*_mine(self.claim))
            .values(checkpoint=checkpoint, heartbeat_at=utcnow(), **self._progress.values())
            .execution_options(synchronize_session=False)
        )
        if written.rowcount != 1:
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


def _mine(claim: Claim) -> tuple[Any, ...]:
    return (Job.id == claim.job_id, Job.claim_token == claim.token, Job.status == "running")


def load_handler(kind: str) -> Callable[[JobContext], JobOutcome]:
    module_name, _sep, name = HANDLERS[kind].partition(":")
    return getattr(importlib.import_module(module_name), name)  # type: ignore[no-any-return]


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
                        .where(*_mine(self.claim))
                        .values(heartbeat_at=utcnow(), **self.context.progress_values)
                        .execution_options(synchronize_session=False)
                    )
                    session.commit()
                except DBAPIError:  # e.g. SQLite busy for longer than its timeout: try again
                    session.rollback()
                    log.warning("job %s: heartbeat not written", self.claim.job_id)
                    continue
                if beat.rowcount != 1:
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
                    if lost.is_set():
                        raise JobLost(claim.job_id)
                    return _finish(session, claim, context, outcome=outcome)
                except JobLost:
                    session.rollback()
                    log.warning("job %s: taken over by another worker; stopped", claim.job_id)
                    return "lost"
                except JobStopped:
                    session.rollback()
                    _release(session, claim)
                    return "queued"
                except VerifierError as exc:
                    session.rollback()
                    return _finish(session, claim, context, problem=exc.to_problem())
                except OperationalError:
                    # the database went away or stayed locked: let a later attempt resume
                    session.rollback()
                    log.exception("job %s: database error; it will be tried again", claim.job_id)
                    _release(session, claim, count_attempt=True)
                    return "queued"
                except Exception:
                    session.rollback()
                    log.exception("job %s failed", claim.job_id)
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
    status = "succeeded" if outcome is not None else "failed"
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
        .where(*_mine(claim))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if ended.rowcount != 1:
        session.rollback()
        log.warning("job %s: taken over by another worker; its outcome is not kept", claim.job_id)
        return "lost"
    _after_end(session, session.get(Job, claim.job_id), status)
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
            .where(*_mine(claim))
            .values(status="failed", error=problem, finished_at=utcnow(), claim_token=None)
            .execution_options(synchronize_session=False)
        )
        if released.rowcount == 1:
            _after_end(session, job, "failed")
    else:
        session.execute(
            update(Job)
            .where(*_mine(claim))
            .values(status="queued", attempts=attempts, claim_token=None, worker="")
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

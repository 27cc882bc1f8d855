"""Queue jobs, show them to those who may see them, claim them atomically, record their end.

A request that would take long queues a job and answers 202; a worker (`verifier jobs work`, or
the thread in `verifier scheduler`) claims it and runs the handler of its kind. Claiming is a
conditional UPDATE (on PostgreSQL after `SELECT ... FOR UPDATE SKIP LOCKED`), so two workers
never take the same job. A running job's worker writes a heartbeat every few seconds; a job
whose heartbeat is older than `JOB_STALE_SECONDS` lost its worker (killed, crashed, machine
gone) and is claimed again, resuming from the checkpoint its handler saved with its last
committed batch. After `max_attempts` claims it fails with a clear message instead.
Every write a worker makes is fenced by the claim's random token: once another worker has taken
the job over, the first one's writes find no row and it stops. Working a claimed job is in
verifier/jobs/worker.py.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import CursorResult, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import User
from verifier.crypto.encryption import Place
from verifier.db import sqlite_begin, utcnow
from verifier.errors import NotFound, TooManyRequests
from verifier.jobs.models import Job, JobFile, JobKind, JobStatus

log = logging.getLogger(__name__)

# short names of the kinds, as the features that queue jobs import them
IMPORT = JobKind.IMPORT
BULK_ISSUE = JobKind.BULK_ISSUE
CAMPAIGN = JobKind.CAMPAIGN
# kind -> its handler (a function of a JobContext answering a JobOutcome); the feature that owns
# the kind registers it from its receivers.py when the app is created, as jobs may not import it
HANDLERS: dict[str, Callable[..., Any]] = {}
# kinds whose jobs belong to the regulator, not to an organisation
REGULATOR_KINDS = frozenset({CAMPAIGN})
# jobs an organisation (or a regulator's user) may have waiting or running at once
MAX_PENDING_JOBS = 5


def register_handler(kind: str, handler: Callable[..., Any]) -> None:
    """Make `handler` work the jobs of `kind`; a feature calls it from its `connect()`."""
    HANDLERS[kind] = handler


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
    """Queue a job of a kind; a file (name, bytes) is stored encrypted until the job ends.

    An organisation (or, for the regulator's jobs, a user) may have at most
    MAX_PENDING_JOBS jobs waiting or running: more answers 429, so the queue cannot be flooded.
    """
    if kind not in HANDLERS:
        raise ValueError(f"unknown job kind {kind!r}")
    owner = (
        Job.organisation_id == organisation_id
        if organisation_id is not None
        else Job.created_by_id == (actor.id if actor is not None else None)
    )
    pending = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(owner, Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
    )
    if actor is not None and (pending or 0) >= MAX_PENDING_JOBS:
        raise TooManyRequests(
            _(
                "%(n)d jobs are already waiting or running; wait until one has finished",
                n=pending,
            )
        )
    job = Job(
        kind=kind,
        status=JobStatus.QUEUED,
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
        from verifier.crypto.encryption import get_cipher, sha256_hex

        session.add(
            JobFile(
                job_id=job.id,
                filename=name[:255],
                size=len(data),
                sha256=sha256_hex(data),
                data=get_cipher().seal(data, file_place(job.id)),
            )
        )
        session.flush()
    return job


def file_place(job_id: int) -> Place:
    """Where a job's file is stored: bound to its row, the job's id (docs/security.md)."""
    return Place("job_files", "data", job_id, f"job_files.data:{job_id}")


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
        Job.status == JobStatus.QUEUED,
        and_(Job.status == JobStatus.RUNNING, Job.heartbeat_at < now - stale_after),
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
            select(Job.id, Job.status, Job.attempts, Job.max_attempts, Job.locale)
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
        job_id, status, attempts, max_attempts, locale = row
        if status == JobStatus.RUNNING and attempts >= max_attempts:
            with force_locale(locale):
                _give_up(session, job_id, attempts, now, stale)
            session.commit()
            continue
        token = secrets.token_hex(16)
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts == attempts, _ready(now, stale))
            .values(
                status=JobStatus.RUNNING,
                attempts=attempts + 1,
                claim_token=token,
                worker=worker[:100],
                heartbeat_at=now,
                started_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        if rows_changed(claimed) != 1:  # another worker was quicker
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
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.heartbeat_at < now - stale)
        .values(status=JobStatus.FAILED, error=problem, finished_at=utcnow(), claim_token=None)
        .execution_options(synchronize_session=False)
    )
    if rows_changed(done) == 1:
        record_end(session, session.get(Job, job_id), JobStatus.FAILED)


def record_end(session: Session, job: Job | None, status: str) -> None:
    """Delete the job's file; record a failure in the audit log with how far the job got."""
    if job is None:
        return
    session.execute(delete(JobFile).where(JobFile.job_id == job.id))
    if status != JobStatus.FAILED:
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


def rows_changed(result: object) -> int:
    """Return how many rows an UPDATE changed (the session's Result of one is a CursorResult)."""
    return cast("CursorResult[Any]", result).rowcount


def claimed_by(claim: Claim) -> tuple[Any, ...]:
    """The condition of every write a worker makes: the job is still claimed by it."""
    return (Job.id == claim.job_id, Job.claim_token == claim.token, Job.status == JobStatus.RUNNING)

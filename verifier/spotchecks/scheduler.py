"""The scheduler process (`verifier scheduler`): APScheduler 3 with its job store in the database.

One cron job per active plan ("plan:<id>"), a job that re-reads the plans every minute, a daily
job that flags overdue supervision cases, an hourly job that signs an audit checkpoint when the
chain grew, and a catch-up at start. Every job runs in its own app context and transaction(s) and
calls the same code as `verifier spotcheck run-due`. Beside them a thread works the queue of jobs
(verifier/jobs: big imports, bulk issuance, large draws). Never started inside web workers.
A job sends the outbox every minute, as `verifier outbox send` does (VERIFIER_OUTBOX_SCHEDULER).
"""

from __future__ import annotations

import contextlib
import logging
import signal
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app
from sqlalchemy import select

from verifier.db import SCHEDULER_JOBS_TABLE, get_db, get_session, utcnow
from verifier.spotchecks.models import SpotCheckPlan
from verifier.spotchecks.plans import SCHEDULE_ZONE, cron_trigger
from verifier.spotchecks.runs import DueRun, RunOutcome, due_runs, run_plan_period
from verifier.spotchecks.signals import overdue_check

log = logging.getLogger(__name__)

JOBS_TABLE = SCHEDULER_JOBS_TABLE  # left out of the migrations (verifier/db.py)
PLAN_JOB_PREFIX = "plan:"
SYNC_JOB_ID = "sync-plans"
OVERDUE_JOB_ID = "flag-overdue-cases"
CHECKPOINT_JOB_ID = "audit-checkpoint"
CATCH_UP_JOB_ID = "catch-up"
OUTBOX_JOB_ID = "send-outbox"
OUTBOX_JOB_LIMIT = 500  # messages per minute at most; the rest wait for the next run
# A run missed while the scheduler was down still runs (once: coalesce) within this time.
MISFIRE_GRACE_SECONDS = 31 * 24 * 3600

_app: Flask | None = None  # the app the jobs run in; set by build_scheduler


def scheduler_options(app: Flask) -> dict[str, Any]:
    """Return the scheduler's configuration: the job store in the app's database, defaults."""
    return {
        "jobstores": {
            "default": SQLAlchemyJobStore(engine=get_db(app).engine, tablename=JOBS_TABLE)
        },
        "job_defaults": {
            "coalesce": True,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            "max_instances": 1,
        },
        "timezone": ZoneInfo(SCHEDULE_ZONE),
    }


def build_scheduler(app: Flask, cls: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
    """Make the scheduler for an app; its jobs run in that app."""
    global _app
    _app = app
    return cls(**scheduler_options(app))


def _job_app() -> Flask:
    if _app is None:
        raise RuntimeError("the scheduler's app is not set; build it with build_scheduler()")
    return _app


def run_due(
    app: Flask, now: datetime | None = None, plan_ids: list[int] | None = None
) -> list[RunOutcome]:
    """Run every plan period due at `now`, each in its own transaction; report each."""
    now = now or utcnow()
    with app.app_context():
        session = get_session()
        due = due_runs(session, now, plan_ids)
        session.rollback()
    return [_run_one(app, run) for run in due]


def _run_one(app: Flask, run: DueRun) -> RunOutcome:
    with app.app_context():
        session = get_session()
        try:
            outcome = run_plan_period(session, run)
            if outcome.status == "ran":
                session.commit()
            else:
                session.rollback()
        except Exception as exc:
            session.rollback()
            log.exception("spot-check plan %s, period %s failed", run.plan_id, run.period_key)
            return RunOutcome(run.plan_id, run.period_key, "failed", message=str(exc)[:300])
    log.info(
        "plan %s period %s: %s %s", run.plan_id, run.period_key, outcome.status,
        outcome.campaign_id or "",
    )  # fmt: skip
    return outcome


# --- jobs (module-level functions: the job store keeps a reference to them) ---------------------


def run_plan_job(plan_id: int) -> None:
    """Run one plan's due period (the cron job of plan:<id>)."""
    run_due(_job_app(), plan_ids=[plan_id])


def catch_up_job() -> None:
    """Run every period missed while no scheduler was running (once, at start)."""
    run_due(_job_app())


def sync_job() -> None:
    """Bring the plan jobs in line with the plans table."""
    app = _job_app()
    scheduler = app.extensions.get("verifier.scheduler")
    if scheduler is not None:
        sync_plan_jobs(scheduler, app)


def overdue_job() -> None:
    """Flag overdue supervision cases (daily): supervision receives `overdue_check`."""
    app = _job_app()
    with app.app_context():
        session = get_session()
        try:
            overdue_check.send(app, session=session, now=utcnow())
            session.commit()
        except Exception:
            session.rollback()
            log.exception("flagging overdue cases failed")


def checkpoint_job() -> None:
    """Sign an audit checkpoint when entries were appended since the last one (hourly)."""
    from verifier.integrity.checkpoints import make_checkpoint

    app = _job_app()
    with app.app_context():
        session = get_session()
        try:
            checkpoint = make_checkpoint(session)
            session.commit()
        except Exception:
            session.rollback()
            log.exception("signing an audit checkpoint failed")
            return
    if checkpoint is not None:
        log.info("audit checkpoint #%s: %s entries", checkpoint.seq, checkpoint.entry_count)


def outbox_job() -> None:
    """Send the outbox's due messages (every minute; VERIFIER_OUTBOX_SCHEDULER)."""
    from verifier.notifications.sender import send_pending

    try:
        report = send_pending(_job_app(), limit=OUTBOX_JOB_LIMIT)
    except Exception:
        log.exception("sending the outbox failed")
        return
    if report.handled or report.released:
        log.info(
            "outbox: sent %s, to try again %s, failed %s",
            report.sent,
            report.retrying,
            report.failed,
        )


def install_outbox_job(scheduler: BaseScheduler, app: Flask, now: datetime) -> None:
    """Add the every-minute outbox job, or remove a stored one when the setting is off."""
    if app.config["OUTBOX_SCHEDULER"]:
        scheduler.add_job(
            outbox_job,
            IntervalTrigger(minutes=1),
            id=OUTBOX_JOB_ID,
            name="send the outbox",
            replace_existing=True,
            next_run_time=now + timedelta(seconds=10),
        )
    elif scheduler.get_job(OUTBOX_JOB_ID) is not None:
        scheduler.remove_job(OUTBOX_JOB_ID)


def sync_plan_jobs(scheduler: BaseScheduler, app: Flask) -> dict[str, list[str]]:
    """Add, change and remove plan jobs to match the active scheduled plans (and add the daily
    overdue-cases job and the hourly audit-checkpoint job if they are missing).

    A job whose schedule is unchanged is left alone: replacing it would recompute its next run
    time and so forget a run missed while the scheduler was down.
    """
    with app.app_context():
        session = get_session()
        wanted = {
            f"{PLAN_JOB_PREFIX}{plan_id}": (plan_id, schedule)
            for plan_id, schedule in session.execute(
                select(SpotCheckPlan.id, SpotCheckPlan.schedule).where(
                    SpotCheckPlan.active.is_(True), SpotCheckPlan.schedule != ""
                )
            )
        }
        session.rollback()
    changes: dict[str, list[str]] = {"added": [], "changed": [], "removed": []}
    if scheduler.get_job(OVERDUE_JOB_ID) is None:
        scheduler.add_job(
            overdue_job,
            CronTrigger(hour=1, minute=0, timezone=ZoneInfo(SCHEDULE_ZONE)),
            id=OVERDUE_JOB_ID,
            name="flag overdue supervision cases",
        )
        changes["added"].append(OVERDUE_JOB_ID)
    if scheduler.get_job(CHECKPOINT_JOB_ID) is None:
        scheduler.add_job(
            checkpoint_job,
            CronTrigger(minute=0, timezone=ZoneInfo(SCHEDULE_ZONE)),
            id=CHECKPOINT_JOB_ID,
            name="sign an audit checkpoint",
        )
        changes["added"].append(CHECKPOINT_JOB_ID)
    for job in scheduler.get_jobs():
        if job.id.startswith(PLAN_JOB_PREFIX) and job.id not in wanted:
            scheduler.remove_job(job.id)
            changes["removed"].append(job.id)
    for job_id, (plan_id, schedule) in sorted(wanted.items()):
        trigger = cron_trigger(schedule)
        name = f"{job_id} {schedule}"  # the name carries the schedule, to notice a change
        job = scheduler.get_job(job_id)
        if job is None:
            scheduler.add_job(
                run_plan_job, trigger, args=[plan_id], id=job_id, name=name, replace_existing=True
            )
            changes["added"].append(job_id)
        elif job.name != name:
            scheduler.modify_job(job_id, name=name)
            scheduler.reschedule_job(job_id, trigger=trigger)
            changes["changed"].append(job_id)
    return changes


def install_jobs(scheduler: BaseScheduler, app: Flask) -> None:
    """Add the jobs of a start: the plan sync (now, then every minute) and a catch-up."""
    app.extensions["verifier.scheduler"] = scheduler
    now = datetime.now(ZoneInfo(SCHEDULE_ZONE))
    scheduler.add_job(
        sync_job,
        IntervalTrigger(minutes=1),
        id=SYNC_JOB_ID,
        name="sync plan jobs",
        replace_existing=True,
        next_run_time=now,
    )
    scheduler.add_job(
        catch_up_job,
        id=CATCH_UP_JOB_ID,
        name="catch up missed runs",
        replace_existing=True,
        next_run_time=now + timedelta(seconds=5),
    )
    install_outbox_job(scheduler, app, now)


def start_job_worker(app: Flask) -> Any:
    """Start the thread that works the jobs queue (big imports, bulk issuance, draws)."""
    from verifier.jobs.worker import WorkerThread

    worker = WorkerThread(app)
    worker.start()
    return worker


def run_scheduler() -> None:
    """Run the blocking scheduler in this process until interrupted (Ctrl-C or SIGTERM).

    A thread beside it works the jobs queue (verifier/jobs), one job at a time.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is a proxy, typed as the app
    scheduler = build_scheduler(app, BlockingScheduler)
    install_jobs(scheduler, app)
    worker = start_job_worker(app)

    def stop(_signum: int, _frame: Any) -> None:
        worker.stopping.set()
        if scheduler.running:  # a second SIGTERM after the first shut it down is no error
            scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    try:
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            scheduler.start()
    finally:
        worker.stop()

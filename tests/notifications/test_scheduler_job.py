"""`verifier scheduler` sends the outbox every minute, unless VERIFIER_OUTBOX_SCHEDULER=false."""

from __future__ import annotations

from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from outbox_helpers import SmtpCatcher, outbox, queue
from support import committing_sqlite_app

from verifier.notifications.models import OutboxStatus
from verifier.spotchecks.scheduler import (
    OUTBOX_JOB_ID,
    build_scheduler,
    install_jobs,
    outbox_job,
)


def test_the_scheduler_registers_the_outbox_job_and_drops_it_when_turned_off(tmp_path):
    app = committing_sqlite_app(tmp_path / "scheduler.db")
    try:
        scheduler = build_scheduler(app, BackgroundScheduler)
        scheduler.start(paused=True)
        try:
            install_jobs(scheduler, app)
            job = scheduler.get_job(OUTBOX_JOB_ID)
            assert job is not None and job.func is outbox_job
            assert isinstance(job.trigger, IntervalTrigger)
            assert job.trigger.interval == timedelta(minutes=1)
            # the job is kept in the database: a restart with the setting off removes it
            app.config["OUTBOX_SCHEDULER"] = False
            install_jobs(scheduler, app)
            assert scheduler.get_job(OUTBOX_JOB_ID) is None
        finally:
            scheduler.shutdown(wait=False)
    finally:
        app.extensions["verifier.db"].engine.dispose()


def test_the_job_sends_what_is_due(tmp_path):
    catcher = SmtpCatcher().start()
    app = committing_sqlite_app(tmp_path / "scheduler.db", SMTP_URL=catcher.url)
    try:
        build_scheduler(app)  # the jobs run in this app
        queue(app, "a@example.cn", "b@example.cn")
        outbox_job()
        assert [m.status for m in outbox(app)] == [OutboxStatus.SENT, OutboxStatus.SENT]
        assert len(catcher.accepted) == 2
    finally:
        catcher.stop()
        app.extensions["verifier.db"].engine.dispose()

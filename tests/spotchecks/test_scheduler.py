"""Scheduled runs: due periods, exactly once (also across processes), catch-up, the job store."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from support import TEST_DATA_KEY, Factory, committing_sqlite_app
from support.campaign_world import World, parameters

from verifier.audit.models import AuditEntry
from verifier.db import get_session
from verifier.spotchecks import runs as runs_module
from verifier.spotchecks.models import SpotCheckCampaign, SpotCheckPlan, SpotCheckPlanRun
from verifier.spotchecks.runs import latest_fire_time

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _plan(app, world, schedule="", created_days_ago=0, **extra):
    """Create a plan through the API, then date its creation back."""
    client = app.test_client()
    body = {"name": "月度抽查", "parameters": parameters(), "schedule": schedule, **extra}
    response = client.post("/api/v1/spotcheck/plans", json=body, headers=world.headers())
    assert response.status_code == 201, response.get_json()
    plan_id = response.get_json()["id"]
    if created_days_ago:

        def backdate(session):
            plan = session.get(SpotCheckPlan, plan_id)
            plan.created_at = datetime.now(UTC) - timedelta(days=created_days_ago)

        Factory(app).run(backdate)
    return plan_id


def _run_due(app):
    return app.test_cli_runner().invoke(args=["spotcheck", "run-due"])


def _count(app, model, **where):
    with app.app_context():
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return get_session().scalar(stmt)


def _latest_local(now, weekday, hour):
    """The latest local time at `hour`:00 on `weekday` (Monday 0) not after now, found naively."""
    moment = now.astimezone(SHANGHAI).replace(minute=0, second=0, microsecond=0)
    while not (moment.weekday() == weekday and moment.hour == hour and moment <= now):
        moment -= timedelta(hours=1)
    return moment


@pytest.fixture
def world(app):
    return World(app, orgs=3, records=2)


def test_run_due_twice_makes_one_campaign(app, world):
    plan_id = _plan(app, world, schedule="0 2 1 1 *", created_days_ago=800)
    first = _run_due(app)
    assert first.exit_code == 0, first.output
    assert f"plan {plan_id}, period " in first.output and ": ran, campaign" in first.output
    second = _run_due(app)
    assert second.exit_code == 0 and second.output.strip() == "nothing due"
    assert _count(app, SpotCheckCampaign, plan_id=plan_id) == 1
    with app.app_context():
        session = get_session()
        run = session.scalars(select(SpotCheckPlanRun)).one()
        campaign = session.get(SpotCheckCampaign, run.campaign_id)
        assert campaign.origin == "scheduled" and campaign.status == "drawn"
        year = datetime.now(SHANGHAI).year
        assert run.period_key in (f"{year}-01-01T02:00+08:00", f"{year - 1}-01-01T02:00+08:00")
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "spotcheck.scheduled_run")
        ).one()
        assert audit.object_id == str(plan_id) and audit.actor == "scheduler"


def test_a_missed_run_is_caught_up_once_not_once_per_missed_period(app, world):
    plan_id = _plan(app, world, schedule="0 2 * * 1", created_days_ago=30)  # Mondays 02:00
    assert _run_due(app).exit_code == 0
    assert _run_due(app).output.strip() == "nothing due"
    with app.app_context():
        keys = list(get_session().scalars(select(SpotCheckPlanRun.period_key)))
    expected = _latest_local(datetime.now(UTC), weekday=0, hour=2)
    assert keys == [expected.isoformat(timespec="minutes")]
    assert _count(app, SpotCheckCampaign, plan_id=plan_id) == 1


def test_the_period_is_relative_to_the_scheduled_time(app, world):
    previous_month = {"mode": "previous_month"}
    plan_id = _plan(
        app,
        world,
        schedule="0 2 1 * *",
        created_days_ago=70,
        parameters=parameters(period=previous_month),
    )
    assert _run_due(app).exit_code == 0
    with app.app_context():
        session = get_session()
        run = session.scalars(select(SpotCheckPlanRun)).one()
        campaign = session.get(SpotCheckCampaign, run.campaign_id)
        fire = datetime.fromisoformat(run.period_key)
        last_month_end = fire.date().replace(day=1) - timedelta(days=1)
        assert campaign.parameters["period"] == {
            "mode": "fixed",
            "from": last_month_end.replace(day=1).isoformat(),
            "to": last_month_end.isoformat(),
            "as": "previous_month",
        }
        assert campaign.plan_id == plan_id


def test_nothing_is_due_before_the_first_fire_time_or_for_a_paused_plan(app, world):
    _plan(app, world, schedule="0 2 1 1 *")  # created now: the next 1 January is ahead
    paused = _plan(app, world, schedule="* * * * *", created_days_ago=2)
    client = app.test_client()
    from support import login

    login(client, world.supervisor.email)
    assert (
        client.post(f"/spotchecks/plans/{paused}/active", data={"active": "0"}).status_code == 302
    )
    assert _run_due(app).output.strip() == "nothing due"


def test_a_single_run_plan_runs_once(app, world):
    past = (datetime.now(SHANGHAI) - timedelta(hours=1)).isoformat(timespec="minutes")
    plan_id = _plan(app, world, run_at=past)
    assert "period once: ran" in _run_due(app).output
    assert _run_due(app).output.strip() == "nothing due"
    assert _count(app, SpotCheckCampaign, plan_id=plan_id) == 1


def test_the_scheduler_job_runs_the_same_code(app, world):
    from verifier.spotchecks.scheduler import build_scheduler, run_plan_job

    plan_id = _plan(app, world, schedule="*/5 * * * *", created_days_ago=1)
    build_scheduler(app)  # the jobs run in this app
    run_plan_job(plan_id)
    run_plan_job(plan_id)
    assert _count(app, SpotCheckPlanRun, plan_id=plan_id) == 1


def test_latest_fire_time():
    now = datetime(2026, 3, 5, 12, 0, tzinfo=SHANGHAI)
    since = datetime(2025, 1, 1, tzinfo=UTC)
    assert latest_fire_time("0 2 1 * *", since, now) == datetime(2026, 3, 1, 2, 0, tzinfo=SHANGHAI)
    assert latest_fire_time("*/15 * * * *", since, now) == now
    assert latest_fire_time("0 2 1 1 *", since, now) == datetime(2026, 1, 1, 2, tzinfo=SHANGHAI)
    assert latest_fire_time("0 2 1 1 *", datetime(2026, 2, 1, tzinfo=UTC), now) is None


def test_a_bad_crontab_is_refused(client, world):
    for schedule, rule in (("0 2 1 *", "crontab"), ("61 2 * * *", "crontab")):
        response = client.post(
            "/api/v1/spotcheck/plans",
            json={"name": "x", "parameters": parameters(), "schedule": schedule},
            headers=world.headers(),
        )
        assert response.status_code == 422
        assert response.get_json()["errors"][0] == {
            "field": "schedule",
            "rule": rule,
            "message": response.get_json()["errors"][0]["message"],
        }


def test_the_job_store_lives_in_the_database(tmp_path):
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    from verifier.spotchecks.scheduler import (
        JOBS_TABLE,
        MISFIRE_GRACE_SECONDS,
        build_scheduler,
        scheduler_options,
        sync_plan_jobs,
    )

    app = committing_sqlite_app(tmp_path / "scheduler.db")
    engine = app.extensions["verifier.db"].engine
    options = scheduler_options(app)
    store = options["jobstores"]["default"]
    assert isinstance(store, SQLAlchemyJobStore) and store.engine is engine
    assert options["job_defaults"]["coalesce"] is True
    assert MISFIRE_GRACE_SECONDS >= 7 * 24 * 3600
    world = World(app, orgs=1, records=1, inspectors=1)
    plan_id = _plan(app, world, schedule="0 2 1 * *")
    scheduler = build_scheduler(app, BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        changes = sync_plan_jobs(scheduler, app)
        assert changes["added"] == ["flag-overdue-cases", "audit-checkpoint", f"plan:{plan_id}"]
        with engine.connect() as conn:
            ids = set(conn.execute(text(f"SELECT id FROM {JOBS_TABLE}")).scalars())
        assert ids == {"flag-overdue-cases", "audit-checkpoint", f"plan:{plan_id}"}
        job = scheduler.get_job(f"plan:{plan_id}")
        assert str(job.trigger.timezone) == "Asia/Shanghai"
        assert job.coalesce is True and job.misfire_grace_time == MISFIRE_GRACE_SECONDS
        next_run = job.next_run_time
        # syncing again leaves the job alone (its next run time, hence a missed run, is kept)
        assert sync_plan_jobs(scheduler, app) == {"added": [], "changed": [], "removed": []}
        assert scheduler.get_job(f"plan:{plan_id}").next_run_time == next_run

        def change(session, **values):
            plan = session.get(SpotCheckPlan, plan_id)
            for name, value in values.items():
                setattr(plan, name, value)

        Factory(app).run(lambda s: change(s, schedule="30 3 * * *"))
        assert sync_plan_jobs(scheduler, app)["changed"] == [f"plan:{plan_id}"]
        Factory(app).run(lambda s: change(s, active=False))
        assert sync_plan_jobs(scheduler, app)["removed"] == [f"plan:{plan_id}"]
        with engine.connect() as conn:
            ids = set(conn.execute(text(f"SELECT id FROM {JOBS_TABLE}")).scalars())
        assert ids == {"flag-overdue-cases", "audit-checkpoint"}
    finally:
        scheduler.shutdown(wait=False)
        engine.dispose()


# --- PostgreSQL: two processes at once -------------------------------------------------------


def _verifier_env(url):
    env = dict(os.environ)
    env.update(
        VERIFIER_DATABASE_URL=url,
        VERIFIER_ENV="development",
        VERIFIER_SECRET_KEY="test-secret-key-0123456789",
        VERIFIER_DATA_KEY=TEST_DATA_KEY,
    )
    return env


@pytest.mark.postgres
def test_two_run_due_processes_at_once_make_one_campaign(committing_app, postgres_url):
    world = World(committing_app, orgs=3, records=2)
    plan_id = _plan(committing_app, world, schedule="0 2 1 1 *", created_days_ago=800)
    command = [str(Path(sys.executable).parent / "verifier"), "spotcheck", "run-due"]
    env = _verifier_env(postgres_url)
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    text_out = "".join(out.decode() for out, _err in outputs)
    assert text_out.count(": ran, campaign") == 1, text_out
    assert _count(committing_app, SpotCheckCampaign, plan_id=plan_id) == 1
    assert _count(committing_app, SpotCheckPlanRun, plan_id=plan_id) == 1


@pytest.mark.postgres
def test_the_advisory_lock_makes_a_second_runner_skip(committing_app, monkeypatch):
    from verifier.spotchecks.scheduler import run_due

    world = World(committing_app, orgs=2, records=1)
    plan_id = _plan(committing_app, world, schedule="0 2 1 1 *", created_days_ago=800)
    real = runs_module.run_campaign

    def slow(*args, **kwargs):
        time.sleep(0.5)  # hold the lock while the other runner arrives
        return real(*args, **kwargs)

    monkeypatch.setattr(runs_module, "run_campaign", slow)
    barrier = threading.Barrier(2)
    statuses: list[str] = []

    def worker():
        barrier.wait()
        statuses.extend(o.status for o in run_due(committing_app, plan_ids=[plan_id]))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # the second runner finds the lock taken and skips at once (or, if it came late, finds
    # nothing due); either way the plan ran once
    assert statuses.count("ran") == 1 and set(statuses) <= {"ran", "locked"}
    assert _count(committing_app, SpotCheckCampaign, plan_id=plan_id) == 1

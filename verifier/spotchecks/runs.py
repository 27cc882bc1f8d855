"""Scheduled runs of plans: what is due now, and running each plan's period exactly once.

A run is identified by (plan, period_key), the period key being the scheduled fire time. The
unique constraint on spotcheck_plan_runs makes a second run of the same period fail; on
PostgreSQL a transaction-scoped advisory lock per plan lets a second process skip at once instead
of waiting for the first. The row is claimed first, in the run's own transaction, so a crash
rolls the claim back with the campaign and the run happens again later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.spotchecks.models import SpotCheckPlan, SpotCheckPlanRun
from verifier.spotchecks.plans import cron_trigger
from verifier.spotchecks.services import run_campaign, sample_counts
from verifier.spotchecks.states import CampaignOrigin
from verifier.timeutil import to_local

# First key of the two-key PostgreSQL advisory lock; the second is the plan's id.
PLAN_LOCK_NAMESPACE = 7_310_004
ONCE = "once"


@dataclass(frozen=True)
class DueRun:
    plan_id: int
    period_key: str
    fire_time: datetime


@dataclass(frozen=True)
class RunOutcome:
    plan_id: int
    period_key: str
    status: str  # "ran", "already_run", "locked", "inactive", "failed"
    campaign_id: int | None = None
    message: str = ""


def period_key_of(fire_time: datetime) -> str:
    return to_local(fire_time).isoformat(timespec="minutes")


def latest_fire_time(schedule: str, since: datetime, now: datetime) -> datetime | None:
    """Return the latest time the schedule fired in [since, now], or None.

    Looks back in doubling windows, so a plan that fires every minute costs as little as one
    that fires once a year.
    """
    trigger = cron_trigger(schedule)
    window = timedelta(hours=1)
    while True:
        start = max(now - window, since)
        last = None
        fire = trigger.get_next_fire_time(None, start)
        while fire is not None and fire <= now:
            last = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if last is not None or start <= since:
            return last
        window *= 2


def due_run(plan: SpotCheckPlan, now: datetime) -> DueRun | None:
    """Return the run of a plan that is due at `now` (whether or not it already happened)."""
    if not plan.active:
        return None
    if plan.schedule:
        fire = latest_fire_time(plan.schedule, plan.created_at, now)
        return DueRun(plan.id, period_key_of(fire), fire) if fire is not None else None
    if plan.run_at is not None and plan.run_at <= now:
        return DueRun(plan.id, ONCE, plan.run_at)
    return None


def due_runs(session: Session, now: datetime, plan_ids: list[int] | None = None) -> list[DueRun]:
    """Return the runs due at `now` that have not happened yet, one per plan at most."""
    stmt = select(SpotCheckPlan).where(SpotCheckPlan.active.is_(True)).order_by(SpotCheckPlan.id)
    if plan_ids is not None:
        stmt = stmt.where(SpotCheckPlan.id.in_(plan_ids))
    found = []
    for plan in session.scalars(stmt):
        run = due_run(plan, now)
        if run is None:
            continue
        done = session.scalar(
            select(SpotCheckPlanRun.id).where(
                SpotCheckPlanRun.plan_id == plan.id,
                SpotCheckPlanRun.period_key == run.period_key,
            )
        )
        if done is None:
            found.append(run)
    return found


def run_plan_period(session: Session, run: DueRun) -> RunOutcome:
    """Run a plan for one period unless it already ran; the caller commits only on "ran"."""
    if session.get_bind().dialect.name == "postgresql":
        locked = session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:namespace, :plan)"),
            {"namespace": PLAN_LOCK_NAMESPACE, "plan": run.plan_id},
        )
        if not locked:
            return RunOutcome(run.plan_id, run.period_key, "locked")
    # The claim is the transaction's first write: on SQLite it takes the single writer's lock.
    claim = SpotCheckPlanRun(plan_id=run.plan_id, period_key=run.period_key)
    try:
        with session.begin_nested():
            session.add(claim)
            session.flush()
    except IntegrityError:
        return RunOutcome(run.plan_id, run.period_key, "already_run")
    except OperationalError as exc:  # SQLite: another process holds the write lock
        if "locked" not in str(exc).lower():
            raise
        return RunOutcome(run.plan_id, run.period_key, "locked")
    plan = session.get(SpotCheckPlan, run.plan_id)
    if plan is None or not plan.active:
        return RunOutcome(run.plan_id, run.period_key, "inactive")
    name = f"{plan.name} · {to_local(run.fire_time):%Y-%m-%d %H:%M}"
    campaign = run_campaign(
        session, None, plan=plan, name=name, trigger=CampaignOrigin.SCHEDULED, now=run.fire_time
    )
    claim.campaign_id = campaign.id
    session.flush()
    record_event(
        session,
        None,
        "spotcheck.scheduled_run",
        "spotcheck_plan",
        plan.id,
        details={
            "period_key": run.period_key,
            "campaign_id": campaign.id,
            "population_hash": campaign.population_hash,
            "sample_size": sample_counts(session, [campaign.id]).get(campaign.id, 0),
        },
        actor_label="scheduler",
    )
    return RunOutcome(run.plan_id, run.period_key, "ran", campaign.id)

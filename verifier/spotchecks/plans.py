"""Spot-check plans (抽查计划): their parameters and when they run (a crontab or a single time).

A plan only says what to draw and when; each run is a campaign (verifier.spotchecks.services).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import User
from verifier.errors import NotFound, ValidationError
from verifier.spotchecks.models import SpotCheckPlan, SpotCheckPlanRun
from verifier.spotchecks.services import require_supervisor
from verifier.text import check_characters

if TYPE_CHECKING:  # the schemas import the API package, which imports this module's users
    from verifier.spotchecks.schemas import PlanCreate

SCHEDULE_ZONE = "Asia/Shanghai"
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekday_names(field: str) -> str:
    """Write a crontab's numeric weekdays (0 or 7 Sunday, 1 Monday) as names.

    APScheduler 3 reads weekday numbers with 0 as Monday, unlike crontab; names mean the same to
    both, so "0 2 * * 1" runs on Mondays as anyone who knows cron expects.
    """
    if not any(ch.isdigit() for ch in field.split("/")[0]) and "/" not in field:
        return field
    days: set[int] = set()
    for part in field.split(","):
        base, _slash, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            start, end = base.split("-", 1)
            first, last = int(start), int(end)
        else:
            first = int(base)
            last = 6 if step_text else first
        if not (0 <= first <= 7 and 0 <= last <= 7 and first <= last and step >= 1):
            raise ValueError(f"weekday {part!r} is out of range (0-7)")
        days |= {day % 7 for day in range(first, last + 1, step)}
    return ",".join(_WEEKDAYS[day] for day in sorted(days))


def cron_trigger(schedule: str) -> CronTrigger:
    """Return the trigger of a crontab in Asia/Shanghai time, or a ValidationError naming it."""
    try:
        fields = schedule.split()
        if len(fields) == 5:
            fields[4] = _weekday_names(fields[4])
        return CronTrigger.from_crontab(" ".join(fields), timezone=SCHEDULE_ZONE)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            _(
                "schedule is not a valid crontab (minute hour day month weekday, e.g. "
                '"0 2 1 * *"): %(reason)s',
                reason=str(exc),
            ),
            field="schedule",
            rule="crontab",
        ) from None


def create_plan(session: Session, data: PlanCreate, actor: User | None) -> SpotCheckPlan:
    """Create a plan (抽查计划); a schedule must be a valid crontab."""
    require_supervisor(actor)
    schedule = " ".join(data.schedule.split())
    if schedule:
        cron_trigger(schedule)
        if data.run_at is not None:
            raise ValidationError(
                _("give a schedule or a single run time, not both"),
                field="run_at",
                rule="schedule_or_run_at",
            )
    name = data.name.strip()
    if not name:
        raise ValidationError(_("name is required"), field="name", rule="required")
    check_characters(name, field="name", label=_("name"))
    plan = SpotCheckPlan(
        name=name,
        parameters=data.parameters.dumped(),
        schedule=schedule,
        run_at=data.run_at,
        active=True,
        created_by_id=actor.id if actor else None,
    )
    session.add(plan)
    session.flush()
    record_event(
        session,
        actor,
        "spotcheck.plan.create",
        "spotcheck_plan",
        plan.id,
        details={"name": plan.name, "schedule": schedule, "parameters": plan.parameters},
    )
    return plan


def set_plan_active(session: Session, plan: SpotCheckPlan, active: bool, actor: User) -> None:
    """Pause or resume a plan's schedule."""
    require_supervisor(actor)
    plan.active = active
    session.flush()
    action = "spotcheck.plan.resume" if active else "spotcheck.plan.pause"
    record_event(session, actor, action, "spotcheck_plan", plan.id)


def get_plan(session: Session, plan_id: int) -> SpotCheckPlan:
    plan = session.get(SpotCheckPlan, plan_id)
    if plan is None:
        raise NotFound(_("no such spot-check plan"))
    return plan


def list_plans(session: Session) -> list[SpotCheckPlan]:
    return list(session.scalars(select(SpotCheckPlan).order_by(SpotCheckPlan.id.desc())))


def runs_of(session: Session, plan: SpotCheckPlan) -> list[SpotCheckPlanRun]:
    """Return a plan's scheduled runs, newest first."""
    return list(
        session.scalars(
            select(SpotCheckPlanRun)
            .where(SpotCheckPlanRun.plan_id == plan.id)
            .order_by(SpotCheckPlanRun.id.desc())
        )
    )

"""The campaign job: a draw over a population bigger than a request should wait for.

The campaign is built by the same code as a synchronous one (freeze, then seed, draw and
assign, in one transaction); the job only moves it out of the request. A job whose worker died
had committed nothing, so its next attempt starts the campaign afresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verifier.api.schemas import validate
from verifier.auth.models import User
from verifier.db import utcnow
from verifier.jobs.models import Job
from verifier.jobs.services import CAMPAIGN, JobOutcome, enqueue
from verifier.jobs.worker import JobContext
from verifier.records.models import RecordStatus, ServiceRecord
from verifier.spotchecks.plans import get_plan
from verifier.spotchecks.population import (
    organisations_in_scope,
    period_bounds,
    resolve_period,
)
from verifier.spotchecks.schemas import CampaignCreate
from verifier.spotchecks.services import require_supervisor


def population_estimate(session: Session, parameters: Mapping[str, Any]) -> int:
    """Count a campaign's population with two counts (organisations, records), drawing nothing."""
    organisations = organisations_in_scope(session, parameters["scope"])
    bounds = period_bounds(resolve_period(parameters["period"], utcnow()))
    records = 0
    for start in range(0, len(organisations), 500):
        stmt = select(func.count()).where(
            ServiceRecord.status == RecordStatus.ACTIVE,
            ServiceRecord.organisation_id.in_(organisations[start : start + 500]),
        )
        if bounds is not None:
            stmt = stmt.where(ServiceRecord.service_date.between(*bounds))
        records += int(session.scalar(stmt) or 0)
    return records + (len(organisations) if parameters["unit"] == "two_stage" else 0)


def _parameters(session: Session, body: CampaignCreate) -> Mapping[str, Any]:
    if body.parameters is not None:
        return body.parameters.dumped()
    assert body.plan_id is not None  # CampaignCreate holds the plan or the parameters
    return get_plan(session, body.plan_id).parameters


def runs_as_job(session: Session, body: CampaignCreate, prefer_async: bool = False) -> bool:
    """Tell whether a campaign is drawn by a job: a population above the limit, or when asked."""
    if prefer_async:
        return True
    limit = int(current_app.config["CAMPAIGN_SYNC_MAX_POPULATION"])
    return population_estimate(session, _parameters(session, body)) > limit


def queue_campaign(session: Session, actor: User, body: CampaignCreate, locale: str) -> Job:
    """Check who asks and that the plan exists, and queue the campaign."""
    require_supervisor(actor)
    if body.plan_id is not None:
        get_plan(session, body.plan_id)
    return enqueue(session, CAMPAIGN, actor, body.model_dump(mode="json"), locale=locale)


def run_campaign_job(ctx: JobContext) -> JobOutcome:
    """Run the campaign; the result is the synchronous answer (201 with the campaign)."""
    from verifier.spotchecks.api import campaign_from_body, campaign_out

    body = validate(CampaignCreate, ctx.params)
    campaign = campaign_from_body(ctx.session, ctx.actor(), body)
    return JobOutcome(campaign_out(campaign).model_dump(mode="json"), 201)

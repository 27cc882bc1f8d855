"""JSON API for spot-check plans, campaigns, their manifests, and inspectors' conflicts."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import answer, local, read_json
from verifier.auth.access import current_actor, public, require_actor, roles
from verifier.auth.models import REGULATOR_INSPECTOR, REGULATOR_ROLES, REGULATOR_SUPERVISOR
from verifier.db import get_session
from verifier.jobs.api import ACCEPTED_TEXT, accepted, prefers_async, request_locale
from verifier.jobs.schemas import JobOut
from verifier.spotchecks.inspectors import declare_conflict, list_conflicts
from verifier.spotchecks.jobs import queue_campaign, runs_as_job
from verifier.spotchecks.models import InspectorConflict, SpotCheckCampaign
from verifier.spotchecks.plans import create_plan, get_plan, list_plans
from verifier.spotchecks.schemas import (
    CampaignCreate,
    CampaignList,
    CampaignOut,
    CampaignSummary,
    ConflictCreate,
    ConflictList,
    ConflictOut,
    Manifest,
    PlanCreate,
    PlanList,
    PlanOut,
    SampleItemOut,
    SeedIn,
)
from verifier.spotchecks.services import (
    assignments_of,
    fix_seed,
    get_campaign,
    list_campaigns,
    manifest,
    publish_campaign,
    run_campaign,
    sample_counts,
    sample_of,
    visible_campaign,
)

REGULATORS = sorted(REGULATOR_ROLES)
ID = "<int(max=2147483647):{}>"
TAG = "spot checks"


def campaign_out(campaign: SpotCheckCampaign) -> CampaignOut:
    session = get_session()
    inspectors = assignments_of(session, campaign)
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        plan_id=campaign.plan_id,
        status=campaign.status,
        population_size=campaign.population_size,
        population_hash=campaign.population_hash,
        commitment=campaign.commitment,
        frozen_at=local(campaign.frozen_at),
        server_secret=campaign.server_secret,  # None until the seed is fixed
        ceremony_input=campaign.ceremony_input,
        seed=campaign.seed,
        seed_source=campaign.seed_source,
        seeded_at=local(campaign.seeded_at),
        published_at=local(campaign.published_at),
        shortfall=campaign.shortfall or [],
        sample=[
            SampleItemOut(
                id=item.id,
                item=item.item_id,
                kind=item.kind,
                organisation_id=item.organisation_id,
                record_id=item.record_id,
                stage=item.stage,
                rank=item.rank,
                forced=item.forced,
                inspector_ids=[u.id for u in inspectors.get(item.id, [])],
            )
            for item in sample_of(session, campaign)
        ],
    )


@bp.post("/spotcheck/plans")
@roles(REGULATOR_SUPERVISOR)
@operation(
    summary="Create a spot-check plan (抽查计划)",
    tag=TAG,
    description=(
        "Scope (region prefix, organisation types), period of records (fixed, the previous N "
        "days or the previous calendar month, relative to each run), unit (`two_stage` or "
        "`records`), sample sizes (fixed, a rate with minimum and maximum, or statistical), "
        "stratification, weighting (uniform, by hours, by risk score), always including "
        "organisations with open complaints, inspectors per organisation (at least 1, default "
        "2), and a crontab `schedule` in Asia/Shanghai time or a single `run_at`."
    ),
    body=PlanCreate,
    response=PlanOut,
    status=201,
)
def create_plan_api() -> Any:
    body = read_json(PlanCreate)
    plan = create_plan(get_session(), body, require_actor())
    return answer(PlanOut.of(plan), 201, url_for("api.get_plan_api", plan_id=plan.id))


@bp.get("/spotcheck/plans")
@roles(*REGULATORS)
@operation(summary="List spot-check plans", tag=TAG, response=PlanList)
def list_plans_api() -> Any:
    return answer(PlanList(items=[PlanOut.of(p) for p in list_plans(get_session())]))


@bp.get(f"/spotcheck/plans/{ID.format('plan_id')}")
@roles(*REGULATORS)
@operation(summary="Show a spot-check plan", tag=TAG, response=PlanOut)
def get_plan_api(plan_id: int) -> Any:
    return answer(PlanOut.of(get_plan(get_session(), plan_id)))


@bp.post("/spotcheck/campaigns")
@roles(REGULATOR_SUPERVISOR)
@operation(
    summary="Run a spot-check campaign (抽查批次) now",
    tag=TAG,
    description=(
        "Of a plan (`plan_id`) or of inline `parameters`. The population is frozen and its hash "
        "written first, with the `commitment` (SHA-256) to a server secret drawn from the "
        "CSPRNG; only then is the seed fixed: SHA-256 of the server secret and the "
        "`ceremony_input` (empty when none is given), and the secret is revealed; then the "
        "sample and the inspectors are drawn. With `await_seed` the campaign stops after "
        "freezing (population hash and commitment shown; secret, seed and sample empty) until "
        "POST /spotcheck/campaigns/{id}/seed. Answers 201 with the campaign: id, "
        "population_hash, commitment, server_secret, ceremony_input, seed and sample (with each "
        "item's inspectors). Deprecated: the body's `seed` is now the ceremony input (the old "
        "name of `ceremony_input`), no longer the seed itself. A population larger than "
        "`VERIFIER_CAMPAIGN_SYNC_MAX_POPULATION` (default 10000 organisations and records) is "
        "drawn by a job: " + ACCEPTED_TEXT
    ),
    body=CampaignCreate,
    response=CampaignOut,
    status=201,
    responses={202: ("Queued as a job; poll `Location`.", JobOut)},
    errors=(404, 429),
)
def create_campaign_api() -> Any:
    body = read_json(CampaignCreate)
    session, actor = get_session(), require_actor()
    if runs_as_job(session, body, prefers_async()):
        return accepted(queue_campaign(session, actor, body, request_locale()))
    campaign = campaign_from_body(session, actor, body)
    location = url_for("api.get_campaign_api", campaign_id=campaign.id)
    return answer(campaign_out(campaign), 201, location)


def campaign_from_body(session: Any, actor: Any, body: CampaignCreate) -> SpotCheckCampaign:
    """Run the campaign a request asks for (the API call, or its job)."""
    plan = get_plan(session, body.plan_id) if body.plan_id is not None else None
    return run_campaign(
        session,
        actor,
        plan=plan,
        parameters=body.parameters,
        name=body.name or "",
        ceremony_input=body.ceremony_input,
        await_seed=body.await_seed,
    )


@bp.get("/spotcheck/campaigns")
@roles(*REGULATORS)
@operation(summary="List spot-check campaigns", tag=TAG, response=CampaignList)
def list_campaigns_api() -> Any:
    session = get_session()
    campaigns = list_campaigns(session)
    counts = sample_counts(session, [c.id for c in campaigns])
    return answer(
        CampaignList(
            items=[
                CampaignSummary(
                    id=c.id,
                    name=c.name,
                    plan_id=c.plan_id,
                    status=c.status,
                    population_size=c.population_size,
                    population_hash=c.population_hash,
                    commitment=c.commitment,
                    sample_size=counts.get(c.id, 0),
                    created_at=local(c.created_at),
                )
                for c in campaigns
            ]
        )
    )


@bp.get(f"/spotcheck/campaigns/{ID.format('campaign_id')}")
@roles(*REGULATORS)
@operation(
    summary="Show a campaign: hash, commitment, seed, sample and inspectors",
    tag=TAG,
    response=CampaignOut,
)
def get_campaign_api(campaign_id: int) -> Any:
    return answer(campaign_out(get_campaign(get_session(), campaign_id)))


@bp.post(f"/spotcheck/campaigns/{ID.format('campaign_id')}/seed")
@roles(REGULATOR_SUPERVISOR)
@operation(
    summary="Give a frozen campaign's ceremony input, fix its seed, and draw",
    tag=TAG,
    description=(
        "The `ceremony_input` (20–128 letters and digits, e.g. twenty dice rolls, fixed in "
        "public after the commitment was published) and the committed server secret give the "
        'seed: SHA-256 hex of UTF-8(server_secret + "\\n" + ceremony_input); the secret is '
        "revealed in the answer. Deprecated: `seed` is still accepted as the old name of "
        "`ceremony_input`. Only once: a campaign whose seed is fixed answers 409."
    ),
    body=SeedIn,
    response=CampaignOut,
    errors=(409,),
)
def seed_campaign_api(campaign_id: int) -> Any:
    body = read_json(SeedIn)
    session = get_session()
    campaign = fix_seed(
        session, get_campaign(session, campaign_id), body.ceremony_input, require_actor()
    )
    return answer(campaign_out(campaign))


@bp.post(f"/spotcheck/campaigns/{ID.format('campaign_id')}/publish")
@roles(REGULATOR_SUPERVISOR)
@operation(
    summary="Publish a drawn campaign (一公开)",
    tag=TAG,
    description=(
        "Its manifest and results page become public. Refused (409) while no finding has been "
        "recorded on any of its items."
    ),
    response=CampaignOut,
    errors=(409,),
)
def publish_campaign_api(campaign_id: int) -> Any:
    session = get_session()
    campaign = get_campaign(session, campaign_id)
    publish_campaign(session, campaign, require_actor())
    return answer(campaign_out(campaign))


@bp.get(f"/spotcheck/campaigns/{ID.format('campaign_id')}/manifest")
@public
@operation(
    summary="A campaign's manifest: everything needed to replay its draw",
    tag=TAG,
    description=(
        "Format, commitment, server secret (once the seed is fixed), ceremony input, seed, "
        "parameters, population (ids such as `org:12` and `rec:345`, strata, weights, "
        "always-included flags) with its hash and timestamps, the sample in draw order, and the "
        "inspector draw (ids such as `inspector:7`, exclusions, initial loads, result). No "
        "personal data. Regulators see every campaign's; anyone sees a published one's (others "
        "404). `verifier spotcheck replay FILE` recomputes it; docs/spotchecks.md states the rule."
    ),
    response=Manifest,
)
def campaign_manifest_api(campaign_id: int) -> Any:
    session = get_session()
    campaign = visible_campaign(session, current_actor(), campaign_id)
    # only the keys the manifest's format has: a format-1 manifest stays as it was published
    body = Manifest.model_validate(manifest(session, campaign))
    response = jsonify(body.model_dump(mode="json", exclude_unset=True))
    response.headers["Content-Disposition"] = (
        f'inline; filename="spotcheck-{campaign.id}-manifest.json"'
    )
    return response


def _conflict_out(conflict: InspectorConflict) -> ConflictOut:
    return ConflictOut(
        id=conflict.id,
        inspector_id=conflict.inspector_id,
        organisation_id=conflict.organisation_id,
        organisation_name=conflict.organisation.name,
        note=conflict.note,
        declared_at=local(conflict.declared_at),
    )


@bp.get("/spotcheck/conflicts")
@roles(*REGULATORS)
@operation(
    summary="Declared conflicts of interest (回避)",
    tag=TAG,
    description="An inspector sees their own; a supervisor sees everyone's.",
    response=ConflictList,
)
def list_conflicts_api() -> Any:
    rows = list_conflicts(get_session(), require_actor())
    return answer(ConflictList(items=[_conflict_out(c) for c in rows]))


@bp.post("/spotcheck/conflicts")
@roles(REGULATOR_INSPECTOR)
@operation(
    summary="Declare a conflict of interest with an organisation (回避)",
    tag=TAG,
    description="The inspector is never drawn to check that organisation. Declaring it again "
    "answers the existing declaration.",
    body=ConflictCreate,
    response=ConflictOut,
    status=201,
)
def declare_conflict_api() -> Any:
    body = read_json(ConflictCreate)
    conflict = declare_conflict(get_session(), require_actor(), body.organisation_id, body.note)
    return answer(_conflict_out(conflict), 201)

"""Spot-check campaigns: freeze the population and commit to a secret, then fix the seed, draw.

The order is the guarantee: a campaign's population, its hash and the commitment to a server
secret are written (and may be published) before any seed exists; the seed is SHA-256 of that
secret and the ceremony input, so neither the supervisor who types the input nor the server that
drew the secret can choose it alone (docs/spotchecks.md, "The seed").
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, lazyload

from verifier.audit.services import record_event
from verifier.auth.models import REGULATOR_SUPERVISOR, User
from verifier.crypto.encryption import Place, get_cipher
from verifier.db import utcnow
from verifier.errors import Conflict, Forbidden, NotFound, ValidationError
from verifier.spotchecks.draw import (
    CEREMONY_INPUT_PATTERN,
    MANIFEST_FORMAT,
    MANIFEST_FORMAT_V1,
    NO_CEREMONY,
    campaign_seed,
    commitment_of,
    compute_sample,
)
from verifier.spotchecks.inspectors import assign_inspectors
from verifier.spotchecks.models import (
    SpotCheckAssignment,
    SpotCheckCampaign,
    SpotCheckItem,
    SpotCheckPlan,
    SpotCheckPopulationItem,
)
from verifier.spotchecks.population import (
    build_population,
    item_number,
    resolve_period,
)
from verifier.spotchecks.sampling import population_hash
from verifier.spotchecks.states import CampaignOrigin, CampaignStatus, ItemKind
from verifier.text import check_characters

if TYPE_CHECKING:  # the schemas import the API package, which imports this module's users
    from verifier.spotchecks.schemas import PlanParameters


def server_secret_place(campaign_id: int) -> Place:
    """Where a campaign's hidden server secret is stored: bound to its row (docs/security.md)."""
    return Place(
        "spotcheck_campaigns", "server_secret_enc", campaign_id, "spotcheck_campaigns.server_secret"
    )


def require_supervisor(actor: User | None) -> None:
    if actor is not None and actor.role != REGULATOR_SUPERVISOR:
        raise Forbidden(_("only a regulator supervisor may do this"))


def commit_to_secret(campaign: SpotCheckCampaign) -> None:
    """Draw the campaign's server secret (32 bytes, CSPRNG); keep it hidden, set its commitment.

    The campaign must be flushed: the ciphertext is bound to its id.
    """
    secret = secrets.token_hex(32)
    campaign.server_secret_enc = get_cipher().seal_text(secret, server_secret_place(campaign.id))
    campaign.commitment = commitment_of(secret)


def freeze_population(
    session: Session,
    parameters: PlanParameters | Mapping[str, Any],
    actor: User | None,
    *,
    plan: SpotCheckPlan | None = None,
    name: str = "",
    trigger: str = CampaignOrigin.MANUAL,
    now: datetime | None = None,
) -> SpotCheckCampaign:
    """Start a campaign: write its population, its hash and the commitment; no seed yet."""
    require_supervisor(actor)
    now = now or utcnow()
    params = parameters.dumped() if hasattr(parameters, "dumped") else dict(parameters)
    params["period"] = resolve_period(params["period"], now)
    population = build_population(session, params)
    campaign = SpotCheckCampaign(
        plan_id=plan.id if plan else None,
        name=check_characters(
            (name or (plan.name if plan else "") or _("Spot check")).strip()[:200],
            field="name",
            label=_("name"),
        ),
        status=CampaignStatus.FROZEN,
        origin=trigger,
        parameters=params,
        population_size=len(population),
        population_hash=population_hash(row["id"] for row in population),
        frozen_at=utcnow(),
        inspector_draw={},
        shortfall=[],
        created_by_id=actor.id if actor else None,
    )
    session.add(campaign)
    session.flush()
    commit_to_secret(campaign)
    if population:
        session.execute(
            insert(SpotCheckPopulationItem),
            [
                {
                    "campaign_id": campaign.id,
                    "item_id": row["id"],
                    "kind": row["kind"],
                    "stratum": row["stratum"],
                    "weight": row["weight"],
                    "forced": row["forced"],
                }
                for row in population
            ],
        )
    record_event(
        session,
        actor,
        "spotcheck.freeze",
        "spotcheck_campaign",
        campaign.id,
        details={
            "plan_id": campaign.plan_id,
            "population_size": campaign.population_size,
            "population_hash": campaign.population_hash,
            "commitment": campaign.commitment,
            "frozen_at": campaign.frozen_at.isoformat(),
        },
    )
    return campaign


def fix_seed(
    session: Session,
    campaign: SpotCheckCampaign,
    ceremony_input: str | None,
    actor: User | None,
) -> SpotCheckCampaign:
    """Fix a frozen campaign's seed from its committed secret and the ceremony input, then draw.

    The seed is SHA-256 of the server secret and the ceremony input ("" when none is given);
    the secret is revealed with it.
    """
    require_supervisor(actor)
    # lock the campaign row where the database can, so two seeds cannot race
    locked = session.scalars(
        select(SpotCheckCampaign)
        .where(SpotCheckCampaign.id == campaign.id)
        .options(lazyload(SpotCheckCampaign.plan))
        .with_for_update(of=SpotCheckCampaign)
        .execution_options(populate_existing=True)
    ).one()
    if locked.seed is not None:
        raise Conflict(
            _("this campaign's seed is already fixed; a seed can be fixed only once"),
        )
    typed = (ceremony_input or "").strip()
    if ceremony_input is not None and not CEREMONY_INPUT_PATTERN.fullmatch(typed):
        raise ValidationError(
            _("a ceremony input is 20 to 128 letters and digits (e.g. twenty dice rolls)"),
            field="ceremony_input",
            rule="seed_format",
        )
    if locked.server_secret_enc is None:
        # frozen before commitments existed (an upgraded database): commit now, with the seed
        commit_to_secret(locked)
    assert locked.server_secret_enc is not None
    secret = get_cipher().open_text(locked.server_secret_enc, server_secret_place(locked.id))
    locked.server_secret = secret
    locked.server_secret_enc = None
    locked.ceremony_input = typed or NO_CEREMONY
    locked.seed = campaign_seed(secret, locked.ceremony_input)
    locked.seed_source = "ceremony" if typed else "csprng"
    locked.seeded_at = utcnow()
    session.flush()
    record_event(
        session,
        actor,
        "spotcheck.seed",
        "spotcheck_campaign",
        locked.id,
        details={
            "seed": locked.seed,
            "source": locked.seed_source,
            "ceremony_input": locked.ceremony_input,
            "server_secret": locked.server_secret,
            "commitment": locked.commitment,
            "population_hash": locked.population_hash,
        },
    )
    draw_campaign(session, locked, actor)
    return locked


def population_of(session: Session, campaign: SpotCheckCampaign) -> list[dict[str, Any]]:
    """Return the frozen population as the manifest lists it, in the order it was written."""
    rows = session.execute(
        select(
            SpotCheckPopulationItem.item_id,
            SpotCheckPopulationItem.kind,
            SpotCheckPopulationItem.stratum,
            SpotCheckPopulationItem.weight,
            SpotCheckPopulationItem.forced,
        )
        .where(SpotCheckPopulationItem.campaign_id == campaign.id)
        .order_by(SpotCheckPopulationItem.id)
    )
    return [
        {"id": i, "kind": k, "stratum": s, "weight": w, "forced": bool(f)} for i, k, s, w, f in rows
    ]


def draw_campaign(session: Session, campaign: SpotCheckCampaign, actor: User | None) -> None:
    """Draw the sample from the frozen population with the fixed seed, then the inspectors."""
    assert campaign.seed is not None
    population = population_of(session, campaign)
    sample = compute_sample(campaign.seed, campaign.parameters, population)
    rows = []
    for rank, entry in enumerate(sample, start=1):
        org_id = item_number(
            entry["id"] if entry["kind"] == ItemKind.ORGANISATION else entry["stratum"]
        )
        rows.append(
            {
                "campaign_id": campaign.id,
                "kind": entry["kind"],
                "item_id": entry["id"],
                "organisation_id": org_id,
                "record_id": item_number(entry["id"]) if entry["kind"] == ItemKind.RECORD else None,
                "stratum": entry["stratum"],
                "stage": entry["stage"],
                "rank": rank,
                "key": entry["key"],
                "forced": entry["forced"],
            }
        )
    if rows:
        session.execute(insert(SpotCheckItem), rows)
    campaign.drawn_at = utcnow()
    campaign.status = CampaignStatus.DRAWN
    session.flush()
    record_event(
        session,
        actor,
        "spotcheck.draw",
        "spotcheck_campaign",
        campaign.id,
        details={
            "sample_size": len(sample),
            "sample_hash": population_hash(e["id"] for e in sample),
            "forced": [e["id"] for e in sample if e["forced"]],
        },
    )
    assign_inspectors(session, campaign, sample, actor)


def run_campaign(
    session: Session,
    actor: User | None,
    *,
    plan: SpotCheckPlan | None = None,
    parameters: PlanParameters | Mapping[str, Any] | None = None,
    name: str = "",
    ceremony_input: str | None = None,
    await_seed: bool = False,
    trigger: str = CampaignOrigin.MANUAL,
    now: datetime | None = None,
) -> SpotCheckCampaign:
    """Run a campaign of a plan or of inline parameters: freeze and commit, then seed and draw."""
    require_supervisor(actor)
    if plan is None and parameters is None:
        raise ValidationError(
            _("give a plan or the parameters"), field="plan_id", rule="plan_or_parameters"
        )
    if parameters is None:
        assert plan is not None  # checked just above
        parameters = plan.parameters
    campaign = freeze_population(
        session, parameters, actor, plan=plan, name=name, trigger=trigger, now=now
    )
    if not await_seed:
        fix_seed(session, campaign, ceremony_input, actor)
    return campaign


def get_campaign(session: Session, campaign_id: int) -> SpotCheckCampaign:
    campaign = session.get(SpotCheckCampaign, campaign_id)
    if campaign is None:
        raise NotFound(_("no such spot-check campaign"))
    return campaign


def visible_campaign(session: Session, actor: User | None, campaign_id: int) -> SpotCheckCampaign:
    """Return a campaign for regulators, or a published one for anyone; NotFound otherwise."""
    campaign = get_campaign(session, campaign_id)
    if campaign.published_at is None and (actor is None or not actor.is_regulator):
        raise NotFound(_("no such spot-check campaign"))
    return campaign


def list_campaigns(session: Session, plan_id: int | None = None) -> list[SpotCheckCampaign]:
    stmt = select(SpotCheckCampaign).order_by(SpotCheckCampaign.id.desc())
    if plan_id is not None:
        stmt = stmt.where(SpotCheckCampaign.plan_id == plan_id)
    return list(session.scalars(stmt))


def sample_counts(session: Session, campaign_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(SpotCheckItem.campaign_id, func.count())
        .where(SpotCheckItem.campaign_id.in_(campaign_ids))
        .group_by(SpotCheckItem.campaign_id)
    )
    return {cid: n for cid, n in rows}


def sample_of(session: Session, campaign: SpotCheckCampaign) -> list[SpotCheckItem]:
    return list(
        session.scalars(
            select(SpotCheckItem)
            .where(SpotCheckItem.campaign_id == campaign.id)
            .order_by(SpotCheckItem.rank)
        )
    )


def assignments_of(session: Session, campaign: SpotCheckCampaign) -> dict[int, list[User]]:
    """Return each sample item's inspectors."""
    found: dict[int, list[User]] = {}
    rows = session.execute(
        select(SpotCheckAssignment.item_id, User)
        .join(SpotCheckItem, SpotCheckItem.id == SpotCheckAssignment.item_id)
        .join(User, User.id == SpotCheckAssignment.inspector_id)
        .where(SpotCheckItem.campaign_id == campaign.id)
        .order_by(SpotCheckAssignment.item_id, User.id)
    )
    for item_id, user in rows:
        found.setdefault(item_id, []).append(user)
    return found


def findings_recorded(session: Session, campaign: SpotCheckCampaign) -> int:
    """Return how many of the campaign's sample items have a finding."""
    return (
        session.scalar(
            select(func.count())
            .select_from(SpotCheckItem)
            .where(SpotCheckItem.campaign_id == campaign.id, SpotCheckItem.finding.has())
        )
        or 0
    )


def publish_campaign(session: Session, campaign: SpotCheckCampaign, actor: User) -> None:
    """Make a drawn campaign's manifest and results public (一公开)."""
    require_supervisor(actor)
    if campaign.status != CampaignStatus.DRAWN:
        raise Conflict(_("only a drawn campaign can be published"))
    if campaign.published_at is None and not findings_recorded(session, campaign):
        raise Conflict(
            _(
                "nothing to publish yet: no finding has been recorded on any item of this "
                "campaign; publish once the inspectors have recorded findings"
            )
        )
    if campaign.published_at is None:
        campaign.published_at = utcnow()
        session.flush()
        record_event(session, actor, "spotcheck.publish", "spotcheck_campaign", campaign.id)


def manifest(session: Session, campaign: SpotCheckCampaign) -> dict[str, Any]:
    """Return the campaign's manifest: all its draw depends on; ids only, nothing personal."""
    sample = [
        {
            "id": item.item_id,
            "kind": item.kind,
            "stratum": item.stratum,
            "stage": item.stage,
            "forced": item.forced,
            "key": item.key,
        }
        for item in sample_of(session, campaign)
    ]
    if campaign.commitment is None:
        # drawn before commitments existed: the format-1 manifest, exactly as it was published
        return {
            "format": MANIFEST_FORMAT_V1,
            "campaign_id": campaign.id,
            "plan_id": campaign.plan_id,
            "seed": campaign.seed,
            "seed_source": campaign.seed_source,
            **_manifest_draw(session, campaign, sample),
        }
    return {
        "format": MANIFEST_FORMAT,
        "campaign_id": campaign.id,
        "plan_id": campaign.plan_id,
        "commitment": campaign.commitment,
        "server_secret": campaign.server_secret,  # None until the seed is fixed
        "ceremony_input": campaign.ceremony_input,
        "seed": campaign.seed,
        "seed_source": campaign.seed_source,
        **_manifest_draw(session, campaign, sample),
    }


def _manifest_draw(
    session: Session, campaign: SpotCheckCampaign, sample: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "parameters": campaign.parameters,
        "population_size": campaign.population_size,
        "population_hash": campaign.population_hash,
        "frozen_at": campaign.frozen_at.isoformat(),
        "seeded_at": campaign.seeded_at.isoformat() if campaign.seeded_at else None,
        "population": population_of(session, campaign),
        "sample": sample,
        "inspector_draw": campaign.inspector_draw or {},
        "shortfall": campaign.shortfall or [],
    }

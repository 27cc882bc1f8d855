"""Spot-check plans, campaigns, their frozen populations and samples, inspectors' assignments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from verifier.codes import one_of
from verifier.db import Base, utcnow
from verifier.spotchecks.states import CampaignOrigin, CampaignStatus, ItemKind


class SpotCheckPlan(Base):
    """A regulator's standing instruction: what to check, how much, and when (抽查计划)."""

    __tablename__ = "spotcheck_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # PlanParameters (verifier/spotchecks/schemas.py) as JSON: scope, period, unit, sizes ...
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    # a crontab ("0 2 1 * *", Asia/Shanghai) for a scheduled plan; "" for a single run
    schedule: Mapped[str] = mapped_column(String(100), default="")
    run_at: Mapped[datetime | None]  # a single run's time; None: only when run by hand
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by = relationship("User", lazy="joined")


class SpotCheckCampaign(Base):
    """One run of a plan (or of inline parameters): frozen population, then seed, then draw."""

    __tablename__ = "spotcheck_campaigns"
    __table_args__ = (
        CheckConstraint(one_of("status", CampaignStatus), name="status_known"),
        CheckConstraint(one_of("origin", CampaignOrigin), name="origin_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("spotcheck_plans.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.FROZEN)
    origin: Mapped[str] = mapped_column(String(16), default=CampaignOrigin.MANUAL)
    # the parameters as run: the plan's, with a relative period resolved to dates
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    population_size: Mapped[int] = mapped_column(default=0)
    population_hash: Mapped[str] = mapped_column(String(64))
    frozen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The server secret is drawn at freezing and only its SHA-256 (the commitment) is shown;
    # until the seed is fixed it is kept encrypted (server_secret_enc), then revealed in clear
    # (server_secret). All three are None for campaigns frozen before commitments existed
    # (manifest format 1: their seed was used as written).
    commitment: Mapped[str | None] = mapped_column(String(64))
    server_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    server_secret: Mapped[str | None] = mapped_column(String(64))
    # what the ceremony typed after the commitment ("" when nobody typed one); set with the seed
    ceremony_input: Mapped[str | None] = mapped_column(String(128))
    # SHA-256 of server_secret + "\n" + ceremony_input (format 1: the typed or random seed)
    seed: Mapped[str | None] = mapped_column(String(128))
    seed_source: Mapped[str] = mapped_column(String(16), default="")  # "csprng" or "ceremony"
    seeded_at: Mapped[datetime | None]
    drawn_at: Mapped[datetime | None]
    # the inspector draw, as the manifest lists it (inputs per organisation and the result)
    inspector_draw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # organisations that got fewer inspectors than asked for: [{organisation, needed, assigned}]
    shortfall: Mapped[list[Any]] = mapped_column(JSON, default=list)
    published_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    plan = relationship("SpotCheckPlan", lazy="joined")


class SpotCheckPopulationItem(Base):
    """One member of a campaign's frozen population, with its id exactly as the manifest has it."""

    __tablename__ = "spotcheck_population"
    __table_args__ = (
        UniqueConstraint("campaign_id", "item_id", name="uq_spotcheck_population_item"),
        CheckConstraint(one_of("kind", ItemKind), name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("spotcheck_campaigns.id"))
    item_id: Mapped[str] = mapped_column(String(40))  # "org:12", "rec:345"
    kind: Mapped[str] = mapped_column(String(16))
    stratum: Mapped[str] = mapped_column(String(40), default="")
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    # always included (an organisation with open complaints): added outside the draw
    forced: Mapped[bool] = mapped_column(default=False)


class SpotCheckItem(Base):
    """One member of the sample: an organisation or a record to inspect."""

    __tablename__ = "spotcheck_items"
    __table_args__ = (
        UniqueConstraint("campaign_id", "rank", name="uq_spotcheck_items_rank"),
        CheckConstraint(one_of("kind", ItemKind), name="kind_known"),
        Index("ix_spotcheck_items_campaign_org", "campaign_id", "organisation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("spotcheck_campaigns.id"))
    kind: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[str] = mapped_column(String(40))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("service_records.id"), index=True)
    stratum: Mapped[str] = mapped_column(String(40), default="")
    stage: Mapped[int] = mapped_column(default=1)
    rank: Mapped[int]  # position in the draw order, from 1
    key: Mapped[float | None] = mapped_column(Float)  # u, or -ln(u)/w; None when forced
    forced: Mapped[bool] = mapped_column(default=False)

    campaign = relationship("SpotCheckCampaign", lazy="joined")
    organisation = relationship("Organisation", lazy="joined")
    # the inspection's finding once recorded (verifier/supervision, above this feature): an item
    # with one is done; only queried (`SpotCheckItem.finding.has()`), never loaded from here
    finding = relationship("SpotCheckFinding", viewonly=True, uselist=False, lazy="raise")


class SpotCheckAssignment(Base):
    """An inspector drawn to check an item."""

    __tablename__ = "spotcheck_assignments"
    __table_args__ = (
        UniqueConstraint("item_id", "inspector_id", name="uq_spotcheck_assignments_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("spotcheck_items.id"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)

    item = relationship("SpotCheckItem", lazy="joined")
    inspector = relationship("User", lazy="joined")


class InspectorConflict(Base):
    """An inspector's declared affiliation with an organisation (回避): never drawn for it."""

    __tablename__ = "inspector_conflicts"
    __table_args__ = (
        UniqueConstraint("inspector_id", "organisation_id", name="uq_inspector_conflicts_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)

    inspector = relationship("User", lazy="joined")
    organisation = relationship("Organisation", lazy="joined")


class SpotCheckPlanRun(Base):
    """A scheduled run of a plan for one period: the unique pair makes each run happen once."""

    __tablename__ = "spotcheck_plan_runs"
    __table_args__ = (
        UniqueConstraint("plan_id", "period_key", name="uq_spotcheck_plan_runs_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("spotcheck_plans.id"))
    period_key: Mapped[str] = mapped_column(String(40))  # the fire time, "2026-03-01T02:00+08:00"
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("spotcheck_campaigns.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)

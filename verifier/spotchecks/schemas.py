"""The parameters of a spot-check plan and the API's bodies for plans, campaigns and conflicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask_babel import gettext as _
from pydantic import Field, StrictBool, StrictFloat, StrictInt, model_validator
from pydantic_core import PydanticCustomError

from verifier.api.schemas import (
    InputModel,
    IsoDate,
    LocalDateTime,
    OutputModel,
    RecordId,
    Text,
    local,
)
from verifier.orgs.models import OrgType
from verifier.spotchecks.draw import CEREMONY_INPUT_PATTERN
from verifier.spotchecks.states import CampaignStatus, ItemKind

Number = StrictFloat | StrictInt


class SampleSize(InputModel):
    """How many to draw from a population of N: a count, a rate, or a statistical size."""

    mode: Literal["fixed", "rate", "statistical"] = Field(
        description="`fixed`: `count` items; `rate`: ceil(rate × N) kept between `minimum` and "
        "`maximum`; `statistical`: n = ceil(ln(1 − confidence) / ln(1 − tolerable_rate)). "
        "Never more than N."
    )
    count: StrictInt | None = Field(None, ge=0, le=1_000_000)
    rate: Number | None = Field(None, gt=0, le=1, description="A fraction, e.g. 0.05 for 5%.")
    minimum: StrictInt = Field(0, ge=0, le=1_000_000)
    maximum: StrictInt | None = Field(None, ge=0, le=1_000_000)
    confidence: Number | None = Field(None, gt=0, lt=1, examples=[0.95])
    tolerable_rate: Number | None = Field(None, gt=0, lt=1, examples=[0.05])

    @model_validator(mode="after")
    def _complete(self) -> SampleSize:
        needed = {
            "fixed": ("count",),
            "rate": ("rate",),
            "statistical": ("confidence", "tolerable_rate"),
        }[self.mode]
        for name in needed:
            if getattr(self, name) is None:
                raise PydanticCustomError(
                    "size_incomplete",
                    _("sample size mode {mode} needs {name}"),
                    {"mode": self.mode, "name": name},
                )
        if self.maximum is not None and self.maximum < self.minimum:
            raise PydanticCustomError(
                "size_bounds", _("the maximum must not be below the minimum"), {}
            )
        return self


class Scope(InputModel):
    """Which organisations: all, or those whose region code starts so and/or of these types."""

    region_prefix: str = Field(
        "", pattern=r"^\d{0,6}$", description="Leading digits of the region code (GB/T 2260)."
    )
    org_types: list[OrgType] = Field(default_factory=list, description="Empty: every type.")


class Period(InputModel):
    """Which records, by service date: fixed dates, or relative to the run."""

    mode: Literal["all", "fixed", "previous_days", "previous_month"] = "all"
    date_from: IsoDate | None = Field(None, alias="from")
    date_to: IsoDate | None = Field(None, alias="to")
    days: StrictInt | None = Field(None, ge=1, le=3660)

    model_config = InputModel.model_config | {"populate_by_name": True}

    @model_validator(mode="after")
    def _complete(self) -> Period:
        if self.mode == "fixed":
            if self.date_from is None or self.date_to is None:
                raise PydanticCustomError(
                    "period_incomplete", _("a fixed period needs from and to")
                )
            if self.date_to < self.date_from:
                raise PydanticCustomError("period_order", _("the period ends before it starts"))
        if self.mode == "previous_days" and self.days is None:
            raise PydanticCustomError("period_incomplete", _("previous_days needs days"))
        return self

    def dumped(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class PlanParameters(InputModel):
    """Everything a draw depends on, apart from the seed and the population itself."""

    scope: Scope = Field(default_factory=Scope)
    period: Period = Field(default_factory=Period)
    unit: Literal["two_stage", "records"] = Field(
        "two_stage",
        description="`two_stage`: organisations, then records within each sampled one; "
        "`records`: records directly.",
    )
    sample_size: SampleSize = Field(
        description="Stage 1 (organisations) for two_stage; records for the records unit "
        "(per organisation when `stratify_by_organisation`)."
    )
    records_per_organisation: SampleSize | None = Field(
        None, description="Stage 2 of two_stage, and the records of always-included ones."
    )
    stratify_by_organisation: StrictBool = False
    weighting: Literal["uniform", "hours", "risk"] = "uniform"
    include_complaints: StrictBool = Field(
        True, description="Organisations with open complaints are always included."
    )
    inspectors_per_organisation: StrictInt = Field(2, ge=1, le=20)

    @model_validator(mode="after")
    def _complete(self) -> PlanParameters:
        if self.records_per_organisation is None:
            if self.unit == "two_stage":
                raise PydanticCustomError(
                    "per_org_required", _("two_stage needs records_per_organisation")
                )
            # the records of an always-included organisation under the records unit
            self.records_per_organisation = SampleSize(mode="fixed", count=5)
        return self

    def dumped(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class PlanCreate(InputModel):
    name: Text = Field(min_length=1, max_length=200)
    parameters: PlanParameters
    schedule: Text = Field(
        "",
        max_length=100,
        description='A crontab, Asia/Shanghai time: "0 2 1 * *" is the 1st of each month at '
        "02:00. Empty for a single run.",
        examples=["0 2 1 * *"],
    )
    run_at: LocalDateTime | None = Field(
        None, description="A single run's time (with an empty schedule); none: run by hand."
    )


class PlanOut(OutputModel):
    id: int
    name: str
    parameters: dict[str, Any]
    schedule: str
    run_at: datetime | None
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, plan: Any) -> PlanOut:
        return cls(
            id=plan.id,
            name=plan.name,
            parameters=plan.parameters,
            schedule=plan.schedule,
            run_at=local(plan.run_at),
            active=plan.active,
            created_at=local(plan.created_at),
        )


class PlanList(OutputModel):
    items: list[PlanOut]


def _check_ceremony_input(value: str | None) -> str | None:
    if value is not None and not CEREMONY_INPUT_PATTERN.fullmatch(value.strip()):
        raise PydanticCustomError(
            "seed_format",
            _("a ceremony input is 20 to 128 letters and digits (e.g. twenty dice rolls)"),
            {"field": "ceremony_input"},
        )
    return value.strip() if value is not None else None


def _one_input(ceremony_input: str | None, seed: str | None) -> str | None:
    """Return the ceremony input, given under its name or under the deprecated `seed`."""
    if ceremony_input is not None and seed is not None:
        raise PydanticCustomError(
            "ceremony_input_or_seed",
            _("give ceremony_input or its deprecated name seed, not both"),
            {"field": "ceremony_input"},
        )
    return _check_ceremony_input(ceremony_input if ceremony_input is not None else seed)


CEREMONY_INPUT_DESCRIPTION = (
    "The ceremony input: 20–128 letters and digits from a public ceremony (e.g. twenty dice "
    "rolls), given after the commitment is published. The campaign seed is SHA-256 of the server "
    "secret committed at freezing and this input (docs/spotchecks.md), never the input itself."
)
DEPRECATED_SEED_DESCRIPTION = (
    "Deprecated name of `ceremony_input`, still accepted. Until manifest format 2 this value was "
    "the campaign seed itself; it is now only the ceremony input, and the answer's `seed` is the "
    "derived campaign seed."
)


class CampaignCreate(InputModel):
    plan_id: RecordId | None = None
    name: Text | None = Field(None, max_length=200)
    parameters: PlanParameters | None = None
    ceremony_input: Text | None = Field(
        None,
        description=CEREMONY_INPUT_DESCRIPTION + " Without it (and without `await_seed`) the "
        "seed derives from the server secret alone, with the empty ceremony input.",
    )
    seed: Text | None = Field(
        None, description=DEPRECATED_SEED_DESCRIPTION, json_schema_extra={"deprecated": True}
    )
    await_seed: StrictBool = Field(
        False,
        description="Freeze the population, commit to the server secret and stop: publish the "
        "population hash and the commitment, then give the ceremony input with "
        "POST /spotcheck/campaigns/{id}/seed.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> CampaignCreate:
        if (self.plan_id is None) == (self.parameters is None):
            raise PydanticCustomError(
                "plan_or_parameters", _("give either plan_id or parameters, not both or neither")
            )
        self.ceremony_input = _one_input(self.ceremony_input, self.seed)
        self.seed = None
        if self.ceremony_input is not None and self.await_seed:
            raise PydanticCustomError(
                "seed_or_wait",
                _("give a ceremony input or await_seed, not both"),
                {"field": "ceremony_input"},
            )
        return self


class SeedIn(InputModel):
    ceremony_input: Text | None = Field(None, description=CEREMONY_INPUT_DESCRIPTION)
    seed: Text | None = Field(
        None, description=DEPRECATED_SEED_DESCRIPTION, json_schema_extra={"deprecated": True}
    )

    @model_validator(mode="after")
    def _format(self) -> SeedIn:
        if self.ceremony_input is None and self.seed is None:
            raise PydanticCustomError(
                "ceremony_input_required",
                _("ceremony_input is required"),
                {"field": "ceremony_input"},
            )
        self.ceremony_input = _one_input(self.ceremony_input, self.seed)
        self.seed = None
        return self


class SampleItemOut(OutputModel):
    id: int = Field(description="The sample item's id (for findings).")
    item: str = Field(description='The population id: "org:12" or "rec:345".')
    kind: ItemKind
    organisation_id: int
    record_id: int | None
    stage: int
    rank: int
    forced: bool = Field(description="Always included (open complaints), outside the draw.")
    inspector_ids: list[int]


COMMITMENT_DESCRIPTION = (
    "SHA-256 (hex) of the server secret drawn when the population was frozen, published "
    "before any ceremony input; null for campaigns drawn before commitments existed (manifest "
    "format 1)."
)


class CampaignOut(OutputModel):
    id: int
    name: str
    plan_id: int | None
    status: CampaignStatus
    population_size: int
    population_hash: str
    commitment: str | None = Field(description=COMMITMENT_DESCRIPTION)
    frozen_at: datetime
    server_secret: str | None = Field(
        description="The server secret (64 hex), revealed once the seed is fixed; null before."
    )
    ceremony_input: str | None = Field(
        description='What the ceremony gave after the commitment ("" when nobody typed one); '
        "null before the seed is fixed."
    )
    seed: str | None = Field(
        description='The campaign seed: SHA-256 hex of UTF-8(server_secret + "\\n" + '
        "ceremony_input). For a format-1 campaign (no commitment), the seed as it was given."
    )
    seed_source: str = Field(description='"ceremony" (an input was typed) or "csprng".')
    seeded_at: datetime | None
    published_at: datetime | None
    shortfall: list[dict[str, Any]] = Field(
        description="Organisations that got fewer eligible inspectors than asked for."
    )
    sample: list[SampleItemOut]


class CampaignSummary(OutputModel):
    id: int
    name: str
    plan_id: int | None
    status: str
    population_size: int
    population_hash: str
    commitment: str | None = Field(description=COMMITMENT_DESCRIPTION)
    sample_size: int
    created_at: datetime


class CampaignList(OutputModel):
    items: list[CampaignSummary]


class Manifest(OutputModel):
    """Everything needed to replay a campaign's draw; ids only, no personal data."""

    model_config = {"extra": "allow"}

    format: str = Field(
        description="`verifier-spotcheck-manifest/2`: the seed derives from `server_secret` and "
        "`ceremony_input`, and the secret matches `commitment`. `verifier-spotcheck-manifest/1` "
        "(campaigns drawn before commitments existed): the seed is used as written, and "
        "`commitment`, `server_secret` and `ceremony_input` are absent."
    )
    campaign_id: int
    commitment: str | None = Field(None, description=COMMITMENT_DESCRIPTION)
    server_secret: str | None = Field(
        None, description="Format 2: the server secret, null until the seed is fixed."
    )
    ceremony_input: str | None = Field(
        None, description='Format 2: the ceremony input ("" when none), null until seeded.'
    )
    seed: str | None
    parameters: dict[str, Any]
    population_hash: str
    frozen_at: str = Field(description="When the population was frozen (ISO 8601, UTC).")
    seeded_at: str | None = Field(description="When the seed was fixed; always after frozen_at.")
    population: list[dict[str, Any]] = Field(
        description="{id, kind, stratum, weight, forced} per item, in the order frozen."
    )
    sample: list[dict[str, Any]] = Field(
        description="{id, kind, stratum, stage, forced, key} per item, in draw order."
    )
    inspector_draw: dict[str, Any] = Field(
        description="{k, inspectors, initial_load, organisations: [{organisation, excluded, "
        "assigned}]}."
    )


class ConflictCreate(InputModel):
    organisation_id: RecordId
    note: Text = Field("", max_length=500)


class ConflictOut(OutputModel):
    id: int
    inspector_id: int
    organisation_id: int
    organisation_name: str
    note: str
    declared_at: datetime


class ConflictList(OutputModel):
    items: list[ConflictOut]

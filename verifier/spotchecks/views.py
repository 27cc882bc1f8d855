"""Spot-check pages for regulators: plans, campaigns (run, ceremony seed, sample, inspectors),
and inspectors' declared conflicts of interest."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from verifier.api.schemas import validate
from verifier.auth.access import require_actor, roles
from verifier.auth.models import REGULATOR_INSPECTOR, REGULATOR_ROLES, REGULATOR_SUPERVISOR
from verifier.db import get_session, savepoint
from verifier.errors import VerifierError
from verifier.jobs.api import request_locale
from verifier.orgs.models import OrgType
from verifier.orgs.services import ORG_TYPE_LABELS, list_organisations
from verifier.spotchecks.forms import (
    PLAN_ERROR_FIELDS,
    SIZE_FIELDS,
    ConflictForm,
    PlanActiveForm,
    PlanForm,
    RunPlanForm,
    SeedForm,
)
from verifier.spotchecks.inspectors import declare_conflict, list_conflicts
from verifier.spotchecks.jobs import queue_campaign, runs_as_job
from verifier.spotchecks.plans import create_plan, get_plan, list_plans, runs_of, set_plan_active
from verifier.spotchecks.schemas import CampaignCreate, PlanCreate
from verifier.spotchecks.services import (
    assignments_of,
    findings_recorded,
    fix_seed,
    get_campaign,
    list_campaigns,
    publish_campaign,
    run_campaign,
    sample_counts,
    sample_of,
)
from verifier.web.forms import distinct_ids, show_errors, typed_number

bp = Blueprint("spotchecks", __name__, url_prefix="/spotchecks")

REGULATORS = sorted(REGULATOR_ROLES)
ID = "<int(max=2147483647):{}>"

UNIT_LABELS = {
    "two_stage": _l("Organisations, then records within each (two-stage)"),
    "records": _l("Records directly"),
}
WEIGHTING_LABELS = {
    "uniform": _l("Uniform"),
    "hours": _l("By service hours"),
    "risk": _l("By risk score"),
}
SIZE_LABELS = {
    "fixed": _l("Fixed count"),
    "rate": _l("Rate, with minimum and maximum"),
    "statistical": _l("Statistical (confidence and tolerable deviation rate)"),
}
PERIOD_LABELS = {
    "all": _l("All records"),
    "fixed": _l("Fixed dates"),
    "previous_days": _l("The previous N days before each run"),
    "previous_month": _l("The previous calendar month"),
}


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {
        "spotcheck_unit_labels": UNIT_LABELS,
        "spotcheck_weighting_labels": WEIGHTING_LABELS,
        "spotcheck_size_labels": SIZE_LABELS,
        "spotcheck_period_labels": PERIOD_LABELS,
    }


def _plan_form() -> PlanForm:
    """The plan form, its choices filled in."""
    form = PlanForm()
    form.org_types.choices = [SelectChoice(code, ORG_TYPE_LABELS[code]) for code in OrgType]
    form.period_mode.choices = _choices(PERIOD_LABELS)
    form.unit.choices = _choices(UNIT_LABELS)
    form.weighting.choices = _choices(WEIGHTING_LABELS)
    form.size.mode.choices = _choices(SIZE_LABELS)
    form.per_org.mode.choices = [SelectChoice("", _("Default")), *_choices(SIZE_LABELS)]
    return form


def _choices(labels: dict[str, Any]) -> list[SelectChoice]:
    return [SelectChoice(code, label) for code, label in labels.items()]


def _size(sub: Any) -> dict[str, Any]:
    size: dict[str, Any] = {"mode": sub.mode.data}
    for name in SIZE_FIELDS:
        value = (sub[name].data or "").strip()
        if value:
            size[name] = typed_number(value)
    return size


def _plan_data(form: PlanForm) -> dict[str, Any]:
    """Turn the plan form into the API's PlanCreate body."""
    period: dict[str, Any] = {"mode": form.period_mode.data}
    for field, key in ((form.period_from, "from"), (form.period_to, "to")):
        if (field.data or "").strip():
            period[key] = field.data.strip()
    if (form.period_days.data or "").strip():
        period["days"] = typed_number(form.period_days.data)
    parameters: dict[str, Any] = {
        "scope": {
            "region_prefix": (form.region_prefix.data or "").strip(),
            "org_types": form.org_types.data or [],
        },
        "period": period,
        "unit": form.unit.data,
        "sample_size": _size(form.size),
        "stratify_by_organisation": bool(form.stratify.data),
        "weighting": form.weighting.data,
        "include_complaints": bool(form.include_complaints.data),
        "inspectors_per_organisation": typed_number(form.inspectors_per_organisation.data or ""),
    }
    if form.per_org.mode.data:
        parameters["records_per_organisation"] = _size(form.per_org)
    data: dict[str, Any] = {
        "name": form.name.data or "",
        "schedule": form.schedule.data or "",
        "parameters": parameters,
    }
    if (form.run_at.data or "").strip():
        data["run_at"] = form.run_at.data.strip()
    return data


@bp.get("/plans")
@roles(*REGULATORS)
def plans() -> Any:
    """List the plans."""
    return render_template("spotchecks/plans.html", plans=list_plans(get_session()))


@bp.route("/plans/new", methods=["GET", "POST"])
@roles(REGULATOR_SUPERVISOR)
def new_plan() -> Any:
    """Make a plan: scope, period, unit, sizes, weighting, inspectors, schedule."""
    form = _plan_form()
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            body = validate(PlanCreate, _plan_data(form))
            with savepoint():
                plan = create_plan(get_session(), body, require_actor())
        except VerifierError as error:
            form_errors = show_errors(form, error, PLAN_ERROR_FIELDS)
            status = error.status
        else:
            flash(_("Plan %(name)s created", name=plan.name), "success")
            return redirect(url_for("spotchecks.plan_detail", plan_id=plan.id))
    elif request.method == "POST":
        status = 422
    return render_template("spotchecks/plans_new.html", form=form, form_errors=form_errors), status


@bp.get(f"/plans/{ID.format('plan_id')}")
@roles(*REGULATORS)
def plan_detail(plan_id: int) -> Any:
    """Show a plan, its scheduled runs and its campaigns."""
    session = get_session()
    plan = get_plan(session, plan_id)
    runs = runs_of(session, plan)
    campaigns = list_campaigns(session, plan.id)
    forms = {
        "run": RunPlanForm(formdata=None),
        "active": PlanActiveForm(formdata=None, active="0" if plan.active else "1"),
    }
    distinct_ids(forms)
    return render_template(
        "spotchecks/plans_detail.html",
        run_form=forms["run"],
        active_form=forms["active"],
        plan=plan,
        runs=runs,
        campaigns=campaigns,
        counts=sample_counts(session, [c.id for c in campaigns]),
        org_type_labels=ORG_TYPE_LABELS,
    )


@bp.post(f"/plans/{ID.format('plan_id')}/run")
@roles(REGULATOR_SUPERVISOR)
def run_plan(plan_id: int) -> Any:
    """Run a campaign of a plan now; with a ceremony, stop after freezing the population."""
    session = get_session()
    plan = get_plan(session, plan_id)
    ceremony = bool(RunPlanForm().ceremony.data)
    body = CampaignCreate(plan_id=plan.id, await_seed=ceremony)
    if runs_as_job(session, body):
        job = queue_campaign(session, require_actor(), body, request_locale())
        return redirect(url_for("jobs.detail", job_id=job.id), 303)
    campaign = run_campaign(session, require_actor(), plan=plan, await_seed=ceremony)
    flash(_("Campaign %(id)s started", id=campaign.id), "success")
    return redirect(url_for("spotchecks.campaign_detail", campaign_id=campaign.id))


@bp.post(f"/plans/{ID.format('plan_id')}/active")
@roles(REGULATOR_SUPERVISOR)
def set_active(plan_id: int) -> Any:
    """Pause or resume a plan's schedule."""
    session = get_session()
    plan = get_plan(session, plan_id)
    set_plan_active(session, plan, PlanActiveForm().active.data == "1", require_actor())
    flash(_("Plan resumed") if plan.active else _("Plan paused"), "success")
    return redirect(url_for("spotchecks.plan_detail", plan_id=plan.id))


@bp.get("/campaigns")
@roles(*REGULATORS)
def campaigns() -> Any:
    """List the campaigns, newest first."""
    session = get_session()
    rows = list_campaigns(session)
    return render_template(
        "spotchecks/campaigns.html",
        campaigns=rows,
        counts=sample_counts(session, [c.id for c in rows]),
    )


@bp.get(f"/campaigns/{ID.format('campaign_id')}")
@roles(*REGULATORS)
def campaign_detail(campaign_id: int) -> Any:
    """Show a campaign: population hash and commitment first, then seed, sample, inspectors."""
    return _campaign_page(get_campaign(get_session(), campaign_id))


def _campaign_page(
    campaign: Any,
    seed_form: SeedForm | None = None,
    form_errors: list[str] | None = None,
    status: int = 200,
) -> Any:
    session = get_session()
    return render_template(
        "spotchecks/campaigns_detail.html",
        campaign=campaign,
        items=sample_of(session, campaign),
        inspectors=assignments_of(session, campaign),
        findings=findings_recorded(session, campaign),
        unit_labels=UNIT_LABELS,
        seed_form=seed_form or SeedForm(formdata=None),
        form_errors=form_errors or [],
    ), status


@bp.post(f"/campaigns/{ID.format('campaign_id')}/seed")
@roles(REGULATOR_SUPERVISOR)
def seed_campaign(campaign_id: int) -> Any:
    """Take the ceremony input typed after the commitment, fix the seed, then draw."""
    session = get_session()
    campaign = get_campaign(session, campaign_id)
    form = SeedForm()
    given = form.ceremony_input.raw_data  # absent: the input under its deprecated name, seed
    typed = form.ceremony_input.data if given else form.seed.data
    try:
        with savepoint():
            fix_seed(session, campaign, typed or "", require_actor())
    except VerifierError as error:
        return _campaign_page(campaign, form, show_errors(form, error), error.status)
    flash(_("Seed fixed; the sample is drawn"), "success")
    return redirect(url_for("spotchecks.campaign_detail", campaign_id=campaign_id))


@bp.post(f"/campaigns/{ID.format('campaign_id')}/publish")
@roles(REGULATOR_SUPERVISOR)
def publish(campaign_id: int) -> Any:
    """Publish a drawn campaign (一公开)."""
    session = get_session()
    publish_campaign(session, get_campaign(session, campaign_id), require_actor())
    flash(_("Campaign published"), "success")
    return redirect(url_for("spotchecks.campaign_detail", campaign_id=campaign_id))


@bp.get("/conflicts")
@roles(*REGULATORS)
def conflicts() -> Any:
    """Declared conflicts: an inspector's own, with a form; every one for a supervisor."""
    return _conflicts_page(ConflictForm(formdata=None))


def _conflicts_page(
    form: ConflictForm, form_errors: list[str] | None = None, status: int = 200
) -> Any:
    session = get_session()
    actor = require_actor()
    if actor.role == REGULATOR_INSPECTOR:
        orgs, _total = list_organisations(session, actor, "", 1, 1000)
        form.organisation_id.choices = [
            SelectChoice(str(org.id), f"{org.name} ({org.uscc})") for org in orgs
        ]
    return render_template(
        "spotchecks/conflicts.html",
        conflicts=list_conflicts(session, actor),
        form=form,
        form_errors=form_errors or [],
    ), status


@bp.post("/conflicts")
@roles(REGULATOR_INSPECTOR)
def declare() -> Any:
    """Declare an affiliation with an organisation (回避)."""
    session = get_session()
    form = ConflictForm()
    org_id = typed_number(form.organisation_id.data or "")
    try:
        with savepoint():
            declare_conflict(
                session,
                require_actor(),
                org_id if isinstance(org_id, int) and org_id > 0 else 0,
                form.note.data or "",
            )
    except VerifierError as error:
        return _conflicts_page(form, show_errors(form, error), error.status)
    flash(_("Conflict declared; you will not be drawn for this organisation"), "success")
    return redirect(url_for("spotchecks.conflicts"))

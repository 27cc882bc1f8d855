"""Spot-check pages for regulators: plans, campaigns (run, ceremony seed, sample, inspectors),
and inspectors' declared conflicts of interest."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from verifier.api.schemas import validate
from verifier.auth.access import require_actor, roles
from verifier.auth.models import REGULATOR_INSPECTOR, REGULATOR_ROLES, REGULATOR_SUPERVISOR
from verifier.db import get_session
from verifier.errors import VerifierError
from verifier.jobs.api import request_locale
from verifier.orgs.models import OrgType
from verifier.orgs.services import ORG_TYPE_LABELS, list_organisations
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
from verifier.text import is_ascii_number

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


def _number(value: str) -> Any:
    """Read a form number: an int or a float when it is one, else the text (for the message)."""
    value = value.strip()
    if re.fullmatch(r"-?\d{1,9}", value):
        return int(value)
    if re.fullmatch(r"-?\d{0,9}\.\d{1,12}", value):
        return float(value)
    return value


def _size(prefix: str) -> dict[str, Any]:
    form = request.form
    size: dict[str, Any] = {"mode": form.get(f"{prefix}_mode", "fixed")}
    for name in ("count", "rate", "minimum", "maximum", "confidence", "tolerable_rate"):
        value = form.get(f"{prefix}_{name}", "").strip()
        if value:
            size[name] = _number(value)
    return size


def _plan_data() -> dict[str, Any]:
    """Turn the plan form into the API's PlanCreate body."""
    form = request.form
    period: dict[str, Any] = {"mode": form.get("period_mode", "all")}
    for field, key in (("period_from", "from"), ("period_to", "to")):
        if form.get(field, "").strip():
            period[key] = form[field].strip()
    if form.get("period_days", "").strip():
        period["days"] = _number(form["period_days"])
    parameters: dict[str, Any] = {
        "scope": {
            "region_prefix": form.get("region_prefix", "").strip(),
            "org_types": form.getlist("org_types"),
        },
        "period": period,
        "unit": form.get("unit", "two_stage"),
        "sample_size": _size("size"),
        "stratify_by_organisation": form.get("stratify") == "on",
        "weighting": form.get("weighting", "uniform"),
        "include_complaints": form.get("include_complaints") == "on",
        "inspectors_per_organisation": _number(form.get("inspectors_per_organisation", "2")),
    }
    if form.get("per_org_mode"):
        parameters["records_per_organisation"] = _size("per_org")
    data: dict[str, Any] = {
        "name": form.get("name", ""),
        "schedule": form.get("schedule", ""),
        "parameters": parameters,
    }
    if form.get("run_at", "").strip():
        data["run_at"] = form["run_at"].strip()
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
    errors: list[str] = []
    status = 200
    form: Any = request.form if request.method == "POST" else {}
    if request.method == "POST":
        try:
            plan = create_plan(get_session(), validate(PlanCreate, _plan_data()), require_actor())
        except VerifierError as error:
            errors = [e.message for e in error.errors] or [error.message]
            status = error.status
        else:
            flash(_("Plan %(name)s created", name=plan.name), "success")
            return redirect(url_for("spotchecks.plan_detail", plan_id=plan.id))
    return render_template(
        "spotchecks/plans_new.html",
        form=form,
        form_errors=errors,
        org_types=tuple(OrgType),
        org_type_labels=ORG_TYPE_LABELS,
    ), status


@bp.get(f"/plans/{ID.format('plan_id')}")
@roles(*REGULATORS)
def plan_detail(plan_id: int) -> Any:
    """Show a plan, its scheduled runs and its campaigns."""
    session = get_session()
    plan = get_plan(session, plan_id)
    runs = runs_of(session, plan)
    campaigns = list_campaigns(session, plan.id)
    return render_template(
        "spotchecks/plans_detail.html",
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
    ceremony = request.form.get("ceremony") == "on"
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
    set_plan_active(session, plan, request.form.get("active") == "1", require_actor())
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
    session = get_session()
    campaign = get_campaign(session, campaign_id)
    return render_template(
        "spotchecks/campaigns_detail.html",
        campaign=campaign,
        items=sample_of(session, campaign),
        inspectors=assignments_of(session, campaign),
        findings=findings_recorded(session, campaign),
        unit_labels=UNIT_LABELS,
    )


@bp.post(f"/campaigns/{ID.format('campaign_id')}/seed")
@roles(REGULATOR_SUPERVISOR)
def seed_campaign(campaign_id: int) -> Any:
    """Take the ceremony input typed after the commitment, fix the seed, then draw."""
    session = get_session()
    campaign = get_campaign(session, campaign_id)
    typed = request.form.get("ceremony_input", request.form.get("seed", ""))
    try:
        fix_seed(session, campaign, typed, require_actor())
    except VerifierError as error:
        session.rollback()
        flash(error.errors[0].message if error.errors else error.message, "error")
        return redirect(url_for("spotchecks.campaign_detail", campaign_id=campaign_id))
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
    session = get_session()
    actor = require_actor()
    orgs: list[Any] = []
    if actor.role == REGULATOR_INSPECTOR:
        orgs, _total = list_organisations(session, actor, "", 1, 1000)
    return render_template(
        "spotchecks/conflicts.html", conflicts=list_conflicts(session, actor), orgs=orgs
    )


@bp.post("/conflicts")
@roles(REGULATOR_INSPECTOR)
def declare() -> Any:
    """Declare an affiliation with an organisation (回避)."""
    session = get_session()
    org_id = request.form.get("organisation_id", "")
    try:
        declare_conflict(
            session,
            require_actor(),
            int(org_id) if is_ascii_number(org_id) and len(org_id) < 10 else 0,
            request.form.get("note", ""),
        )
    except VerifierError as error:
        session.rollback()
        flash(error.errors[0].message if error.errors else error.message, "error")
    else:
        flash(_("Conflict declared; you will not be drawn for this organisation"), "success")
    return redirect(url_for("spotchecks.conflicts"))

"""Forms of the spot-check pages; the rules live in the API's schemas and the services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Form,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
)

NUMBER = {"inputmode": "numeric"}
DECIMAL = {"inputmode": "decimal"}
SIZE_FIELDS = ("count", "rate", "minimum", "maximum", "confidence", "tolerable_rate")


class SizeForm(Form):
    """One sample-size rule; posted as size_... or per_org_... (the plan form's prefixes)."""

    mode = SelectField(_l("Rule"), validate_choice=False, default="fixed")
    count = StringField(_l("Count"), render_kw=NUMBER)
    rate = StringField(_l("Rate (a fraction: 0.05 means 5 percent)"), render_kw=DECIMAL)
    minimum = StringField(_l("Minimum"), render_kw=NUMBER)
    maximum = StringField(_l("Maximum"), render_kw=NUMBER)
    confidence = StringField(_l("Confidence (e.g. 0.95)"), render_kw=DECIMAL)
    tolerable_rate = StringField(_l("Tolerable deviation rate (e.g. 0.05)"), render_kw=DECIMAL)


class PlanForm(FlaskForm):
    name = StringField(_l("Name"), render_kw={"required": True, "maxlength": 200})
    region_prefix = StringField(
        _l("Region code prefix (empty: all regions)"),
        render_kw={"maxlength": 6, "inputmode": "numeric"},
    )
    org_types = SelectMultipleField(
        _l("Organisation types (none ticked: all types)"), validate_choice=False
    )
    period_mode = SelectField(_l("Period of records"), validate_choice=False, default="all")
    period_from = StringField(_l("From"), render_kw={"type": "date"})
    period_to = StringField(_l("To"), render_kw={"type": "date"})
    period_days = StringField(_l("Days"), render_kw=NUMBER)
    unit = SelectField(_l("Unit"), validate_choice=False, default="two_stage")
    weighting = SelectField(_l("Weighting"), validate_choice=False, default="uniform")
    stratify = BooleanField(_l("Stratify records by organisation"))
    include_complaints = BooleanField(
        _l("Always include organisations with open complaints"), default=True
    )
    size = FormField(SizeForm, separator="_")
    per_org = FormField(SizeForm, separator="_", default={"mode": ""})
    inspectors_per_organisation = StringField(
        _l("Inspectors per organisation"), default="2", render_kw=NUMBER
    )
    schedule = StringField(
        _l("Schedule (crontab, Beijing time; e.g. 0 2 1 * * is the 1st of each month at 02:00)"),
        render_kw={"maxlength": 100},
    )
    run_at = StringField(_l("Or a single run at"), render_kw={"type": "datetime-local"})


# The plan's fields as the API's PlanCreate names them (errors), and the form field that shows each.
PLAN_ERROR_FIELDS = {
    "parameters.scope.region_prefix": "region_prefix",
    "parameters.scope.org_types": "org_types",
    "parameters.period": "period_mode",
    "parameters.period.mode": "period_mode",
    "parameters.period.from": "period_from",
    "parameters.period.to": "period_to",
    "parameters.period.days": "period_days",
    "parameters.unit": "unit",
    "parameters.weighting": "weighting",
    "parameters.stratify_by_organisation": "stratify",
    "parameters.include_complaints": "include_complaints",
    "parameters.inspectors_per_organisation": "inspectors_per_organisation",
    # the one rule over all parameters: two-stage needs records per organisation
    "parameters": "per_org.mode",
    **{
        f"parameters.{key}{'.' + name if name else ''}": f"{prefix}.{name or 'mode'}"
        for key, prefix in (("sample_size", "size"), ("records_per_organisation", "per_org"))
        for name in ("", "mode", *SIZE_FIELDS)
    },
}


class RunPlanForm(FlaskForm):
    ceremony = BooleanField(_l("Seed from a public ceremony"))


class PlanActiveForm(FlaskForm):
    active = HiddenField()


class SeedForm(FlaskForm):
    ceremony_input = StringField(
        _l("Ceremony input (20 to 128 letters and digits)"),
        render_kw={
            "required": True,
            "minlength": 20,
            "maxlength": 128,
            "pattern": "[0-9A-Za-z]{20,128}",
            "autocomplete": "off",
        },
    )
    seed = HiddenField()  # the deprecated name of ceremony_input, still read when it is absent


class ConflictForm(FlaskForm):
    organisation_id = SelectField(
        _l("Organisation"), validate_choice=False, render_kw={"required": True}
    )
    note = StringField(_l("Note"), render_kw={"maxlength": 500})

"""Forms of the organisation pages; the rules themselves live in verifier.orgs.services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from verifier.labels import Labels
from verifier.orgs.models import OrgStatus, OrgType
from verifier.orgs.services import ORG_TYPE_LABELS

STATUS_LABELS: Labels = {
    OrgStatus.ACTIVE: _l("Active"),
    OrgStatus.SUSPENDED: _l("Suspended"),
    OrgStatus.DEREGISTERED: _l("Deregistered"),
}


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), render_kw={"maxlength": 200, "required": True})
    uscc = StringField(
        _l("Unified social credit code"),
        render_kw={"maxlength": 18, "required": True, "autocapitalize": "characters"},
    )
    org_type = SelectField(
        _l("Type"),
        validate_choice=False,
        choices=[SelectChoice(code, ORG_TYPE_LABELS[code]) for code in OrgType],
    )
    region_code = StringField(
        _l("Region code"), render_kw={"maxlength": 6, "inputmode": "numeric", "pattern": r"\d{6}"}
    )
    responsible_person = StringField(
        _l("Responsible person (负责人)"), render_kw={"maxlength": 50, "required": True}
    )
    contact_name = StringField(_l("Contact name"), render_kw={"maxlength": 50})
    contact_phone = StringField(_l("Contact phone"), render_kw={"maxlength": 30, "type": "tel"})
    address = StringField(_l("Address"), render_kw={"maxlength": 200})


class StatusForm(FlaskForm):
    status = SelectField(
        _l("New status"),
        validate_choice=False,
        choices=[SelectChoice(s, STATUS_LABELS[s]) for s in OrgStatus],
    )
    reason = TextAreaField(_l("Reason"), render_kw={"maxlength": 500, "required": True, "rows": 2})
    successor_uscc = StringField(
        _l("Successor's unified social credit code (with deregistration; optional)"),
        render_kw={"maxlength": 18},
    )

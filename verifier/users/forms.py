"""Forms of the user-management pages; the rules live in verifier.auth.services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from verifier.auth.models import ROLES

ROLE_LABELS = {
    "platform_admin": _l("Platform administrator"),
    "org_admin": _l("Organisation administrator"),
    "org_recorder": _l("Recorder"),
    "regulator_supervisor": _l("Regulator (supervisor)"),
    "regulator_inspector": _l("Regulator (inspector)"),
}


class UserForm(FlaskForm):
    email = EmailField(_l("E-mail"), render_kw={"maxlength": 254, "required": True})
    display_name = StringField(_l("Name"), render_kw={"maxlength": 100})
    password = PasswordField(
        _l("Initial password"),
        render_kw={
            "minlength": 10,
            "maxlength": 1024,
            "required": True,
            "autocomplete": "new-password",
        },
    )
    role = SelectField(
        _l("Role"),
        validate_choice=False,
        choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES],
        default="org_recorder",
    )
    organisation = StringField(
        _l("Organisation (unified social credit code)"),
        render_kw={"maxlength": 18, "autocapitalize": "characters"},
    )


class RoleForm(FlaskForm):
    role = SelectField(
        _l("Role"), validate_choice=False, choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES]
    )


class ActiveForm(FlaskForm):
    active = HiddenField()

"""Forms of the user-management pages; the rules live in verifier.auth.services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from verifier.auth.models import ROLES, STAFF_ROLES, Role
from verifier.labels import Labels

ROLE_LABELS: Labels = {
    Role.PLATFORM_ADMIN: _l("Platform administrator"),
    Role.ORG_ADMIN: _l("Organisation administrator"),
    Role.ORG_RECORDER: _l("Recorder"),
    Role.REGULATOR_SUPERVISOR: _l("Regulator (supervisor)"),
    Role.REGULATOR_INSPECTOR: _l("Regulator (inspector)"),
    Role.VOLUNTEER: _l("Volunteer"),
}
# staff accounts are made here; a volunteer's account only by claiming an invitation code
STAFF_CHOICES = [SelectChoice(r, ROLE_LABELS[r]) for r in ROLES if r in STAFF_ROLES]


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
        choices=STAFF_CHOICES,
        default=Role.ORG_RECORDER,
    )
    organisation = StringField(
        _l("Organisation (unified social credit code)"),
        render_kw={"maxlength": 18, "autocapitalize": "characters"},
    )


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), validate_choice=False, choices=STAFF_CHOICES)


class ActiveForm(FlaskForm):
    active = HiddenField()

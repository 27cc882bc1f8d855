"""Page forms of volunteers' accounts: they carry what was typed; the services hold the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import EqualTo

_LOGIN = {
    "maxlength": 254,
    "required": True,
    "autocomplete": "username",
    "autocapitalize": "none",
    "spellcheck": "false",
}
_NEW_PASSWORD = {
    "minlength": 10,
    "maxlength": 1024,
    "required": True,
    "autocomplete": "new-password",
}
_NEW_LABEL = _l("New password (at least 10 characters)")
_REPEAT = _l("The two passwords differ")


class InvitationForm(FlaskForm):
    """The button on a volunteer's page (its CSRF token only)."""


class ClaimForm(FlaskForm):
    code = StringField(
        _l("Invitation code"),
        render_kw={
            "maxlength": 64,
            "required": True,
            "autocomplete": "one-time-code",
            "autocapitalize": "characters",
            "spellcheck": "false",
            "placeholder": "XXXX-XXXX-XXXX",
        },
    )
    login = StringField(_l("E-mail or mobile number"), render_kw=_LOGIN)
    # pressed first: sends the code that proves the login (the browser does not ask for the
    # fields below yet: formnovalidate in the template)
    send_login_code = SubmitField(_l("Send me a code"))
    login_code = StringField(
        _l("Code sent to your e-mail or mobile"),
        render_kw={
            "maxlength": 32,
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "spellcheck": "false",
        },
    )
    password = PasswordField(_l("Password (at least 10 characters)"), render_kw=_NEW_PASSWORD)
    password_repeat = PasswordField(
        _l("Password again"), validators=[EqualTo("password", _REPEAT)], render_kw=_NEW_PASSWORD
    )
    accept_privacy_notice = BooleanField(
        _l("I have read the privacy notice above and accept it"), render_kw={"required": True}
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        render_kw={"maxlength": 1024, "required": True, "autocomplete": "current-password"},
    )
    new_password = PasswordField(_NEW_LABEL, render_kw=_NEW_PASSWORD)
    new_password_repeat = PasswordField(
        _l("New password again"),
        validators=[EqualTo("new_password", _REPEAT)],
        render_kw=_NEW_PASSWORD,
    )


class ResetRequestForm(FlaskForm):
    login = StringField(_l("E-mail or mobile number"), render_kw=_LOGIN)


class ResetForm(FlaskForm):
    login = StringField(_l("E-mail or mobile number"), render_kw=_LOGIN)
    code = StringField(
        _l("Code"),
        render_kw={
            "maxlength": 32,
            "required": True,
            "inputmode": "numeric",
            "autocomplete": "one-time-code",
        },
    )
    new_password = PasswordField(_NEW_LABEL, render_kw=_NEW_PASSWORD)
    new_password_repeat = PasswordField(
        _l("New password again"),
        validators=[EqualTo("new_password", _REPEAT)],
        render_kw=_NEW_PASSWORD,
    )

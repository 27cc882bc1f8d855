"""Forms of the omission, privacy-choice and my-data pages; the rules live in the services."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from verifier.complaints.models import MissingRecordStatus
from verifier.labels import Labels
from verifier.portal.omissions import ACTIVITY_LIMIT, REASON_LIMIT, REFUSAL_LIMIT
from verifier.timeutil import local_zone

TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
SHOW_TOTALS = "totals"
SHOW_ACTIVITIES = "activities"
MISSING_RECORD_STATUS: Labels = {
    MissingRecordStatus.OPEN: _l("Waiting for the answer"),
    MissingRecordStatus.ENTERED: _l("Entered"),
    MissingRecordStatus.REFUSED: _l("Refused"),
}


class MissingRecordForm(FlaskForm):
    organisation = SelectField(_l("Organisation"), validate_choice=False)
    activity = StringField(
        _l("Activity name"), render_kw={"maxlength": ACTIVITY_LIMIT, "required": True}
    )
    started_at = DateTimeLocalField(
        _l("Start"),
        format=TIME_FORMATS,
        validators=[InputRequired(message=_l("enter the start date and time"))],
    )
    ended_at = DateTimeLocalField(
        _l("End"),
        format=TIME_FORMATS,
        validators=[InputRequired(message=_l("enter the end date and time"))],
    )
    reason = TextAreaField(
        _l("What you did, and who can confirm it"),
        render_kw={"maxlength": REASON_LIMIT, "rows": 4, "required": True},
    )


class RefuseForm(FlaskForm):
    reason = TextAreaField(
        _l("Why the service is not recorded (the volunteer sees this)"),
        render_kw={"maxlength": REFUSAL_LIMIT, "rows": 3, "required": True},
    )


class PrivacyForm(FlaskForm):
    shown = RadioField(
        _l("On public verification pages of my certificates, show"),
        choices=[
            SelectChoice(SHOW_TOTALS, _l("Only the total hours (recommended)")),
            SelectChoice(SHOW_ACTIVITIES, _l("The total hours and each activity's name and hours")),
        ],
        validators=[InputRequired(message=_l("choose one"))],
    )


class LanguageForm(FlaskForm):
    locale = RadioField(
        _l("Messages to me (receipts, answers, codes) in"),
        choices=[SelectChoice("zh", "中文"), SelectChoice("en", "English")],
        validators=[InputRequired(message=_l("choose one"))],
    )


class ExportForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        validators=[InputRequired(message=_l("enter your password"))],
        render_kw={"maxlength": 1024, "autocomplete": "current-password"},
    )


def aware(value: datetime | None) -> datetime | None:
    """Give a time typed on a page (local wall time) its zone."""
    return None if value is None else value.replace(tzinfo=local_zone())

"""Forms of the complaint and correction-request pages; the rules live in the services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional

from verifier.complaints.models import (
    ComplaintSource,
    ComplaintStatus,
    CorrectionStatus,
    DisputeKind,
)
from verifier.db import MAX_ID
from verifier.labels import Labels

SOURCE_LABELS: Labels = {
    ComplaintSource.PUBLIC: _l("Member of the public"),
    ComplaintSource.VOLUNTEER: _l("Volunteer"),
    ComplaintSource.REGULATOR: _l("The authority's own finding"),
    ComplaintSource.ORGANISATION: _l("An organisation"),
}
COMPLAINT_STATUS_LABELS: Labels = {
    ComplaintStatus.OPEN: _l("Open"),
    ComplaintStatus.CLOSED: _l("Closed"),
}
REQUEST_STATUS_LABELS: Labels = {
    CorrectionStatus.OPEN: _l("Open"),
    CorrectionStatus.RESOLVED: _l("Resolved"),
    CorrectionStatus.REJECTED: _l("Rejected"),
}
# what a volunteer says is wrong with a record about them (their dispute)
DISPUTE_KIND_LABELS: Labels = {
    DisputeKind.NOT_ATTENDED: _l("I was not there"),
    DisputeKind.WRONG_TIME: _l("The date or time is wrong"),
    DisputeKind.WRONG_MINUTES: _l("The hours are wrong"),
    DisputeKind.OTHER: _l("Something else is wrong"),
}


class ComplaintForm(FlaskForm):
    source = SelectField(
        _l("Complaint from"),
        validate_choice=False,
        choices=[SelectChoice(code, SOURCE_LABELS[code]) for code in ComplaintSource],
    )
    summary = TextAreaField(
        _l("What the complaint says"), render_kw={"maxlength": 2000, "rows": 4, "required": True}
    )
    record_id = IntegerField(
        _l("Record number (if it is about one record)"),
        validators=[
            Optional(),
            NumberRange(min=1, max=MAX_ID, message=_l("This is not a record number")),
        ],
        render_kw={"inputmode": "numeric"},
    )


class CloseComplaintForm(FlaskForm):
    resolution = TextAreaField(
        _l("What was found and done"), render_kw={"maxlength": 2000, "rows": 3, "required": True}
    )


class CorrectionRequestForm(FlaskForm):
    requested_by = StringField(
        _l("Requested by (the volunteer's name as given, or 本人)"),
        default="本人",
        render_kw={"maxlength": 50, "required": True},
    )
    reason = TextAreaField(
        _l("What the volunteer says is wrong"),
        render_kw={"maxlength": 2000, "rows": 3, "required": True},
    )


class AnswerRequestForm(FlaskForm):
    status = SelectField(
        _l("Answer"),
        validate_choice=False,
        choices=[
            SelectChoice(CorrectionStatus.RESOLVED, _l("Resolved: the record has been corrected")),
            SelectChoice(CorrectionStatus.REJECTED, _l("Rejected: the record is right as it is")),
        ],
    )
    resolution = TextAreaField(
        _l("Explanation for the volunteer"),
        render_kw={"maxlength": 2000, "rows": 3, "required": True},
    )

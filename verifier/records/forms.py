"""Forms of the record pages; the rules live in verifier.records.services."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired

from verifier.records.models import ServiceRecord
from verifier.records.services import RecordInput
from verifier.timeutil import local_zone, to_local

LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"


class RecordForm(FlaskForm):
    activity = StringField(_l("Activity"), render_kw={"maxlength": 200, "required": True})
    place = StringField(_l("Place"), render_kw={"maxlength": 200, "required": True})
    content = TextAreaField(_l("Service content"), render_kw={"maxlength": 2000, "rows": 3})
    leader = StringField(_l("Activity leader"), render_kw={"maxlength": 50})
    started_at = DateTimeLocalField(
        _l("Start"),
        format=[LOCAL_INPUT_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        validators=[InputRequired(message=_l("enter the start date and time"))],
    )
    ended_at = DateTimeLocalField(
        _l("End"),
        format=[LOCAL_INPUT_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        validators=[InputRequired(message=_l("enter the end date and time"))],
    )
    minutes = IntegerField(
        _l("Service minutes"),
        validators=[InputRequired(message=_l("enter the service time in whole minutes"))],
        render_kw={"min": 1, "max": 1440, "step": 1, "inputmode": "numeric"},
    )
    evaluation = TextAreaField(_l("Evaluation"), render_kw={"maxlength": 500, "rows": 2})
    unpaid = BooleanField(_l("The volunteer was not paid for this service"))
    not_job_duty = BooleanField(_l("This service was not part of the volunteer's job"))

    def to_input(self) -> RecordInput:
        """Return the entered values for the records service, times in the local zone."""
        return RecordInput(
            activity=self.activity.data or "",
            place=self.place.data or "",
            started_at=_aware(self.started_at.data),
            ended_at=_aware(self.ended_at.data),
            minutes=self.minutes.data if self.minutes.data is not None else 0,
            content=self.content.data or "",
            leader=self.leader.data or "",
            evaluation=self.evaluation.data or "",
            unpaid=bool(self.unpaid.data),
            not_job_duty=bool(self.not_job_duty.data),
        )

    def fill_from(self, record: ServiceRecord) -> None:
        """Prefill the form with a record's current values."""
        for name in ("activity", "place", "content", "leader", "minutes", "evaluation"):
            getattr(self, name).data = getattr(record, name)
        self.started_at.data = to_local(record.started_at).replace(tzinfo=None)
        self.ended_at.data = to_local(record.ended_at).replace(tzinfo=None)
        self.unpaid.data = record.unpaid
        self.not_job_duty.data = record.not_job_duty


class CorrectionForm(RecordForm):
    reason = TextAreaField(
        _l("Reason for the correction"), render_kw={"maxlength": 500, "rows": 2, "required": True}
    )


class VoidForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for voiding"), render_kw={"maxlength": 500, "rows": 3, "required": True}
    )


def _aware(value: datetime | None) -> datetime:
    # InputRequired has already refused an empty or unreadable time
    assert value is not None
    return value.replace(tzinfo=local_zone())

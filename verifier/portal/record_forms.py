"""Forms of the volunteer's record pages; the rules live in the services and the API schema."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice

from verifier.complaints.forms import DISPUTE_KIND_LABELS
from verifier.complaints.models import DisputeKind
from verifier.portal.records import DISPUTE_REASON_LIMIT


class ConfirmForm(FlaskForm):
    # the page to return to (the list or the record); only a path on this site is followed
    next = HiddenField()


class DisputeForm(FlaskForm):
    kind = SelectField(
        _l("What is wrong"),
        validate_choice=False,
        choices=[SelectChoice(code, DISPUTE_KIND_LABELS[code]) for code in DisputeKind],
    )
    reason = TextAreaField(
        _l("Tell the organisation what is wrong"),
        render_kw={"maxlength": DISPUTE_REASON_LIMIT, "rows": 4, "required": True},
    )

"""Forms of the successor's pages; the rules live in the services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import Optional


class SuccessorIssueForm(FlaskForm):
    volunteer_number = StringField(
        _l("Volunteer number"), render_kw={"maxlength": 16, "required": True}
    )
    period_from = DateField(_l("From"), validators=[Optional()])
    period_to = DateField(_l("To"), validators=[Optional()])

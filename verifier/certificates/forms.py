"""Forms of the certificate pages; the rules live in the API's schemas and the services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField


class BulkForm(FlaskForm):
    period_from = StringField(_l("From"), render_kw={"type": "date"})
    period_to = StringField(_l("To"), render_kw={"type": "date"})
    handler = StringField(_l("Handler (经办人)"), render_kw={"maxlength": 50})


class IssueForm(BulkForm):
    # the ticked rows of the records table; the schema refuses anything but record ids
    record_ids = SelectMultipleField(_l("Records"), validate_choice=False)


class SuspendForm(FlaskForm):
    reason = StringField(
        _l("Reason for suspending (temporary, e.g. under review)"),
        render_kw={"maxlength": 500, "required": True},
    )


class ReinstateForm(FlaskForm):
    reason = StringField(_l("Note (optional)"), render_kw={"maxlength": 500})


class RevokeForm(FlaskForm):
    reason = StringField(
        _l("Reason for revoking (final)"), render_kw={"maxlength": 500, "required": True}
    )


class ReissueForm(FlaskForm):
    """Nothing to fill in: the button alone (and the CSRF token)."""

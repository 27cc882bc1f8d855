"""Forms of the inspection and case pages; the rules live in the API's schemas and the services."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice

from verifier.api.schemas import validate
from verifier.errors import ValidationError
from verifier.supervision.labels import CASE_OUTCOME, DISCREPANCY_TYPE, FINDING_RESULT, SANCTION
from verifier.supervision.schemas import FindingCreate
from verifier.text import is_ascii_number


def finding_from_fields(fields: Mapping[str, Any], record_ids: Sequence[str]) -> FindingCreate:
    """Read a finding sent as form fields: the API's multipart body and the item page alike.

    A text field counts when it is filled in; each record id must be a whole number. The rules
    of the finding itself are FindingCreate's and the service's.
    """
    data: dict[str, Any] = {
        name: fields[name] for name in ("result", "discrepancy_type", "notes") if fields.get(name)
    }
    given = [value.strip() for value in record_ids if value.strip()]
    if given:
        if not all(is_ascii_number(value) and len(value) < 11 for value in given):
            raise ValidationError(
                _("record ids are whole numbers"), field="record_ids", rule="int_parsing"
            )
        data["record_ids"] = [int(value) for value in given]
    return validate(FindingCreate, data)


class FindingForm(FlaskForm):
    """The finding of a sampled item: the same fields as the API's multipart body, and a text
    field for affected records that were not sampled."""

    result = RadioField(
        _l("Result"),
        validate_choice=False,
        choices=[SelectChoice(code, label) for code, label in FINDING_RESULT.items()],
    )
    discrepancy_type = SelectField(
        _l("Type of discrepancy"),
        validate_choice=False,
        choices=[
            SelectChoice("", "—"),
            *(SelectChoice(code, label) for code, label in DISCREPANCY_TYPE.items()),
        ],
    )
    record_ids = SelectMultipleField(
        _l("Affected records (a discrepancy suspends the certificates covering them)"),
        validate_choice=False,
    )
    other_record_ids = StringField(
        _l("Other affected records of this organisation (numbers, separated by commas)")
    )
    notes = TextAreaField(_l("Notes"), render_kw={"rows": 5, "maxlength": 5000})
    evidence = MultipleFileField(
        _l("Evidence files"), render_kw={"accept": "application/pdf,image/jpeg,image/png"}
    )


class RespondForm(FlaskForm):
    explanation = TextAreaField(
        _l("Explanation"), render_kw={"rows": 5, "maxlength": 5000, "required": True}
    )
    corrected_record_ids = StringField(_l("Records corrected (numbers, separated by commas)"))


class CloseCaseForm(FlaskForm):
    outcome = RadioField(
        _l("Outcome"),
        validate_choice=False,
        choices=[SelectChoice(code, label) for code, label in CASE_OUTCOME.items()],
    )
    sanction = SelectField(
        _l("Sanction"),
        validate_choice=False,
        choices=[
            SelectChoice("", "—"),
            *(SelectChoice(code, label) for code, label in SANCTION.items()),
        ],
    )
    falsification_confirmed = BooleanField(
        _l(
            "Falsification confirmed: revoke the certificates covering the affected records, "
            "with the finding as the reason"
        ),
        false_values=("false", "", "0"),
    )
    decision = TextAreaField(
        _l("Reasons for the decision"), render_kw={"rows": 4, "maxlength": 5000, "required": True}
    )


class EscalateForm(FlaskForm):
    note = StringField(_l("Escalate, with a note"), render_kw={"maxlength": 5000, "required": True})


class RevokeAllForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (e.g. the confirmed fraud); every revoked certificate shows it"),
        render_kw={"rows": 2, "maxlength": 500, "required": True},
    )
    confirm = BooleanField(
        _l("I confirm: revoke every certificate this organisation issued; this cannot be undone"),
        false_values=("false", "", "0"),
        render_kw={"required": True},
    )

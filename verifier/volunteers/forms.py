"""Forms of the volunteer pages; the rules live in verifier.volunteers.services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from verifier.identifiers import Gender, IdType
from verifier.labels import Labels

ID_TYPE_LABELS: Labels = {
    IdType.RESIDENT_ID: _l("Resident ID card (居民身份证)"),
    IdType.PASSPORT: _l("Passport (护照)"),
    IdType.HK_MACAO_PERMIT: _l("Hong Kong/Macao permit (港澳居民来往内地通行证)"),
    IdType.TAIWAN_PERMIT: _l("Taiwan permit (台湾居民来往大陆通行证)"),
}
GENDER_LABELS: Labels = {Gender.MALE: _l("Male"), Gender.FEMALE: _l("Female")}


class VolunteerForm(FlaskForm):
    name = StringField(_l("Name"), render_kw={"maxlength": 50, "required": True})
    id_type = SelectField(
        _l("ID type"),
        validate_choice=False,
        choices=[SelectChoice(code, label) for code, label in ID_TYPE_LABELS.items()],
    )
    id_number = StringField(
        _l("ID number"),
        render_kw={
            "maxlength": 30,
            "required": True,
            "autocomplete": "off",
            "autocapitalize": "characters",
        },
    )
    gender = SelectField(
        _l("Gender"),
        validate_choice=False,
        choices=[
            SelectChoice("", _l("(from the ID number)")),
            *(SelectChoice(code, label) for code, label in GENDER_LABELS.items()),
        ],
    )
    birth_date = DateField(
        _l("Birth date"),
        validators=[Optional()],
        render_kw={"max": "9999-12-31"},
    )
    phone = StringField(
        _l("Phone"), render_kw={"maxlength": 24, "type": "tel", "autocomplete": "off"}
    )
    guardian_name = StringField(_l("Guardian's name"), render_kw={"maxlength": 50})
    guardian_consent = BooleanField(_l("The guardian has consented (required under 14)"))


class SearchForm(FlaskForm):
    q = StringField(_l("Search"), render_kw={"maxlength": 60})

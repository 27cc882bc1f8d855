"""The form of the public verification page: checking the holder's identity."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField


class MatchForm(FlaskForm):
    """What the holder showed; the page never shows it back."""

    id_number = StringField(_l("ID number"), render_kw={"maxlength": 40, "autocomplete": "off"})
    name = StringField(_l("or full name"), render_kw={"maxlength": 50, "autocomplete": "off"})

"""What a certificate prints must be printable: real names for the handler, glyphs for every
character. Checked before anything is issued, so a certificate is never stored that would print
a blank box where a name's character should be."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _

from verifier.auth.models import User
from verifier.certificates.pdf import undrawable
from verifier.errors import ValidationError
from verifier.orgs.models import Organisation
from verifier.records.models import ServiceRecord
from verifier.text import check_characters
from verifier.volunteers.models import Volunteer

HANDLER_MAX = 50
_NAMED = 3


def named_characters(characters: str) -> str:
    """Name characters as a reader sees and looks them up: “䶮” (U+4DAE)."""
    named = [f"“{ch}” (U+{ord(ch):04X})" for ch in characters[:_NAMED]]
    if len(characters) > _NAMED:
        named.append("...")
    return ", ".join(named)


def unprintable_message(what: str, characters: str) -> str:
    return _(
        "%(what)s contains %(chars)s, which the certificate's font cannot print; the "
        "certificate is not issued rather than printed wrong",
        what=what,
        chars=named_characters(characters),
    )


def _refuse(text: str, *, field: str, what: str) -> None:
    missing = undrawable(text)
    if missing:
        raise ValidationError(
            unprintable_message(what, missing), field=field, rule="unprintable_character"
        )


def printed_handler(requested: str, actor: User | None, fallback: str = "") -> str:
    """Return the handler (经办人) a certificate prints: a person's name, never a login e-mail.

    The handler given with the request, else the issuing user's display name, else `fallback`
    (the organisation's contact, for a run from the command line).
    """
    name = (requested or (actor.display_name if actor is not None else "") or fallback).strip()
    if not name:
        raise ValidationError(
            _(
                "the certificate prints the handler's (经办人) real name: fill in the handler, "
                "or set a display name on your account"
            ),
            field="handler",
            rule="required",
        )
    if "@" in name:
        raise ValidationError(
            _("the handler is printed on the certificate: give a person's name, not an e-mail"),
            field="handler",
            rule="real_name",
        )
    if len(name) > HANDLER_MAX:
        raise ValidationError(
            _("%(field)s is longer than %(n)d characters", field=_("handler"), n=HANDLER_MAX),
            field="handler",
            rule="max_length",
        )
    check_characters(name, field="handler", label=_("handler"))
    _refuse(name, field="handler", what=_("the handler"))
    return name


def refuse_unprintable_issuer(org: Organisation) -> None:
    """Refuse an issuance whose organisation's printed details the font cannot draw."""
    _refuse(org.name, field="issuer_name", what=_("the organisation's name"))
    _refuse(org.responsible_person, field="responsible_person", what=_("the person in charge"))
    contact = " ".join(x for x in (org.contact_name, org.contact_phone) if x)
    _refuse(contact, field="contact", what=_("the organisation's contact"))


def unprintable_volunteer_text(volunteer: Volunteer, records: Iterable[ServiceRecord]) -> str:
    """Return why a volunteer's certificate cannot be printed (a message), or ""."""
    missing = undrawable(volunteer.name)
    if missing:
        return unprintable_message(_("the volunteer's name"), missing)
    for record in records:
        missing = undrawable(f"{record.activity}{record.place}{record.content}")
        if missing:
            return unprintable_message(_("record %(id)d", id=record.id), missing)
    return ""


def refuse_unprintable_volunteer(volunteer: Volunteer, records: Iterable[ServiceRecord]) -> None:
    """Refuse an issuance whose name or record lines the font cannot draw."""
    records = list(records)
    missing = undrawable(volunteer.name)
    if missing:
        raise ValidationError(
            unprintable_message(_("the volunteer's name"), missing),
            field="volunteer_id",
            rule="unprintable_character",
        )
    message = unprintable_volunteer_text(volunteer, records)
    if message:
        raise ValidationError(message, field="record_ids", rule="unprintable_character")

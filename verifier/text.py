"""Rules every stored text obeys: no control or invisible characters, a length limit.

This is the one place these rules live: services call `clean_text` / `require_reason` /
`check_characters`, and the API's `Text` type calls `bad_characters`.
"""

from __future__ import annotations

import unicodedata

from flask_babel import gettext as _

from verifier.errors import ValidationError

_ALLOWED_CONTROLS = "\n\r\t"
_MAX_NAMED_CHARACTERS = 3


def _is_control(ch: str) -> bool:
    # Cc (C0, DEL, C1) other than line breaks and tabs; Cs: a lone surrogate cannot be stored
    category = unicodedata.category(ch)
    return (category == "Cc" and ch not in _ALLOWED_CONTROLS) or category == "Cs"


def _is_invisible(ch: str) -> bool:
    # Cf: bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), marks
    # (U+200E, U+200F), zero-width space and joiners (U+200B-U+200D), word joiner (U+2060),
    # BOM (U+FEFF), soft hyphen, tags ... they change how text reads without being seen
    return unicodedata.category(ch) == "Cf"


def code_points(characters: str) -> str:
    """Name characters by code point and Unicode name, e.g. "U+202E RIGHT-TO-LEFT OVERRIDE"."""
    named = []
    for ch in dict.fromkeys(characters):
        name = unicodedata.name(ch, "")
        named.append(f"U+{ord(ch):04X} {name}" if name else f"U+{ord(ch):04X}")
    if len(named) > _MAX_NAMED_CHARACTERS:
        named = [*named[:_MAX_NAMED_CHARACTERS], "..."]
    return ", ".join(named)


def bad_characters(text: str) -> tuple[str, str] | None:
    """Return (rule, the characters named by code point) if text holds what it may not."""
    controls = "".join(ch for ch in text if _is_control(ch))
    if controls:
        return "control_character", code_points(controls)
    invisible = "".join(ch for ch in text if _is_invisible(ch))
    if invisible:
        return "invisible_character", code_points(invisible)
    return None


def has_bad_characters(text: str) -> bool:
    """Tell whether text holds a control character (other than newlines and tabs), an invisible
    formatting character (Unicode Cf) or a lone surrogate."""
    return any(_is_control(ch) or _is_invisible(ch) for ch in text)


def check_characters(text: str, *, field: str, label: str) -> str:
    """Refuse text with a control or invisible character, naming the field and the characters."""
    found = bad_characters(text)
    if found is None:
        return text
    rule, chars = found
    if rule == "control_character":
        message = _("%(field)s contains a control character (%(chars)s)", field=label, chars=chars)
    else:
        message = _(
            "%(field)s contains an invisible formatting character (%(chars)s), such as a "
            "bidirectional override or a zero-width space; remove it",
            field=label,
            chars=chars,
        )
    raise ValidationError(message, field=field, rule=rule)


def clean_text(
    value: str | None, *, field: str, label: str, max_length: int, required: bool = False
) -> str:
    """Strip text and check it: required, not longer than max_length, no control characters."""
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(_("%(field)s is required", field=label), field=field, rule="required")
    if len(text) > max_length:
        raise ValidationError(
            _("%(field)s is longer than %(n)d characters", field=label, n=max_length),
            field=field,
            rule="max_length",
        )
    return check_characters(text, field=field, label=label)


def search_text(value: str | None, max_length: int = 100) -> str:
    """Return a search query with characters that can never match removed."""
    text = (value or "")[:max_length]
    return "".join(ch for ch in text if not has_bad_characters(ch)).strip()


def require_reason(reason: str | None, max_length: int = 500) -> str:
    """Return the reason for a change, which every correction, void and status change needs."""
    text = (reason or "").strip()
    if not text:
        raise ValidationError(_("a reason is required"), field="reason", rule="required")
    if len(text) > max_length:
        raise ValidationError(
            _("reason is longer than 500 characters"), field="reason", rule="max_length"
        )
    return check_characters(text, field="reason", label=_("reason"))


def is_ascii_number(value: str) -> bool:
    """Tell whether text is a whole number written in ASCII digits.

    `str.isdigit()` alone also takes superscripts (²) and other scripts' digits, some of which
    `int()` then refuses.
    """
    return value.isascii() and value.isdigit()

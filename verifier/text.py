"""Rules every stored text obeys: no control characters, no lone surrogates, a length limit."""

from __future__ import annotations

from flask_babel import gettext as _

from verifier.errors import ValidationError

_ALLOWED_CONTROLS = "\n\r\t"


def has_bad_characters(text: str) -> bool:
    """Tell whether text holds a control character (other than newlines and tabs) or a lone surrogate."""  # noqa: E501
    return any(
        (ord(ch) < 32 and ch not in _ALLOWED_CONTROLS)
        or ord(ch) == 127
        or 0xD800 <= ord(ch) <= 0xDFFF
        for ch in text
    )


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
    if has_bad_characters(text):
        raise ValidationError(
            _("%(field)s contains a control character", field=label),
            field=field,
            rule="control_character",
        )
    return text


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
    if has_bad_characters(text):
        raise ValidationError(
            _("%(field)s contains a control character", field=_("reason")),
            field="reason",
            rule="control_character",
        )
    return text

"""Identifier rules: citizen ID (GB 11643), USCC (GB 32100), other ID types, masking."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum

from flask_babel import gettext as _

from verifier.errors import ValidationError
from verifier.text import code_points


class IdType(StrEnum):
    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"
    HK_MACAO_PERMIT = "hk_macao_permit"
    TAIWAN_PERMIT = "taiwan_permit"


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


# Chinese labels as organisations write them in spreadsheets.
ID_TYPE_ALIASES = {
    "resident_id": IdType.RESIDENT_ID,
    "居民身份证": IdType.RESIDENT_ID,
    "身份证": IdType.RESIDENT_ID,
    "passport": IdType.PASSPORT,
    "护照": IdType.PASSPORT,
    "hk_macao_permit": IdType.HK_MACAO_PERMIT,
    "港澳居民来往内地通行证": IdType.HK_MACAO_PERMIT,
    "港澳通行证": IdType.HK_MACAO_PERMIT,
    "回乡证": IdType.HK_MACAO_PERMIT,
    "taiwan_permit": IdType.TAIWAN_PERMIT,
    "台湾居民来往大陆通行证": IdType.TAIWAN_PERMIT,
    "台胞证": IdType.TAIWAN_PERMIT,
}

_RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_ASCII = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


# What each ID type may hold once normalised: ASCII digits and the letters of its format.
_DIGITS = frozenset("0123456789")
ID_CHARSETS: dict[str, frozenset[str]] = {
    IdType.RESIDENT_ID: _DIGITS | {"X"},
    IdType.PASSPORT: _DIGITS | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    IdType.HK_MACAO_PERMIT: _DIGITS | {"H", "M"},
    IdType.TAIWAN_PERMIT: _DIGITS,
}


def compact_identifier(value: str | None) -> str:
    """Return an identifier as typed, NFKC-normalised and without spaces, ready to be checked.

    NFKC turns full-width digits and letters (１１０１…, Ｘ) and wide spaces into ASCII ones, so
    they name the same person. It changes no other digits: Arabic-Indic and other scripts' digits
    stay and are refused by the character check, because Python's `\\d`, `str.isdigit()` and
    `int()` would read them. Only spaces and tabs are dropped; any other character is checked.
    """
    return re.sub(r"[ \t]+", "", unicodedata.normalize("NFKC", value or ""))


def _allowed_text(id_type: str) -> str:
    if id_type == IdType.RESIDENT_ID:
        return _("the digits 0-9 and a final X")
    if id_type == IdType.PASSPORT:
        return _("the letters A-Z and the digits 0-9")
    if id_type == IdType.HK_MACAO_PERMIT:
        return _("H or M and the digits 0-9")
    return _("the digits 0-9")


def _outside(compact: str, allowed: frozenset[str]) -> str:
    # upper() only after isascii(): "ß".upper() is "SS"
    return "".join(ch for ch in compact if not (ch.isascii() and ch.upper() in allowed))


def _check_id_characters(id_type: str, compact: str, field: str) -> None:
    bad = _outside(compact, ID_CHARSETS[id_type])
    if bad:
        raise ValidationError(
            _(
                "this ID number may hold only %(allowed)s; it holds %(chars)s",
                allowed=_allowed_text(id_type),
                chars=code_points(bad),
            ),
            field=field,
            rule="id_charset",
        )


def resident_id_check_char(first17: str) -> str:
    """Return the GB 11643 check character for 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _RESIDENT_WEIGHTS, strict=True))
    return _RESIDENT_CHECK[total % 11]


def resident_id_birth_date(number: str) -> date:
    """Return the birth date held in a resident ID number."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def resident_id_gender(number: str) -> Gender:
    """Return male or female from the 17th digit of a resident ID number."""
    return Gender.MALE if int(number[16]) % 2 else Gender.FEMALE


def normalize_id_type(value: str, field: str = "id_type") -> str:
    """Map an ID type or its Chinese label to its code."""
    key = unicodedata.normalize("NFKC", value or "").strip()
    code = ID_TYPE_ALIASES.get(key) or ID_TYPE_ALIASES.get(key.lower())
    if code is None:
        raise ValidationError(
            _(
                "unknown ID type %(value)s; use one of resident_id (居民身份证), passport (护照), "
                "hk_macao_permit (港澳居民来往内地通行证), taiwan_permit (台湾居民来往大陆通行证)",
                value=repr(value),
            ),
            field=field,
            rule="id_type",
        )
    return code


def normalize_id_number(id_type: str, value: str, field: str = "id_number") -> str:
    """Validate an ID number for its type; return its normal form, the only one stored or hashed.

    NFKC first, then only ASCII digits and the letters the type permits (rule `id_charset`,
    naming each refused character by code point), then the type's format and checksum.
    """
    compact = compact_identifier(value)
    if not compact:
        raise ValidationError(_("ID number is required"), field=field, rule="required")
    _check_id_characters(id_type, compact, field)
    number = compact.upper()
    if id_type == IdType.RESIDENT_ID:
        return _check_resident_id(number, field)
    patterns: dict[str, tuple[str, str]] = {
        IdType.PASSPORT: (r"[A-Z0-9]{5,17}", _("a passport number is 5 to 17 letters and digits")),
        IdType.HK_MACAO_PERMIT: (
            r"[HM]\d{8}(\d{2})?",
            _("a Hong Kong/Macao permit number is H or M followed by 8 or 10 digits"),
        ),
        IdType.TAIWAN_PERMIT: (r"\d{8}(\d{2})?", _("a Taiwan permit number is 8 or 10 digits")),
    }
    pattern, rule_text = patterns[id_type]
    if not re.fullmatch(pattern, number, re.ASCII) or not re.search(r"[0-9]", number):
        raise ValidationError(
            _("ID number is not valid: %(rule)s", rule=rule_text), field=field, rule="id_format"
        )
    return number


def _check_resident_id(number: str, field: str) -> str:
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        raise ValidationError(
            _("a resident ID number is 17 digits followed by a digit or X (18 characters)"),
            field=field,
            rule="id_format",
        )
    try:
        born = resident_id_birth_date(number)
    except ValueError:
        raise ValidationError(
            _(
                "the resident ID number holds an impossible birth date (%(digits)s)",
                digits=number[6:14],
            ),
            field=field,
            rule="id_birth_date",
        ) from None
    if born > date.today() or born.year < 1900:
        raise ValidationError(
            _(
                "the resident ID number holds a birth date out of range (%(digits)s)",
                digits=number[6:14],
            ),
            field=field,
            rule="id_birth_date",
        )
    if resident_id_check_char(number[:17]) != number[17]:
        raise ValidationError(
            _("the resident ID number's check character is wrong (GB 11643 checksum)"),
            field=field,
            rule="id_checksum",
        )
    return number


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100 check character for the first 17 characters of a USCC."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(value: str, field: str = "uscc") -> str:
    """Validate a unified social credit code and return its normal form (NFKC, upper case)."""
    compact = compact_identifier(value)
    bad = _outside(compact, _USCC_ASCII)
    if bad:
        raise ValidationError(
            _(
                "a unified social credit code may hold only the letters A-Z and the digits 0-9; "
                "it holds %(chars)s",
                chars=code_points(bad),
            ),
            field=field,
            rule="uscc_charset",
        )
    code = compact.upper()
    if len(code) != 18:
        raise ValidationError(
            _("a unified social credit code has 18 characters, this one has %(n)d", n=len(code)),
            field=field,
            rule="uscc_length",
        )
    unused = sorted({c for c in code if c not in USCC_ALPHABET})
    if unused:
        raise ValidationError(
            _(
                "a unified social credit code may not contain %(chars)s (I, O, S, V, Z are never used)",  # noqa: E501
                chars=", ".join(unused),
            ),
            field=field,
            rule="uscc_charset",
        )
    if not all(ch in _DIGITS for ch in code[2:8]):
        raise ValidationError(
            _("characters 3 to 8 of a unified social credit code are the region code (6 digits)"),
            field=field,
            rule="uscc_region",
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _("the unified social credit code's check character is wrong (GB 32100 checksum)"),
            field=field,
            rule="uscc_checksum",
        )
    return code


def mask_id_number(number: str) -> str:
    """Mask an ID number for display: keep a few characters at each end."""
    if len(number) >= 14:
        return number[:3] + "*" * (len(number) - 5) + number[-2:]
    if len(number) >= 6:
        return number[:1] + "*" * (len(number) - 3) + number[-2:]
    return "*" * len(number)


def mask_id_number_middle(number: str) -> str:
    """Mask the middle of an ID number for the holder's printed copy (110101********123X).

    A resident ID keeps its first 6 and last 4 characters; a shorter number (a passport or a
    permit) keeps 2 at each end, so that at least half of it is always masked.
    """
    if len(number) >= 14:
        return number[:6] + "*" * (len(number) - 10) + number[-4:]
    if len(number) >= 8:
        return number[:2] + "*" * (len(number) - 4) + number[-2:]
    return mask_id_number(number)


def mask_name(name: str) -> str:
    """Mask a personal name for public display: its first character and one star (张*)."""
    name = name.strip()
    if not name:
        return ""
    # always one star: the length of the name is not shown either
    return name[0] + "*"

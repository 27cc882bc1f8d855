"""Certificate numbers: 80 random bits in Crockford base32, grouped, with a check character.

A number reads like ``7K3Q-M9XA-2BHD-PW4R-E``: 16 data characters (80 bits from ``secrets``)
and one check character, in groups of four. The check character is the parity symbol of a
Reed-Solomon code over GF(32): with the characters' values c_0 .. c_16 and a primitive element
a of GF(32), a number is valid when c_0*a^16 + c_1*a^15 + ... + c_16 = 0. Every weight is
non-zero, so any single mistyped character changes the sum; the weights are pairwise distinct
(a has order 31), so swapping any two different characters, adjacent or not, changes it too.
Unlike Crockford's own mod-37 check, the check character comes from the same 32 characters as
the rest, so nobody has to type ``*``, ``~``, ``$`` or ``=``.
"""

from __future__ import annotations

import secrets
import unicodedata

__all__ = [
    "ALPHABET",
    "InvalidCertificateNumber",
    "check_character",
    "format_certificate_number",
    "is_valid_check",
    "new_certificate_number",
    "normalize_certificate_number",
]

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_LENGTH = 16
LENGTH = DATA_LENGTH + 1
GROUP = 4
RANDOM_BITS = 5 * DATA_LENGTH

_VALUES = {char: value for value, char in enumerate(ALPHABET)}
# Crockford's decoding: letters that look like digits are read as those digits.
_READ_AS = {"I": "1", "L": "1", "O": "0"}
_SEPARATORS = frozenset(" -_\u00a0\u2010\u2011\u2012\u2013\u2014\u2212")
# x^5 + x^2 + 1 is primitive over GF(2), so x generates the multiplicative group of GF(32).
_FIELD_POLYNOMIAL = 0b100101


class InvalidCertificateNumber(ValueError):
    """Text is not a well-formed certificate number; the message names the problem."""

    def __init__(self, message: str, *, rule: str) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule


def _times_generator(value: int) -> int:
    value <<= 1
    if value & 0b100000:
        value ^= _FIELD_POLYNOMIAL
    return value


def _syndrome(values: list[int]) -> int:
    # Horner's rule in GF(32): addition is XOR, multiplication by the generator is a shift.
    total = 0
    for value in values:
        total = _times_generator(total) ^ value
    return total


def check_character(data: str) -> str:
    """Return the check character for 16 Crockford base32 data characters."""
    if len(data) != DATA_LENGTH or any(char not in _VALUES for char in data):
        raise ValueError(f"check_character() takes {DATA_LENGTH} characters from {ALPHABET}")
    return ALPHABET[_times_generator(_syndrome([_VALUES[char] for char in data]))]


def is_valid_check(number: str) -> bool:
    """Tell whether 17 Crockford characters (hyphens allowed) end in the right check character."""
    chars = number.replace("-", "") if isinstance(number, str) else ""
    if len(chars) != LENGTH or any(char not in _VALUES for char in chars):
        return False
    return _syndrome([_VALUES[char] for char in chars]) == 0


def format_certificate_number(chars: str) -> str:
    """Group 17 characters in fours separated by hyphens."""
    return "-".join(chars[start : start + GROUP] for start in range(0, len(chars), GROUP))


def new_certificate_number() -> str:
    """Return a new random certificate number such as 7K3Q-M9XA-2BHD-PW4R-E."""
    number = secrets.randbits(RANDOM_BITS)
    data = "".join(ALPHABET[(number >> (5 * shift)) & 31] for shift in reversed(range(16)))
    return format_certificate_number(data + check_character(data))


def normalize_certificate_number(text: str) -> str:
    """Read a typed certificate number leniently and return it in canonical grouped form."""
    if not isinstance(text, str):
        raise InvalidCertificateNumber("a certificate number is text", rule="type")
    # NFKC turns full-width letters, digits and hyphens (common with Chinese input methods)
    # into their ASCII forms.
    folded = unicodedata.normalize("NFKC", text).strip().upper()
    chars = []
    for char in folded:
        if char in _SEPARATORS:
            continue
        char = _READ_AS.get(char, char)
        if char not in _VALUES:
            shown = char if char.isprintable() else f"U+{ord(char):04X}"
            raise InvalidCertificateNumber(
                f"'{shown}' cannot appear in a certificate number "
                "(only digits and letters other than I, L, O and U)",
                rule="alphabet",
            )
        chars.append(char)
    if len(chars) != LENGTH:
        raise InvalidCertificateNumber(
            f"a certificate number has {LENGTH} letters and digits; this one has {len(chars)}",
            rule="length",
        )
    number = "".join(chars)
    if not is_valid_check(number):
        raise InvalidCertificateNumber(
            "the certificate number does not add up: a character is mistyped or missing",
            rule="check",
        )
    return format_certificate_number(number)

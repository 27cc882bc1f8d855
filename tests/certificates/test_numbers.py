"""Certificate numbers: randomness, format, lenient reading and the check character."""

from __future__ import annotations

import re

import pytest

from verifier.certificates import numbers
from verifier.certificates.numbers import (
    ALPHABET,
    InvalidCertificateNumber,
    check_character,
    is_valid_check,
    new_certificate_number,
    normalize_certificate_number,
)

SHAPE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}-[0-9A-HJKMNP-TV-Z]")
SAMPLES = [
    new_certificate_number(),
    new_certificate_number(),
    "0000-0000-0000-0000-0",
    "ZZZZ-ZZZZ-ZZZZ-ZZZZ-" + check_character("Z" * 16),
    "0123-4567-89AB-CDEF-" + check_character("0123456789ABCDEF"),
]
# named, not shown: the first two are new at each run (pytest-xdist's workers must agree on ids)
SAMPLE_IDS = ["new-1", "new-2", "zeros", "all-z", "sequence"]


def chars(number: str) -> str:
    return number.replace("-", "")


def test_new_number_shape_and_check():
    for _ in range(200):
        number = new_certificate_number()
        assert SHAPE.fullmatch(number), number
        assert is_valid_check(number)
        assert normalize_certificate_number(number) == number


def test_at_least_80_random_bits():
    assert numbers.RANDOM_BITS >= 80
    assert len(ALPHABET) ** numbers.DATA_LENGTH >= 2**80
    drawn = {chars(new_certificate_number())[:16] for _ in range(2000)}
    assert len(drawn) == 2000
    # Every data position takes many different characters: no fixed or biased position.
    sample = [chars(new_certificate_number()) for _ in range(2000)]
    for position in range(16):
        assert len({number[position] for number in sample}) == 32


def test_alphabet_is_crockford_base32():
    assert ALPHABET == "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    assert not set("ILOU") & set(ALPHABET)


@pytest.mark.parametrize("number", SAMPLES, ids=SAMPLE_IDS)
def test_every_single_substitution_is_caught(number):
    text = chars(number)
    assert is_valid_check(text)
    for position in range(len(text)):
        for replacement in ALPHABET:
            if replacement == text[position]:
                continue
            typo = text[:position] + replacement + text[position + 1 :]
            assert not is_valid_check(typo), (number, position, replacement)
            with pytest.raises(InvalidCertificateNumber) as caught:
                normalize_certificate_number(typo)
            assert caught.value.rule == "check"


@pytest.mark.parametrize("number", SAMPLES, ids=SAMPLE_IDS)
def test_every_adjacent_transposition_is_caught(number):
    text = chars(number)
    for position in range(len(text) - 1):
        if text[position] == text[position + 1]:
            continue
        swapped = text[:position] + text[position + 1] + text[position] + text[position + 2 :]
        assert not is_valid_check(swapped), (number, position)


@pytest.mark.parametrize("number", SAMPLES, ids=SAMPLE_IDS)
def test_every_jump_transposition_is_caught_too(number):
    text = chars(number)
    for first in range(len(text)):
        for second in range(first + 2, len(text)):
            if text[first] == text[second]:
                continue
            swapped = list(text)
            swapped[first], swapped[second] = swapped[second], swapped[first]
            assert not is_valid_check("".join(swapped)), (number, first, second)


@pytest.mark.parametrize("number", SAMPLES[:2], ids=SAMPLE_IDS[:2])
def test_a_dropped_or_doubled_character_is_caught(number):
    text = chars(number)
    for position in range(len(text)):
        with pytest.raises(InvalidCertificateNumber) as caught:
            normalize_certificate_number(text[:position] + text[position + 1 :])
        assert caught.value.rule == "length"
        with pytest.raises(InvalidCertificateNumber):
            normalize_certificate_number(text[:position] + text[position] + text[position:])


def test_lenient_reading():
    number = SAMPLES[4]  # 0123-4567-89AB-CDEF-?
    assert normalize_certificate_number(number.lower()) == number
    assert normalize_certificate_number(chars(number)) == number
    assert normalize_certificate_number("  " + " ".join(chars(number)) + " ") == number
    assert normalize_certificate_number(number.replace("0", "o").replace("1", "l")) == number
    assert normalize_certificate_number(number.replace("1", "I")) == number
    assert normalize_certificate_number(number.replace("-", "—")) == number
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in chars(number))
    assert normalize_certificate_number(full_width) == number


@pytest.mark.parametrize(
    ("text", "rule", "named"),
    [
        ("0123-4567-89AB-CDEF-U", "alphabet", "'U'"),
        ("0123-4567-89AB-CDE*-0", "alphabet", "'*'"),
        ("0123/4567/89AB/CDEF/0", "alphabet", "'/'"),
        ("0123-4567-89AB-CDEF-\u00e9", "alphabet", "'É'"),
        ("0123-4567-89AB-CDEF-\x00", "alphabet", "U+0000"),
        ("", "length", "has 0"),
        ("0123-4567", "length", "has 8"),
        ("0123-4567-89AB-CDEF-00", "length", "has 18"),
    ],
)
def test_bad_input_names_the_problem(text, rule, named):
    with pytest.raises(InvalidCertificateNumber) as caught:
        normalize_certificate_number(text)
    assert caught.value.rule == rule
    assert named in str(caught.value)


def test_not_text_is_refused():
    with pytest.raises(InvalidCertificateNumber):
        normalize_certificate_number(None)  # type: ignore[arg-type]
    assert not is_valid_check(None)  # type: ignore[arg-type]


def test_is_valid_check_refuses_wrong_shapes():
    assert not is_valid_check("")
    assert not is_valid_check("0" * 16)
    assert not is_valid_check("O" * 17)
    assert is_valid_check("0" * 17)


def test_check_character_needs_16_alphabet_characters():
    with pytest.raises(ValueError):
        check_character("0" * 15)
    with pytest.raises(ValueError):
        check_character("I" * 16)


def test_invalid_number_is_a_value_error():
    assert issubclass(InvalidCertificateNumber, ValueError)

"""GB 11643 citizen IDs, GB 32100 credit codes, other ID types, masking."""

import pytest

from verifier.errors import ValidationError
from verifier.identifiers import (
    mask_id_number,
    mask_name,
    normalize_id_number,
    normalize_id_type,
    normalize_uscc,
    resident_id_birth_date,
    resident_id_check_char,
    uscc_check_char,
)


def rule_of(excinfo: pytest.ExceptionInfo) -> str:
    return excinfo.value.first.rule


def test_product_brief_examples_are_valid():
    assert normalize_id_number("resident_id", "11010119900307002X") == "11010119900307002X"
    assert normalize_id_number("resident_id", "11010119900307002x") == "11010119900307002X"
    assert normalize_uscc("91350100M000100Y43") == "91350100M000100Y43"


def test_resident_id_check_character_by_hand():
    # 1*7+1*9+0*10+1*5+0*8+1*4+1*2+9*1+9*6+0*3+0*7+3*9+0*10+7*5+0*8+0*4+2*2 = 156
    # 156 % 11 = 2 -> 'X'
    assert resident_id_check_char("11010119900307002") == "X"
    assert resident_id_birth_date("11010119900307002X").isoformat() == "1990-03-07"


def test_uscc_check_character_by_hand():
    assert uscc_check_char("91350100M000100Y4") == "3"


@pytest.mark.parametrize(
    "number, rule",
    [
        ("110101199003070021", "id_checksum"),  # last digit wrong
        ("11010119900230002X", "id_birth_date"),  # 30 February
        ("1101011990030700", "id_format"),  # too short
        ("11010129990307002X", "id_birth_date"),  # born in 2999
        ("11O10119900307002X", "id_charset"),  # letter O: not a character a resident ID holds
    ],
)
def test_bad_resident_ids_name_their_rule(number, rule):
    with pytest.raises(ValidationError) as excinfo:
        normalize_id_number("resident_id", number)
    assert rule_of(excinfo) == rule
    assert excinfo.value.first.field == "id_number"


@pytest.mark.parametrize(
    "code, rule",
    [
        ("91350100M000100Y44", "uscc_checksum"),
        ("91350100M000100Y4", "uscc_length"),
        ("91350100M000100I43", "uscc_charset"),
        ("913501A0M000100Y43", "uscc_region"),
    ],
)
def test_bad_usccs_name_their_rule(code, rule):
    with pytest.raises(ValidationError) as excinfo:
        normalize_uscc(code)
    assert rule_of(excinfo) == rule


def test_other_id_types_have_format_checks():
    assert normalize_id_number("passport", "e12345678") == "E12345678"
    assert normalize_id_number("hk_macao_permit", "H12345678") == "H12345678"
    assert normalize_id_number("taiwan_permit", "12345678") == "12345678"
    for id_type, bad in [
        ("passport", "AB"),
        ("hk_macao_permit", "X12345678"),
        ("taiwan_permit", "1234"),
    ]:
        with pytest.raises(ValidationError):
            normalize_id_number(id_type, bad)


def test_id_type_labels():
    assert normalize_id_type("居民身份证") == "resident_id"
    assert normalize_id_type("护照") == "passport"
    with pytest.raises(ValidationError) as excinfo:
        normalize_id_type("驾驶证")
    assert rule_of(excinfo) == "id_type"


def test_masking_hides_the_middle():
    masked = mask_id_number("11010119900307002X")
    assert masked == "110*************2X"
    assert "19900307" not in masked
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧*"  # the length is not revealed


FULL_WIDTH_ID = "１１０１０１１９９００３０７００２X"  # full-width digits, an ASCII check character


@pytest.mark.parametrize(
    "id_type, typed, normal",
    [
        ("resident_id", FULL_WIDTH_ID, "11010119900307002X"),
        ("resident_id", "１１０１０１１９９００３０７００２ｘ", "11010119900307002X"),
        ("resident_id", "110101\u300019900307\u00a0002X", "11010119900307002X"),  # wide spaces
        ("passport", "ｅ１２３４５６７８", "E12345678"),
        ("hk_macao_permit", "Ｈ１２３４５６７８", "H12345678"),
        ("taiwan_permit", "１２３４５６７８", "12345678"),
    ],
)
def test_nfkc_makes_full_width_identifiers_the_same_number(id_type, typed, normal):
    assert normalize_id_number(id_type, typed) == normal


@pytest.mark.parametrize(
    "id_type, typed, named",
    [
        ("resident_id", "١١٠١٠١١٩٩٠٠٣٠٧٠٠٢X", "U+0661 ARABIC-INDIC DIGIT ONE"),
        ("resident_id", "११०१०११९९००३०७००२X", "U+0967 DEVANAGARI DIGIT ONE"),
        ("resident_id", "1101011990030\u200b7002X", "U+200B ZERO WIDTH SPACE"),
        ("resident_id", "11010119900307002X\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("passport", "E1234\u00df678", "U+00DF LATIN SMALL LETTER SHARP S"),  # not "SS"
        ("passport", "E1234-5678", "U+002D HYPHEN-MINUS"),
        ("hk_macao_permit", "Ｘ12345678", "U+0058 LATIN CAPITAL LETTER X"),
        ("taiwan_permit", "1234567\n8", "U+000A"),
    ],
)
def test_characters_outside_the_type_are_refused_by_code_point(id_type, typed, named):
    with pytest.raises(ValidationError) as excinfo:
        normalize_id_number(id_type, typed)
    assert rule_of(excinfo) == "id_charset"
    assert excinfo.value.first.field == "id_number"
    assert named in excinfo.value.first.message


def test_credit_codes_are_normalised_the_same_way():
    assert normalize_uscc("９１３５０１００Ｍ０００１００Ｙ４３") == "91350100M000100Y43"
    for typed, named in [
        ("٩١350100M000100Y43", "U+0669 ARABIC-INDIC DIGIT NINE"),
        ("91350100M000100Y4\u200b3", "U+200B ZERO WIDTH SPACE"),  # not "19 characters"
    ]:
        with pytest.raises(ValidationError) as excinfo:
            normalize_uscc(typed)
        assert rule_of(excinfo) == "uscc_charset"
        assert named in excinfo.value.first.message

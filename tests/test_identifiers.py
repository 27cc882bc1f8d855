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
        ("11O10119900307002X", "id_format"),  # letter O
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

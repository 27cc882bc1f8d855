"""Text that no database can store safely is refused by the services, for pages and import too."""

import io

import pytest

from verifier.errors import ValidationError
from verifier.text import clean_text, require_reason, search_text


@pytest.mark.parametrize("bad", ["a\x00b", "\ud800", "x\x7f", "ta\x0bb"])
def test_control_characters_and_lone_surrogates_are_refused(bad):
    with pytest.raises(ValidationError) as excinfo:
        clean_text(bad, field="name", label="name", max_length=50)
    assert excinfo.value.first.rule == "control_character"


def test_newlines_and_script_tags_are_kept_as_given():
    text = "第一行\n<script>alert(1)</script> ' OR 1=1 --"
    assert clean_text(text, field="content", label="content", max_length=200) == text


def test_search_text_drops_what_can_never_match():
    assert search_text("张\x00三\ud800") == "张三"


def test_organisation_name_with_nul_is_a_field_error_not_a_500(make):
    with pytest.raises(ValidationError) as excinfo:
        make.org(name="协会\x00")
    assert excinfo.value.first.field == "name"


def test_volunteer_search_with_nul_does_not_reach_the_database(client, make):
    from support import login

    org = make.org()
    user = make.user("org_admin", org)
    make.volunteer(org, name="王五")
    login(client, user.email)
    response = client.get(
        "/volunteers", query_string={"q": "王\x00五"}, headers={"Accept-Language": "en"}
    )
    # refused before any view, naming the field (no page field may hold a NUL)
    assert response.status_code == 400
    assert "q contains a NUL character (U+0000)" in response.get_data(as_text=True)
    assert client.get("/volunteers", query_string={"q": "王五"}).status_code == 200


@pytest.mark.parametrize(
    "bad, named",
    [
        ("张三\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\u202a张三\u202c", "U+202A LEFT-TO-RIGHT EMBEDDING"),
        ("张\u2066三\u2069", "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("张\u200b三", "U+200B ZERO WIDTH SPACE"),
        ("张\u200f三", "U+200F RIGHT-TO-LEFT MARK"),
        ("张\u2060三", "U+2060 WORD JOINER"),
        ("\ufeff张三", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("张\u00ad三", "U+00AD SOFT HYPHEN"),
    ],
)
def test_invisible_formatting_characters_are_refused_by_code_point(bad, named):
    with pytest.raises(ValidationError) as excinfo:
        clean_text(bad, field="name", label="name", max_length=50)
    assert excinfo.value.first.rule == "invisible_character"
    assert named in excinfo.value.first.message


@pytest.mark.parametrize(
    "bad, named", [("a\x85b", "U+0085"), ("a\x9bb", "U+009B"), ("a\x00b", "U+0000")]
)
def test_every_control_character_is_named_c1_included(bad, named):
    with pytest.raises(ValidationError) as excinfo:
        clean_text(bad, field="content", label="content", max_length=50)
    assert excinfo.value.first.rule == "control_character"
    assert named in excinfo.value.first.message


def test_reasons_are_held_to_the_same_rules():
    with pytest.raises(ValidationError) as excinfo:
        require_reason("录入错误\u202e")
    assert (excinfo.value.first.field, excinfo.value.first.rule) == (
        "reason",
        "invisible_character",
    )


def test_a_name_with_a_bidi_override_is_refused_by_the_api_the_form_and_an_import(
    app, client, make
):
    from support import bearer, login

    org = make.org()
    admin = make.user("org_admin", org)
    token = make.token(admin)
    headers = {**bearer(token), "Accept-Language": "en"}
    body = {"name": "张三\u202e", "id_type": "passport", "id_number": "E12345678"}
    answer = client.post("/api/v1/volunteers", json=body, headers=headers)
    assert answer.status_code == 422
    [error] = answer.get_json()["errors"]
    assert (error["field"], error["rule"]) == ("name", "invisible_character")
    assert "U+202E" in error["message"]
    login(client, admin.email)
    page = client.post("/volunteers/new", data=body)
    assert page.status_code == 422 and "U+202E" in page.get_data(as_text=True)
    csv = (
        "姓名,证件类型,证件号码,活动名称,服务地点,开始时间,结束时间,服务时长（分钟）\r\n"
        "张三,护照,E12345678,敬老\u2067服务,体育中心,2024-03-05 09:00,2024-03-05 10:00,60\r\n"
    )
    imported = client.post(
        "/api/v1/records/import",
        data={"file": (io.BytesIO(csv.encode()), "rows.csv")},
        headers=headers,
        content_type="multipart/form-data",
    ).get_json()
    assert [(p["field"], p["rule"]) for p in imported["rejected"]] == [
        ("activity", "invisible_character")
    ]
    assert "U+2067" in imported["rejected"][0]["message"]

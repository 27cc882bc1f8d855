"""Text that no database can store safely is refused by the services, for pages and import too."""

import pytest

from verifier.errors import ValidationError
from verifier.text import clean_text, search_text


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
    from conftest import login

    org = make.org()
    user = make.user("org_admin", org)
    make.volunteer(org, name="王五")
    login(client, user.email)
    response = client.get("/volunteers", query_string={"q": "王\x00五"})
    assert response.status_code == 200
    assert "王五" in response.get_data(as_text=True)

"""Page forms show every error next to the field it is about, in Chinese and in English."""

from __future__ import annotations

import html
import re

import pytest
from support import login

# (field id, message) pairs in each language; the messages name the API's field, as the API does
DATE = {
    "en": "{} must be a date written as YYYY-MM-DD",
    "zh": "{} 必须为 YYYY-MM-DD 格式的日期",
}
WHOLE_NUMBER = {
    "en": "{} must be a whole number (e.g. 180), not a string, a fraction or true/false",
    "zh": "{} 必须为整数（如 180），不能是字符串、小数或 true/false",
}


def error_next_to(page: str, field_id: str) -> str:
    """The error shown right after the field's input, which points to it (aria-describedby)."""
    found = re.search(
        rf'<input (?=[^>]*aria-describedby="{field_id}-error")(?=[^>]*aria-invalid="true")'
        rf'[^>]*id="{field_id}"[^>]*>\s*'
        rf'<p class="field-error" id="{field_id}-error" role="alert">(.*?)</p>',
        page,
        re.S,
    )
    assert found, f"no error next to {field_id}"
    return html.unescape(found.group(1))


def error_after_table(page: str, field_id: str) -> str:
    """The error of a field laid out as a table of checkboxes: right after the table."""
    found = re.search(
        rf'</table>\s*</div>\s*<p class="field-error" id="{field_id}-error" role="alert">(.*?)</p>',
        page,
        re.S,
    )
    assert found, f"no error after the table of {field_id}"
    return html.unescape(found.group(1))


def _client(app, user, language):
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    client.set_cookie("lang", language)
    return client


@pytest.fixture
def org_admin(make):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    make.record(org, volunteer, actor=admin)
    return admin, volunteer


@pytest.mark.parametrize("language", ["zh", "en"])
def test_bulk_issuance_shows_both_bad_dates_at_their_fields(app, org_admin, language):
    client = _client(app, org_admin[0], language)
    response = client.post("/certificates/bulk", data={"period_from": "x", "period_to": "y"})
    assert response.status_code == 422
    for name in ("period_from", "period_to"):
        assert error_next_to(response.text, name) == DATE[language].format(name)
    assert 'value="x"' in response.text and 'value="y"' in response.text  # kept as typed


@pytest.mark.parametrize("language", ["zh", "en"])
def test_issuing_one_shows_a_bad_record_and_a_bad_date_at_their_fields(app, org_admin, language):
    admin, volunteer = org_admin
    client = _client(app, admin, language)
    response = client.post(
        f"/certificates/new?volunteer_id={volunteer.id}",
        data={"record_ids": "abc", "period_from": "yesterday"},
    )
    assert response.status_code == 422
    assert error_after_table(response.text, "record_ids") == WHOLE_NUMBER[language].format(
        "record_ids.0"
    )
    assert error_next_to(response.text, "period_from") == DATE[language].format("period_from")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_plan_form_shows_both_bad_numbers_at_their_fields(app, make, language):
    client = _client(app, make.user("regulator_supervisor"), language)
    form = {
        "name": "季度抽查",
        "period_mode": "previous_days",
        "period_days": "ninety",
        "size_mode": "fixed",
        "size_count": "3",
        "per_org_mode": "fixed",
        "per_org_count": "1",
        "inspectors_per_organisation": "many",
    }
    response = client.post("/spotchecks/plans/new", data=form)
    assert response.status_code == 422
    expected = {
        "period_days": "parameters.period.days",
        "inspectors_per_organisation": "parameters.inspectors_per_organisation",
    }
    for field_id, api_field in expected.items():
        assert error_next_to(response.text, field_id) == WHOLE_NUMBER[language].format(api_field)
    assert 'class="flash error"' not in response.text  # nothing left over at the top

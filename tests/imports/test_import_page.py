"""The import page: form with the declaration, options, and the row report, escaped."""

from __future__ import annotations

import io
from typing import Any

import pytest
from support import login
from support.import_files import counts, csv_bytes, row

URL = "/imports"


@pytest.fixture
def org(make: Any) -> Any:
    return make.org()


@pytest.fixture
def signed_in(client: Any, make: Any, org: Any) -> Any:
    user = make.user("org_recorder", org)
    login(client, user.email)
    client.set_cookie("lang", "en")
    return client


def submit(client: Any, data: bytes, filename: str = "records.csv", **fields: Any) -> Any:
    form: dict[str, Any] = {"declaration": "y", **fields, "file": (io.BytesIO(data), filename)}
    return client.post(URL, data=form, content_type="multipart/form-data")


def test_form_has_the_declaration_and_options(signed_in):
    page = signed_in.get(URL)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'type="file"' in html and 'enctype="multipart/form-data"' in html
    assert 'name="declaration"' in html and "required" in html
    assert 'name="dry_run"' in html and 'name="all_or_nothing"' in html
    assert "unpaid" in html
    assert 'name="viewport"' in html


def test_import_shows_the_row_report(signed_in, app):
    response = submit(signed_in, csv_bytes([row(801), row(802, minutes="-10")]))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "1 rows were imported; 1 rows were rejected" in html
    assert '<td class="line">3</td>' in html
    assert "服务时长（分钟）" in html and "minutes_positive" in html
    assert "service minutes must be greater than 0" in html


def test_declaration_is_required(signed_in, app):
    before = counts(app)
    response = signed_in.post(
        URL,
        data={"file": (io.BytesIO(csv_bytes([row(803)])), "r.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Confirm that the service was unpaid" in response.get_data(as_text=True)
    assert counts(app) == before


def test_file_is_required(signed_in):
    response = signed_in.post(URL, data={"declaration": "y"}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose a CSV or XLSX file" in response.get_data(as_text=True)


def test_dry_run_from_the_page_writes_nothing(signed_in, app):
    before = counts(app)
    response = submit(signed_in, csv_bytes([row(804)]), dry_run="y")
    assert response.status_code == 200
    assert "Dry run: nothing was written" in response.get_data(as_text=True)
    assert counts(app) == before


def test_all_or_nothing_from_the_page(signed_in, app):
    before = counts(app)
    response = submit(signed_in, csv_bytes([row(805), row(806, minutes="x")]), all_or_nothing="y")
    assert "Nothing was written" in response.get_data(as_text=True)
    assert counts(app) == before


def test_script_tags_are_escaped_in_the_report(signed_in, app):
    script = "<script>alert(1)</script>"
    response = submit(signed_in, csv_bytes([row(807, id_type=script)]))
    html = response.get_data(as_text=True)
    assert script not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_unknown_header_with_markup_is_escaped_in_the_error(signed_in):
    data = ("姓名,<b>bold</b>\r\n").encode()
    response = submit(signed_in, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html


def test_binary_file_gets_a_clear_message_on_the_form(signed_in, app):
    response = submit(signed_in, b"\x89PNG\r\n\x1a\n\x00\x00\x00", filename="photo.png")
    assert response.status_code == 415
    html = response.get_data(as_text=True)
    assert "PNG image" in html and 'name="declaration"' in html


def test_template_download(signed_in):
    response = signed_in.get("/imports/template.csv")
    assert response.status_code == 200
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff姓名,证件类型,证件号码")


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["regulator_supervisor", "regulator_inspector", "platform_admin"])
def test_other_roles_may_not_import(client, make, role):
    user = make.user(role)
    login(client, user.email)
    assert client.get(URL).status_code == 403
    assert client.get("/imports/template.csv").status_code == 403

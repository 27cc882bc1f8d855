"""POST /api/v1/records/import: the report, flags, roles and problem+json for bad files."""

from __future__ import annotations

import io
from typing import Any

import pytest
from support import bearer
from support.import_files import counts, csv_bytes, row, xlsx_bytes

URL = "/api/v1/records/import"
EN = {"Accept-Language": "en"}


@pytest.fixture
def org(make: Any) -> Any:
    return make.org()


@pytest.fixture
def token(make: Any, org: Any) -> str:
    return make.token(make.user("org_recorder", org))


def post(
    client: Any, token: str | None, data: bytes | None, filename: str = "r.csv", **form: Any
) -> Any:
    body: dict[str, Any] = dict(form)
    if data is not None:
        body["file"] = (io.BytesIO(data), filename)
    headers = {**EN, **(bearer(token) if token else {})}
    return client.post(URL, data=body, headers=headers, content_type="multipart/form-data")


def test_import_returns_the_report(client, app, token):
    response = post(client, token, csv_bytes([row(601), row(602), row(603, minutes="-5")]))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["imported"], body["skipped"], body["total_rows"]) == (2, 0, 3)
    assert body["dry_run"] is False and body["all_or_nothing"] is False and body["written"] is True
    assert body["rejected"] == [
        {
            "line": 4,
            "column": "服务时长（分钟）",
            "field": "minutes",
            "rule": "minutes_positive",
            "message": "service minutes must be greater than 0",
        }
    ]
    assert body["file"]["encoding"] == "utf-8" and len(body["file"]["sha256"]) == 64
    again = post(client, token, csv_bytes([row(601), row(602)]))
    assert (again.get_json()["imported"], again.get_json()["skipped"]) == (0, 2)


@pytest.mark.parametrize("flag", ["true", "1", "TRUE", "yes"])
def test_dry_run_flag_writes_nothing(client, app, token, flag):
    before = counts(app)
    response = post(client, token, csv_bytes([row(604)]), dry_run=flag)
    assert response.status_code == 200
    body = response.get_json()
    assert body["dry_run"] is True and body["written"] is False and body["imported"] == 1
    assert counts(app) == before


def test_all_or_nothing_flag(client, app, token):
    before = counts(app)
    response = post(client, token, csv_bytes([row(605), row(606, minutes="x")]), all_or_nothing="1")
    body = response.get_json()
    assert response.status_code == 200
    assert (body["imported"], len(body["rejected"]), body["all_or_nothing"]) == (0, 1, True)
    assert counts(app) == before
    response = post(client, token, csv_bytes([row(605)]), all_or_nothing="false", dry_run="0")
    assert response.get_json()["imported"] == 1


def test_xlsx_upload(client, token):
    values = list(row(607).values())
    response = post(client, token, xlsx_bytes([values]), filename="records.xlsx")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["file"]["format"] == "xlsx"
    assert response.get_json()["imported"] == 1


def test_bad_flag_is_422_naming_the_field(client, token):
    response = post(client, token, csv_bytes([row(608)]), dry_run="maybe")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == "dry_run"


def test_missing_file_field_is_400(client, token):
    response = post(client, token, None, dry_run="true")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == "file"


def test_json_body_instead_of_a_file_is_400(client, token):
    response = client.post(URL, json={"rows": []}, headers={**EN, **bearer(token)})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 415),
        (b"PK\x03\x04" + b"\x00" * 60, 415),
        (",".join(["name", "x"]).encode() + b"\r\n\xe9\x2c\r\n", 422),
        ("姓名,证件号码\r\n".encode(), 422),
        (b"", 422),
    ],
    ids=["png", "broken-zip", "encoding", "missing-columns", "empty"],
)
def test_bad_files_are_problems(client, app, token, data, status):
    before = counts(app)
    response = post(client, token, data)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"]
    assert counts(app) == before


def test_file_over_the_configured_limit_is_413(client, app, token):
    app.config["IMPORT_MAX_BYTES"] = 2048
    data = csv_bytes([row(610 + i % 30) for i in range(60)])
    assert len(data) > 2048
    response = post(client, token, data)
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert "2.0 KB" in response.get_json()["detail"]


def test_a_50_mb_upload_is_refused(client, app, token):
    # the multipart body is built by hand: werkzeug's builder would spool it to a temporary file
    boundary = "import-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + b"a," * (25 * 1024 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.post(
        URL,
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={**EN, **bearer(token)},
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert "VERIFIER_IMPORT_MAX_BYTES" in response.get_json()["detail"]


def test_roles(client, make, org):
    data = csv_bytes([row(611)])
    assert post(client, None, data).status_code == 401
    for role in ("regulator_supervisor", "regulator_inspector", "platform_admin"):
        token = make.token(make.user(role))
        response = post(client, token, data)
        assert response.status_code == 403, role
        assert response.mimetype == "application/problem+json"
    admin_token = make.token(make.user("org_admin", org))
    assert post(client, admin_token, data).status_code == 200


def test_records_go_to_the_callers_organisation_only(client, app, make, org, token):
    other = make.org()
    other_token = make.token(make.user("org_admin", other))
    post(client, token, csv_bytes([row(612)]))
    response = post(client, other_token, csv_bytes([row(612)]))
    # the same person and service, kept by a second organisation, overlaps the first one's record
    body = response.get_json()
    assert body["imported"] == 0 and body["rejected"][0]["rule"] == "no_overlap"

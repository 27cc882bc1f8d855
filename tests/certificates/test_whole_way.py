"""The whole way, as the issue's "Done when" says: records, issue, scan, verify independently,
revoke, correct, supersede, re-issue."""

import json
import re

import pytest
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet
from support import bearer, days_ago

from verifier.certificates.qr import decode_qr

GROUPED = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}-[0-9A-HJKMNP-TV-Z]$")


def _verdict(client, token):
    page = client.get(f"/v/{token}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    return re.search(r"<code>([a-z_]+)</code>", text[text.index("verdict") :]).group(1), text


def test_records_issue_scan_verify_revoke_correct_reissue(app, client, make):
    org = make.org(name="南川区青年志愿者协会")
    admin = make.user("org_admin", org)
    auth = bearer(make.token(admin))
    volunteer = make.volunteer(org, name="张三", id_number="11010119900307002X")
    records = [
        make.record(org, volunteer, actor=admin, started_at=days_ago(d)) for d in (30, 20, 10)
    ]

    # issue through the API
    issued = client.post(
        "/api/v1/certificates",
        json={"volunteer_id": volunteer.id, "record_ids": [r.id for r in records]},
        headers=auth,
    )
    assert issued.status_code == 201, issued.get_json()
    cert = issued.get_json()
    assert GROUPED.match(cert["number"]) and cert["hours"] == "9.00" and cert["status"] == "valid"
    assert cert["verify_url"] == f"http://verifier.test/v/{cert['token']}"
    assert issued.headers["Location"].endswith(cert["number"])

    # the QR PNG decodes, with a real decoder, to the verification URL
    qr = client.get(f"/api/v1/certificates/{cert['number']}/qr.png", headers=auth)
    assert qr.status_code == 200 and qr.mimetype == "image/png"
    assert decode_qr(qr.data) == [cert["verify_url"]]
    token = decode_qr(qr.data)[0].split("/v/", 1)[1]

    # a second, independent JOSE library verifies the token against the published JWKS
    jwks = client.get("/.well-known/jwks.json").get_json()
    with pytest.warns(SecurityWarning, match="EdDSA"):
        checked = jws.deserialize_compact(token, KeySet.import_key_set(jwks), algorithms=["EdDSA"])
    claims = json.loads(checked.payload)
    assert claims["jti"] == cert["number"].replace("-", "")
    assert claims["hours"] == "9.00" and claims["name"] == "张*"
    assert "11010119900307002X" not in checked.payload.decode()

    # a phone opening the URL sees "valid"
    status, page = _verdict(client, token)
    assert status == "valid" and "张*" in page and "张三" not in page

    # revoke through the API; /v/ says revoked, with the reason
    revoked = client.post(
        f"/api/v1/certificates/{cert['number']}/revoke", json={"reason": "时长虚报"}, headers=auth
    )
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    status, page = _verdict(client, token)
    assert status == "revoked" and "时长虚报" in page

    # a second certificate over the same records; correcting one of them supersedes it
    second = client.post(
        "/api/v1/certificates",
        json={"volunteer_id": volunteer.id, "record_ids": [r.id for r in records]},
        headers=auth,
    ).get_json()
    assert _verdict(client, second["token"])[0] == "valid"
    corrected = client.post(
        f"/api/v1/records/{records[0].id}/corrections",
        json={"reason": "实际服务两小时", "minutes": 120},
        headers=auth,
    )
    assert corrected.status_code == 200, corrected.get_json()
    shown = client.get(f"/api/v1/certificates/{second['number']}", headers=auth).get_json()
    assert shown["status"] == "superseded"
    assert _verdict(client, second["token"])[0] == "superseded"

    # re-issue: a new number over the records as they are now, and it is valid
    again = client.post(f"/api/v1/certificates/{second['number']}/reissue", headers=auth)
    assert again.status_code == 201, again.get_json()
    third = again.get_json()
    assert third["number"] != second["number"] and third["hours"] == "8.00"
    assert _verdict(client, third["token"])[0] == "valid"
    old = client.get(f"/api/v1/certificates/{second['number']}", headers=auth).get_json()
    assert old["superseded_by"] == third["number"]
    api = client.post("/api/v1/verifications", json={"token": third["token"]})
    assert api.status_code == 200 and api.get_json()["status"] == "valid"

"""The certificate API: issue, read, QR, PDF, status changes, re-issue; scoping and bad requests."""

import io
import re

import pypdfium2
import pytest
from pypdf import PdfReader
from sqlalchemy import select
from support import bearer, days_ago

from verifier.certificates.models import Certificate
from verifier.certificates.qr import decode_qr
from verifier.db import get_session

FULL_ID = "11010119900307002X"


@pytest.fixture
def world(make):
    org = make.org(name="南川区青年志愿者协会")
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, name="张三", id_number=FULL_ID)
    records = [
        make.record(org, volunteer, actor=admin, started_at=days_ago(d), activity=a)
        for d, a in ((30, "社区敬老服务"), (20, "社区敬老服务"), (10, "图书馆整理"))
    ]
    other = make.org(name="另一个志愿服务组织")
    other_admin = make.user("org_admin", other)
    return {
        "org": org,
        "admin": admin,
        "auth": bearer(make.token(admin)),
        "volunteer": volunteer,
        "records": records,
        "other": other,
        "other_auth": bearer(make.token(other_admin)),
        "other_volunteer": make.volunteer(other),
        "regulator_auth": bearer(make.token(make.user("regulator_inspector"))),
        "platform_auth": bearer(make.token(make.user("platform_admin"))),
    }


def issue(client, world, **body):
    body.setdefault("volunteer_id", world["volunteer"].id)
    response = client.post("/api/v1/certificates", json=body, headers=world["auth"])
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_issue_by_period_and_by_records(client, world):
    by_period = issue(client, world, period_from=days_ago(25).date().isoformat())
    assert by_period["record_count"] == 2 and by_period["hours"] == "6.00"
    assert by_period["handler"] == world["admin"].display_name  # the real name, not the e-mail
    everything = issue(client, world, handler="刘经办")
    assert everything["record_count"] == 3 and everything["handler"] == "刘经办"
    assert {a["activity"]: a["hours"] for a in everything["activities"]} == {
        "社区敬老服务": "6.00",
        "图书馆整理": "3.00",
    }
    assert everything["id_number_masked"] == "110*************2X"
    assert everything["issuer_uscc"] and everything["responsible_person"] == "王负责"
    assert everything["links"]["qr_png"].endswith("/qr.png")


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"record_ids": ["x"]}, 422, "record_ids.0"),
        ({"record_ids": [99999]}, 422, "record_ids"),
        ({"period_from": "2026-13-01"}, 422, "period_from"),
        ({"period_from": "2001-01-01", "period_to": "2001-12-31"}, 422, "period_from"),
        ({"period_from": "2026-02-01", "period_to": "2026-01-01"}, 422, "period_to"),
        ({"handler": "x" * 51}, 422, "handler"),
        ({"colour": "red"}, 422, "colour"),
        ({"volunteer_id": "1"}, 422, "volunteer_id"),
    ],
)
def test_bad_issue_requests_name_the_field(client, world, body, status, field):
    body = {"volunteer_id": world["volunteer"].id, **body}
    response = client.post("/api/v1/certificates", json=body, headers=world["auth"])
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert field in [e["field"] for e in response.get_json()["errors"]]


def test_who_may_issue_and_what(app, client, make, world):
    volunteer_id = world["volunteer"].id
    url = "/api/v1/certificates"
    # no token, a regulator, another organisation's volunteer
    assert client.post(url, json={"volunteer_id": volunteer_id}).status_code == 401
    regulator = client.post(
        url, json={"volunteer_id": volunteer_id}, headers=world["regulator_auth"]
    )
    assert regulator.status_code == 403
    foreign = client.post(
        url, json={"volunteer_id": world["other_volunteer"].id}, headers=world["auth"]
    )
    assert foreign.status_code == 404
    assert (
        client.post(
            url, json={"volunteer_id": volunteer_id}, headers=world["other_auth"]
        ).status_code
        == 404
    )
    # a voided record cannot be certified: 422 naming record_ids
    record = world["records"][0]
    voided = client.post(
        f"/api/v1/records/{record.id}/void", json={"reason": "重复录入"}, headers=world["auth"]
    )
    assert voided.status_code == 200
    response = client.post(
        url, json={"volunteer_id": volunteer_id, "record_ids": [record.id]}, headers=world["auth"]
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "record_ids"
    assert response.get_json()["errors"][0]["rule"] == "not_voided"
    # another volunteer's record
    stranger = make.volunteer(world["org"])
    theirs = make.record(world["org"], stranger, actor=world["admin"])
    response = client.post(
        url, json={"volunteer_id": volunteer_id, "record_ids": [theirs.id]}, headers=world["auth"]
    )
    assert response.status_code == 422 and response.get_json()["errors"][0]["rule"] == "own_record"
    # not JSON, not an object
    assert (
        client.post(
            url, data="{", content_type="application/json", headers=world["auth"]
        ).status_code
        == 400
    )
    assert client.post(url, json=[1], headers=world["auth"]).status_code == 400
    assert client.post(url, data="volunteer_id=1", headers=world["auth"]).status_code == 415


def test_number_is_read_leniently(client, world):
    cert = issue(client, world)
    number = cert["number"]
    for form in (number, number.replace("-", ""), number.lower(), number.replace("-", " ")):
        response = client.get(f"/api/v1/certificates/{form}", headers=world["auth"])
        assert response.status_code == 200, form
        assert response.get_json()["number"] == number
    assert (
        client.get("/api/v1/certificates/0000-0000-0000-0000-0", headers=world["auth"]).status_code
        == 404
    )
    assert client.get("/api/v1/certificates/nonsense", headers=world["auth"]).status_code == 404


def test_another_organisation_can_neither_see_nor_change(client, world):
    number = issue(client, world)["number"]
    other = world["other_auth"]
    base = f"/api/v1/certificates/{number}"
    for path in ("", "/qr.png", "/certificate.pdf"):
        assert client.get(base + path, headers=other).status_code == 404
    for action in ("revoke", "suspend"):
        assert (
            client.post(f"{base}/{action}", json={"reason": "x"}, headers=other).status_code == 404
        )
    assert client.post(f"{base}/reinstate", headers=other).status_code == 404
    assert client.post(f"{base}/reissue", headers=other).status_code == 404
    listed = client.get("/api/v1/certificates", headers=other).get_json()
    assert listed["total"] == 0
    # regulators read it, but change nothing
    assert client.get(base, headers=world["regulator_auth"]).status_code == 200
    assert (
        client.post(
            f"{base}/revoke", json={"reason": "x"}, headers=world["regulator_auth"]
        ).status_code
        == 403
    )
    assert client.get(base).status_code == 401


def test_list_search_filter_and_paging(client, make, world):
    first = issue(client, world)
    second = issue(client, world)
    other_volunteer = make.volunteer(world["org"], name="李四")
    make.record(world["org"], other_volunteer, actor=world["admin"])
    third = issue(client, world, volunteer_id=other_volunteer.id)
    client.post(
        f"/api/v1/certificates/{first['number']}/revoke",
        json={"reason": "错误"},
        headers=world["auth"],
    )
    auth = world["auth"]

    def numbers(**query):
        response = client.get("/api/v1/certificates", query_string=query, headers=auth)
        assert response.status_code == 200, response.get_json()
        return [c["number"] for c in response.get_json()["items"]]

    assert numbers() == [third["number"], second["number"], first["number"]]
    assert numbers(q="李") == [third["number"]]
    assert numbers(q=third["volunteer_number"]) == [third["number"]]
    assert numbers(q=second["number"].replace("-", "").lower()) == [second["number"]]
    assert numbers(status="revoked") == [first["number"]]
    assert numbers(per_page=1, page=2) == [second["number"]]
    assert client.get("/api/v1/certificates?status=lost", headers=auth).status_code == 422
    # regulators and the platform admin see every organisation's
    for reader in ("regulator_auth", "platform_auth"):
        assert client.get("/api/v1/certificates", headers=world[reader]).get_json()["total"] == 3


def test_qr_is_rendered_once_and_stored(app, client, world):
    cert = issue(client, world)
    url = f"/api/v1/certificates/{cert['number']}/qr.png"
    first = client.get(url, headers=world["auth"])
    assert first.status_code == 200 and first.mimetype == "image/png"
    with app.app_context():
        stored = (
            get_session()
            .scalars(
                select(Certificate.qr_png).where(
                    Certificate.number == cert["number"].replace("-", "")
                )
            )
            .one()
        )
    assert stored == first.data
    assert client.get(url, headers=world["auth"]).data == first.data
    assert decode_qr(first.data) == [cert["verify_url"]]


def test_pdf_has_the_title_number_issuer_and_a_qr_that_decodes(client, world):
    cert = issue(client, world)
    response = client.get(
        f"/api/v1/certificates/{cert['number']}/certificate.pdf", headers=world["auth"]
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert cert["number"] in response.headers["Content-Disposition"]
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "志愿服务记录证明" in text
    assert cert["number"] in text
    assert "南川区青年志愿者协会" in text
    # the issuing organisation gets the holder's copy: full name, ID masked in the middle
    assert "110101********002X" in text and FULL_ID not in text
    assert "张三" in text and "张*" not in text and "王负责" in text
    public = client.get(
        f"/api/v1/certificates/{cert['number']}/certificate.pdf?form=public", headers=world["auth"]
    )
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(public.data)).pages)
    assert "110*************2X" in text and "110101********002X" not in text
    assert "张*" in text and "张三" not in text
    document = pypdfium2.PdfDocument(response.data)
    try:
        page = document[0].render(scale=150 / 72).to_pil()
    finally:
        document.close()
    assert decode_qr(page) == [cert["verify_url"]]


def test_status_changes_and_their_conflicts(client, world):
    number = issue(client, world)["number"]
    base, auth = f"/api/v1/certificates/{number}", world["auth"]

    def post(action, **body):
        return client.post(f"{base}/{action}", json=body or None, headers=auth)

    assert post("suspend").status_code == 415  # no JSON body at all
    missing = client.post(f"{base}/suspend", json={"reason": "  "}, headers=auth)
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "reason"
    assert post("reinstate").status_code == 409  # it is valid
    suspended = post("suspend", reason="复核中")
    assert suspended.status_code == 200
    assert suspended.get_json()["status"] == "suspended"
    assert suspended.get_json()["status_reason"] == "复核中"
    assert client.post(f"{base}/reinstate", headers=auth).status_code == 200  # no body needed
    assert post("reissue").status_code == 409  # only a superseded one
    assert post("revoke", reason="时长虚报").get_json()["status"] == "revoked"
    assert post("revoke", reason="again").status_code == 409
    assert post("suspend", reason="x").status_code == 409


def test_reissue_only_once(client, world):
    cert = issue(client, world)
    record = world["records"][0]
    client.post(f"/api/v1/records/{record.id}/void", json={"reason": "重复"}, headers=world["auth"])
    base = f"/api/v1/certificates/{cert['number']}"
    assert client.get(base, headers=world["auth"]).get_json()["status"] == "superseded"
    new = client.post(f"{base}/reissue", headers=world["auth"])
    assert new.status_code == 201
    assert new.get_json()["record_count"] == 2  # the voided record is left out
    again = client.post(f"{base}/reissue", headers=world["auth"])
    assert again.status_code == 409 and new.get_json()["number"] in again.get_json()["detail"]


def test_organisation_sees_verification_counts(client, world):
    cert = issue(client, world)
    client.get(f"/v/{cert['token']}")
    client.get(f"/v/{cert['token']}")
    client.get("/verify", query_string={"number": cert["number"]})
    client.post("/api/v1/verifications", json={"number": cert["number"]})
    client.post("/api/v1/verifications", json={"items": [{"token": cert["token"]}] * 3})
    shown = client.get(f"/api/v1/certificates/{cert['number']}", headers=world["auth"]).get_json()
    assert shown["verifications"] == {"scan": 2, "typed": 1, "api": 1, "batch": 3}
    listed = client.get("/api/v1/certificates", headers=world["auth"]).get_json()["items"][0]
    assert listed["verifications"]["scan"] == 2


def test_full_id_number_never_appears(client, world):
    cert = issue(client, world)
    number, auth = cert["number"], world["auth"]
    bodies = [
        client.get(f"/api/v1/certificates/{number}", headers=auth).data,
        client.get("/api/v1/certificates", headers=auth).data,
        client.get(f"/api/v1/certificates/{number}/status").data,
        client.post("/api/v1/verifications", json={"token": cert["token"]}).data,
        client.get(f"/v/{cert['token']}").data,
        client.post(
            f"/api/v1/certificates/{number}/suspend", json={"reason": "x"}, headers=auth
        ).data,
    ]
    for body in bodies:
        assert FULL_ID.encode() not in body and b"19900307" not in body
    assert not re.search(r"\d{17}[\dX]", str(cert))

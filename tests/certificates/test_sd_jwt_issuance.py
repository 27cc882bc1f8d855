"""Each certificate is also an SD-JWT (RFC 9901): stored at issuance, checked by the reference
library; old certificates get theirs on first request; who may fetch it."""

from __future__ import annotations

import base64
import json
import time

import pytest
from jwcrypto.common import JWException
from sqlalchemy import select, update
from support import bearer, days_ago
from support.sdjwt import library_claims

from verifier.audit.models import AuditEntry
from verifier.audit.services import verify_chain
from verifier.certificates.models import Certificate
from verifier.certificates.services import ledger_entry
from verifier.db import get_session

FULL_ID = "11010119900307002X"


@pytest.fixture
def issued(app, make):
    org = make.org(name="南川区青年志愿者协会")
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, name="张小三", id_number=FULL_ID)
    records = [
        make.record(org, volunteer, actor=admin, started_at=days_ago(20), activity="社区敬老服务"),
        make.record(org, volunteer, actor=admin, started_at=days_ago(10), activity="图书馆整理"),
    ]
    cert = make.certificate(org, admin, volunteer, records)
    user = make.volunteer_user(volunteer)
    return {"org": org, "admin": admin, "volunteer": volunteer, "cert": cert, "user": user}


def _stored(app, number):
    with app.app_context():
        return get_session().scalar(select(Certificate.sd_jwt).where(Certificate.number == number))


def test_issuance_stores_an_sd_jwt_the_reference_library_verifies(app, client, issued):
    cert = issued["cert"]
    sd_jwt = _stored(app, cert.number)
    assert sd_jwt and sd_jwt.endswith("~") and sd_jwt.count("~") == 6  # 3 claims, 2 activities
    claims = library_claims(client, sd_jwt)
    assert claims["jti"] == cert.number
    assert claims["hours"] == "6.00"
    assert claims["uscc"] == issued["org"].uscc and claims["org"] == "南川区青年志愿者协会"
    assert claims["name"] == "张小三" and claims["id_type"] == "resident_id"
    assert claims["vno"] == cert.volunteer_number
    assert sorted(a["activity"] for a in claims["activities"]) == ["图书馆整理", "社区敬老服务"]
    assert FULL_ID not in json.dumps(claims, ensure_ascii=False)  # never the ID number
    # the signed payload alone shows none of the disclosable claims
    payload = sd_jwt.split("~")[0].split(".")[1]
    signed = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert "name" not in signed and len(signed["_sd"]) == 3
    assert all(set(item) == {"..."} for item in signed["activities"])
    # the ledger entry holds the SD-JWT's hash beside the token's
    with app.app_context():
        details = json.loads(ledger_entry(get_session(), cert.number).details)
    assert len(details["sd_jwt_sha256"]) == 64


def test_a_changed_signature_fails_the_reference_library(app, client, issued):
    sd_jwt = _stored(app, issued["cert"].number)
    jwt, rest = sd_jwt.split("~", 1)
    head, body, signature = jwt.split(".")
    forged = f"{head}.{body}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}~{rest}"
    with pytest.raises(JWException):
        library_claims(client, forged)


def test_bulk_issuance_stores_sd_jwts(app, client, make):
    org = make.org()
    admin = make.user("org_admin", org)
    students = [make.volunteer(org) for _ in range(2)]
    for student in students:
        make.record(org, student, actor=admin, started_at=days_ago(5))
    body = {
        "period_from": days_ago(30).date().isoformat(),
        "period_to": days_ago(1).date().isoformat(),
    }
    response = client.post(
        "/api/v1/certificates/bulk", json=body, headers=bearer(make.token(admin))
    )
    assert response.status_code == 201, response.get_json()
    for item in response.get_json()["issued"]:
        number = item["number"].replace("-", "")
        claims = library_claims(client, _stored(app, number))
        assert claims["jti"] == number and claims["hours"] == "3.00"
        with app.app_context():
            assert json.loads(ledger_entry(get_session(), number).details)["sd_jwt_sha256"]


def test_a_certificate_from_before_gets_its_sd_jwt_on_first_request(app, client, make, issued):
    cert = issued["cert"]
    with app.app_context():
        session = get_session()
        session.execute(update(Certificate).where(Certificate.id == cert.id).values(sd_jwt=None))
        session.commit()
    auth = bearer(make.token(issued["admin"]))
    first = client.get(f"/api/v1/certificates/{cert.number}/sd-jwt", headers=auth)
    assert first.status_code == 200, first.get_json()
    sd_jwt = first.get_json()["sd_jwt"]
    assert library_claims(client, sd_jwt)["name"] == "张小三"
    assert [d["key"] for d in first.get_json()["disclosable"]] == [
        "name",
        "id_type",
        "vno",
        "activity-0",
        "activity-1",
    ]
    # stored: the volunteer gets the same one, and it is on the audit log once
    mine = client.get(
        f"/api/v1/me/certificates/{cert.number}/sd-jwt", headers=bearer(make.token(issued["user"]))
    )
    assert mine.get_json()["sd_jwt"] == sd_jwt
    with app.app_context():
        session = get_session()
        entries = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "certificate.sd_jwt", AuditEntry.object_id == cert.number
            )
        ).all()
        assert len(entries) == 1
        assert verify_chain(session).ok
    # and a presentation of it verifies
    verdict = client.post("/api/v1/verifications", json={"token": sd_jwt}).get_json()
    assert verdict["status"] == "valid", verdict


def test_who_may_fetch_the_full_sd_jwt(client, make, issued):
    number = issued["cert"].number
    org_url = f"/api/v1/certificates/{number}/sd-jwt"
    me_url = f"/api/v1/me/certificates/{number}/sd-jwt"
    recorder = make.user("org_recorder", issued["org"])
    assert client.get(org_url, headers=bearer(make.token(recorder))).status_code == 200
    other_admin = make.user("org_admin", make.org())
    assert client.get(org_url, headers=bearer(make.token(other_admin))).status_code == 404
    assert client.get(org_url).status_code == 401
    assert client.get(me_url).status_code == 401
    supervisor = make.user("regulator_supervisor")
    assert client.get(org_url, headers=bearer(make.token(supervisor))).status_code == 403
    stranger = make.volunteer_user(make.volunteer(issued["org"]))
    assert client.get(me_url, headers=bearer(make.token(stranger))).status_code == 404
    assert client.get(me_url, headers=bearer(make.token(issued["user"]))).status_code == 200
    # the public verification answer never carries it
    verdict = client.post("/api/v1/verifications", json={"number": number}).get_json()
    assert "~" not in json.dumps(verdict)


def test_an_sd_jwt_signed_later_by_a_newer_key_of_the_organisation_verifies(
    app, client, make, issued
):
    """Its signing is judged by the time the ledger recorded it, not by the certificate's iat."""
    from verifier.keys.services import get_key, owner_of, rotate

    cert = issued["cert"]
    time.sleep(1.1)  # the new key is made in a later second than the certificate's iat
    with app.app_context():
        session = get_session()
        session.execute(update(Certificate).where(Certificate.id == cert.id).values(sd_jwt=None))
        rotate(session, organisation=owner_of(session, get_key(session, cert.kid)))
        session.commit()
    auth = bearer(make.token(issued["admin"]))
    sd_jwt = client.get(f"/api/v1/certificates/{cert.number}/sd-jwt", headers=auth).get_json()[
        "sd_jwt"
    ]
    header = json.loads(base64.urlsafe_b64decode(sd_jwt.split(".")[0] + "=="))
    assert header["kid"] != cert.kid  # the organisation's new key
    verdict = client.post("/api/v1/verifications", json={"token": sd_jwt}).get_json()
    assert verdict["status"] == "valid", verdict

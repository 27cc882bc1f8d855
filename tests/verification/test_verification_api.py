"""The public verification API: every status, every kind of bad input, batches, rate limits."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from support import days_ago

from verifier.auth.models import User
from verifier.certificates.lifecycle import set_status
from verifier.certificates.models import Certificate, VerificationEvent
from verifier.certificates.services import number_display
from verifier.crypto import signing
from verifier.db import get_session
from verifier.keys.services import compromise, get_key, owner_of, private_key_of
from verifier.orgs.models import Organisation
from verifier.orgs.services import set_status as set_org_status
from verifier.records.models import ServiceRecord
from verifier.records.services import void_record

URL = "/api/v1/verifications"
FULL_ID = "11010119900307002X"


@pytest.fixture
def issued(app, make):
    org = make.org(name="南川区青年志愿者协会")
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, name="张三", id_number=FULL_ID)
    records = [make.record(org, volunteer, actor=admin, started_at=days_ago(d)) for d in (20, 10)]
    cert = make.certificate(org, admin, volunteer, records)
    return {"org": org, "admin": admin, "records": records, "cert": cert, "make": make}


def _parts(token):
    header, payload, signature = token.split(".")
    return header, json.loads(signing._b64url_decode(payload, "p", ValueError)), signature


def verify(client, **body):
    response = client.post(URL, json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_valid_by_token_and_by_number(client, issued):
    cert = issued["cert"]
    by_token = verify(client, token=cert.token)
    assert by_token["status"] == "valid"
    assert [c["name"] for c in by_token["checks"]] == [
        "format",
        "signature",
        "key_status",
        "ledger",
        "revocation",
        "issuer",
        "records",
    ]
    assert all(c["ok"] for c in by_token["checks"])
    shown = by_token["certificate"]
    assert shown["volunteer_name"] == "张*" and shown["hours"] == "6.00"
    assert shown["number"] == number_display(cert.number)
    typed = number_display(cert.number).lower().replace("-", " ")
    assert verify(client, number=typed)["status"] == "valid"
    status = client.get(f"/api/v1/certificates/{cert.number.lower()}/status")
    assert status.status_code == 200 and status.get_json()["status"] == "valid"


def _change(app, issued, status, reason):
    with app.app_context():
        session = get_session()
        set_status(
            session,
            session.get(Certificate, issued["cert"].id),
            status,
            reason,
            session.get(User, issued["admin"].id),
        )
        session.commit()


def test_revoked_and_suspended_show_the_reason(app, client, issued):
    _change(app, issued, "suspended", "复核中")
    answer = verify(client, token=issued["cert"].token)
    assert answer["status"] == "suspended" and answer["certificate"]["status_reason"] == "复核中"
    failed = [c for c in answer["checks"] if c["ok"] is False]
    assert [c["name"] for c in failed] == ["revocation"] and "复核中" in failed[0]["detail"]
    _change(app, issued, "revoked", "时长虚报")
    answer = verify(client, number=issued["cert"].number)
    assert answer["status"] == "revoked" and "时长虚报" in answer["certificate"]["status_reason"]


def test_superseded_after_a_record_is_voided(app, client, issued):
    with app.app_context():
        session = get_session()
        record = session.get(ServiceRecord, issued["records"][0].id)
        void_record(session, record, "重复录入", session.get(User, issued["admin"].id))
        session.commit()
    assert verify(client, token=issued["cert"].token)["status"] == "superseded"


def test_an_active_issuer_is_noted_without_a_date(client, issued):
    answer = verify(client, token=issued["cert"].token)
    assert answer["issuer_status"] == {"status": "active", "since": None}
    assert verify(client, token="garbage")["issuer_status"] is None


@pytest.mark.parametrize("org_status", ["suspended", "deregistered"])
def test_a_later_suspension_leaves_the_certificate_valid(app, client, issued, org_status):
    with app.app_context():
        session = get_session()
        org = session.get(Organisation, issued["org"].id)
        set_org_status(session, org, org_status, "责令停止活动", None)
        since = org.status_since
        session.commit()
    for answer in (
        verify(client, token=issued["cert"].token),
        verify(client, number=issued["cert"].number),
    ):
        assert answer["status"] == "valid"
        issuer = [c for c in answer["checks"] if c["name"] == "issuer"][0]
        assert issuer["ok"] is True
        assert answer["issuer_status"]["status"] == org_status
        assert datetime.fromisoformat(answer["issuer_status"]["since"]) == since
    number = number_display(issued["cert"].number)
    status = client.get(f"/api/v1/certificates/{number}/status").get_json()
    assert status["status"] == "valid" and status["issuer_status"]["status"] == org_status


def test_issuer_suspended_only_for_a_certificate_dated_after(app, client, issued):
    with app.app_context():
        session = get_session()
        org = session.get(Organisation, issued["org"].id)
        set_org_status(session, org, "suspended", "责令停止活动", None)
        org.status_since = issued["cert"].issued_at - timedelta(seconds=1)
        session.commit()
    assert verify(client, token=issued["cert"].token)["status"] == "issuer_suspended"


def test_key_compromised_before_issue(app, client, issued):
    with app.app_context():
        session = get_session()
        key = get_key(session, issued["cert"].kid)  # the organisation's own key
        at = datetime.now(UTC) - timedelta(days=1)
        compromise(session, key.kid, at, "leaked", organisation=owner_of(session, key))
        session.commit()
    answer = verify(client, token=issued["cert"].token)
    assert answer["status"] == "key_compromised" and answer["certificate"] is None


def test_forgeries(app, client, issued):
    token = issued["cert"].token
    header, claims, signature = _parts(token)
    # an altered payload with the original signature
    claims["hours"] = "900.00"
    altered = ".".join([header, signing.b64url_encode(signing.canonical_json(claims)), signature])
    assert verify(client, token=altered)["status"] == "invalid_signature"
    # a stranger's key with the real kid, and with its own (unpublished) kid
    stranger = signing.generate_private_key()
    kid = issued["cert"].kid
    assert verify(client, token=signing.sign_compact_jws(claims, stranger, kid))["status"] == (
        "invalid_signature"
    )
    own_kid = signing.jwk_thumbprint(stranger.public_key())
    wrong = verify(client, token=signing.sign_compact_jws(claims, stranger, own_kid))
    assert wrong["status"] == "invalid_signature" and wrong["certificate"] is None
    # the real key, but not in the ledger (a stolen key cannot mint valid certificates)
    with app.app_context():
        key = get_key(get_session(), issued["cert"].kid)
        minted = signing.sign_compact_jws(claims, private_key_of(key), key.kid)
    answer = verify(client, token=minted)
    assert answer["status"] == "unknown" and "900.00" not in json.dumps(answer)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda t: t[:-10], id="truncated"),
        pytest.param(lambda t: t + t, id="doubled"),
        pytest.param(lambda t: t + "." + t, id="doubled-with-dot"),
        pytest.param(lambda t: "A" * 1_048_576, id="1MB"),
        pytest.param(lambda t: "\ud800" + t, id="lone-surrogate"),
        pytest.param(lambda t: "凭证." + t, id="not-ascii"),
        pytest.param(lambda t: "", id="empty"),
        pytest.param(
            lambda t: (
                signing.b64url_encode(b'{"alg":"none","kid":"x","typ":"vsc+jwt"}')
                + "."
                + t.split(".")[1]
                + "."
            ),
            id="alg-none",
        ),
        pytest.param(
            lambda t: (
                signing.b64url_encode(b'{"alg":"EdDSA","typ":"vsc+jwt"}')
                + "."
                + ".".join(t.split(".")[1:])
            ),
            id="missing-kid",
        ),
    ],
)
def test_bad_tokens_are_malformed_not_errors(client, issued, mangle):
    answer = verify(client, token=mangle(issued["cert"].token))
    assert answer["status"] == "malformed" and answer["certificate"] is None
    assert answer["checks"][0] == {
        "name": "format",
        "ok": False,
        "detail": answer["checks"][0]["detail"],
    }


def test_json_with_a_lone_surrogate_escape_is_a_verdict(client, issued):
    body = '{"token": "\\ud800abc"}'
    response = client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 200 and response.get_json()["status"] == "malformed"
    body = '{"number": "\\ud800"}'
    response = client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 200 and response.get_json()["status"] == "malformed"


@pytest.mark.parametrize(
    "number, status",
    [
        ("", "malformed"),
        ("ABCD", "malformed"),
        ("0000-0000-0000-0000-1", "malformed"),  # check character wrong
        ("0000-0000-0000-0000-0", "unknown"),  # well-formed, never issued
        ("UUUU-UUUU-UUUU-UUUU-U", "malformed"),
        ("x" * 10_000, "malformed"),
    ],
)
def test_numbers(client, number, status):
    assert verify(client, number=number)["status"] == status


def test_status_endpoint_for_a_bad_number_is_a_verdict(client):
    for number in ("not-a-number", "0000-0000-0000-0000-1", "%FF%FE", "Z" * 500):
        response = client.get(f"/api/v1/certificates/{number}/status")
        assert response.status_code == 200 and response.get_json()["status"] == "malformed"
    response = client.get("/api/v1/certificates/0000-0000-0000-0000-0/status")
    assert response.get_json()["status"] == "unknown"


@pytest.mark.parametrize(
    "body, status, field",
    [
        (b"{", 400, None),
        (b"\xff\xfe{\x00", 400, None),  # bytes that are not UTF-8
        (b'{"token": "\xff\xfe"}', 400, None),
        (b"[1, 2]", 400, None),
        (b'"token"', 400, None),
        (b"{}", 422, "body"),
        (b'{"token": 123}', 422, "token"),
        (b'{"token": null}', 422, "body"),
        (b'{"number": ["A"]}', 422, "number"),
        (b'{"token": "a", "number": "b"}', 422, "body"),
        (b'{"tokens": "a"}', 422, "tokens"),
        (b'{"items": []}', 422, "items"),
        (b'{"items": "abc"}', 422, "items"),
        (b'{"items": [{"token": "a"}, {"tok": "b"}]}', 422, "items.1.tok"),
        (b'{"items": [{"token": "a"}, {}]}', 422, "items.1"),
        (b'{"items": [{"token": 5}]}', 422, "items.0.token"),
        (b'{"items": [1]}', 422, "items.0"),
    ],
)
def test_bad_requests_are_4xx_naming_the_problem(client, body, status, field):
    response = client.post(URL, data=body, content_type="application/json")
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["detail"]
    if field is not None:
        assert field in [e["field"] for e in problem["errors"]]


def test_not_sent_as_json(client):
    assert client.post(URL, data="token=abc").status_code == 415


def test_batch_of_1000_in_order_and_1001_refused(app, client, issued):
    cert = issued["cert"]
    items = [
        {"token": cert.token}
        if i % 3 == 0
        else {"number": cert.number}
        if i % 3 == 1
        else {"token": "x"}
        for i in range(1000)
    ]
    response = client.post(URL, json={"items": items})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["valid", "valid", "malformed"] * 333 + ["valid"]
    with app.app_context():
        channels = (
            get_session()
            .scalars(
                select(VerificationEvent.channel).where(VerificationEvent.certificate_id == cert.id)
            )
            .all()
        )
    assert len(channels) == 667 and set(channels) == {"batch"}
    too_many = client.post(URL, json={"items": [{"number": "x"}] * 1001})
    assert too_many.status_code == 422
    error = too_many.get_json()["errors"][0]
    assert error["field"] == "items" and error["rule"] == "max_items" and "1000" in error["message"]


def test_each_verification_is_recorded_without_verifier_data(app, client, issued):
    cert = issued["cert"]
    verify(client, token=cert.token)
    client.get(f"/api/v1/certificates/{cert.number}/status")
    verify(client, token="garbage")
    with app.app_context():
        events = (
            get_session().scalars(select(VerificationEvent).order_by(VerificationEvent.id)).all()
        )
        rows = [(e.certificate_id, e.channel, e.status) for e in events]
    assert rows == [
        (cert.id, "api", "valid"),
        (cert.id, "api", "valid"),
        (None, "api", "malformed"),
    ]
    assert {c.name for c in VerificationEvent.__table__.columns} == {
        "id",
        "certificate_id",
        "at",
        "channel",
        "status",
    }


def test_single_and_batch_rate_limits(client, issued):
    codes = [client.post(URL, json={"number": "ABCD"}).status_code for _ in range(61)]
    assert codes[:60] == [200] * 60 and codes[60] == 429
    assert client.post(URL, json={"number": "ABCD"}).mimetype == "application/problem+json"
    # batches have their own, smaller allowance
    batch = [client.post(URL, json={"items": [{"number": "ABCD"}]}).status_code for _ in range(11)]
    assert batch[:10] == [200] * 10 and batch[10] == 429


def test_full_id_number_never_appears(client, issued):
    cert = issued["cert"]
    for body in (
        client.post(URL, json={"token": cert.token}).data,
        client.post(URL, json={"items": [{"number": cert.number}]}).data,
        client.get(f"/api/v1/certificates/{cert.number}/status").data,
    ):
        assert FULL_ID.encode() not in body and "张三".encode() not in body

"""Issue a certificate, then verify it through /v/ and /verify in every state it can be in."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from verifier.auth.models import User
from verifier.certificates.lifecycle import set_status
from verifier.certificates.models import Certificate, VerificationEvent
from verifier.certificates.services import number_display
from verifier.crypto import signing
from verifier.db import get_session
from verifier.keys.services import compromise, get_key, owner_of, private_key_of, rotate
from verifier.orgs.models import Organisation
from verifier.orgs.services import set_status as set_org_status
from verifier.records.models import ServiceRecord
from verifier.records.services import RecordInput, correct_record


@pytest.fixture
def issued(app, make):
    org = make.org(name="南川区青年志愿者协会")
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, name="张三", id_number="11010119900307002X")
    records = [make.record(org, volunteer, actor=admin, started_at=_days(d)) for d in (30, 20, 10)]

    cert = make.certificate(org, admin, volunteer, records)
    return {"org": org, "admin": admin, "volunteer": volunteer, "records": records, "cert": cert}


def _days(n):
    from support import days_ago

    return days_ago(n)


def _status(client, token):
    page = client.get(f"/v/{token}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    start = text.index("<code>", text.index("verdict")) + 6
    return text[start : text.index("</code>", start)], text


def test_fresh_certificate_is_valid_and_shows_only_masked_fields(client, issued):
    cert = issued["cert"]
    status, page = _status(client, cert.token)
    assert status == "valid"
    assert "张*" in page and "张三" not in page
    assert "11010119900307002X" not in page and "19900307" not in page
    assert "9.00" in page  # three records of 3 hours
    assert number_display(cert.number) in page


def test_typed_number_lenient_and_counted(app, client, issued):
    cert = issued["cert"]
    typed = number_display(cert.number).lower().replace("-", " ")
    response = client.get("/verify", query_string={"number": typed})
    assert "<code>valid</code>" in response.get_data(as_text=True)
    client.get(f"/v/{cert.token}")
    with app.app_context():
        channels = sorted(
            get_session().scalars(
                select(VerificationEvent.channel).where(VerificationEvent.certificate_id == cert.id)
            )
        )
    assert channels == ["scan", "typed"]


def test_typo_in_number_is_malformed_not_unknown(client, issued):
    number = issued["cert"].number
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert "<code>malformed</code>" in client.get(
        "/verify", query_string={"number": wrong}
    ).get_data(as_text=True)


def test_revoked_then_suspended_states(app, client, issued):
    cert = issued["cert"]
    with app.app_context():
        session = get_session()
        stored = session.get(Certificate, cert.id)
        set_status(session, stored, "suspended", "复核中", session.get(User, issued["admin"].id))
        session.commit()
    status, page = _status(client, cert.token)
    assert status == "suspended" and "复核中" in page
    with app.app_context():
        session = get_session()
        stored = session.get(Certificate, cert.id)
        set_status(session, stored, "revoked", "时长虚报", session.get(User, issued["admin"].id))
        session.commit()
    status, page = _status(client, cert.token)
    assert status == "revoked" and "时长虚报" in page


def test_correcting_a_covered_record_supersedes(app, client, issued):
    record = issued["records"][0]
    with app.app_context():
        session = get_session()
        stored = session.get(ServiceRecord, record.id)
        data = RecordInput(
            activity=stored.activity,
            place=stored.place,
            content=stored.content,
            started_at=stored.started_at,
            ended_at=stored.ended_at,
            minutes=60,
        )
        correct_record(session, stored, data, "时长有误", session.get(User, issued["admin"].id))
        session.commit()
    status, _page = _status(client, issued["cert"].token)
    assert status == "superseded"


@pytest.mark.parametrize("org_status", ["suspended", "deregistered"])
def test_a_later_suspension_leaves_the_certificate_valid_with_a_note(
    app, client, issued, org_status
):
    with app.app_context():
        session = get_session()
        org = session.get(Organisation, issued["org"].id)
        set_org_status(session, org, org_status, "责令停止活动", None)
        since = org.status_since.astimezone(UTC) + timedelta(hours=8)
        session.commit()
    status, page = _status(client, issued["cert"].token)
    assert status == "valid"
    assert 'id="issuer-note"' in page
    assert since.date().isoformat() in page.split('id="issuer-note"')[1].split("</p>")[0]


def test_a_certificate_dated_after_its_issuer_was_suspended_is_not_trusted(app, client, issued):
    with app.app_context():
        session = get_session()
        org = session.get(Organisation, issued["org"].id)
        set_org_status(session, org, "suspended", "责令停止活动", None)
        org.status_since = issued["cert"].issued_at - timedelta(days=1)
        session.commit()
    assert _status(client, issued["cert"].token)[0] == "issuer_suspended"


def test_altered_payload_with_original_signature(client, issued):
    header, payload, sig = issued["cert"].token.split(".")
    claims = json.loads(signing._b64url_decode(payload, "p", ValueError))
    claims["hours"] = "900.00"
    forged = ".".join([header, signing.b64url_encode(signing.canonical_json(claims)), sig])
    assert _status(client, forged)[0] == "invalid_signature"


def test_stranger_key_with_a_real_kid(client, issued):
    header, payload, _sig = issued["cert"].token.split(".")
    stranger = signing.generate_private_key()
    claims = json.loads(signing._b64url_decode(payload, "p", ValueError))
    token = signing.sign_compact_jws(claims, stranger, issued["cert"].kid)
    assert _status(client, token)[0] == "invalid_signature"


def test_token_minted_with_the_real_key_but_not_in_the_ledger_is_unknown(app, client, issued):
    header, payload, _sig = issued["cert"].token.split(".")
    claims = json.loads(signing._b64url_decode(payload, "p", ValueError))
    claims["hours"] = "900.00"
    with app.app_context():
        key = get_key(get_session(), issued["cert"].kid)
        token = signing.sign_compact_jws(claims, private_key_of(key), key.kid)
    status, page = _status(client, token)
    assert status == "unknown"
    assert "900.00" not in page


def test_compromised_key_keeps_earlier_certificates_and_fails_later_ones(app, client, make, issued):
    cert = issued["cert"]
    with app.app_context():
        session = get_session()
        key = get_key(session, cert.kid)  # the organisation's key
        org = owner_of(session, key)
        assert org is not None and org.uscc == cert.issuer_uscc
        compromise(session, key.kid, datetime.now(UTC) - timedelta(days=1), "leaked", None, org)
        session.commit()
    # the ledger shows issuance after the compromise time: it fails
    assert _status(client, cert.token)[0] == "key_compromised"
    with app.app_context():
        session = get_session()
        org = owner_of(session, get_key(session, cert.kid))
        compromise(session, cert.kid, datetime.now(UTC), "leaked", None, org)  # not looser
        session.commit()
    assert _status(client, cert.token)[0] == "key_compromised"


def test_certificate_issued_before_compromise_stays_valid(app, client, issued):
    cert = issued["cert"]
    with app.app_context():
        session = get_session()
        org = owner_of(session, get_key(session, cert.kid))
        rotate(session, organisation=org)
        # issued (and in the ledger) before now
        compromise(session, cert.kid, datetime.now(UTC), "leaked", organisation=org)
        session.commit()
    assert _status(client, cert.token)[0] == "valid"


@pytest.mark.parametrize(
    "token, expected",
    [
        ("", None),
        ("abc", "malformed"),
        ("a.b.c.d", "malformed"),
        ("x" * 1_000_000, "malformed"),
        ("%FF%FE.%C3%28.abc", "malformed"),
    ],
)
def test_garbage_tokens_never_500(client, token, expected):
    response = client.get(f"/v/{token}")
    if expected is None:
        assert response.status_code == 404
        return
    assert response.status_code == 200
    assert f"<code>{expected}</code>" in response.get_data(as_text=True)


def test_alg_none_and_missing_kid(client, issued):
    _header, payload, sig = issued["cert"].token.split(".")
    none_header = signing.b64url_encode(b'{"alg":"none","kid":"x","typ":"vsc+jwt"}')
    no_kid = signing.b64url_encode(b'{"alg":"EdDSA","typ":"vsc+jwt"}')
    assert _status(client, f"{none_header}.{payload}.")[0] == "malformed"
    assert _status(client, f"{no_kid}.{payload}.{sig}")[0] == "malformed"
    doubled = issued["cert"].token + issued["cert"].token
    assert _status(client, doubled)[0] == "malformed"
    assert _status(client, issued["cert"].token[:-10])[0] == "malformed"


def test_identity_match_says_only_yes_or_no(client, issued):
    number = number_display(issued["cert"].number)
    yes = client.post(f"/verify/{number}/match", data={"id_number": "11010119900307002x"}).get_data(
        as_text=True
    )
    no = client.post(f"/verify/{number}/match", data={"id_number": "110101199003070037"}).get_data(
        as_text=True
    )
    name = client.post(f"/verify/{number}/match", data={"name": "张三"}).get_data(as_text=True)
    assert "match-yes" in yes and "match-no" in no and "match-yes" in name
    assert "110101199003070037" not in no and "11010119900307002" not in yes


def test_identity_match_is_rate_limited(client, issued):
    number = number_display(issued["cert"].number)
    codes = [
        client.post(
            f"/verify/{number}/match", data={"id_number": f"1101011990030700{i:02d}"}
        ).status_code
        for i in range(11)
    ]
    assert codes[-1] == 429


def _resigned_with_alg(app, token, alg):
    """The same token and key, with the header's alg replaced (RFC 9864 names it Ed25519)."""
    header, payload, _sig = token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(header + "=="))
    fields["alg"] = alg
    new_header = signing.b64url_encode(json.dumps(fields).encode())
    with app.app_context():
        key = private_key_of(get_key(get_session(), fields["kid"]))
    signature = key.sign(f"{new_header}.{payload}".encode())
    return f"{new_header}.{payload}.{signing.b64url_encode(signature)}"


def test_a_token_with_alg_ed25519_passes_the_signature_check_and_other_algs_do_not(
    app, client, issued
):
    token = issued["cert"].token
    resigned = _resigned_with_alg(app, token, "Ed25519")
    checks = client.post("/api/v1/verifications", json={"token": resigned}).get_json()["checks"]
    assert [(c["name"], c["ok"]) for c in checks[:3]] == [
        ("format", True),
        ("signature", True),
        ("key_status", True),
    ]
    # The ledger keeps the token as issued (alg EdDSA), so this copy is not the issued one.
    assert checks[3]["name"] == "ledger" and checks[3]["ok"] is False
    for alg in ("none", "HS256", "ES256", "ed25519"):
        assert _status(client, _resigned_with_alg(app, token, alg))[0] == "malformed"

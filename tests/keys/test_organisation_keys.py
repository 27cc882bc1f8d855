"""Two levels of keys: each organisation signs with its own key, endorsed by the platform's root.

The trust list (/.well-known/issuers.json) is checked here with joserfc, an independent JOSE
library; the offline `verify-qr --trust-list` in tests/verification/test_trust_list_offline.py.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from joserfc import jws
from joserfc.errors import BadSignatureError, SecurityWarning
from joserfc.jwk import OKPKey
from support import days_ago

from verifier.certificates.services import Signer
from verifier.crypto import signing
from verifier.db import get_session
from verifier.keys.models import KeyStatus, SignedDocument
from verifier.keys.services import (
    active_key,
    compromise,
    get_key,
    owner_of,
    private_key_of,
    retire,
    rotate,
)
from verifier.orgs.services import set_status as set_org_status

VERIFY = "/api/v1/verifications"


@pytest.fixture
def two(make):
    """Two organisations, A and B, each with one certificate."""
    result = {}
    for name in ("A", "B"):
        org = make.org(name=f"{name}区青年志愿者协会")
        admin = make.user("org_admin", org)
        volunteer = make.volunteer(org)
        record = make.record(org, volunteer, actor=admin, started_at=days_ago(5))
        result[name] = {
            "org": org,
            "admin": admin,
            "volunteer": volunteer,
            "cert": make.certificate(org, admin, volunteer, [record]),
        }
    return result


def status_of(client, token):
    response = client.post(VERIFY, json={"token": token})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def claims_of(token):
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def root_okp(client):
    keys = client.get("/.well-known/jwks.json").get_json()["keys"]
    [root] = [k for k in keys if "uscc" not in k and k["status"] == "active"]
    return OKPKey.import_key({name: root[name] for name in ("kty", "crv", "x")}), root


def verified_trust_list(client):
    """Verify the trust list with joserfc and the root key of the JWKS; return its payload."""
    response = client.get("/.well-known/issuers.json")
    assert response.status_code == 200
    key, root = root_okp(client)
    with pytest.warns(SecurityWarning, match="EdDSA"):
        result = jws.deserialize_json(response.get_json(), key, algorithms=["EdDSA"])
    assert result.headers()["kid"] == root["kid"]
    assert result.headers()["typ"] == signing.TRUST_LIST_TYPE
    return json.loads(result.payload)


def org_entry(trust, uscc):
    [entry] = [e for e in trust["issuers"] if e["uscc"] == uscc and e["status"] == "active"]
    return entry


def test_each_organisation_signs_with_its_own_key_endorsed_by_the_root(app, client, two):
    a, b = two["A"], two["B"]
    assert a["cert"].kid != b["cert"].kid
    with app.app_context():
        session = get_session()
        root = active_key(session)
        for side in (a, b):
            key = get_key(session, side["cert"].kid)
            assert key.organisation_id == side["org"].id and key.status == KeyStatus.ACTIVE
            assert key.kid == signing.jwk_thumbprint(signing.public_key_from_raw(key.public_key))
            assert root.kid != key.kid
    okp, root_jwk = root_okp(client)
    trust = verified_trust_list(client)
    for side in (a, b):
        entry = org_entry(trust, side["org"].uscc)
        assert entry["kid"] == side["cert"].kid
        assert entry["name"] == side["org"].name
        assert entry["role"] == "organisation"
        assert entry["valid_until"] is None and entry["valid_from"].endswith("Z")
        assert entry["did"] == f"did:web:verifier.test:orgs:{side['org'].uscc}"
        assert set(entry["jwk"]) >= {"kty", "crv", "x", "kid"}
        # the endorsement, a compact JWS by the root, says the same (checked by joserfc)
        with app.app_context():
            endorsement = get_key(get_session(), side["cert"].kid).endorsement
        with pytest.warns(SecurityWarning):
            claims = json.loads(
                jws.deserialize_compact(endorsement, okp, algorithms=["EdDSA"]).payload
            )
        assert (claims["kid"], claims["uscc"], claims["name"]) == (
            entry["kid"],
            entry["uscc"],
            entry["name"],
        )
        # and an independent library checks the certificate's token with the listed key
        key = OKPKey.import_key(entry["jwk"])
        with pytest.warns(SecurityWarning):
            token = jws.deserialize_compact(side["cert"].token, key, algorithms=["EdDSA"])
        assert json.loads(token.payload)["uscc"] == side["org"].uscc
    [root_entry] = [e for e in trust["issuers"] if e["role"] == "root"]
    assert root_entry["kid"] == root_jwk["kid"] and root_entry["uscc"] is None
    assert root_entry["certificates_until"] is None  # the root signed no certificate here


def test_the_trust_list_is_signed_once_per_change_with_etag(app, client, two):
    first = client.get("/.well-known/issuers.json")
    assert first.mimetype == "application/jose+json"
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    again = client.get("/.well-known/issuers.json")
    assert again.get_data() == first.get_data()  # not re-signed
    etag = first.headers["ETag"]
    assert client.get("/.well-known/issuers.json", headers={"If-None-Match": etag}).status_code == (
        304
    )
    payload = verified_trust_list(client)
    assert payload["exp"] - payload["iat"] == 24 * 3600
    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--org", two["A"]["org"].uscc])
    assert result.exit_code == 0, result.output
    changed = client.get("/.well-known/issuers.json", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    trust = verified_trust_list(client)
    mine = [e for e in trust["issuers"] if e["uscc"] == two["A"]["org"].uscc]
    assert sorted(e["status"] for e in mine) == ["active", "retired"]
    retired = next(e for e in mine if e["status"] == "retired")
    assert retired["valid_until"] is not None


def test_a_tampered_trust_list_fails_the_independent_check(client, two):
    document = client.get("/.well-known/issuers.json").get_json()
    payload = json.loads(base64.urlsafe_b64decode(document["payload"] + "=="))
    payload["issuers"][0]["uscc"] = "91110000000000000X"
    document["payload"] = signing.b64url_encode(json.dumps(payload).encode())
    key, _root = root_okp(client)
    with pytest.raises(BadSignatureError), pytest.warns(SecurityWarning):
        jws.deserialize_json(document, key, algorithms=["EdDSA"])


def test_a_of_a_still_verifies_after_bs_key_is_compromised_and_after_a_is_suspended(
    app, client, two
):
    a, b = two["A"], two["B"]
    with app.app_context():
        session = get_session()
        key = get_key(session, b["cert"].kid)
        compromise(session, key.kid, days_ago(30), "leaked", organisation=owner_of(session, key))
        session.commit()
    assert status_of(client, b["cert"].token)["status"] == "key_compromised"
    assert status_of(client, a["cert"].token)["status"] == "valid"
    with app.app_context():
        session = get_session()
        org = session.get(type(a["org"]), a["org"].id)
        set_org_status(session, org, "suspended", "责令停止活动", None)
        session.commit()
    answer = status_of(client, a["cert"].token)
    assert answer["status"] == "valid"
    issuer = next(c for c in answer["checks"] if c["name"] == "issuer")
    assert issuer["ok"] is True


def test_compromise_touches_only_certificates_after_its_time(app, client, make, two):
    a = two["A"]
    with app.app_context():
        session = get_session()
        org = owner_of(session, get_key(session, a["cert"].kid))
        compromise(session, a["cert"].kid, datetime.now(UTC), "leaked", organisation=org)
        session.commit()
    assert status_of(client, a["cert"].token)["status"] == "valid"  # issued before
    # the next certificate is signed with a new key of the organisation
    record = make.record(a["org"], a["volunteer"], actor=a["admin"], started_at=days_ago(2))
    fresh = make.certificate(a["org"], a["admin"], a["volunteer"], [record])
    assert fresh.kid != a["cert"].kid
    assert status_of(client, fresh.token)["status"] == "valid"


def test_a_key_endorsed_for_another_organisation_is_an_invalid_signature(app, client, two):
    a, b = two["A"], two["B"]
    claims = claims_of(a["cert"].token)  # A's certificate, signed with B's key
    with app.app_context():
        key = get_key(get_session(), b["cert"].kid)
        forged = signing.sign_compact_jws(claims, private_key_of(key), key.kid)
    answer = status_of(client, forged)
    assert answer["status"] == "invalid_signature"
    signature = next(c for c in answer["checks"] if c["name"] == "signature")
    assert "another organisation" in signature["detail"] or "其他组织" in signature["detail"]


def test_a_key_used_after_its_retirement_is_an_invalid_signature(app, client, two):
    a = two["A"]
    with app.app_context():
        session = get_session()
        org = owner_of(session, get_key(session, a["cert"].kid))
        retire(session, a["cert"].kid, organisation=org)
        session.commit()
        key = get_key(session, a["cert"].kid)
        claims = claims_of(a["cert"].token) | {
            "iat": int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
        }
        late = signing.sign_compact_jws(claims, private_key_of(key), key.kid)
    assert status_of(client, a["cert"].token)["status"] == "valid"  # what it signed stays valid
    answer = status_of(client, late)
    assert answer["status"] == "invalid_signature"


def test_a_new_root_key_re_endorses_every_organisation_key(app, client, two):
    with app.app_context():
        session = get_session()
        old_root = active_key(session).kid
        rotate(session)
        session.commit()
        new_root = active_key(session).kid
        for side in two.values():
            endorsement = get_key(session, side["cert"].kid).endorsement
            assert signing.decode_compact_jws(endorsement, signing.ENDORSEMENT_TYPE).header[
                "kid"
            ] == (new_root)
    assert new_root != old_root
    trust = verified_trust_list(client)
    assert sorted(e["status"] for e in trust["issuers"] if e["role"] == "root") == [
        "active",
        "retired",
    ]
    for side in two.values():
        assert status_of(client, side["cert"].token)["status"] == "valid"


def test_certificates_signed_by_the_root_before_organisation_keys_keep_verifying(
    app, client, make, monkeypatch
):
    """Item 6: what the platform's key signed before this change stays valid."""
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    record = make.record(org, volunteer, actor=admin, started_at=days_ago(9))

    def root_signer(cls, session, _org):
        key = active_key(session)
        return cls(key.kid, private_key_of(key), app.config["BASE_URL"])

    with monkeypatch.context() as patch:
        patch.setattr(Signer, "current", classmethod(root_signer))
        legacy = make.certificate(org, admin, volunteer, [record])
    with app.app_context():
        root = active_key(get_session())
        assert legacy.kid == root.kid
    assert status_of(client, legacy.token)["status"] == "valid"
    trust = verified_trust_list(client)
    [root_entry] = [e for e in trust["issuers"] if e["role"] == "root"]
    until = datetime.fromisoformat(root_entry["certificates_until"].replace("Z", "+00:00"))
    assert until >= legacy.issued_at
    # the credential of a legacy certificate is signed by the organisation now
    record2 = make.record(org, volunteer, actor=admin, started_at=days_ago(3))
    assert make.certificate(org, admin, volunteer, [record2]).kid != root.kid


def test_keys_cli_acts_on_the_root_or_on_one_organisation(app, two):
    runner = app.test_cli_runner()
    uscc = two["A"]["org"].uscc
    listed = runner.invoke(args=["keys", "list", "--org", uscc])
    assert listed.exit_code == 0 and two["A"]["cert"].kid in listed.output
    assert two["B"]["cert"].kid not in listed.output
    roots = runner.invoke(args=["keys", "list"])
    assert roots.exit_code == 0 and "root" in roots.output
    assert two["A"]["cert"].kid not in roots.output
    everything = runner.invoke(args=["keys", "list", "--all"])
    assert two["A"]["cert"].kid in everything.output and uscc in everything.output
    # an organisation's key is not touched without naming it
    # (a kid may begin with "-": "--" ends the options, as for any command)
    wrong = runner.invoke(args=["keys", "retire", "--", two["A"]["cert"].kid])
    assert wrong.exit_code != 0 and "--org" in wrong.output
    other = runner.invoke(
        args=["keys", "retire", "--org", two["B"]["org"].uscc, "--", two["A"]["cert"].kid]
    )
    assert other.exit_code != 0 and two["B"]["org"].uscc in other.output
    unknown = runner.invoke(args=["keys", "rotate", "--org", "91000000000000000X"])
    assert unknown.exit_code != 0 and "91000000000000000X" in unknown.output
    done = runner.invoke(args=["keys", "retire", "--org", uscc, "--", two["A"]["cert"].kid])
    assert done.exit_code == 0 and "retired" in done.output
    at = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    bad = runner.invoke(
        args=[
            "keys",
            "compromise",
            "--org",
            two["B"]["org"].uscc,
            "--at",
            at,
            "--",
            two["B"]["cert"].kid,
        ]
    )
    assert bad.exit_code == 0, bad.output
    with app.app_context():
        assert get_key(get_session(), two["B"]["cert"].kid).status == KeyStatus.COMPROMISED
        assert get_key(get_session(), two["A"]["cert"].kid).status == KeyStatus.RETIRED


def test_an_organisations_new_name_reaches_the_trust_list_and_endorsement(app, client, two):
    a = two["A"]
    first = client.get("/.well-known/issuers.json").get_data()
    with app.app_context():
        session = get_session()
        org = session.get(type(a["org"]), a["org"].id)
        org.name = "A区新名称志愿者协会"
        session.commit()
    # within a minute the stored copy is served as it is (a busy service compares once a minute)
    assert client.get("/.well-known/issuers.json").get_data() == first
    with app.app_context():
        session = get_session()
        stored = session.get(SignedDocument, "trust-list")
        stored.checked_at = datetime.now(UTC) - timedelta(minutes=2)
        session.commit()
    trust = verified_trust_list(client)
    assert org_entry(trust, a["org"].uscc)["name"] == "A区新名称志愿者协会"
    with app.app_context():
        endorsement = get_key(get_session(), a["cert"].kid).endorsement
    assert claims_of(endorsement)["name"] == "A区新名称志愿者协会"
    # a key's change is seen at once
    with app.app_context():
        session = get_session()
        rotate(session, organisation=owner_of(session, get_key(session, a["cert"].kid)))
        session.commit()
    trust = verified_trust_list(client)
    assert [e["status"] for e in trust["issuers"] if e["kid"] == a["cert"].kid] == ["retired"]

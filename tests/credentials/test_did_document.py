"""/.well-known/did.json: every key as a Multikey; retired keys still verify old credentials."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from credential_helpers import b58decode, vc_json, verify_eddsa_jcs_2022
from cryptography.exceptions import InvalidSignature
from support import bearer

from verifier.crypto import signing
from verifier.db import get_session
from verifier.keys.services import active_key, compromise


@pytest.fixture
def world(make):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    cert = make.certificate(org, admin, volunteer, [make.record(org, volunteer, actor=admin)])
    return {"cert": cert, "token": make.token(admin)}


def credential(client, world):
    number = world["cert"].number
    return vc_json(
        client.get(f"/api/v1/certificates/{number}/credential.json", headers=bearer(world["token"]))
    )


def test_did_document_lists_the_keys_of_the_jwks_as_multikeys(client, world):
    response = client.get("/.well-known/did.json")
    assert response.status_code == 200
    assert "max-age" in response.headers["Cache-Control"]
    did = response.get_json()
    assert did["id"] == "did:web:verifier.test"
    assert did["@context"][0] == "https://www.w3.org/ns/did/v1"
    jwks = client.get("/.well-known/jwks.json").get_json()
    assert len(did["verificationMethod"]) == len(jwks["keys"]) == 1
    method, jwk = did["verificationMethod"][0], jwks["keys"][0]
    assert method["id"] == f"did:web:verifier.test#{jwk['kid']}"
    assert method["controller"] == "did:web:verifier.test"
    assert b58decode(method["publicKeyMultibase"][1:])[2:] == signing._b64url_decode(
        jwk["x"], "x", ValueError
    )
    assert did["assertionMethod"] == [method["id"]]
    assert client.get("/did.json").get_json() == did


def test_retired_keys_stay_listed_and_verify_old_credentials(app, client, world):
    old = credential(client, world)
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    did = client.get("/.well-known/did.json").get_json()
    assert len(did["verificationMethod"]) == 2
    assert len(did["assertionMethod"]) == 2
    verify_eddsa_jcs_2022(old, did)
    new = credential(client, world)
    assert new["proof"][0]["verificationMethod"] != old["proof"][0]["verificationMethod"]
    verify_eddsa_jcs_2022(new, did)


def test_a_compromised_key_is_marked_revoked_and_no_longer_asserts(app, client, world):
    old = credential(client, world)
    with app.app_context():
        session = get_session()
        kid = active_key(session).kid
        compromise(session, kid, datetime.now(UTC), "leaked")
        session.commit()
    did = client.get("/.well-known/did.json").get_json()
    method = did["verificationMethod"][0]
    assert method["id"].endswith(kid) and method["revoked"].endswith("Z")
    assert method["id"] not in did["assertionMethod"]
    with pytest.raises(AssertionError):
        verify_eddsa_jcs_2022(old, did)
    # downloading again signs with a fresh key, which verifies
    fresh = credential(client, world)
    verify_eddsa_jcs_2022(fresh, client.get("/.well-known/did.json").get_json())


def test_a_proof_made_by_a_stranger_key_fails(client, world):
    vc = credential(client, world)
    did = client.get("/.well-known/did.json").get_json()
    unsecured = {k: v for k, v in vc.items() if k != "proof"}
    forged = signing.create_data_integrity_proof(
        unsecured,
        signing.generate_private_key(),
        verification_method=vc["proof"][0]["verificationMethod"],
    )
    with pytest.raises(InvalidSignature):
        verify_eddsa_jcs_2022(forged, did)

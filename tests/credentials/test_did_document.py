"""did:web documents: the platform's (root keys) and each organisation's (its own keys).

Retired keys still verify old credentials; a compromised key is marked revoked and asserts no more.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from credential_helpers import (
    b58decode,
    did_web_path,
    resolve_did,
    vc_json,
    verify_eddsa_jcs_2022,
)
from cryptography.exceptions import InvalidSignature
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import OKPKey
from support import bearer

from verifier.crypto import signing
from verifier.db import get_session
from verifier.keys.services import compromise, get_key, owner_of


@pytest.fixture
def world(make):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    cert = make.certificate(org, admin, volunteer, [make.record(org, volunteer, actor=admin)])
    return {"cert": cert, "token": make.token(admin), "uscc": org.uscc}


def credential(client, world):
    number = world["cert"].number
    return vc_json(
        client.get(f"/api/v1/certificates/{number}/credential.json", headers=bearer(world["token"]))
    )


def org_did(world):
    return f"did:web:verifier.test:orgs:{world['uscc']}"


def test_did_web_paths_follow_the_method():
    assert did_web_path("did:web:verifier.test") == "/.well-known/did.json"
    assert did_web_path("did:web:verifier.test:orgs:X#k") == "/orgs/X/did.json"


def test_the_platform_did_lists_the_root_keys_and_the_jwks_lists_every_key(client, world):
    response = client.get("/.well-known/did.json")
    assert response.status_code == 200
    assert "max-age" in response.headers["Cache-Control"]
    did = response.get_json()
    assert did["id"] == "did:web:verifier.test"
    assert did["@context"][0] == "https://www.w3.org/ns/did/v1"
    jwks = client.get("/.well-known/jwks.json").get_json()
    roots = [k for k in jwks["keys"] if "uscc" not in k]
    orgs = [k for k in jwks["keys"] if "uscc" in k]
    assert len(did["verificationMethod"]) == len(roots) == 1
    assert [k["uscc"] for k in orgs] == [world["uscc"]]
    assert orgs[0]["kid"] == world["cert"].kid  # the certificate is signed by its organisation
    method, jwk = did["verificationMethod"][0], roots[0]
    assert method["id"] == f"did:web:verifier.test#{jwk['kid']}"
    assert method["controller"] == "did:web:verifier.test"
    assert b58decode(method["publicKeyMultibase"][1:])[2:] == signing._b64url_decode(
        jwk["x"], "x", ValueError
    )
    assert did["assertionMethod"] == [method["id"]]
    assert client.get("/did.json").get_json() == did


def test_an_organisation_did_holds_its_own_key(client, world):
    did = resolve_did(client, org_did(world))
    assert did["controller"] == "did:web:verifier.test"
    [method] = did["verificationMethod"]
    assert method["id"] == f"{org_did(world)}#{world['cert'].kid}"
    assert did["assertionMethod"] == [method["id"]]
    assert did["service"][0]["serviceEndpoint"].endswith("/.well-known/issuers.json")
    assert client.get("/orgs/91000000000000000X/did.json").status_code == 404


def test_the_credential_is_issued_and_signed_by_the_organisation(client, world):
    vc = credential(client, world)
    assert vc["issuer"]["id"] == org_did(world)
    assert vc["issuer"]["name"] == world["cert"].issuer_name
    method = vc["proof"][0]["verificationMethod"]
    assert method.startswith(org_did(world) + "#")
    verify_eddsa_jcs_2022(vc, resolve_did(client, method))
    # the root's endorsement of that key travels with the issuer, verifiable with the root JWKS
    [endorsement] = vc["issuer"]["endorsementJwt"]
    root = next(
        k for k in client.get("/.well-known/jwks.json").get_json()["keys"] if "uscc" not in k
    )
    key = OKPKey.import_key({name: root[name] for name in ("kty", "crv", "x")})
    with pytest.warns(SecurityWarning, match="EdDSA"):
        claims = json.loads(jws.deserialize_compact(endorsement, key, algorithms=["EdDSA"]).payload)
    assert claims["uscc"] == world["uscc"] and claims["kid"] == method.split("#")[1]
    assert claims["sub"] == org_did(world)


def test_retired_keys_stay_listed_and_verify_old_credentials(app, client, world):
    old = credential(client, world)
    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--org", world["uscc"]])
    assert result.exit_code == 0, result.output
    did = resolve_did(client, org_did(world))
    assert len(did["verificationMethod"]) == 2
    assert len(did["assertionMethod"]) == 2
    verify_eddsa_jcs_2022(old, did)
    new = credential(client, world)
    assert new["proof"][0]["verificationMethod"] != old["proof"][0]["verificationMethod"]
    verify_eddsa_jcs_2022(new, did)


def test_a_compromised_key_is_marked_revoked_and_no_longer_asserts(app, client, world):
    old = credential(client, world)
    kid = world["cert"].kid
    with app.app_context():
        session = get_session()
        org = owner_of(session, get_key(session, kid))
        compromise(session, kid, datetime.now(UTC), "leaked", organisation=org)
        session.commit()
    did = resolve_did(client, org_did(world))
    method = did["verificationMethod"][0]
    assert method["id"].endswith(kid) and method["revoked"].endswith("Z")
    assert method["id"] not in did["assertionMethod"]
    with pytest.raises(AssertionError):
        verify_eddsa_jcs_2022(old, did)
    # downloading again signs with a fresh key of the organisation, which verifies
    fresh = credential(client, world)
    verify_eddsa_jcs_2022(fresh, resolve_did(client, fresh["proof"][0]["verificationMethod"]))
    # the platform's root key is untouched
    root = client.get("/.well-known/did.json").get_json()
    assert root["assertionMethod"] == [m["id"] for m in root["verificationMethod"]]


def test_a_proof_made_by_a_stranger_key_fails(client, world):
    vc = credential(client, world)
    did = resolve_did(client, vc["proof"][0]["verificationMethod"])
    unsecured = {k: v for k, v in vc.items() if k != "proof"}
    forged = signing.create_data_integrity_proof(
        unsecured,
        signing.generate_private_key(),
        verification_method=vc["proof"][0]["verificationMethod"],
    )
    with pytest.raises(InvalidSignature):
        verify_eddsa_jcs_2022(forged, did)

"""`verifier verify-qr --trust-list`: the two levels of keys checked offline, with no database."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from support import days_ago, test_config

from verifier import create_app
from verifier.crypto import signing
from verifier.db import get_session
from verifier.keys.services import (
    active_key,
    compromise,
    get_key,
    owner_of,
    private_key_of,
    retire,
)
from verifier.orgs.services import set_status as set_org_status

NO_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:9/no_database?connect_timeout=1"


@pytest.fixture
def offline():
    app = create_app(test_config(NO_DATABASE))
    runner = app.test_cli_runner()

    def run(*args):
        return runner.invoke(args=["verify-qr", *map(str, args)])

    yield run
    app.extensions["verifier.db"].engine.dispose()


@pytest.fixture
def world(make):
    result = {}
    for name in ("A", "B"):
        org = make.org(name=f"{name}区青年志愿者协会")
        admin = make.user("org_admin", org)
        volunteer = make.volunteer(org)
        record = make.record(org, volunteer, actor=admin, started_at=days_ago(4))
        result[name] = {"org": org, "cert": make.certificate(org, admin, volunteer, [record])}
    return result


def save(client, tmp_path):
    """Save the published JWKS and trust list as a verifier would, once."""
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(client.get("/.well-known/jwks.json").get_json()))
    trust = tmp_path / "issuers.json"
    trust.write_bytes(client.get("/.well-known/issuers.json").get_data())
    return jwks, trust


def claims_of(token):
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def test_a_certificate_verifies_against_a_saved_trust_list(client, tmp_path, offline, world):
    jwks, trust = save(client, tmp_path)
    result = offline(world["A"]["cert"].token, "--jwks", jwks, "--trust-list", trust)
    assert result.exit_code == 0, result.output
    assert "SIGNATURE VALID" in result.output
    assert "endorsed by the platform for A区青年志愿者协会" in result.output


def test_a_trust_list_whose_signature_fails_is_refused(client, tmp_path, offline, world):
    jwks, trust = save(client, tmp_path)
    document = json.loads(trust.read_text())
    payload = json.loads(base64.urlsafe_b64decode(document["payload"] + "=="))
    for entry in payload["issuers"]:
        entry["uscc"] = world["A"]["org"].uscc  # every key endorsed for A
    document["payload"] = signing.b64url_encode(signing.canonical_json(payload))
    trust.write_text(json.dumps(document))
    result = offline(world["A"]["cert"].token, "--jwks", jwks, "--trust-list", trust)
    assert result.exit_code == 2 and "refused" in result.output
    assert "signature does not verify" in result.output


def test_a_trust_list_signed_by_anything_but_a_root_key_is_refused(
    app, client, tmp_path, offline, world
):
    jwks, trust = save(client, tmp_path)
    payload = json.loads(base64.urlsafe_b64decode(json.loads(trust.read_text())["payload"] + "=="))
    with app.app_context():
        org_key = get_key(get_session(), world["B"]["cert"].kid)  # published, but not a root
        signed = signing.sign_flattened_jws(
            payload, private_key_of(org_key), org_key.kid, signing.TRUST_LIST_TYPE
        )
    trust.write_text(json.dumps(signed))
    result = offline(world["A"]["cert"].token, "--jwks", jwks, "--trust-list", trust)
    assert result.exit_code == 2 and "not signed by a root key" in result.output
    stranger = signing.generate_private_key()
    trust.write_text(
        json.dumps(
            signing.sign_flattened_jws(
                payload,
                stranger,
                signing.jwk_thumbprint(stranger.public_key()),
                signing.TRUST_LIST_TYPE,
            )
        )
    )
    assert offline(world["A"]["cert"].token, "--jwks", jwks, "--trust-list", trust).exit_code == 2
    trust.write_text("{not json")
    assert offline(world["A"]["cert"].token, "--jwks", jwks, "--trust-list", trust).exit_code == 2
    missing = offline(world["A"]["cert"].token, "--jwks", jwks, "--trust-list", tmp_path / "no")
    assert missing.exit_code == 2 and "no such trust list file" in missing.output


def test_a_key_endorsed_for_another_organisation_fails(app, client, tmp_path, offline, world):
    jwks, trust = save(client, tmp_path)
    with app.app_context():
        key = get_key(get_session(), world["B"]["cert"].kid)
        forged = signing.sign_compact_jws(
            claims_of(world["A"]["cert"].token), private_key_of(key), key.kid
        )
    result = offline(forged, "--jwks", jwks, "--trust-list", trust)
    assert result.exit_code == 1, result.output
    assert f"endorsed for organisation {world['B']['org'].uscc}" in result.output
    # the JWKS alone also names the key's organisation
    alone = offline(forged, "--jwks", jwks)
    assert alone.exit_code == 1 and world["B"]["org"].uscc in alone.output


def test_a_key_used_outside_its_endorsement_fails(app, client, tmp_path, offline, world):
    with app.app_context():
        session = get_session()
        key = get_key(session, world["A"]["cert"].kid)
        retire(session, key.kid, organisation=owner_of(session, key))
        session.commit()
        late = claims_of(world["A"]["cert"].token) | {
            "iat": int((datetime.now(UTC) + timedelta(hours=2)).timestamp())
        }
        token = signing.sign_compact_jws(late, private_key_of(key), key.kid)
    jwks, trust = save(client, tmp_path)
    result = offline(token, "--jwks", jwks, "--trust-list", trust)
    assert result.exit_code == 1 and "outside the period" in result.output
    kept = offline(world["A"]["cert"].token, "--jwks", jwks, "--trust-list", trust)
    assert kept.exit_code == 0 and "retired" in kept.output


def test_compromise_and_suspension_offline(app, client, tmp_path, offline, world):
    with app.app_context():
        session = get_session()
        key = get_key(session, world["B"]["cert"].kid)
        compromise(session, key.kid, days_ago(10), "leaked", organisation=owner_of(session, key))
        org = session.get(type(world["A"]["org"]), world["A"]["org"].id)
        set_org_status(session, org, "suspended", "责令停止活动", None)
        session.commit()
    jwks, trust = save(client, tmp_path)
    b = offline(world["B"]["cert"].token, "--jwks", jwks, "--trust-list", trust)
    assert b.exit_code == 1 and "compromised" in b.output
    a = offline(world["A"]["cert"].token, "--jwks", jwks, "--trust-list", trust)
    assert a.exit_code == 0, a.output
    assert "suspended now; this certificate was issued before" in a.output
    # a token that claims issue after the suspension is refused
    with app.app_context():
        key = get_key(get_session(), world["A"]["cert"].kid)
        late = claims_of(world["A"]["cert"].token) | {
            "iat": int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())
        }
        token = signing.sign_compact_jws(late, private_key_of(key), key.kid)
    after = offline(token, "--jwks", jwks, "--trust-list", trust)
    assert after.exit_code == 1 and "issued after the organisation became suspended" in after.output


def test_the_root_key_is_trusted_only_for_certificates_before_organisation_keys(
    app, client, tmp_path, offline, world
):
    with app.app_context():
        root = active_key(get_session())
        token = signing.sign_compact_jws(
            claims_of(world["A"]["cert"].token), private_key_of(root), root.kid
        )
    jwks, trust = save(client, tmp_path)
    result = offline(token, "--jwks", jwks, "--trust-list", trust)
    assert result.exit_code == 1 and "root key" in result.output

"""The Open Badges 3.0 credential a user downloads passes 1EdTech's published JSON Schema.

The schema is a verbatim copy kept in tests/vectors/ob-v3p0-schema/ (source and revision in the
README there) and is checked with `jsonschema`'s Draft 2019-09 validator, formats included.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from credential_helpers import vc_json
from joserfc import jws
from joserfc.jwk import OKPKey
from jsonschema import Draft201909Validator
from support import bearer, days_ago, login

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "vectors" / "ob-v3p0-schema"
SCHEMA_FILE = SCHEMA_DIR / "ob_v3p0_achievementcredential_schema.json"
SCHEMA_ID = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
# The copy as read from the source; a changed byte fails here before anything is validated.
SCHEMA_SHA256 = "513c2b614bb1598f7ad2617854e06f5aa50bc2588e8efc433972de48635081e7"


@pytest.fixture(scope="module")
def validator() -> Draft201909Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft201909Validator.check_schema(schema)
    checker = Draft201909Validator.FORMAT_CHECKER
    # date-time is only checked when rfc3339-validator is installed: make sure it is.
    assert not checker.conforms("2026-13-01T00:00:00Z", "date-time")
    return Draft201909Validator(schema, format_checker=checker)


def problems(validator: Draft201909Validator, document: dict[str, Any]) -> list[str]:
    """Return every schema error as 'path: message' (empty when the document is valid)."""
    return sorted(
        f"{error.json_path}: {error.message}" for error in validator.iter_errors(document)
    )


@pytest.fixture
def world(make):
    org = make.org(name="南川区青年志愿者协会")
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, name="张三丰")
    records = [
        make.record(org, volunteer, actor=admin, started_at=days_ago(d), activity=activity)
        for d, activity in ((30, "社区敬老服务"), (10, "图书馆整理"))
    ]
    cert = make.certificate(org, admin, volunteer, records)
    return {"org": org, "cert": cert, "token": make.token(admin)}


def download(client, world) -> dict[str, Any]:
    """Download the certificate's credential as its organisation's user does."""
    number = world["cert"].number
    return vc_json(
        client.get(f"/api/v1/certificates/{number}/credential.json", headers=bearer(world["token"]))
    )


def test_the_copy_is_the_published_schema_unchanged():
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == SCHEMA_SHA256
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$id"] == SCHEMA_ID
    assert schema["$schema"] == "https://json-schema.org/draft/2019-09/schema#"
    # the two rules issue 10 is about: one credentialStatus object, proof one or an array
    assert schema["properties"]["credentialStatus"] == {"$ref": "#/$defs/CredentialStatus"}
    assert schema["$defs"]["CredentialStatus"]["type"] == "object"
    assert {"type": "array", "items": {"$ref": "#/$defs/Proof"}} in schema["properties"]["proof"][
        "oneOf"
    ]


def test_downloaded_credential_passes_the_1edtech_schema(client, world, validator):
    vc = download(client, world)
    assert problems(validator, vc) == []
    # what the schema was checked against is the credential as shipped, not a reduced one
    assert isinstance(vc["credentialStatus"], dict)
    assert isinstance(vc["proof"], list) and len(vc["proof"]) == 1
    assert vc["issuanceDate"] == vc["validFrom"]


def test_the_download_from_the_certificate_page_passes_too(client, make, validator):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    cert = make.certificate(org, admin, volunteer, [make.record(org, volunteer, actor=admin)])
    login(client, admin.email)
    page = client.get(f"/certificates/{cert.number}")
    assert page.status_code == 200
    link = re.search(r'href="([^"]*credential\.json)"', page.get_data(as_text=True))
    assert link, "the certificate page has no credential link"
    vc = vc_json(client.get(link.group(1)))
    assert problems(validator, vc) == []


def _two_status_entries(vc: dict[str, Any]) -> None:
    # the shape credentials had before issue 10: a revocation and a suspension entry
    entry = vc["credentialStatus"]
    vc["credentialStatus"] = [
        {**entry, "statusPurpose": "revocation", "statusSize": 1},
        {**entry, "statusPurpose": "suspension", "statusSize": 1},
    ]


BROKEN: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("credentialStatus as two entries", _two_status_entries, "$.credentialStatus"),
    (
        "credentialStatus without id",
        lambda vc: vc["credentialStatus"].pop("id"),
        "$.credentialStatus",
    ),
    ("issuer without id", lambda vc: vc["issuer"].pop("id"), "$.issuer"),
    ("issuer without type", lambda vc: vc["issuer"].pop("type"), "$.issuer"),
    ("issuer as a bare DID", lambda vc: vc.update(issuer=vc["issuer"]["id"]), "$.issuer"),
    ("no issuanceDate", lambda vc: vc.pop("issuanceDate"), "$"),
    (
        "issuanceDate not a date-time",
        lambda vc: vc.update(issuanceDate="2026-12-01"),
        "$.issuanceDate",
    ),
    ("proof entry without type", lambda vc: vc["proof"][0].pop("type"), "$.proof"),
    ("empty @context", lambda vc: vc.update({"@context": []}), "$['@context']"),
    (
        "achievement without criteria",
        lambda vc: vc["credentialSubject"]["achievement"].pop("criteria"),
        "$.credentialSubject.achievement",
    ),
    (
        "identity object with an extra member",
        lambda vc: vc["credentialSubject"]["identifier"][0].update(note="x"),
        "$.credentialSubject.identifier[0]",
    ),
    (
        "identityType outside the vocabulary",
        lambda vc: vc["credentialSubject"]["identifier"][0].update(identityType="VolunteerNumber"),
        "$.credentialSubject.identifier[0].identityType",
    ),
    (
        "result value as a number",
        lambda vc: vc["credentialSubject"]["result"][0].update(value=9.0),
        "$.credentialSubject.result[0].value",
    ),
]


@pytest.mark.parametrize("tamper, where", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_the_validator_refuses_a_broken_credential(client, world, validator, tamper, where):
    vc = download(client, world)
    broken = copy.deepcopy(vc)
    tamper(broken)
    assert broken != vc
    found = problems(validator, broken)
    assert found, "the schema accepted a broken credential"
    assert any(problem.startswith(f"{where}:") for problem in found), found


def _compact_jws(payload: dict[str, Any]) -> str:
    key = OKPKey.generate_key("Ed25519")
    return jws.serialize_compact(
        {"alg": "Ed25519", "typ": "JWT"},
        json.dumps(payload).encode(),
        key,
        algorithms=["Ed25519"],
    )


def _organisation_issuer(vc: dict[str, Any], uscc: str, endorsements: list[str]) -> None:
    """Give vc the issuer shape of issue 10: the organisation's did:web, with the platform's
    endorsement of its key as compact JWS strings."""
    vc["issuer"] = {
        "id": f"did:web:verifier.test:orgs:{uscc}",
        "type": ["Profile"],
        "name": vc["issuer"]["name"],
        "otherIdentifier": vc["issuer"]["otherIdentifier"],
        "endorsementJwt": endorsements,
    }


def test_an_organisation_did_issuer_with_endorsement_jwts_passes(client, world, validator):
    vc = download(client, world)
    uscc = world["cert"].issuer_uscc
    endorsement = _compact_jws({"iss": "did:web:verifier.test", "sub": uscc})
    _organisation_issuer(vc, uscc, [endorsement])
    assert problems(validator, vc) == []
    # a detached-payload JWS (header..signature) is compact JWS as the schema's pattern has it
    header, _, signature = endorsement.split(".")
    _organisation_issuer(vc, uscc, [endorsement, f"{header}..{signature}"])
    assert problems(validator, vc) == []


@pytest.mark.parametrize(
    "endorsements",
    [
        "a single string instead of an array",
        ["only.two"],
        ["not base64url!.e30.c2ln"],
        [{"protected": "e30", "payload": "e30", "signature": "c2ln"}],  # JWS JSON serialisation
    ],
    ids=["not-an-array", "two-parts", "bad-alphabet", "json-serialisation"],
)
def test_an_endorsement_that_is_not_a_compact_jws_fails(client, world, validator, endorsements):
    vc = download(client, world)
    _organisation_issuer(vc, world["cert"].issuer_uscc, [])
    vc["issuer"]["endorsementJwt"] = endorsements
    found = problems(validator, vc)
    assert any(problem.startswith("$.issuer.endorsementJwt") for problem in found), found

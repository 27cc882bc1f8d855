"""A certificate as a W3C Verifiable Credential: content, an independently checked proof, access."""

from __future__ import annotations

import copy
import json

import pytest
from credential_helpers import resolve_did, vc_json, verify_eddsa_jcs_2022
from cryptography.exceptions import InvalidSignature
from support import bearer, days_ago

from verifier.certificates.services import STATUS_LIST_LENGTH, number_display
from verifier.credentials.services import platform_did

ID_NUMBER = "11010119900307002X"


@pytest.fixture
def world(make):
    org = make.org(name="南川区青年志愿者协会")
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, name="张三丰", id_number=ID_NUMBER)
    records = [
        make.record(org, volunteer, actor=admin, started_at=days_ago(d), activity=activity)
        for d, activity in ((30, "社区敬老服务"), (20, "社区敬老服务"), (10, "图书馆整理"))
    ]
    cert = make.certificate(org, admin, volunteer, records)
    return {"org": org, "admin": admin, "cert": cert, "token": make.token(admin)}


def download(client, world, token=None):
    number = world["cert"].number
    return client.get(
        f"/api/v1/certificates/{number}/credential.json",
        headers=bearer(token or world["token"]),
    )


def test_credential_is_an_open_badge_with_hours_period_and_one_status_entry(client, world):
    response = download(client, world)
    vc = vc_json(response)
    cert = world["cert"]
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    assert vc["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert vc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert vc["id"].startswith("urn:uuid:")
    # the organisation vouches: its own did:web, under the platform's
    assert vc["issuer"]["id"] == f"did:web:verifier.test:orgs:{cert.issuer_uscc}"
    assert vc["issuer"]["type"] == ["Profile"]
    assert vc["issuer"]["name"] == "南川区青年志愿者协会"
    assert vc["issuer"]["otherIdentifier"][0]["identifier"] == cert.issuer_uscc
    assert vc["validFrom"].endswith("Z")
    subject = vc["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    identities = {i["identityType"]: i["identityHash"] for i in subject["identifier"]}
    assert identities == {
        "ext:VolunteerNumber": cert.volunteer_number,
        "ext:MaskedName": "张*",
    }
    achievement = subject["achievement"]
    assert achievement["type"] == ["Achievement"]
    assert achievement["achievementType"] == "CommunityService"
    assert achievement["humanCode"] == number_display(cert.number)
    assert achievement["name"] and achievement["criteria"]["narrative"]
    assert "9.00" in achievement["description"]
    assert subject["result"] == [
        {
            "type": ["Result"],
            "resultDescription": achievement["resultDescription"][0]["id"],
            "value": "9.00",
        }
    ]
    assert subject["activityStartDate"] == f"{cert.period_from.isoformat()}T00:00:00+08:00"
    assert subject["activityEndDate"] == f"{cert.period_to.isoformat()}T23:59:59+08:00"
    assert "社区敬老服务：6.00 小时（2 条记录）" in subject["narrative"]
    assert "图书馆整理：3.00 小时（1 条记录）" in subject["narrative"]

    position = str(cert.status_index % STATUS_LIST_LENGTH)
    list_url = f"http://verifier.test/credentials/status/{cert.status_index // STATUS_LIST_LENGTH}"
    assert vc["credentialStatus"] == {
        "id": f"{list_url}/message#{position}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "message",
        "statusListIndex": position,
        "statusSize": 2,
        "statusMessage": [
            {"status": "0x0", "message": "valid"},
            {"status": "0x1", "message": "suspended"},
            {"status": "0x2", "message": "revoked"},
            {"status": "0x3", "message": "unused"},
        ],
        "statusListCredential": f"{list_url}/message",
    }


def test_credential_never_carries_the_id_number_or_full_name(client, world):
    text = download(client, world).get_data(as_text=True)
    for secret in (ID_NUMBER, ID_NUMBER.lower(), "19900307", "张三丰"):
        assert secret not in text


def test_proof_verifies_with_the_key_from_the_organisations_did(client, world):
    vc = vc_json(download(client, world))
    method = vc["proof"][0]["verificationMethod"]
    assert len(vc["proof"]) == 1
    assert method.startswith(vc["issuer"]["id"] + "#")
    verify_eddsa_jcs_2022(vc, resolve_did(client, method))
    # not by the platform's root key
    with pytest.raises(AssertionError):
        verify_eddsa_jcs_2022(vc, client.get("/.well-known/did.json").get_json())


@pytest.mark.parametrize(
    "tamper",
    [
        lambda vc: vc["credentialSubject"]["result"][0].update(value="900.00"),
        lambda vc: vc["credentialSubject"]["identifier"][0].update(identityHash="X0000000000000"),
        lambda vc: vc["credentialStatus"].update(statusListIndex="0"),
        lambda vc: vc["issuer"].update(name="另一个组织"),
        lambda vc: vc["proof"][0].update(created="2020-01-01T00:00:00Z"),
        lambda vc: vc.update(validFrom="2020-01-01T00:00:00Z"),
    ],
)
def test_a_tampered_credential_fails(client, world, tamper):
    vc = vc_json(download(client, world))
    did = resolve_did(client, vc["proof"][0]["verificationMethod"])
    forged = copy.deepcopy(vc)
    tamper(forged)
    assert forged != vc
    with pytest.raises(InvalidSignature):
        verify_eddsa_jcs_2022(forged, did)


def test_credential_is_stable_apart_from_the_proof(client, world):
    first = vc_json(download(client, world))
    second = vc_json(download(client, world))
    first.pop("proof")
    second.pop("proof")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_who_may_download(client, make, world):
    other_org = make.org()
    other_admin = make.token(make.user("org_admin", other_org))
    recorder = make.token(make.user("org_recorder", world["org"]))
    regulator = make.token(make.user("regulator_inspector"))
    platform = make.token(make.user("platform_admin"))
    assert download(client, world, other_admin).status_code == 404
    assert download(client, world, recorder).status_code == 200
    assert download(client, world, regulator).status_code == 200
    assert download(client, world, platform).status_code == 200
    number = world["cert"].number
    anonymous = client.get(f"/api/v1/certificates/{number}/credential.json")
    assert anonymous.status_code == 401
    unknown = client.get(
        "/api/v1/certificates/0000000000000000A/credential.json", headers=bearer(world["token"])
    )
    assert unknown.status_code == 404
    assert unknown.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "base_url, did",
    [
        ("https://verify.example.cn", "did:web:verify.example.cn"),
        ("https://Verify.Example.cn:8443", "did:web:verify.example.cn%3A8443"),
        ("https://example.cn/volunteer/verify", "did:web:example.cn:volunteer:verify"),
    ],
)
def test_platform_did_follows_did_web(base_url, did):
    assert platform_did(base_url) == did

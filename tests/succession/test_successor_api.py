"""A deregistered organisation's successor (or, without one, the platform) answers its
volunteers' requests and certifies its records; nobody else may."""

from __future__ import annotations

import base64
import io
import json
from datetime import timedelta

import pytest
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet
from pypdf import PdfReader
from sqlalchemy import select
from support import bearer, days_ago

from verifier.audit.models import AuditEntry
from verifier.certificates.qr import measure_qr
from verifier.db import get_session
from verifier.orgs.models import Organisation
from verifier.orgs.services import set_status

API = "/api/v1/successor"


@pytest.fixture
def world(make):
    org = make.org(name="南川区青年志愿者协会")
    heir = make.org(name="南川区志愿服务联合会")
    third = make.org(name="江北区志愿者协会")
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, name="张三")
    records = [make.record(org, volunteer, actor=admin, started_at=days_ago(d)) for d in (20, 10)]
    cert = make.certificate(org, admin, volunteer, records[:1])
    vol_user = make.volunteer_user(volunteer)
    heir_admin = make.user("org_admin", heir)
    heir_clerk = make.user("org_recorder", heir)
    third_admin = make.user("org_admin", third)
    platform = make.user("platform_admin")
    return {
        "make": make,
        "org": org,
        "heir": heir,
        "third": third,
        "volunteer": volunteer,
        "records": records,
        "cert": cert,
        "me": bearer(make.token(vol_user)),
        "heir_admin": bearer(make.token(heir_admin)),
        "heir_clerk": bearer(make.token(heir_clerk)),
        "third_admin": bearer(make.token(third_admin)),
        "own_admin": bearer(make.token(admin)),
        "platform": bearer(make.token(platform)),
    }


def _deregister(world, successor=True):
    def run(session):
        org = session.get(Organisation, world["org"].id)
        heir = session.get(Organisation, world["heir"].id) if successor else None
        set_status(session, org, "deregistered", "注销登记", None, successor=heir)

    world["make"].run(run)


def _dispute(client, world, record=0):
    answer = client.post(
        f"/api/v1/me/records/{world['records'][record].id}/dispute",
        json={"kind": "wrong_minutes", "reason": "我只服务了一小时"},
        headers=world["me"],
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _audit(app, action):
    with app.app_context():
        entry = (
            get_session()
            .scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc())
            )
            .first()
        )
    assert entry is not None
    return entry, json.loads(entry.details)


def test_the_volunteer_is_told_the_successor_answers_and_the_successor_resolves(app, client, world):
    _deregister(world)
    dispute = _dispute(client, world)
    assert dispute["answered_by"]["kind"] == "successor"
    assert dispute["answered_by"]["name"] == "南川区志愿服务联合会"
    # the successor's queue holds it; a third organisation and the platform see nothing
    queue = client.get(f"{API}/organisations", headers=world["heir_clerk"]).get_json()["items"]
    assert [d["organisation_id"] for d in queue] == [world["org"].id]
    assert queue[0]["items"][0] == {
        **queue[0]["items"][0],
        "id": dispute["id"],
        "kind": "correction_request",
    }
    for other in ("third_admin", "platform"):
        assert client.get(f"{API}/organisations", headers=world[other]).get_json()["items"] == []
        issue = f"{API}/organisations/{world['org'].id}/certificates"
        body = {"volunteer_number": world["volunteer"].volunteer_number}
        assert client.post(issue, json=body, headers=world[other]).status_code == 404
    # resolving needs the record corrected first
    url = f"{API}/correction-requests/{dispute['id']}/answer"
    early = client.post(
        url, json={"status": "resolved", "resolution": "已更正"}, headers=world["heir_admin"]
    )
    assert early.status_code == 422
    record_id = world["records"][0].id
    for other in ("third_admin", "platform"):
        refused = client.post(
            f"{API}/records/{record_id}/corrections",
            json={"minutes": 60, "reason": "志愿者申请更正"},
            headers=world[other],
        )
        assert refused.status_code in (403, 404)
    corrected = client.post(
        f"{API}/records/{record_id}/corrections",
        json={"minutes": 60, "reason": "志愿者申请更正"},
        headers=world["heir_admin"],
    )
    assert corrected.status_code == 200, corrected.get_json()
    entry, details = _audit(app, "record.correct")
    assert details["acting_as"] == "successor"
    assert details["successor_uscc"] == world["heir"].uscc
    assert details["acting_for_uscc"] == world["org"].uscc
    answered = client.post(
        url, json={"status": "resolved", "resolution": "已更正"}, headers=world["heir_admin"]
    )
    assert answered.status_code == 200, answered.get_json()
    assert answered.get_json()["status"] == "resolved"
    _entry, details = _audit(app, "correction_request.resolve")
    assert details["acting_for_uscc"] == world["org"].uscc
    mine = client.get(f"/api/v1/me/records/{record_id}", headers=world["me"]).get_json()
    assert mine["dispute"]["status"] == "resolved"


def test_another_organisation_and_the_deregistered_organisation_itself_cannot_answer(client, world):
    _deregister(world)
    dispute = _dispute(client, world)
    url = f"{API}/correction-requests/{dispute['id']}/answer"
    body = {"status": "rejected", "resolution": "记录无误"}
    assert client.post(url, json=body, headers=world["third_admin"]).status_code == 404
    assert client.post(url, json=body, headers=world["platform"]).status_code == 404
    # the deregistered organisation's own users may no longer act on it here
    assert client.post(url, json=body, headers=world["own_admin"]).status_code == 404
    issued = client.post(
        f"{API}/organisations/{world['org'].id}/certificates",
        json={"volunteer_number": world["volunteer"].volunteer_number},
        headers=world["third_admin"],
    )
    assert issued.status_code == 404


def test_without_a_successor_the_platform_admin_answers(app, client, world):
    _deregister(world, successor=False)
    dispute = _dispute(client, world)
    assert dispute["answered_by"]["kind"] == "platform"
    assert client.get(f"{API}/organisations", headers=world["heir_admin"]).get_json()["items"] == []
    url = f"{API}/correction-requests/{dispute['id']}/answer"
    body = {"status": "rejected", "resolution": "记录无误"}
    assert client.post(url, json=body, headers=world["heir_admin"]).status_code == 404
    answered = client.post(url, json=body, headers=world["platform"])
    assert answered.status_code == 200, answered.get_json()
    _entry, details = _audit(app, "correction_request.reject")
    assert details["acting_as"] == "platform" and details["acting_for_uscc"] == world["org"].uscc


def _claims(token):
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def test_the_successor_issues_a_certificate_that_names_both_organisations(app, client, world):
    _deregister(world)
    issued = client.post(
        f"{API}/organisations/{world['org'].id}/certificates",
        json={"volunteer_number": world["volunteer"].volunteer_number},
        headers=world["heir_clerk"],
    )
    assert issued.status_code == 201, issued.get_json()
    cert = issued.get_json()
    assert cert["issuer_uscc"] == world["org"].uscc  # the records stay the deregistered one's
    assert cert["issued_for"] == {
        "by": "successor",
        "by_name": "南川区志愿服务联合会",
        "by_uscc": world["heir"].uscc,
    }
    claims = _claims(cert["token"])
    assert claims["uscc"] == world["org"].uscc and claims["by"] == world["heir"].uscc
    # a second library checks the signature
    jwks = client.get("/.well-known/jwks.json").get_json()
    with pytest.warns(SecurityWarning, match="EdDSA"):
        checked = jws.deserialize_compact(
            cert["token"], KeySet.import_key_set(jwks), algorithms=["EdDSA"]
        )
    assert json.loads(checked.payload)["by"] == world["heir"].uscc
    verdict = client.post("/api/v1/verifications", json={"token": cert["token"]}).get_json()
    assert verdict["status"] == "valid", verdict
    assert verdict["certificate"]["issued_for"]["by_uscc"] == world["heir"].uscc
    assert verdict["certificate"]["issued_for"]["for_uscc"] == world["org"].uscc
    _entry, details = _audit(app, "certificate.issue")
    assert details["acting_as"] == "successor"
    # the public page names both
    page = client.get(f"/v/{cert['token']}").get_data(as_text=True)
    assert "南川区志愿服务联合会" in page and "南川区青年志愿者协会" in page
    # so does the PDF: 由…（承继…）出具
    pdf = client.get(cert["links"]["certificate_pdf"], headers=world["heir_clerk"])
    assert pdf.status_code == 200, pdf.get_data(as_text=True)[:300]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages).replace(
        "\n", ""
    )
    assert "南川区志愿服务联合会（承继已注销的南川区青年志愿者协会）" in text
    assert world["heir"].uscc in text and world["org"].uscc in text
    assert "在南川区青年志愿者协会（已注销）参加志愿服务" in text
    # the QR payload grows by the one claim: at most one QR version
    base = cert["verify_url"].split("/v/")[0]
    own = measure_qr(f"{base}/v/{world['cert'].token}")
    mine = measure_qr(cert["verify_url"])
    assert mine.data_bytes - own.data_bytes <= 40
    assert mine.version <= own.version + 1
    # the successor vouches with its own key, endorsed for its USCC in the trust list
    trust = client.get("/.well-known/issuers.json").get_json()
    payload = json.loads(base64.urlsafe_b64decode(trust["payload"] + "=="))
    header = json.loads(base64.urlsafe_b64decode(cert["token"].split(".")[0] + "=="))
    [entry] = [e for e in payload["issuers"] if e["kid"] == header["kid"]]
    assert entry["role"] == "organisation" and entry["uscc"] == world["heir"].uscc


def test_the_deregistered_organisation_itself_and_others_still_cannot_issue(client, world):
    _deregister(world)
    own = client.post(
        "/api/v1/certificates",
        json={"volunteer_id": world["volunteer"].id},
        headers=world["own_admin"],
    )
    assert own.status_code == 403
    for who in ("third_admin", "platform"):
        answer = client.post(
            f"{API}/organisations/{world['org'].id}/certificates",
            json={"volunteer_number": world["volunteer"].volunteer_number},
            headers=world[who],
        )
        assert answer.status_code == 404


def test_reissue_after_a_correction(client, world):
    _deregister(world)
    record_id = world["records"][0].id
    corrected = client.post(
        f"{API}/records/{record_id}/corrections",
        json={"minutes": 45, "reason": "志愿者申请更正"},
        headers=world["heir_admin"],
    )
    assert corrected.status_code == 200
    number = world["cert"].number
    assert (
        client.post(
            f"{API}/certificates/{number}/reissue", headers=world["third_admin"]
        ).status_code
        == 404
    )
    again = client.post(f"{API}/certificates/{number}/reissue", headers=world["heir_admin"])
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["issued_for"]["by"] == "successor"
    assert again.get_json()["total_minutes"] == 45


def test_missing_record_and_certificate_requests_go_to_the_successor(client, world):
    _deregister(world)
    uscc = world["org"].uscc
    missing = client.post(
        "/api/v1/me/missing-records",
        json={
            "organisation_uscc": uscc,
            "activity": "社区清扫",
            "started_at": days_ago(5).isoformat(),
            "ended_at": (days_ago(5) + timedelta(hours=1)).isoformat(),
            "reason": "漏记",
        },
        headers=world["me"],
    )
    assert missing.status_code == 201, missing.get_json()
    assert missing.get_json()["answered_by"]["kind"] == "successor"
    refuse = f"{API}/missing-record-requests/{missing.get_json()['id']}/refuse"
    assert (
        client.post(refuse, json={"reason": "无法核实"}, headers=world["third_admin"]).status_code
        == 404
    )
    refused = client.post(refuse, json={"reason": "无法核实"}, headers=world["heir_clerk"])
    assert refused.status_code == 200, refused.get_json()
    assert refused.get_json()["status"] == "refused"
    asked = client.post(
        "/api/v1/me/certificate-requests",
        json={
            "organisation_uscc": uscc,
            "period_from": days_ago(30).date().isoformat(),
            "period_to": days_ago(1).date().isoformat(),
        },
        headers=world["me"],
    )
    assert asked.status_code == 201, asked.get_json()
    assert asked.get_json()["answered_by"]["kind"] == "successor"
    request_id = asked.get_json()["id"]
    url = f"{API}/certificate-requests/{request_id}/issue"
    assert client.post(url, headers=world["third_admin"]).status_code == 404
    issued = client.post(url, headers=world["heir_admin"])
    assert issued.status_code == 201, issued.get_json()
    assert issued.get_json()["issued_for"]["by_uscc"] == world["heir"].uscc


def test_a_successor_that_is_no_longer_active_hands_over_to_the_platform(app, client, world):
    _deregister(world)
    dispute = _dispute(client, world)

    def suspend_heir(session):
        heir = session.get(Organisation, world["heir"].id)
        set_status(session, heir, "suspended", "整改", None)

    world["make"].run(suspend_heir)
    url = f"{API}/correction-requests/{dispute['id']}/answer"
    body = {"status": "rejected", "resolution": "记录无误"}
    assert client.post(url, json=body, headers=world["heir_admin"]).status_code == 404
    mine = client.get(f"/api/v1/me/records/{world['records'][0].id}", headers=world["me"])
    assert mine.get_json()["dispute"]["answered_by"]["kind"] == "platform"
    answered = client.post(url, json=body, headers=world["platform"])
    assert answered.status_code == 200, answered.get_json()
    _entry, details = _audit(app, "correction_request.reject")
    assert details["acting_as"] == "platform"
    assert details["inactive_successor_uscc"] == world["heir"].uscc


def test_a_successors_certificate_verifies_offline_against_the_trust_list(
    app, client, world, tmp_path
):
    _deregister(world)
    cert = client.post(
        f"{API}/organisations/{world['org'].id}/certificates",
        json={"volunteer_number": world["volunteer"].volunteer_number},
        headers=world["heir_clerk"],
    ).get_json()
    jwks, trust = tmp_path / "jwks.json", tmp_path / "issuers.json"
    jwks.write_bytes(client.get("/.well-known/jwks.json").get_data())
    trust.write_bytes(client.get("/.well-known/issuers.json").get_data())
    runner = app.test_cli_runner()
    ok = runner.invoke(
        args=["verify-qr", cert["token"], "--jwks", str(jwks), "--trust-list", str(trust)]
    )
    assert ok.exit_code == 0, ok.output
    assert "南川区志愿服务联合会" in ok.output  # the key is endorsed for the successor
    # the same claims signed by a third organisation's key are refused
    from verifier.crypto import signing
    from verifier.keys.services import get_key, private_key_of

    with app.app_context():
        key = get_key(get_session(), world["cert"].kid)  # the deregistered organisation's key
        forged = signing.sign_compact_jws(_claims(cert["token"]), private_key_of(key), key.kid)
    bad = runner.invoke(args=["verify-qr", forged, "--jwks", str(jwks), "--trust-list", str(trust)])
    assert bad.exit_code == 1 and "endorsed for organisation" in bad.output


def test_a_successors_certificate_credential_is_issued_by_the_successor(client, world):
    _deregister(world)
    cert = client.post(
        f"{API}/organisations/{world['org'].id}/certificates",
        json={"volunteer_number": world["volunteer"].volunteer_number},
        headers=world["heir_clerk"],
    ).get_json()
    response = client.get(
        f"/api/v1/certificates/{cert['number'].replace('-', '')}/credential.json",
        headers=world["heir_clerk"],
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    vc = json.loads(response.get_data(as_text=True))
    heir_did = f"did:web:verifier.test:orgs:{world['heir'].uscc}"
    assert vc["issuer"]["id"] == heir_did
    assert vc["issuer"]["name"] == "南川区志愿服务联合会（承继已注销的南川区青年志愿者协会）"
    assert [i["identifier"] for i in vc["issuer"]["otherIdentifier"]] == [
        world["org"].uscc,
        world["heir"].uscc,
    ]
    method = vc["proof"][0]["verificationMethod"]
    assert method.startswith(heir_did + "#")
    did_document = client.get(f"/orgs/{world['heir'].uscc}/did.json").get_json()
    assert method in did_document["assertionMethod"]


def test_the_successor_prints_the_holders_copy_of_what_it_issued(client, world):
    _deregister(world)
    cert = client.post(
        f"{API}/organisations/{world['org'].id}/certificates",
        json={"volunteer_number": world["volunteer"].volunteer_number},
        headers=world["heir_clerk"],
    ).get_json()
    holder = client.get(
        cert["links"]["certificate_pdf"] + "?form=holder", headers=world["heir_clerk"]
    )
    assert holder.status_code == 200, holder.get_data(as_text=True)[:300]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(holder.data)).pages)
    assert "张三" in text.replace("\n", "")  # the full name: the holder's copy
    # another organisation still gets nothing
    other = client.get(cert["links"]["certificate_pdf"], headers=world["third_admin"])
    assert other.status_code == 404

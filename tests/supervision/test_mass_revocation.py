"""A supervisor revokes every certificate of an organisation (confirmed fraud) in one action."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from support import bearer, days_ago
from support import login as sign_in

from verifier.audit.models import AuditEntry
from verifier.certificates.services import number_display
from verifier.credentials.services import STATUS_LIST_LENGTH, status_list_bits
from verifier.db import get_session

REASON = "经查实伪造服务记录"


@pytest.fixture
def world(make):
    org = make.org(name="南川区青年志愿者协会")
    other = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, name="张三")
    records = [make.record(org, volunteer, actor=admin, started_at=days_ago(d)) for d in (20, 10)]
    certs = [make.certificate(org, admin, volunteer, [r]) for r in records]
    other_admin = make.user("org_admin", other)
    other_volunteer = make.volunteer(other)
    other_record = make.record(other, other_volunteer, actor=other_admin)
    other_cert = make.certificate(other, other_admin, other_volunteer, [other_record])
    supervisor = make.user("regulator_supervisor")
    return {
        "org": org,
        "certs": certs,
        "other_cert": other_cert,
        "supervisor": supervisor,
        "tokens": {
            role: {**bearer(make.token(user)), "Accept-Language": "en"}
            for role, user in {
                "supervisor": supervisor,
                "inspector": make.user("regulator_inspector"),
                "org_admin": admin,
                "platform_admin": make.user("platform_admin"),
            }.items()
        },
    }


def _url(world):
    return f"/api/v1/organisations/{world['org'].id}/revoke-certificates"


def _verify(client, cert):
    return client.post("/api/v1/verifications", json={"token": cert.token}).get_json()


def _revocation_bit(app, cert):
    list_number, position = divmod(cert.status_index, STATUS_LIST_LENGTH)
    with app.app_context():
        bits = status_list_bits(get_session(), list_number, "revocation")
    return (bits[position // 8] >> (7 - position % 8)) & 1


def test_the_supervisor_revokes_every_certificate_in_one_audited_action(app, client, world):
    certs = world["certs"]
    response = client.post(
        _url(world), json={"reason": REASON}, headers=world["tokens"]["supervisor"]
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["revoked_count"] == 2 and body["reason"] == REASON
    assert body["revoked"] == [number_display(c.number) for c in certs]
    for cert in certs:
        verdict = _verify(client, cert)
        assert verdict["status"] == "revoked"
        assert verdict["certificate"]["status_reason"] == REASON
        assert _revocation_bit(app, cert) == 1
    # another organisation's certificate is untouched
    assert _verify(client, world["other_cert"])["status"] == "valid"
    assert _revocation_bit(app, world["other_cert"]) == 0
    with app.app_context():
        session = get_session()
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "organisation.revoke_certificates")
        ).all()
        revocations = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "certificate.revoke")
        )
    assert len(entries) == 1
    assert json.loads(entries[0].details) == {"reason": REASON, "count": 2}
    assert entries[0].actor_user_id == world["supervisor"].id
    assert revocations == 2
    # again: nothing left to revoke, still audited
    again = client.post(_url(world), json={"reason": REASON}, headers=world["tokens"]["supervisor"])
    assert again.get_json()["revoked_count"] == 0


def test_a_reason_is_required(client, world):
    for body in ({}, {"reason": ""}, {"reason": "x" * 501}):
        response = client.post(_url(world), json=body, headers=world["tokens"]["supervisor"])
        assert response.status_code == 422
        assert [e["field"] for e in response.get_json()["errors"]] == ["reason"]
    assert _verify(client, world["certs"][0])["status"] == "valid"


@pytest.mark.parametrize("role", ["inspector", "org_admin", "platform_admin"])
def test_only_a_supervisor_may(client, world, role):
    response = client.post(_url(world), json={"reason": REASON}, headers=world["tokens"][role])
    assert response.status_code == 403
    assert _verify(client, world["certs"][0])["status"] == "valid"


def test_an_unknown_organisation_is_not_found(client, world):
    response = client.post(
        "/api/v1/organisations/999999/revoke-certificates",
        json={"reason": REASON},
        headers=world["tokens"]["supervisor"],
    )
    assert response.status_code == 404


def test_the_organisation_page_asks_for_confirmation(client, make, world):
    sign_in(client, world["supervisor"].email)
    client.set_cookie("lang", "en")
    url = f"/orgs/{world['org'].id}"
    page = client.get(url).get_data(as_text=True)
    assert 'id="revoke-all"' in page and f'action="{url}/revoke-certificates"' in page
    unconfirmed = client.post(f"{url}/revoke-certificates", data={"reason": REASON})
    assert unconfirmed.status_code == 302
    shown = client.get(unconfirmed.headers["Location"]).get_data(as_text=True)
    assert "Tick the confirmation" in shown
    assert _verify(client, world["certs"][0])["status"] == "valid"
    no_reason = client.post(f"{url}/revoke-certificates", data={"reason": "", "confirm": "y"})
    assert "reason is required" in client.get(no_reason.headers["Location"]).get_data(as_text=True)
    done = client.post(f"{url}/revoke-certificates", data={"reason": REASON, "confirm": "y"})
    assert done.status_code == 302
    assert "2 certificates revoked" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert _verify(client, world["certs"][1])["status"] == "revoked"


def test_an_inspector_does_not_see_the_button(client, make, world):
    inspector = make.user("regulator_inspector")
    sign_in(client, inspector.email)
    page = client.get(f"/orgs/{world['org'].id}").get_data(as_text=True)
    assert 'id="revoke-all"' not in page

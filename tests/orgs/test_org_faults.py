"""An organisation's later fault: suspension and deregistration stop new issuance at once, name a
successor, and leave the certificates issued before valid (their verification notes it)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import select
from support import bearer, days_ago
from support import login as sign_in

from verifier.audit.models import AuditEntry
from verifier.db import get_session
from verifier.orgs.models import Organisation

API = "/api/v1/organisations"


@pytest.fixture
def world(make):
    org = make.org(name="南川区青年志愿者协会")
    heir = make.org(name="南川区志愿服务联合会")
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, name="张三")
    records = [make.record(org, volunteer, actor=admin, started_at=days_ago(d)) for d in (20, 10)]
    cert = make.certificate(org, admin, volunteer, records[:1])
    platform = make.user("platform_admin")
    return {
        "org": org,
        "heir": heir,
        "admin": admin,
        "volunteer": volunteer,
        "records": records,
        "cert": cert,
        "platform": bearer(make.token(platform)),
        "platform_user": platform,
        "auth": {**bearer(make.token(admin)), "Accept-Language": "en"},
    }


def _set_status(client, world, **body):
    return client.post(f"{API}/{world['org'].id}/status", json=body, headers=world["platform"])


def _errors(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    return {(e["field"], e["rule"]) for e in response.get_json().get("errors", [])}


def test_deregistration_names_a_successor_and_is_audited(app, client, world):
    answer = _set_status(
        client,
        world,
        status="deregistered",
        reason="注销登记",
        successor_uscc=world["heir"].uscc.lower(),
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["status"] == "deregistered"
    assert body["successor_uscc"] == world["heir"].uscc
    assert datetime.fromisoformat(body["status_since"]) <= datetime.now().astimezone()
    shown = client.get(f"{API}/{world['org'].id}", headers=world["platform"]).get_json()
    assert shown["successor_uscc"] == world["heir"].uscc
    with app.app_context():
        entry = (
            get_session()
            .scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "organisation.status")
                .order_by(AuditEntry.id.desc())
            )
            .first()
        )
    assert json.loads(entry.details)["successor_uscc"] == world["heir"].uscc
    # reactivated: the successor no longer answers for it
    again = _set_status(client, world, status="active", reason="恢复登记").get_json()
    assert again["successor_uscc"] is None and again["status_since"] is not None


def test_a_successor_is_refused_naming_the_field_and_rule(client, make, world):
    suspended = _set_status(
        client, world, status="suspended", reason="整改", successor_uscc=world["heir"].uscc
    )
    assert _errors(suspended, 422) == {("successor_uscc", "deregistration_only")}
    itself = _set_status(
        client, world, status="deregistered", reason="注销", successor_uscc=world["org"].uscc
    )
    assert _errors(itself, 422) == {("successor_uscc", "active_other_organisation")}
    other = make.org()
    make.run(lambda s: setattr(s.get(Organisation, other.id), "status", "suspended"))
    inactive = _set_status(
        client, world, status="deregistered", reason="注销", successor_uscc=other.uscc
    )
    assert _errors(inactive, 422) == {("successor_uscc", "active_other_organisation")}
    unknown = _set_status(
        client, world, status="deregistered", reason="注销", successor_uscc="91350100M000100Y43"
    )
    assert unknown.status_code == 404
    assert client.get(f"{API}/{world['org'].id}", headers=world["platform"]).get_json()[
        "status"
    ] == ("active")


def test_an_org_user_may_not_name_a_successor(client, world):
    response = client.post(
        f"{API}/{world['org'].id}/status",
        json={"status": "deregistered", "reason": "x", "successor_uscc": world["heir"].uscc},
        headers=world["auth"],
    )
    assert response.status_code == 403


@pytest.mark.parametrize("org_status", ["suspended", "deregistered"])
def test_new_issuance_is_refused_naming_the_rule_and_the_old_certificate_stays_valid(
    client, world, org_status
):
    assert _set_status(client, world, status=org_status, reason="责令停止活动").status_code == 200
    refused = client.post(
        "/api/v1/certificates",
        json={"volunteer_id": world["volunteer"].id, "record_ids": [world["records"][1].id]},
        headers=world["auth"],
    )
    assert _errors(refused, 403) == {("organisation", "organisation_active")}
    assert org_status in refused.get_json()["detail"]
    bulk = client.post(
        "/api/v1/certificates/bulk",
        json={
            "period_from": days_ago(30).date().isoformat(),
            "period_to": days_ago(1).date().isoformat(),
        },
        headers=world["auth"],
    )
    assert bulk.status_code == 403
    verdict = client.post("/api/v1/verifications", json={"token": world["cert"].token}).get_json()
    assert verdict["status"] == "valid"
    assert verdict["issuer_status"]["status"] == org_status


def test_the_page_shows_since_when_and_the_successor(client, world):
    sign_in(client, world["platform_user"].email)
    client.set_cookie("lang", "en")
    response = client.post(
        f"/orgs/{world['org'].id}/status",
        data={"status": "deregistered", "reason": "注销", "successor_uscc": world["heir"].uscc},
    )
    assert response.status_code == 302
    page = client.get(f"/orgs/{world['org'].id}").get_data(as_text=True)
    assert "Since " in page and "南川区志愿服务联合会" in page and world["heir"].uscc in page
    wrong = client.post(
        f"/orgs/{world['org'].id}/status",
        data={"status": "suspended", "reason": "整改", "successor_uscc": world["heir"].uscc},
    )
    assert wrong.status_code == 422
    assert 'id="successor_uscc-error"' in wrong.get_data(as_text=True)


def test_the_command_line_deregisters_with_a_successor(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "orgs",
            "set-status",
            "--uscc",
            world["org"].uscc,
            "--status",
            "deregistered",
            "--reason",
            "注销登记",
            "--successor",
            world["heir"].uscc,
        ]
    )
    assert result.exit_code == 0, result.output
    assert world["heir"].uscc in result.output
    with app.app_context():
        org = get_session().get(Organisation, world["org"].id)
        assert org.status == "deregistered" and org.successor_id == world["heir"].id
    refused = runner.invoke(
        args=["orgs", "set-status", "--uscc", world["org"].uscc, "--status", "active",
              "--reason", "恢复", "--successor", world["heir"].uscc]
    )  # fmt: skip
    assert refused.exit_code != 0

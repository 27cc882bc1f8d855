"""Certificate requests through the API: a volunteer asks, the organisation issues or refuses,
the volunteer downloads the certificate; every refusal names its field and rule."""

from __future__ import annotations

import json

import pytest
from certreq_helpers import build_world, make_overdue, messages_to, pdf_text, period
from sqlalchemy import select

from verifier.audit.models import AuditEntry
from verifier.orgs.models import Organisation
from verifier.orgs.services import set_status as set_org_status
from verifier.portal.certreqs import ANSWERED_KIND, REQUESTS_PER_DAY
from verifier.timeutil import local_today
from verifier.workdays import add_working_days

ME = "/api/v1/me/certificate-requests"
QUEUE = "/api/v1/certificate-requests"


@pytest.fixture
def world(make):
    return build_world(make)


def _errors(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return {(e["field"], e["rule"]) for e in response.get_json().get("errors", [])}


def _ask(client, world, who="user", **body):
    data = {"organisation_uscc": world.org.uscc, **period(), **body}
    return client.post(ME, json=data, headers=world.auth(who))


def test_request_issue_and_download_the_whole_way(client, make, world):
    asked = _ask(client, world)
    assert asked.status_code == 201, asked.get_json()
    request = asked.get_json()
    assert request["status"] == "pending"
    assert request["organisation_name"] == "南川区志愿者协会"
    assert request["due_on"] == add_working_days(local_today(), 10).isoformat()
    assert request["overdue"] is False and request["certificate"] is None
    assert asked.headers["Location"].endswith(f"{ME}/{request['id']}")

    mine = client.get(ME, headers=world.auth("user")).get_json()
    assert [r["id"] for r in mine["items"]] == [request["id"]] and mine["total"] == 1

    # the organisation's queue: the recorder sees it pending, with the volunteer's name
    queue = client.get(f"{QUEUE}?status=pending", headers=world.auth("recorder")).get_json()
    assert [(r["id"], r["volunteer_name"]) for r in queue["items"]] == [(request["id"], "张三")]
    assert queue["page"] == 1 and queue["total"] == 1

    issued = client.post(f"{QUEUE}/{request['id']}/issue", headers=world.auth("recorder"))
    assert issued.status_code == 201, issued.get_json()
    cert = issued.get_json()
    assert cert["hours"] == "6.00" and cert["record_count"] == 2 and cert["status"] == "valid"
    assert cert["period_from"] == request["period_from"]
    assert issued.headers["Location"].endswith(cert["number"])

    # answered once only
    assert ("status", "already_answered") in _errors(
        client.post(f"{QUEUE}/{request['id']}/issue", headers=world.auth("admin")), 409
    )
    assert ("status", "already_answered") in _errors(
        client.post(
            f"{QUEUE}/{request['id']}/refuse",
            json={"reason": "已出具"},
            headers=world.auth("admin"),
        ),
        409,
    )

    # the volunteer sees the answer and the certificate
    answered = client.get(f"{ME}/{request['id']}", headers=world.auth("user")).get_json()
    assert answered["status"] == "issued" and answered["certificate"]["number"] == cert["number"]
    certificates = client.get("/api/v1/me/certificates", headers=world.auth("user"))
    assert certificates.status_code == 200
    (item,) = certificates.get_json()["items"]
    assert item["number"] == cert["number"] and item["issuer_name"] == "南川区志愿者协会"
    assert item["hours"] == "6.00" and item["status"] == "valid"
    assert item["verification_counts"] == {"scan": 0, "typed": 0, "api": 0, "batch": 0}
    assert item["verify_url"] == cert["verify_url"]

    # a verification is counted, and only counted
    client.get(f"/v/{cert['token']}")
    again = client.get("/api/v1/me/certificates", headers=world.auth("user")).get_json()
    assert again["items"][0]["verification_counts"]["scan"] == 1
    assert "verifier" not in json.dumps(again["items"][0]["verification_counts"])

    # downloads, by the volunteer: the PDF holds the number, the credential is theirs
    pdf = client.get(item["links"]["certificate_pdf"], headers=world.auth("user"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert cert["number"] in pdf_text(pdf.data)
    credential = client.get(item["links"]["credential_json"], headers=world.auth("user"))
    assert credential.status_code == 200 and credential.mimetype == "application/vc"
    document = json.loads(credential.data)
    assert "VerifiableCredential" in document["type"] and document["proof"][0]["proofValue"]

    # the volunteer is told, with the number and the link; the audit chain has both steps
    ((subject, body),) = messages_to(make, world.volunteer.id, ANSWERED_KIND)
    assert cert["number"] in body and "http://verifier.test/me/certificates" in body
    assert subject
    actions = make.run(
        lambda s: list(
            s.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.object_type == "certificate_request",
                    AuditEntry.object_id == str(request["id"]),
                )
            )
        )
    )
    assert actions == ["certificate_request.create", "certificate_request.issue"]


def test_refusing_tells_the_volunteer_the_reason(client, make, world):
    request = _ask(client, world).get_json()
    url = f"{QUEUE}/{request['id']}/refuse"
    assert ("reason", "missing") in _errors(
        client.post(url, json={}, headers=world.auth("admin")), 422
    )
    assert ("reason", "required") in _errors(
        client.post(url, json={"reason": "  "}, headers=world.auth("admin")), 422
    )
    assert ("reason", "string_too_long") in _errors(
        client.post(url, json={"reason": "长" * 501}, headers=world.auth("admin")), 422
    )
    assert ("reason", "no_id_number") in _errors(
        client.post(
            url, json={"reason": "证件 11010119900307002X 不符"}, headers=world.auth("admin")
        ),
        422,
    )
    refused = client.post(url, json={"reason": "该期间没有服务记录"}, headers=world.auth("admin"))
    assert refused.status_code == 200, refused.get_json()
    assert refused.get_json()["status"] == "refused"
    mine = client.get(f"{ME}/{request['id']}", headers=world.auth("user")).get_json()
    assert mine["status"] == "refused" and mine["refusal_reason"] == "该期间没有服务记录"
    ((_subject, body),) = messages_to(make, world.volunteer.id, ANSWERED_KIND)
    assert "该期间没有服务记录" in body
    assert ("status", "already_answered") in _errors(
        client.post(url, json={"reason": "again"}, headers=world.auth("admin")), 409
    )


def test_a_request_is_refused_naming_the_field_and_rule(client, world):
    today = local_today()
    cases = [
        ({"organisation_uscc": "not-a-code"}, ("organisation_uscc", "uscc_charset")),
        ({"organisation_uscc": "53500000MJ000"}, ("organisation_uscc", "uscc_length")),
        # registered, but not with this volunteer: answered as an unknown code would be
        ({"organisation_uscc": _unregistered_uscc(world)}, ("organisation_uscc", "membership")),
        ({"period_from": "2026-13-01"}, ("period_from", "date_format")),
        (period(10, 20), ("period_to", "period_order")),
        (
            {"period_to": (today.replace(year=today.year + 1)).isoformat()},
            ("period_to", "not_future"),
        ),
        (
            {"period_from": today.replace(year=today.year - 11).isoformat()},
            ("period_from", "max_span"),
        ),
        ({"fee": 10}, ("fee", "extra_forbidden")),
    ]
    for body, expected in cases:
        assert expected in _errors(_ask(client, world, **body), 422), body
    missing = client.post(ME, json={}, headers=world.auth("user"))
    assert {("organisation_uscc", "missing"), ("period_from", "missing")} <= _errors(missing, 422)


def _unregistered_uscc(world):
    # the stranger's organisation is the same; a third organisation nobody here belongs to
    return world.make.org(name="无关的协会").uscc


def test_one_pending_request_per_organisation_and_period(client, world):
    assert _ask(client, world, **period(60, 30)).status_code == 201
    overlapping = _ask(client, world, **period(40, 0))
    assert ("period_from", "request_pending") in _errors(overlapping, 409)
    # another period, or another organisation of the volunteer, is a new request
    assert _ask(client, world, **period(20, 0)).status_code == 201
    other = _ask(client, world, organisation_uscc=world.other.uscc, **period(40, 0))
    assert other.status_code == 201
    # once answered, the same period may be asked again
    first = client.get(ME, headers=world.auth("user")).get_json()["items"][-1]
    client.post(
        f"{QUEUE}/{first['id']}/refuse", json={"reason": "重复"}, headers=world.auth("admin")
    )
    assert _ask(client, world, **period(60, 30)).status_code == 201


def test_requests_are_rate_limited_per_volunteer(client, world):
    for n in range(REQUESTS_PER_DAY):
        response = _ask(client, world, **period(n * 3 + 2, n * 3 + 1))
        assert response.status_code == 201, response.get_json()
    assert ("body", "rate_limit") in _errors(_ask(client, world, **period(200, 190)), 429)
    # another volunteer is not affected
    assert _ask(client, world, who="stranger_user").status_code == 201


def test_no_certifiable_records_is_refused_by_rule(client, world):
    request = _ask(client, world, **period(10, 0)).get_json()  # the records are older
    issued = client.post(f"{QUEUE}/{request['id']}/issue", headers=world.auth("admin"))
    assert ("period_from", "no_records") in _errors(issued, 422)
    still = client.get(f"{QUEUE}/{request['id']}", headers=world.auth("admin")).get_json()
    assert still["status"] == "pending" and still["certificate"] is None


def test_nobody_sees_another_volunteers_or_organisations_requests(client, make, world):
    request = _ask(client, world).get_json()
    rid = request["id"]
    # another volunteer: 404 for the request, and an empty list of their own
    assert client.get(f"{ME}/{rid}", headers=world.auth("stranger_user")).status_code == 404
    assert client.get(ME, headers=world.auth("stranger_user")).get_json()["items"] == []
    # another organisation: not in its queue, 404 for the request and its answers
    other_queue = client.get(QUEUE, headers=world.auth("other_admin")).get_json()
    assert other_queue["items"] == [] and other_queue["total"] == 0
    mixed = client.get(f"{QUEUE}?organisation_id={world.org.id}", headers=world.auth("other_admin"))
    assert mixed.get_json()["items"] == []
    for method, url, body in (
        ("GET", f"{QUEUE}/{rid}", None),
        ("POST", f"{QUEUE}/{rid}/issue", None),
        ("POST", f"{QUEUE}/{rid}/refuse", {"reason": "不是我们的"}),
    ):
        response = client.open(url, method=method, json=body, headers=world.auth("other_admin"))
        assert response.status_code == 404, (method, url)
    # staff may not use a volunteer's routes, nor a volunteer the queue
    assert client.get(ME, headers=world.auth("admin")).status_code == 403
    assert (
        client.get("/api/v1/me/certificates", headers=world.auth("supervisor")).status_code == 403
    )
    assert client.get(QUEUE, headers=world.auth("user")).status_code == 403
    assert client.post(f"{QUEUE}/{rid}/issue", headers=world.auth("user")).status_code == 403
    assert client.post(f"{QUEUE}/{rid}/issue", headers=world.auth("supervisor")).status_code == 403


def test_a_volunteer_downloads_only_their_own_certificates(client, make, world):
    cert = make.certificate(world.org, world.admin, world.volunteer, world.records)
    theirs = client.get("/api/v1/me/certificates", headers=world.auth("stranger_user")).get_json()
    assert theirs["items"] == []
    for suffix in ("certificate.pdf", "credential.json"):
        url = f"/api/v1/certificates/{cert.number}/{suffix}"
        assert client.get(url, headers=world.auth("stranger_user")).status_code == 404
        assert client.get(url, headers=world.auth("user")).status_code == 200
    # the rest of the certificate API stays staff-only
    assert (
        client.get(f"/api/v1/certificates/{cert.number}", headers=world.auth("user")).status_code
        == 403
    )


def test_overdue_and_refused_requests_are_visible_to_regulators(client, make, world):
    late = _ask(client, world, **period(60, 30)).get_json()
    on_time = _ask(client, world, **period(20, 0)).get_json()
    refused = _ask(client, world, organisation_uscc=world.other.uscc).get_json()
    client.post(
        f"{QUEUE}/{refused['id']}/refuse",
        json={"reason": "不予出具"},
        headers=world.auth("other_admin"),
    )
    make_overdue(make, late["id"])

    overdue = client.get(f"{QUEUE}?overdue=1", headers=world.auth("inspector")).get_json()
    assert [r["id"] for r in overdue["items"]] == [late["id"]]
    assert overdue["items"][0]["overdue"] is True
    by_org = client.get(
        f"{QUEUE}?organisation_id={world.other.id}&status=refused", headers=world.auth("supervisor")
    ).get_json()
    assert [r["id"] for r in by_org["items"]] == [refused["id"]]
    assert by_org["items"][0]["refusal_reason"] == "不予出具"
    everything = client.get(f"{QUEUE}?status=pending", headers=world.auth("supervisor")).get_json()
    assert [r["id"] for r in everything["items"]] == [late["id"], on_time["id"]]

    summary = client.get(f"{QUEUE}/organisations", headers=world.auth("inspector"))
    assert summary.status_code == 200
    rows = {r["organisation_id"]: r for r in summary.get_json()["items"]}
    assert rows[world.org.id]["overdue"] == 1 and rows[world.org.id]["pending"] == 2
    assert rows[world.org.id]["oldest_due_on"] is not None
    assert rows[world.other.id]["refused"] == 1 and rows[world.other.id]["overdue"] == 0
    assert [r["organisation_id"] for r in summary.get_json()["items"]][0] == world.org.id
    assert client.get(f"{QUEUE}/organisations", headers=world.auth("admin")).status_code == 403

    # the volunteer sees their request marked overdue too
    assert client.get(f"{ME}/{late['id']}", headers=world.auth("user")).get_json()["overdue"]


def test_the_overdue_request_raises_the_organisation_risk_score(app, client, make, world):
    from verifier.db import get_session
    from verifier.spotchecks.risk import WEIGHTS, organisation_signals

    late = _ask(client, world).get_json()
    with app.app_context():
        before = organisation_signals(get_session(), organisation_ids=[world.org.id])
    assert "certificate_requests_overdue" not in {s.code for s in before[world.org.id].reasons}
    make_overdue(make, late["id"])
    with app.app_context():
        after = organisation_signals(get_session(), organisation_ids=[world.org.id, world.other.id])
    (signal,) = [s for s in after[world.org.id].reasons if s.code == "certificate_requests_overdue"]
    assert signal.weight == WEIGHTS["certificate_requests_overdue"] == 3
    assert "1" in signal.message
    assert after[world.org.id].score - before[world.org.id].score == 3
    assert not after[world.other.id].reasons


def test_a_suspended_organisation_cannot_answer_a_request_with_a_certificate(client, world):
    asked = _ask(client, world).get_json()
    world.make.run(
        lambda s: set_org_status(s, s.get(Organisation, world.org.id), "suspended", "整改", None)
    )
    refused = client.post(f"{QUEUE}/{asked['id']}/issue", headers=world.auth("recorder"))
    assert _errors(refused, 403) == {("organisation", "organisation_active")}
    mine = client.get(f"{ME}/{asked['id']}", headers=world.auth("user")).get_json()
    assert mine["status"] == "pending" and mine["certificate"] is None

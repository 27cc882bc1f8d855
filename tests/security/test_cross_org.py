"""One organisation's users never see or change another's objects; no role climbs by itself."""

from __future__ import annotations

import pytest
from support import PASSWORD, bearer, login
from support.security_world import world

from verifier.auth.models import User
from verifier.certificates.models import Certificate
from verifier.certificates.services import number_display
from verifier.complaints.services import record_correction_request
from verifier.db import get_session
from verifier.records.models import ServiceRecord


@pytest.fixture
def w(make):
    return world(make)


def _as_b(client, w):
    login(client, w["admin_b"].email)
    return client


def test_another_organisations_pages_answer_404(client, w):
    _as_b(client, w)
    number = number_display(w["cert_a"].number)
    for path in (
        f"/volunteers/{w['vol_a'].id}",
        f"/records/{w['rec_a'].id}",
        f"/records/{w['rec_a'].id}/history",
        f"/records/{w['rec_a'].id}/correct",
        f"/records/{w['rec_a'].id}/void",
        f"/records/{w['rec_a'].id}/correction-requests/new",
        f"/volunteers/{w['vol_a'].id}/records/new",
        f"/orgs/{w['org_a'].id}",
        f"/orgs/{w['org_a'].id}/complaints",
        f"/certificates/{number}",
        f"/certificates/{number}/qr.png",
        f"/certificates/{number}/certificate.pdf",
        f"/certificates/{number}/credential.json",
        f"/users/{w['admin_a'].id}",
    ):
        assert client.get(path).status_code == 404, path


def test_another_organisations_api_objects_answer_404(client, make, w):
    token = make.token(w["admin_b"])
    number = number_display(w["cert_a"].number)
    for path in (
        f"/api/v1/volunteers/{w['vol_a'].id}",
        f"/api/v1/records/{w['rec_a'].id}",
        f"/api/v1/records/{w['rec_a'].id}/history",
        f"/api/v1/certificates/{number}",
        f"/api/v1/certificates/{number}/qr.png",
        f"/api/v1/certificates/{number}/certificate.pdf",
        f"/api/v1/certificates/{number}/credential.json",
    ):
        assert client.get(path, headers=bearer(token)).status_code == 404, path
    listed = client.get("/api/v1/records", headers=bearer(token)).get_json()
    assert {r["id"] for r in listed["items"]} == {w["rec_b"].id}
    listed = client.get(
        "/api/v1/records", query_string={"organisation_id": w["org_a"].id}, headers=bearer(token)
    ).get_json()
    assert w["rec_a"].id not in {r["id"] for r in listed["items"]}


def test_another_organisations_certificate_and_records_cannot_be_changed(app, client, make, w):
    token = make.token(w["admin_b"])
    number = number_display(w["cert_a"].number)
    rec = w["rec_a"].id
    for path, body in (
        (f"/api/v1/certificates/{number}/revoke", {"reason": "x" * 10}),
        (f"/api/v1/certificates/{number}/suspend", {"reason": "x" * 10}),
        (f"/api/v1/certificates/{number}/reissue", {}),
        (f"/api/v1/records/{rec}/void", {"reason": "x" * 10}),
        (f"/api/v1/records/{rec}/corrections", {"reason": "x" * 10, "minutes": 60}),
    ):
        assert client.post(path, json=body, headers=bearer(token)).status_code == 404, path
    _as_b(client, w)
    assert (
        client.post(f"/certificates/{number}/revoke", data={"reason": "forged"}).status_code == 404
    )
    assert client.post(f"/records/{rec}/void", data={"reason": "wrong entry"}).status_code == 404
    with app.app_context():
        session = get_session()
        assert session.get(Certificate, w["cert_a"].id).status == "valid"
        assert session.get(ServiceRecord, rec).status == "active"


def test_issuing_from_another_organisations_records_is_refused(client, make, w):
    # the same person registered by B: B may certify only what B recorded
    shared = make.volunteer(w["org_b"], name="张晓明", id_number="11010119900307002X")
    assert shared.id == w["vol_a"].id
    token = make.token(w["admin_b"])
    response = client.post(
        "/api/v1/certificates",
        json={"volunteer_id": shared.id, "record_ids": [w["rec_a"].id]},
        headers=bearer(token),
    )
    assert response.status_code == 422
    page = client.get(f"/api/v1/volunteers/{shared.id}", headers=bearer(token))
    assert page.status_code == 200
    records = client.get(
        "/api/v1/records", query_string={"volunteer_id": shared.id}, headers=bearer(token)
    ).get_json()
    assert records["items"] == []


def test_another_organisations_correction_request_answers_404(app, client, make, w):
    def ask(session):
        return record_correction_request(
            session,
            session.get(User, w["admin_a"].id),
            session.get(ServiceRecord, w["rec_a"].id),
            requested_by="志愿者本人",
            reason="服务时长少记了一小时",
        )

    request = make.run(ask)
    _as_b(client, w)
    assert client.get(f"/correction-requests/{request.id}/answer").status_code == 404
    answer = client.post(
        f"/correction-requests/{request.id}/answer",
        data={"status": "rejected", "resolution": "不予更正，理由充分"},
    )
    assert answer.status_code == 404


def test_org_admin_cannot_manage_another_organisations_users(app, client, make, w):
    recorder_a = make.user("org_recorder", w["org_a"])
    _as_b(client, w)
    listing = client.get("/users", query_string={"org": w["org_a"].id}).get_data(as_text=True)
    assert w["admin_a"].email not in listing and recorder_a.email not in listing
    assert client.get(f"/users/{recorder_a.id}").status_code == 404
    assert client.post(f"/users/{recorder_a.id}/active", data={"active": "0"}).status_code == 404
    assert (
        client.post(f"/users/{recorder_a.id}/role", data={"role": "org_admin"}).status_code == 403
    )
    with app.app_context():
        assert get_session().get(User, recorder_a.id).active


def test_org_admin_cannot_raise_roles_or_create_users_elsewhere(app, client, make, w):
    recorder_b = make.user("org_recorder", w["org_b"])
    _as_b(client, w)
    # own organisation's recorder: still no role change, and no self-promotion either
    assert (
        client.post(f"/users/{recorder_b.id}/role", data={"role": "org_admin"}).status_code == 403
    )
    me = w["admin_b"].id
    for role in ("platform_admin", "regulator_supervisor"):
        assert client.post(f"/users/{me}/role", data={"role": role}).status_code == 403
    # creating a user: whatever role and organisation are posted, a recorder of B
    created = client.post(
        "/users/new",
        data={
            "email": "sneaky@example.cn",
            "password": PASSWORD,
            "role": "platform_admin",
            "organisation": "91350100M000100Y43",
        },
    )
    assert created.status_code == 302
    with app.app_context():
        session = get_session()
        user = session.query(User).filter_by(email="sneaky@example.cn").one()
        assert (user.role, user.organisation_id) == ("org_recorder", w["org_b"].id)
        assert session.get(User, recorder_b.id).role == "org_recorder"
        assert session.get(User, me).role == "org_admin"


def test_nobody_revokes_someone_elses_api_token(app, client, make, w):
    token_a = make.token(w["admin_a"])
    assert client.get("/api/v1/volunteers", headers=bearer(token_a)).status_code == 200
    with app.app_context():
        from sqlalchemy import select

        from verifier.auth.models import ApiToken

        token_id = (
            get_session()
            .scalars(select(ApiToken.id).where(ApiToken.user_id == w["admin_a"].id))
            .one()
        )
    _as_b(client, w)
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 404
    assert w["admin_a"].email not in client.get("/account/tokens").get_data(as_text=True)
    client.post("/logout")
    assert client.get("/api/v1/volunteers", headers=bearer(token_a)).status_code == 200


def test_regulators_read_but_do_not_change_organisation_data(client, make, w):
    inspector = make.user("regulator_inspector")
    token = make.token(inspector)
    number = number_display(w["cert_a"].number)
    assert client.get(f"/api/v1/certificates/{number}", headers=bearer(token)).status_code == 200
    for path, body in (
        (f"/api/v1/certificates/{number}/revoke", {"reason": "x" * 10}),
        (f"/api/v1/records/{w['rec_a'].id}/void", {"reason": "x" * 10}),
        ("/api/v1/records/import", None),
    ):
        assert client.post(path, json=body, headers=bearer(token)).status_code == 403, path

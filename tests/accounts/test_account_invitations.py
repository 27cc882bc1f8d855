"""Invitations: an organisation makes a one-time code for one of its volunteers (API and page)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from account_helpers import claim_body, invite, outbox, problem_errors
from sqlalchemy import select
from support import bearer, login

from verifier.accounts.invitations import CODE_ALPHABET
from verifier.accounts.models import VolunteerInvitation
from verifier.audit.models import AuditEntry
from verifier.db import get_session

CODE = re.compile(rf"^[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}$")


def test_a_recorder_invites_a_volunteer_and_only_the_codes_hash_is_kept(app, client, make):
    org = make.org()
    recorder = make.user("org_recorder", org)
    volunteer = make.volunteer(org)
    body = invite(client, make, volunteer, recorder)
    assert CODE.match(body["code"])
    assert body["volunteer_id"] == volunteer.id
    assert body["claim_url"] == "http://verifier.test/account/claim"
    assert body["sent_to"] is None  # no phone on file
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires.utcoffset() == timedelta(hours=8)
    assert (
        timedelta(days=13, hours=23) < expires - datetime.now(expires.tzinfo) <= timedelta(days=14)
    )
    with app.app_context():
        session = get_session()
        row = session.scalars(select(VolunteerInvitation)).one()
        raw = body["code"].replace("-", "")
        assert row.code_hash not in (body["code"], raw) and len(row.code_hash) == 64
        assert row.created_by_id == recorder.id and row.organisation_id == org.id
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "volunteer.invite")
        ).one()
        assert raw not in entry.details and body["code"] not in entry.details
        assert json.loads(entry.details)["invitation"] == row.id
    assert outbox(app, "invitation") == []


def test_the_code_is_also_sent_to_the_mobile_on_file(app, client, make):
    org = make.org(name="南川区志愿者协会")
    volunteer = make.volunteer(org, phone="13800138000")
    body = invite(client, make, volunteer, make.user("org_admin", org))
    assert body["sent_to"] == "138****8000"
    (message,) = outbox(app, "invitation")
    assert message["recipient"] == "13800138000"
    assert message["channel"] == "sms"
    assert message["volunteer_id"] == volunteer.id
    assert body["code"] in message["body"]
    assert "http://verifier.test/account/claim" in message["body"]
    assert "南川区志愿者协会" in message["body"]  # Chinese by default


def test_who_may_not_invite(client, make):
    org, other = make.org(), make.org()
    volunteer = make.volunteer(org)
    url = f"/api/v1/volunteers/{volunteer.id}/invitation"
    # another organisation's admin: as if the volunteer did not exist
    response = client.post(url, headers=bearer(make.token(make.user("org_admin", other))))
    assert problem_errors(response, 404) == []
    response = client.post(url, headers=bearer(make.token(make.user("regulator_supervisor"))))
    assert response.status_code == 403
    response = client.post(url, headers=bearer(make.token(make.volunteer_user(volunteer))))
    assert response.status_code == 403
    assert client.post("/api/v1/volunteers/999999/invitation").status_code == 401


def test_a_volunteer_with_an_account_is_not_invited_again(client, make):
    org = make.org()
    volunteer = make.volunteer(org)
    make.volunteer_user(volunteer)
    response = client.post(
        f"/api/v1/volunteers/{volunteer.id}/invitation",
        headers=bearer(make.token(make.user("org_admin", org))),
    )
    assert problem_errors(response, 409) == [("volunteer_id", "already_claimed")]


def test_a_newer_invitation_revokes_the_older_one(app, client, make):
    org = make.org()
    volunteer = make.volunteer(org)
    first = invite(client, make, volunteer, make.user("org_admin", org))
    second = invite(client, make, volunteer, make.user("org_recorder", org))
    assert first["code"] != second["code"]
    response = client.post("/api/v1/account/claim", json=claim_body(first["code"]))
    assert problem_errors(response, 422) == [("code", "revoked")]
    response = client.post("/api/v1/account/claim", json=claim_body(second["code"]))
    assert response.status_code == 201


def test_an_invitation_of_another_organisation_revokes_this_ones_too(client, make):
    """One person, registered by two organisations: only the newest code of either works."""
    first_org, second_org = make.org(), make.org()
    volunteer = make.volunteer(first_org)
    make.run(lambda s: _link(s, second_org.id, volunteer.id))
    first = invite(client, make, volunteer, make.user("org_admin", first_org))
    second = invite(client, make, volunteer, make.user("org_admin", second_org))
    response = client.post("/api/v1/account/claim", json=claim_body(first["code"]))
    assert problem_errors(response, 422) == [("code", "revoked")]
    assert client.post("/api/v1/account/claim", json=claim_body(second["code"])).status_code == 201


def _link(session, org_id: int, volunteer_id: int) -> None:
    from verifier.volunteers.models import Membership

    session.add(Membership(organisation_id=org_id, volunteer_id=volunteer_id))
    session.flush()


def test_the_volunteers_page_has_a_button_and_prints_a_sheet_without_a_qr_code(app, client, make):
    org = make.org(name="南川区志愿者协会")
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, name="张小明", phone="13800138000")
    login(client, admin.email)
    page = client.get(f"/volunteers/{volunteer.id}").get_data(as_text=True)
    action = f'action="/volunteers/{volunteer.id}/invitation"'
    assert action in page
    response = client.post(f"/volunteers/{volunteer.id}/invitation")
    assert response.status_code == 200
    sheet = response.get_data(as_text=True)
    code = re.search(r'id="invitation-code">([^<]+)<', sheet).group(1)
    assert CODE.match(code)
    assert "http://verifier.test/account/claim" in sheet
    assert "张小明" in sheet and "南川区志愿者协会" in sheet
    assert "@media print" in sheet
    assert "<img" not in sheet and "/qr" not in sheet  # a photo of a QR code would leak the code
    assert "138****8000" in sheet  # where the code was also sent
    assert response.headers["Cache-Control"] == "private, no-store"
    # the code works; afterwards the page says the volunteer has an account, with no button
    assert client.post("/api/v1/account/claim", json=claim_body(code.lower())).status_code == 201
    page = client.get(f"/volunteers/{volunteer.id}").get_data(as_text=True)
    assert action not in page
    assert "已有账号" in page


def test_the_page_says_when_a_volunteer_already_has_an_account(client, make):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    make.volunteer_user(volunteer)
    login(client, admin.email)
    response = client.post(f"/volunteers/{volunteer.id}/invitation")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/volunteers/{volunteer.id}")
    assert "已有账号" in client.get(f"/volunteers/{volunteer.id}").get_data(as_text=True)


def test_the_page_of_another_organisations_volunteer_answers_404(client, make):
    org, other = make.org(), make.org()
    volunteer = make.volunteer(org)
    login(client, make.user("org_recorder", other).email)
    assert client.post(f"/volunteers/{volunteer.id}/invitation").status_code == 404

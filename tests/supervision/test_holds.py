"""A regulator's hold holds: only the case's decision lifts it; a suspended organisation changes
nothing; only supervisors keep complaints."""

from __future__ import annotations

import pytest
from support import Factory
from support.supervision_world import build_world, certificate_status, open_case

from verifier.auth.models import User
from verifier.certificates.services import number_display
from verifier.db import get_session
from verifier.orgs.models import Organisation
from verifier.orgs.services import set_status as set_organisation_status


@pytest.fixture
def world(app):
    return build_world(app)


def _change(client, world, who, name, action, reason="组织自行处理"):
    number = number_display(world.certs[name].number)
    body = {} if action == "reinstate" else {"reason": reason}
    return client.post(
        f"/api/v1/certificates/{number}/{action}", json=body, headers=world.auth(who)
    )


@pytest.mark.parametrize("who", ["org_admin", "org_recorder"])
def test_the_organisation_cannot_reinstate_or_suspend_a_held_certificate(client, world, who):
    open_case(client, world)
    assert certificate_status(client, world, "first") == "suspended"
    refused = _change(client, world, who, "first", "reinstate")
    assert refused.status_code == 409
    assert "supervision case holds this certificate" in refused.get_json()["detail"]
    assert certificate_status(client, world, "first") == "suspended"
    # suspending again (with its own reason) is refused as well: the hold is not its to replace
    assert _change(client, world, who, "first", "suspend").status_code == 409


def test_a_certificate_the_organisation_suspended_itself_is_held_once_a_case_opens(client, world):
    assert _change(client, world, "org_admin", "first", "suspend").status_code == 200
    open_case(client, world)
    refused = _change(client, world, "org_admin", "first", "reinstate")
    assert refused.status_code == 409
    assert certificate_status(client, world, "first") == "suspended"


def test_the_organisation_may_still_revoke_a_held_certificate(client, world):
    open_case(client, world)
    revoked = _change(client, world, "org_admin", "first", "revoke", "证明有误，予以撤销")
    assert revoked.status_code == 200, revoked.get_json()
    assert revoked.get_json()["status"] == "revoked"
    assert certificate_status(client, world, "first") == "revoked"


def test_a_held_certificate_is_reinstated_by_the_decision_and_then_the_organisation_may_act(
    client, world
):
    case_id = open_case(client, world)
    closed = client.post(
        f"/api/v1/supervision/cases/{case_id}/close",
        json={"outcome": "resolved", "decision": "经核实无误"},
        headers=world.auth("supervisor"),
    )
    assert closed.status_code == 200, closed.get_json()
    assert certificate_status(client, world, "first") == "valid"
    assert _change(client, world, "org_admin", "first", "suspend").status_code == 200
    assert _change(client, world, "org_admin", "first", "reinstate").status_code == 200


def test_a_held_certificate_that_was_superseded_is_not_re_issued_before_the_decision(client, world):
    case_id = open_case(client, world)
    corrected = client.post(
        f"/api/v1/records/{world.records[0].id}/corrections",
        json={"place": "南川区西城街道", "reason": "更正服务地点"},
        headers=world.auth("org_admin"),
    )
    assert corrected.status_code == 200, corrected.get_json()
    assert certificate_status(client, world, "first") == "superseded"
    number = number_display(world.certs["first"].number)
    refused = client.post(f"/api/v1/certificates/{number}/reissue", headers=world.auth("org_admin"))
    assert refused.status_code == 409
    assert "once the case is decided" in refused.get_json()["detail"]
    client.post(
        f"/api/v1/supervision/cases/{case_id}/close",
        json={"outcome": "resolved", "decision": "已整改"},
        headers=world.auth("supervisor"),
    )
    reissued = client.post(
        f"/api/v1/certificates/{number}/reissue", headers=world.auth("org_admin")
    )
    assert reissued.status_code == 201, reissued.get_json()


def test_records_under_a_hold_are_not_certified_anew_until_the_decision(client, world):
    """A fresh certificate over the same records would stand where the regulator suspended one."""
    case_id = open_case(client, world)
    fresh = client.post(
        "/api/v1/certificates",
        json={"volunteer_id": world.volunteer.id, "record_ids": [world.records[0].id]},
        headers=world.auth("org_admin"),
    )
    assert fresh.status_code == 409
    assert "supervision case" in fresh.get_json()["detail"]
    term = {
        "period_from": world.records[0].started_at.date().isoformat(),
        "period_to": world.records[2].started_at.date().isoformat(),
    }
    bulk = client.post("/api/v1/certificates/bulk", json=term, headers=world.auth("org_admin"))
    assert bulk.status_code == 200, bulk.get_json()
    assert [s["reason"] for s in bulk.get_json()["skipped"]] == ["under_supervision"]
    client.post(
        f"/api/v1/supervision/cases/{case_id}/close",
        json={"outcome": "resolved", "decision": "经核实无误"},
        headers=world.auth("supervisor"),
    )
    again = client.post(
        "/api/v1/certificates",
        json={"volunteer_id": world.volunteer.id, "record_ids": [world.records[0].id]},
        headers=world.auth("org_admin"),
    )
    assert again.status_code == 201, again.get_json()


def test_the_held_certificate_page_says_why_a_change_was_refused(client, world):
    open_case(client, world)
    browser = world.client("org_admin")
    number = number_display(world.certs["first"].number)
    response = browser.post(f"/certificates/{number}/reinstate", follow_redirects=True)
    assert "supervision case holds this certificate" in response.get_data(as_text=True)
    assert certificate_status(client, world, "first") == "suspended"


def test_a_suspended_organisation_can_change_no_certificate(app, client, world):
    def suspend(session):
        set_organisation_status(
            session,
            session.get(Organisation, world.org.id),
            "suspended",
            "停止活动",
            session.get(User, world.users["admin"].id),
        )

    Factory(app).run(suspend)
    for action in ("revoke", "suspend"):
        refused = _change(client, world, "org_admin", "second", action)
        assert refused.status_code == 403, action
        assert "may not record or issue" in refused.get_json()["detail"]
    with app.app_context():
        from verifier.certificates.models import Certificate

        assert get_session().get(Certificate, world.certs["second"].id).status == "valid"


def test_inspectors_neither_record_nor_close_complaints(client, world):
    inspector = world.client("inspector")
    page = inspector.get(f"/orgs/{world.org.id}/complaints/new")
    assert page.status_code == 403
    posted = inspector.post(
        f"/orgs/{world.org.id}/complaints/new",
        data={"source": "public", "summary": "群众来电反映时长虚报"},
    )
    assert posted.status_code == 403
    supervisor = world.client("supervisor")
    recorded = supervisor.post(
        f"/orgs/{world.org.id}/complaints/new",
        data={"source": "public", "summary": "群众来电反映时长虚报"},
    )
    assert recorded.status_code == 302
    with client.application.app_context():
        from sqlalchemy import select

        from verifier.complaints.models import Complaint

        complaint = get_session().scalars(select(Complaint)).one()
    assert (
        inspector.post(
            f"/complaints/{complaint.id}/close", data={"resolution": "已核实"}
        ).status_code
        == 403
    )
    assert (
        supervisor.post(
            f"/complaints/{complaint.id}/close", data={"resolution": "已核实"}
        ).status_code
        == 302
    )


def test_the_complaint_services_refuse_inspectors(app, world):
    from verifier.auth.models import User
    from verifier.complaints.services import record_complaint
    from verifier.errors import Forbidden

    with app.app_context():
        session = get_session()
        with pytest.raises(Forbidden):
            record_complaint(
                session,
                session.get(User, world.users["inspector"].id),
                session.get(Organisation, world.org.id),
                source="public",
                summary="群众来电",
            )

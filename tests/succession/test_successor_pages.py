"""The successor's pages: its queue, answering a dispute, issuing a certificate; the volunteer is
told who answers; another organisation gets 404."""

from __future__ import annotations

import pytest
from support import PASSWORD, bearer, days_ago

from verifier.orgs.models import Organisation
from verifier.orgs.services import set_status


@pytest.fixture
def world(make):
    org = make.org(name="南川区青年志愿者协会")
    heir = make.org(name="南川区志愿服务联合会")
    third = make.org(name="江北区志愿者协会")
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, name="张三")
    record = make.record(org, volunteer, actor=admin, started_at=days_ago(10))
    vol_user = make.volunteer_user(volunteer)

    def run(session):
        set_status(
            session,
            session.get(Organisation, org.id),
            "deregistered",
            "注销登记",
            None,
            successor=session.get(Organisation, heir.id),
        )

    make.run(run)
    return {
        "org": org,
        "volunteer": volunteer,
        "record": record,
        "me": bearer(make.token(vol_user)),
        "heir_clerk": make.user("org_recorder", heir),
        "third_admin": make.user("org_admin", third),
    }


def _signed_in(app, user):
    client = app.test_client()
    answer = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert answer.status_code == 302
    return client


def test_the_successor_answers_a_dispute_and_issues_on_its_pages(app, client, world):
    dispute = client.post(
        f"/api/v1/me/records/{world['record'].id}/dispute",
        json={"kind": "other", "reason": "活动名称有误"},
        headers={**world["me"], "Accept-Language": "zh"},
    ).get_json()
    assert "南川区志愿服务联合会" in dispute["answered_by"]["message"]
    heir = _signed_in(app, world["heir_clerk"])
    queue = heir.get("/successor").get_data(as_text=True)
    assert "南川区青年志愿者协会" in queue and "活动名称有误" in queue
    page = heir.get(f"/successor/correction-requests/{dispute['id']}/answer")
    assert page.status_code == 200 and 'id="acting-for"' in page.get_data(as_text=True)
    empty = heir.post(
        f"/successor/correction-requests/{dispute['id']}/answer",
        data={"status": "rejected", "resolution": ""},
    )
    assert empty.status_code == 422
    sent = heir.post(
        f"/successor/correction-requests/{dispute['id']}/answer",
        data={"status": "rejected", "resolution": "记录无误"},
    )
    assert sent.status_code == 302
    issued = heir.post(
        f"/successor/orgs/{world['org'].id}/certificates/new",
        data={"volunteer_number": world["volunteer"].volunteer_number},
    )
    assert issued.status_code == 302, issued.get_data(as_text=True)
    unknown = heir.post(
        f"/successor/orgs/{world['org'].id}/certificates/new", data={"volunteer_number": "X1"}
    )
    assert unknown.status_code == 404


def test_another_organisation_gets_404_on_the_pages(app, client, world):
    dispute = client.post(
        f"/api/v1/me/records/{world['record'].id}/dispute",
        json={"kind": "other", "reason": "活动名称有误"},
        headers=world["me"],
    ).get_json()
    other = _signed_in(app, world["third_admin"])
    assert "南川区青年志愿者协会" not in other.get("/successor").get_data(as_text=True)
    assert other.get(f"/successor/correction-requests/{dispute['id']}/answer").status_code == 404
    assert other.get(f"/successor/orgs/{world['org'].id}/certificates/new").status_code == 404

"""User management pages: platform admins manage users; org admins create their own recorders."""

from __future__ import annotations

import json
import re

from sqlalchemy import select
from support import PASSWORD
from support import login as sign_in

from verifier.audit.models import AuditEntry
from verifier.auth.models import User
from verifier.db import get_session


def login(client, email, password=PASSWORD):
    """Sign in and read the pages in English, so the assertions hold once translations exist."""
    response = sign_in(client, email, password)
    client.set_cookie("lang", "en")
    return response


def field_error(html: str, field_id: str) -> str:
    found = re.search(rf'id="{field_id}-error"[^>]*>(.*?)</p>', html, re.S)
    assert found, f"no error shown for {field_id}"
    return found.group(1)


def user_by_email(app, email):
    with app.app_context():
        return get_session().scalars(select(User).where(User.email == email)).first()


def audit_actions(app, object_id):
    with app.app_context():
        entries = get_session().scalars(
            select(AuditEntry).where(
                AuditEntry.object_type == "user", AuditEntry.object_id == str(object_id)
            )
        )
        return [(e.action, json.loads(e.details), e.actor) for e in entries]


def test_platform_admin_creates_an_org_user(app, client, make):
    org = make.org()
    admin = make.user("platform_admin")
    login(client, admin.email)
    form = client.get(f"/users/new?org={org.id}").get_data(as_text=True)
    assert f'value="{org.uscc}"' in form  # prefilled from the organisation page
    response = client.post(
        "/users/new",
        data={
            "email": "New.Recorder@Example.cn",
            "password": "long-enough-pw",
            "role": "org_recorder",
            "organisation": org.uscc,
            "display_name": "小李",
        },
    )
    assert response.status_code == 302
    user = user_by_email(app, "new.recorder@example.cn")
    assert user.role == "org_recorder" and user.organisation_id == org.id
    assert audit_actions(app, user.id)[0][0] == "user.create"
    listing = client.get(f"/users?org={org.id}").get_data(as_text=True)
    assert "new.recorder@example.cn" in listing and "小李" in listing


def test_user_form_errors_stand_by_their_fields(app, client, make):
    org = make.org()
    admin = make.user("platform_admin")
    login(client, admin.email)
    cases = [
        ({"email": "not-an-address"}, "email", "not a valid e-mail", 422),
        ({"password": "short"}, "password", "at least 10", 422),
        ({"organisation": ""}, "organisation", "needs an organisation", 422),
        ({"organisation": "91350100M000100Y44"}, "organisation", "check character", 422),
        ({"email": admin.email}, "email", "already exists", 409),
    ]
    for changes, field, words, status in cases:
        data = {
            "email": "x@example.cn",
            "password": "long-enough-pw",
            "role": "org_admin",
            "organisation": org.uscc,
            **changes,
        }
        response = client.post("/users/new", data=data)
        assert response.status_code == status, changes
        assert words in field_error(response.get_data(as_text=True), field), changes
    assert user_by_email(app, "x@example.cn") is None


def test_platform_admin_changes_a_role_and_deactivates_a_user(app, client, make):
    org = make.org()
    target = make.user("org_admin", org)
    admin = make.user("platform_admin")
    login(client, admin.email)
    page = client.get(f"/users/{target.id}").get_data(as_text=True)
    assert f'action="/users/{target.id}/role"' in page
    assert client.post(f"/users/{target.id}/role", data={"role": "org_recorder"}).status_code == 302
    assert user_by_email(app, target.email).role == "org_recorder"
    misfit = client.post(f"/users/{target.id}/role", data={"role": "regulator_inspector"})
    assert misfit.status_code == 422
    assert "does not fit" in field_error(misfit.get_data(as_text=True), "role")

    assert client.post(f"/users/{target.id}/active", data={"active": "0"}).status_code == 302
    assert user_by_email(app, target.email).active is False
    actions = [a for a, _d, _who in audit_actions(app, target.id)]
    assert actions[-2:] == ["user.role", "user.deactivate"]
    assert all(who == admin.email for _a, _d, who in audit_actions(app, target.id)[1:])

    client.post("/logout")
    refused = login(client, target.email)
    assert refused.status_code == 401


def test_admin_cannot_deactivate_themselves(app, client, make):
    admin = make.user("platform_admin")
    login(client, admin.email)
    page = client.get(f"/users/{admin.id}").get_data(as_text=True)
    assert f"/users/{admin.id}/active" not in page
    response = client.post(f"/users/{admin.id}/active", data={"active": "0"})
    assert response.status_code == 422
    assert user_by_email(app, admin.email).active is True


def test_org_admin_creates_recorders_of_their_own_organisation_only(app, client, make):
    org, other = make.org(), make.org()
    org_admin = make.user("org_admin", org)
    outsider = make.user("org_recorder", other)
    login(client, org_admin.email)
    form = client.get("/users/new").get_data(as_text=True)
    assert 'name="organisation"' not in form and 'name="role"' not in form
    response = client.post(
        "/users/new",
        data={
            "email": "helper@example.cn",
            "password": "long-enough-pw",
            "role": "platform_admin",
            "organisation": other.uscc,
        },
    )
    assert response.status_code == 302
    created = user_by_email(app, "helper@example.cn")
    assert created.role == "org_recorder" and created.organisation_id == org.id

    listing = client.get("/users").get_data(as_text=True)
    assert "helper@example.cn" in listing and outsider.email not in listing
    assert client.get(f"/users/{outsider.id}").status_code == 404
    assert client.post(f"/users/{created.id}/role", data={"role": "org_admin"}).status_code == 403
    assert client.post(f"/users/{created.id}/active", data={"active": "0"}).status_code == 302
    assert user_by_email(app, "helper@example.cn").active is False


def test_recorders_and_regulators_do_not_manage_users(client, make):
    org = make.org()
    for user in (make.user("org_recorder", org), make.user("regulator_supervisor")):
        login(client, user.email)
        assert client.get("/users").status_code == 403
        assert client.get("/users/new").status_code == 403
        refused = client.post(
            "/users/new", data={"email": "y@example.cn", "password": "long-enough-pw"}
        )
        assert refused.status_code == 403
        client.post("/logout")

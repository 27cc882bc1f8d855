"""Organisation pages: the directory, registration, status changes, and who sees what."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from support import login as sign_in
from support import make_uscc

from verifier.audit.models import AuditEntry
from verifier.db import get_session
from verifier.orgs.models import Organisation


def login(client, email):
    """Sign in and read the pages in English, so the assertions hold once translations exist."""
    response = sign_in(client, email)
    client.set_cookie("lang", "en")
    return response


def organisations(app) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(Organisation))


def field_error(html: str, field_id: str) -> str:
    found = re.search(rf'id="{field_id}-error"[^>]*>(.*?)</p>', html, re.S)
    assert found, f"no error shown for {field_id}"
    return found.group(1)


def org_form(**changes):
    data = {
        "name": "南川区青年志愿者协会",
        "uscc": make_uscc(9001),
        "org_type": "volunteer_org",
        "region_code": "500119",
        "responsible_person": "周负责",
        "contact_name": "吴经办",
        "contact_phone": "023-71420000",
        "address": "重庆市南川区东城街道1号",
    }
    data.update(changes)
    return data


def test_platform_admin_registers_an_organisation(app, client, make):
    admin = make.user("platform_admin")
    login(client, admin.email)
    assert client.get("/orgs/new").status_code == 200
    response = client.post("/orgs/new", data=org_form())
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "南川区青年志愿者协会" in page and make_uscc(9001) in page
    assert "周负责" in page and "023-71420000" in page and "重庆市南川区东城街道1号" in page
    with app.app_context():
        actions = get_session().scalars(select(AuditEntry.action)).all()
    assert "organisation.create" in actions


def test_a_wrong_uscc_is_shown_by_its_field_and_nothing_is_written(app, client, make):
    admin = make.user("platform_admin")
    login(client, admin.email)
    before = organisations(app)
    wrong = make_uscc(9002)[:-1] + ("0" if make_uscc(9002)[-1] != "0" else "1")
    response = client.post("/orgs/new", data=org_form(uscc=wrong))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "check character is wrong" in field_error(html, "uscc")
    assert 'value="南川区青年志愿者协会"' in html  # the rest is kept
    missing = client.post("/orgs/new", data=org_form(responsible_person=""))
    assert missing.status_code == 422
    assert "required" in field_error(missing.get_data(as_text=True), "responsible_person")
    assert organisations(app) == before


def test_a_registered_uscc_is_refused_next_to_the_field(app, client, make):
    existing = make.org()
    admin = make.user("platform_admin")
    login(client, admin.email)
    response = client.post("/orgs/new", data=org_form(uscc=existing.uscc))
    assert response.status_code == 409
    assert "already registered" in field_error(response.get_data(as_text=True), "uscc")


def test_directory_search_and_pagination(client, make):
    for n in range(30):
        make.org(name=f"机构{n:02d}")
    target = make.org(name="特别的社区服务中心")
    admin = make.user("platform_admin")
    login(client, admin.email)
    first = client.get("/orgs").get_data(as_text=True)
    assert "机构00" in first and "?page=2" in first
    second = client.get("/orgs?page=2").get_data(as_text=True)
    assert "机构29" in second and "机构00" not in second
    found = client.get("/orgs?q=特别").get_data(as_text=True)
    assert "特别的社区服务中心" in found and "机构00" not in found
    by_code = client.get(f"/orgs?q={target.uscc}").get_data(as_text=True)
    assert "特别的社区服务中心" in by_code


def test_status_change_needs_a_reason_and_is_audited(app, client, make):
    org = make.org()
    admin = make.user("platform_admin")
    login(client, admin.email)
    page = client.get(f"/orgs/{org.id}").get_data(as_text=True)
    assert f'action="/orgs/{org.id}/status' in page
    refused = client.post(f"/orgs/{org.id}/status", data={"status": "suspended", "reason": ""})
    assert refused.status_code == 422
    assert "required" in field_error(refused.get_data(as_text=True), "reason")
    response = client.post(
        f"/orgs/{org.id}/status", data={"status": "suspended", "reason": "抽查发现问题，暂停"}
    )
    assert response.status_code == 302
    page = client.get(f"/orgs/{org.id}").get_data(as_text=True)
    assert "Suspended" in page and "not active" in page
    with app.app_context():
        session = get_session()
        assert session.get(Organisation, org.id).status == "suspended"
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "organisation.status")
        ).one()
    assert "抽查发现问题" in entry.details


def test_a_suspended_organisation_cannot_register_volunteers_and_is_told_why(app, client, make):
    org = make.org()
    recorder = make.user("org_recorder", org)
    admin = make.user("platform_admin")
    login(client, admin.email)
    client.post(f"/orgs/{org.id}/status", data={"status": "suspended", "reason": "整改"})
    client.post("/logout")
    login(client, recorder.email)
    from support import make_resident_id

    response = client.post(
        "/volunteers/new",
        data={"name": "某人", "id_type": "resident_id", "id_number": make_resident_id(61)},
    )
    assert response.status_code == 403
    assert "suspended" in response.get_data(as_text=True)


def test_regulators_read_every_organisation_but_change_nothing(app, client, make):
    org = make.org()
    volunteer = make.volunteer(org)
    record = make.record(org, volunteer)
    inspector = make.user("regulator_inspector")
    login(client, inspector.email)
    listing = client.get("/orgs").get_data(as_text=True)
    assert org.name in listing and "/orgs/new" not in listing
    page = client.get(f"/orgs/{org.id}").get_data(as_text=True)
    assert org.name in page and f"/records/{record.id}" in page
    assert "/status" not in page
    assert client.get("/orgs/new").status_code == 403
    assert client.post("/orgs/new", data=org_form()).status_code == 403
    refused = client.post(f"/orgs/{org.id}/status", data={"status": "suspended", "reason": "x"})
    assert refused.status_code == 403
    with app.app_context():
        assert get_session().get(Organisation, org.id).status == "active"


def test_org_users_see_only_their_own_organisation(client, make):
    mine, other = make.org(), make.org()
    user = make.user("org_recorder", mine)
    login(client, user.email)
    response = client.get("/orgs")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/orgs/{mine.id}")
    page = client.get(f"/orgs/{mine.id}").get_data(as_text=True)
    assert mine.name in page and "/status" not in page
    assert client.get(f"/orgs/{other.id}").status_code == 404
    assert client.get("/orgs/new").status_code == 403
    assert client.get("/orgs/999999").status_code == 404

"""Volunteer pages as a user sees them: registration, search, pagination, the volunteer's page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from support import login as sign_in
from support import make_resident_id

from verifier.db import get_session
from verifier.volunteers.models import Membership, Volunteer


def login(client, email):
    """Sign in and read the pages in English, so the assertions hold once translations exist."""
    response = sign_in(client, email)
    client.set_cookie("lang", "en")
    return response


def volunteers(app) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(Volunteer))


def field_error(html: str, field_id: str) -> str:
    found = re.search(rf'id="{field_id}-error"[^>]*>(.*?)</p>', html, re.S)
    assert found, f"no error shown for {field_id}"
    return found.group(1)


@pytest.fixture
def org(make):
    return make.org()


@pytest.fixture
def recorder(make, org):
    return make.user("org_recorder", org)


def test_register_a_volunteer_through_the_form(app, client, org, recorder):
    number = make_resident_id(31)
    login(client, recorder.email)
    form = client.get("/volunteers/new")
    assert form.status_code == 200
    assert 'name="id_type"' in form.get_data(as_text=True)
    response = client.post(
        "/volunteers/new",
        data={
            "name": "陈晓",
            "id_type": "resident_id",
            "id_number": number,
            "phone": "138 1234 5678",
        },
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        volunteer = get_session().scalars(select(Volunteer)).one()
        assert get_session().get(Membership, (org.id, volunteer.id)) is not None
    assert "陈晓" in page and volunteer.volunteer_number in page
    assert volunteer.id_masked in page and number not in page
    assert "138****5678" in page and "13812345678" not in page
    assert "1990-03-07" in page  # birth date from the ID number


def test_a_bad_id_number_is_shown_by_its_field_and_nothing_is_written(app, client, recorder):
    login(client, recorder.email)
    bad = make_resident_id(32)[:-1] + ("0" if make_resident_id(32)[-1] != "0" else "1")
    response = client.post(
        "/volunteers/new", data={"name": "陈晓", "id_type": "resident_id", "id_number": bad}
    )
    assert response.status_code == 422
    assert "checksum" in field_error(response.get_data(as_text=True), "id_number")
    assert volunteers(app) == 0


def test_a_child_under_14_needs_a_guardians_consent(app, client, recorder):
    login(client, recorder.email)
    child = make_resident_id(33, birth="20200101")
    data = {"name": "小明", "id_type": "resident_id", "id_number": child, "guardian_name": "王芳"}
    refused = client.post("/volunteers/new", data=data)
    assert refused.status_code == 422
    assert "under 14" in field_error(refused.get_data(as_text=True), "guardian_consent")
    assert volunteers(app) == 0
    accepted = client.post("/volunteers/new", data={**data, "guardian_consent": "y"})
    assert accepted.status_code == 302
    page = client.get(accepted.headers["Location"]).get_data(as_text=True)
    assert "王芳" in page and "consent recorded" in page


def test_someone_already_registered_elsewhere_is_linked(app, client, make, org, recorder):
    other = make.org()
    number = make_resident_id(34)
    known = make.volunteer(other, name="李雷", id_number=number)
    login(client, recorder.email)
    response = client.post(
        "/volunteers/new", data={"name": "李雷", "id_type": "resident_id", "id_number": number}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/volunteers/{known.id}")
    assert volunteers(app) == 1
    wrong_name = client.post(
        "/volunteers/new", data={"name": "李", "id_type": "resident_id", "id_number": number}
    )
    assert wrong_name.status_code == 409
    assert "different name" in wrong_name.get_data(as_text=True)


def test_search_by_name_number_and_full_id_number_never_echoes_the_id(client, make, org, recorder):
    number = make_resident_id(35)
    wanted = make.volunteer(org, name="欧阳娜娜", id_number=number)
    make.volunteer(org, name="张三")
    login(client, recorder.email)

    by_name = client.get("/volunteers?q=欧阳").get_data(as_text=True)
    assert "欧阳娜娜" in by_name and "张三" not in by_name
    by_number = client.post("/volunteers", data={"q": wanted.volunteer_number}).get_data(
        as_text=True
    )
    assert "欧阳娜娜" in by_number and "张三" not in by_number

    by_id = client.post("/volunteers", data={"q": number})
    assert by_id.status_code == 200
    html = by_id.get_data(as_text=True)
    assert "欧阳娜娜" in html and "张三" not in html
    assert number not in html and number[:14] not in html
    assert "match the ID number you entered" in html
    # a mistyped ID number is not echoed either
    typo = client.post("/volunteers", data={"q": number[:-2] + "00"}).get_data(as_text=True)
    assert number[:-2] not in typo


def test_pagination(client, make, org, recorder):
    for n in range(30):
        make.volunteer(org, name=f"队员{n:02d}")
    login(client, recorder.email)
    first = client.get("/volunteers").get_data(as_text=True)
    assert "30 volunteers" in first
    assert first.count("/volunteers/") >= 25 and "队员29" in first and "队员04" not in first
    assert 'href="/volunteers?page=2"' in first
    second = client.get("/volunteers?page=2").get_data(as_text=True)
    assert "队员04" in second and "队员29" not in second and "?page=1" in second
    named = client.get("/volunteers?q=队员&page=2").get_data(as_text=True)
    assert "队员00" in named and "q=" in named


def test_the_full_id_number_appears_in_no_page(client, make, org, recorder):
    number = make_resident_id(36)
    volunteer = make.volunteer(org, id_number=number)
    record = make.record(org, volunteer, actor=recorder)
    login(client, recorder.email)
    for url in (
        "/dashboard",
        "/volunteers",
        f"/volunteers/{volunteer.id}",
        f"/records/{record.id}",
        f"/records/{record.id}/history",
        f"/records/{record.id}/correct",
        "/records",
        f"/orgs/{org.id}",
    ):
        html = client.get(url).get_data(as_text=True)
        assert number not in html, url
        assert number[6:14] + number[14:17] not in html, url


def test_another_organisations_volunteer_is_not_found(client, make, org):
    other = make.org()
    stranger = make.volunteer(other)
    user = make.user("org_admin", org)
    login(client, user.email)
    assert client.get(f"/volunteers/{stranger.id}").status_code == 404
    assert client.get(f"/volunteers/{stranger.id}/records/new").status_code == 404
    assert stranger.volunteer_number not in client.get("/volunteers").get_data(as_text=True)


def test_volunteer_page_shows_hours_and_records_with_links(client, make, org, recorder):
    volunteer = make.volunteer(org)
    first = make.record(org, volunteer, minutes=90)
    from support import days_ago

    second = make.record(org, volunteer, started_at=days_ago(12), minutes=45)
    login(client, recorder.email)
    html = client.get(f"/volunteers/{volunteer.id}").get_data(as_text=True)
    assert "2.25" in html  # 135 minutes
    assert f'href="/records/{first.id}"' in html and f'href="/records/{second.id}"' in html
    assert f'href="/volunteers/{volunteer.id}/records/new"' in html


def test_regulators_see_every_volunteer_but_no_forms(app, client, make, org):
    other = make.org()
    mine, theirs = make.volunteer(org), make.volunteer(other)
    make.record(other, theirs)
    inspector = make.user("regulator_supervisor")
    login(client, inspector.email)
    listing = client.get("/volunteers").get_data(as_text=True)
    assert mine.volunteer_number in listing and theirs.volunteer_number in listing
    assert "/volunteers/new" not in listing
    page = client.get(f"/volunteers/{theirs.id}").get_data(as_text=True)
    assert "3.00" in page and "/records/new" not in page
    assert client.get("/volunteers/new").status_code == 403
    refused = client.post(
        "/volunteers/new",
        data={"name": "某人", "id_type": "resident_id", "id_number": make_resident_id(37)},
    )
    assert refused.status_code == 403
    assert volunteers(app) == 2


def test_platform_admins_do_not_browse_volunteers(client, make):
    admin = make.user("platform_admin")
    login(client, admin.email)
    assert client.get("/volunteers").status_code == 403

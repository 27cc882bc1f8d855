"""Certificate pages: list and search, issue one or many, the certificate itself, status changes."""

import re

import pytest
from sqlalchemy import func, select
from support import days_ago, login

from verifier.certificates.models import Certificate
from verifier.certificates.qr import decode_qr
from verifier.certificates.services import number_display
from verifier.db import get_session

FULL_ID = "11010119900307002X"


@pytest.fixture
def world(make):
    org = make.org(name="南川区青年志愿者协会")
    admin = make.user("org_admin", org)
    recorder = make.user("org_recorder", org)
    volunteer = make.volunteer(org, name="张三", id_number=FULL_ID)
    records = [
        make.record(org, volunteer, actor=admin, started_at=days_ago(d)) for d in (30, 20, 10)
    ]
    return {
        "org": org,
        "admin": admin,
        "recorder": recorder,
        "volunteer": volunteer,
        "records": records,
        "other_admin": make.user("org_admin", make.org()),
        "regulator": make.user("regulator_supervisor"),
    }


def _signin(client, email):
    login(client, email)
    client.set_cookie("lang", "en")  # assertions below read the English text


def _issue(client, world, **form):
    response = client.post(
        f"/certificates/new?volunteer_id={world['volunteer'].id}", data=form, follow_redirects=False
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def _count(app):
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(Certificate))


def test_issue_one_by_ticking_records(app, client, world):
    _signin(client, world["recorder"].email)
    chooser = client.get("/certificates/new", query_string={"q": "张三"})
    assert chooser.status_code == 200
    assert f"/certificates/new?volunteer_id={world['volunteer'].id}" in chooser.get_data(
        as_text=True
    )
    form = client.get(f"/certificates/new?volunteer_id={world['volunteer'].id}")
    text = form.get_data(as_text=True)
    assert form.status_code == 200 and 'name="record_ids"' in text
    # the handler defaults to the user's real name, never the login e-mail
    assert f'value="{world["recorder"].display_name}"' in text
    assert f'value="{world["recorder"].email}"' not in text
    records = world["records"]
    number = _issue(client, world, record_ids=[records[0].id, records[2].id], handler="刘经办")
    page = client.get(f"/certificates/{number}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for expected in (
        "志愿服务记录证明",
        number,
        "张*",
        "110*************2X",
        "6.00 小时",
        "刘经办",
        "南川区青年志愿者协会",
        "王负责",
        "统一社会信用代码",
    ):
        assert expected in text, expected
    assert FULL_ID not in text
    qr = client.get(f"/certificates/{number}/qr.png")
    assert qr.mimetype == "image/png" and decode_qr(qr.data)[0].startswith(
        "http://verifier.test/v/"
    )
    pdf = client.get(f"/certificates/{number}/certificate.pdf")
    assert pdf.mimetype == "application/pdf" and number in pdf.headers["Content-Disposition"]


def test_issue_one_by_period_and_its_errors(app, client, world):
    _signin(client, world["admin"].email)
    url = f"/certificates/new?volunteer_id={world['volunteer'].id}"
    reversed_period = client.post(
        url, data={"period_from": "2026-02-01", "period_to": "2026-01-01"}
    )
    assert reversed_period.status_code == 422
    assert "the period ends before it starts" in reversed_period.get_data(as_text=True)
    bad_date = client.post(url, data={"period_from": "yesterday"})
    assert bad_date.status_code == 422 and "YYYY-MM-DD" in bad_date.get_data(as_text=True)
    assert _count(app) == 0
    number = _issue(client, world, period_from=days_ago(25).date().isoformat())
    assert "6.00" in client.get(f"/certificates/{number}").get_data(as_text=True)


def test_issue_many_for_a_period(app, client, make, world):
    second = make.volunteer(world["org"], name="李四")
    make.record(world["org"], second, actor=world["admin"], started_at=days_ago(5))
    _signin(client, world["admin"].email)
    assert client.get("/certificates/bulk").status_code == 200
    term = {
        "period_from": days_ago(60).date().isoformat(),
        "period_to": days_ago(1).date().isoformat(),
    }
    done = client.post("/certificates/bulk", data=term)
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "Issued 2, skipped 0" in text
    assert _count(app) == 2
    again = client.post("/certificates/bulk", data=term).get_data(as_text=True)
    assert "already holds certificate" in again
    assert client.post("/certificates/bulk", data={"period_from": "x"}).status_code == 422


def test_list_search_filter_and_counts(app, client, make, world):
    _signin(client, world["admin"].email)
    first = _issue(client, world)
    second = _issue(client, world)
    client.post(f"/certificates/{first}/revoke", data={"reason": "错误"})
    client.get(f"/v/{_token(app, second)}")
    client.get(f"/v/{_token(app, second)}")
    listing = client.get("/certificates").get_data(as_text=True)
    assert first in listing and second in listing
    revoked = client.get("/certificates", query_string={"status": "revoked"}).get_data(as_text=True)
    assert first in revoked and second not in revoked
    by_number = client.get("/certificates", query_string={"q": second.lower()}).get_data(
        as_text=True
    )
    assert second in by_number and first not in by_number
    by_name = client.get("/certificates", query_string={"q": "张"}).get_data(as_text=True)
    assert first in by_name and second in by_name
    assert client.get("/certificates", query_string={"q": "王五"}).get_data(as_text=True).count(
        "/certificates/"
    ) < listing.count("/certificates/")
    detail = client.get(f"/certificates/{second}").get_data(as_text=True)
    assert 'data-channel="scan">2<' in detail and "Verified 2 times" in detail


def _token(app, number):
    with app.app_context():
        return (
            get_session()
            .scalars(select(Certificate.token).where(Certificate.number == number.replace("-", "")))
            .one()
        )


def test_status_actions_and_history(app, client, world):
    _signin(client, world["admin"].email)
    number = _issue(client, world)
    assert (
        client.post(f"/certificates/{number}/suspend", data={"reason": "复核中"}).status_code == 302
    )
    assert "复核中" in client.get(f"/certificates/{number}").get_data(as_text=True)
    assert client.post(f"/certificates/{number}/reinstate", data={}).status_code == 302
    refused = client.post(f"/certificates/{number}/reinstate", data={}, follow_redirects=True)
    assert "a valid certificate cannot become valid" in refused.get_data(as_text=True)
    no_reason = client.post(f"/certificates/{number}/suspend", data={"reason": ""})
    assert no_reason.status_code == 422  # the page again, the message at the reason field
    assert re.search(
        r'id="suspend-reason-error" role="alert">[^<]*a reason is required', no_reason.text
    )
    # voiding a covered record supersedes it; re-issue from the page
    record = world["records"][0]
    with app.app_context():
        from verifier.auth.models import User
        from verifier.records.models import ServiceRecord
        from verifier.records.services import void_record

        session = get_session()
        void_record(
            session,
            session.get(ServiceRecord, record.id),
            "重复",
            session.get(User, world["admin"].id),
        )
        session.commit()
    page = client.get(f"/certificates/{number}").get_data(as_text=True)
    assert "/reissue" in page
    reissued = client.post(f"/certificates/{number}/reissue")
    assert reissued.status_code == 302
    new_number = reissued.headers["Location"].rsplit("/", 1)[1]
    assert new_number != number
    old = client.get(f"/certificates/{number}").get_data(as_text=True)
    assert new_number in old and "/reissue" not in old
    assert number in client.get(f"/certificates/{new_number}").get_data(as_text=True)
    history = old[old.index("history") :]
    assert history.count("<li>") >= 4  # issued, suspended, reinstated, superseded
    assert (
        client.post(f"/certificates/{new_number}/revoke", data={"reason": "撤销"}).status_code
        == 302
    )
    assert "撤销" in client.get(f"/certificates/{new_number}").get_data(as_text=True)


def test_regulators_read_only_and_other_organisations_see_nothing(app, client, world):
    _signin(client, world["admin"].email)
    number = _issue(client, world)
    client.post("/logout")
    _signin(client, world["regulator"].email)
    assert number in client.get("/certificates").get_data(as_text=True)
    page = client.get(f"/certificates/{number}")
    assert page.status_code == 200 and "/revoke" not in page.get_data(as_text=True)
    assert client.post(f"/certificates/{number}/revoke", data={"reason": "x"}).status_code == 403
    assert client.get("/certificates/new").status_code == 403
    assert client.get("/certificates/bulk").status_code == 403
    client.post("/logout")
    _signin(client, world["other_admin"].email)
    assert number not in client.get("/certificates").get_data(as_text=True)
    for path in ("", "/qr.png", "/certificate.pdf"):
        assert client.get(f"/certificates/{number}{path}").status_code == 404
    for action in ("revoke", "suspend", "reinstate", "reissue"):
        assert (
            client.post(f"/certificates/{number}/{action}", data={"reason": "x"}).status_code == 404
        )
    url = f"/certificates/new?volunteer_id={world['volunteer'].id}"
    assert client.get(url).status_code == 404
    with app.app_context():
        status = get_session().scalars(select(Certificate.status)).one()
    assert status == "valid"


def test_pages_need_sign_in(client, world):
    for path in (
        "/certificates",
        "/certificates/new",
        "/certificates/bulk",
        "/certificates/0000-0000-0000-0000-0",
    ):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_number_display_in_links(client, world):
    _signin(client, world["admin"].email)
    number = _issue(client, world)
    assert number == number_display(number.replace("-", ""))
    assert client.get(f"/certificates/{number.replace('-', '').lower()}").status_code == 200

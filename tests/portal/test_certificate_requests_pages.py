"""Certificate requests on the pages: the volunteer's phone page, the organisation's queue with
its count in the navigation, the answer forms, and the regulators' list."""

from __future__ import annotations

import json
import re

import pytest
from certreq_helpers import build_world, make_overdue, messages_to, pdf_text, period
from sqlalchemy import event
from support import PASSWORD, csrf_token_from, login, sibling_app

from verifier.portal.certreqs import ANSWERED_KIND

ME = "/me/certificates"


@pytest.fixture
def world(make):
    return build_world(make)


def _signed_in(app, email):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def _ask(client, world, **fields):
    data = {"organisation_uscc": world.org.uscc, **period(), **fields}
    return client.post(ME, data=data)


def _request_id(page_html):
    return int(re.search(r'data-request="(\d+)"', page_html).group(1))


def test_from_request_to_a_downloaded_certificate_on_the_pages(app, make, world):
    volunteer = _signed_in(app, world.user.email)
    page = volunteer.get(ME)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="viewport"' in html and "南川区志愿者协会" in html and "南川区慈善会" in html
    assert "data-number=" not in html

    sent = _ask(volunteer, world)
    assert sent.status_code == 303 and sent.headers["Location"].endswith(ME)
    html = volunteer.get(ME).get_data(as_text=True)
    request_id = _request_id(html)
    assert "status-pending" in html

    # the organisation's navigation counts it; the queue lists it; the detail page answers it
    admin = _signed_in(app, world.admin.email)
    queue = admin.get("/certificate-requests").get_data(as_text=True)
    assert re.search(r'id="certificate-requests-pending"[^>]*>1<', queue)
    assert f'data-request="{request_id}"' in queue and "张三" in queue
    detail = admin.get(f"/certificate-requests/{request_id}")
    assert detail.status_code == 200
    detail_html = detail.get_data(as_text=True)
    assert re.search(r'id="records-in-period">[^<]*\b2\b', detail_html)
    issued = admin.post(f"/certificate-requests/{request_id}/issue", data={"handler": "王经办"})
    assert issued.status_code == 303
    after = admin.get(issued.headers["Location"]).get_data(as_text=True)
    number = re.search(r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3}-[0-9A-Z])</code>", after).group(1)
    assert "certificate-requests-pending" not in after  # nothing left to answer

    # the volunteer's page shows it, with its downloads
    html = volunteer.get(ME).get_data(as_text=True)
    assert f'data-number="{number}"' in html and "status-issued" in html
    pdf_link = re.search(r'href="(/certificates/[^"]+/certificate\.pdf)"', html).group(1)
    credential_link = re.search(r'href="(/certificates/[^"]+/credential\.json)"', html).group(1)
    pdf = volunteer.get(pdf_link)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert number in pdf_text(pdf.data)
    credential = volunteer.get(credential_link)
    assert credential.status_code == 200
    assert "VerifiableCredential" in json.loads(credential.data)["type"]
    assert messages_to(make, world.volunteer.id, ANSWERED_KIND)

    # another volunteer can download neither
    stranger = _signed_in(app, world.stranger_user.email)
    assert stranger.get(pdf_link).status_code == 404
    assert stranger.get(credential_link).status_code == 404
    assert number not in stranger.get(ME).get_data(as_text=True)


def test_the_request_form_shows_each_refusal_at_its_field(app, world):
    volunteer = _signed_in(app, world.user.email)
    page = _ask(volunteer, world, period_from="", period_to="2020-01-01")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert re.search(r'id="period_from-error"', html)
    page = _ask(volunteer, world, **period(5, 10))
    assert page.status_code == 422
    assert 'id="period_to-error"' in page.get_data(as_text=True)
    other = world.make.org(name="无关的协会")
    page = _ask(volunteer, world, organisation_uscc=other.uscc)
    assert page.status_code == 422 and 'id="organisation_uscc-error"' in page.get_data(as_text=True)
    assert _ask(volunteer, world).status_code == 303
    again = _ask(volunteer, world)
    assert again.status_code == 409 and 'id="period_from-error"' in again.get_data(as_text=True)


def test_refusing_on_the_page(app, make, world):
    volunteer = _signed_in(app, world.user.email)
    _ask(volunteer, world)
    request_id = _request_id(volunteer.get(ME).get_data(as_text=True))
    recorder = _signed_in(app, world.recorder.email)
    empty = recorder.post(f"/certificate-requests/{request_id}/refuse", data={"reason": ""})
    assert empty.status_code == 422 and 'id="refuse-reason-error"' in empty.get_data(as_text=True)
    done = recorder.post(
        f"/certificate-requests/{request_id}/refuse", data={"reason": "该期间没有服务记录"}
    )
    assert done.status_code == 303
    answered = recorder.get(done.headers["Location"]).get_data(as_text=True)
    assert "status-refused" in answered and "该期间没有服务记录" in answered
    assert 'action="/certificate-requests/' not in answered  # no forms once answered
    html = volunteer.get(ME).get_data(as_text=True)
    assert "status-refused" in html and "该期间没有服务记录" in html
    again = recorder.post(f"/certificate-requests/{request_id}/issue", data={})
    assert again.status_code == 409


def test_issuing_without_records_shows_the_rule_on_the_page(app, world):
    volunteer = _signed_in(app, world.user.email)
    _ask(volunteer, world, **period(10, 0))
    request_id = _request_id(volunteer.get(ME).get_data(as_text=True))
    admin = _signed_in(app, world.admin.email)
    detail = admin.get(f"/certificate-requests/{request_id}").get_data(as_text=True)
    assert "flash warning" in detail
    refused = admin.post(f"/certificate-requests/{request_id}/issue", data={})
    assert refused.status_code == 422
    assert 'class="flash error"' in refused.get_data(as_text=True)


def test_pages_are_closed_to_other_volunteers_and_organisations(app, world):
    volunteer = _signed_in(app, world.user.email)
    _ask(volunteer, world)
    request_id = _request_id(volunteer.get(ME).get_data(as_text=True))
    other = _signed_in(app, world.other_admin.email)
    assert other.get(f"/certificate-requests/{request_id}").status_code == 404
    assert (
        other.post(f"/certificate-requests/{request_id}/refuse", data={"reason": "x"}).status_code
        == 404
    )
    assert f'data-request="{request_id}"' not in other.get("/certificate-requests").get_data(
        as_text=True
    )
    assert "certificate-requests-pending" not in other.get("/certificate-requests").get_data(
        as_text=True
    )
    stranger = _signed_in(app, world.stranger_user.email)
    assert stranger.get(f"/certificate-requests/{request_id}").status_code == 403
    assert f'data-request="{request_id}"' not in stranger.get(ME).get_data(as_text=True)
    admin = _signed_in(app, world.admin.email)
    assert admin.get(ME).status_code == 403


def test_the_navigation_count_is_read_once_per_page(app, world):
    volunteer = _signed_in(app, world.user.email)
    _ask(volunteer, world, **period(60, 30))
    _ask(volunteer, world, **period(20, 0))
    admin = _signed_in(app, world.admin.email)
    engine = app.extensions["verifier.db"].engine
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "certificate_requests" in statement and "count(" in statement.lower():
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        page = admin.get("/certificates")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert re.search(r'id="certificate-requests-pending"[^>]*>2<', page.get_data(as_text=True))
    assert len(seen) == 1
    # regulators' and volunteers' navigations have no such count
    supervisor = _signed_in(app, world.supervisor.email)
    assert "certificate-requests-pending" not in supervisor.get("/certificates").get_data(
        as_text=True
    )


def test_regulators_see_overdue_and_refused_requests(app, make, world):
    volunteer = _signed_in(app, world.user.email)
    _ask(volunteer, world, **period(60, 30))
    late = _request_id(volunteer.get(ME).get_data(as_text=True))
    _ask(volunteer, world, organisation_uscc=world.other.uscc)
    refused = _request_id(volunteer.get(ME).get_data(as_text=True))
    other = _signed_in(app, world.other_admin.email)
    other.post(f"/certificate-requests/{refused}/refuse", data={"reason": "不予出具"})
    make_overdue(make, late)

    supervisor = _signed_in(app, world.supervisor.email)
    dashboard = supervisor.get("/regulator").get_data(as_text=True)
    section = dashboard[dashboard.index('id="certificate-requests"') :]
    assert 'href="/certificate-requests/overdue"' in section
    assert re.search(
        r'class="n">1</span><span>[^<]+</span></div>\s*<div class="stat"><span class="n">1<',
        section,
    )
    page = supervisor.get("/certificate-requests/overdue")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert (
        f'data-organisation="{world.org.id}"' in html
        and f'data-organisation="{world.other.id}"' in html
    )
    overdue = html[html.index('id="overdue"') : html.index('id="refused"')]
    assert f'data-request="{late}"' in overdue and f'data-request="{refused}"' not in overdue
    assert "不予出具" in html[html.index('id="refused"') :]
    queue = supervisor.get(f"/certificate-requests?overdue=1&organisation_id={world.org.id}")
    queue_html = queue.get_data(as_text=True)
    assert f'data-request="{late}" class="overdue"' in queue_html
    assert supervisor.get(f"/certificate-requests/{late}").status_code == 200
    # the organisation sees its own overdue request marked
    admin = _signed_in(app, world.admin.email)
    assert f'data-request="{late}" class="overdue"' in admin.get("/certificate-requests").get_data(
        as_text=True
    )
    assert admin.get("/certificate-requests/overdue").status_code == 403


def test_the_request_form_needs_its_csrf_token(app, world):
    with sibling_app(app, TESTING_CSRF=True) as protected:
        volunteer = protected.test_client()
        token = csrf_token_from(volunteer.get("/login").get_data(as_text=True))
        signed_in = volunteer.post(
            "/login", data={"email": world.user.email, "password": PASSWORD, "csrf_token": token}
        )
        assert signed_in.status_code == 302
        assert _ask(volunteer, world).status_code == 400
        token = csrf_token_from(volunteer.get(ME).get_data(as_text=True))
        assert _ask(volunteer, world, csrf_token=token).status_code == 303

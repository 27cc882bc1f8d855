"""The holder's page: choose what to show, get a QR code (read back with zxing-cpp) and a link
that the public verification page opens showing only that; the same through the API."""

from __future__ import annotations

import base64
import re

import pytest
from support import bearer, days_ago, login

from verifier.certificates.qr import decode_qr, measure_qr
from verifier.certificates.services import number_display

NAME = "赵小燕"


@pytest.fixture
def holder(app, make):
    org = make.org(name="南川区志愿者协会")
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, name=NAME)
    activities = ["社区敬老服务", "图书馆整理", "交通文明劝导"]
    records = [
        make.record(org, volunteer, actor=admin, started_at=days_ago(30 - i), activity=a)
        for i, a in enumerate(activities)
    ]
    cert = make.certificate(org, admin, volunteer, records)
    user = make.volunteer_user(volunteer)
    return {"org": org, "cert": cert, "user": user, "make": make}


def _share_url(cert):
    return f"/me/certificates/{number_display(cert.number)}/share"


def _qr_from(html):
    data = re.search(r'src="data:image/png;base64,([^"]+)"[^>]*id="presentation-qr"', html)
    assert data, "no QR code on the page"
    return base64.b64decode(data.group(1))


def test_choose_then_scan_shows_only_the_choice(app, client, holder):
    cert = holder["cert"]
    assert login(client, holder["user"].email).status_code == 302
    page = client.get(_share_url(cert))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    keys = re.findall(r'name="show" value="([^"]+)"', html)
    assert keys == ["name", "id_type", "vno", "activity-0", "activity-1", "activity-2"]
    assert NAME in html  # the holder sees their own name to choose it
    assert 'id="presentation-qr"' not in html  # nothing made before they choose

    activity_index = re.search(r'value="(activity-\d)">\s*[^<]*图书馆整理', html).group(1)
    made = client.get(_share_url(cert), query_string={"make": "1", "show": [activity_index]})
    assert made.status_code == 200
    html = made.get_data(as_text=True)
    (url,) = decode_qr(_qr_from(html))  # the real decoder reads the PNG the page shows
    assert url.startswith("http") and "/v/" in url and url.endswith("~")
    assert f'href="{url}"' in html  # the link is the same as the QR code
    assert measure_qr(url).version <= 30

    scanned = app.test_client().get(url[url.index("/v/") :])  # anyone, not signed in
    assert scanned.status_code == 200
    seen = scanned.get_data(as_text=True)
    assert "图书馆整理" in seen and "社区敬老服务" not in seen and "交通文明劝导" not in seen
    assert NAME not in seen and "赵*" not in seen
    assert cert.volunteer_number not in seen
    assert number_display(cert.number) in seen


def test_an_unknown_choice_is_refused_by_name(client, holder):
    assert login(client, holder["user"].email).status_code == 302
    response = client.get(
        _share_url(holder["cert"]), query_string={"make": "1", "show": ["id_number"]}
    )
    assert response.status_code == 422
    assert "id_number" in response.get_data(as_text=True)


def test_only_the_holder_reaches_the_page(app, client, make, holder):
    other = make.volunteer_user(make.volunteer(holder["org"]))
    assert login(client, other.email).status_code == 302
    assert client.get(_share_url(holder["cert"])).status_code == 404
    anonymous = app.test_client().get(_share_url(holder["cert"]))
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    admin = app.test_client()
    assert login(admin, make.user("org_admin", holder["org"]).email).status_code == 302
    assert admin.get(_share_url(holder["cert"])).status_code == 403


def test_the_holder_lists_a_link_to_the_page(client, holder):
    assert login(client, holder["user"].email).status_code == 302
    html = client.get("/me/certificates").get_data(as_text=True)
    assert _share_url(holder["cert"]) in html


def test_presentation_api(client, holder):
    make, cert = holder["make"], holder["cert"]
    auth = {**bearer(make.token(holder["user"])), "Accept-Language": "en"}
    url = f"/api/v1/me/certificates/{cert.number}/presentations"
    response = client.post(url, json={"disclose": ["name", "id_type"]}, headers=auth)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["url"].endswith("/v/" + body["presentation"])
    assert body["link_fits"] is True and body["qr_version"] <= 30
    verdict = client.post("/api/v1/verifications", json={"token": body["presentation"]})
    shown = verdict.get_json()["certificate"]
    assert shown["volunteer_name"] == NAME and shown["activities"] == []
    assert shown["activities_withheld"] == 3

    refused = client.post(url, json={"disclose": ["id_number"]}, headers=auth)
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "disclose"
    assert client.post(url, json={"disclose": "name"}, headers=auth).status_code == 422
    stranger = make.volunteer_user(make.volunteer(holder["org"]))
    other = client.post(url, json={"disclose": []}, headers=bearer(make.token(stranger)))
    assert other.status_code == 404
    org_admin = make.user("org_admin", holder["org"])
    assert (
        client.post(url, json={"disclose": []}, headers=bearer(make.token(org_admin))).status_code
        == 403
    )

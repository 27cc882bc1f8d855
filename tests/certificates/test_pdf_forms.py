"""The certificate as a document: who gets which form, what each prints, and what is refused.

The holder's copy (full name, ID number masked in the middle) goes to the issuing organisation and
the volunteer; everyone else gets the public form (masked name). Issuance refuses, before anything
is stored, text the certificate's font cannot draw and a handler without a real name.
"""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from support import bearer, days_ago, login

from verifier.audit.models import AuditEntry
from verifier.certificates.models import Certificate
from verifier.db import get_session

FULL_ID = "11010119900307002X"
HOLDER_ID = "110101********002X"
PUBLIC_ID = "110*************2X"


@pytest.fixture
def world(make):
    org = make.org(name="南川区青年志愿者协会", responsible_person="王负责")
    admin = make.user("org_admin", org, display_name="刘经办")
    volunteer = make.volunteer(org, name="李四", id_number=FULL_ID)
    records = [
        make.record(
            org,
            volunteer,
            actor=admin,
            started_at=days_ago(30, hour=9),
            activity="社区敬老服务",
            place="东城街道敬老院",
            content="陪伴老人聊天",
        ),
        make.record(
            org,
            volunteer,
            actor=admin,
            started_at=days_ago(20, hour=9),
            activity="图书馆整理",
            place="南川区图书馆",
            content="",
        ),
    ]
    cert = make.certificate(org, admin, volunteer, records)
    account = make.volunteer_user(volunteer)
    other_org = make.org()
    return {
        "org": org,
        "admin": admin,
        "volunteer": volunteer,
        "records": records,
        "number": cert.number,
        "account": account,
        "auth": bearer(make.token(admin)),
        "recorder_auth": bearer(make.token(make.user("org_recorder", org))),
        "regulator": make.user("regulator_inspector"),
        "regulator_auth": bearer(make.token(make.user("regulator_supervisor"))),
        "platform_auth": bearer(make.token(make.user("platform_admin"))),
        "other_auth": bearer(make.token(make.user("org_admin", other_org))),
    }


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def api_pdf(client, world, auth, query=""):
    return client.get(
        f"/api/v1/certificates/{world['number']}/certificate.pdf{query}", headers=auth
    )


def assert_holder_copy(text: str) -> None:
    assert "持证人联" in text
    assert "李四" in text and "李*" not in text
    assert HOLDER_ID in text and FULL_ID not in text


def assert_public_form(text: str) -> None:
    assert "公开版" in text and "持证人联" not in text
    assert "李*" in text and "李四" not in text
    assert PUBLIC_ID in text and HOLDER_ID not in text and FULL_ID not in text


def test_the_issuing_organisation_gets_the_holder_copy(client, world):
    for auth in (world["auth"], world["recorder_auth"]):
        response = api_pdf(client, world, auth)
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.headers["Cache-Control"] == "private, no-store"
        assert_holder_copy(text_of(response.data))


def test_the_holder_copy_prints_records_people_and_the_seal_box(client, world):
    text = text_of(api_pdf(client, world, world["auth"]).data)
    for expected in (
        # one line per record: date, place, content, hours
        days_ago(30).date().isoformat(),
        "东城街道敬老院",
        "社区敬老服务：陪伴老人聊天",
        days_ago(20).date().isoformat(),
        "南川区图书馆",
        "图书馆整理",
        # the person in charge and the handler by their real names
        "王负责",
        "刘经办",
        "居民身份证",
        "盖章处",
        "负责人签字",
        "经办人签字",
    ):
        assert expected in text, expected
    assert world["admin"].email not in text


def test_the_organisation_may_ask_for_the_public_form(client, world):
    response = api_pdf(client, world, world["auth"], "?form=public")
    assert response.status_code == 200
    assert "-public" in response.headers["Content-Disposition"]
    assert_public_form(text_of(response.data))


def test_the_volunteer_downloads_their_holder_copy_from_their_portal(client, world):
    assert login(client, world["account"].email).status_code == 302
    page = client.get(f"/certificates/{world['number']}/certificate.pdf")
    assert page.status_code == 200
    assert_holder_copy(text_of(page.data))


@pytest.mark.parametrize("who", ["regulator_auth", "platform_auth"])
def test_others_get_the_public_form_and_never_the_holder_copy(client, world, who):
    response = api_pdf(client, world, world[who])
    assert response.status_code == 200
    assert_public_form(text_of(response.data))
    refused = api_pdf(client, world, world[who], "?form=holder")
    assert refused.status_code == 403
    assert "form=public" in refused.get_json()["detail"]  # what to ask for instead


def test_the_regulator_page_route_gives_the_public_form(client, world):
    login(client, world["regulator"].email)
    page = client.get(f"/certificates/{world['number']}/certificate.pdf")
    assert page.status_code == 200
    assert_public_form(text_of(page.data))
    assert (
        client.get(f"/certificates/{world['number']}/certificate.pdf?form=holder").status_code
        == 403
    )


def test_another_organisation_gets_nothing(client, world):
    assert api_pdf(client, world, world["other_auth"]).status_code == 404


def test_no_pdf_without_signing_in(client, world):
    assert client.get(f"/api/v1/certificates/{world['number']}/certificate.pdf").status_code == 401


@pytest.mark.parametrize("form", ["holder", "public"])
def test_english_on_request(client, world, form):
    response = api_pdf(client, world, world["auth"], f"?lang=en&form={form}")
    assert response.status_code == 200
    assert "-en" in response.headers["Content-Disposition"]
    text = text_of(response.data)
    for expected in (
        "Certificate of Volunteer Service",
        "Resident Identity Card",
        "Person in charge",
        "Signature of the handler",
        "Seal",
        "东城街道敬老院",
    ):
        assert expected in text, expected
    assert ("李四" in text) == (form == "holder")
    assert ("李*" in text) == (form == "public")


@pytest.mark.parametrize(("query", "field"), [("?lang=fr", "lang"), ("?form=full", "form")])
def test_an_unknown_language_or_form_is_refused(client, world, query, field):
    response = api_pdf(client, world, world["auth"], query)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == field


def test_the_page_route_refuses_an_unknown_language(client, world):
    login(client, world["admin"].email)
    response = client.get(f"/certificates/{world['number']}/certificate.pdf?lang=fr")
    assert response.status_code == 422
    assert "lang" in response.get_data(as_text=True)


def test_the_pdf_prints_the_records_as_they_read_at_issuance(client, world):
    record = world["records"][0]
    corrected = client.post(
        f"/api/v1/records/{record.id}/corrections",
        json={"reason": "地点写错", "place": "西城街道养老院"},
        headers=world["auth"],
    )
    assert corrected.status_code in (200, 201), corrected.get_json()
    text = text_of(api_pdf(client, world, world["auth"]).data)
    assert "东城街道敬老院" in text and "西城街道养老院" not in text


def certificates_and_ledger(app) -> tuple[int, int]:
    with app.app_context():
        session = get_session()
        return (
            session.scalar(select(func.count()).select_from(Certificate)),
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "certificate.issue")
            ),
        )


def issue(client, auth, volunteer_id, **body):
    return client.post(
        "/api/v1/certificates", json={"volunteer_id": volunteer_id, **body}, headers=auth
    )


@pytest.mark.parametrize(
    ("name", "char", "code"), [("刘䶮", "䶮", "U+4DAE"), ("𠮷祥", "𠮷", "U+20BB7")]
)
def test_a_name_the_font_cannot_print_is_refused_before_anything_is_stored(
    app, client, make, world, name, char, code
):
    volunteer = make.volunteer(world["org"], name=name)
    make.record(world["org"], volunteer, actor=world["admin"])
    before = certificates_and_ledger(app)
    response = issue(client, world["auth"], volunteer.id)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["errors"][0]["rule"] == "unprintable_character"
    assert char in problem["detail"] and code in problem["detail"]
    assert certificates_and_ledger(app) == before


def test_a_record_line_the_font_cannot_print_is_refused(app, client, make, world):
    volunteer = make.volunteer(world["org"], name="赵六")
    record = make.record(world["org"], volunteer, actor=world["admin"], place="𠮷祥村")
    before = certificates_and_ledger(app)
    response = issue(client, world["auth"], volunteer.id)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["errors"][0]["field"] == "record_ids"
    assert str(record.id) in problem["detail"] and "“𠮷” (U+20BB7)" in problem["detail"]
    assert certificates_and_ledger(app) == before


def test_an_unprintable_handler_or_organisation_is_refused(app, client, make, world):
    before = certificates_and_ledger(app)
    response = issue(client, world["auth"], world["volunteer"].id, handler="刘䶮")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "handler"
    assert "U+4DAE" in response.get_json()["detail"]
    org = make.org(responsible_person="𠮷负责")
    admin = make.user("org_admin", org, display_name="经办")
    volunteer = make.volunteer(org)
    make.record(org, volunteer, actor=admin)
    response = issue(client, bearer(make.token(admin)), volunteer.id)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "responsible_person"
    assert certificates_and_ledger(app) == before


def test_the_issuance_page_shows_the_refusal(app, client, make, world):
    volunteer = make.volunteer(world["org"], name="刘䶮")
    make.record(world["org"], volunteer, actor=world["admin"])
    login(client, world["admin"].email)
    client.set_cookie("lang", "en")
    response = client.post(f"/certificates/new?volunteer_id={volunteer.id}", data={})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "䶮" in page and "U+4DAE" in page and "cannot print" in page


def test_a_handler_needs_a_real_name(app, client, make, world):
    nameless = make.user("org_admin", world["org"], display_name="")
    auth = bearer(make.token(nameless))
    refused = issue(client, auth, world["volunteer"].id)
    assert refused.status_code == 422
    error = refused.get_json()["errors"][0]
    assert error["field"] == "handler" and error["rule"] == "required"
    assert "经办人" in refused.get_json()["detail"]  # the answer is in Chinese by default
    email = issue(client, auth, world["volunteer"].id, handler=nameless.email)
    assert email.status_code == 422 and email.get_json()["errors"][0]["rule"] == "real_name"
    named = issue(client, auth, world["volunteer"].id, handler="陈经办")
    assert named.status_code == 201 and named.get_json()["handler"] == "陈经办"
    bulk = client.post(
        "/api/v1/certificates/bulk",
        json={
            "period_from": days_ago(60).date().isoformat(),
            "period_to": days_ago(0).date().isoformat(),
        },
        headers=auth,
    )
    assert bulk.status_code == 422 and bulk.get_json()["errors"][0]["field"] == "handler"


def test_bulk_issuance_skips_a_volunteer_whose_name_cannot_be_printed(app, client, make, world):
    org = make.org()
    admin = make.user("org_admin", org, display_name="经办人甲")
    printable = make.volunteer(org, name="周七")
    unprintable = make.volunteer(org, name="刘䶮")
    for volunteer in (printable, unprintable):
        make.record(org, volunteer, actor=admin, started_at=days_ago(5, hour=9))
    response = client.post(
        "/api/v1/certificates/bulk",
        json={
            "period_from": days_ago(10).date().isoformat(),
            "period_to": days_ago(0).date().isoformat(),
        },
        headers=bearer(make.token(admin)),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert [c["volunteer_id"] for c in body["issued"]] == [printable.id]
    (skipped,) = body["skipped"]
    assert skipped["volunteer_id"] == unprintable.id and skipped["reason"] == "unprintable"
    assert "U+4DAE" in skipped["message"]


def test_the_holder_id_is_frozen_at_issuance(app, world):
    with app.app_context():
        cert = (
            get_session()
            .scalars(select(Certificate).where(Certificate.number == world["number"]))
            .one()
        )
        assert cert.holder_id_masked == HOLDER_ID
        assert cert.id_masked == PUBLIC_ID

"""SD-JWT presentations: /v/ and the API verify them like tokens and show only what was disclosed;
tampering gives a clear verdict, never a 500."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select
from support import days_ago
from support.sdjwt import library_claims

from verifier.certificates.lifecycle import set_status
from verifier.certificates.models import Certificate
from verifier.certificates.selective import make_presentation
from verifier.crypto import sdjwt
from verifier.db import get_session

URL = "/api/v1/verifications"
NAME = "王晓明"


@pytest.fixture
def issued(app, make):
    org = make.org(name="南川区青年志愿者协会")
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, name=NAME)
    records = [
        make.record(org, volunteer, actor=admin, started_at=days_ago(20), activity="戒毒所帮教"),
        make.record(org, volunteer, actor=admin, started_at=days_ago(10), activity="图书馆整理"),
    ]
    cert = make.certificate(org, admin, volunteer, records)
    with app.app_context():
        sd_jwt = get_session().scalar(select(Certificate.sd_jwt).where(Certificate.id == cert.id))
    return {"org": org, "admin": admin, "cert": cert, "sd_jwt": sd_jwt, "make": make}


def _verify(client, token):
    response = client.post(URL, json={"token": token})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _activity_key(sd_jwt, activity):
    index = [d.value["activity"] for d in sdjwt.disclosures_of(sd_jwt) if d.name is None]
    return f"activity-{index.index(activity)}"


def test_hours_and_period_only(app, client, issued):
    cert, sd_jwt = issued["cert"], issued["sd_jwt"]
    with app.test_request_context():
        presentation = make_presentation(sd_jwt, [])
    assert presentation.count("~") == 1  # the issuer-signed JWT and no disclosure
    verdict = _verify(client, presentation)
    assert verdict["status"] == "valid"
    assert all(c["ok"] for c in verdict["checks"])
    shown = verdict["certificate"]
    assert shown["presentation"] is True
    assert shown["hours"] == "6.00" and shown["period_from"] and shown["period_to"]
    assert shown["issuer_uscc"] == issued["org"].uscc
    for absent in ("volunteer_name", "id_type", "volunteer_number"):
        assert absent not in shown
    assert shown["activities"] == [] and shown["activities_withheld"] == 2
    text = json.dumps(verdict, ensure_ascii=False)
    for secret in (NAME, "王*", "戒毒所帮教", "图书馆整理", cert.volunteer_number):
        assert secret not in text
    # the reference library agrees on what the presentation shows
    claims = library_claims(client, presentation)
    assert "name" not in claims and claims["activities"] == [] and claims["hours"] == "6.00"

    page = client.get(f"/v/{presentation}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "6.00" in html and 'id="presentation-note"' in html
    for secret in (NAME, "王*", "戒毒所帮教", "图书馆整理", cert.volunteer_number):
        assert secret not in html
    assert "/match" not in html  # no "check the holder" form on a presentation


def test_the_volunteers_public_activities_choice_does_not_add_to_a_presentation(
    app, client, issued
):
    from sqlalchemy import update

    from verifier.volunteers.models import Volunteer

    with app.app_context():
        session = get_session()
        session.execute(
            update(Volunteer)
            .where(Volunteer.id == issued["cert"].volunteer_id)
            .values(public_activities=True)
        )
        session.commit()
        presentation = make_presentation(issued["sd_jwt"], [])
    assert "图书馆整理" not in json.dumps(_verify(client, presentation), ensure_ascii=False)


def test_name_and_one_activity(app, client, issued):
    sd_jwt = issued["sd_jwt"]
    with app.app_context():
        presentation = make_presentation(sd_jwt, ["name", _activity_key(sd_jwt, "图书馆整理")])
    verdict = _verify(client, presentation)
    assert verdict["status"] == "valid"
    shown = verdict["certificate"]
    assert shown["volunteer_name"] == NAME  # the holder chose to show their full name
    assert shown["activities"] == [{"activity": "图书馆整理", "hours": "3.00"}]
    assert shown["activities_withheld"] == 1
    assert "id_type" not in shown
    html = client.get(f"/v/{presentation}").get_data(as_text=True)
    assert NAME in html and "图书馆整理" in html and "戒毒所帮教" not in html


def test_a_revoked_certificates_presentation_is_revoked(app, client, issued):
    from verifier.auth.models import User

    with app.app_context():
        session = get_session()
        cert = session.get(Certificate, issued["cert"].id)
        set_status(
            session, cert, "revoked", "issued in error", session.get(User, issued["admin"].id)
        )
        session.commit()
        presentation = make_presentation(issued["sd_jwt"], [])
    verdict = _verify(client, presentation)
    assert verdict["status"] == "revoked"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _tampered(sd_jwt: str) -> dict[str, str]:
    jwt, *disclosures, _end = sd_jwt.split("~")
    head, body, signature = jwt.split(".")
    name = next(d for d in disclosures if '"name"' in base64.urlsafe_b64decode(d + "==").decode())
    salt = json.loads(base64.urlsafe_b64decode(name + "=="))[0]
    changed = _b64(json.dumps([salt, "name", "李四"], ensure_ascii=False).encode())
    forged_sig = ("A" if signature[0] != "A" else "B") + signature[1:]
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["hours"] = "99.00"
    return {
        "changed disclosure": f"{jwt}~{changed}~",
        "foreign disclosure": f"{jwt}~{_b64(json.dumps(['c2FsdA', 'name', 'x']).encode())}~",
        "duplicate disclosure": f"{jwt}~{name}~{name}~",
        "key binding": f"{jwt}~{name}~{jwt}",
        "empty disclosure": f"{jwt}~~",
        "not base64": f"{jwt}~%%%~",
        "not an array": f"{jwt}~{_b64(b'{}')}~",
        "no jwt": f"~{name}~",
        "bad signature": f"{head}.{body}.{forged_sig}~{name}~",
        "changed payload": f"{head}.{_b64(json.dumps(payload).encode())}.{signature}~",
        "a token with a tilde": f"{head}.{body}.{signature}~x~",
    }


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("changed disclosure", "malformed"),
        ("foreign disclosure", "malformed"),
        ("duplicate disclosure", "malformed"),
        ("key binding", "malformed"),
        ("empty disclosure", "malformed"),
        ("not base64", "malformed"),
        ("not an array", "malformed"),
        ("no jwt", "malformed"),
        ("bad signature", "invalid_signature"),
        ("changed payload", "invalid_signature"),
        ("a token with a tilde", "malformed"),
    ],
)
def test_tampering(client, issued, case, status):
    forged = _tampered(issued["sd_jwt"])[case]
    verdict = _verify(client, forged)
    assert verdict["status"] == status, verdict
    assert verdict["certificate"] is None
    failed = [c for c in verdict["checks"] if c["ok"] is False]
    assert failed and failed[0]["name"] == ("format" if status == "malformed" else "signature")
    page = client.get(f"/v/{forged}")
    assert page.status_code == 200
    assert NAME not in page.get_data(as_text=True) and "李四" not in page.get_data(as_text=True)


def test_the_qr_token_of_the_same_certificate_still_verifies(client, issued):
    assert _verify(client, issued["cert"].token)["status"] == "valid"


def test_a_presentation_of_an_sd_jwt_not_stored_is_unknown(app, client, issued):
    """Signed by our key but not the SD-JWT the ledger recorded for the number (a replaced one)."""
    from verifier.certificates.sdjwt import sign_sd_jwt
    from verifier.certificates.services import Signer

    with app.test_request_context():
        session = get_session()
        cert = session.get(Certificate, issued["cert"].id)
        signer = Signer.for_existing(session, cert)
        other = sign_sd_jwt(
            cert, base_url=signer.base_url, private_key=signer.private_key, kid=signer.kid
        )
    verdict = _verify(client, other)
    assert verdict["status"] == "unknown"
    assert verdict["certificate"] is None


def test_batch_mixes_tokens_and_presentations(app, client, issued):
    with app.app_context():
        presentation = make_presentation(issued["sd_jwt"], ["id_type"])
    response = client.post(
        URL, json={"items": [{"token": issued["cert"].token}, {"token": presentation}]}
    )
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["valid", "valid"]
    assert results[1]["certificate"]["id_type"] == "resident_id"
    assert "volunteer_name" not in results[1]["certificate"]

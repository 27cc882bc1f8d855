"""What anyone, signed in or not, learns from the public surface: masked fields, nothing more."""

from __future__ import annotations

import json

import pytest
from support.security_world import FULL_NAME, ID_NUMBER, assert_no_personal_data, world

from verifier.certificates.services import number_display


@pytest.fixture
def w(make):
    return world(make)


def test_scan_and_typed_pages_show_only_masked_fields(client, w):
    cert = w["cert_a"]
    pages = [
        client.get(f"/v/{cert.token}"),
        client.get("/verify", query_string={"number": number_display(cert.number)}),
    ]
    for page in pages:
        text = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "张*" in text and cert.volunteer_number in text
        assert_no_personal_data(text)


def test_verification_api_and_status_api_show_only_masked_fields(client, w):
    cert = w["cert_a"]
    answers = [
        client.post("/api/v1/verifications", json={"token": cert.token}),
        client.post("/api/v1/verifications", json={"number": cert.number}),
        client.post("/api/v1/verifications", json={"items": [{"token": cert.token}]}),
        client.get(f"/api/v1/certificates/{number_display(cert.number)}/status"),
    ]
    for answer in answers:
        assert answer.status_code == 200
        assert_no_personal_data(answer.get_data(as_text=True))
    masked = answers[0].get_json()["certificate"]["volunteer_name"]
    assert masked[0] == "张" and set(masked[1:]) == {"*"}


def test_the_holder_check_says_only_yes_or_no_and_echoes_nothing(client, w):
    cert = w["cert_a"]
    url = f"/verify/{number_display(cert.number)}/match"
    right = client.post(url, data={"id_number": ID_NUMBER.lower()}).get_data(as_text=True)
    wrong = client.post(url, data={"id_number": "110101199003070011"}).get_data(as_text=True)
    by_name = client.post(url, data={"name": FULL_NAME}).get_data(as_text=True)
    assert "match-yes" in right and "match-no" in wrong and "match-yes" in by_name
    for text in (right, by_name):
        assert_no_personal_data(text)
    assert "110101199003070011" not in wrong


def test_the_per_certificate_guess_limit_holds_however_the_number_is_spelled(client, w):
    """Twenty guesses a day at one holder's ID, even when each comes from another address."""
    display = number_display(w["cert_a"].number)
    spellings = [
        display,
        display.lower(),
        display.replace("-", ""),
        display.replace("-", " "),
        display.lower().replace("-", ""),
    ]
    statuses = []
    for i in range(25):
        response = client.post(
            f"/verify/{spellings[i % len(spellings)]}/match",
            data={"id_number": f"1101011990030700{i % 10}1"},
            environ_base={"REMOTE_ADDR": f"198.51.100.{i + 1}"},
        )
        statuses.append(response.status_code)
    assert statuses[:20] == [200] * 20
    assert statuses[20:] == [429] * 5


def test_reflected_input_is_escaped(client, w):
    payload = '<script>alert("x")</script>'
    for response in (
        client.get("/verify", query_string={"number": payload}),
        client.get(f"/v/{payload}"),
        client.get(f"/nowhere/{payload}"),
        client.get("/login", query_string={"next": payload}),
        client.post("/api/v1/verifications", json={"number": payload}),
    ):
        assert payload not in response.get_data(as_text=True)


def test_key_and_did_documents_hold_no_private_key_material(client, w):
    jwks = client.get("/.well-known/jwks.json").get_json()
    assert jwks["keys"]
    for key in jwks["keys"]:
        assert "d" not in key
    did = json.dumps(client.get("/.well-known/did.json").get_json())
    assert "privateKey" not in did and '"d"' not in did


def test_public_api_answers_carry_no_internal_ids_of_people(client, w):
    cert = w["cert_a"]
    body = client.post("/api/v1/verifications", json={"token": cert.token}).get_json()
    fields = body["certificate"]
    assert set(fields) == {
        "number",
        "volunteer_name",
        "volunteer_number",
        "hours",
        "period_from",
        "period_to",
        "activities",
        "activities_shown",
        "issuer_name",
        "issuer_uscc",
        "issued_on",
        "status_reason",
        "issued_for",  # null unless a successor issued it: organisations only, no person
    }


def test_openapi_document_is_public_and_lists_no_secrets(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "SECRET_KEY" not in text and "DATA_KEY" not in text

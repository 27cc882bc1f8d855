"""Bitstring Status Lists: the message list (2 bits) and the older revocation and suspension
lists flip with the certificate; each is signed once per change; cached with an ETag."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from credential_helpers import bit, decode_status_list, vc_json, verify_eddsa_jcs_2022
from sqlalchemy import event
from support import Factory, bearer, days_ago

from verifier.auth.models import User
from verifier.certificates.lifecycle import set_status
from verifier.certificates.models import Certificate
from verifier.certificates.services import STATUS_LIST_LENGTH
from verifier.credentials import services
from verifier.db import get_session
from verifier.orgs.models import Organisation
from verifier.records.models import ServiceRecord
from verifier.records.services import RecordInput, correct_record


@pytest.fixture
def world(make):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    records = [make.record(org, volunteer, actor=admin, started_at=days_ago(d)) for d in (9, 8)]
    certs = [make.certificate(org, admin, volunteer, [record]) for record in records]
    return {"org": org, "admin": admin, "records": records, "certs": certs}


def status_bits(client, cert, purpose):
    """Fetch a list and read the certificate's entry (2 bits, MSB first, for message)."""
    size = 2 if purpose == "message" else 1
    list_number, position = divmod(cert.status_index, STATUS_LIST_LENGTH)
    response = client.get(f"/credentials/status/{list_number}/{purpose}")
    document = vc_json(response)
    subject = document["credentialSubject"]
    assert subject["statusPurpose"] == purpose
    bits = decode_status_list(subject["encodedList"])
    assert len(bits) * 8 == STATUS_LIST_LENGTH * size
    value = 0
    for offset in range(size):
        value = value << 1 | bit(bits, position * size + offset)
    return value


def message(client, cert):
    """Read the certificate's message the way a verifier does: entry value -> statusMessage."""
    value = status_bits(client, cert, "message")
    return {0: "valid", 1: "suspended", 2: "revoked"}[value]


def change(app, world, cert, status, reason="复核"):
    with app.app_context():
        session = get_session()
        set_status(
            session,
            session.get(Certificate, cert.id),
            status,
            reason,
            session.get(User, world["admin"].id),
        )
        session.commit()


def test_status_list_credential_is_signed_typed_and_cached(client, world):
    cert = world["certs"][0]
    list_number = cert.status_index // STATUS_LIST_LENGTH
    response = client.get(f"/credentials/status/{list_number}/revocation")
    document = vc_json(response)
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["ETag"]
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["id"] == f"http://verifier.test/credentials/status/{list_number}/revocation"
    assert document["issuer"] == "did:web:verifier.test"
    assert document["credentialSubject"]["type"] == "BitstringStatusList"
    verify_eddsa_jcs_2022(document, client.get("/.well-known/did.json").get_json())


def test_fresh_certificates_have_no_bit_set(client, world):
    for cert in world["certs"]:
        assert status_bits(client, cert, "revocation") == 0
        assert status_bits(client, cert, "suspension") == 0
        assert message(client, cert) == "valid"


def test_revoking_sets_only_that_certificates_revocation_bit(app, client, world):
    revoked, other = world["certs"]
    change(app, world, revoked, "revoked")
    assert status_bits(client, revoked, "revocation") == 1
    assert status_bits(client, revoked, "suspension") == 0
    assert status_bits(client, other, "revocation") == 0
    assert message(client, revoked) == "revoked"
    assert message(client, other) == "valid"


def test_suspending_and_reinstating_flip_the_suspension_bit(app, client, world):
    cert, other = world["certs"]
    change(app, world, cert, "suspended")
    assert status_bits(client, cert, "suspension") == 1
    assert status_bits(client, cert, "revocation") == 0
    assert status_bits(client, other, "suspension") == 0
    assert (message(client, cert), message(client, other)) == ("suspended", "valid")
    change(app, world, cert, "valid")
    assert status_bits(client, cert, "suspension") == 0
    assert status_bits(client, cert, "revocation") == 0
    assert message(client, cert) == "valid"


def test_a_superseded_certificate_is_revoked_in_the_list(app, client, world):
    cert = world["certs"][0]
    with app.app_context():
        session = get_session()
        record = session.get(ServiceRecord, world["records"][0].id)
        data = RecordInput(
            activity=record.activity, place=record.place, content=record.content,
            started_at=record.started_at, ended_at=record.ended_at, minutes=60,
        )  # fmt: skip
        correct_record(session, record, data, "时长有误", session.get(User, world["admin"].id))
        session.commit()
    assert status_bits(client, cert, "revocation") == 1
    assert status_bits(client, world["certs"][1], "revocation") == 0


def test_a_suspended_issuer_leaves_its_earlier_certificates_out_of_the_list(app, client, world):
    with app.app_context():
        session = get_session()
        session.get(Organisation, world["org"].id).status = "suspended"
        session.commit()
    assert status_bits(client, world["certs"][0], "suspension") == 0
    assert status_bits(client, world["certs"][1], "suspension") == 0
    assert message(client, world["certs"][0]) == "valid"


def test_the_list_is_built_with_a_fixed_number_of_queries(app, client, world):
    cert = world["certs"][0]
    list_number = cert.status_index // STATUS_LIST_LENGTH
    connection = app.extensions["verifier.db"].sessionmaker.kw["bind"]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    client.get(f"/credentials/status/{list_number}/revocation")  # stored: later ones update it
    event.listen(connection, "before_cursor_execute", count)
    try:
        change(app, world, world["certs"][0], "revoked")
        statements.clear()
        client.get(f"/credentials/status/{list_number}/revocation")
        one = len(statements)
        change(app, world, world["certs"][1], "revoked")
        statements.clear()
        client.get(f"/credentials/status/{list_number}/revocation")
        assert len(statements) == one
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert status_bits(client, world["certs"][1], "revocation") == 1


def test_unknown_purpose_or_unused_list_is_404(client, world):
    cert = world["certs"][0]
    list_number = cert.status_index // STATUS_LIST_LENGTH
    assert client.get(f"/credentials/status/{list_number}/expiry").status_code == 404
    assert client.get("/credentials/status/9999/revocation").status_code == 404
    assert client.get("/credentials/status/-1/revocation").status_code == 404
    assert client.get("/credentials/status/99999999999/revocation").status_code == 404


def test_the_credential_points_at_the_list_that_flips(app, client, world):
    cert = world["certs"][1]
    token = Factory(app).token(world["admin"])
    vc = vc_json(
        client.get(f"/api/v1/certificates/{cert.number}/credential.json", headers=bearer(token))
    )
    entry = vc["credentialStatus"]
    assert entry["statusPurpose"] == "message" and entry["statusSize"] == 2
    change(app, world, cert, "revoked")
    path = entry["statusListCredential"].removeprefix("http://verifier.test")
    bits = decode_status_list(vc_json(client.get(path))["credentialSubject"]["encodedList"])
    index = int(entry["statusListIndex"]) * 2
    value = bit(bits, index) << 1 | bit(bits, index + 1)
    assert entry["statusMessage"][value] == {"status": "0x2", "message": "revoked"}


def _shift_clock(monkeypatch, hours):
    real = services.utcnow
    monkeypatch.setattr(services, "utcnow", lambda: real() + timedelta(hours=hours))


def test_a_list_is_signed_once_and_again_after_a_change(app, client, world, monkeypatch):
    cert = world["certs"][0]
    path = f"/credentials/status/{cert.status_index // STATUS_LIST_LENGTH}/message"
    _shift_clock(monkeypatch, -1)  # the first signature an hour ago
    first = client.get(path)
    monkeypatch.undo()
    second = client.get(path)
    assert first.get_data() == second.get_data()
    assert first.headers["ETag"] == second.headers["ETag"]
    before = vc_json(first)
    assert before["proof"]["proofValue"] == vc_json(second)["proof"]["proofValue"]

    change(app, world, cert, "suspended")
    after_response = client.get(path)
    after = vc_json(after_response)
    assert after_response.headers["ETag"] != first.headers["ETag"]
    assert after["proof"]["proofValue"] != before["proof"]["proofValue"]
    assert after["validFrom"] > before["validFrom"]
    assert after["proof"]["created"] == after["validFrom"]
    verify_eddsa_jcs_2022(after, client.get("/.well-known/did.json").get_json())
    assert client.get(path).get_data() == after_response.get_data()


def test_validity_is_24_hours_and_renewed_before_it_lapses(client, world, monkeypatch):
    cert = world["certs"][0]
    path = f"/credentials/status/{cert.status_index // STATUS_LIST_LENGTH}/revocation"
    first = vc_json(client.get(path))
    valid_from = datetime.fromisoformat(first["validFrom"])
    assert datetime.fromisoformat(first["validUntil"]) - valid_from == timedelta(hours=24)
    _shift_clock(monkeypatch, 11)  # more than half left: still the stored one
    assert vc_json(client.get(path)) == first
    _shift_clock(monkeypatch, 13)  # less than half left (11 + 13 hours): signed again
    renewed = vc_json(client.get(path))
    assert renewed["validFrom"] > first["validFrom"]
    assert renewed["validUntil"] > first["validUntil"]
    assert renewed["credentialSubject"] == first["credentialSubject"]


def test_the_validity_is_a_setting(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "STATUS_LIST_VALID_HOURS", 6)
    cert = world["certs"][0]
    path = f"/credentials/status/{cert.status_index // STATUS_LIST_LENGTH}/suspension"
    document = vc_json(client.get(path))
    valid_from = datetime.fromisoformat(document["validFrom"])
    assert datetime.fromisoformat(document["validUntil"]) - valid_from == timedelta(hours=6)


def test_if_none_match_answers_304(client, world):
    cert = world["certs"][0]
    path = f"/credentials/status/{cert.status_index // STATUS_LIST_LENGTH}/message"
    first = client.get(path)
    etag = first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == "public, max-age=300"
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_the_old_lists_still_answer_for_credentials_handed_out_before(client, world):
    cert = world["certs"][0]
    list_number = cert.status_index // STATUS_LIST_LENGTH
    for purpose in ("revocation", "suspension"):
        document = vc_json(client.get(f"/credentials/status/{list_number}/{purpose}"))
        assert document["credentialSubject"]["statusPurpose"] == purpose

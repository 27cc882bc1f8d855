"""Bitstring Status Lists: revocation and suspension flip the certificate's bit; signed; cached."""

from __future__ import annotations

import pytest
from credential_helpers import bit, decode_status_list, vc_json, verify_eddsa_jcs_2022
from sqlalchemy import event
from support import Factory, bearer, days_ago

from verifier.auth.models import User
from verifier.certificates.lifecycle import set_status
from verifier.certificates.models import Certificate
from verifier.certificates.services import STATUS_LIST_LENGTH
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
    """Follow the credential's own status entry, fetch the list, and read the bit."""
    list_number, position = divmod(cert.status_index, STATUS_LIST_LENGTH)
    response = client.get(f"/credentials/status/{list_number}/{purpose}")
    document = vc_json(response)
    subject = document["credentialSubject"]
    assert subject["statusPurpose"] == purpose
    bits = decode_status_list(subject["encodedList"])
    assert len(bits) * 8 == STATUS_LIST_LENGTH
    return bit(bits, position)


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
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["id"] == f"http://verifier.test/credentials/status/{list_number}/revocation"
    assert document["issuer"] == "did:web:verifier.test"
    assert document["credentialSubject"]["type"] == "BitstringStatusList"
    verify_eddsa_jcs_2022(document, client.get("/.well-known/did.json").get_json())


def test_fresh_certificates_have_no_bit_set(client, world):
    for cert in world["certs"]:
        assert status_bits(client, cert, "revocation") == 0
        assert status_bits(client, cert, "suspension") == 0


def test_revoking_sets_only_that_certificates_revocation_bit(app, client, world):
    revoked, other = world["certs"]
    change(app, world, revoked, "revoked")
    assert status_bits(client, revoked, "revocation") == 1
    assert status_bits(client, revoked, "suspension") == 0
    assert status_bits(client, other, "revocation") == 0


def test_suspending_and_reinstating_flip_the_suspension_bit(app, client, world):
    cert, other = world["certs"]
    change(app, world, cert, "suspended")
    assert status_bits(client, cert, "suspension") == 1
    assert status_bits(client, cert, "revocation") == 0
    assert status_bits(client, other, "suspension") == 0
    change(app, world, cert, "valid")
    assert status_bits(client, cert, "suspension") == 0
    assert status_bits(client, cert, "revocation") == 0


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


def test_the_list_is_built_with_a_fixed_number_of_queries(app, client, world):
    cert = world["certs"][0]
    list_number = cert.status_index // STATUS_LIST_LENGTH
    connection = app.extensions["verifier.db"].sessionmaker.kw["bind"]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        client.get(f"/credentials/status/{list_number}/revocation")
        one = len(statements)
        for each in world["certs"]:
            change(app, world, each, "revoked")
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
    entry = next(e for e in vc["credentialStatus"] if e["statusPurpose"] == "revocation")
    change(app, world, cert, "revoked")
    path = entry["statusListCredential"].removeprefix("http://verifier.test")
    bits = decode_status_list(vc_json(client.get(path))["credentialSubject"]["encodedList"])
    assert bit(bits, int(entry["statusListIndex"])) == 1

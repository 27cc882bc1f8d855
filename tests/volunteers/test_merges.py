"""Existing data: find volunteers that are one person, merge them keeping every record, re-key.

Rows are written here as the code before normal forms wrote them: the ID number stored as
typed (full-width or Arabic-Indic digits) and hashed as typed, so it became a second volunteer.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from support import bearer, days_ago, login, make_resident_id

from verifier.audit.models import AuditEntry
from verifier.audit.services import verify_chain
from verifier.certificates.models import Certificate
from verifier.certificates.services import number_display
from verifier.crypto.encryption import get_cipher
from verifier.db import get_session
from verifier.identifiers import mask_id_number
from verifier.records.models import RecordReassignment, RecordRevision, ServiceRecord
from verifier.volunteers.models import Membership, Volunteer
from verifier.volunteers.services import new_volunteer_number, reveal_id_number, seal_id_number

EN = {"Accept-Language": "en"}
NUMBER = make_resident_id(81)
ALONE = make_resident_id(82)


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isdigit() else c for c in text)


def arabic_indic(text: str) -> str:
    return "".join(chr(0x0660 + int(c)) if c.isascii() and c.isdigit() else c for c in text)


def legacy_volunteer(app, org, name, typed, id_type="resident_id"):
    """Register a person as the code before normal forms did: stored and hashed as typed."""
    with app.app_context():
        session = get_session()
        cipher = get_cipher()
        volunteer = Volunteer(
            volunteer_number=new_volunteer_number(),
            name=name,
            gender="male",
            birth_date=date(1990, 3, 7),
            id_type=id_type,
            id_number_enc=b"",
            id_lookup=cipher.lookup_hash(f"{id_type}:{typed}"),
            id_masked=mask_id_number(typed),
            phone_masked="",
            guardian_name="",
        )
        session.add(volunteer)
        session.flush()
        seal_id_number(volunteer, typed)
        session.add(Membership(organisation_id=org.id, volunteer_id=volunteer.id))
        session.commit()
        return volunteer


@pytest.fixture
def cli(app):
    app.config["DEFAULT_LOCALE"] = "en"
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["volunteers", *args])


@pytest.fixture
def world(app, make):
    org_a, org_b = make.org(), make.org()
    admin_a, admin_b = make.user("org_admin", org_a), make.user("org_admin", org_b)
    kept = make.volunteer(org_a, name="张三", id_number=NUMBER)
    twin = legacy_volunteer(app, org_b, "张三", full_width(NUMBER[:17]) + NUMBER[17])
    alone = legacy_volunteer(app, org_b, "李四", arabic_indic(ALONE[:17]) + ALONE[17])
    day = days_ago(9, hour=0)
    kept_records = [
        make.record(org_a, kept, admin_a, started_at=day + timedelta(hours=9)),  # 09:00-12:00
        make.record(
            org_a,
            kept,
            admin_a,
            started_at=day - timedelta(days=1),
            ended_at=day - timedelta(days=1) + timedelta(hours=21),
            minutes=21 * 60,
        ),
    ]
    twin_records = [
        # overlaps the kept volunteer's 09:00-12:00 once they are one person
        make.record(
            org_b,
            twin,
            admin_b,
            started_at=day + timedelta(hours=10),
            minutes=60,
            ended_at=day + timedelta(hours=11),
        ),
        # 21:00 to 02:00 the day before: 21 + 5 hours on that day
        make.record(
            org_b,
            twin,
            admin_b,
            started_at=day - timedelta(hours=3),
            ended_at=day + timedelta(hours=2),
            minutes=300,
        ),
    ]

    cert = make.certificate(org_b, admin_b, twin, twin_records)
    return {
        "org_a": org_a,
        "org_b": org_b,
        "admin_a": admin_a,
        "admin_b": admin_b,
        "kept": kept,
        "twin": twin,
        "alone": alone,
        "kept_records": kept_records,
        "twin_records": twin_records,
        "cert": cert,
        "make": make,
    }


def no_full_number(output: str) -> None:
    for number in (NUMBER, ALONE):
        for spelling in (number, full_width(number), arabic_indic(number), number[6:14]):
            assert spelling not in output


def test_a_clean_database_has_no_duplicates(cli, make):
    make.volunteer(make.org())
    result = cli("duplicates")
    assert result.exit_code == 0, result.output
    assert "checked 1 volunteers: 0 groups of duplicates, 0 to re-key" in result.output


def test_duplicates_lists_one_person_twice_and_rows_to_rekey_masked_only(cli, world):
    result = cli("duplicates")
    assert result.exit_code == 1, result.output
    out = result.output
    kept, twin, alone = world["kept"], world["twin"], world["alone"]
    assert f"same person, 2 volunteers: resident_id {mask_id_number(NUMBER)}" in out
    assert kept.volunteer_number in out and twin.volunteer_number in out
    assert (
        f"merge with: verifier volunteers merge --keep {kept.volunteer_number} "
        f"--merge {twin.volunteer_number}"
    ) in out
    assert "NOT in normal form" in out
    assert f"{alone.volunteer_number}  resident_id {mask_id_number(ALONE)}" in out
    assert "1 groups of duplicates, 1 to re-key, 0 without a normal form" in out
    no_full_number(out)


def test_merge_keeps_every_record_and_its_history_and_reports_the_conflicts(
    app, client, cli, world
):
    kept, twin = world["kept"], world["twin"]
    result = cli(
        "merge",
        "--keep",
        kept.volunteer_number,
        "--merge",
        twin.volunteer_number,
        "--reason",
        "全角数字登记成了两人",
    )
    assert result.exit_code == 1, result.output  # merged, with conflicts to correct
    out = result.output
    assert f"merged {twin.volunteer_number} into {kept.volunteer_number}: 2 records" in out
    assert "1 certificates moved, 1 organisations linked" in out
    first, second = world["kept_records"][0].id, world["twin_records"][0].id
    assert f"overlap: record {first} (organisation {world['org_a'].id}) and record {second}" in out
    over = (days_ago(9, hour=0) - timedelta(days=1) + timedelta(hours=8)).date()
    assert f"over 24 hours: {over.isoformat()} has 1560 minutes" in out
    no_full_number(out)
    with app.app_context():
        session = get_session()
        records = session.scalars(
            select(ServiceRecord).where(ServiceRecord.id.in_([r.id for r in world["twin_records"]]))
        ).all()
        assert {r.volunteer_id for r in records} == {kept.id}
        assert all(r.status == "active" and r.revision == 1 for r in records)
        moves = session.scalars(select(RecordReassignment)).all()
        assert sorted(m.record_id for m in moves) == sorted(r.id for r in records)
        assert {(m.from_volunteer_id, m.to_volunteer_id) for m in moves} == {(twin.id, kept.id)}
        assert session.scalar(select(func.count()).select_from(RecordRevision)) == 4
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions[-3:] == ["record.reassign", "record.reassign", "volunteer.merge"]
        members = session.scalars(
            select(Membership.organisation_id).where(Membership.volunteer_id == kept.id)
        ).all()
        assert sorted(members) == sorted([world["org_a"].id, world["org_b"].id])
        merged = session.get(Volunteer, twin.id)
        assert merged.merged_into_id == kept.id and merged.merged_at is not None
        assert reveal_id_number(merged) == NUMBER  # stored in normal form too
        assert reveal_id_number(session.get(Volunteer, kept.id)) == NUMBER
        assert session.get(Certificate, world["cert"].id).volunteer_id == kept.id
        assert verify_chain(session).ok
    # the moved records are attested again by the merge, so the audit check tells the move from
    # an edit of the database
    audit = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert audit.exit_code == 0, audit.output


def _merge(cli, world):
    return cli(
        "merge",
        "--keep",
        world["kept"].volunteer_number,
        "--merge",
        world["twin"].volunteer_number,
        "--reason",
        "同一人",
    )


def test_after_a_merge_certificates_numbers_and_lookups_keep_working(app, client, cli, world):
    _merge(cli, world)
    kept, twin, make = world["kept"], world["twin"], world["make"]
    cert_number = number_display(world["cert"].number)
    verdict = client.post("/api/v1/verifications", json={"number": cert_number}).get_json()
    assert verdict["status"] == "valid", verdict
    assert verdict["certificate"]["volunteer_number"] == twin.volunteer_number  # as issued
    match = client.post(f"/verify/{cert_number}/match", data={"id_number": NUMBER})
    assert "match-yes" in match.get_data(as_text=True)
    token_b = make.token(world["admin_b"])
    headers = {**bearer(token_b), **EN}
    # the merged number still resolves: to its row, which says where the person went
    shown = client.get(f"/api/v1/volunteers/{twin.id}", headers=headers).get_json()
    assert shown["merged_into"] == kept.volunteer_number
    found = client.get(
        "/api/v1/volunteers", query_string={"q": twin.volunteer_number}, headers=headers
    ).get_json()
    assert sorted(v["id"] for v in found["items"]) == sorted([kept.id, twin.id])
    listed = client.get("/api/v1/volunteers", headers=headers).get_json()
    assert twin.id not in [v["id"] for v in listed["items"]]
    # the person, typed either way, is the kept volunteer
    for typed in (NUMBER, full_width(NUMBER)):
        again = client.post(
            "/api/v1/volunteers",
            json={"name": "张三", "id_type": "resident_id", "id_number": typed},
            headers=headers,
        )
        assert (again.status_code, again.get_json()["id"]) == (200, kept.id)
    # no new record lands on the merged-away row
    body = {
        "volunteer_id": twin.id,
        "activity": "敬老",
        "place": "社区",
        "content": "",
        "started_at": (days_ago(3, hour=9)).isoformat(),
        "ended_at": (days_ago(3, hour=10)).isoformat(),
        "minutes": 60,
    }
    refused = client.post("/api/v1/records", json=body, headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["rule"] == "volunteer_merged"
    # the record's history shows the move; the merged row's page points to the person
    login(client, world["admin_b"].email)
    client.set_cookie("lang", "en")
    history = client.get(f"/records/{world['twin_records'][0].id}/history").get_data(as_text=True)
    assert twin.volunteer_number in history and kept.volunteer_number in history
    assert "Moved to another volunteer" in history
    page = client.get(f"/volunteers/{twin.id}").get_data(as_text=True)
    assert f"/volunteers/{kept.id}" in page and "Merged into" in page


def test_rekey_then_duplicates_is_clean(app, cli, world):
    assert _merge(cli, world).exit_code == 1
    result = cli("rekey")
    assert result.exit_code == 0, result.output
    assert "re-keyed 1 volunteers" in result.output
    with app.app_context():
        alone = get_session().get(Volunteer, world["alone"].id)
        assert reveal_id_number(alone) == ALONE
        assert alone.id_masked == mask_id_number(ALONE)
    final = cli("duplicates")
    assert final.exit_code == 0, final.output
    assert "0 groups of duplicates, 0 to re-key, 0 without a normal form" in final.output
    with app.app_context():
        assert verify_chain(get_session()).ok


def test_rekey_leaves_the_duplicates_for_a_merge(cli, world):
    result = cli("rekey")
    assert result.exit_code == 1
    assert f"left: {world['twin'].volunteer_number} is the same person" in result.output


def test_the_row_kept_may_be_the_one_not_in_normal_form(app, cli, world):
    kept, twin = world["twin"], world["kept"]
    result = cli(
        "merge", "--keep", kept.volunteer_number, "--merge", twin.volunteer_number, "--reason", "x"
    )
    assert result.exit_code == 1, result.output
    with app.app_context():
        session = get_session()
        assert reveal_id_number(session.get(Volunteer, kept.id)) == NUMBER
    assert cli("rekey").exit_code == 0
    assert cli("duplicates").exit_code == 0


def test_a_merge_with_no_conflicts_exits_0(app, cli, make):
    org = make.org()
    kept = make.volunteer(org, name="王五", id_number=make_resident_id(83))
    twin = legacy_volunteer(app, org, "王五", full_width(make_resident_id(83)))
    make.record(org, twin, started_at=days_ago(4))
    result = cli(
        "merge", "--keep", kept.volunteer_number, "--merge", twin.volunteer_number, "--reason", "x"
    )
    assert result.exit_code == 0, result.output
    assert "1 records and 0 certificates moved, 0 organisations linked" in result.output


@pytest.mark.parametrize(
    "case, message",
    [
        ("different", "have different ID numbers"),
        ("names", "under different names"),
        ("unknown", "no volunteer with number V00000000000"),
        ("self", "cannot be merged into itself"),
        ("again", "was already merged"),
        ("reason", "contains an invisible formatting character (U+202E"),
    ],
)
def test_a_refused_merge_changes_nothing_and_exits_2(app, cli, make, case, message):
    org = make.org()
    kept = make.volunteer(org, name="王五", id_number=make_resident_id(84))
    twin = legacy_volunteer(
        app, org, "王五" if case != "names" else "王伍", full_width(make_resident_id(84))
    )
    other = make.volunteer(org, name="王五", id_number=make_resident_id(85))
    target = {
        "different": other.volunteer_number,
        "unknown": "V00000000000",
        "self": kept.volunteer_number,
    }.get(case, twin.volunteer_number)
    reason = "同一人\u202e" if case == "reason" else "同一人"
    if case == "again":
        assert (
            cli(
                "merge", "--keep", kept.volunteer_number, "--merge", target, "--reason", "x"
            ).exit_code
            == 0
        )
    with app.app_context():
        before = get_session().scalar(select(func.max(AuditEntry.id)))
    result = cli("merge", "--keep", kept.volunteer_number, "--merge", target, "--reason", reason)
    assert result.exit_code == 2, result.output
    assert message in result.output and "nothing was merged" in result.output
    with app.app_context():
        assert get_session().scalar(select(func.max(AuditEntry.id))) == before
    if case == "names":
        allowed = cli(
            "merge",
            "--keep",
            kept.volunteer_number,
            "--merge",
            target,
            "--reason",
            "核对证件后确认同一人",
            "--allow-different-names",
        )
        assert allowed.exit_code == 0, allowed.output


def test_an_id_number_the_data_key_cannot_decrypt_stops_with_exit_2(app, cli, make):
    volunteer = make.volunteer(make.org())
    with app.app_context():
        session = get_session()
        session.get(Volunteer, volunteer.id).id_number_enc = b"\x01" + b"\x00" * 40
        session.commit()
    for command in ("duplicates", "rekey"):
        result = cli(command)
        assert result.exit_code == 2, result.output
        assert "cannot be decrypted" in result.output and "Traceback" not in result.output


def test_a_merge_moves_the_persons_own_account_and_requests_to_the_kept_row(
    app, client, cli, world
):
    from verifier.auth.models import User
    from verifier.complaints.models import CertificateRequest

    make, twin, kept = world["make"], world["twin"], world["kept"]
    account = make.volunteer_user(twin)
    token = make.token(account)
    asked = client.post(
        "/api/v1/me/certificate-requests",
        json={
            "organisation_uscc": world["org_b"].uscc,
            "period_from": (date.today() - timedelta(days=60)).isoformat(),
            "period_to": date.today().isoformat(),
        },
        headers=bearer(token),
    )
    assert asked.status_code == 201, asked.get_json()

    _merge(cli, world)

    with app.app_context():
        session = get_session()
        assert session.get(User, account.id).volunteer_id == kept.id
        request = session.get(CertificateRequest, asked.get_json()["id"])
        assert request.volunteer_id == kept.id
    # the account now reads the person's records of both rows, and its request
    mine = client.get("/api/v1/me/records", headers=bearer(token)).get_json()["items"]
    assert {r["id"] for r in mine} >= {r.id for r in world["twin_records"] + world["kept_records"]}
    requests = client.get("/api/v1/me/certificate-requests", headers=bearer(token)).get_json()
    assert [r["id"] for r in requests["items"]] == [asked.get_json()["id"]]


def test_when_both_rows_had_accounts_each_reads_the_persons_certificates_and_requests(
    app, client, cli, world
):
    make, twin, kept = world["make"], world["twin"], world["kept"]
    kept_token = make.token(make.volunteer_user(kept))
    twin_account = make.volunteer_user(twin)
    twin_token = make.token(twin_account)
    asked = client.post(
        "/api/v1/me/certificate-requests",
        json={
            "organisation_uscc": world["org_b"].uscc,
            "period_from": (date.today() - timedelta(days=60)).isoformat(),
            "period_to": date.today().isoformat(),
        },
        headers=bearer(twin_token),
    ).get_json()

    _merge(cli, world)

    number = number_display(world["cert"].number)
    for token in (kept_token, twin_token):
        mine = client.get("/api/v1/me/certificates", headers=bearer(token)).get_json()["items"]
        assert [c["number"] for c in mine] == [number]
        requests = client.get("/api/v1/me/certificate-requests", headers=bearer(token))
        assert [r["id"] for r in requests.get_json()["items"]] == [asked["id"]]
        one = client.get(f"/api/v1/me/certificate-requests/{asked['id']}", headers=bearer(token))
        assert one.status_code == 200
        pdf = client.get(f"/api/v1/certificates/{number}/certificate.pdf", headers=bearer(token))
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    with app.app_context():
        from verifier.auth.models import User

        assert get_session().get(User, twin_account.id).volunteer_id == twin.id  # kept its row

"""`verifier keys rotate-data-key`: every encrypted column moves to the new data key."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select, text
from support import TEST_DATA_KEY, make_resident_id

import verifier.datakey as datakey
from verifier.audit.models import AuditEntry
from verifier.crypto import signing
from verifier.crypto.encryption import DecryptionError, data_key_id, get_cipher
from verifier.db import Base, get_session
from verifier.jobs.models import JobFile
from verifier.jobs.services import IMPORT, enqueue, file_place
from verifier.keys.models import SigningKey
from verifier.keys.services import create_key, private_key_of
from verifier.notifications.models import OutboxMessage
from verifier.notifications.services import body_place, recipient_place
from verifier.notifications.services import enqueue as enqueue_message
from verifier.spotchecks.models import SpotCheckCampaign
from verifier.spotchecks.services import commit_to_secret, server_secret_place
from verifier.volunteers.models import Membership, Volunteer
from verifier.volunteers.services import (
    find_by_identity,
    merged_lookup_value,
    new_volunteer_number,
    phone_place,
    reveal_id_number,
)

OLD_KEY = TEST_DATA_KEY
NEW_KEY = base64.b64encode(b"n" * 32).decode()
THIRD_KEY = base64.b64encode(b"t" * 32).decode()
OLD_ID, NEW_ID, THIRD_ID = (data_key_id(base64.b64decode(k)) for k in (OLD_KEY, NEW_KEY, THIRD_KEY))


def legacy_blob(plaintext: str, context: str, key_b64: str = OLD_KEY) -> bytes:
    """Format 1 as written before issue 8: 0x01, nonce, AES-GCM with the column label as AAD."""
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"verifier field encryption v1"
    ).derive(base64.b64decode(key_b64))
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), context.encode())


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


@dataclass
class Filled:
    volunteer_ids: list[int]
    numbers: dict[int, str]
    merged_id: int
    legacy_id: int
    legacy_typed: str
    key_id: int
    campaign_id: int
    job_id: int
    message_id: int


def fill(app, make) -> Filled:
    """Put a value in every encrypted column, under the old key: some in format 1."""
    org = make.org()
    first = make.volunteer(org, name="张三", id_number=make_resident_id(601), phone="13812345678")
    second = make.volunteer(org, id_number=make_resident_id(602))
    merged = make.volunteer(org, id_number=make_resident_id(603))
    typed = full_width(make_resident_id(604))
    with app.app_context():
        session = get_session()
        cipher = get_cipher()
        # a merged-away row: its look-up key is the hash of its marker, not of a number
        session.get(Volunteer, merged.id).merged_into_id = first.id
        session.get(Volunteer, merged.id).id_lookup = cipher.lookup_hash(
            merged_lookup_value(merged.id)
        )
        # a row from before normal forms and before format 2: hashed as typed, format 1
        legacy = Volunteer(
            volunteer_number=new_volunteer_number(),
            name="赵六",
            id_type="resident_id",
            id_number_enc=legacy_blob(typed, "volunteers.id_number"),
            id_lookup=cipher.lookup_hash(f"resident_id:{typed}"),
            id_masked="x",
            phone_enc=legacy_blob("13900000000", "volunteers.phone"),
            phone_masked="",
            guardian_name="",
        )
        session.add(legacy)
        session.flush()
        session.add(Membership(organisation_id=org.id, volunteer_id=legacy.id))
        key = create_key(session)
        campaign = SpotCheckCampaign(name="抽查", parameters={}, population_hash="0" * 64)
        session.add(campaign)
        session.flush()
        commit_to_secret(campaign)
        job = enqueue(session, IMPORT, None, {}, organisation_id=org.id, file=("v.csv", b"a,b\n"))
        message = enqueue_message(
            session, recipient="13812345678", kind="test", subject="主题", body="邀请码 QX7-229"
        )
        session.commit()
        return Filled(
            [first.id, second.id, merged.id, legacy.id],
            {first.id: make_resident_id(601), second.id: make_resident_id(602)},
            merged.id,
            legacy.id,
            typed,
            key.id,
            campaign.id,
            job.id,
            message.id,
        )


def read_everything(app, filled: Filled) -> dict[str, object]:
    """Every encrypted value in clear, and what the look-up keys find, under the keys set now."""
    with app.app_context():
        session = get_session()
        cipher = get_cipher()
        volunteers = [session.get(Volunteer, i) for i in filled.volunteer_ids]
        key = session.get(SigningKey, filled.key_id)
        campaign = session.get(SpotCheckCampaign, filled.campaign_id)
        stored_file = session.get(JobFile, filled.job_id)
        merged = session.get(Volunteer, filled.merged_id)
        legacy = session.get(Volunteer, filled.legacy_id)
        message = session.get(OutboxMessage, filled.message_id)
        result = {
            "id_numbers": [reveal_id_number(v) for v in volunteers],
            "phones": [
                cipher.open_text(v.phone_enc, phone_place(v.id)) if v.phone_enc else None
                for v in volunteers
            ],
            "private_key_matches": signing.public_key_to_raw(private_key_of(key).public_key())
            == key.public_key,
            "secret": cipher.open_text(
                campaign.server_secret_enc, server_secret_place(campaign.id)
            ),
            "file": cipher.open(stored_file.data, file_place(filled.job_id)),
            "outbox": (
                cipher.open_text(message.recipient_enc, recipient_place(message.id)),
                cipher.open_text(message.body_enc, body_place(message.id)),
            ),
            "found": {
                i: getattr(find_by_identity(session, "resident_id", number), "id", None)
                for i, number in filled.numbers.items()
            },
            "merged_lookup": merged.id_lookup
            in cipher.lookup_hashes(merged_lookup_value(filled.merged_id)),
            "legacy_lookup": legacy.id_lookup
            in cipher.lookup_hashes(f"resident_id:{filled.legacy_typed}"),
        }
        session.rollback()
        return result


def use_keys(app, data_key: str, previous: str | None) -> None:
    app.config.update(DATA_KEY=data_key, DATA_KEY_PREVIOUS=previous)


def rotate(app, *args: str):
    return app.test_cli_runner().invoke(args=["keys", "rotate-data-key", *args])


def census(app) -> dict[str, dict[str, int]]:
    with app.app_context():
        session = get_session()
        counts = datakey.key_census(session, get_cipher())
        session.rollback()
        return {label: {k: n for k, n in c.items() if n} for label, c in counts.items()}


def test_every_encrypted_column_is_rotated():
    """A new encrypted column (named *_enc, or the job files) must be added to the rotation."""
    import verifier.models  # noqa: F401

    encrypted = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.name.endswith("_enc")
    } | {"job_files.data"}
    rotated = {label for table in datakey.encrypted_tables() for label in table.labels()}
    assert encrypted == rotated


def test_rotation_moves_every_value_to_the_new_key(app, make):
    filled = fill(app, make)
    before = read_everything(app, filled)
    assert before["found"] == {i: i for i in filled.numbers} and before["private_key_matches"]
    assert before["outbox"] == ("13812345678", "邀请码 QX7-229")
    use_keys(app, NEW_KEY, OLD_KEY)
    assert read_everything(app, filled) == before  # during the rotation both keys read
    # ... and a person registered again meanwhile is found under the old key, not duplicated
    again = make.volunteer(make.org(), name="张三", id_number=make_resident_id(601))
    assert again.id == filled.volunteer_ids[0]
    result = rotate(app, "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert "volunteers: 6 value(s) re-encrypted" in result.output  # 4 ID numbers, 2 phones
    assert "signing_keys: 1 value(s)" in result.output
    assert "spotcheck_campaigns: 1 value(s)" in result.output
    assert "job_files: 1 value(s)" in result.output
    assert "outbox_messages: 2 value(s)" in result.output  # the address and the body
    assert f"every value is under data key {NEW_ID}" in result.output
    # the previous key removed: everything reads, the look-up keys find the same people
    use_keys(app, NEW_KEY, None)
    assert read_everything(app, filled) == before
    assert all(set(counts) <= {NEW_ID} for counts in census(app).values())
    assert census(app)["volunteers.id_number_enc"] == {NEW_ID: 4}
    # the old key alone reads nothing any more
    use_keys(app, OLD_KEY, None)
    with pytest.raises(DecryptionError, match=f"under data key {NEW_ID}"):
        read_everything(app, filled)
    with app.app_context():
        entry = (
            get_session()
            .scalars(select(AuditEntry).where(AuditEntry.action == "data_key.rotate"))
            .one()
        )
        assert entry.object_id == NEW_ID
    # nothing left to do: a second run changes nothing and says so
    use_keys(app, NEW_KEY, None)
    again = rotate(app)
    assert again.exit_code == 0 and "volunteers: 0 value(s) re-encrypted" in again.output


def test_an_interrupted_rotation_resumes(app, make, monkeypatch):
    filled = fill(app, make)
    before = read_everything(app, filled)
    use_keys(app, NEW_KEY, OLD_KEY)
    real, done = datakey.rotate_volunteer, []

    def power_cut_at_the_third(volunteer):
        if len(done) == 2:
            raise RuntimeError("the machine went down")
        done.append(volunteer.id)
        return real(volunteer)

    monkeypatch.setattr(datakey, "rotate_volunteer", power_cut_at_the_third)
    cut = rotate(app, "--batch-size", "1")
    assert isinstance(cut.exception, RuntimeError) and cut.exit_code != 0
    # the batches before the cut are committed: the first two volunteers are under the new key
    assert census(app)["volunteers.id_number_enc"] == {NEW_ID: 2, OLD_ID: 1, "format 1": 1}
    monkeypatch.setattr(datakey, "rotate_volunteer", real)
    resumed = rotate(app, "--batch-size", "1")
    assert resumed.exit_code == 0, resumed.output
    assert "volunteers: 3 value(s) re-encrypted" in resumed.output  # the rest only
    use_keys(app, NEW_KEY, None)
    assert read_everything(app, filled) == before


def test_a_missing_or_wrong_previous_key_is_refused_before_anything_changes(app, make):
    filled = fill(app, make)
    unchanged = census(app)
    for previous, shown in ((None, "not set"), (THIRD_KEY, THIRD_ID)):
        use_keys(app, NEW_KEY, previous)
        result = rotate(app)
        assert result.exit_code == 1, result.output
        assert (
            f"volunteers.id_number_enc: 3 value(s) under data key {OLD_ID}, which is neither "
            f"VERIFIER_DATA_KEY ({NEW_ID}) nor VERIFIER_DATA_KEY_PREVIOUS ({shown})"
        ) in result.output
        assert "nothing was changed" in result.output
        assert census(app) == unchanged
    # the app itself names the key a value is under
    with pytest.raises(DecryptionError, match=f"under data key {OLD_ID}, which is neither"):
        read_everything(app, filled)


@pytest.mark.parametrize(
    "previous, message",
    [
        ("not base64!", "VERIFIER_DATA_KEY_PREVIOUS must be base64"),
        ("AAAA", "VERIFIER_DATA_KEY_PREVIOUS must decode to 32 bytes"),
        (NEW_KEY, "VERIFIER_DATA_KEY_PREVIOUS is the same key as VERIFIER_DATA_KEY"),
    ],
)
def test_a_bad_previous_key_stops_the_command_with_status_2(
    monkeypatch, tmp_path, previous, message
):
    from click.testing import CliRunner

    from verifier.cli import main

    monkeypatch.setenv("VERIFIER_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("VERIFIER_SECRET_KEY", "s" * 32)
    monkeypatch.setenv("VERIFIER_DATA_KEY", NEW_KEY)
    monkeypatch.setenv("VERIFIER_DATA_KEY_PREVIOUS", previous)
    result = CliRunner().invoke(main, ["keys", "rotate-data-key"])
    assert result.exit_code == 2
    assert f"configuration error: {message}" in result.output


def test_values_no_key_reads_are_listed_and_left_as_they_are(app, make):
    """A format 1 value under a third key, and ID numbers swapped under the old key: the
    rotation re-encrypts the rest, names these rows and fails; it never launders a swap."""
    org = make.org()
    third = make.volunteer(org, id_number=make_resident_id(611))
    first = make.volunteer(org, id_number=make_resident_id(612))
    second = make.volunteer(org, id_number=make_resident_id(613))
    fine = make.volunteer(org, id_number=make_resident_id(614))
    with app.app_context():
        session = get_session()
        session.get(Volunteer, third.id).id_number_enc = legacy_blob(
            make_resident_id(611), "volunteers.id_number", THIRD_KEY
        )
        a, b = (session.get(Volunteer, v.id) for v in (first, second))
        a.id_number_enc, b.id_number_enc = b.id_number_enc, a.id_number_enc
        session.commit()
    use_keys(app, NEW_KEY, OLD_KEY)
    result = rotate(app)
    assert result.exit_code == 1, result.output
    assert f"volunteers/id_number_enc/{third.id}: the stored value (format 1" in result.output
    for swapped in (first, second):
        assert f"volunteers/id_number_enc/{swapped.id}: the stored value does not decrypt" in (
            result.output
        )
    assert "3 value(s) are not under data key" in result.output
    assert census(app)["volunteers.id_number_enc"] == {NEW_ID: 1, OLD_ID: 2, "format 1": 1}
    with app.app_context():
        assert reveal_id_number(get_session().get(Volunteer, fine.id)) == make_resident_id(614)


def test_a_legacy_id_number_still_reads_and_the_rotation_rewrites_it(app, make):
    number = make_resident_id(621)
    volunteer = make.volunteer(make.org(), id_number=number)
    with app.app_context():
        session = get_session()
        session.execute(
            text("UPDATE volunteers SET id_number_enc = :blob WHERE id = :id"),
            {"blob": legacy_blob(number, "volunteers.id_number"), "id": volunteer.id},
        )
        session.commit()
        assert reveal_id_number(session.get(Volunteer, volunteer.id)) == number
    assert census(app)["volunteers.id_number_enc"] == {"format 1": 1}
    result = rotate(app)  # no previous key: format 1 values are rewritten under the data key
    assert result.exit_code == 0, result.output
    assert census(app)["volunteers.id_number_enc"] == {OLD_ID: 1}
    with app.app_context():
        assert reveal_id_number(get_session().get(Volunteer, volunteer.id)) == number


def test_once_no_format_1_is_left_a_format_1_value_copied_into_a_row_is_refused(app, make):
    """A value from before the row binding (say, from an old backup) copied into another row
    reads there while format 1 is read; the rotation says when to stop reading it, and then it
    is refused instead of showing another person's number."""
    org = make.org()
    alice_number = make_resident_id(701)
    make.volunteer(org, id_number=alice_number)
    bob = make.volunteer(org, id_number=make_resident_id(702))
    old_alice_blob = legacy_blob(alice_number, "volunteers.id_number")
    result = rotate(app)
    assert result.exit_code == 0, result.output
    assert "VERIFIER_DATA_KEY_READ_FORMAT_1=false" in result.output
    with app.app_context():
        session = get_session()
        session.execute(
            text("UPDATE volunteers SET id_number_enc = :b WHERE id = :id"),
            {"b": old_alice_blob, "id": bob.id},
        )
        session.commit()
        # still read while the setting is on (a database upgraded but not yet rotated)
        assert reveal_id_number(session.get(Volunteer, bob.id)) == alice_number
    app.config["DATA_KEY_READ_FORMAT_1"] = False
    with app.app_context(), pytest.raises(DecryptionError, match="format 1"):
        reveal_id_number(get_session().get(Volunteer, bob.id))

"""Ciphertexts are bound to their table, column and row: a database writer cannot swap them."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from support import make_resident_id

from verifier.crypto.encryption import DecryptionError
from verifier.db import get_session
from verifier.keys.models import SigningKey
from verifier.keys.services import create_key, private_key_of
from verifier.volunteers.models import Volunteer
from verifier.volunteers.services import reveal_id_number


def swap(app, table, column, first_id, second_id):
    """Exchange two rows' stored values with plain SQL, as a database writer could."""
    with app.app_context():
        session = get_session()
        values = dict(
            session.execute(
                text(f"SELECT id, {column} FROM {table} WHERE id IN (:a, :b)"),  # noqa: S608
                {"a": first_id, "b": second_id},
            ).all()
        )
        for row_id, other in ((first_id, second_id), (second_id, first_id)):
            session.execute(
                text(f"UPDATE {table} SET {column} = :value WHERE id = :id"),  # noqa: S608
                {"value": values[other], "id": row_id},
            )
        session.commit()


def test_swapped_id_numbers_fail_to_decrypt_instead_of_changing_places(app, make):
    org = make.org()
    first = make.volunteer(org, id_number=make_resident_id(501))
    second = make.volunteer(org, id_number=make_resident_id(502))
    swap(app, "volunteers", "id_number_enc", first.id, second.id)
    with app.app_context():
        session = get_session()
        for volunteer in (first, second):
            with pytest.raises(
                DecryptionError,
                match=f"volunteers/id_number_enc/{volunteer.id}: .* copied from another row",
            ):
                reveal_id_number(session.get(Volunteer, volunteer.id))
    # the commands that read ID numbers stop and name the row, nothing read wrongly
    runner = app.test_cli_runner()
    result = runner.invoke(args=["volunteers", "duplicates"])
    assert result.exit_code == 2, result.output
    assert f"volunteers/id_number_enc/{first.id}" in result.output


def test_a_phone_copied_into_the_id_number_column_does_not_decrypt(app, make):
    volunteer = make.volunteer(make.org(), phone="13812345678")
    with app.app_context():
        session = get_session()
        session.execute(
            text("UPDATE volunteers SET id_number_enc = phone_enc WHERE id = :id"),
            {"id": volunteer.id},
        )
        session.commit()
        with pytest.raises(DecryptionError, match="altered, or copied"):
            reveal_id_number(session.get(Volunteer, volunteer.id))


def test_swapped_private_keys_fail_to_decrypt(app):
    with app.app_context():
        session = get_session()
        first, second = create_key(session), create_key(session)
        session.commit()
        ids = first.id, second.id
    swap(app, "signing_keys", "private_key_enc", *ids)
    with app.app_context():
        session = get_session()
        for key_id in ids:
            with pytest.raises(DecryptionError, match=f"signing_keys/private_key_enc/{key_id}"):
                private_key_of(session.get(SigningKey, key_id))

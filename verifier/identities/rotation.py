"""A volunteer's identifiers under a new data key: re-encrypted, and the look-up key re-hashed.

`verifier keys rotate-data-key` calls `rotate_volunteer` for every volunteer, under the row's
lock. The look-up key is an HMAC keyed from the data key, so it changes with the ID number's
ciphertext, in the same row update: a row's look-up key is always under the key its ID number is.
"""

from __future__ import annotations

from contextlib import suppress

from verifier.crypto.encryption import get_cipher
from verifier.errors import ValidationError
from verifier.identities.duplicates import normal_form_of_stored
from verifier.volunteers.models import Volunteer
from verifier.volunteers.services import id_number_place, merged_lookup_value, phone_place


class StaleLookupKey(Exception):
    """A volunteer's look-up key is not the hash of its ID number under any configured key."""


def _hashed_values(volunteer: Volunteer, number: str) -> list[str]:
    """What the row's look-up key may be the hash of: a merged row's marker, the number as
    stored (rows from before normal forms were hashed as typed), the number in normal form."""
    values = [merged_lookup_value(volunteer.id)] if volunteer.merged_into_id is not None else []
    values.append(f"{volunteer.id_type}:{number}")
    with suppress(ValidationError):  # a number with no normal form was hashed as stored
        values.append(f"{volunteer.id_type}:{normal_form_of_stored(volunteer.id_type, number)}")
    return values


def rotated_lookup_key(volunteer: Volunteer, number: str) -> str:
    """Return the row's look-up key under the data key, hashing what its present key hashes."""
    cipher = get_cipher()
    for value in _hashed_values(volunteer, number):
        if volunteer.id_lookup in cipher.lookup_hashes(value):
            return cipher.lookup_hash(value)
    raise StaleLookupKey(
        f"volunteers/id_lookup/{volunteer.id}: the look-up key is not the hash of the stored ID "
        "number under VERIFIER_DATA_KEY or VERIFIER_DATA_KEY_PREVIOUS (edited in the database?); "
        "the row was left as it is"
    )


def rotate_volunteer(volunteer: Volunteer) -> int:
    """Re-encrypt the row's ID number (re-hashing its look-up key) and phone under the data
    key; return how many values changed. Raises DecryptionError or StaleLookupKey, changing
    nothing, when a value cannot be read."""
    cipher = get_cipher()
    changes: dict[str, bytes | str] = {}
    place = id_number_place(volunteer.id)
    if not cipher.is_current(volunteer.id_number_enc, place):
        number = cipher.open_text(volunteer.id_number_enc, place)
        changes["id_lookup"] = rotated_lookup_key(volunteer, number)
        changes["id_number_enc"] = cipher.seal_text(number, place)
    if volunteer.phone_enc is not None:
        resealed = cipher.reseal(volunteer.phone_enc, phone_place(volunteer.id))
        if resealed is not None:
            changes["phone_enc"] = resealed
    for attribute, value in changes.items():
        setattr(volunteer, attribute, value)
    return len(changes) - ("id_lookup" in changes)

"""Encryption at rest: the documented format, checked with a second implementation.

The key derivation is recomputed here with the standard library's HMAC (RFC 5869, checked
against the RFC's own test vector) and AES-GCM is called directly, so the module's format is
what docs/security.md says, not only whatever the module reads back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from verifier.crypto.encryption import DecryptionError, FieldCipher, Place, data_key_id

OLD = bytes(range(32))
NEW = bytes(range(100, 132))
PLACE = Place("volunteers", "id_number_enc", 42, "volunteers.id_number")


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def hkdf_sha256(ikm: bytes, info: bytes, length: int, salt: bytes = b"") -> bytes:
    """RFC 5869 with the standard library (an empty salt is HashLen zero bytes)."""
    prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out, counter = out + block, counter + 1
    return out[:length]


def test_our_hkdf_matches_rfc_5869_test_case_1():
    okm = hkdf_sha256(
        bytes.fromhex("0b" * 22),
        bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"),
        42,
        salt=bytes.fromhex("000102030405060708090a0b0c"),
    )
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def aes_key(master: bytes) -> bytes:
    return hkdf_sha256(master, b"verifier field encryption v1", 32)


def test_a_sealed_value_decrypts_with_aesgcm_given_the_documented_format():
    blob = FieldCipher(b64(NEW)).seal_text("110101199003074477", PLACE)
    key_id = hkdf_sha256(NEW, b"verifier data key id v1", 4)
    assert blob[:1] == b"\x02" and blob[1:5] == key_id
    assert data_key_id(NEW) == key_id.hex()
    nonce, sealed = blob[5:17], blob[17:]
    aad = blob[:5] + b"volunteers/id_number_enc/42"
    assert AESGCM(aes_key(NEW)).decrypt(nonce, sealed, aad) == b"110101199003074477"


def test_a_value_sealed_by_hand_in_the_documented_format_opens():
    header = b"\x02" + bytes.fromhex(data_key_id(NEW))
    nonce = os.urandom(12)
    aad = header + b"signing_keys/private_key_enc/7"
    blob = header + nonce + AESGCM(aes_key(NEW)).encrypt(nonce, b"z1234", aad)
    place = Place("signing_keys", "private_key_enc", 7, "signing_keys.private_key")
    assert FieldCipher(b64(NEW)).open_text(blob, place) == "z1234"


@pytest.mark.parametrize(
    "elsewhere",
    [
        Place("volunteers", "id_number_enc", 43, "volunteers.id_number"),  # another row
        Place("volunteers", "phone_enc", 42, "volunteers.phone"),  # another column
        Place("signing_keys", "id_number_enc", 42, "volunteers.id_number"),  # another table
    ],
    ids=["row", "column", "table"],
)
def test_a_value_moved_elsewhere_does_not_decrypt(elsewhere):
    cipher = FieldCipher(b64(NEW))
    blob = cipher.seal_text("110101199003074477", PLACE)
    with pytest.raises(DecryptionError, match=f"{elsewhere}: .*altered, or copied"):
        cipher.open(blob, elsewhere)


def test_the_key_id_is_authenticated_too():
    """Relabelling a value with the previous key's id is an alteration, not another key."""
    cipher = FieldCipher(b64(NEW), b64(OLD))
    blob = cipher.seal_text("secret", PLACE)
    relabelled = blob[:1] + bytes.fromhex(data_key_id(OLD)) + blob[5:]
    with pytest.raises(DecryptionError, match="altered"):
        cipher.open(relabelled, PLACE)


def test_a_legacy_value_reads_under_the_data_key_or_the_previous_one():
    """Format 1: 0x01, nonce, AES-GCM with the column label as associated data, no key id."""
    nonce = os.urandom(12)
    legacy = (
        b"\x01"
        + nonce
        + AESGCM(aes_key(OLD)).encrypt(nonce, b"13812345678", b"volunteers.id_number")
    )
    assert FieldCipher(b64(OLD)).open_text(legacy, PLACE) == "13812345678"
    rotating = FieldCipher(b64(NEW), b64(OLD))
    assert rotating.open_text(legacy, PLACE) == "13812345678"
    assert rotating.key_id_of(legacy, PLACE) is None and not rotating.is_current(legacy, PLACE)
    resealed = rotating.reseal(legacy, PLACE)
    assert (
        resealed is not None and FieldCipher(b64(NEW)).open_text(resealed, PLACE) == "13812345678"
    )
    with pytest.raises(DecryptionError, match="format 1, no key id"):
        FieldCipher(b64(NEW)).open(legacy, PLACE)
    with pytest.raises(DecryptionError, match="no longer read"):
        FieldCipher(b64(OLD), read_format_1=False).open(legacy, PLACE)


def test_a_value_under_an_unknown_key_names_the_key_ids():
    blob = FieldCipher(b64(OLD)).seal_text("secret", PLACE)
    cipher = FieldCipher(b64(NEW))
    message = (
        f"volunteers/id_number_enc/42: the stored value is under data key {data_key_id(OLD)}, "
        f"which is neither VERIFIER_DATA_KEY \\({data_key_id(NEW)}\\) nor "
        "VERIFIER_DATA_KEY_PREVIOUS \\(not set\\)"
    )
    with pytest.raises(DecryptionError, match=message) as caught:
        cipher.open(blob, PLACE)
    assert caught.value.key_id == data_key_id(OLD)
    # configured as the previous key, it reads; re-sealing moves it under the data key
    rotating = FieldCipher(b64(NEW), b64(OLD))
    assert rotating.open_text(blob, PLACE) == "secret"
    assert rotating.key_id_of(rotating.reseal(blob, PLACE), PLACE) == data_key_id(NEW)
    assert rotating.reseal(rotating.seal_text("x", PLACE), PLACE) is None  # already current


def test_look_up_hashes_under_both_keys_during_a_rotation():
    rotating = FieldCipher(b64(NEW), b64(OLD))
    expected_new = hmac.new(
        hkdf_sha256(NEW, b"verifier lookup hash v1", 32), b"resident_id:1", hashlib.sha256
    ).hexdigest()
    assert rotating.lookup_hash("resident_id:1") == expected_new
    assert rotating.lookup_hashes("resident_id:1") == [
        expected_new,
        FieldCipher(b64(OLD)).lookup_hash("resident_id:1"),
    ]


def test_a_value_cannot_be_sealed_before_its_row_has_an_id():
    with pytest.raises(ValueError, match="no row id"):
        Place("volunteers", "id_number_enc", None, "volunteers.id_number")  # type: ignore[arg-type]

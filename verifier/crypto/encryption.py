"""Encryption at rest (AES-256-GCM), bound to the place it is stored, and keyed look-up hashes.

Format 2, written since issue 8 (docs/security.md, "Ciphertexts at rest"):

    blob    = 0x02 || key id (4 bytes) || nonce (12 bytes) || ciphertext || tag (16 bytes)
    AES key = HKDF-SHA256(data key, no salt, info "verifier field encryption v1", 32 bytes)
    key id  = HKDF-SHA256(data key, no salt, info "verifier data key id v1", 4 bytes)
    AAD     = blob[0:5] || UTF-8 "<table>/<column>/<row id>", e.g. "volunteers/id_number_enc/42"

so a ciphertext copied to another row or column, or given another key id, does not decrypt.
Format 1 (before it, read only): 0x01 || nonce || ciphertext || tag, with a column label such as
"volunteers.id_number" as associated data and no key id; it is tried with the data key, then the
previous one, and `verifier keys rotate-data-key` rewrites it in format 2.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_LEGACY = b"\x01"
_VERSION = b"\x02"
_KEY_ID_BYTES = 4
_HEADER_BYTES = 1 + _KEY_ID_BYTES
_NONCE_BYTES = 12


class DecryptionError(Exception):
    """A stored ciphertext could not be decrypted: another key, another place, or altered."""

    def __init__(self, message: str, *, place: str = "", key_id: str | None = None) -> None:
        super().__init__(message)
        self.place = place
        self.key_id = key_id


@dataclass(frozen=True)
class Place:
    """Where a ciphertext is stored: its table, column and row id, bound as associated data."""

    table: str
    column: str
    row_id: int
    legacy_context: str  # the associated data of format 1, for values written before format 2

    def __post_init__(self) -> None:
        if not isinstance(self.row_id, int) or isinstance(self.row_id, bool):
            # the row must exist (be flushed) before its values are encrypted
            raise ValueError(f"{self.table}.{self.column}: no row id to bind the ciphertext to")

    def __str__(self) -> str:
        return f"{self.table}/{self.column}/{self.row_id}"


def _derive(master: bytes, purpose: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose).derive(master)


def data_key_id(master: bytes) -> str:
    """Return a data key's id (8 hex digits): names the key without revealing it."""
    return _derive(master, b"verifier data key id v1", _KEY_ID_BYTES).hex()


class _DataKey:
    def __init__(self, master_key_b64: str) -> None:
        master = base64.b64decode(master_key_b64)
        if len(master) != 32:
            raise ValueError("the data key must be 32 bytes")
        self.id = data_key_id(master)
        self.header = _VERSION + bytes.fromhex(self.id)
        self.aead = AESGCM(_derive(master, b"verifier field encryption v1"))
        self.lookup_key = _derive(master, b"verifier lookup hash v1")


class FieldCipher:
    """Encrypts stored secrets under the data key and reads them under it or the previous one."""

    def __init__(
        self, master_key_b64: str, previous_key_b64: str | None = None, read_format_1: bool = True
    ) -> None:
        self._current = _DataKey(master_key_b64)
        # format 1 is bound to its column only: a value copied from another row (or restored from
        # an old backup) would read there, so an operator turns it off once none is left
        self._read_format_1 = read_format_1
        self._previous = _DataKey(previous_key_b64) if previous_key_b64 else None
        if self._previous is not None and self._previous.id == self._current.id:
            raise ValueError("the previous data key must differ from the data key")

    @property
    def key_id(self) -> str:
        """The id of the data key new values are encrypted under."""
        return self._current.id

    @property
    def prefix(self) -> bytes:
        """The first bytes (version and key id) of every value sealed under the data key."""
        return self._current.header

    @property
    def previous_key_id(self) -> str | None:
        return self._previous.id if self._previous else None

    def _keys(self) -> list[_DataKey]:
        return [self._current] + ([self._previous] if self._previous else [])

    def seal(self, data: bytes, place: Place) -> bytes:
        """Encrypt bytes under the data key, bound to their place (format 2)."""
        header = self._current.header
        nonce = os.urandom(_NONCE_BYTES)
        aad = header + str(place).encode("utf-8")
        return header + nonce + self._current.aead.encrypt(nonce, data, aad)

    def seal_text(self, text: str, place: Place) -> bytes:
        """Encrypt text (UTF-8) under the data key, bound to its place."""
        return self.seal(text.encode("utf-8"), place)

    def open(self, blob: bytes, place: Place) -> bytes:
        """Decrypt what seal() wrote for this place (or a format 1 value); else DecryptionError."""
        blob = bytes(blob)
        if blob[:1] == _LEGACY:
            if not self._read_format_1:
                raise DecryptionError(
                    f"{place}: the stored value is in format 1 (not bound to its row), which is no "
                    "longer read (VERIFIER_DATA_KEY_READ_FORMAT_1 is false)",
                    place=str(place),
                )
            return self._open_legacy(blob, place)
        key = self._key_for(blob, place)
        nonce = blob[_HEADER_BYTES : _HEADER_BYTES + _NONCE_BYTES]
        sealed = blob[_HEADER_BYTES + _NONCE_BYTES :]
        try:
            return key.aead.decrypt(nonce, sealed, blob[:_HEADER_BYTES] + str(place).encode())
        except InvalidTag:
            raise DecryptionError(
                f"{place}: the stored value does not decrypt under data key {key.id}: it was "
                "altered, or copied from another row or column",
                place=str(place),
                key_id=key.id,
            ) from None

    def open_text(self, blob: bytes, place: Place) -> str:
        """Decrypt text that seal_text() wrote for this place."""
        return self.open(blob, place).decode("utf-8")

    def key_id_of(self, blob: bytes, place: Place) -> str | None:
        """Return the id of the key a value is under; None for format 1 (which names none)."""
        blob = bytes(blob)
        if blob[:1] == _LEGACY:
            return None
        if blob[:1] != _VERSION or len(blob) < _HEADER_BYTES:
            raise DecryptionError(
                f"{place}: the stored value is not a ciphertext of a known format",
                place=str(place),
            )
        return blob[1:_HEADER_BYTES].hex()

    def is_current(self, blob: bytes, place: Place) -> bool:
        """Tell whether a value is in format 2 under the data key (nothing to rotate)."""
        return self.key_id_of(blob, place) == self._current.id

    def reseal(self, blob: bytes, place: Place) -> bytes | None:
        """Return the value encrypted again under the data key; None when it already is."""
        if self.is_current(blob, place):
            return None
        return self.seal(self.open(blob, place), place)

    def _key_for(self, blob: bytes, place: Place) -> _DataKey:
        key_id = self.key_id_of(blob, place)
        for key in self._keys():
            if key.id == key_id:
                return key
        previous = self._previous.id if self._previous else "not set"
        raise DecryptionError(
            f"{place}: the stored value is under data key {key_id}, which is neither "
            f"VERIFIER_DATA_KEY ({self._current.id}) nor VERIFIER_DATA_KEY_PREVIOUS ({previous})",
            place=str(place),
            key_id=key_id,
        )

    def _open_legacy(self, blob: bytes, place: Place) -> bytes:
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        for key in self._keys():
            try:
                return key.aead.decrypt(nonce, sealed, place.legacy_context.encode("utf-8"))
            except InvalidTag:
                continue
        raise DecryptionError(
            f"{place}: the stored value (format 1, no key id) decrypts under neither "
            "VERIFIER_DATA_KEY nor VERIFIER_DATA_KEY_PREVIOUS, or was altered",
            place=str(place),
        )

    def lookup_hash(self, value: str) -> str:
        """Return a keyed hash (HMAC-SHA256, hex) that finds equal values without decrypting."""
        return self._lookup(self._current, value)

    def lookup_hashes(self, value: str) -> list[str]:
        """Return the value's look-up hash under the data key, then under the previous one."""
        return [self._lookup(key, value) for key in self._keys()]

    @staticmethod
    def _lookup(key: _DataKey, value: str) -> str:
        return hmac.new(key.lookup_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def get_cipher() -> FieldCipher:
    """Return the app's cipher, made from VERIFIER_DATA_KEY (and VERIFIER_DATA_KEY_PREVIOUS)."""
    keys = (
        current_app.config["DATA_KEY"],
        current_app.config.get("DATA_KEY_PREVIOUS"),
        bool(current_app.config.get("DATA_KEY_READ_FORMAT_1", True)),
    )
    cached = current_app.extensions.get("verifier.cipher")
    if cached is None or cached[0] != keys:
        cached = (keys, FieldCipher(*keys))
        current_app.extensions["verifier.cipher"] = cached
    return cached[1]


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 of bytes as hex."""
    return hashlib.sha256(data).hexdigest()

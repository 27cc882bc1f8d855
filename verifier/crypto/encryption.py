"""Encryption at rest (AES-256-GCM) and keyed look-up hashes for personal identifiers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_VERSION = b"\x01"
_NONCE_BYTES = 12


class DecryptionError(Exception):
    """A stored ciphertext could not be decrypted with the configured key."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


class FieldCipher:
    """Encrypts personal fields and computes their keyed look-up hashes from one master key."""

    def __init__(self, master_key_b64: str) -> None:
        master = base64.b64decode(master_key_b64)
        if len(master) != 32:
            raise ValueError("the data key must be 32 bytes")
        self._aead = AESGCM(_derive(master, b"verifier field encryption v1"))
        self._lookup_key = _derive(master, b"verifier lookup hash v1")

    def encrypt(self, plaintext: str, context: str) -> bytes:
        """Encrypt text; the context (e.g. a column name) is bound as associated data."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return _VERSION + nonce + sealed

    def decrypt(self, blob: bytes, context: str) -> str:
        """Decrypt what encrypt() produced for the same context."""
        if not blob or blob[:1] != _VERSION:
            raise DecryptionError("unknown ciphertext version")
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, context.encode("utf-8")).decode("utf-8")
        except InvalidTag as exc:
            raise DecryptionError("ciphertext does not match the key or was altered") from exc

    def encrypt_bytes(self, data: bytes, context: str) -> bytes:
        """Encrypt bytes (a stored upload); the context is bound as associated data."""
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, data, context.encode("utf-8"))

    def decrypt_bytes(self, blob: bytes, context: str) -> bytes:
        """Decrypt what encrypt_bytes() produced for the same context."""
        if not blob or blob[:1] != _VERSION:
            raise DecryptionError("unknown ciphertext version")
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, context.encode("utf-8"))
        except InvalidTag as exc:
            raise DecryptionError("ciphertext does not match the key or was altered") from exc

    def lookup_hash(self, value: str) -> str:
        """Return a keyed hash (HMAC-SHA256, hex) that finds equal values without decrypting."""
        return hmac.new(self._lookup_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def get_cipher() -> FieldCipher:
    """Return the app's cipher for stored secrets, made once from VERIFIER_DATA_KEY."""
    cipher = current_app.extensions.get("verifier.cipher")
    if cipher is None:
        cipher = FieldCipher(current_app.config["DATA_KEY"])
        current_app.extensions["verifier.cipher"] = cipher
    return cipher


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 of bytes as hex."""
    return hashlib.sha256(data).hexdigest()

"""Exceptions raised by the signing module; no library exception escapes it."""

from __future__ import annotations


class CryptoError(Exception):
    """Base of every error raised by verifier.crypto.signing."""


class MalformedToken(CryptoError):
    """A compact JWS is not well formed or uses a header this service does not accept."""


class MalformedKey(CryptoError):
    """A key's serialised form (raw bytes, JWK or multibase) is not a valid Ed25519 key."""


class MalformedProof(CryptoError):
    """A Data Integrity proof, or the document it secures, is not well formed."""


class UnknownKey(CryptoError):
    """No public key is known for the key identifier a token or proof names."""

    def __init__(self, message: str, *, key_id: str | None = None) -> None:
        super().__init__(message)
        self.key_id = key_id


class InvalidSignature(CryptoError):
    """A signature does not match the signed content and the named key."""

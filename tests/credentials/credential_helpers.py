"""Helpers for the credential tests: issue a certificate, and check proofs and status lists
by following the specifications, independently of verifier.crypto and verifier.credentials."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + B58.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def public_key_from_did(did_document: dict[str, Any], method_id: str) -> Ed25519PublicKey:
    """Find a verification method in a DID document and load its Multikey (ed25519-pub)."""
    method = next(m for m in did_document["verificationMethod"] if m["id"] == method_id)
    assert method["type"] == "Multikey"
    multibase = method["publicKeyMultibase"]
    assert multibase.startswith("z")
    raw = b58decode(multibase[1:])
    assert raw[:2] == b"\xed\x01" and len(raw) == 34
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def verify_eddsa_jcs_2022(document: dict[str, Any], did_document: dict[str, Any]) -> None:
    """Verify a document's eddsa-jcs-2022 proof (vc-di-eddsa, section 3.3); raise on failure.

    A proof set (an array, VC 2.0) holds exactly one proof here; each proof of a set signs the
    document without its `proof` member (Data Integrity, proof sets).
    """
    proof = document["proof"]
    if isinstance(proof, list):
        assert len(proof) == 1
        proof = proof[0]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-jcs-2022"
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["verificationMethod"] in did_document["assertionMethod"]
    public_key = public_key_from_did(did_document, proof["verificationMethod"])
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    config = {name: value for name, value in proof.items() if name != "proofValue"}
    assert config["@context"] == unsecured["@context"]
    hash_data = (
        hashlib.sha256(rfc8785.dumps(config)).digest()
        + hashlib.sha256(rfc8785.dumps(unsecured)).digest()
    )
    assert proof["proofValue"].startswith("z")
    signature = b58decode(proof["proofValue"][1:])
    assert len(signature) == 64
    public_key.verify(signature, hash_data)  # raises cryptography's InvalidSignature


def decode_status_list(encoded: str) -> bytes:
    """Decode an encodedList: multibase 'u' (base64url, no padding), then GZIP."""
    assert encoded.startswith("u")
    text = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def bit(bits: bytes, index: int) -> int:
    """Return the bit at an index, the first index being the left-most (MSB) bit."""
    return (bits[index // 8] >> (7 - index % 8)) & 1


def vc_json(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/vc"
    return json.loads(response.get_data(as_text=True))


def did_web_path(did: str) -> str:
    """Resolve a did:web to the path of its DID document (did:web method, section 3.2.1)."""
    assert did.startswith("did:web:")
    segments = did[len("did:web:") :].split("#", 1)[0].split(":")
    path = "/".join(segments[1:])  # the first segment is the host (a port as %3A)
    return f"/{path}/did.json" if path else "/.well-known/did.json"


def resolve_did(client: Any, did_url: str) -> dict[str, Any]:
    """Fetch the DID document a DID URL (a verificationMethod) names, through the app."""
    response = client.get(did_web_path(did_url))
    assert response.status_code == 200, response.get_data(as_text=True)
    document: dict[str, Any] = response.get_json()
    assert document["id"] == did_url.split("#", 1)[0]
    return document

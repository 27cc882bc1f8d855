"""Ed25519 keys, compact JWS tokens (EdDSA) and eddsa-jcs-2022 Data Integrity proofs."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import rfc8785
from cryptography import exceptions as library_errors
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from verifier.crypto.errors import (
    InvalidSignature,
    MalformedKey,
    MalformedProof,
    MalformedToken,
    UnknownKey,
)

ALGORITHM = "EdDSA"
# What a verifier accepts: "EdDSA" and its fully specified successor "Ed25519" (RFC 9864), both
# meaning an Ed25519 signature here. Issuing keeps "EdDSA" while major JOSE libraries catch up
# (docs/verification.md).
ACCEPTED_ALGORITHMS = frozenset({ALGORITHM, "Ed25519"})
# Explicit typing (RFC 8725, section 3.11): a certificate token can never be taken for another
# kind of JWT signed by the same key. "vsc" stands for volunteer service certificate; the value
# is short because every header byte ends up in the QR code.
TOKEN_TYPE = "vsc+jwt"  # noqa: S105 (a media type, not a secret)
# The audit log's signed checkpoints (docs/audit.md): same key ring, another explicit type.
CHECKPOINT_TYPE = "audit-checkpoint+jwt"
# The root's endorsement of an organisation's key, and the trust list of every endorsed key
# (docs/verification.md, "Two levels of keys").
ENDORSEMENT_TYPE = "vsc-key-endorsement+jwt"
TRUST_LIST_TYPE = "vsc-trust-list+json"
MAX_TOKEN_LENGTH = 4096
MAX_KID_LENGTH = 128
KEY_LENGTH = 32
SIGNATURE_LENGTH = 64
_HEADER_MEMBERS = frozenset({"alg", "kid", "typ"})

CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_TYPE = "DataIntegrityProof"

# Multicodec prefixes (unsigned varints) of Multikey values: ed25519-pub 0xed, ed25519-priv 0x1300.
_ED25519_PUB_PREFIX = b"\xed\x01"
_ED25519_PRIV_PREFIX = b"\x80\x26"
_MAX_MULTIBASE_LENGTH = 256

_B64URL_TEXT = re.compile(r"[A-Za-z0-9_-]*")
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: index for index, char in enumerate(_B58_ALPHABET)}

PublicKeyLookup = Callable[[str], Ed25519PublicKey | None]


# --- encodings --------------------------------------------------------------------------------


def b64url_encode(data: bytes) -> str:
    """Encode bytes as unpadded base64url (RFC 7515, section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: object, what: str, error: type[Exception]) -> bytes:
    # Only the canonical encoding is accepted, so one value has exactly one textual form.
    if not isinstance(text, str) or not _B64URL_TEXT.fullmatch(text) or len(text) % 4 == 1:
        raise error(f"the {what} is not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise error(f"the {what} is not base64url") from exc
    if b64url_encode(data) != text:
        raise error(f"the {what} is not canonical base64url")
    return data


def base58btc_encode(data: bytes) -> str:
    """Encode bytes in base58 with the Bitcoin alphabet."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(_B58_ALPHABET[remainder])
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + "".join(reversed(digits))


def base58btc_decode(text: str) -> bytes:
    """Decode base58 text with the Bitcoin alphabet; raise ValueError on a foreign character."""
    number = 0
    for char in text:
        index = _B58_INDEX.get(char)
        if index is None:
            raise ValueError(f"{char!r} is not a base58btc character")
        number = number * 58 + index
    leading_zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * leading_zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def _multibase_decode(text: Any, what: str, error: type[Exception]) -> bytes:
    if not isinstance(text, str) or not text.startswith("z"):
        raise error(f"the {what} is not base58btc multibase (it must start with 'z')")
    if len(text) > _MAX_MULTIBASE_LENGTH:
        raise error(f"the {what} is too long")
    try:
        return base58btc_decode(text[1:])
    except ValueError as exc:
        raise error(f"the {what} is not base58btc: {exc}") from exc


def canonical_json(value: Any) -> bytes:
    """Serialise JSON compactly, keys sorted, as UTF-8 without ASCII escapes."""
    return json.dumps(
        value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


# --- keys -------------------------------------------------------------------------------------


def generate_private_key() -> Ed25519PrivateKey:
    """Generate a new Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def private_key_to_raw(private_key: Ed25519PrivateKey) -> bytes:
    """Return the 32-byte raw seed of a private key."""
    return private_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )


def private_key_from_raw(raw: bytes) -> Ed25519PrivateKey:
    """Load a private key from its 32-byte raw seed."""
    if not isinstance(raw, bytes | bytearray) or len(raw) != KEY_LENGTH:
        raise MalformedKey(f"an Ed25519 private key is {KEY_LENGTH} raw bytes")
    return Ed25519PrivateKey.from_private_bytes(bytes(raw))


def public_key_to_raw(public_key: Ed25519PublicKey) -> bytes:
    """Return the 32-byte raw encoding of a public key."""
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_from_raw(raw: bytes) -> Ed25519PublicKey:
    """Load a public key from its 32-byte raw encoding."""
    if not isinstance(raw, bytes | bytearray) or len(raw) != KEY_LENGTH:
        raise MalformedKey(f"an Ed25519 public key is {KEY_LENGTH} raw bytes")
    try:
        return Ed25519PublicKey.from_public_bytes(bytes(raw))
    except ValueError as exc:
        raise MalformedKey("the bytes are not an Ed25519 public key") from exc


def jwk_thumbprint(public_key: Ed25519PublicKey) -> str:
    """Return the RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(public_key_to_raw(public_key))}
    return b64url_encode(hashlib.sha256(canonical_json(members)).digest())


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """Return the public key as a JWK whose kid is its thumbprint, for a JWKS."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url_encode(public_key_to_raw(public_key)),
        "kid": jwk_thumbprint(public_key),
        "alg": ALGORITHM,
        "use": "sig",
    }


def public_key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    """Load an Ed25519 public key from a JWK, checking that any kid is its thumbprint."""
    if not isinstance(jwk, Mapping):
        raise MalformedKey("a JWK is a JSON object")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise MalformedKey("the JWK is not an Ed25519 key (kty OKP, crv Ed25519)")
    if "d" in jwk:
        raise MalformedKey("the JWK holds private key material")
    public_key = public_key_from_raw(_b64url_decode(jwk.get("x"), "JWK member x", MalformedKey))
    if "kid" in jwk and jwk["kid"] != jwk_thumbprint(public_key):
        raise MalformedKey("the JWK's kid is not its RFC 7638 thumbprint")
    return public_key


def key_lookup_from_jwks(jwks: Mapping[str, Any]) -> PublicKeyLookup:
    """Return a kid-to-key lookup over the Ed25519 keys of a JWKS; other key types are ignored."""
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        raise MalformedKey("a JWKS is an object with a 'keys' array")
    by_kid: dict[str, Ed25519PublicKey] = {}
    for jwk in keys:
        if isinstance(jwk, Mapping) and jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            public_key = public_key_from_jwk(jwk)
            by_kid[jwk_thumbprint(public_key)] = public_key
    return by_kid.get


def public_key_to_multibase(public_key: Ed25519PublicKey) -> str:
    """Return the Multikey (base58btc multibase, ed25519-pub multicodec) of a public key."""
    return "z" + base58btc_encode(_ED25519_PUB_PREFIX + public_key_to_raw(public_key))


def public_key_from_multibase(text: str) -> Ed25519PublicKey:
    """Load a public key from its Multikey form."""
    data = _multibase_decode(text, "public key multibase", MalformedKey)
    if len(data) != 2 + KEY_LENGTH or not data.startswith(_ED25519_PUB_PREFIX):
        raise MalformedKey("the multibase value is not an Ed25519 public key (multicodec 0xed)")
    return public_key_from_raw(data[2:])


def private_key_to_multibase(private_key: Ed25519PrivateKey) -> str:
    """Return the Multikey (base58btc multibase, ed25519-priv multicodec) of a private key."""
    return "z" + base58btc_encode(_ED25519_PRIV_PREFIX + private_key_to_raw(private_key))


def private_key_from_multibase(text: str) -> Ed25519PrivateKey:
    """Load a private key from its Multikey form."""
    data = _multibase_decode(text, "private key multibase", MalformedKey)
    if len(data) != 2 + KEY_LENGTH or not data.startswith(_ED25519_PRIV_PREFIX):
        raise MalformedKey("the multibase value is not an Ed25519 private key (multicodec 0x1300)")
    return private_key_from_raw(data[2:])


def _resolve(public_key_lookup: PublicKeyLookup, key_id: str) -> Ed25519PublicKey:
    try:
        public_key = public_key_lookup(key_id)
    except KeyError:
        public_key = None
    if public_key is None:
        raise UnknownKey("no public key is known for this key identifier", key_id=key_id)
    if not isinstance(public_key, Ed25519PublicKey):
        raise MalformedKey("the key found for this key identifier is not an Ed25519 public key")
    return public_key


def _verify(public_key: Ed25519PublicKey, signature: bytes, data: bytes, what: str) -> None:
    try:
        public_key.verify(signature, data)
    except library_errors.InvalidSignature:
        # Raised from None: the library's exception must not travel with ours.
        raise InvalidSignature(f"the signature does not match the {what} and key") from None


# --- compact JWS ------------------------------------------------------------------------------


class DecodedJWS(NamedTuple):
    """A compact JWS split into its parts; the signature is not yet checked."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


def _check_kid(kid: Any) -> None:
    if not isinstance(kid, str) or not kid:
        raise MalformedToken("the header has no kid (a non-empty string)")
    if len(kid) > MAX_KID_LENGTH:
        raise MalformedToken(f"the header's kid is longer than {MAX_KID_LENGTH} characters")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError(f"duplicate member {name!r}")
        result[name] = value
    return result


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _parse_json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedToken(f"the {what} is not UTF-8") from exc
    try:
        value = json.loads(
            text, object_pairs_hook=_object_without_duplicates, parse_constant=_reject_constant
        )
    except (ValueError, RecursionError) as exc:
        raise MalformedToken(f"the {what} is not valid JSON") from exc
    if not isinstance(value, dict):
        raise MalformedToken(f"the {what} is not a JSON object")
    return value


def _check_header(header: dict[str, Any], typ: str) -> None:
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ACCEPTED_ALGORITHMS:
        raise MalformedToken(
            f"the alg must be {ALGORITHM} or Ed25519; {str(alg)[:20]!r} is not accepted"
        )
    _check_kid(header.get("kid"))
    if header.get("typ") != typ:
        raise MalformedToken(f"the typ must be {typ}")
    # crit, jwk, jku, x5u, x5c and b64 would each change how a token is checked; none is used.
    unexpected = sorted(set(header) - _HEADER_MEMBERS)
    if unexpected:
        raise MalformedToken(f"the header member {unexpected[0][:20]!r} is not accepted")


def decode_compact_jws(
    token: str, typ: str = TOKEN_TYPE, *, max_length: int = MAX_TOKEN_LENGTH
) -> DecodedJWS:
    """Split and parse a compact JWS without checking its signature; raise MalformedToken."""
    if not isinstance(token, str):
        raise MalformedToken("a token is text")
    if len(token) > max_length:
        raise MalformedToken(f"the token is longer than {max_length} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken(f"a compact JWS has 3 parts separated by '.', not {len(parts)}")
    header_b64, payload_b64, signature_b64 = parts
    header = _parse_json_object(_b64url_decode(header_b64, "header", MalformedToken), "header")
    _check_header(header, typ)
    payload = _parse_json_object(_b64url_decode(payload_b64, "payload", MalformedToken), "payload")
    signature = _b64url_decode(signature_b64, "signature", MalformedToken)
    if len(signature) != SIGNATURE_LENGTH:
        raise MalformedToken(f"an Ed25519 signature is {SIGNATURE_LENGTH} bytes")
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    return DecodedJWS(header, payload, signing_input, signature)


def sign_compact_jws(
    payload: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    kid: str,
    typ: str = TOKEN_TYPE,
    *,
    max_length: int = MAX_TOKEN_LENGTH,
) -> str:
    """Sign a JSON object as a compact JWS (alg EdDSA, typ vsc+jwt unless given, kid)."""
    if not isinstance(payload, Mapping):
        raise TypeError("a JWS payload is a JSON object")
    _check_kid(kid)
    header = {"alg": ALGORITHM, "kid": kid, "typ": typ}
    signing_input = (
        b64url_encode(canonical_json(header)) + "." + b64url_encode(canonical_json(dict(payload)))
    )
    signature = private_key.sign(signing_input.encode("ascii"))
    token = signing_input + "." + b64url_encode(signature)
    if len(token) > max_length:
        raise MalformedToken(f"the signed token would exceed {max_length} characters")
    return token


def verify_compact_jws(
    token: str,
    public_key_lookup: PublicKeyLookup,
    typ: str = TOKEN_TYPE,
    *,
    max_length: int = MAX_TOKEN_LENGTH,
) -> DecodedJWS:
    """Check a compact JWS of a type against the key its kid names; return its parsed parts."""
    decoded = decode_compact_jws(token, typ, max_length=max_length)
    public_key = _resolve(public_key_lookup, decoded.header["kid"])
    _verify(public_key, decoded.signature, decoded.signing_input, "token")
    return decoded


def sign_flattened_jws(
    payload: Mapping[str, Any], private_key: Ed25519PrivateKey, kid: str, typ: str
) -> dict[str, str]:
    """Sign a JSON object as a flattened JWS JSON serialisation (RFC 7515, section 7.2.2)."""
    _check_kid(kid)
    protected = b64url_encode(canonical_json({"alg": ALGORITHM, "kid": kid, "typ": typ}))
    body = b64url_encode(canonical_json(dict(payload)))
    signature = private_key.sign(f"{protected}.{body}".encode("ascii"))
    return {"protected": protected, "payload": body, "signature": b64url_encode(signature)}


def decode_flattened_jws(document: Any, typ: str) -> DecodedJWS:
    """Parse a flattened JWS JSON serialisation without checking its signature."""
    if not isinstance(document, Mapping):
        raise MalformedToken("a flattened JWS is a JSON object")
    members = set(document)
    if members != {"protected", "payload", "signature"}:
        raise MalformedToken(
            "a flattened JWS has exactly the members protected, payload and signature"
        )
    protected, body, signature_b64 = (
        document["protected"],
        document["payload"],
        document["signature"],
    )
    header = _parse_json_object(_b64url_decode(protected, "header", MalformedToken), "header")
    _check_header(header, typ)
    payload = _parse_json_object(_b64url_decode(body, "payload", MalformedToken), "payload")
    signature = _b64url_decode(signature_b64, "signature", MalformedToken)
    if len(signature) != SIGNATURE_LENGTH:
        raise MalformedToken(f"an Ed25519 signature is {SIGNATURE_LENGTH} bytes")
    return DecodedJWS(header, payload, f"{protected}.{body}".encode("ascii"), signature)


def verify_flattened_jws(document: Any, public_key_lookup: PublicKeyLookup, typ: str) -> DecodedJWS:
    """Check a flattened JWS of a type against the key its kid names; return its parsed parts."""
    decoded = decode_flattened_jws(document, typ)
    public_key = _resolve(public_key_lookup, decoded.header["kid"])
    _verify(public_key, decoded.signature, decoded.signing_input, "document")
    return decoded


# --- Data Integrity, cryptosuite eddsa-jcs-2022 (W3C vc-di-eddsa) ------------------------------


def _jcs(value: Any, what: str) -> bytes:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise MalformedProof(f"the {what} cannot be canonicalised with JCS: {exc}") from exc


def _hash_data(unsecured_document: Mapping[str, Any], proof_config: Mapping[str, Any]) -> bytes:
    proof_config_hash = hashlib.sha256(_jcs(dict(proof_config), "proof configuration")).digest()
    document_hash = hashlib.sha256(_jcs(dict(unsecured_document), "document")).digest()
    return proof_config_hash + document_hash


def _proof_config(
    unsecured_document: Mapping[str, Any], options: Mapping[str, Any]
) -> dict[str, Any]:
    config = {name: value for name, value in options.items() if name != "proofValue"}
    if config.get("type") != PROOF_TYPE or config.get("cryptosuite") != CRYPTOSUITE:
        raise MalformedProof(f"the proof is not a {PROOF_TYPE} with cryptosuite {CRYPTOSUITE}")
    if "@context" in unsecured_document:
        config["@context"] = unsecured_document["@context"]
    return config


def _xsd_datetime(moment: datetime | str | None) -> str:
    if moment is None:
        moment = datetime.now(UTC)
    if isinstance(moment, str):
        return moment
    if moment.tzinfo is None:
        raise ValueError("the proof's created time must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_data_integrity_proof(
    document: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    *,
    verification_method: str,
    created: datetime | str | None = None,
    proof_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """Return a copy of a JSON document secured with an eddsa-jcs-2022 proof."""
    if "proof" in document:
        raise MalformedProof("the document already has a proof; proof sets are not supported")
    options = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": _xsd_datetime(created),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    proof_config = _proof_config(document, options)
    signature = private_key.sign(_hash_data(document, proof_config))
    return {**document, "proof": {**proof_config, "proofValue": "z" + base58btc_encode(signature)}}


def verify_data_integrity_proof(
    document: Mapping[str, Any], public_key_lookup: PublicKeyLookup
) -> dict[str, Any]:
    """Check a document's eddsa-jcs-2022 proof with the key its verificationMethod names."""
    proof = document.get("proof") if isinstance(document, Mapping) else None
    if not isinstance(proof, Mapping):
        raise MalformedProof("the document has no proof object")
    verification_method = proof.get("verificationMethod")
    if not isinstance(verification_method, str) or not verification_method:
        raise MalformedProof("the proof has no verificationMethod")
    signature = _multibase_decode(proof.get("proofValue"), "proofValue", MalformedProof)
    if len(signature) != SIGNATURE_LENGTH:
        raise MalformedProof(f"an Ed25519 proofValue is {SIGNATURE_LENGTH} bytes")
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    if "@context" in proof:
        # The proof's context must be a prefix of the document's (vc-di-eddsa, Verify Proof).
        proof_context = _as_list(proof["@context"])
        if _as_list(unsecured.get("@context"))[: len(proof_context)] != proof_context:
            raise InvalidSignature("the document's @context does not start with the proof's")
        unsecured["@context"] = proof["@context"]
    proof_config = _proof_config(unsecured, proof)
    public_key = _resolve(public_key_lookup, verification_method)
    _verify(public_key, signature, _hash_data(unsecured, proof_config), "document")
    return dict(proof)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]

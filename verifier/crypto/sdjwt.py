"""SD-JWT (RFC 9901): selectively disclosable claims under the issuer's Ed25519 signature.

Pure functions, no database: an outside verifier can reimplement them from RFC 9901 alone
(docs/selective-disclosure.md walks through it). An SD-JWT here is
`<issuer-signed JWT>~<disclosure>~...~`; a presentation is the same with some disclosures left
out. Key binding (a KB-JWT after the last `~`) is not used: holders have no keys, so an SD-JWT or
presentation with one is refused.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.crypto import signing
from verifier.crypto.errors import MalformedToken

SD_JWT_TYPE = "vsc+sd-jwt"
DIGEST_ALG = "sha-256"
SALT_BYTES = 16  # 128 bits, as RFC 9901 section 9.3 recommends
SEPARATOR = "~"
SD = "_sd"
SD_ALG = "_sd_alg"
ARRAY_DIGEST = "..."
MAX_ISSUER_JWT_LENGTH = 16_384
MAX_SD_JWT_LENGTH = 65_536
MAX_DISCLOSURES = 256
MAX_DISCLOSURE_LENGTH = 4_096
_RESERVED_NAMES = frozenset({SD, SD_ALG, ARRAY_DIGEST})


class Disclosure(NamedTuple):
    """One disclosure: its encoded text, its digest, the claim name (None in an array), value."""

    encoded: str
    digest: str
    name: str | None
    value: Any


class VerifiedSdJwt(NamedTuple):
    """An SD-JWT or presentation whose signature and disclosures were checked."""

    header: dict[str, Any]
    payload: dict[str, Any]  # as signed: digests, no disclosed values
    claims: dict[str, Any]  # the disclosed claims in place, undisclosed ones absent
    disclosures: list[Disclosure]
    issuer_jwt: str


def disclosure_digest(encoded: str) -> str:
    """Return the base64url SHA-256 of a disclosure's encoded text (RFC 9901, section 4.2.3)."""
    return signing.b64url_encode(hashlib.sha256(encoded.encode("ascii")).digest())


def make_disclosure(value: Any, name: str | None = None, salt: str | None = None) -> Disclosure:
    """Make the disclosure of an object property (with a name) or of an array element."""
    if name is not None and name in _RESERVED_NAMES:
        raise ValueError(f"{name!r} cannot be a disclosed claim's name")
    salt = salt if salt is not None else signing.b64url_encode(secrets.token_bytes(SALT_BYTES))
    parts = [salt, value] if name is None else [salt, name, value]
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    encoded = signing.b64url_encode(text.encode("utf-8"))
    return Disclosure(encoded, disclosure_digest(encoded), name, value)


def issue_sd_jwt(
    claims: Mapping[str, Any],
    *,
    disclosable: Mapping[str, Any],
    disclosable_items: Mapping[str, Sequence[Any]],
    private_key: Ed25519PrivateKey,
    kid: str,
) -> str:
    """Sign claims as an SD-JWT: `disclosable` claims and each `disclosable_items` element hidden.

    Always-visible claims go in `claims`. Each disclosable top-level claim becomes a digest in
    `_sd` (sorted, so their order says nothing); each disclosable array is signed as an array of
    `{"...": digest}`, one per element, in order.
    """
    payload = dict(claims)
    overlap = (set(disclosable) | set(disclosable_items)) & (set(payload) | _RESERVED_NAMES)
    if overlap or set(disclosable) & set(disclosable_items):
        raise ValueError("a claim is either always visible or disclosable, once")
    disclosures = [make_disclosure(value, name) for name, value in disclosable.items()]
    payload[SD] = sorted(d.digest for d in disclosures)
    for name, items in disclosable_items.items():
        elements = [make_disclosure(item) for item in items]
        payload[name] = [{ARRAY_DIGEST: d.digest} for d in elements]
        disclosures.extend(elements)
    payload[SD_ALG] = DIGEST_ALG
    jwt = signing.sign_compact_jws(
        payload, private_key, kid, SD_JWT_TYPE, max_length=MAX_ISSUER_JWT_LENGTH
    )
    return jwt + SEPARATOR + "".join(d.encoded + SEPARATOR for d in disclosures)


def split_sd_jwt(text: str) -> tuple[str, list[str]]:
    """Split an SD-JWT or presentation into its issuer-signed JWT and encoded disclosures."""
    if not isinstance(text, str):
        raise MalformedToken("an SD-JWT is text")
    if len(text) > MAX_SD_JWT_LENGTH:
        raise MalformedToken(f"the SD-JWT is longer than {MAX_SD_JWT_LENGTH} characters")
    parts = text.split(SEPARATOR)
    if len(parts) < 2:
        raise MalformedToken("an SD-JWT is a JWT followed by '~' and its disclosures")
    if parts[-1]:
        raise MalformedToken(
            "the SD-JWT ends with a key binding JWT; key binding is not used, it must end with '~'"
        )
    jwt, encoded = parts[0], parts[1:-1]
    if len(encoded) > MAX_DISCLOSURES:
        raise MalformedToken(f"an SD-JWT has at most {MAX_DISCLOSURES} disclosures")
    if any(not item for item in encoded):
        raise MalformedToken("the SD-JWT has an empty disclosure ('~~')")
    return jwt, encoded


def parse_disclosure(encoded: str) -> Disclosure:
    """Decode one disclosure: a JSON array [salt, name, value] or [salt, value]."""
    if len(encoded) > MAX_DISCLOSURE_LENGTH:
        raise MalformedToken(f"a disclosure is longer than {MAX_DISCLOSURE_LENGTH} characters")
    raw = signing._b64url_decode(encoded, "disclosure", MalformedToken)
    try:
        value = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=signing._object_without_duplicates,
            parse_constant=signing._reject_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedToken("a disclosure is not UTF-8 JSON") from exc
    if not isinstance(value, list) or len(value) not in (2, 3) or not isinstance(value[0], str):
        raise MalformedToken("a disclosure is a JSON array [salt, name, value] or [salt, value]")
    if len(value) == 2:
        return Disclosure(encoded, disclosure_digest(encoded), None, value[1])
    name = value[1]
    if not isinstance(name, str) or name in _RESERVED_NAMES:
        raise MalformedToken("a disclosure's claim name is not a string, or is reserved")
    return Disclosure(encoded, disclosure_digest(encoded), name, value[2])


def disclosures_of(text: str) -> list[Disclosure]:
    """Return the parsed disclosures of an SD-JWT, in order; the signature is not checked."""
    return [parse_disclosure(item) for item in split_sd_jwt(text)[1]]


def present(sd_jwt: str, keep: Callable[[Disclosure], bool]) -> str:
    """Return a presentation of an SD-JWT that keeps only the disclosures `keep` accepts."""
    jwt, encoded = split_sd_jwt(sd_jwt)
    kept = [item for item in encoded if keep(parse_disclosure(item))]
    return jwt + SEPARATOR + "".join(item + SEPARATOR for item in kept)


def issuer_jwt_of(text: str) -> str:
    """Return the issuer-signed JWT of an SD-JWT or presentation."""
    return split_sd_jwt(text)[0]


def decode_sd_jwt(text: str) -> tuple[signing.DecodedJWS, list[Disclosure]]:
    """Parse an SD-JWT's JWT and disclosures without checking the signature; MalformedToken."""
    jwt, encoded = split_sd_jwt(text)
    decoded = signing.decode_compact_jws(jwt, SD_JWT_TYPE, max_length=MAX_ISSUER_JWT_LENGTH)
    disclosures = [parse_disclosure(item) for item in encoded]
    return decoded, disclosures


def verify_sd_jwt(text: str, public_key_lookup: signing.PublicKeyLookup) -> VerifiedSdJwt:
    """Check an SD-JWT or presentation (RFC 9901, section 7.1) and return what it discloses.

    Raises MalformedToken (form, a disclosure whose digest the payload does not hold, a digest
    or disclosure twice, a claim disclosed over a visible one) or InvalidSignature / UnknownKey.
    """
    jwt, _encoded = split_sd_jwt(text)
    decoded = signing.verify_compact_jws(
        jwt, public_key_lookup, SD_JWT_TYPE, max_length=MAX_ISSUER_JWT_LENGTH
    )
    claims, disclosures = resolve_disclosures(text, decoded.payload)
    return VerifiedSdJwt(decoded.header, decoded.payload, claims, disclosures, jwt)


def resolve_disclosures(
    text: str, payload: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Disclosure]]:
    """Put an SD-JWT's disclosures in place of their digests in the signed payload."""
    disclosures = [parse_disclosure(item) for item in split_sd_jwt(text)[1]]
    algorithm = payload.get(SD_ALG, DIGEST_ALG)
    if algorithm != DIGEST_ALG:
        raise MalformedToken(f"the digest algorithm must be {DIGEST_ALG}")
    by_digest: dict[str, Disclosure] = {}
    for disclosure in disclosures:
        if disclosure.digest in by_digest:
            raise MalformedToken("the same disclosure is given twice")
        by_digest[disclosure.digest] = disclosure
    unpacker = _Unpacker(by_digest)
    top = {name: value for name, value in payload.items() if name != SD_ALG}
    claims = unpacker.unpack(top)
    unused = set(by_digest) - unpacker.used
    if unused:
        raise MalformedToken("a disclosure's digest is not in the signed payload")
    return claims, disclosures


class _Unpacker:
    def __init__(self, by_digest: dict[str, Disclosure]) -> None:
        self.by_digest = by_digest
        self.seen: set[str] = set()
        self.used: set[str] = set()

    def _take(self, digest: Any) -> Disclosure | None:
        if not isinstance(digest, str):
            raise MalformedToken("a digest in the payload is not a string")
        if digest in self.seen:
            raise MalformedToken("a digest appears twice in the payload")
        self.seen.add(digest)
        found = self.by_digest.get(digest)
        if found is not None:
            self.used.add(digest)
        return found

    def unpack(self, node: Any) -> Any:
        if isinstance(node, list):
            return self._unpack_list(node)
        if isinstance(node, dict):
            return self._unpack_object(node)
        return node

    def _unpack_list(self, node: list[Any]) -> list[Any]:
        out: list[Any] = []
        for element in node:
            if isinstance(element, dict) and ARRAY_DIGEST in element:
                if len(element) != 1:
                    raise MalformedToken("an array digest object has members besides '...'")
                found = self._take(element[ARRAY_DIGEST])
                if found is None:
                    continue  # not disclosed: the element is left out
                if found.name is not None:
                    raise MalformedToken("an array element's digest names a claim disclosure")
                out.append(self.unpack(found.value))
            else:
                out.append(self.unpack(element))
        return out

    def _unpack_object(self, node: dict[str, Any]) -> dict[str, Any]:
        digests = node.get(SD, [])
        if not isinstance(digests, list):
            raise MalformedToken("_sd is not an array")
        out = {name: self.unpack(value) for name, value in node.items() if name != SD}
        for digest in digests:
            found = self._take(digest)
            if found is None:
                continue
            if found.name is None:
                raise MalformedToken("a claim digest names an array element's disclosure")
            if found.name in out:
                raise MalformedToken(f"the disclosed claim {found.name[:20]!r} is already there")
            out[found.name] = self.unpack(found.value)
        return out

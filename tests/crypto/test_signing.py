"""Ed25519 keys, JWK thumbprints, multikeys and compact JWS tokens."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from joserfc import jws
from joserfc.errors import BadSignatureError, SecurityWarning
from joserfc.jwk import KeySet

from verifier.crypto import signing
from verifier.crypto.errors import (
    CryptoError,
    InvalidSignature,
    MalformedKey,
    MalformedToken,
    UnknownKey,
)

PAYLOAD = {
    "jti": "ABCD-EFGH-JKMN-PQRS-T",
    "iss": "https://verify.example.gov.cn",
    "iat": 1767225600,
    "hours": "123.50",
    "issuer": {"name": "北京市朝阳区阳光社区志愿服务协会", "uscc": "51110105MJ0123456X"},
    "volunteer": {"name": "张*", "number": "11010520250001234"},
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value) -> str:
    return b64(json.dumps(value, ensure_ascii=False).encode())


@pytest.fixture(scope="module")
def key():
    return signing.generate_private_key()


@pytest.fixture(scope="module")
def kid(key):
    return signing.jwk_thumbprint(key.public_key())


@pytest.fixture(scope="module")
def token(key, kid):
    return signing.sign_compact_jws(PAYLOAD, key, kid)


@pytest.fixture(scope="module")
def lookup(key, kid):
    return {kid: key.public_key()}.get


def resign(key, header: dict, payload_segment: str) -> str:
    """Build a token with an arbitrary header, correctly signed by key."""
    signing_input = f"{b64json(header)}.{payload_segment}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


# --- keys -----------------------------------------------------------------------------------


def test_raw_private_key_round_trip(key):
    raw = signing.private_key_to_raw(key)
    assert len(raw) == 32
    again = signing.private_key_from_raw(raw)
    assert signing.public_key_to_raw(again.public_key()) == signing.public_key_to_raw(
        key.public_key()
    )


@pytest.mark.parametrize("raw", [b"", b"\x01" * 31, b"\x01" * 33, "a" * 32])
def test_raw_private_key_of_wrong_size_is_refused(raw):
    with pytest.raises(MalformedKey):
        signing.private_key_from_raw(raw)


def test_rfc8037_example_key_and_rfc7638_thumbprint():
    # RFC 8037 appendix A.1 (key) and A.3 (its RFC 7638 thumbprint), copied from
    # https://www.rfc-editor.org/rfc/rfc8037#appendix-A (see tests/vectors/README.md).
    d = base64.urlsafe_b64decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
    key = signing.private_key_from_raw(d)
    jwk = signing.public_jwk(key.public_key())
    assert jwk["x"] == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    assert jwk["kid"] == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519"


def test_thumbprint_is_sha256_of_the_canonical_members(key):
    jwk = signing.public_jwk(key.public_key())
    canonical = '{"crv":"Ed25519","kty":"OKP","x":"' + jwk["x"] + '"}'
    assert jwk["kid"] == b64(hashlib.sha256(canonical.encode()).digest())


def test_public_jwk_round_trip(key):
    jwk = signing.public_jwk(key.public_key())
    loaded = signing.public_key_from_jwk(jwk)
    assert signing.public_key_to_raw(loaded) == signing.public_key_to_raw(key.public_key())


@pytest.mark.parametrize(
    "change",
    [
        {"kty": "EC"},
        {"crv": "X25519"},
        {"x": "AAAA"},
        {"x": None},
        {"kid": "not-the-thumbprint"},
        {"d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"},
    ],
)
def test_bad_jwk_is_refused(key, change):
    jwk = {**signing.public_jwk(key.public_key()), **change}
    with pytest.raises(MalformedKey):
        signing.public_key_from_jwk(jwk)


def test_key_lookup_from_jwks_skips_other_key_types(key, kid):
    jwks = {
        "keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}, signing.public_jwk(key.public_key())]
    }
    lookup = signing.key_lookup_from_jwks(jwks)
    assert signing.public_key_to_raw(lookup(kid)) == signing.public_key_to_raw(key.public_key())
    assert lookup("other") is None


def test_multikey_round_trip(key):
    public = signing.public_key_to_multibase(key.public_key())
    private = signing.private_key_to_multibase(key)
    assert public.startswith("z6Mk")  # what every Ed25519 Multikey looks like
    assert private.startswith("z3u2")
    assert signing.public_key_to_raw(signing.public_key_from_multibase(public)) == (
        signing.public_key_to_raw(key.public_key())
    )
    assert signing.private_key_to_raw(signing.private_key_from_multibase(private)) == (
        signing.private_key_to_raw(key)
    )


def test_multikey_with_the_wrong_codec_or_base_is_refused(key):
    public = signing.public_key_to_multibase(key.public_key())
    private = signing.private_key_to_multibase(key)
    with pytest.raises(MalformedKey):
        signing.public_key_from_multibase(private)
    with pytest.raises(MalformedKey):
        signing.private_key_from_multibase(public)
    with pytest.raises(MalformedKey):
        signing.public_key_from_multibase("u" + public[1:])
    with pytest.raises(MalformedKey):
        signing.public_key_from_multibase(public[:-1] + "0")  # 0 is not base58


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", ""),
        (b"\0", "1"),
        (b"\0\0\x01", "112"),
        (b"hello world", "StV1DL6CwTryKyV"),
        (bytes.fromhex("0000287fb4cd"), "11233QC4"),
    ],
)
def test_base58btc_known_values(data, text):
    assert signing.base58btc_encode(data) == text
    assert signing.base58btc_decode(text) == data


# --- compact JWS ----------------------------------------------------------------------------


def test_token_round_trip(token, lookup, kid):
    decoded = signing.verify_compact_jws(token, lookup)
    assert decoded.payload == PAYLOAD
    assert decoded.header == {"alg": "EdDSA", "kid": kid, "typ": signing.TOKEN_TYPE}
    header, payload, signing_input, signature = signing.decode_compact_jws(token)
    assert payload == PAYLOAD and len(signature) == 64
    assert signing_input == token.rsplit(".", 1)[0].encode()


def test_payload_is_compact_utf8_json(token):
    payload_segment = token.split(".")[1]
    raw = base64.urlsafe_b64decode(payload_segment + "==")
    assert "张*".encode() in raw
    assert b", " not in raw and b": " not in raw and b"\\u" not in raw


def test_signing_is_deterministic(key, kid, token):
    reordered = dict(reversed(list(PAYLOAD.items())))
    assert signing.sign_compact_jws(reordered, key, kid) == token


def joserfc_verify(token: str, key_set: KeySet):
    # joserfc warns that RFC 9864 deprecates the polymorphic "EdDSA" in favour of "Ed25519";
    # the issue asks for EdDSA (RFC 8037), which every JOSE library still verifies.
    with pytest.warns(SecurityWarning, match="RFC 9864"):
        return jws.deserialize_compact(token, key_set, algorithms=["EdDSA"])


def test_second_library_verifies_the_token_against_the_published_jwks(key, token):
    jwks = {"keys": [signing.public_jwk(key.public_key())]}
    key_set = KeySet.import_key_set(jwks)
    result = joserfc_verify(token, key_set)
    assert json.loads(result.payload) == PAYLOAD
    assert result.protected["kid"] == jwks["keys"][0]["kid"]


def test_second_library_rejects_an_altered_token(key, token):
    key_set = KeySet.import_key_set({"keys": [signing.public_jwk(key.public_key())]})
    header, _, signature = token.split(".")
    altered = f"{header}.{b64json({**PAYLOAD, 'hours': '999.00'})}.{signature}"
    with pytest.raises(BadSignatureError):
        joserfc_verify(altered, key_set)


def test_token_signed_by_a_stranger_with_a_real_kid_fails(kid, lookup):
    stranger = signing.generate_private_key()
    forged = signing.sign_compact_jws(PAYLOAD, stranger, kid)
    with pytest.raises(InvalidSignature):
        signing.verify_compact_jws(forged, lookup)


def test_altered_payload_with_the_original_signature_fails(token, lookup):
    header, _, signature = token.split(".")
    altered = f"{header}.{b64json({**PAYLOAD, 'hours': '999.00'})}.{signature}"
    with pytest.raises(InvalidSignature):
        signing.verify_compact_jws(altered, lookup)


def test_altered_header_with_the_original_signature_fails(token, lookup, kid):
    _, payload, signature = token.split(".")
    header = b64json({"kid": kid, "typ": signing.TOKEN_TYPE, "alg": "EdDSA"})
    with pytest.raises(InvalidSignature):
        signing.verify_compact_jws(f"{header}.{payload}.{signature}", lookup)


def test_unknown_kid_fails(key):
    token = signing.sign_compact_jws(PAYLOAD, key, "no-such-key")
    with pytest.raises(UnknownKey) as caught:
        signing.verify_compact_jws(token, {}.get)
    assert caught.value.key_id == "no-such-key"


def test_lookup_that_raises_key_error_means_unknown_key(token):
    with pytest.raises(UnknownKey):
        signing.verify_compact_jws(token, {}.__getitem__)


def test_library_exception_never_leaks(kid, lookup):
    forged = signing.sign_compact_jws(PAYLOAD, signing.generate_private_key(), kid)
    with pytest.raises(InvalidSignature) as caught:
        signing.verify_compact_jws(forged, lookup)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_alg_none_fails(token, kid, lookup):
    _, payload, _ = token.split(".")
    unsigned = f"{b64json({'alg': 'none', 'kid': kid, 'typ': signing.TOKEN_TYPE})}.{payload}."
    with pytest.raises(MalformedToken, match="alg"):
        signing.verify_compact_jws(unsigned, lookup)


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none"},
        {"alg": "HS256"},
        {"alg": "ES256"},
        {"alg": "eddsa"},
        {"alg": ["EdDSA"]},
        {},
        {"kid": None},
        {"kid": ""},
        {"kid": 7},
        {"kid": ["a"]},
        {"kid": "k" * 129},
        {"typ": "JWT"},
        {"typ": None},
        {"crit": ["exp"]},
        {"jwk": {"kty": "OKP"}},
        {"b64": False},
    ],
)
def test_bad_header_is_malformed(key, kid, token, header):
    full = {"alg": "EdDSA", "kid": kid, "typ": signing.TOKEN_TYPE, **header}
    if header == {}:
        del full["alg"]
    if header == {"typ": None}:
        del full["typ"]
    if header == {"kid": None}:
        del full["kid"]
    # Correctly signed, so only the header rule can make it fail.
    forged = resign(key, full, token.split(".")[1])
    with pytest.raises(MalformedToken):
        signing.decode_compact_jws(forged)


@pytest.mark.parametrize(
    "make",
    [
        lambda t: "",
        lambda t: t.rsplit(".", 1)[0],
        lambda t: t + "." + t.split(".")[2],
        lambda t: t + t,
        lambda t: t[: len(t) // 2],
        lambda t: t[:-1],
        lambda t: t + "A",
        lambda t: t.replace(".", "..", 1),
        lambda t: "a" * (1024 * 1024),
        lambda t: "x" * (signing.MAX_TOKEN_LENGTH + 1),
        lambda t: t.replace("e", "+", 1),
        lambda t: t.replace("e", "é", 1),
        lambda t: " " + t,
        lambda t: t.split(".")[0] + "=." + ".".join(t.split(".")[1:]),
    ],
    ids=[
        "empty",
        "two parts",
        "four parts",
        "doubled",
        "truncated",
        "last char dropped",
        "char added",
        "empty part",
        "1 MB",
        "just too long",
        "plain base64",
        "non-ascii",
        "leading space",
        "padding",
    ],
)
def test_broken_token_is_malformed(token, lookup, make):
    with pytest.raises(MalformedToken):
        signing.verify_compact_jws(make(token), lookup)


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        (b64(b"\xff\xfe\xfd"), "UTF-8"),
        (b64(b"not json"), "JSON"),
        (b64(b"[1, 2]"), "object"),
        (b64(b'"text"'), "object"),
        (b64(b'{"a": NaN}'), "JSON"),
        (b64(b'{"a": 1, "a": 2}'), "JSON"),
        (b64(b"\xef\xbb\xbf{}"), "JSON"),
        (b64(b"[" * 2500), "JSON"),
    ],
)
def test_payload_that_is_not_a_json_object_is_malformed(key, kid, segment, message):
    header = {"alg": "EdDSA", "kid": kid, "typ": signing.TOKEN_TYPE}
    with pytest.raises(MalformedToken, match=message):
        signing.decode_compact_jws(resign(key, header, segment))


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        (b64(b"\xff\xfe\xfd"), "UTF-8"),
        (b64(b"{not json"), "JSON"),
        (b64(b'["EdDSA"]'), "object"),
    ],
)
def test_header_that_is_not_a_json_object_is_malformed(token, segment, message):
    _, payload, signature = token.split(".")
    with pytest.raises(MalformedToken, match=message):
        signing.decode_compact_jws(f"{segment}.{payload}.{signature}")


def test_non_canonical_base64url_is_malformed(token):
    header, payload, signature = token.split(".")
    # The last character of an 86-character signature carries 2 unused bits; setting them
    # keeps the same bytes but a different text, which must not verify as the same token.
    last = signature[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[alphabet.index(last) ^ 1]
    with pytest.raises(MalformedToken, match="canonical"):
        signing.decode_compact_jws(f"{header}.{payload}.{signature[:-1]}{twin}")


def test_short_signature_is_malformed(token):
    header, payload, _ = token.split(".")
    with pytest.raises(MalformedToken, match="64 bytes"):
        signing.decode_compact_jws(f"{header}.{payload}.{b64(bytes(63))}")


@pytest.mark.parametrize("value", [None, b"a.b.c", 42])
def test_token_that_is_not_text_is_malformed(value):
    with pytest.raises(MalformedToken):
        signing.decode_compact_jws(value)


def test_every_error_is_a_crypto_error():
    for error in (MalformedToken, MalformedKey, UnknownKey, InvalidSignature):
        assert issubclass(error, CryptoError)


def test_sign_refuses_a_bad_kid_or_a_huge_payload(key, kid):
    with pytest.raises(MalformedToken):
        signing.sign_compact_jws(PAYLOAD, key, "")
    with pytest.raises(MalformedToken, match="exceed"):
        signing.sign_compact_jws({"x": "a" * signing.MAX_TOKEN_LENGTH}, key, kid)


def test_a_token_resigned_with_alg_ed25519_verifies(key, kid, token, lookup):
    # RFC 9864's fully specified name for the same Ed25519 signature: same key, same checks.
    header = {"alg": "Ed25519", "kid": kid, "typ": signing.TOKEN_TYPE}
    resigned = resign(key, header, token.split(".")[1])
    decoded = signing.verify_compact_jws(resigned, lookup)
    assert decoded.header["alg"] == "Ed25519"
    assert decoded.payload == PAYLOAD


def test_a_token_signed_by_joserfc_with_alg_ed25519_verifies(key, kid, lookup):
    jwk = {k: v for k, v in signing.public_jwk(key.public_key()).items() if k != "alg"}
    private = {**jwk, "d": b64(signing.private_key_to_raw(key))}
    header = {"alg": "Ed25519", "kid": kid, "typ": signing.TOKEN_TYPE}
    token = jws.serialize_compact(
        header,
        json.dumps(PAYLOAD).encode(),
        KeySet.import_key_set({"keys": [private]}).keys[0],
        algorithms=["Ed25519"],
    )
    assert signing.verify_compact_jws(token, lookup).payload == PAYLOAD


@pytest.mark.parametrize("alg", ["none", "HS256", "ES256", "EdDSA ", "ed25519", "Ed448", 25519])
def test_other_algs_still_fail_even_when_correctly_signed(key, kid, token, lookup, alg):
    forged = resign(key, {"alg": alg, "kid": kid, "typ": signing.TOKEN_TYPE}, token.split(".")[1])
    with pytest.raises(MalformedToken, match="alg"):
        signing.verify_compact_jws(forged, lookup)


def test_issuing_keeps_eddsa(token):
    assert json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["alg"] == "EdDSA"

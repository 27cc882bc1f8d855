"""The SD-JWT functions (RFC 9901) on their own: what they refuse, checked against the
reference library where it has an opinion."""

from __future__ import annotations

import json

import pytest
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

from verifier.crypto import sdjwt, signing
from verifier.crypto.errors import InvalidSignature, MalformedToken, UnknownKey

KEY = signing.generate_private_key()
KID = signing.jwk_thumbprint(KEY.public_key())
LOOKUP = {KID: KEY.public_key()}.get


def _issue(**claims):
    return sdjwt.issue_sd_jwt(
        {"jti": "X", "hours": "1.00", **claims},
        disclosable={"name": "张三"},
        disclosable_items={"activities": [{"activity": "a"}, {"activity": "b"}]},
        private_key=KEY,
        kid=KID,
    )


def _library(text):
    jwk = JWK.from_json(json.dumps(signing.public_jwk(KEY.public_key())))
    return SDJWTVerifier(text, lambda iss, header: jwk).get_verified_payload()


def _jwt_with(payload):
    return signing.sign_compact_jws(payload, KEY, KID, sdjwt.SD_JWT_TYPE)


def test_round_trip_and_the_library_agree():
    text = _issue()
    ours = sdjwt.verify_sd_jwt(text, LOOKUP).claims
    assert ours == _library(text)
    assert ours["name"] == "张三" and ours["activities"] == [{"activity": "a"}, {"activity": "b"}]
    shown = sdjwt.present(text, lambda d: d.name is None and d.value == {"activity": "b"})
    assert sdjwt.verify_sd_jwt(shown, LOOKUP).claims == {
        "jti": "X",
        "hours": "1.00",
        "activities": [{"activity": "b"}],
    }
    assert _library(shown) == sdjwt.verify_sd_jwt(shown, LOOKUP).claims


def test_issuing_refuses_a_claim_both_visible_and_disclosable():
    with pytest.raises(ValueError, match="once"):
        sdjwt.issue_sd_jwt(
            {"name": "x"},
            disclosable={"name": "y"},
            disclosable_items={},
            private_key=KEY,
            kid=KID,
        )
    with pytest.raises(ValueError):
        sdjwt.make_disclosure(1, "_sd")


def test_a_disclosure_in_the_wrong_place_is_malformed():
    claim = sdjwt.make_disclosure("张三", "name")
    element = sdjwt.make_disclosure({"activity": "a"})
    # an array element's digest in _sd, a claim's digest in an array
    jwt = _jwt_with({"_sd": [element.digest], "activities": [{"...": claim.digest}]})
    for disclosure in (claim, element):
        with pytest.raises(MalformedToken):
            sdjwt.verify_sd_jwt(f"{jwt}~{disclosure.encoded}~", LOOKUP)


def test_a_disclosed_claim_over_a_visible_one_is_malformed():
    claim = sdjwt.make_disclosure("李四", "name")
    jwt = _jwt_with({"name": "张三", "_sd": [claim.digest]})
    with pytest.raises(MalformedToken, match="already"):
        sdjwt.verify_sd_jwt(f"{jwt}~{claim.encoded}~", LOOKUP)
    with pytest.raises(ValueError):  # the library refuses it too
        _library(f"{jwt}~{claim.encoded}~")


def test_a_digest_twice_in_the_payload_is_malformed():
    claim = sdjwt.make_disclosure("张三", "name")
    jwt = _jwt_with({"_sd": [claim.digest, claim.digest]})
    with pytest.raises(MalformedToken, match="twice"):
        sdjwt.verify_sd_jwt(f"{jwt}~", LOOKUP)


@pytest.mark.parametrize(
    "payload",
    [{"_sd": "abc"}, {"_sd": [1]}, {"_sd_alg": "sha-512"}, {"a": [{"...": "d", "x": 1}]}],
)
def test_a_payload_that_breaks_the_rules_is_malformed(payload):
    with pytest.raises(MalformedToken):
        sdjwt.verify_sd_jwt(f"{_jwt_with(payload)}~", LOOKUP)


def test_signature_and_key_errors_are_ours():
    text = _issue()
    other = signing.generate_private_key()
    with pytest.raises(InvalidSignature):
        sdjwt.verify_sd_jwt(text, lambda kid: other.public_key())
    with pytest.raises(UnknownKey):
        sdjwt.verify_sd_jwt(text, lambda kid: None)


@pytest.mark.parametrize("text", ["", "~", "a.b.c", None, "x" * 70_000, "a~" * 300])
def test_what_is_not_an_sd_jwt(text):
    with pytest.raises(MalformedToken):
        sdjwt.verify_sd_jwt(text, LOOKUP)

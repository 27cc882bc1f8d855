"""Checking SD-JWTs with the `sd-jwt` reference library (OpenWallet Foundation), not our code."""

from __future__ import annotations

import json
from typing import Any

from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier


def library_claims(client: Any, text: str) -> dict[str, Any]:
    """Verify an SD-JWT or presentation with the reference library against the published JWKS."""
    keys = {k["kid"]: k for k in client.get("/.well-known/jwks.json").get_json()["keys"]}

    def issuer_key(issuer: str, header: dict[str, Any]) -> JWK:
        assert header["alg"] == "EdDSA" and header["typ"] == "vsc+sd-jwt"
        return JWK.from_json(json.dumps(keys[header["kid"]]))

    return dict(SDJWTVerifier(text, issuer_key).get_verified_payload())

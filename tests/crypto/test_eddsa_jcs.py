"""Data Integrity proofs with the eddsa-jcs-2022 cryptosuite, against the W3C test vector."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from verifier.crypto import signing
from verifier.crypto.errors import InvalidSignature, MalformedProof, UnknownKey

# The W3C test vector, copied unchanged into the repository (source and licence in its README).
VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "eddsa-jcs-2022"


# SHA-256 of the files as published (tests/vectors/eddsa-jcs-2022/README.md): never edited here.
PUBLISHED = {
    "keyPair.json": "64f446085c12d96ad3ac49ed55e91e75387f8496873cea3f0770b23c83b77d4c",
    "signedJCS.json": "2d8253a512e8547d848b76f244eeead1c01540331142ad4ea7201a6ceb2bb915",
}


@pytest.fixture(scope="module")
def key_pair():
    return json.loads((VECTORS / "keyPair.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def signed():
    return json.loads((VECTORS / "signedJCS.json").read_text(encoding="utf-8"))


@pytest.fixture
def vector_key(key_pair):
    return signing.public_key_from_multibase(key_pair["publicKeyMultibase"])


def only(public_key, verification_method):
    return {verification_method: public_key}.get


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_the_vector_files_are_the_published_ones(name):
    assert hashlib.sha256((VECTORS / name).read_bytes()).hexdigest() == PUBLISHED[name]


def test_vector_key_pair_is_one_ed25519_key(key_pair):
    private = signing.private_key_from_multibase(key_pair["privateKeyMultibase"])
    assert signing.public_key_to_multibase(private.public_key()) == key_pair["publicKeyMultibase"]
    assert signing.private_key_to_multibase(private) == key_pair["privateKeyMultibase"]


def test_vector_proof_verifies(signed, vector_key):
    proof = signing.verify_data_integrity_proof(
        signed, only(vector_key, signed["proof"]["verificationMethod"])
    )
    assert proof["proofValue"] == signed["proof"]["proofValue"]


def test_resigning_the_vector_gives_the_identical_proof(signed, key_pair):
    private = signing.private_key_from_multibase(key_pair["privateKeyMultibase"])
    unsigned = {name: value for name, value in signed.items() if name != "proof"}
    options = signed["proof"]
    resigned = signing.create_data_integrity_proof(
        unsigned,
        private,
        verification_method=options["verificationMethod"],
        created=options["created"],
        proof_purpose=options["proofPurpose"],
    )
    assert resigned["proof"]["proofValue"] == options["proofValue"]
    assert resigned == signed


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["credentialSubject"].update(alumniOf="Another School"),
        lambda d: d.update(validFrom="2023-01-02T00:00:00Z"),
        lambda d: d.update(extra="added"),
        lambda d: d["type"].reverse(),
        lambda d: d["proof"].update(created="2023-02-24T23:36:39Z"),
        lambda d: d["proof"].update(proofPurpose="authentication"),
        lambda d: d["@context"].pop(),
    ],
    ids=["subject", "validFrom", "new member", "type order", "created", "purpose", "context"],
)
def test_tampered_vector_fails(signed, vector_key, tamper):
    document = copy.deepcopy(signed)
    tamper(document)
    with pytest.raises(InvalidSignature):
        signing.verify_data_integrity_proof(
            document, only(vector_key, document["proof"]["verificationMethod"])
        )


def test_contexts_appended_after_the_proofs_are_ignored_as_the_spec_says(signed, vector_key):
    # vc-di-eddsa, Verify Proof (eddsa-jcs-2022): the document's @context only has to start
    # with the proof's, and the proof's is what gets hashed.
    document = copy.deepcopy(signed)
    document["@context"].append("https://example.org/more")
    signing.verify_data_integrity_proof(
        document, only(vector_key, document["proof"]["verificationMethod"])
    )


def test_document_context_must_start_with_the_proof_context(signed, vector_key):
    document = copy.deepcopy(signed)
    document["@context"] = list(reversed(document["@context"]))
    with pytest.raises(InvalidSignature, match="@context"):
        signing.verify_data_integrity_proof(
            document, only(vector_key, document["proof"]["verificationMethod"])
        )


def test_other_key_fails(signed):
    stranger = signing.generate_private_key().public_key()
    with pytest.raises(InvalidSignature):
        signing.verify_data_integrity_proof(signed, lambda _: stranger)


def test_unknown_verification_method(signed):
    with pytest.raises(UnknownKey):
        signing.verify_data_integrity_proof(signed, {}.get)


@pytest.mark.parametrize(
    "change",
    [
        {"cryptosuite": "eddsa-rdfc-2022"},
        {"type": "Ed25519Signature2020"},
        {"proofValue": "u" + "A" * 86},
        {"proofValue": "z0OIl"},
        {"proofValue": "z" + "1" * 40},
        {"proofValue": None},
        {"verificationMethod": None},
    ],
)
def test_malformed_proof(signed, vector_key, change):
    document = copy.deepcopy(signed)
    document["proof"].update(change)
    with pytest.raises(MalformedProof):
        signing.verify_data_integrity_proof(document, lambda _: vector_key)


def test_document_without_proof_is_malformed():
    with pytest.raises(MalformedProof):
        signing.verify_data_integrity_proof({"id": "urn:x"}, {}.get)


def test_document_that_jcs_cannot_canonicalise_is_refused():
    key = signing.generate_private_key()
    with pytest.raises(MalformedProof, match="JCS"):
        signing.create_data_integrity_proof(
            {"value": float("nan")}, key, verification_method="did:web:x#k"
        )
    with pytest.raises(MalformedProof, match="JCS"):
        signing.create_data_integrity_proof(
            {"value": 2**60}, key, verification_method="did:web:x#k"
        )


def test_our_proof_verifies_by_following_the_cryptosuite_independently():
    """Check a proof made by our code with rfc8785 and cryptography alone, step by step."""
    key = signing.generate_private_key()
    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": "did:web:verify.example.gov.cn",
        "name": "志愿服务记录证明",
        "credentialSubject": {"hours": "123.50", "name": "张*"},
    }
    secured = signing.create_data_integrity_proof(
        document,
        key,
        verification_method="did:web:verify.example.gov.cn#key-1",
        created="2026-01-05T08:00:00Z",
    )
    proof = dict(secured["proof"])
    proof_value = proof.pop("proofValue")
    assert proof["@context"] == document["@context"]
    unsecured = {name: value for name, value in secured.items() if name != "proof"}
    hash_data = (
        hashlib.sha256(rfc8785.dumps(proof)).digest()
        + hashlib.sha256(rfc8785.dumps(unsecured)).digest()
    )
    assert proof_value.startswith("z")
    signature = signing.base58btc_decode(proof_value[1:])
    raw_public = signing.public_key_to_raw(key.public_key())
    Ed25519PublicKey.from_public_bytes(raw_public).verify(signature, hash_data)


def test_created_defaults_to_now_in_utc_seconds():
    key = signing.generate_private_key()
    secured = signing.create_data_integrity_proof(
        {"id": "urn:x"}, key, verification_method="did:web:x#k"
    )
    created = secured["proof"]["created"]
    assert len(created) == 20 and created.endswith("Z")
    assert "@context" not in secured["proof"]
    signing.verify_data_integrity_proof(secured, lambda _: key.public_key())


def test_document_that_already_has_a_proof_is_refused():
    key = signing.generate_private_key()
    with pytest.raises(MalformedProof):
        signing.create_data_integrity_proof({"proof": {}}, key, verification_method="did:web:x#k")

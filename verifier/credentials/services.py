"""Build the W3C Verifiable Credential of a certificate, the did:web documents and the status lists.

The organisation that keeps the records signs what it certifies (谁记录谁证明, two levels of keys):
a certificate's credential names the organisation's did:web (`did:web:HOST:orgs:USCC`) as its
issuer, with its name, its unified social credit code in `issuer.otherIdentifier` and the root's
endorsement of its key in `issuer.endorsementJwt`; the proof's verificationMethod is
`did:web:HOST:orgs:USCC#<kid>`. The platform's root keys (the platform's did:web,
`did:web:HOST#<kid>`) sign the status lists. See docs/verification.md for the whole mapping.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from verifier.certificates.models import Certificate
from verifier.certificates.services import STATUS_LIST_LENGTH, activities_of, number_display
from verifier.certificates.states import CertificateStatus
from verifier.credentials.models import SignedStatusList
from verifier.crypto import signing
from verifier.db import utcnow
from verifier.errors import NotFound
from verifier.keys.models import KeyStatus, SigningKey
from verifier.keys.services import (
    active_key,
    list_keys,
    organisation_did,
    platform_did,
    private_key_of,
    public_key_of,
    signing_key_for,
)
from verifier.orgs.models import Organisation
from verifier.timeutil import format_hours, local_zone

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DID_CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
# "message" is what new credentials reference (one credentialStatus entry, as the OB 3.0 schema
# wants); "revocation" and "suspension" stay for the credentials handed out before it.
STATUS_PURPOSES = ("message", "revocation", "suspension")
STATUS_SIZE = {"message": 2, "revocation": 1, "suspension": 1}
MESSAGE_VALID, MESSAGE_SUSPENDED, MESSAGE_REVOKED = 0, 1, 2
# The spec wants one message per value that statusSize allows; 0x3 is never set.
STATUS_MESSAGES = (
    {"status": "0x0", "message": "valid"},
    {"status": "0x1", "message": "suspended"},
    {"status": "0x2", "message": "revoked"},
    {"status": "0x3", "message": "unused"},
)
STATUS_LIST_MAX_AGE = 300  # seconds a status list may be cached (HTTP max-age and the list's ttl)
# status_index is a 32-bit column, so list numbers stop here
MAX_STATUS_LIST = 2**31 // STATUS_LIST_LENGTH - 1
# Certificates in these states are set in the revocation list: neither can become valid again.
REVOKED_STATES = (CertificateStatus.REVOKED, CertificateStatus.SUPERSEDED)

CREDENTIAL_NAME = "志愿服务记录证明"
CRITERIA = (
    "依据《志愿服务条例》和《志愿服务记录与证明出具办法（试行）》，由记录志愿服务的组织根据其保存的"
    "志愿服务记录如实出具（谁记录谁证明）。服务时长为实际提供志愿服务的时间，不含往返交通时间。"
)


def verification_method(base_url: str, kid: str) -> str:
    """Return the DID URL naming one signing key."""
    return f"{platform_did(base_url)}#{kid}"


def status_list_url(base_url: str, list_number: int, purpose: str) -> str:
    return f"{base_url}/credentials/status/{list_number}/{purpose}"


def _xsd(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _local_bound(day: date, at: time) -> str:
    return datetime.combine(day, at, tzinfo=local_zone()).isoformat()


def _uuid_urn(base_url: str, name: str) -> str:
    # Stable: downloading a certificate's credential twice gives the same ids.
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{base_url}/{name}')}"


def _secure(session: Session, document: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Add an eddsa-jcs-2022 proof made with the active key (retired keys sign nothing new)."""
    key = active_key(session)
    return signing.create_data_integrity_proof(
        document, private_key_of(key), verification_method=verification_method(base_url, key.kid)
    )


def _methods(did: str, keys: list[SigningKey]) -> tuple[list[dict[str, Any]], list[str]]:
    methods: list[dict[str, Any]] = []
    assertion: list[str] = []
    for key in keys:
        method: dict[str, Any] = {
            "id": f"{did}#{key.kid}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": signing.public_key_to_multibase(public_key_of(key)),
        }
        if key.status == KeyStatus.COMPROMISED:
            method["revoked"] = _xsd(key.compromised_at or key.retired_at or utcnow())
        else:
            assertion.append(method["id"])
        methods.append(method)
    return methods, assertion


def organisation_did_document(session: Session, base_url: str, uscc: str) -> dict[str, Any]:
    """Return an organisation's DID document (did:web:HOST:orgs:USCC): its keys as Multikeys.

    Each key's endorsement by the platform's root is linked as a service, with the trust list.
    """
    org = session.scalars(select(Organisation).where(Organisation.uscc == uscc)).first()
    if org is None:
        raise NotFound(_("no such organisation"))
    did = organisation_did(base_url, org.uscc)
    keys = list_keys(session, org)
    methods, assertion = _methods(did, keys)
    return {
        "@context": DID_CONTEXT,
        "id": did,
        "alsoKnownAs": [f"urn:uscc:{org.uscc}"],
        "controller": platform_did(base_url),
        "verificationMethod": methods,
        "assertionMethod": assertion,
        "service": [
            {
                "id": f"{did}#trust-list",
                "type": "TrustList",
                "serviceEndpoint": f"{base_url}/.well-known/issuers.json",
            }
        ],
    }


def did_document(session: Session, base_url: str) -> dict[str, Any]:
    """Return the platform's DID document: every root key as a Multikey.

    Active and retired keys are assertion methods: what a retired key signed stays verifiable. A
    compromised key stays listed, with `revoked` set to its compromise time, but is no assertion
    method, so a credential forged with it (whatever `created` it claims) does not verify; holders
    download their credential again and get one signed by the active key.
    """
    did = platform_did(base_url)
    methods, assertion = _methods(did, list_keys(session))
    return {
        "@context": DID_CONTEXT,
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": assertion,
    }


def _status_entry(cert: Certificate, base_url: str) -> dict[str, Any]:
    """Return the credential's one BitstringStatusListEntry: a 2-bit message (valid, suspended,
    revoked), so that both revocation and suspension stay visible in a single entry."""
    list_number, position = divmod(cert.status_index, STATUS_LIST_LENGTH)
    url = status_list_url(base_url, list_number, "message")
    return {
        "id": f"{url}#{position}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "message",
        "statusListIndex": str(position),
        "statusSize": STATUS_SIZE["message"],
        "statusMessage": [dict(message) for message in STATUS_MESSAGES],
        "statusListCredential": url,
    }


def certificate_credential(session: Session, cert: Certificate, base_url: str) -> dict[str, Any]:
    """Return a certificate as an Open Badges 3.0 credential (VC 2.0) with an eddsa-jcs-2022 proof.

    Only what the public verification page shows goes in: the masked name and the volunteer
    number, never the ID number.
    """
    # who vouches: the organisation; for a deregistered organisation's records certified by its
    # successor, the successor (the platform when there was none)
    if cert.custodian_kind is not None:
        org = (
            session.scalars(
                select(Organisation).where(Organisation.uscc == cert.custodian_uscc)
            ).first()
            if cert.custodian_uscc
            else None
        )
    else:
        org = session.get(Organisation, cert.organisation_id)
    # an organisation no longer active with no key: the root signs, the platform as issuer
    key = signing_key_for(session, org) if org is not None else None
    did = (
        organisation_did(base_url, org.uscc) if key is not None and org else platform_did(base_url)
    )
    issuer_name = (
        f"{org.name}（承继已注销的{cert.issuer_name}）"
        if cert.custodian_kind is not None and org is not None
        else cert.issuer_name
    )
    identifiers = [
        {"type": "IdentifierEntry", "identifier": uscc, "identifierType": "ext:USCC"}
        for uscc in dict.fromkeys(
            [cert.issuer_uscc] + ([org.uscc] if cert.custodian_kind and org else [])
        )
    ]
    hours = format_hours(cert.total_minutes)
    achievement_id = _uuid_urn(base_url, f"certificates/{cert.number}/achievement")
    hours_id = f"{achievement_id}#hours"
    activities = activities_of(cert)
    narrative = "\n".join(
        f"- {a['activity']}：{format_hours(a['minutes'])} 小时（{a['records']} 条记录）"
        for a in activities
    )
    credential = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": _uuid_urn(base_url, f"certificates/{cert.number}"),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": CREDENTIAL_NAME,
        "issuer": {
            "id": did,
            "type": ["Profile"],
            "name": issuer_name,
            "otherIdentifier": identifiers,
        },
        "validFrom": _xsd(cert.issued_at),
        # The VC 1.1 name of the same instant: the 1EdTech OB 3.0 JSON Schema revision the tests
        # hold (tests/vectors/ob-v3p0-schema) requires it; VC 2.0 readers use validFrom.
        "issuanceDate": _xsd(cert.issued_at),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": cert.volunteer_number,
                    "identityType": "ext:VolunteerNumber",
                    "hashed": False,
                },
                {
                    "type": "IdentityObject",
                    "identityHash": cert.volunteer_name_masked,
                    "identityType": "ext:MaskedName",
                    "hashed": False,
                },
            ],
            "activityStartDate": _local_bound(cert.period_from, time.min),
            "activityEndDate": _local_bound(cert.period_to, time(23, 59, 59)),
            "achievement": {
                "id": achievement_id,
                "type": ["Achievement"],
                "achievementType": "CommunityService",
                # the certificate number, grouped as printed: what /verify and the status API take
                "humanCode": number_display(cert.number),
                "name": f"{CREDENTIAL_NAME}：志愿服务 {hours} 小时",
                "description": (
                    f"{cert.issuer_name}（统一社会信用代码 {cert.issuer_uscc}）证明："
                    f"该志愿者于 {cert.period_from.isoformat()} 至 {cert.period_to.isoformat()} "
                    f"参加志愿服务共 {hours} 小时（{cert.record_count} 条记录）。"
                    f"证明编号 {cert.number}。"
                ),
                "criteria": {"narrative": CRITERIA},
                "inLanguage": "zh-CN",
                "resultDescription": [
                    {
                        "id": hours_id,
                        "type": ["ResultDescription"],
                        "name": "志愿服务时长（小时）",
                        "resultType": "ext:ServiceHours",
                    }
                ],
            },
            "result": [{"type": ["Result"], "resultDescription": hours_id, "value": hours}],
            "narrative": narrative,
        },
        "credentialStatus": _status_entry(cert, base_url),
    }
    if key is None:
        secured = _secure(session, credential, base_url)
    else:
        # the root's endorsement of the organisation's key travels with the issuer
        credential["issuer"]["endorsementJwt"] = [key.endorsement]  # type: ignore[index]
        secured = signing.create_data_integrity_proof(
            credential, private_key_of(key), verification_method=f"{did}#{key.kid}"
        )
    # A proof set of one (VC 2.0 allows either form; the OB 3.0 schema wants the array).
    return {**secured, "proof": [secured["proof"]]}


def _flagged_positions(session: Session, list_number: int, purpose: str) -> list[int]:
    """Return the positions in one list that are revoked, or suspended (purpose suspension).

    Revocation: revoked or superseded certificates, and those signed by a compromised key at or
    after its compromise time. Suspension: suspended certificates (an organisation's later
    suspension leaves the certificates it issued before valid).
    """
    start = list_number * STATUS_LIST_LENGTH
    in_list = and_(
        Certificate.status_index >= start, Certificate.status_index < start + STATUS_LIST_LENGTH
    )
    if purpose == "revocation":
        stmt = (
            select(Certificate.status_index)
            .outerjoin(SigningKey, SigningKey.kid == Certificate.kid)
            .where(
                in_list,
                or_(
                    Certificate.status.in_(REVOKED_STATES),
                    and_(
                        SigningKey.status == KeyStatus.COMPROMISED,
                        Certificate.issued_at >= SigningKey.compromised_at,
                    ),
                ),
            )
        )
    else:
        # an organisation's later suspension leaves its earlier certificates valid
        stmt = select(Certificate.status_index).where(
            in_list, Certificate.status == CertificateStatus.SUSPENDED
        )
    return [index - start for index in session.scalars(stmt)]


def _set_value(bits: bytearray, position: int, value: int, size: int) -> None:
    """Write value into the size bits of an entry, most significant bit first (left-most)."""
    for offset in range(size):
        if value >> (size - 1 - offset) & 1:
            index = position * size + offset
            bits[index // 8] |= 0x80 >> (index % 8)


def status_list_bits(session: Session, list_number: int, purpose: str) -> bytes:
    """Return one status list as bytes, entry i at bits i*size.. (MSB first).

    revocation and suspension: one bit, set when the certificate is revoked / suspended.
    message: two bits per entry, the value of STATUS_MESSAGES (revoked wins over suspended).
    """
    size = STATUS_SIZE[purpose]
    bits = bytearray(STATUS_LIST_LENGTH * size // 8)
    if purpose == "message":
        for position in _flagged_positions(session, list_number, "suspension"):
            _set_value(bits, position, MESSAGE_SUSPENDED, size)
        for position in _flagged_positions(session, list_number, "revocation"):
            for offset in range(size):  # clear, then write: revoked wins
                index = position * size + offset
                bits[index // 8] &= ~(0x80 >> (index % 8)) & 0xFF
            _set_value(bits, position, MESSAGE_REVOKED, size)
    else:
        for position in _flagged_positions(session, list_number, purpose):
            _set_value(bits, position, 1, size)
    return bytes(bits)


def encode_status_list(bits: bytes) -> str:
    """Encode a bitstring as the spec's encodedList: multibase base64url ('u') of its GZIP."""
    return "u" + signing.b64url_encode(gzip.compress(bits, mtime=0))


def _check_list_exists(session: Session, list_number: int, purpose: str) -> None:
    if purpose not in STATUS_PURPOSES or not 0 <= list_number <= MAX_STATUS_LIST:
        raise NotFound(_("no such status list"))
    start = list_number * STATUS_LIST_LENGTH
    used = session.scalar(
        select(Certificate.id)
        .where(
            Certificate.status_index >= start,
            Certificate.status_index < start + STATUS_LIST_LENGTH,
        )
        .limit(1)
    )
    if used is None:
        raise NotFound(_("no such status list"))


def status_list_credential(
    session: Session, list_number: int, purpose: str, base_url: str, *, valid_hours: int = 24
) -> str:
    """Return the signed BitstringStatusListCredential of one list and purpose, as JSON text.

    Signed once per change: the stored credential is served while the list, the base URL and
    the active key are unchanged and more than half of its validity is left; otherwise it is
    signed again with validFrom now (the first request after the change) and stored.
    """
    _check_list_exists(session, list_number, purpose)
    key = active_key(session)
    encoded = encode_status_list(status_list_bits(session, list_number, purpose))
    fingerprint = hashlib.sha256(f"{base_url}\n{key.kid}\n{encoded}".encode()).hexdigest()
    validity = timedelta(hours=valid_hours)
    now = utcnow()
    stored = session.scalars(
        select(SignedStatusList).where(
            SignedStatusList.list_number == list_number, SignedStatusList.purpose == purpose
        )
    ).first()
    if stored is not None and stored.fingerprint == fingerprint:
        left = stored.valid_until - now
        if left > validity / 2 and left <= validity:
            return stored.document
    url = status_list_url(base_url, list_number, purpose)
    now = now.replace(microsecond=0)
    document = {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": platform_did(base_url),
        "validFrom": _xsd(now),
        "validUntil": _xsd(now + validity),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded,
            "ttl": STATUS_LIST_MAX_AGE * 1000,
        },
    }
    signed = signing.create_data_integrity_proof(
        document,
        private_key_of(key),
        verification_method=verification_method(base_url, key.kid),
        created=now,
    )
    text = json.dumps(signed, ensure_ascii=False, indent=2)
    if stored is None:
        stored = SignedStatusList(list_number=list_number, purpose=purpose)
        try:
            with session.begin_nested():
                session.add(stored)
                _fill(stored, fingerprint, text, now, validity)
        except IntegrityError:
            # Another request stored this list first; take its place.
            stored = session.scalars(
                select(SignedStatusList).where(
                    SignedStatusList.list_number == list_number,
                    SignedStatusList.purpose == purpose,
                )
            ).one()
    _fill(stored, fingerprint, text, now, validity)
    session.flush()
    return text


def _fill(
    stored: SignedStatusList, fingerprint: str, text: str, now: datetime, validity: timedelta
) -> None:
    stored.fingerprint = fingerprint
    stored.document = text
    stored.valid_from = now
    stored.valid_until = now + validity

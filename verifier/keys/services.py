"""Make, rotate, retire and publish the signing keys: two levels (docs/verification.md).

The platform's *root* keys (`organisation_id` None) sign the endorsements, the trust list, the
status lists and the audit checkpoints; they signed every certificate issued before organisations
had keys of their own. Each organisation gets its own key when it first issues; the active root
key endorses it (organisation, USCC, key, valid from, valid until or revoked at), and the trust
list at /.well-known/issuers.json lists every endorsed key, signed by the root.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import String, column, delete, func, select, table, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import User
from verifier.crypto import signing
from verifier.crypto.encryption import Place, get_cipher
from verifier.db import UTCDateTime, utcnow
from verifier.errors import Conflict, NotFound, ValidationError
from verifier.keys.models import KeyStatus, SignedDocument, SigningKey
from verifier.orgs.models import Organisation, OrgStatus
from verifier.text import check_characters

_KEY_LOCK = 7_310_002
TRUST_LIST = "trust-list"
TRUST_LIST_PATH = "/.well-known/issuers.json"


def private_key_place(key_id: int) -> Place:
    """Where a key's private half is stored: bound to its row (docs/security.md)."""
    return Place("signing_keys", "private_key_enc", key_id, "signing_keys.private_key")


def _lock(session: Session, organisation_id: int = 0) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key, :org)"),
            {"key": _KEY_LOCK, "org": organisation_id},
        )


def _base_url() -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/")


# --- identifiers ------------------------------------------------------------------------------


def platform_did(base_url: str) -> str:
    """Return the did:web of the platform at this base URL (port as %3A, path segments as ':')."""
    parts = urlsplit(base_url)
    did = "did:web:" + (parts.hostname or "").lower()
    if parts.port is not None:
        did += "%3A" + str(parts.port)
    for segment in parts.path.strip("/").split("/"):
        if segment:
            did += ":" + quote(segment, safe="")
    return did


def organisation_did(base_url: str, uscc: str) -> str:
    """Return an organisation's did:web: did:web:{host}:orgs:{uscc} (→ /orgs/{uscc}/did.json)."""
    return f"{platform_did(base_url)}:orgs:{uscc}"


def xsd_time(moment: datetime | None) -> str | None:
    """Return a time as UTC seconds (2026-12-01T08:00:00Z), rounded down; None stays None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ceil_second(moment: datetime) -> datetime:
    return (
        moment if moment.microsecond == 0 else moment.replace(microsecond=0) + timedelta(seconds=1)
    )


# --- making and finding keys ------------------------------------------------------------------


def create_key(
    session: Session, actor: User | None = None, organisation: Organisation | None = None
) -> SigningKey:
    """Generate a new active Ed25519 key, root or an organisation's (endorsed by the root).

    Its private half is encrypted at rest with the data key.
    """
    private_key = signing.generate_private_key()
    public_key = private_key.public_key()
    key = SigningKey(
        kid=signing.jwk_thumbprint(public_key),
        public_key=signing.public_key_to_raw(public_key),
        private_key_enc=b"",  # sealed below, once the row has its id
        status=KeyStatus.ACTIVE,
        organisation_id=organisation.id if organisation is not None else None,
        endorsement="",
    )
    session.add(key)
    session.flush()
    key.private_key_enc = get_cipher().seal_text(
        signing.private_key_to_multibase(private_key), private_key_place(key.id)
    )
    session.flush()
    details: dict[str, Any] = {"kid": key.kid}
    invalidate_trust_list(session)
    if organisation is not None:
        endorse(session, key, organisation)
        details["uscc"] = organisation.uscc
    record_event(
        session,
        actor,
        "key.create",
        "signing_key",
        key.kid,
        organisation_id=organisation.id if organisation is not None else None,
        details=details,
    )
    return key


def active_key(session: Session) -> SigningKey:
    """Return the active root key, making the first one if there is none."""
    stmt = (
        select(SigningKey)
        .where(SigningKey.status == KeyStatus.ACTIVE, SigningKey.organisation_id.is_(None))
        .order_by(SigningKey.id.desc())
    )
    key = session.scalars(stmt).first()
    if key is not None:
        return key
    _lock(session)
    key = session.scalars(stmt).first()
    return key or create_key(session)


def organisation_key(session: Session, organisation: Organisation) -> SigningKey:
    """Return the organisation's active key, making (and endorsing) it on first use.

    The row is share-locked until the transaction ends, so that a retirement or compromise waits
    for the certificates being signed with it, and its time comes after theirs (PostgreSQL).
    """
    stmt = select(SigningKey).where(
        SigningKey.organisation_id == organisation.id, SigningKey.status == KeyStatus.ACTIVE
    )
    key = session.scalars(stmt.with_for_update(read=True)).first()
    if key is not None:
        _refresh_endorsement(session, key, organisation)
        return key
    _lock(session, organisation.id)
    key = session.scalars(stmt.with_for_update(read=True)).first()
    return key or create_key(session, organisation=organisation)


def signing_key_for(session: Session, organisation: Organisation) -> SigningKey | None:
    """The organisation's key for signing something new about what it already certified.

    Made on first use while the organisation is active; one that is no longer active gets no new
    key: its active one if it has one, else None (the caller falls back to the root).
    """
    if organisation.status == OrgStatus.ACTIVE:
        return organisation_key(session, organisation)
    return session.scalars(
        select(SigningKey).where(
            SigningKey.organisation_id == organisation.id,
            SigningKey.status == KeyStatus.ACTIVE,
        )
    ).first()


def private_key_of(key: SigningKey) -> Any:
    """Decrypt a key's private half (for signing only)."""
    secret = get_cipher().open_text(key.private_key_enc, private_key_place(key.id))
    return signing.private_key_from_multibase(secret)


def public_key_of(key: SigningKey) -> Any:
    return signing.public_key_from_raw(key.public_key)


def get_key(session: Session, kid: str) -> SigningKey | None:
    """Return the key with this kid, whatever its status and level."""
    return session.scalars(select(SigningKey).where(SigningKey.kid == kid)).first()


def _require_key(session: Session, kid: str, organisation: Organisation | None) -> SigningKey:
    key = get_key(session, kid)
    if key is None:
        raise NotFound(_("no signing key with kid %(kid)s", kid=kid))
    wanted = organisation.id if organisation is not None else None
    if key.organisation_id != wanted:
        if organisation is None:
            raise NotFound(
                _("key %(kid)s is an organisation's key; name the organisation (--org)", kid=kid)
            )
        raise NotFound(
            _("key %(kid)s is not a key of organisation %(uscc)s", kid=kid, uscc=organisation.uscc)
        )
    # lock it before reading the time: issuance share-locks the key it signs with
    session.refresh(key, with_for_update=True)
    return key


def organisation_by_uscc(session: Session, uscc: str) -> Organisation:
    org = session.scalars(
        select(Organisation).where(Organisation.uscc == uscc.strip().upper())
    ).first()
    if org is None:
        raise NotFound(_("no organisation with USCC %(uscc)s", uscc=uscc))
    return org


def organisation_usccs(session: Session) -> dict[int, str]:
    """Every organisation's USCC by its id."""
    return {
        org_id: uscc for org_id, uscc in session.execute(select(Organisation.id, Organisation.uscc))
    }


def owner_of(session: Session, key: SigningKey) -> Organisation | None:
    return session.get(Organisation, key.organisation_id) if key.organisation_id else None


# --- endorsements -----------------------------------------------------------------------------


def endorsement_claims(
    key: SigningKey, organisation: Organisation, base_url: str
) -> dict[str, Any]:
    """What the root vouches for about an organisation's key (without the signing time)."""
    claims: dict[str, Any] = {
        "iss": base_url,
        "sub": organisation_did(base_url, organisation.uscc),
        "kid": key.kid,
        "jwk": signing.public_jwk(public_key_of(key)),
        "uscc": organisation.uscc,
        "name": organisation.name,
        "valid_from": xsd_time(key.created_at),
        "valid_until": xsd_time(_ceil_second(key.retired_at)) if key.retired_at else None,
        "status": key.status,
    }
    if key.compromised_at is not None:
        claims["revoked_at"] = xsd_time(key.compromised_at)
    return claims


def endorse(session: Session, key: SigningKey, organisation: Organisation) -> None:
    """(Re-)sign the root's endorsement of an organisation key with the active root key."""
    root = active_key(session)
    claims = endorsement_claims(key, organisation, _base_url())
    claims["iat"] = int(utcnow().timestamp())
    key.endorsement = signing.sign_compact_jws(
        claims, private_key_of(root), root.kid, signing.ENDORSEMENT_TYPE
    )
    session.flush()
    invalidate_trust_list(session)


def _refresh_endorsement(
    session: Session, key: SigningKey, organisation: Organisation, root_kid: str | None = None
) -> None:
    """Re-sign an endorsement that no longer says what is true, or that the active root key did
    not sign (root_kid: the active root key's, when the caller already has it)."""
    root_kid = root_kid or active_key(session).kid
    current = None
    if key.endorsement:
        decoded = signing.decode_compact_jws(key.endorsement, signing.ENDORSEMENT_TYPE)
        if decoded.header["kid"] == root_kid:
            current = {name: value for name, value in decoded.payload.items() if name != "iat"}
    if current != endorsement_claims(key, organisation, _base_url()):
        endorse(session, key, organisation)


# --- rotating, retiring, compromising ---------------------------------------------------------


def _retire_now(session: Session, key: SigningKey, actor: User | None) -> None:
    key.status = KeyStatus.RETIRED
    key.retired_at = utcnow()
    session.flush()
    invalidate_trust_list(session)
    record_event(
        session,
        actor,
        "key.retire",
        "signing_key",
        key.kid,
        organisation_id=key.organisation_id,
        details={"kid": key.kid},
    )


def _after_change(session: Session, key: SigningKey) -> None:
    """Keep the endorsements true after a key changed status."""
    owner = owner_of(session, key)
    if owner is not None:
        endorse(session, key, owner)
    elif key.status != KeyStatus.ACTIVE:
        reendorse_all(session)  # signed by a root key that signs no more


def reendorse_all(session: Session) -> None:
    """Re-sign every organisation key's endorsement with the active root key."""
    for key in session.scalars(select(SigningKey).where(SigningKey.organisation_id.is_not(None))):
        owner = owner_of(session, key)
        if owner is not None:
            endorse(session, key, owner)


def rotate(
    session: Session, actor: User | None = None, organisation: Organisation | None = None
) -> SigningKey:
    """Retire the active key (the root's, or an organisation's) and make a new one.

    What the old key signed stays verifiable; a new root key re-endorses every organisation key.
    """
    _lock(session, organisation.id if organisation is not None else 0)
    owner_filter = (
        SigningKey.organisation_id == organisation.id
        if organisation is not None
        else SigningKey.organisation_id.is_(None)
    )
    for key in session.scalars(
        select(SigningKey)
        .where(SigningKey.status == KeyStatus.ACTIVE, owner_filter)
        .with_for_update()
    ):
        _retire_now(session, key, actor)
        if organisation is not None:
            endorse(session, key, organisation)
    new = create_key(session, actor, organisation)
    if organisation is None:
        reendorse_all(session)
    return new


def retire(
    session: Session, kid: str, actor: User | None = None, organisation: Organisation | None = None
) -> SigningKey:
    """Stop signing with a key; what it signed stays valid. A new key is made on next use."""
    key = _require_key(session, kid, organisation)
    if key.status == KeyStatus.COMPROMISED:
        raise Conflict(_("key %(kid)s is compromised; it cannot be retired", kid=kid))
    if key.status == KeyStatus.ACTIVE:
        _retire_now(session, key, actor)
        _after_change(session, key)
    return key


def compromise(
    session: Session,
    kid: str,
    at: datetime,
    reason: str = "",
    actor: User | None = None,
    organisation: Organisation | None = None,
) -> SigningKey:
    """Mark a key compromised from a time: what the ledger shows issued before it stays valid.

    An organisation's key touches only that organisation's certificates.
    """
    if at.tzinfo is None:
        raise ValidationError(
            _("the time needs an offset, e.g. 2026-03-05T09:00:00+08:00"),
            field="at",
            rule="datetime",
        )
    if at > utcnow():
        raise ValidationError(
            _("the compromise time cannot be in the future"), field="at", rule="not_future"
        )
    key = _require_key(session, kid, organisation)
    if (
        key.status == KeyStatus.COMPROMISED
        and key.compromised_at is not None
        and key.compromised_at <= at
    ):
        return key
    key.status = KeyStatus.COMPROMISED
    key.compromised_at = at
    key.compromise_reason = check_characters(
        reason.strip()[:500], field="reason", label=_("reason")
    )
    key.retired_at = key.retired_at or utcnow()
    session.flush()
    invalidate_trust_list(session)
    record_event(
        session,
        actor,
        "key.compromise",
        "signing_key",
        key.kid,
        organisation_id=key.organisation_id,
        details={"kid": key.kid, "at": at.isoformat(), "reason": key.compromise_reason},
    )
    _after_change(session, key)
    return key


def list_keys(session: Session, organisation: Organisation | None = None) -> list[SigningKey]:
    """Return the root keys, or one organisation's keys, oldest first."""
    owner_filter = (
        SigningKey.organisation_id == organisation.id
        if organisation is not None
        else SigningKey.organisation_id.is_(None)
    )
    return list(session.scalars(select(SigningKey).where(owner_filter).order_by(SigningKey.id)))


def all_keys(session: Session) -> list[SigningKey]:
    """Return every key, root and organisations', oldest first."""
    return list(session.scalars(select(SigningKey).order_by(SigningKey.id)))


def jwks(session: Session) -> dict[str, Any]:
    """Return every public key (root and organisation keys; active, retired and compromised).

    Compromised keys stay listed, marked, because what they signed before the compromise is still
    valid; verifiers must ask the service about certificates signed by them. An organisation's
    key carries its `uscc`; the trust list says more (who endorsed it, and for when).
    """
    usccs = organisation_usccs(session)
    keys = []
    for key in all_keys(session):
        jwk: dict[str, Any] = signing.public_jwk(public_key_of(key))
        jwk["status"] = key.status
        if key.compromised_at is not None:
            jwk["compromised_at"] = key.compromised_at.isoformat()
        if key.organisation_id is not None:
            jwk["uscc"] = usccs.get(key.organisation_id, "")
        keys.append(jwk)
    return {"keys": keys}


# --- the trust list ---------------------------------------------------------------------------


def _root_certificates_until(session: Session, root_kids: list[str]) -> dict[str, datetime]:
    """The latest issue time of a certificate each root key signed (by the kid, issued_at index).

    The certificates table is read by name: certificates are a feature above this one.
    """
    if not root_kids:
        return {}
    kid = column("kid", String)
    issued_at = column("issued_at", UTCDateTime())
    rows = session.execute(
        select(kid, func.max(issued_at))
        .select_from(table("certificates", kid, issued_at))
        .where(kid.in_(root_kids))
        .group_by(kid)
    ).all()
    return {row[0]: row[1] for row in rows if row[1] is not None}


def trust_list_entries(session: Session) -> list[dict[str, Any]]:
    """Every key a certificate may be signed with, as the trust list states it.

    Organisation keys: `role` "organisation", with the organisation's USCC, name, DID, the key's
    validity and the root's endorsement. Root keys: `role` "root", the issuer of the certificates
    issued before organisation keys: `certificates_until` is the latest issue time of one it signed
    (None: it signed none); a token it signed that claims a later time is not trusted.
    """
    base_url = _base_url()
    root_kid = active_key(session).kid
    with_keys = select(SigningKey.organisation_id).where(SigningKey.organisation_id.is_not(None))
    orgs = {
        org.id: org
        for org in session.scalars(select(Organisation).where(Organisation.id.in_(with_keys)))
    }
    keys = all_keys(session)
    latest = _root_certificates_until(session, [key.kid for key in keys if key.is_root])
    entries: list[dict[str, Any]] = []
    for key in keys:
        jwk = signing.public_jwk(public_key_of(key))
        entry: dict[str, Any] = {
            "kid": key.kid,
            "jwk": jwk,
            "valid_from": xsd_time(key.created_at),
            "valid_until": xsd_time(_ceil_second(key.retired_at)) if key.retired_at else None,
            "status": key.status,
        }
        if key.compromised_at is not None:
            entry["revoked_at"] = xsd_time(key.compromised_at)
        org = orgs.get(key.organisation_id) if key.organisation_id is not None else None
        if org is None:
            until = latest.get(key.kid)
            entry.update(
                role="root",
                uscc=None,
                name=None,
                certificates_until=xsd_time(_ceil_second(until)) if until else None,
            )
        else:
            _refresh_endorsement(session, key, org, root_kid)
            entry.update(
                role="organisation",
                uscc=org.uscc,
                name=org.name,
                did=organisation_did(base_url, org.uscc),
                organisation_status=org.status,
                # rounded up: issue times are whole seconds, rounded down
                organisation_status_since=(
                    xsd_time(_ceil_second(org.status_since))
                    if org.status != OrgStatus.ACTIVE and org.status_since is not None
                    else None
                ),
                endorsement=key.endorsement,
            )
        entries.append(entry)
    return entries


def _valid_hours() -> int:
    return int(current_app.config["STATUS_LIST_VALID_HOURS"])


TRUST_LIST_RECHECK = timedelta(seconds=60)


def invalidate_trust_list(session: Session) -> None:
    """Make the next request build the trust list anew (a key was made or changed status)."""
    session.execute(delete(SignedDocument).where(SignedDocument.name == TRUST_LIST))


def trust_list(session: Session) -> dict[str, Any]:
    """Return the signed trust list (a flattened JWS JSON serialisation, RFC 7515 7.2.2).

    It is signed once per change of its content, and again when half its validity is gone; in
    between the stored copy is served as it is. A key's change drops the stored copy at once;
    other changes (an organisation's name or status) are seen within TRUST_LIST_RECHECK, so a busy
    service compares the content at most once a minute.
    """
    now = utcnow()
    hours = _valid_hours()
    stored = session.get(SignedDocument, TRUST_LIST)
    if (
        stored is not None
        and stored.checked_at + TRUST_LIST_RECHECK > now
        and stored.signed_at + timedelta(hours=hours / 2) > now
    ):
        return dict(json.loads(stored.document))
    root = active_key(session)
    base_url = _base_url()
    content = {
        "iss": base_url,
        "type": "VolunteerCertificateTrustList",
        "trust_list_url": base_url + TRUST_LIST_PATH,
        "issuers": trust_list_entries(session),  # may re-sign an endorsement (drops the copy)
        "root_kid": root.kid,
    }
    fingerprint = hashlib.sha256(signing.canonical_json(content)).hexdigest()
    stored = session.get(SignedDocument, TRUST_LIST)
    if (
        stored is not None
        and stored.fingerprint == fingerprint
        and stored.signed_at + timedelta(hours=hours / 2) > now
    ):
        stored.checked_at = now
        session.flush()
        return dict(json.loads(stored.document))
    signed_at = now.replace(microsecond=0)
    payload = {
        **content,
        "iat": int(signed_at.timestamp()),
        "exp": int((signed_at + timedelta(hours=hours)).timestamp()),
    }
    document = signing.sign_flattened_jws(
        payload, private_key_of(root), root.kid, signing.TRUST_LIST_TYPE
    )
    text_form = json.dumps(document, separators=(",", ":"))
    try:
        with session.begin_nested():
            if stored is None:
                session.add(
                    SignedDocument(
                        name=TRUST_LIST,
                        fingerprint=fingerprint,
                        document=text_form,
                        signed_at=signed_at,
                        checked_at=now,
                    )
                )
            else:
                stored.fingerprint = fingerprint
                stored.document = text_form
                stored.signed_at = signed_at
                stored.checked_at = now
    except IntegrityError:  # another request stored it first: serve ours, theirs is as good
        pass
    return document

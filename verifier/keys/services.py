"""Make, rotate, retire and publish the signing keys; a first key is made on first use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import User
from verifier.crypto import signing
from verifier.crypto.encryption import Place, get_cipher
from verifier.db import utcnow
from verifier.errors import Conflict, NotFound, ValidationError
from verifier.keys.models import KeyStatus, SigningKey
from verifier.text import check_characters

_KEY_LOCK = 7_310_002


def private_key_place(key_id: int) -> Place:
    """Where a key's private half is stored: bound to its row (docs/security.md)."""
    return Place("signing_keys", "private_key_enc", key_id, "signing_keys.private_key")


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _KEY_LOCK})


def create_key(session: Session, actor: User | None = None) -> SigningKey:
    """Generate a new active Ed25519 key; its private half is encrypted at rest."""
    private_key = signing.generate_private_key()
    public_key = private_key.public_key()
    key = SigningKey(
        kid=signing.jwk_thumbprint(public_key),
        public_key=signing.public_key_to_raw(public_key),
        private_key_enc=b"",  # sealed below, once the row has its id
        status=KeyStatus.ACTIVE,
    )
    session.add(key)
    session.flush()
    key.private_key_enc = get_cipher().seal_text(
        signing.private_key_to_multibase(private_key), private_key_place(key.id)
    )
    session.flush()
    record_event(session, actor, "key.create", "signing_key", key.kid, details={"kid": key.kid})
    return key


def active_key(session: Session) -> SigningKey:
    """Return the active key, making the first one if there is none."""
    key = session.scalars(
        select(SigningKey)
        .where(SigningKey.status == KeyStatus.ACTIVE)
        .order_by(SigningKey.id.desc())
    ).first()
    if key is not None:
        return key
    _lock(session)
    key = session.scalars(select(SigningKey).where(SigningKey.status == KeyStatus.ACTIVE)).first()
    return key or create_key(session)


def private_key_of(key: SigningKey) -> Any:
    """Decrypt a key's private half (for signing only)."""
    secret = get_cipher().open_text(key.private_key_enc, private_key_place(key.id))
    return signing.private_key_from_multibase(secret)


def public_key_of(key: SigningKey) -> Any:
    return signing.public_key_from_raw(key.public_key)


def get_key(session: Session, kid: str) -> SigningKey | None:
    """Return the key with this kid, whatever its status."""
    return session.scalars(select(SigningKey).where(SigningKey.kid == kid)).first()


def _require_key(session: Session, kid: str) -> SigningKey:
    key = get_key(session, kid)
    if key is None:
        raise NotFound(_("no signing key with kid %(kid)s", kid=kid))
    return key


def rotate(session: Session, actor: User | None = None) -> SigningKey:
    """Retire the active key and make a new one; old certificates stay verifiable."""
    _lock(session)
    now = utcnow()
    for key in session.scalars(select(SigningKey).where(SigningKey.status == KeyStatus.ACTIVE)):
        key.status = KeyStatus.RETIRED
        key.retired_at = now
        record_event(session, actor, "key.retire", "signing_key", key.kid, details={"kid": key.kid})
    session.flush()
    return create_key(session, actor)


def retire(session: Session, kid: str, actor: User | None = None) -> SigningKey:
    """Stop signing with a key; what it signed stays valid. A new key is made on next use."""
    key = _require_key(session, kid)
    if key.status == KeyStatus.COMPROMISED:
        raise Conflict(_("key %(kid)s is compromised; it cannot be retired", kid=kid))
    if key.status == KeyStatus.ACTIVE:
        key.status = KeyStatus.RETIRED
        key.retired_at = utcnow()
        session.flush()
        record_event(session, actor, "key.retire", "signing_key", key.kid, details={"kid": key.kid})
    return key


def compromise(
    session: Session, kid: str, at: datetime, reason: str = "", actor: User | None = None
) -> SigningKey:
    """Mark a key compromised from a time: what the ledger shows issued before it stays valid."""
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
    key = _require_key(session, kid)
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
    record_event(
        session,
        actor,
        "key.compromise",
        "signing_key",
        key.kid,
        details={"kid": key.kid, "at": at.isoformat(), "reason": key.compromise_reason},
    )
    return key


def list_keys(session: Session) -> list[SigningKey]:
    return list(session.scalars(select(SigningKey).order_by(SigningKey.id)))


def jwks(session: Session) -> dict[str, Any]:
    """Return every public key (active, retired and compromised) as a JWKS.

    Compromised keys stay listed, marked, because what they signed before the compromise is still
    valid; verifiers must ask the service about certificates signed by them.
    """
    keys = []
    for key in list_keys(session):
        jwk: dict[str, Any] = signing.public_jwk(public_key_of(key))
        jwk["status"] = key.status
        if key.compromised_at is not None:
            jwk["compromised_at"] = key.compromised_at.isoformat()
        keys.append(jwk)
    return {"keys": keys}

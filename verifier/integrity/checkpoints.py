"""Signed checkpoints of the audit chain: make them, list them, read and check signed ones.

A checkpoint states "the chain had `count` entries and entry number `count` had hash `head`",
signed as a compact JWS (EdDSA, typ `audit-checkpoint+jwt`) with the platform's signing key.
The checkpoints are a chain too: each names the SHA-256 of the previous one's JWS. Anyone may
copy the list (GET /api/v1/audit/checkpoints); a copy made before someone cut or rewrote the
log shows it. docs/audit.md states the format.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from verifier.audit.models import GENESIS_HASH, AuditCheckpoint, AuditEntry
from verifier.audit.services import CHECKPOINTING, lock_chain
from verifier.crypto import signing
from verifier.crypto.errors import CryptoError, InvalidSignature, MalformedToken
from verifier.db import utcnow
from verifier.keys.models import KeyStatus, SigningKey

log = logging.getLogger(__name__)

CHECKPOINT_TYPE = signing.CHECKPOINT_TYPE
_HEX64 = re.compile(r"[0-9a-f]{64}")


def jws_hash(jws: str) -> str:
    """Return the SHA-256 (hex) of a checkpoint's compact JWS: what the next one names as prev."""
    return hashlib.sha256(jws.encode("ascii")).hexdigest()


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    ).first()


def checkpoint_due(session: Session, head_id: int, every: int) -> bool:
    """Whether `every` entries up to `head_id` followed the last checkpoint, and a key can sign.

    Cheap on almost every append: ids grow at least as fast as the count, so entries are only
    counted once the ids alone say enough may have been appended.
    """
    last_head = session.scalar(
        select(AuditCheckpoint.head_entry_id).order_by(AuditCheckpoint.seq.desc()).limit(1)
    )
    last_head = last_head or 0
    if head_id - last_head < every or _signing_key(session, create=False) is None:
        return False
    appended = session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.id > last_head, AuditEntry.id <= head_id)
    )
    return int(appended or 0) >= every


def _signing_key(session: Session, create: bool) -> SigningKey | None:
    if create:
        from verifier.keys.services import active_key

        return active_key(session)
    return session.scalars(
        select(SigningKey)
        .where(SigningKey.status == KeyStatus.ACTIVE, SigningKey.organisation_id.is_(None))
        .order_by(SigningKey.id.desc())
    ).first()


def _issuer() -> str:
    return str(current_app.config["BASE_URL"]) if has_app_context() else ""


def make_checkpoint(session: Session, *, create_key: bool = True) -> AuditCheckpoint | None:
    """Sign the chain's head now; None when no entry was appended since the last checkpoint.

    Safe when several processes call it at once: the chain lock serialises them (PostgreSQL),
    and the unique seq and prev_hash refuse a second "next" checkpoint (every database); the
    loser finds nothing new, or gets None. `create_key=False` (inside an append, which holds
    the chain lock) never makes the first signing key, which would take the key lock after it.
    """
    session.info[CHECKPOINTING] = True
    try:
        key = _signing_key(session, create_key)  # before the chain lock: the key lock comes first
        if key is None:
            return None
        lock_chain(session)
        session.flush()
        head = session.execute(
            select(AuditEntry.id, AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)
        ).first()
        last = latest_checkpoint(session)
        if head is None or (last is not None and last.head_entry_id >= head.id):
            return None
        # counted on from the last checkpoint: a cut below it keeps showing as a wrong count
        since = last.head_entry_id if last is not None else 0
        appended = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.id > since, AuditEntry.id <= head.id)
        )
        count = (last.entry_count if last is not None else 0) + int(appended or 0)
        now = utcnow().replace(microsecond=0)
        seq = last.seq + 1 if last is not None else 1
        prev = jws_hash(last.jws) if last is not None else GENESIS_HASH
        payload = {
            "iss": _issuer(),
            "seq": seq,
            "count": count,
            "head": head.entry_hash,
            "prev": prev,
            "iat": int(now.timestamp()),
        }
        from verifier.keys.services import private_key_of

        jws = signing.sign_compact_jws(payload, private_key_of(key), key.kid, CHECKPOINT_TYPE)
        checkpoint = AuditCheckpoint(
            seq=seq,
            created_at=now,
            entry_count=count,
            head_entry_id=head.id,
            head_hash=head.entry_hash,
            prev_hash=prev,
            kid=key.kid,
            jws=jws,
        )
        try:
            with session.begin_nested():
                session.add(checkpoint)
        except IntegrityError:
            return None  # another process appended this seq first (SQLite: no advisory lock)
        return checkpoint
    finally:
        session.info.pop(CHECKPOINTING, None)


def maybe_checkpoint(head: AuditEntry, *, session: Session) -> None:
    """Sign a checkpoint once VERIFIER_AUDIT_CHECKPOINT_EVERY entries followed the last one.

    The receiver of `entries_appended`: it runs in the appending transaction (which holds the
    chain lock), inside a savepoint; a checkpoint that cannot be made is logged and left to the
    hourly job, never a failed write.
    """
    if session.info.get(CHECKPOINTING):
        return
    every = int(current_app.config.get("AUDIT_CHECKPOINT_EVERY", 0)) if has_app_context() else 0
    if every <= 0:
        return
    if not checkpoint_due(session, head.id, every):
        return
    try:
        with session.begin_nested():
            make_checkpoint(session, create_key=False)
    except Exception:
        log.exception("could not make an audit checkpoint; the hourly job will try again")


def list_checkpoints(session: Session, after: int, limit: int) -> list[AuditCheckpoint]:
    """Return up to `limit` checkpoints with seq greater than `after`, oldest first."""
    return list(
        session.scalars(
            select(AuditCheckpoint)
            .where(AuditCheckpoint.seq > after)
            .order_by(AuditCheckpoint.seq)
            .limit(limit)
        )
    )


def all_checkpoints(session: Session) -> list[AuditCheckpoint]:
    return list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)))


# --- reading and checking signed checkpoints ---------------------------------------------------


@dataclass(frozen=True)
class SignedCheckpoint:
    """The signed content of a checkpoint whose signature has been checked."""

    seq: int
    count: int
    head: str
    prev: str
    issued_at: datetime
    issuer: str
    kid: str
    jws: str


class BadCheckpoint(Exception):
    """A checkpoint is malformed, or its signature does not hold."""


@dataclass(frozen=True)
class KeyRing:
    """Public keys by kid, with their status and compromise time."""

    lookup: Callable[[str], Any]
    compromised_at: Mapping[str, datetime | None]


def key_ring(session: Session) -> KeyRing:
    """Every root key of the service (active, retired and compromised ones).

    Checkpoints are the platform's: an organisation's key never signs one.
    """
    keys = list(session.scalars(select(SigningKey).where(SigningKey.organisation_id.is_(None))))
    public = {key.kid: signing.public_key_from_raw(key.public_key) for key in keys}
    compromised = {
        key.kid: key.compromised_at for key in keys if key.status == KeyStatus.COMPROMISED
    }
    return KeyRing(public.get, compromised)


def _int(payload: Mapping[str, Any], name: str, minimum: int) -> int:
    value = payload.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise BadCheckpoint(f"its signed content has no valid {name}")
    return value


def _hex(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise BadCheckpoint(f"its signed content has no valid {name} (64 hex digits)")
    return value


def read_checkpoint(jws: Any, keys: KeyRing) -> SignedCheckpoint:
    """Check a checkpoint's signature against the service's keys and parse its content."""
    if not isinstance(jws, str):
        raise BadCheckpoint("it has no jws (a compact JWS string)")
    try:
        decoded = signing.verify_compact_jws(jws, keys.lookup, CHECKPOINT_TYPE)
    except InvalidSignature:
        raise BadCheckpoint("its signature is invalid: it was altered or forged") from None
    except MalformedToken as exc:
        raise BadCheckpoint(f"it is not a signed checkpoint: {exc}") from None
    except CryptoError:
        kid = signing.decode_compact_jws(jws, CHECKPOINT_TYPE).header.get("kid", "")
        raise BadCheckpoint(
            f"it is signed by key {str(kid)[:12]}…, which the service does not publish"
        ) from None
    payload = decoded.payload
    iat = _int(payload, "iat", 1)
    try:
        issued_at = datetime.fromtimestamp(iat, UTC)
    except (OverflowError, OSError, ValueError):
        raise BadCheckpoint("its signed content has no valid iat") from None
    return SignedCheckpoint(
        seq=_int(payload, "seq", 1),
        count=_int(payload, "count", 1),
        head=_hex(payload, "head"),
        prev=_hex(payload, "prev"),
        issued_at=issued_at,
        issuer=str(payload.get("iss", "")),
        kid=str(decoded.header["kid"]),
        jws=jws,
    )


def compromised_before(checkpoint: SignedCheckpoint, keys: KeyRing) -> bool:
    """Whether the checkpoint was signed by a key already compromised at its signing time."""
    if checkpoint.kid not in keys.compromised_at:
        return False
    at = keys.compromised_at[checkpoint.kid]
    return at is None or checkpoint.issued_at >= at

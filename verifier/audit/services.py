"""Append to the hash-chained audit log and check the chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from verifier.audit.models import GENESIS_HASH, AuditEntry
from verifier.audit.signals import entries_appended
from verifier.db import utcnow

if TYPE_CHECKING:  # annotations only: every feature, auth too, appends to the chain
    from verifier.auth.models import User

# Arbitrary constant key for the PostgreSQL advisory lock that serialises appends.
_AUDIT_LOCK_KEY = 7_310_001
# Set in session.info while a checkpoint is being made, so its own key creation cannot recurse.
CHECKPOINTING = "verifier.audit.checkpointing"


def lock_chain(session: Session) -> None:
    """Serialise writers of the chain (and of its checkpoints) until the transaction ends.

    On PostgreSQL an advisory lock; SQLite has a single writer anyway, and the unique hashes
    refuse a fork on both.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _AUDIT_LOCK_KEY})


def canonical_json(data: Any) -> str:
    """Serialise data deterministically: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_digest(entry: AuditEntry) -> str:
    """Compute the hash that an entry must carry, from its content and its predecessor's hash."""
    body = canonical_json(
        {
            "prev": entry.prev_hash,
            "at": entry.created_at.isoformat(timespec="microseconds"),
            "actor_user_id": entry.actor_user_id,
            "actor": entry.actor,
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "organisation_id": entry.organisation_id,
            "details": entry.details,
        }
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def record_event(
    session: Session,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: Any,
    *,
    organisation_id: int | None = None,
    details: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> AuditEntry:
    """Append one entry to the chain, inside the caller's transaction."""
    (entry,) = record_events(
        session,
        actor,
        [(action, object_type, object_id, organisation_id, details or {})],
        actor_label=actor_label,
    )
    return entry


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_id: int | None = None
    problem: str = ""


def verify_chain(
    session: Session,
    batch_size: int = 5000,
    observe: Callable[[int, AuditEntry], None] | None = None,
) -> ChainReport:
    """Walk the whole chain in order; name the first entry whose link or hash is wrong.

    `observe(number, entry)` is called for every intact entry; entries are numbered from 1 in
    chain order (the number a checkpoint's count refers to).
    """
    expected_prev = GENESIS_HASH
    checked = 0
    last_id = 0
    while True:
        batch = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.id > last_id)
            .order_by(AuditEntry.id)
            .limit(batch_size)
        ).all()
        if not batch:
            return ChainReport(ok=True, checked=checked)
        for entry in batch:
            if entry.prev_hash != expected_prev:
                return ChainReport(
                    False, checked, entry.id, "does not link to the entry before it (prev_hash)"
                )
            if entry_digest(entry) != entry.entry_hash:
                return ChainReport(False, checked, entry.id, "content does not match its hash")
            expected_prev = entry.entry_hash
            checked += 1
            last_id = entry.id
            if observe is not None:
                observe(checked, entry)
        session.expunge_all()


def entries_for(session: Session, object_type: str, object_id: Any) -> list[AuditEntry]:
    """Return the audit entries about one object, oldest first."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
            .order_by(AuditEntry.id)
        )
    )


def record_events(
    session: Session,
    actor: User | None,
    events: list[tuple[str, str, Any, int | None, dict[str, Any]]],
    *,
    actor_label: str | None = None,
) -> list[AuditEntry]:
    """Append many entries, in order, with one read of the chain's end and one flush.

    Each event is (action, object_type, object_id, organisation_id, details); the entries are
    exactly those that calling record_event once per event would append.
    """
    if not events:
        return []
    lock_chain(session)
    session.flush()  # an entry still pending would otherwise be missed as the chain's end
    prev = (
        session.scalars(
            select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)
        ).first()
        or GENESIS_HASH
    )
    entries = []
    for action, object_type, object_id, organisation_id, details in events:
        entry = AuditEntry(
            created_at=utcnow(),
            actor_user_id=actor.id if actor is not None else None,
            actor=actor_label or (actor.email if actor is not None else "system"),
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            organisation_id=organisation_id,
            details=canonical_json(details or {}),
            prev_hash=prev,
        )
        entry.entry_hash = prev = entry_digest(entry)
        entries.append(entry)
    session.add_all(entries)
    session.flush()
    entries_appended.send(entries[-1], session=session)
    return entries

"""The append-only, hash-chained audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from verifier.db import Base, utcnow

GENESIS_HASH = "0" * 64


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    # verification finds a certificate's ledger entry by its object
    __table_args__ = (Index("ix_audit_entries_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    details: Mapped[str] = mapped_column(Text, default="{}")
    # unique: two writers can never both extend the same entry, so the chain cannot fork
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditCheckpoint(Base):
    """A signed statement of the chain's head (entry count and hash); appended, never changed.

    The checkpoints form a chain of their own: each names the SHA-256 of the one before it, and
    `seq` and `prev_hash` are unique, so two processes can never both append the next one.
    """

    __tablename__ = "audit_checkpoints"
    __table_args__ = (CheckConstraint("entry_count > 0", name="count_positive"),)

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    created_at: Mapped[datetime]
    entry_count: Mapped[int] = mapped_column(unique=True)
    # the id of entry number entry_count, so that "new entries since" is an index range
    head_entry_id: Mapped[int]
    head_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kid: Mapped[str] = mapped_column(String(64))
    jws: Mapped[str] = mapped_column(Text)


class AttestationEpoch(Base):
    """Where record attestation began: the record revisions that were there before it.

    Written once, by the migration that introduced attestation. Revisions 1..legacy_upto are
    legacy (written before anything attested them; `verifier audit attest-legacy` attests them
    once); there were legacy_count of them, so rows added to that range later are caught. A
    revision outside the range that no audit entry attests was written behind the application.
    """

    __tablename__ = "record_attestation_epoch"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    legacy_upto: Mapped[int]
    legacy_count: Mapped[int]
    created_at: Mapped[datetime]

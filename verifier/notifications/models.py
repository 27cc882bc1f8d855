"""The outbox: one row per message, written in the same transaction as the change it reports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from verifier.codes import one_of
from verifier.db import Base, utcnow


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed by a sender until leased_until
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt; kept, never deleted


class OutboxMessage(Base):
    """A message to one recipient. The address and the body are sealed (verifier.crypto)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(one_of("channel", Channel), name="channel_known"),
        CheckConstraint(one_of("status", OutboxStatus), name="status_known"),
        Index("ix_outbox_messages_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    # what the message is about, e.g. "invitation", "record_receipt", "password_reset"
    kind: Mapped[str] = mapped_column(String(40))
    recipient_enc: Mapped[bytes] = mapped_column(LargeBinary)
    recipient_masked: Mapped[str] = mapped_column(String(100), default="")
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    subject: Mapped[str] = mapped_column(String(200), default="")
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # who it is for, when known
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"), index=True)
    # stable for every attempt (the e-mail's Message-ID), so a receiver can drop a repeat
    message_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    leased_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

"""Ed25519 signing keys of the instance."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from verifier.codes import one_of
from verifier.db import Base, utcnow


class KeyStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"
    COMPROMISED = "compromised"


class SigningKey(Base):
    __tablename__ = "signing_keys"
    __table_args__ = (CheckConstraint(one_of("status", KeyStatus), name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    private_key_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=KeyStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]
    # Certificates that the ledger does not show as issued before this time fail verification.
    compromised_at: Mapped[datetime | None]
    compromise_reason: Mapped[str] = mapped_column(String(500), default="")

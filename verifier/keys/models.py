"""Ed25519 signing keys: the platform's root keys, and each organisation's own (root-endorsed)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from verifier.codes import one_of
from verifier.db import Base, utcnow


class KeyStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"
    COMPROMISED = "compromised"


class SigningKey(Base):
    __tablename__ = "signing_keys"
    __table_args__ = (
        CheckConstraint(one_of("status", KeyStatus), name="status_known"),
        Index(
            "uq_signing_keys_active_organisation",
            "organisation_id",
            unique=True,
            sqlite_where=text("status = 'active' AND organisation_id IS NOT NULL"),
            postgresql_where=text("status = 'active' AND organisation_id IS NOT NULL"),
        ),
    )

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
    # None: a root key of the platform (it signs endorsements, the trust list, status lists and
    # audit checkpoints, and signed every certificate issued before organisation keys)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), index=True, default=None
    )
    # the root's endorsement of an organisation key: a compact JWS, re-signed when it changes
    endorsement: Mapped[str] = mapped_column(Text, default="")

    @property
    def is_root(self) -> bool:
        return self.organisation_id is None


class SignedDocument(Base):
    """A published document signed once per change of its content (e.g. the trust list)."""

    __tablename__ = "signed_documents"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # SHA-256 of the content without its signing time: a change of content signs it anew
    fingerprint: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # when the content was last compared with what is true (at most once a minute)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)

"""Certificates (志愿服务记录证明), the records they cover, and how often they are verified."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from verifier.certificates.states import CertificateStatus
from verifier.codes import one_of
from verifier.db import Base, utcnow


class VerificationChannel(StrEnum):
    """How a verification reached us: a scanned QR code, a typed number, the API, a batch."""

    SCAN = "scan"
    TYPED = "typed"
    API = "api"
    BATCH = "batch"


class CustodianKind(StrEnum):
    """Who issued a certificate for a deregistered organisation's records."""

    SUCCESSOR = "successor"
    PLATFORM = "platform"


class Certificate(Base):
    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint(one_of("status", CertificateStatus), name="status_known"),
        # what each key signed, and until when (the trust list's certificates_until)
        Index("ix_certificates_kid_issued_at", "kid", "issued_at"),
        CheckConstraint(
            one_of("custodian_kind", CustodianKind, nullable=True), name="custodian_kind_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # canonical form: 17 characters, no separators
    number: Mapped[str] = mapped_column(String(17), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=CertificateStatus.VALID)
    period_from: Mapped[date]
    period_to: Mapped[date]
    total_minutes: Mapped[int]
    record_count: Mapped[int]
    # per-activity totals as JSON: [{"activity": ..., "minutes": ..., "records": ...}]
    activities: Mapped[str] = mapped_column(Text)
    # what the certificate shows, frozen at issuance
    volunteer_name: Mapped[str] = mapped_column(String(50))
    volunteer_name_masked: Mapped[str] = mapped_column(String(50))
    volunteer_number: Mapped[str] = mapped_column(String(16))
    id_type: Mapped[str] = mapped_column(String(20))
    id_masked: Mapped[str] = mapped_column(String(24))
    # the holder's copy: the ID number with only its middle masked (110101********123X);
    # empty for certificates issued before it existed, whose holder's copy prints id_masked
    holder_id_masked: Mapped[str] = mapped_column(String(24), default="")
    issuer_name: Mapped[str] = mapped_column(String(200))
    issuer_uscc: Mapped[str] = mapped_column(String(18))
    responsible_person: Mapped[str] = mapped_column(String(50))
    handler: Mapped[str] = mapped_column(String(50))
    contact: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kid: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(Text)
    # SHA-256 of the signed content (the JWS signing input), also written to the ledger
    content_sha256: Mapped[str] = mapped_column(String(64))
    # SHA-256 over the covered records' ids, revisions and statuses at issuance
    records_digest: Mapped[str] = mapped_column(String(64))
    # position in the Bitstring Status Lists (revocation and suspension)
    status_index: Mapped[int] = mapped_column(unique=True)
    status_reason: Mapped[str] = mapped_column(String(500), default="")
    status_changed_at: Mapped[datetime | None]
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    # a supervision case holds it suspended: only the case's decision lifts the hold
    regulator_hold: Mapped[bool] = mapped_column(default=False, server_default=false())
    # issued for a deregistered organisation (the records stay its own) by its successor or,
    # without one, the platform (verifier/succession); None: the organisation issued it itself
    custodian_kind: Mapped[str | None] = mapped_column(String(16), default=None)
    custodian_uscc: Mapped[str | None] = mapped_column(String(18), default=None)
    custodian_name: Mapped[str] = mapped_column(String(200), default="")
    qr_png: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # the certificate as an SD-JWT (RFC 9901) with every disclosure: the holder's to present;
    # None for a certificate issued before SD-JWTs, until its first request signs one
    sd_jwt: Mapped[str | None] = mapped_column(Text, deferred=True)

    organisation = relationship("Organisation", lazy="joined")


class CertificateRecord(Base):
    """A record a certificate covers, at the revision it had when issued."""

    __tablename__ = "certificate_records"

    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("service_records.id"), primary_key=True, index=True
    )
    revision: Mapped[int]


class VerificationEvent(Base):
    """One verification of a certificate; nothing about who verified."""

    __tablename__ = "verification_events"
    __table_args__ = (
        CheckConstraint(one_of("channel", VerificationChannel), name="channel_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24))

"""Complaints (投诉) about organisations and volunteers' correction requests (更正申请)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from verifier.codes import one_of
from verifier.db import Base, utcnow


class ComplaintSource(StrEnum):
    PUBLIC = "public"
    VOLUNTEER = "volunteer"
    REGULATOR = "regulator"
    ORGANISATION = "organisation"


class ComplaintStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CorrectionStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    REJECTED = "rejected"


class Complaint(Base):
    """A complaint against an organisation, perhaps about one of its records, kept by regulators."""

    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint(one_of("source", ComplaintSource), name="source_known"),
        CheckConstraint(one_of("status", ComplaintStatus), name="status_known"),
        Index("ix_complaints_org_status", "organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("service_records.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ComplaintStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str] = mapped_column(Text, default="")

    organisation = relationship("Organisation", lazy="joined")
    created_by = relationship("User", foreign_keys=[created_by_id], lazy="joined")
    closed_by = relationship("User", foreign_keys=[closed_by_id], lazy="joined")


class CorrectionRequest(Base):
    """A volunteer's request to correct one record, as the organisation received it."""

    __tablename__ = "correction_requests"
    __table_args__ = (
        CheckConstraint(one_of("status", CorrectionStatus), name="status_known"),
        Index("ix_correction_requests_org_status", "organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("service_records.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    # who asked, as they gave it: the volunteer's name, or "本人" (the volunteer in person)
    requested_by: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=CorrectionStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str] = mapped_column(Text, default="")

    record = relationship("ServiceRecord", lazy="joined")
    created_by = relationship("User", foreign_keys=[created_by_id], lazy="joined")
    resolved_by = relationship("User", foreign_keys=[resolved_by_id], lazy="joined")

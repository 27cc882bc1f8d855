"""Complaints (投诉) about organisations, and what volunteers ask of an organisation: corrections
(更正申请, also a volunteer's dispute of a record), missing records and certificates."""

from __future__ import annotations

from datetime import date, datetime
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


class DisputeKind(StrEnum):
    """What a volunteer says is wrong with a record about them."""

    NOT_ATTENDED = "not_attended"
    WRONG_TIME = "wrong_time"
    WRONG_MINUTES = "wrong_minutes"
    OTHER = "other"


class MissingRecordStatus(StrEnum):
    OPEN = "open"
    ENTERED = "entered"  # the organisation entered the record (linked)
    REFUSED = "refused"


class CertificateRequestStatus(StrEnum):
    PENDING = "pending"
    ISSUED = "issued"
    REFUSED = "refused"


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
        CheckConstraint(one_of("kind", DisputeKind, nullable=True), name="kind_known"),
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
    # set when the volunteer disputed the record from their own account (a dispute)
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"), index=True)
    kind: Mapped[str | None] = mapped_column(String(20))
    # the record's revision the volunteer disputed
    record_revision: Mapped[int | None]
    # the organisation must answer by the end of this local day (10 working days)
    due_on: Mapped[date | None]

    record = relationship("ServiceRecord", lazy="joined")
    created_by = relationship("User", foreign_keys=[created_by_id], lazy="joined")
    resolved_by = relationship("User", foreign_keys=[resolved_by_id], lazy="joined")


class MissingRecordRequest(Base):
    """A volunteer's report of service the organisation has not recorded (an omission)."""

    __tablename__ = "missing_record_requests"
    __table_args__ = (
        CheckConstraint(one_of("status", MissingRecordStatus), name="status_known"),
        CheckConstraint("ended_at > started_at", name="ends_after_start"),
        Index("ix_missing_record_requests_org_status", "organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    activity: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=MissingRecordStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[date]
    # the record the organisation entered for it
    record_id: Mapped[int | None] = mapped_column(ForeignKey("service_records.id"))
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organisation = relationship("Organisation", lazy="joined")
    volunteer = relationship("Volunteer", lazy="joined")


class CertificateRequest(Base):
    """A volunteer's request for a certificate of their service with one organisation (free)."""

    __tablename__ = "certificate_requests"
    __table_args__ = (
        CheckConstraint(one_of("status", CertificateRequestStatus), name="status_known"),
        CheckConstraint("period_to >= period_from", name="period_ordered"),
        Index("ix_certificate_requests_org_status", "organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    period_from: Mapped[date]
    period_to: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default=CertificateRequestStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[date]
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    refusal_reason: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organisation = relationship("Organisation", lazy="joined")
    volunteer = relationship("Volunteer", lazy="joined")

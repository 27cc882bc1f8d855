"""Service records and their immutable revisions."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from verifier.codes import one_of
from verifier.db import Base, utcnow


class RecordStatus(StrEnum):
    ACTIVE = "active"
    VOIDED = "voided"


class RevisionKind(StrEnum):
    CREATED = "created"
    CORRECTED = "corrected"
    VOIDED = "voided"


class RecordSource(StrEnum):
    """How a record came in."""

    ENTRY = "entry"
    API = "api"
    IMPORT = "import"
    CHECKIN = "checkin"


# The content a record and each of its revisions both hold: a record shows its latest revision's.
CONTENT_FIELDS = (
    "activity",
    "place",
    "content",
    "leader",
    "started_at",
    "ended_at",
    "minutes",
    "evaluation",
)


class ServiceRecord(Base):
    """A stretch of volunteer service; its columns mirror its latest revision."""

    __tablename__ = "service_records"
    __table_args__ = (
        CheckConstraint("minutes > 0", name="minutes_positive"),
        CheckConstraint("ended_at > started_at", name="ends_after_start"),
        CheckConstraint(one_of("status", RecordStatus), name="status_known"),
        UniqueConstraint("organisation_id", "dedupe_key", name="uq_service_records_dedupe"),
        Index("ix_service_records_volunteer_time", "volunteer_id", "started_at", "ended_at"),
        Index("ix_service_records_volunteer_day", "volunteer_id", "service_date"),
        Index("ix_service_records_org_date", "organisation_id", "service_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    status: Mapped[str] = mapped_column(String(16), default=RecordStatus.ACTIVE)
    revision: Mapped[int] = mapped_column(default=1)
    activity: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text, default="")
    leader: Mapped[str] = mapped_column(String(50), default="")
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    service_date: Mapped[date]
    minutes: Mapped[int]
    evaluation: Mapped[str] = mapped_column(String(500), default="")
    unpaid: Mapped[bool] = mapped_column(default=True)
    not_job_duty: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(String(16), default=RecordSource.ENTRY)
    entered_late: Mapped[bool] = mapped_column(default=False)
    dedupe_key: Mapped[str] = mapped_column(String(64))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    voided_at: Mapped[datetime | None]
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    void_reason: Mapped[str] = mapped_column(String(500), default="")
    # the volunteer says they were not there and the organisation has not answered yet:
    # no new certificate may cover the record meanwhile
    certificate_hold: Mapped[bool] = mapped_column(default=False)

    volunteer = relationship("Volunteer", lazy="joined")
    organisation = relationship("Organisation", lazy="joined")
    recorded_by = relationship("User", foreign_keys=[recorded_by_id], lazy="joined")


class RecordRevision(Base):
    """One version of a record, never changed: creation, each correction, and voiding."""

    __tablename__ = "record_revisions"
    __table_args__ = (
        UniqueConstraint("record_id", "revision", name="uq_record_revisions_record_revision"),
        CheckConstraint(one_of("kind", RevisionKind), name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("service_records.id"), index=True)
    revision: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    activity: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text, default="")
    leader: Mapped[str] = mapped_column(String(50), default="")
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    minutes: Mapped[int]
    evaluation: Mapped[str] = mapped_column(String(500), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by = relationship("User", lazy="joined")


class ImportBatch(Base):
    """One import of a file of records."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    encoding: Mapped[str] = mapped_column(String(20), default="")
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_imported: Mapped[int] = mapped_column(default=0)
    rows_skipped: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecordReassignment(Base):
    """A record moved to another volunteer row because the two rows were one person (a merge).

    Part of the record's history beside its revisions; the revision itself does not change, so
    certificates over the record stay intact.
    """

    __tablename__ = "record_reassignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("service_records.id"), index=True)
    from_volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    to_volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    from_volunteer = relationship("Volunteer", foreign_keys=[from_volunteer_id], lazy="joined")
    to_volunteer = relationship("Volunteer", foreign_keys=[to_volunteer_id], lazy="joined")


class RecordConfirmation(Base):
    """The volunteer confirmed one revision of a record about them (a receipt answered)."""

    __tablename__ = "record_confirmations"

    record_id: Mapped[int] = mapped_column(ForeignKey("service_records.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)

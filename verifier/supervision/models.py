"""Inspection findings with their evidence, and supervision cases (责令限期改正)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from verifier.codes import one_of
from verifier.db import Base, utcnow


class FindingResult(StrEnum):
    CONFIRMED = "confirmed"
    DISCREPANCY = "discrepancy"
    UNVERIFIABLE = "unverifiable"


class DiscrepancyType(StrEnum):
    """What kind of discrepancy an inspector found."""

    HOURS_INFLATED = "hours_inflated"
    ACTIVITY_NOT_HELD = "activity_not_held"
    VOLUNTEER_UNAWARE = "volunteer_unaware"
    DUPLICATE = "duplicate"
    PAID_OR_JOB_DUTY = "paid_or_job_duty"
    CERTIFICATE_FORGED = "certificate_forged"


# the discrepancies that, confirmed by the supervisor, are falsification: certificates are revoked
FALSIFICATION_TYPES = (
    DiscrepancyType.HOURS_INFLATED,
    DiscrepancyType.ACTIVITY_NOT_HELD,
    DiscrepancyType.CERTIFICATE_FORGED,
)


class CaseStatus(StrEnum):
    OPEN = "open"
    RESPONDED = "responded"
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    CLOSED = "closed"


class CaseOutcome(StrEnum):
    RESOLVED = "resolved"
    SANCTIONED = "sanctioned"


class Sanction(StrEnum):
    WARNING = "warning"
    STOP_ACTIVITIES = "stop_activities"
    PUBLIC_NOTICE = "public_notice"


class CaseEventKind(StrEnum):
    """A step in a case's history (case_events.kind)."""

    OPENED = "opened"
    CERTIFICATES_SUSPENDED = "certificates_suspended"
    RESPONDED = "responded"
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    CLOSED = "closed"
    CERTIFICATES_REINSTATED = "certificates_reinstated"
    CERTIFICATES_REVOKED = "certificates_revoked"
    ORGANISATION_SUSPENDED = "organisation_suspended"


class SpotCheckFinding(Base):
    """What an assigned inspector found about one sampled item; one per item."""

    __tablename__ = "spotcheck_findings"
    __table_args__ = (
        CheckConstraint(one_of("result", FindingResult), name="result_known"),
        CheckConstraint(
            f"(result = '{FindingResult.DISCREPANCY.value}') = (discrepancy_type IS NOT NULL)",
            name="type_iff_discrepancy",
        ),
        UniqueConstraint("item_id", name="uq_spotcheck_findings_item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("spotcheck_items.id"))
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    result: Mapped[str] = mapped_column(String(16))
    discrepancy_type: Mapped[str | None] = mapped_column(String(32))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    inspector = relationship("User", lazy="joined")


class FindingRecord(Base):
    """A service record that a finding concerns (the records a discrepancy affects)."""

    __tablename__ = "finding_records"

    finding_id: Mapped[int] = mapped_column(ForeignKey("spotcheck_findings.id"), primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("service_records.id"), primary_key=True, index=True
    )


class FindingEvidence(Base):
    """A file (PDF, JPEG or PNG) an inspector attached to a finding, kept in the database."""

    __tablename__ = "finding_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("spotcheck_findings.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SupervisionCase(Base):
    """An order to correct within a deadline (责令限期改正), opened by a discrepancy."""

    __tablename__ = "supervision_cases"
    __table_args__ = (
        CheckConstraint(one_of("status", CaseStatus), name="status_known"),
        CheckConstraint(one_of("outcome", CaseOutcome, nullable=True), name="outcome"),
        CheckConstraint(one_of("sanction", Sanction, nullable=True), name="sanction_known"),
        UniqueConstraint("finding_id", name="uq_supervision_cases_finding_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("spotcheck_findings.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("spotcheck_campaigns.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.OPEN)
    deadline: Mapped[datetime]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    response: Mapped[str] = mapped_column(Text, default="")
    # JSON list of the record ids the organisation says it corrected
    corrected_record_ids: Mapped[str] = mapped_column(Text, default="[]")
    responded_at: Mapped[datetime | None]
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(String(16))
    sanction: Mapped[str | None] = mapped_column(String(32))
    falsification_confirmed: Mapped[bool] = mapped_column(default=False)
    decision: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    escalated_at: Mapped[datetime | None]

    organisation = relationship("Organisation", lazy="joined")
    finding = relationship("SpotCheckFinding", lazy="joined")


class CaseCertificate(Base):
    """A certificate a case holds suspended, and what became of it."""

    __tablename__ = "case_certificates"

    case_id: Mapped[int] = mapped_column(ForeignKey("supervision_cases.id"), primary_key=True)
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id"), primary_key=True, index=True
    )


class CaseEvent(Base):
    """One step in a case's life, shown on the case page (the audit log has them too)."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("supervision_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    # JSON: what the step changed (certificate numbers, record ids, sanction ...)
    details: Mapped[str] = mapped_column(Text, default="{}")
    at: Mapped[datetime] = mapped_column(default=utcnow)

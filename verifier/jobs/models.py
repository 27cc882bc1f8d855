"""Jobs: long work (big imports, bulk issuance, campaign draws) done by a worker, not a request."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from verifier.codes import one_of
from verifier.db import Base, utcnow


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobKind(StrEnum):
    """What a job does."""

    IMPORT = "records.import"
    BULK_ISSUE = "certificates.issue_bulk"
    CAMPAIGN = "spotcheck.campaign"


FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)


class Job(Base):
    """One piece of long work: what to do, who asked, how far it got and how it ended.

    A worker claims a queued job (or a running one whose worker stopped beating), works it and
    records the outcome. `claim_token` fences the work: a worker writes only while the job is
    still claimed by it, so a worker thought dead cannot write over the one that took over.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(one_of("status", JobStatus), name="status_known"),
        Index("ix_jobs_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # the language of the person who asked: messages in the result and error follow it
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    progress_unit: Mapped[str] = mapped_column(String(16), default="")
    # where an interrupted job resumes (written in the same transaction as the work it covers)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # what the synchronous call would have answered: its body and status
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result_status: Mapped[int | None]
    # a failure, as the problem the synchronous call would have answered (status, detail, errors)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    worker: Mapped[str] = mapped_column(String(100), default="")
    heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


class JobFile(Base):
    """The file a job works on (an uploaded import), encrypted; deleted when the job ends."""

    __tablename__ = "job_files"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    # AES-256-GCM under the data key (the file holds ID numbers), bound to the job's id
    data: Mapped[bytes] = mapped_column(LargeBinary)

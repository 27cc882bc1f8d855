"""What the API answers about a job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for
from pydantic import Field

from verifier.api.schemas import OutputModel, local
from verifier.jobs.models import Job, JobKind, JobStatus


class JobProgress(OutputModel):
    done: int = Field(description="Work done so far, in `unit`.")
    total: int | None = Field(description="All the work, in `unit`, when known.")
    unit: str = Field(description="`B` (bytes of a CSV file), `row`, or `volunteer`; may be ''.")


class JobOut(OutputModel):
    """A job: long work (a big import, bulk issuance, a campaign draw) done off the request."""

    id: int
    kind: JobKind
    status: JobStatus = Field(
        description="queued → running → succeeded or failed. A job whose worker stopped is "
        "queued again and resumes where it was."
    )
    url: str = Field(description="This job in the API (poll it).")
    page_url: str = Field(description="This job's page, showing its progress.")
    progress: JobProgress
    result: dict[str, Any] | None = Field(
        None,
        description="When succeeded: exactly the body the synchronous call answers "
        "(for an import {imported, skipped, rejected, ...}).",
    )
    result_status: int | None = Field(
        None, description="When succeeded: the status the synchronous call answers (200, 201)."
    )
    error: dict[str, Any] | None = Field(
        None,
        description="When failed: the problem the synchronous call would have answered "
        "(status, detail, errors), or why the job was given up.",
    )
    attempts: int = Field(description="How many times a worker took the job.")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,
            url=url_for("api.get_job_api", job_id=job.id),
            page_url=url_for("jobs.detail", job_id=job.id),
            progress=JobProgress(
                done=job.progress_done, total=job.progress_total, unit=job.progress_unit
            ),
            result=job.result if job.status == JobStatus.SUCCEEDED else None,
            result_status=job.result_status if job.status == JobStatus.SUCCEEDED else None,
            error=job.error if job.status == JobStatus.FAILED else None,
            attempts=job.attempts,
            created_at=local(job.created_at),
            started_at=local(job.started_at),
            finished_at=local(job.finished_at),
        )

"""How imports take part in the pages and the job queue of the features below them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from verifier.auth.models import User
from verifier.imports.jobs import run_import_job
from verifier.imports.report import ImportReport
from verifier.jobs.models import Job
from verifier.jobs.services import IMPORT, register_handler
from verifier.jobs.signals import job_page


def _import_report(job: Job, *, session: Session, actor: User) -> dict[str, Any]:
    # a finished import job shows its report, as a synchronous import does
    if job.kind == IMPORT and job.status == "succeeded" and job.result:
        return {"report": ImportReport.from_dict(job.result)}
    return {}


def connect() -> None:
    """Show an import job's report on the job's page; work the import jobs."""
    job_page.connect(_import_report)
    register_handler(IMPORT, run_import_job)

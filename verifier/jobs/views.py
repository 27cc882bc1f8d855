"""The job page: progress while a job runs (it reloads itself), then its outcome."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ROLES, REGULATOR_ROLES
from verifier.db import get_session
from verifier.jobs.models import JobKind, JobStatus
from verifier.jobs.services import visible_job
from verifier.jobs.signals import job_page
from verifier.labels import Labels

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

ID = "<int(max=2147483647):job_id>"
REFRESH_SECONDS = 3
KIND_LABELS: Labels = {
    JobKind.IMPORT: _l("Import of service records"),
    JobKind.BULK_ISSUE: _l("Issuing certificates in bulk"),
    JobKind.CAMPAIGN: _l("Spot-check campaign"),
}
STATUS_LABELS: Labels = {
    JobStatus.QUEUED: _l("Waiting for a worker"),
    JobStatus.RUNNING: _l("Running"),
    JobStatus.SUCCEEDED: _l("Finished"),
    JobStatus.FAILED: _l("Failed"),
}


@bp.get(f"/{ID}")
@roles(*sorted(ORG_ROLES | REGULATOR_ROLES))
def detail(job_id: int) -> Any:
    """Show a job's progress (the page reloads itself until the job ends), then its outcome."""
    session, actor = get_session(), require_actor()
    job = visible_job(session, actor, job_id)
    extra: dict[str, Any] = {}  # e.g. an import's report, from the feature that ran the job
    for _receiver, values in job_page.send(job, session=session, actor=actor):
        extra.update(values)
    percent = None
    if job.progress_total:
        percent = min(100, round(100 * job.progress_done / job.progress_total))
    return render_template(
        "jobs/detail.html",
        job=job,
        kind_label=KIND_LABELS.get(job.kind, job.kind),
        status_label=STATUS_LABELS.get(job.status, job.status),
        percent=percent,
        refresh=None if job.finished else REFRESH_SECONDS,
        **extra,
    )

"""JSON API for jobs: `GET /api/v1/jobs/{id}`, and the 202 answer of calls that queue one."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_babel import get_locale

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import answer
from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ROLES, REGULATOR_ROLES
from verifier.db import get_session
from verifier.jobs.models import Job
from verifier.jobs.schemas import JobOut
from verifier.jobs.services import visible_job

ID = "<int(max=2147483647):job_id>"
RETRY_AFTER_SECONDS = 2
ACCEPTED_TEXT = (
    "Answers 202 with the job (`Location` is the job; poll it until `status` is `succeeded` or "
    "`failed`; its `result` is then exactly the body this call answers synchronously) when the "
    "work is larger than the limit documented in the README, or when the request carries "
    "`Prefer: respond-async` (RFC 7240)."
)


def prefers_async() -> bool:
    """Tell whether the request asks for an asynchronous answer (`Prefer: respond-async`)."""
    for header in request.headers.getlist("Prefer"):
        for preference in header.split(","):
            if preference.split(";", 1)[0].strip().lower() == "respond-async":
                return True
    return False


def request_locale() -> str:
    """The caller's language, which the job's messages will follow."""
    return str(get_locale() or "zh")


def accepted(job: Job) -> Any:
    """Answer 202 Accepted with the queued job, its URL in `Location`."""
    response = answer(JobOut.of(job), 202, url_for("api.get_job_api", job_id=job.id))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if prefers_async():
        response.headers["Preference-Applied"] = "respond-async"
    return response


@bp.get(f"/jobs/{ID}")
@roles(*sorted(ORG_ROLES | REGULATOR_ROLES))
@operation(
    summary="Show a job (long work done off the request)",
    tag="jobs",
    description=(
        "Status, progress and, when finished, the result (what the synchronous call answers) "
        "or the error. An organisation's jobs are seen by its users; campaign jobs by "
        "regulators. Others answer 404."
    ),
    response=JobOut,
)
def get_job_api(job_id: int) -> Any:
    job = visible_job(get_session(), require_actor(), job_id)
    response = answer(JobOut.of(job))
    if not job.finished:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response

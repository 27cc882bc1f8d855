"""The bulk issuance job: certifying more volunteers than a request should wait for.

`issue_bulk` itself is unchanged (one transaction: all the certificates of a run or none); the
job runs it in a worker and keeps its answer. Re-running a job whose worker died issues nothing
twice: its transaction never committed, or it did together with the job's success.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verifier.api.schemas import validate
from verifier.auth.models import User
from verifier.certificates.bulk import BULK_LIMIT, BulkRequest, certifiable_in_period, issue_bulk
from verifier.certificates.schemas import BulkCreate, BulkOut
from verifier.errors import Forbidden
from verifier.jobs.models import Job
from verifier.jobs.services import BULK_ISSUE, JobOutcome, enqueue
from verifier.jobs.worker import JobContext
from verifier.orgs.models import Organisation
from verifier.orgs.services import require_active
from verifier.records.models import ServiceRecord


def volunteers_in_request(session: Session, org: Organisation, body: BulkCreate) -> int:
    """Count the volunteers a bulk request covers at most: the size that makes it a job."""
    if body.volunteer_ids is not None:
        return len(set(body.volunteer_ids))
    count = select(func.count(func.distinct(ServiceRecord.volunteer_id)))
    return int(
        session.scalar(certifiable_in_period(count, org.id, body.period_from, body.period_to)) or 0
    )


def runs_as_job(
    session: Session, org: Organisation, body: BulkCreate, prefer_async: bool = False
) -> bool:
    """Tell whether a bulk issuance runs as a job: above the size limit, or when asked.

    A request the synchronous call refuses at once (over BULK_LIMIT) is left to it.
    """
    if prefer_async:
        return True
    count = volunteers_in_request(session, org, body)
    return int(current_app.config["BULK_SYNC_MAX_VOLUNTEERS"]) < count <= BULK_LIMIT


def queue_bulk(
    session: Session, org: Organisation, actor: User, body: BulkCreate, locale: str
) -> Job:
    """Check who asks and queue the issuance."""
    if not actor.is_org_user or actor.organisation_id != org.id:
        raise Forbidden(_("only the organisation that keeps the records may certify them"))
    require_active(org)
    return enqueue(
        session,
        BULK_ISSUE,
        actor,
        body.model_dump(mode="json"),
        organisation_id=org.id,
        locale=locale,
    )


def run_bulk_job(ctx: JobContext) -> JobOutcome:
    """Issue the certificates; the result is the synchronous answer (201, or 200 if none)."""
    session = ctx.session
    body = validate(BulkCreate, ctx.params)
    actor = ctx.actor()
    org = session.get(Organisation, ctx.organisation_id)
    if org is None or actor is None:  # pragma: no cover - queued only by an organisation's user
        raise RuntimeError("a bulk issuance job needs its organisation and user")
    result = issue_bulk(
        session,
        org,
        BulkRequest(body.period_from, body.period_to, body.volunteer_ids, body.handler),
        actor,
        progress=lambda done, total: ctx.progress(done, total, "volunteer"),
    )
    out = BulkOut.of(result, body.period_from, body.period_to)
    return JobOutcome(out.model_dump(mode="json"), 201 if result.issued else 200)

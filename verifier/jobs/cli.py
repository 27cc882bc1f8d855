"""`verifier jobs work [--once]` and `verifier jobs list`."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from verifier.db import get_session
from verifier.jobs.models import JobStatus
from verifier.jobs.services import list_jobs
from verifier.jobs.worker import work, worker_name


@click.group("jobs", cls=AppGroup)
def jobs_group() -> None:
    """Jobs: long work (big imports, bulk issuance, campaign draws) done off the request."""


@jobs_group.command("work")
@click.option("--once", is_flag=True, help="work the jobs ready now, then exit")
def work_command(once: bool) -> None:
    """Work the job queue (a worker beside `verifier scheduler`, which also works it).

    Without --once, wait for jobs until stopped (Ctrl-C or SIGTERM: the job at hand is saved
    at its last batch and goes back to the queue).
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is a proxy, typed as the app
    stop = threading.Event()

    def request_stop(_signum: int, _frame: Any) -> None:
        stop.set()

    if not once:
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
    name = worker_name()
    click.echo(f"worker {name}: {'working the jobs ready now' if once else 'waiting for jobs'}")
    worked = work(app, once=once, stop=stop, worker=name)
    click.echo(f"worked {worked} job(s)")


@jobs_group.command("list")
@click.option("--status", type=click.Choice([s.value for s in JobStatus]))
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def list_command(status: str | None, limit: int) -> None:
    """List the latest jobs: id, kind, status, progress, attempts."""
    session = get_session()
    jobs = list_jobs(session, limit=limit, status=status)
    if not jobs:
        click.echo("no jobs")
    for job in jobs:
        total = f"/{job.progress_total}" if job.progress_total is not None else ""
        detail = ""
        if job.status == JobStatus.FAILED and job.error:
            detail = f"  {job.error.get('detail', '')}"
        click.echo(
            f"{job.id}  {job.kind}  {job.status}  {job.progress_done}{total} {job.progress_unit}"
            f"  attempts {job.attempts}/{job.max_attempts}{detail}"
        )
    session.rollback()

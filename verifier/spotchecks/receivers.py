"""How spot checks take part in the features below them: the job queue works their campaigns."""

from __future__ import annotations

from verifier.jobs.services import CAMPAIGN, register_handler
from verifier.spotchecks.jobs import run_campaign_job


def connect() -> None:
    """Work the campaign jobs (the draw of a big campaign, off the request)."""
    register_handler(CAMPAIGN, run_campaign_job)

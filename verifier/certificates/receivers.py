"""How certificates react to the features below them, and work their jobs."""

from __future__ import annotations

from sqlalchemy.orm import Session

from verifier.auth.models import User
from verifier.certificates.jobs import run_bulk_job
from verifier.certificates.lifecycle import supersede_for_record
from verifier.jobs.services import BULK_ISSUE, register_handler
from verifier.records.models import ServiceRecord
from verifier.records.signals import record_changed


def _supersede(record: ServiceRecord, *, session: Session, actor: User | None) -> None:
    # a certificate over a changed record no longer tells the truth
    supersede_for_record(session, record, actor)


def connect() -> None:
    """Supersede the live certificates over a record when it is corrected or voided; work the
    bulk-issuance jobs."""
    record_changed.connect(_supersede)
    register_handler(BULK_ISSUE, run_bulk_job)

"""How the volunteer's side reacts to the features below it (see docs/architecture.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from verifier.complaints.models import CorrectionRequest
from verifier.complaints.signals import correction_answered
from verifier.portal.receipts import Change, send_dispute_answer, send_receipt
from verifier.records.models import RecordStatus, ServiceRecord
from verifier.records.signals import record_changed, record_created


def _record_created(record: ServiceRecord, *, session: Session, **_kw: Any) -> None:
    send_receipt(session, record, Change.CREATED)


def _record_changed(record: ServiceRecord, *, session: Session, **_kw: Any) -> None:
    change = Change.VOIDED if record.status == RecordStatus.VOIDED else Change.CORRECTED
    send_receipt(session, record, change)


def _correction_answered(request: CorrectionRequest, *, session: Session, **_kw: Any) -> None:
    if request.volunteer_id is not None:  # a dispute from the volunteer's own account
        send_dispute_answer(session, request)


def connect() -> None:
    """Send the volunteer a receipt for each record written about them, and their answers."""
    record_created.connect(_record_created)
    record_changed.connect(_record_changed)
    correction_answered.connect(_correction_answered)

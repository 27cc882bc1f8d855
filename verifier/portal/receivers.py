"""How the volunteer's side reacts to the features below it (see docs/architecture.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from verifier.complaints.models import CorrectionRequest
from verifier.complaints.signals import correction_answered
from verifier.portal.receipts import (
    Change,
    send_dispute_answer,
    send_import_digest,
    send_receipt,
)
from verifier.records.models import RecordSource, RecordStatus, ServiceRecord
from verifier.records.signals import record_changed, record_created

# an import's records wait here (per session, by volunteer) until the transaction commits
_PENDING = "portal.imported_records"


def _record_created(record: ServiceRecord, *, session: Session, **_kw: Any) -> None:
    if record.source == RecordSource.IMPORT:
        # one message per volunteer for all of one import transaction's records, not one each
        pending: dict[int, list[int]] = session.info.setdefault(_PENDING, {})
        pending.setdefault(record.volunteer_id, []).append(record.id)
        return
    send_receipt(session, record, Change.CREATED)


def _send_pending_digests(session: Session) -> None:
    """before_commit: write the import digests into the same transaction."""
    if session.in_nested_transaction():
        return  # a savepoint (an import row's) is released: the transaction goes on
    pending: dict[int, list[int]] | None = session.info.pop(_PENDING, None)
    for volunteer_id, record_ids in sorted((pending or {}).items()):
        send_import_digest(session, volunteer_id, record_ids)
    if pending:
        session.flush()


def _drop_pending_digests(session: Session, *_args: Any) -> None:
    """after_rollback: the records are gone, so are their digests."""
    session.info.pop(_PENDING, None)


def _record_changed(record: ServiceRecord, *, session: Session, **_kw: Any) -> None:
    change = Change.VOIDED if record.status == RecordStatus.VOIDED else Change.CORRECTED
    send_receipt(session, record, change)


def _correction_answered(request: CorrectionRequest, *, session: Session, **_kw: Any) -> None:
    if request.volunteer_id is not None:  # a dispute from the volunteer's own account
        send_dispute_answer(session, request)


def connect() -> None:
    """Send the volunteer a receipt for each record written about them, and their answers."""
    record_created.connect(_record_created)
    if not event.contains(Session, "before_commit", _send_pending_digests):
        event.listen(Session, "before_commit", _send_pending_digests)
        event.listen(Session, "after_rollback", _drop_pending_digests)
    record_changed.connect(_record_changed)
    correction_answered.connect(_correction_answered)

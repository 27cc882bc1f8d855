"""The volunteer's row lock: every write that depends on a volunteer's records takes it first."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from verifier.volunteers.models import Volunteer


def lock_volunteer(session: Session, volunteer_id: int) -> None:
    """Take the volunteer's record lock (a row lock) so racing writers are serialised.

    Record writes, issuance and re-issue take it before they read the records, so each sees
    what the one before it committed. It is an UPDATE, so SQLite also takes its write lock here.
    """
    session.execute(
        update(Volunteer)
        .where(Volunteer.id == volunteer_id)
        .values(record_lock=Volunteer.record_lock + 1)
        .execution_options(synchronize_session=False)
    )


def lock_volunteers(session: Session, volunteer_ids: list[int]) -> None:
    """Take the record locks of many volunteers, in id order (so two batches cannot deadlock)."""
    ids = sorted(set(volunteer_ids))
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        session.execute(
            select(Volunteer.id)
            .where(Volunteer.id.in_(chunk))
            .order_by(Volunteer.id)
            .with_for_update(key_share=True)
        ).all()

"""Receipts: the volunteer hears of every record written about them, and of the answer to
their dispute, with a link to the record's page to confirm or dispute it.

Messages go to the outbox in the writer's transaction (verifier.accounts.contact): to the
volunteer's account when they have one, else to the mobile number on file, else nowhere.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.accounts.contact import notify_volunteer
from verifier.complaints.models import CorrectionRequest, CorrectionStatus
from verifier.notifications.models import OutboxMessage
from verifier.notifications.services import mask_id_numbers
from verifier.portal.record_labels import MY_RECORD_STATUS
from verifier.portal.record_schemas import my_records_url, record_url
from verifier.portal.records import status_of
from verifier.records.models import RecordRevision, ServiceRecord
from verifier.timeutil import format_hours, to_local

RECEIPT_KIND = "record_receipt"
# one message per volunteer for the records an import wrote in one transaction
IMPORT_KIND = "records_imported"
IMPORT_LINES = 20  # records listed by name in one message; the rest are counted
ANSWER_KIND = "dispute_answer"


class Change(StrEnum):
    """What happened to the record."""

    CREATED = "created"
    CORRECTED = "corrected"
    VOIDED = "voided"


def _safe(text: str) -> str:
    # an ID number typed into a record's free text must not travel in a message (the outbox
    # refuses one): masked
    return mask_id_numbers(text)


def _span(record: ServiceRecord) -> str:
    start, end = to_local(record.started_at), to_local(record.ended_at)
    same_day = start.date() == end.date()
    return (
        f"{start:%Y-%m-%d %H:%M} – {end:%H:%M}"
        if same_day
        else f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"
    )


def send_receipt(session: Session, record: ServiceRecord, change: Change) -> OutboxMessage | None:
    """Tell the volunteer what was written about them; None when they cannot be reached."""
    reason = ""
    if change == Change.CORRECTED:
        reason = (
            session.scalar(
                select(RecordRevision.reason).where(
                    RecordRevision.record_id == record.id,
                    RecordRevision.revision == record.revision,
                )
            )
            or ""
        )
    elif change == Change.VOIDED:
        reason = record.void_reason
    org = _safe(record.organisation.name)
    activity, place = _safe(record.activity), _safe(record.place)
    span, hours, minutes = _span(record), format_hours(record.minutes), record.minutes
    status = status_of(record)
    link = record_url(record.id)

    def render() -> tuple[str, str]:
        if change == Change.CREATED:
            subject = _("Service record receipt: %(org)s", org=org)
            opening = _("%(org)s has recorded volunteer service for you:", org=org)
        elif change == Change.CORRECTED:
            subject = _("Service record corrected: %(org)s", org=org)
            opening = _("%(org)s has corrected a record of your volunteer service:", org=org)
        else:
            subject = _("Service record voided: %(org)s", org=org)
            opening = _("%(org)s has voided a record of your volunteer service:", org=org)
        lines = [
            opening,
            "",
            _("Organisation: %(value)s", value=org),
            _("Activity: %(value)s", value=activity),
            _("Place: %(value)s", value=place),
            _("Time: %(value)s", value=span),
            _("Hours: %(hours)s (%(minutes)d minutes)", hours=hours, minutes=minutes),
            _("Status: %(value)s", value=str(MY_RECORD_STATUS[status])),
        ]
        if reason:
            lines.append(_("Reason given: %(value)s", value=_safe(reason)))
        lines += [
            "",
            _("Is this right? Confirm it, or dispute it if it is wrong: %(link)s", link=link),
        ]
        return subject, "\n".join(str(line) for line in lines)

    return notify_volunteer(session, record.volunteer, kind=RECEIPT_KIND, render=render)


def send_dispute_answer(session: Session, request: CorrectionRequest) -> OutboxMessage | None:
    """Tell the volunteer how the organisation answered their dispute."""
    record = session.get(ServiceRecord, request.record_id)
    if record is None or request.volunteer_id is None:
        return None
    org = _safe(record.organisation.name)
    activity = _safe(record.activity)
    day = f"{to_local(record.started_at):%Y-%m-%d}"
    resolved = request.status == CorrectionStatus.RESOLVED
    resolution = _safe(request.resolution)
    link = record_url(record.id)

    def render() -> tuple[str, str]:
        subject = _("Your dispute was answered: %(org)s", org=org)
        if resolved:
            verdict = _("The organisation corrected the record.")
        else:
            verdict = _("The organisation did not change the record.")
        lines = [
            _(
                "%(org)s has answered your dispute of the record “%(activity)s” of %(day)s.",
                org=org,
                activity=activity,
                day=day,
            ),
            verdict,
            _("Their explanation: %(value)s", value=resolution),
            "",
            _("See the record and its history: %(link)s", link=link),
        ]
        return subject, "\n".join(str(line) for line in lines)

    return notify_volunteer(session, record.volunteer, kind=ANSWER_KIND, render=render)


def send_import_digest(
    session: Session, volunteer_id: int, record_ids: list[int]
) -> OutboxMessage | None:
    """Tell the volunteer, in one message, of the records an import wrote about them."""
    records = list(
        session.scalars(
            select(ServiceRecord)
            # a row rolled back since (a rejected row, a dry run) is simply not found; its id,
            # reused by another row, counts only if that row is this volunteer's too
            .where(
                ServiceRecord.id.in_(set(record_ids)),
                ServiceRecord.volunteer_id == volunteer_id,
            )
            .order_by(ServiceRecord.started_at, ServiceRecord.id)
        )
    )
    if not records:
        return None
    org = _safe(records[0].organisation.name)
    total = sum(r.minutes for r in records)
    shown = [
        (f"{to_local(r.started_at):%Y-%m-%d}", _safe(r.activity), format_hours(r.minutes))
        for r in records[:IMPORT_LINES]
    ]
    more = len(records) - len(shown)
    link = my_records_url()

    def render() -> tuple[str, str]:
        subject = _("Service records imported: %(org)s", org=org)
        lines = [
            _(
                "%(org)s has recorded %(n)d stretches of volunteer service for you, %(hours)s "
                "hours in all:",
                org=org,
                n=len(records),
                hours=format_hours(total),
            ),
            "",
        ]
        lines += [f"{day}  {activity}  {hours}" for day, activity, hours in shown]
        if more:
            lines.append(_("… and %(n)d more", n=more))
        lines += [
            "",
            _("Are they right? Confirm them, or dispute one that is wrong: %(link)s", link=link),
        ]
        return subject, "\n".join(str(line) for line in lines)

    return notify_volunteer(session, records[0].volunteer, kind=IMPORT_KIND, render=render)

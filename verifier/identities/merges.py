"""Merge volunteer rows that are one person (`verifier volunteers merge`), keeping every record.

The rows to merge are found by `verifier.identities.duplicates`: the same ID number in normal form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session, aliased

from verifier.accounts.models import VolunteerInvitation
from verifier.audit.services import record_event
from verifier.auth.models import User
from verifier.certificates.models import Certificate
from verifier.complaints.models import CertificateRequest, CorrectionRequest, MissingRecordRequest
from verifier.crypto.encryption import get_cipher
from verifier.db import utcnow
from verifier.errors import Conflict, NotFound, ValidationError
from verifier.identifiers import compact_identifier, mask_id_number
from verifier.identities.duplicates import check_stored_identity, normal_form_of_stored, rekey_one
from verifier.records.attestation import attest_revisions
from verifier.records.models import (
    RecordConfirmation,
    RecordReassignment,
    RecordRevision,
    RecordStatus,
    ServiceRecord,
)
from verifier.records.services import DAY_MINUTES, RecordInput, dedupe_key_for
from verifier.text import check_characters
from verifier.volunteers.locks import lock_volunteer
from verifier.volunteers.models import Membership, Volunteer
from verifier.volunteers.services import merged_lookup_value, reveal_id_number, seal_id_number


def merged_lookup_key(volunteer_id: int) -> str:
    """Return the look-up key of a merged-away row: an HMAC no ID number can produce.

    The key of the person belongs to the volunteer kept (the key is unique); the merged row is
    found through its volunteer number, never through an ID number.
    """
    return get_cipher().lookup_hash(merged_lookup_value(volunteer_id))


@dataclass
class Overlap:
    first_id: int
    second_id: int
    first_org: int
    second_org: int
    started_at: datetime
    ended_at: datetime


@dataclass
class LongDay:
    day: date
    minutes: int


@dataclass
class MergeResult:
    kept: Volunteer
    merged: list[Volunteer]
    moved_records: list[int] = field(default_factory=list)
    moved_certificates: list[int] = field(default_factory=list)
    linked_organisations: list[int] = field(default_factory=list)
    overlaps: list[Overlap] = field(default_factory=list)
    long_days: list[LongDay] = field(default_factory=list)

    @property
    def has_conflicts(self) -> bool:
        return bool(self.overlaps or self.long_days)


def _by_number(session: Session, number: str) -> Volunteer:
    volunteer = session.scalars(
        select(Volunteer).where(Volunteer.volunteer_number == compact_identifier(number).upper())
    ).first()
    if volunteer is None:
        raise NotFound(_("no volunteer with number %(number)s", number=number))
    return volunteer


def merge_volunteers(
    session: Session,
    keep_number: str,
    merge_numbers: list[str],
    *,
    reason: str,
    operator: str,
    allow_different_names: bool = False,
) -> MergeResult:
    """Merge volunteer rows that are one person into the one kept; keep every record.

    Records (and the certificates over them) move to the kept volunteer, each with a
    reassignment in its history and an audit entry; memberships are united; the merged-away
    row stays, marked merged into the kept one, so its volunteer number still resolves.
    Every row involved ends with its identifier in normal form. Overlapping records and days
    over 24 hours that now exist are returned, to be corrected by their organisations.
    """
    reason = check_characters((reason or "").strip(), field="reason", label=_("reason"))
    if not reason:
        raise ValidationError(_("a reason is required"), field="reason", rule="required")
    kept = _by_number(session, keep_number)
    others = []
    for number in dict.fromkeys(merge_numbers):
        other = _by_number(session, number)
        if other.id == kept.id:
            raise ValidationError(
                _(
                    "volunteer %(number)s cannot be merged into itself",
                    number=other.volunteer_number,
                ),
                field="merge",
                rule="merge_self",
            )
        others.append(other)
    if not others:
        raise ValidationError(_("name a volunteer to merge"), field="merge", rule="required")
    # the record lock of every row, in id order: no record is written while they move
    for volunteer_id in sorted([kept.id, *(o.id for o in others)]):
        lock_volunteer(session, volunteer_id)
    for volunteer in (kept, *others):
        session.refresh(volunteer)
        if volunteer.merged_into_id is not None:
            raise Conflict(
                _(
                    "volunteer %(number)s was already merged into another volunteer",
                    number=volunteer.volunteer_number,
                )
            )
    identities = {v.id: check_stored_identity(v) for v in (kept, *others)}
    kept_identity = identities[kept.id]
    for other in others:
        mine = identities[other.id]
        if mine.normal_key is None or kept_identity.normal_key is None:
            raise ValidationError(
                _(
                    "the ID number of volunteer %(number)s has no normal form (%(rule)s); "
                    "it cannot be compared",
                    number=other.volunteer_number
                    if mine.normal_key is None
                    else kept.volunteer_number,
                    rule=mine.problem or kept_identity.problem,
                ),
                field="merge",
                rule="merge_unreadable",
            )
        if mine.normal_key != kept_identity.normal_key:
            raise ValidationError(
                _(
                    "volunteers %(a)s and %(b)s have different ID numbers: they are not the same "
                    "person and are not merged",
                    a=kept.volunteer_number,
                    b=other.volunteer_number,
                ),
                field="merge",
                rule="merge_same_identifier",
            )
        if other.name != kept.name and not allow_different_names:
            raise ValidationError(
                _(
                    "volunteers %(a)s and %(b)s have the same ID number under different names; "
                    "check which name is right, then merge with --allow-different-names",
                    a=kept.volunteer_number,
                    b=other.volunteer_number,
                ),
                field="merge",
                rule="merge_names_differ",
            )
    result = MergeResult(kept, others)
    now = utcnow()
    for other in others:
        _merge_one(session, kept, other, reason, operator, now, result)
    rekey_one(session, kept)
    session.flush()
    result.overlaps, result.long_days = service_conflicts(session, kept.id)
    record_event(
        session,
        None,
        "volunteer.merge",
        "volunteer",
        kept.id,
        details={
            "volunteer_number": kept.volunteer_number,
            "merged": [o.volunteer_number for o in others],
            "reason": reason,
            "records": result.moved_records,
            "certificates": result.moved_certificates,
            "organisations_linked": result.linked_organisations,
            "overlaps": [[o.first_id, o.second_id] for o in result.overlaps],
            "days_over_24_hours": [d.day.isoformat() for d in result.long_days],
            # the moved records' revisions, attested again as they now are (with their new
            # volunteer), so `verifier audit verify` tells this move from a database edit
            **(
                {"attests": attest_revisions(session, RecordRevision.record_id.in_(moved))}
                if (moved := result.moved_records)
                else {}
            ),
        },
        actor_label=operator,
    )
    return result


def _merge_one(
    session: Session,
    kept: Volunteer,
    other: Volunteer,
    reason: str,
    operator: str,
    now: datetime,
    result: MergeResult,
) -> None:
    # free the person's look-up key first: it is unique, and the kept row takes it
    normal = normal_form_of_stored(other.id_type, reveal_id_number(other))
    other.id_lookup = merged_lookup_key(other.id)
    seal_id_number(other, normal)
    other.id_masked = mask_id_number(normal)
    other.merged_into_id = kept.id
    other.merged_at = now
    session.flush()
    note = _(
        "volunteer %(old)s merged into %(new)s (the same person): %(reason)s",
        old=other.volunteer_number,
        new=kept.volunteer_number,
        reason=reason,
    )[:500]
    records = session.scalars(
        select(ServiceRecord)
        .where(ServiceRecord.volunteer_id == other.id)
        .order_by(ServiceRecord.id)
    ).all()
    for record in records:
        record.volunteer_id = kept.id
        _refresh_dedupe_key(session, record, kept.id)
        session.add(
            RecordReassignment(
                record_id=record.id,
                from_volunteer_id=other.id,
                to_volunteer_id=kept.id,
                reason=note,
                created_by=operator[:100],
                created_at=now,
            )
        )
        result.moved_records.append(record.id)
    session.flush()
    for record in records:
        record_event(
            session,
            None,
            "record.reassign",
            "service_record",
            record.id,
            organisation_id=record.organisation_id,
            details={
                "from_volunteer": other.volunteer_number,
                "to_volunteer": kept.volunteer_number,
                "reason": reason,
            },
            actor_label=operator,
        )
    certificates = session.scalars(
        select(Certificate).where(Certificate.volunteer_id == other.id)
    ).all()
    for cert in certificates:
        # what the certificate shows (and signs) stays as issued, the merged number included
        cert.volunteer_id = kept.id
        result.moved_certificates.append(cert.id)
    _move_volunteer_side(session, kept, other, now)
    members = set(
        session.scalars(
            select(Membership.organisation_id).where(Membership.volunteer_id == kept.id)
        )
    )
    for org_id in session.scalars(
        select(Membership.organisation_id)
        .where(Membership.volunteer_id == other.id)
        .order_by(Membership.organisation_id)
    ):
        if org_id not in members:
            session.add(Membership(organisation_id=org_id, volunteer_id=kept.id))
            members.add(org_id)
            result.linked_organisations.append(org_id)
    session.flush()


def _move_volunteer_side(
    session: Session, kept: Volunteer, other: Volunteer, now: datetime
) -> None:
    """Move what the person did with their own account (issue 9) to the kept row.

    Their requests and confirmations follow their records. An account of the merged-away row
    moves too when the kept row has none; when both have one, each keeps its own (an account
    of a merged-away row reads its person's records through `merged_into`). Open invitations
    of the merged-away row are revoked: a claim must name the kept row.
    """
    for model in (CorrectionRequest, MissingRecordRequest, CertificateRequest, RecordConfirmation):
        session.execute(
            update(model).where(model.volunteer_id == other.id).values(volunteer_id=kept.id)
        )
    kept_account = session.scalar(select(User.id).where(User.volunteer_id == kept.id))
    if kept_account is None:
        session.execute(
            update(User).where(User.volunteer_id == other.id).values(volunteer_id=kept.id)
        )
    session.execute(
        update(VolunteerInvitation)
        .where(
            VolunteerInvitation.volunteer_id == other.id,
            VolunteerInvitation.used_at.is_(None),
            VolunteerInvitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


def _refresh_dedupe_key(session: Session, record: ServiceRecord, volunteer_id: int) -> None:
    """Key the record as the kept volunteer's, unless that organisation already holds the same
    record for them: then the old key stays (both records are kept, and reported as an overlap)."""
    data = RecordInput(
        activity=record.activity,
        place=record.place,
        started_at=record.started_at,
        ended_at=record.ended_at,
        minutes=record.minutes,
    )
    key = dedupe_key_for(volunteer_id, data)
    taken = session.scalar(
        select(ServiceRecord.id).where(
            ServiceRecord.organisation_id == record.organisation_id,
            ServiceRecord.dedupe_key == key,
            ServiceRecord.id != record.id,
        )
    )
    if taken is None:
        record.dedupe_key = key


def service_conflicts(session: Session, volunteer_id: int) -> tuple[list[Overlap], list[LongDay]]:
    """Return the volunteer's overlapping active records and local days over 24 hours."""
    first, second = aliased(ServiceRecord), aliased(ServiceRecord)
    rows = session.execute(
        select(
            first.id,
            second.id,
            first.organisation_id,
            second.organisation_id,
            first.started_at,
            first.ended_at,
        )
        .join(
            second,
            and_(
                second.volunteer_id == first.volunteer_id,
                second.id > first.id,
                second.status == RecordStatus.ACTIVE,
                second.started_at < first.ended_at,
                second.ended_at > first.started_at,
            ),
        )
        .where(first.volunteer_id == volunteer_id, first.status == RecordStatus.ACTIVE)
        .order_by(first.id, second.id)
    ).all()
    overlaps = [Overlap(a, b, oa, ob, start, end) for a, b, oa, ob, start, end in rows]
    days = session.execute(
        select(ServiceRecord.service_date, func.sum(ServiceRecord.minutes))
        .where(
            ServiceRecord.volunteer_id == volunteer_id, ServiceRecord.status == RecordStatus.ACTIVE
        )
        .group_by(ServiceRecord.service_date)
        .having(func.sum(ServiceRecord.minutes) > DAY_MINUTES)
        .order_by(ServiceRecord.service_date)
    ).all()
    return overlaps, [LongDay(day, int(minutes)) for day, minutes in days]

"""Existing data after identifiers got a normal form: find duplicates, merge them, re-key the rest.

Before identifiers were normalised (NFKC, ASCII only), an ID number typed in full-width or
Arabic-Indic digits passed the checks, because Python's `\\d` and `int()` read those digits, and
became a second volunteer for the same person. This module finds such rows, merges them into one
volunteer keeping every record and its history, and re-keys the rows that stand alone. The
look-up key is an HMAC keyed by VERIFIER_DATA_KEY, so this runs in the command line (with the
key), never in a migration.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from verifier.audit.services import record_event
from verifier.certificates.models import Certificate
from verifier.db import utcnow
from verifier.errors import Conflict, NotFound, ValidationError
from verifier.identifiers import compact_identifier, mask_id_number, normalize_id_number
from verifier.records.models import RecordReassignment, ServiceRecord
from verifier.records.services import DAY_MINUTES, RecordInput, dedupe_key_for, lock_volunteer
from verifier.text import check_characters
from verifier.volunteers.models import Membership, Volunteer
from verifier.volunteers.services import get_cipher, lookup_key, reveal_id_number

SCAN_BATCH = 500


def normal_form_of_stored(id_type: str, stored: str) -> str:
    """Return a stored ID number in normal form, or raise ValidationError naming the rule.

    Digits of other scripts (Arabic-Indic ...) are read as the old check read them, by their
    decimal value: that check computed the checksum and the birth date from exactly those
    values, so the ASCII number is the one that was validated. New input with such digits is
    refused instead (rule `id_charset`), so that people type the number as it is printed.
    """
    folded = "".join(
        str(unicodedata.decimal(ch))
        if not ch.isascii() and unicodedata.decimal(ch, None) is not None
        else ch
        for ch in unicodedata.normalize("NFKC", stored)
    )
    return normalize_id_number(id_type, folded)


def merged_lookup_key(volunteer_id: int) -> str:
    """Return the look-up key of a merged-away row: an HMAC no ID number can produce.

    The key of the person belongs to the volunteer kept (the key is unique); the merged row is
    found through its volunteer number, never through an ID number.
    """
    return get_cipher().lookup_hash(f"merged:{volunteer_id}")


@dataclass
class StoredIdentity:
    """One live volunteer's stored identifier, checked; never the number itself."""

    volunteer_id: int
    volunteer_number: str
    name: str
    id_type: str
    id_masked: str  # of the normal form when there is one
    created_at: datetime
    normal_key: str | None  # the look-up key of the normal form; None: cannot be normalised
    in_normal_form: bool  # stored number and look-up key are both the normal form's
    problem: str = ""  # the rule that refuses the stored number
    records: int = 0
    organisations: int = 0


@dataclass
class DuplicatesReport:
    groups: list[list[StoredIdentity]] = field(default_factory=list)  # one person, several rows
    not_normal: list[StoredIdentity] = field(default_factory=list)  # alone; `rekey` fixes them
    unreadable: list[StoredIdentity] = field(default_factory=list)  # no normal form at all
    checked: int = 0

    @property
    def clean(self) -> bool:
        return not (self.groups or self.not_normal or self.unreadable)


def _live_volunteers(session: Session) -> Iterator[Volunteer]:
    last = 0
    while True:
        batch = session.scalars(
            select(Volunteer)
            .where(Volunteer.id > last, Volunteer.merged_into_id.is_(None))
            .order_by(Volunteer.id)
            .limit(SCAN_BATCH)
        ).all()
        if not batch:
            return
        yield from batch
        last = batch[-1].id


def check_stored_identity(volunteer: Volunteer) -> StoredIdentity:
    """Decrypt, normalise and re-hash one volunteer's identifier; keep only what may be shown."""
    stored = reveal_id_number(volunteer)
    try:
        normal = normal_form_of_stored(volunteer.id_type, stored)
    except ValidationError as exc:
        return StoredIdentity(
            volunteer.id,
            volunteer.volunteer_number,
            volunteer.name,
            volunteer.id_type,
            volunteer.id_masked,
            volunteer.created_at,
            None,
            False,
            exc.first.rule if exc.errors else exc.code,
        )
    key = lookup_key(volunteer.id_type, normal)
    return StoredIdentity(
        volunteer.id,
        volunteer.volunteer_number,
        volunteer.name,
        volunteer.id_type,
        mask_id_number(normal),
        volunteer.created_at,
        key,
        stored == normal
        and volunteer.id_lookup == key
        and volunteer.id_masked == mask_id_number(normal),
    )


def find_duplicates(session: Session) -> DuplicatesReport:
    """Check every live volunteer: same normal identifier as another, or not in normal form."""
    report = DuplicatesReport()
    by_key: dict[str, list[StoredIdentity]] = defaultdict(list)
    for volunteer in _live_volunteers(session):
        report.checked += 1
        found = check_stored_identity(volunteer)
        if found.normal_key is None:
            report.unreadable.append(found)
        else:
            by_key[found.normal_key].append(found)
        session.expunge(volunteer)  # a scan of every row keeps none of them
    for rows in by_key.values():
        if len(rows) > 1:
            report.groups.append(rows)
        elif not rows[0].in_normal_form:
            report.not_normal.append(rows[0])
    _count_records(session, [row for group in report.groups for row in group])
    report.groups.sort(key=lambda rows: rows[0].volunteer_id)
    return report


def _count_records(session: Session, rows: list[StoredIdentity]) -> None:
    ids = [row.volunteer_id for row in rows]
    if not ids:
        return
    records = dict(
        session.execute(
            select(ServiceRecord.volunteer_id, func.count())
            .where(ServiceRecord.volunteer_id.in_(ids))
            .group_by(ServiceRecord.volunteer_id)
        ).all()
    )
    orgs = dict(
        session.execute(
            select(Membership.volunteer_id, func.count())
            .where(Membership.volunteer_id.in_(ids))
            .group_by(Membership.volunteer_id)
        ).all()
    )
    for row in rows:
        row.records = int(records.get(row.volunteer_id, 0))
        row.organisations = int(orgs.get(row.volunteer_id, 0))


def suggested_keep(rows: list[StoredIdentity]) -> StoredIdentity:
    """The row to keep by default: one already in normal form, else the oldest."""
    return min(rows, key=lambda r: (not r.in_normal_form, r.created_at, r.volunteer_id))


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
    _rekey(session, kept)
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
    other.id_number_enc = get_cipher().encrypt(normal, "volunteers.id_number")
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


def _rekey(session: Session, volunteer: Volunteer) -> bool:
    """Store a live volunteer's ID number and look-up key in normal form; tell if it changed."""
    normal = normal_form_of_stored(volunteer.id_type, reveal_id_number(volunteer))
    key = lookup_key(volunteer.id_type, normal)
    if (
        reveal_id_number(volunteer) == normal
        and volunteer.id_lookup == key
        and volunteer.id_masked == mask_id_number(normal)
    ):
        return False
    volunteer.id_number_enc = get_cipher().encrypt(normal, "volunteers.id_number")
    volunteer.id_lookup = key
    volunteer.id_masked = mask_id_number(normal)
    session.flush()
    return True


@dataclass
class RekeyResult:
    rekeyed: list[str] = field(default_factory=list)  # volunteer numbers
    colliding: list[StoredIdentity] = field(default_factory=list)  # merge first
    unreadable: list[StoredIdentity] = field(default_factory=list)


def rekey_volunteers(session: Session, *, operator: str) -> RekeyResult:
    """Re-key every live volunteer not in normal form whose normal key no other row holds."""
    report = find_duplicates(session)
    result = RekeyResult(unreadable=report.unreadable)
    result.colliding = [row for group in report.groups for row in group if not row.in_normal_form]
    for row in report.not_normal:
        lock_volunteer(session, row.volunteer_id)
        volunteer = session.get(Volunteer, row.volunteer_id)
        assert volunteer is not None
        session.refresh(volunteer)
        if volunteer.merged_into_id is not None or not _rekey(session, volunteer):
            continue
        result.rekeyed.append(volunteer.volunteer_number)
        record_event(
            session,
            None,
            "volunteer.rekey",
            "volunteer",
            volunteer.id,
            details={"volunteer_number": volunteer.volunteer_number, "id_type": volunteer.id_type},
            actor_label=operator,
        )
    return result


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
                second.status == "active",
                second.started_at < first.ended_at,
                second.ended_at > first.started_at,
            ),
        )
        .where(first.volunteer_id == volunteer_id, first.status == "active")
        .order_by(first.id, second.id)
    ).all()
    overlaps = [Overlap(a, b, oa, ob, start, end) for a, b, oa, ob, start, end in rows]
    days = session.execute(
        select(ServiceRecord.service_date, func.sum(ServiceRecord.minutes))
        .where(ServiceRecord.volunteer_id == volunteer_id, ServiceRecord.status == "active")
        .group_by(ServiceRecord.service_date)
        .having(func.sum(ServiceRecord.minutes) > DAY_MINUTES)
        .order_by(ServiceRecord.service_date)
    ).all()
    return overlaps, [LongDay(day, int(minutes)) for day, minutes in days]

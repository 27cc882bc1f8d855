"""Stored identifiers after they got a normal form: find rows not in it, and re-key them.

Before identifiers were normalised (NFKC, ASCII only), an ID number typed in full-width or
Arabic-Indic digits passed the checks, because Python's `\\d` and `int()` read those digits; it
was stored and hashed as typed, and so could become a second volunteer for the same person.
`find_duplicates` finds such rows (the same person twice, or one row not in normal form);
`verifier.identities.merges` merges the former, `rekey_volunteers` fixes the latter. The look-up
key is an HMAC keyed by VERIFIER_DATA_KEY, so this runs in the command line, never in a migration.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.errors import ValidationError
from verifier.identifiers import mask_id_number, normalize_id_number
from verifier.records.models import ServiceRecord
from verifier.volunteers.locks import lock_volunteer
from verifier.volunteers.models import Membership, Volunteer
from verifier.volunteers.services import (
    lookup_key,
    lookup_keys,
    reveal_id_number,
    seal_id_number,
)

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
            exc.first.rule if exc.first else exc.code,
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
        and volunteer.id_lookup in lookup_keys(volunteer.id_type, normal)
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


def rekey_one(session: Session, volunteer: Volunteer) -> bool:
    """Store a live volunteer's ID number and look-up key in normal form; tell if it changed."""
    normal = normal_form_of_stored(volunteer.id_type, reveal_id_number(volunteer))
    key = lookup_key(volunteer.id_type, normal)
    if (
        reveal_id_number(volunteer) == normal
        and volunteer.id_lookup in lookup_keys(volunteer.id_type, normal)
        and volunteer.id_masked == mask_id_number(normal)
    ):
        return False
    seal_id_number(volunteer, normal)
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
        if volunteer.merged_into_id is not None or not rekey_one(session, volunteer):
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

"""Issue certificates to many volunteers at once (a school's students at term end), in one go.

The same rules as one issuance (own organisation, valid records only, free), but the work is done
in a few set-based queries instead of several queries per certificate: records, memberships,
earlier certificates, numbers and status-list entries are each read once for the whole batch,
and the signing key is decrypted once. Every certificate still gets its own ledger entry.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from verifier.audit.services import record_event, record_events
from verifier.auth.models import User
from verifier.certificates.models import Certificate, CertificateRecord
from verifier.certificates.numbers import new_certificate_number
from verifier.certificates.printable import (
    printed_handler,
    refuse_unprintable_issuer,
    unprintable_volunteer_text,
)
from verifier.certificates.services import (
    ISSUE_ACTION,
    STATUS_LIST_LENGTH,
    Signer,
    build_certificate,
    held_record_ids,
    ledger_details,
    records_digest,
)
from verifier.certificates.states import CertificateStatus
from verifier.errors import Conflict, Forbidden, ValidationError
from verifier.orgs.models import Organisation
from verifier.orgs.services import require_active
from verifier.records.models import RecordStatus, ServiceRecord
from verifier.volunteers.locks import lock_volunteers
from verifier.volunteers.models import Membership, Volunteer

BULK_LIMIT = 5_000  # certificates per API call: a large school's term, about 3 MB of answer
CLI_BULK_LIMIT = 50_000
MAX_PERIOD_DAYS = 3_700  # about ten years, how long records are kept
_IN_CHUNK = 900  # stay below every database's limit on bound parameters
_WRITE_CHUNK = 250  # certificates signed and written between progress reports


class SkipReason(StrEnum):
    """Why a bulk run issued no certificate to a volunteer."""

    NOT_MEMBER = "not_member"
    NO_RECORDS = "no_records"
    ALREADY_CERTIFIED = "already_certified"
    UNDER_SUPERVISION = "under_supervision"
    DISPUTED = "disputed"  # a record in the period is held by the volunteer's dispute
    UNPRINTABLE = "unprintable"  # the name or a record holds a character the font cannot draw


@dataclass
class BulkRequest:
    period_from: date
    period_to: date
    volunteer_ids: list[int] | None = None
    handler: str = ""


@dataclass
class Skipped:
    volunteer_id: int
    reason: SkipReason
    message: str


@dataclass
class BulkResult:
    issued: list[Certificate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _check_request(request: BulkRequest, limit: int) -> list[int] | None:
    if request.period_from > request.period_to:
        raise ValidationError(
            _("the period ends before it starts"), field="period_to", rule="period_order"
        )
    if (request.period_to - request.period_from).days > MAX_PERIOD_DAYS:
        raise ValidationError(
            _("the period is longer than %(n)d days", n=MAX_PERIOD_DAYS),
            field="period_to",
            rule="period_length",
        )
    if request.volunteer_ids is None:
        return None
    ids = list(dict.fromkeys(request.volunteer_ids))
    if not ids:
        raise ValidationError(
            _("volunteer_ids is empty; leave it out to certify every volunteer"),
            field="volunteer_ids",
            rule="not_empty",
        )
    if len(ids) > limit:
        raise ValidationError(
            _("at most %(n)d volunteers per call; this asks for %(m)d", n=limit, m=len(ids)),
            field="volunteer_ids",
            rule="max_items",
        )
    return ids


def _lock_organisation(session: Session, org: Organisation) -> None:
    session.execute(
        select(Organisation.id)
        .where(Organisation.id == org.id)
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE: inserts that refer to it go on
    ).all()


def _members(session: Session, org: Organisation, ids: list[int]) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(ids):
        found.update(
            session.scalars(
                select(Membership.volunteer_id).where(
                    Membership.organisation_id == org.id, Membership.volunteer_id.in_(chunk)
                )
            )
        )
    return found


def certifiable_in_period(
    stmt: Select[Any], org_id: int, period_from: date, period_to: date
) -> Select[Any]:
    """Limit a query over records to those a bulk run certifies: the organisation's active
    records of its own volunteers, in the period."""
    return stmt.join(
        Membership,
        (Membership.volunteer_id == ServiceRecord.volunteer_id)
        & (Membership.organisation_id == ServiceRecord.organisation_id),
    ).where(
        ServiceRecord.organisation_id == org_id,
        ServiceRecord.status == RecordStatus.ACTIVE,
        ServiceRecord.service_date >= period_from,
        ServiceRecord.service_date <= period_to,
    )


def _records_by_volunteer(
    session: Session, org: Organisation, request: BulkRequest, ids: list[int] | None
) -> dict[int, list[ServiceRecord]]:
    stmt = (
        certifiable_in_period(select(ServiceRecord), org.id, request.period_from, request.period_to)
        .order_by(ServiceRecord.volunteer_id, ServiceRecord.started_at, ServiceRecord.id)
        .execution_options(populate_existing=True)
    )
    grouped: dict[int, list[ServiceRecord]] = {}
    batches = (
        [stmt]
        if ids is None
        else [stmt.where(ServiceRecord.volunteer_id.in_(c)) for c in _chunks(ids)]
    )
    for batch in batches:
        for record in session.scalars(batch):
            grouped.setdefault(record.volunteer_id, []).append(record)
    return grouped


def _already_certified(
    session: Session, org: Organisation, request: BulkRequest, ids: list[int]
) -> dict[tuple[int, str], str]:
    """Return (volunteer id, records digest) -> number of live certificates over the same period."""
    found: dict[tuple[int, str], str] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(Certificate.volunteer_id, Certificate.records_digest, Certificate.number).where(
                Certificate.organisation_id == org.id,
                Certificate.volunteer_id.in_(chunk),
                Certificate.status.in_((CertificateStatus.VALID, CertificateStatus.SUSPENDED)),
                Certificate.period_from == request.period_from,
                Certificate.period_to == request.period_to,
            )
        )
        for volunteer_id, digest, number in rows:
            found[(volunteer_id, digest)] = number
    return found


def _fresh_numbers(session: Session, count: int) -> list[str]:
    numbers: set[str] = set()
    for _attempt in range(10):
        wanted = count - len(numbers)
        if wanted == 0:
            break
        candidates = {new_certificate_number().replace("-", "") for _ in range(wanted)} - numbers
        ordered = sorted(candidates)
        for chunk in _chunks(ordered):
            taken = set(
                session.scalars(select(Certificate.number).where(Certificate.number.in_(chunk)))
            )
            candidates -= taken
        numbers |= candidates
    if len(numbers) != count:
        raise Conflict(_("could not allocate certificate numbers; try again"))  # pragma: no cover
    return list(numbers)


def _fresh_status_indexes(session: Session, count: int) -> list[int]:
    used = session.scalar(select(func.count()).select_from(Certificate)) or 0
    lists = 1 + (used + count) // (STATUS_LIST_LENGTH // 2)  # keep every list at most half full
    space = STATUS_LIST_LENGTH * lists
    chosen: set[int] = set()
    for _attempt in range(50):
        wanted = count - len(chosen)
        if wanted == 0:
            break
        candidates = {secrets.randbelow(space) for _ in range(wanted * 2)} - chosen
        for chunk in _chunks(sorted(candidates)):
            taken = set(
                session.scalars(
                    select(Certificate.status_index).where(Certificate.status_index.in_(chunk))
                )
            )
            candidates -= taken
        chosen |= set(list(candidates)[:wanted])
    if len(chosen) != count:
        raise Conflict(_("could not allocate status list entries; try again"))  # pragma: no cover
    return list(chosen)


def issue_bulk(
    session: Session,
    org: Organisation,
    request: BulkRequest,
    actor: User | None,
    *,
    limit: int = BULK_LIMIT,
    progress: Callable[[int, int], None] | None = None,
) -> BulkResult:
    """Issue one certificate per volunteer over their valid records in a period.

    Without volunteer_ids, every volunteer of the organisation with valid records in the period
    is certified. A volunteer who is not the organisation's, who has no valid records in the
    period, or who already holds a live certificate over exactly the same records and period is
    skipped with a reason, so running the same term twice issues nothing new. ``actor`` is None
    only for the command line, run by the operator of the instance.
    """
    if actor is not None and (not actor.is_org_user or actor.organisation_id != org.id):
        raise Forbidden(_("only the organisation that keeps the records may certify them"))
    require_active(org)
    ids = _check_request(request, limit)
    # Two bulk runs of one organisation are serialised on its row, so the second sees the first's
    # certificates and skips them; the volunteers are locked below against racing corrections.
    _lock_organisation(session, org)
    result = BulkResult()
    if ids is not None:
        members = _members(session, org, ids)
        for volunteer_id in ids:
            if volunteer_id not in members:
                result.skipped.append(
                    Skipped(
                        volunteer_id,
                        SkipReason.NOT_MEMBER,
                        _("not a volunteer of this organisation"),
                    )
                )
        ids = [v for v in ids if v in members]
    # Lock the volunteers before their records are read as committed now: a correction that won
    # the race is certified as corrected; one that loses it supersedes what is issued here.
    if ids is not None:
        lock_volunteers(session, ids)
    grouped = _records_by_volunteer(session, org, request, ids)
    if ids is None:
        ids = sorted(grouped)
        if len(ids) > limit:
            raise ValidationError(
                _(
                    "%(m)d volunteers have records in this period; at most %(n)d per call: "
                    "give a shorter period or a list of volunteer_ids",
                    m=len(ids),
                    n=limit,
                ),
                field="volunteer_ids",
                rule="max_items",
            )
        if ids:  # who has records is known only now: lock them, then read again
            lock_volunteers(session, ids)
            grouped = _records_by_volunteer(session, org, request, ids)
    earlier = _already_certified(session, org, request, ids)
    held = held_record_ids(session, [r.id for records in grouped.values() for r in records])
    todo: list[tuple[int, list[ServiceRecord]]] = []
    for volunteer_id in ids:
        records = grouped.get(volunteer_id)
        if not records:
            result.skipped.append(
                Skipped(volunteer_id, SkipReason.NO_RECORDS, _("no valid records in the period"))
            )
            continue
        if any(r.id in held for r in records):
            result.skipped.append(
                Skipped(
                    volunteer_id,
                    SkipReason.UNDER_SUPERVISION,
                    _("records in the period are held by a supervision case"),
                )
            )
            continue
        if any(r.certificate_hold for r in records):
            result.skipped.append(
                Skipped(
                    volunteer_id,
                    SkipReason.DISPUTED,
                    _("the volunteer disputes a record in the period (not there); answer it first"),
                )
            )
            continue
        digest = records_digest((r.id, r.revision, r.status) for r in records)
        number = earlier.get((volunteer_id, digest))
        if number is not None:
            result.skipped.append(
                Skipped(
                    volunteer_id,
                    SkipReason.ALREADY_CERTIFIED,
                    _("already holds certificate %(number)s over the same records", number=number),
                )
            )
            continue
        todo.append((volunteer_id, records))
    if not todo:
        return result

    volunteers: dict[int, Volunteer] = {}
    for chunk in _chunks([v for v, _records in todo]):
        volunteers.update(
            (v.id, v) for v in session.scalars(select(Volunteer).where(Volunteer.id.in_(chunk)))
        )
    # what every certificate prints must be printable: the whole run is refused for the
    # organisation's details or the handler, a volunteer skipped for their name or records
    handler = printed_handler(request.handler, actor, fallback=org.contact_name)
    refuse_unprintable_issuer(org)
    printable = []
    for volunteer_id, records in todo:
        why = unprintable_volunteer_text(volunteers[volunteer_id], records)
        if why:
            result.skipped.append(Skipped(volunteer_id, SkipReason.UNPRINTABLE, why))
        else:
            printable.append((volunteer_id, records))
    todo = printable
    if not todo:
        return result
    signer = Signer.current(session, org)
    numbers = _fresh_numbers(session, len(todo))
    indexes = _fresh_status_indexes(session, len(todo))
    label = None if actor is not None else "cli"
    allocated = list(zip(todo, numbers, indexes, strict=True))
    for start in range(0, len(allocated), _WRITE_CHUNK):
        chunk = allocated[start : start + _WRITE_CHUNK]
        certs = [
            build_certificate(
                org,
                volunteers[volunteer_id],
                records,
                period_from=request.period_from,
                period_to=request.period_to,
                handler=handler,
                actor=actor,
                signer=signer,
                number=number,
                status_index=index,
            )
            for (volunteer_id, records), number, index in chunk
        ]
        session.add_all(certs)
        session.flush()
        session.add_all(
            CertificateRecord(certificate_id=cert.id, record_id=r.id, revision=r.revision)
            for cert, ((_volunteer_id, records), _number, _index) in zip(certs, chunk, strict=True)
            for r in records
        )
        # One ledger entry per certificate, appended a chunk at a time (not a query per entry).
        record_events(
            session,
            actor,
            [(ISSUE_ACTION, "certificate", c.number, org.id, ledger_details(c)) for c in certs],
            actor_label=label,
        )
        result.issued.extend(certs)
        if progress is not None:
            progress(len(result.issued), len(allocated))
    record_event(
        session,
        actor,
        "certificate.issue_bulk",
        "organisation",
        org.id,
        organisation_id=org.id,
        details={
            "period": [request.period_from.isoformat(), request.period_to.isoformat()],
            "issued": len(result.issued),
            "skipped": len(result.skipped),
        },
        actor_label=label,
    )
    return result


def volunteer_ids_for_numbers(
    session: Session, numbers: Iterable[str]
) -> tuple[dict[str, int], list[str]]:
    """Map volunteer numbers to ids; return the map and the numbers not found.

    A number of a row merged into another (the same person) maps to the row it was merged into.
    """
    wanted = list(dict.fromkeys(n.strip().upper() for n in numbers if n.strip()))
    found: dict[str, int] = {}
    merged: dict[int, int] = {}
    for chunk in _chunks(wanted):
        rows = session.execute(
            select(Volunteer.volunteer_number, Volunteer.id, Volunteer.merged_into_id).where(
                Volunteer.volunteer_number.in_(chunk)
            )
        )
        for number, volunteer_id, merged_into in rows:
            found[number] = volunteer_id
            if merged_into is not None:
                merged[volunteer_id] = merged_into
    pending = set(merged.values()) - set(merged)
    for _hop in range(10):  # a row merged into one that was itself merged later
        if not pending:
            break
        newly: dict[int, int] = {}
        for chunk in _chunks(sorted(pending)):
            merges = session.execute(
                select(Volunteer.id, Volunteer.merged_into_id).where(
                    Volunteer.id.in_(chunk), Volunteer.merged_into_id.is_not(None)
                )
            )
            newly.update(
                (volunteer_id, merged_into)
                for volunteer_id, merged_into in merges
                if merged_into is not None  # as the query says
            )
        merged.update(newly)
        pending = set(newly.values()) - set(merged)
    for number, volunteer_id in list(found.items()):
        hops = 0
        while volunteer_id in merged and hops < 10:
            volunteer_id, hops = merged[volunteer_id], hops + 1
        found[number] = volunteer_id
    return found, [n for n in wanted if n not in found]

"""Content hashes of record revisions, the attestations audit entries carry, and their check.

Every record revision written through the services is attested by an audit entry: a single
write (record.create, record.correct, record.void) by its own entry, an import or the demo by
its one batch entry. The entry's details hold

    "attests": {"revisions": [[first_id, last_id], ...], "count": n, "sha256": "<hex>"}

covering the `record_revisions` rows whose ids fall in the ranges: `sha256` is the SHA-256 of
`revision_digest(row) + "\\n"` for each of them, in id order. `verifier audit verify` recomputes
every attestation, reports revisions that no entry attests (a row written behind the
application's back) and records whose current columns differ from their latest revision.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from verifier.audit.services import canonical_json
from verifier.records.models import (
    CONTENT_FIELDS,
    RecordRevision,
    RecordStatus,
    RevisionKind,
    ServiceRecord,
)

DIGEST_VERSION = 1
# The record's facts that never change after creation, attested with each of its revisions.
_RECORD_FACTS = (
    "organisation_id",
    "volunteer_id",
    "source",
    "import_batch_id",
    "recorded_by_id",
    "recorded_at",
    "entered_late",
    "unpaid",
    "not_job_duty",
)
_REVISION_FIELDS = (
    "id",
    "record_id",
    "revision",
    "kind",
    "activity",
    "place",
    "content",
    "leader",
    "started_at",
    "ended_at",
    "minutes",
    "evaluation",
    "reason",
    "created_by_id",
    "created_at",
)
# Columns a record shares with its latest revision.
_PROJECTED = CONTENT_FIELDS
MAX_LISTED = 20


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def revision_digest(values: Mapping[Any, Any]) -> str:
    """Return the SHA-256 of a revision's canonical content with its record's fixed facts."""
    body = {name: _plain(values[name]) for name in (*_REVISION_FIELDS, *_RECORD_FACTS)}
    body["v"] = DIGEST_VERSION
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def revision_query() -> Select[Any]:
    """Select every column a revision digest needs: the revision's and its record's facts."""
    columns = [getattr(RecordRevision, name) for name in _REVISION_FIELDS]
    columns += [getattr(ServiceRecord, name) for name in _RECORD_FACTS]
    return select(*columns).join(ServiceRecord, ServiceRecord.id == RecordRevision.record_id)


def id_ranges(ids: Iterable[int]) -> list[list[int]]:
    """Compress ascending ids into [first, last] runs."""
    ranges: list[list[int]] = []
    for value in ids:
        if ranges and value == ranges[-1][1] + 1:
            ranges[-1][1] = value
        else:
            ranges.append([value, value])
    return ranges


def attest_revisions(session: Session, *where: ColumnElement[bool]) -> dict[str, Any]:
    """Return the attestation of the revisions matching `where`: one query, digests in Python."""
    session.flush()
    hasher = hashlib.sha256()
    ids: list[int] = []
    rows = session.execute(revision_query().where(*where).order_by(RecordRevision.id))
    for row in rows.mappings():
        ids.append(row["id"])
        hasher.update((revision_digest(row) + "\n").encode("ascii"))
    return {"revisions": id_ranges(ids), "count": len(ids), "sha256": hasher.hexdigest()}


def attest_revision(record: ServiceRecord, revision: RecordRevision) -> dict[str, Any]:
    """Return the attestation of one revision just written (from the objects, no query)."""
    values = {name: getattr(revision, name) for name in _REVISION_FIELDS}
    values.update({name: getattr(record, name) for name in _RECORD_FACTS})
    line = revision_digest(values) + "\n"
    return {
        "revisions": [[revision.id, revision.id]],
        "count": 1,
        "sha256": hashlib.sha256(line.encode("ascii")).hexdigest(),
    }


# --- checking --------------------------------------------------------------------------------


@dataclass
class Attestation:
    """An attestation read from an audit entry, and what the check found for it."""

    entry_id: int
    action: str
    ranges: list[tuple[int, int]]
    count: int
    sha256: str
    seen: int = 0
    hasher: Any = field(default_factory=hashlib.sha256)

    def describe(self) -> str:
        first, last = self.ranges[0][0], self.ranges[-1][1]
        rows = f"row {first}" if first == last else f"rows {first}–{last}"
        return f"audit entry {self.entry_id} ({self.action}; {self.count} revisions, {rows})"


def attestation_from(entry_id: int, action: str, details_text: str) -> Attestation | None:
    """Read the attestation an entry's details carry; None when it carries none.

    Raises ValueError when it carries one that is malformed.
    """
    if '"attests"' not in details_text:
        return None
    details = json.loads(details_text)
    attests = details.get("attests") if isinstance(details, dict) else None
    if attests is None:
        return None
    try:
        ranges = [(int(a), int(b)) for a, b in attests["revisions"]]
        count, digest = int(attests["count"]), str(attests["sha256"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("its record attestation is malformed") from None
    if not ranges or any(a > b for a, b in ranges) or len(digest) != 64:
        raise ValueError("its record attestation is malformed")
    return Attestation(entry_id, action, ranges, count, digest)


@dataclass
class RecordsReport:
    revisions: int = 0
    records: int = 0
    attested: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    legacy_ids: list[int] = field(default_factory=list)
    legacy_count: int = 0


def _batches(session: Session, query: Select[Any], key: Any, size: int) -> Iterator[Any]:
    """Every row, in key order, a batch at a time; from the lowest key, whatever it is (a row
    written behind the application may carry an id of 0 or below)."""
    last: int | None = None
    while True:
        page = query if last is None else query.where(key > last)
        rows = session.execute(page.order_by(key).limit(size)).mappings().all()
        if not rows:
            return
        yield from rows
        last = rows[-1][key.key]


@dataclass(frozen=True)
class Epoch:
    """Revisions 1..legacy_upto predate attestation; there were legacy_count of them."""

    legacy_upto: int
    legacy_count: int


def attestation_epoch(session: Session) -> Epoch:
    """Read where attestation began (written once, by the migration that introduced it)."""
    from verifier.audit.models import AttestationEpoch

    row = session.get(AttestationEpoch, 1)
    if row is None:
        return Epoch(0, 0)
    return Epoch(row.legacy_upto, row.legacy_count)


def check_records(
    session: Session, attestations: list[Attestation], batch_size: int = 5000
) -> RecordsReport:
    """Recompute every attestation; report unattested revisions and records that drifted.

    Revisions older than the oldest attested one predate attestation (data written before it
    existed): they are warnings, and `verifier audit attest-legacy` attests them once.
    """
    report = RecordsReport()
    # without its row nothing is legacy: stricter, so deleting it hides nothing
    epoch = attestation_epoch(session)
    in_legacy_range = 0
    intervals = sorted(
        (start, end, index)
        for index, attestation in enumerate(attestations)
        for start, end in attestation.ranges
    )
    active: list[tuple[int, int]] = []  # (end, attestation index), a heap
    position = 0
    unattested: list[tuple[int, int, int]] = []
    unattested_count = 0
    overlapping: list[list[int]] = []  # the attestations of revisions attested more than once
    for row in _batches(session, revision_query(), RecordRevision.id, batch_size):
        report.revisions += 1
        row_id = row["id"]
        legacy = 1 <= row_id <= epoch.legacy_upto
        in_legacy_range += legacy
        while position < len(intervals) and intervals[position][0] <= row_id:
            start, end, index = intervals[position]
            heapq.heappush(active, (end, index))
            position += 1
        while active and active[0][0] < row_id:
            heapq.heappop(active)
        if not active:
            if legacy:
                report.legacy_count += 1
                if len(report.legacy_ids) < MAX_LISTED:
                    report.legacy_ids.append(row_id)
            else:
                unattested_count += 1
                if len(unattested) < MAX_LISTED:
                    unattested.append((row["record_id"], row["revision"], row_id))
            continue
        report.attested += 1
        line = (revision_digest(row) + "\n").encode("ascii")
        for _end, index in active:
            attestations[index].seen += 1
            attestations[index].hasher.update(line)
        if len(active) > 1:
            overlapping.append(sorted(index for _end, index in active))
    for record_id, revision, row_id in unattested:
        report.problems.append(
            f"record {record_id} revision {revision} (revision row {row_id}) is attested by no "
            "audit entry: it was written behind the application's back"
        )
    if unattested_count > len(unattested):
        report.problems.append(
            f"{unattested_count - len(unattested)} more revisions are attested by no audit entry"
        )
    matched = {i for i, a in enumerate(attestations) if a.hasher.hexdigest() == a.sha256}
    for index, attestation in enumerate(attestations):
        if attestation.seen == attestation.count and _superseded(
            index, attestation, overlapping, matched
        ):
            continue
        if attestation.seen != attestation.count:
            report.problems.append(
                f"{attestation.describe()}: {attestation.seen} of those revisions exist now, "
                "not the attested number: revisions were removed or added"
            )
        elif attestation.hasher.hexdigest() != attestation.sha256:
            report.problems.append(
                f"{attestation.describe()}: the revisions no longer match their attested "
                "content: at least one was altered after it was written"
            )
    if in_legacy_range != epoch.legacy_count:
        report.problems.append(
            f"{in_legacy_range} record revisions lie among those that predate attestation "
            f"(revision rows 1 to {epoch.legacy_upto}), but there were {epoch.legacy_count} "
            "when attestation began: revisions were added to or removed from them"
        )
    if report.legacy_count:
        shown = ", ".join(str(i) for i in report.legacy_ids)
        more = " …" if report.legacy_count > len(report.legacy_ids) else ""
        report.warnings.append(
            f"{report.legacy_count} record revisions predate record attestation (legacy data, "
            f"revision rows {shown}{more}); run `verifier audit attest-legacy` once to attest "
            "them (docs/audit.md)"
        )
    _check_projections(session, report, batch_size)
    return report


def _superseded(
    index: int, attestation: Attestation, overlapping: list[list[int]], matched: set[int]
) -> bool:
    """Whether every revision of a stale attestation is attested again, as it is now, later.

    A legitimate change of a record's fixed facts (merging duplicate volunteers moves records to
    the kept one) appends an entry that attests the revisions as they now are; the earlier
    attestation then no longer matches, and need not.
    """
    if index in matched:
        return False
    again = sum(
        1
        for indices in overlapping
        if index in indices and any(later > index and later in matched for later in indices)
    )
    return again == attestation.seen


def _check_projections(session: Session, report: RecordsReport, batch_size: int) -> None:
    """Each record's columns must be those of its latest revision (the pages show the record)."""
    latest = RecordRevision
    query = select(
        ServiceRecord.id,
        ServiceRecord.revision,
        ServiceRecord.status,
        ServiceRecord.voided_at,
        ServiceRecord.voided_by_id,
        ServiceRecord.void_reason,
        *(getattr(ServiceRecord, name) for name in _PROJECTED),
        latest.id.label("revision_row"),
        latest.kind.label("latest_kind"),
        latest.reason.label("latest_reason"),
        latest.created_by_id.label("latest_by"),
        latest.created_at.label("latest_at"),
        *(getattr(latest, name).label(f"latest_{name}") for name in _PROJECTED),
    ).outerjoin(
        latest,
        and_(latest.record_id == ServiceRecord.id, latest.revision == ServiceRecord.revision),
    )
    drifted = 0
    for row in _batches(session, query, ServiceRecord.id, batch_size):
        report.records += 1
        problem = _projection_problem(row)
        if problem is None:
            continue
        drifted += 1
        if drifted <= MAX_LISTED:
            report.problems.append(f"record {row['id']}: {problem}")
    if drifted > MAX_LISTED:
        report.problems.append(f"{drifted - MAX_LISTED} more records differ from their history")


def _projection_problem(row: Mapping[str, Any]) -> str | None:
    if row["revision_row"] is None:
        return f"it has no revision {row['revision']} (its history was cut)"
    changed = [name for name in _PROJECTED if _plain(row[name]) != _plain(row[f"latest_{name}"])]
    if changed:
        return (
            f"its {', '.join(changed)} differ from its latest revision {row['revision']}: "
            "changed behind the application's back"
        )
    voided = row["latest_kind"] == RevisionKind.VOIDED
    if (row["status"] == RecordStatus.VOIDED) != voided:
        return f"its status {row['status']} does not follow its latest revision"
    if voided and (
        row["void_reason"] != row["latest_reason"]
        or row["voided_by_id"] != row["latest_by"]
        or _plain(row["voided_at"]) != _plain(row["latest_at"])
    ):
        return "its voiding differs from the voiding revision"
    return None


def attest_legacy(session: Session) -> dict[str, Any] | None:
    """Attest in one audit entry the revisions that predate attestation; None if none, or done.

    Those are revision rows 1..legacy_upto of the attestation epoch (a database upgraded from an
    earlier version); `verifier audit verify` warns about them until this has run once.
    """
    from verifier.audit.models import AuditEntry
    from verifier.audit.services import record_event

    done = session.scalar(
        select(AuditEntry.id).where(AuditEntry.action == "records.attest_legacy").limit(1)
    )
    epoch = attestation_epoch(session)
    if done is not None or epoch.legacy_upto < 1:
        return None
    attests = attest_revisions(
        session, RecordRevision.id >= 1, RecordRevision.id <= epoch.legacy_upto
    )
    if not attests["count"]:
        return None
    record_event(
        session,
        None,
        "records.attest_legacy",
        "record_revisions",
        "legacy",
        details={"attests": attests},
    )
    return attests

"""Check the audit log whole: its hash chain, its signed checkpoints (the database's and copies
kept elsewhere), and the record revisions its entries attest. `verifier audit verify` prints it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from sqlalchemy.orm import Session

from verifier.audit.models import GENESIS_HASH, AuditEntry
from verifier.audit.services import ChainReport, verify_chain
from verifier.integrity.checkpoints import (
    BadCheckpoint,
    KeyRing,
    SignedCheckpoint,
    all_checkpoints,
    compromised_before,
    jws_hash,
    key_ring,
    read_checkpoint,
)
from verifier.records.attestation import (
    Attestation,
    RecordsReport,
    attestation_from,
    check_records,
)
from verifier.timeutil import to_local

MAX_COPY_BYTES = 64 * 1024 * 1024
MAX_PAGES = 10_000
DATABASE = "the database"


class UnusableInput(Exception):
    """A copy of the checkpoint list could not be read (exit status 2, not "broken")."""


@dataclass
class CheckpointCopy:
    """A copy of the checkpoint list kept outside the database: a file, or fetched from a URL."""

    source: str
    items: list[dict[str, Any]]


def _parse_page(data: bytes, source: str) -> tuple[list[dict[str, Any]], str | None]:
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise UnusableInput(f"{source} is not a JSON document") from None
    next_link = None
    if isinstance(document, dict):
        items = document.get("checkpoints")
        next_link = document.get("next")
        if next_link is not None and not isinstance(next_link, str):
            raise UnusableInput(f"{source}: 'next' is not a link")
    else:
        items = document
    if not isinstance(items, list):
        raise UnusableInput(
            f"{source} is not a checkpoint list (an object with a 'checkpoints' array, as "
            "GET /api/v1/audit/checkpoints answers, or an array)"
        )
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("jws"), str):
            raise UnusableInput(f"{source}: item {number} is not a checkpoint (no 'jws' string)")
    return items, next_link


def _fetch(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(  # noqa: S310 (the caller checked the scheme)
        url, headers={"Accept": "application/json", "User-Agent": "verifier-audit-verify"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            data = response.read(MAX_COPY_BYTES + 1)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise UnusableInput(f"could not fetch {url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise UnusableInput(f"could not fetch {url}: {getattr(exc, 'reason', exc)}") from None
    if len(data) > MAX_COPY_BYTES:
        raise UnusableInput(f"{url} answers more than {MAX_COPY_BYTES // 2**20} MB")
    return data


def load_copy(source: str, timeout: float = 10.0) -> CheckpointCopy:
    """Read a copy of the checkpoint list: a JSON file, or a URL whose pages are followed."""
    if not source.lower().startswith(("http://", "https://")):
        path = Path(source)
        try:
            if path.stat().st_size > MAX_COPY_BYTES:
                raise UnusableInput(f"{source} is larger than {MAX_COPY_BYTES // 2**20} MB")
            data = path.read_bytes()
        except OSError as exc:
            raise UnusableInput(f"cannot read {source}: {exc.strerror or exc}") from None
        found, _next = _parse_page(data, source)
        return CheckpointCopy(source, found)
    origin = urlsplit(source)[:2]
    items: list[dict[str, Any]] = []
    url: str | None = source
    seen: set[str] = set()
    while url is not None:
        if url in seen or len(seen) >= MAX_PAGES:
            raise UnusableInput(f"{source}: the pages' next links do not end")
        seen.add(url)
        page, next_link = _parse_page(_fetch(url, timeout), url)
        items.extend(page)
        url = urljoin(url, next_link) if next_link else None
        if url is not None and urlsplit(url)[:2] != origin:
            raise UnusableInput(f"{source}: a next link leaves {origin[1]}: {url}")
    return CheckpointCopy(source, items)


@dataclass
class IntegrityReport:
    chain: ChainReport
    checkpoints: int = 0  # distinct valid checkpoints compared with the chain
    latest: SignedCheckpoint | None = None
    sources: dict[str, int] = field(default_factory=dict)  # source -> checkpoints read
    records: RecordsReport | None = None
    problems: list[str] = field(default_factory=list)  # beyond the chain's own break
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems


def _when(checkpoint: SignedCheckpoint) -> str:
    return to_local(checkpoint.issued_at).strftime("%Y-%m-%d %H:%M:%S %z")


def _check_list(checkpoints: list[SignedCheckpoint], source: str, problems: list[str]) -> None:
    """A list's checkpoints must link (prev) and grow; the database's must also start at #1."""
    ordered = sorted(checkpoints, key=lambda c: c.seq)
    if source == DATABASE and ordered and ordered[0].seq != 1:
        problems.append(f"checkpoint #1 is missing from {source}: the list was cut")
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.seq == before.seq:
            problems.append(f"{source} holds two checkpoints #{after.seq}")
        elif after.count <= before.count:
            problems.append(
                f"checkpoint #{after.seq} from {source} covers fewer entries than #{before.seq}"
            )
        elif after.seq == before.seq + 1 and after.prev != jws_hash(before.jws):
            problems.append(
                f"checkpoint #{after.seq} from {source} does not name #{before.seq} as the one "
                "before it: the list was rewritten"
            )
        elif source == DATABASE and after.seq != before.seq + 1:
            problems.append(
                f"checkpoints #{before.seq + 1}–#{after.seq - 1} are missing from {source}"
            )
    if ordered and ordered[0].seq == 1 and ordered[0].prev != GENESIS_HASH:
        problems.append(f"checkpoint #1 from {source} does not start the list (prev)")


def _read_all(
    session: Session, copies: list[CheckpointCopy], keys: KeyRing, report: IntegrityReport
) -> list[tuple[str, SignedCheckpoint]]:
    """Check every checkpoint's signature and list into the report; return the usable ones."""
    problems: list[str] = []
    valid: list[tuple[str, SignedCheckpoint]] = []
    stored = {row.seq: row for row in all_checkpoints(session)}
    lists: list[tuple[str, list[SignedCheckpoint]]] = []
    listed: list[SignedCheckpoint] = []
    for row in stored.values():
        label = f"checkpoint #{row.seq} in {DATABASE}"
        try:
            checkpoint = read_checkpoint(row.jws, keys)
        except BadCheckpoint as exc:
            problems.append(f"{label}: {exc}")
            continue
        signed = (checkpoint.seq, checkpoint.count, checkpoint.head, checkpoint.prev)
        if signed != (row.seq, row.entry_count, row.head_hash, row.prev_hash):
            problems.append(f"{label}: its columns differ from its signed content")
        listed.append(checkpoint)
        valid.append((label, checkpoint))
    lists.append((DATABASE, listed))
    report.sources[DATABASE] = len(stored)
    for copy in copies:
        listed = []
        for number, item in enumerate(copy.items, start=1):
            label = f"checkpoint #{item.get('seq', '?')} (item {number}) from {copy.source}"
            try:
                checkpoint = read_checkpoint(item["jws"], keys)
            except BadCheckpoint as exc:
                problems.append(f"{label}: {exc}")
                continue
            label = f"checkpoint #{checkpoint.seq} from {copy.source}"
            for name, value in (("seq", checkpoint.seq), ("count", checkpoint.count)):
                if name in item and item[name] != value:
                    problems.append(f"{label}: its listed {name} differs from its signed content")
            if "head" in item and item["head"] != checkpoint.head:
                problems.append(f"{label}: its listed head differs from its signed content")
            ours = stored.get(checkpoint.seq)
            if ours is None:
                problems.append(
                    f"{label} is missing from {DATABASE}'s list: the list was cut or rewritten"
                )
            elif ours.jws != checkpoint.jws:
                problems.append(
                    f"{label} differs from {DATABASE}'s checkpoint #{checkpoint.seq}: the list "
                    "was rewritten"
                )
            listed.append(checkpoint)
            valid.append((label, checkpoint))
        lists.append((copy.source, listed))
        report.sources[copy.source] = len(copy.items)
    for source, checkpoints in lists:
        _check_list(checkpoints, source, problems)
    usable = []
    for label, checkpoint in valid:
        if compromised_before(checkpoint, keys):
            report.warnings.append(
                f"{label} was signed by key {checkpoint.kid[:12]}… after that key's compromise "
                "time: it proves nothing and was not compared"
            )
        else:
            usable.append((label, checkpoint))
    report.problems.extend(problems)
    return usable


def verify_integrity(
    session: Session, copies: list[CheckpointCopy] | None = None, *, records: bool = True
) -> IntegrityReport:
    """Walk the chain; compare it with every valid checkpoint; check the attested records."""
    report = IntegrityReport(chain=ChainReport(ok=True, checked=0))
    checkpoints = _read_all(session, list(copies or []), key_ring(session), report)
    list_problems, report.problems = report.problems, []
    needed = {checkpoint.count for _label, checkpoint in checkpoints}
    heads: dict[int, tuple[int, str]] = {}
    attestations: list[Attestation] = []
    attestation_problems: list[str] = []

    def observe(number: int, entry: AuditEntry) -> None:
        if number in needed:
            heads[number] = (entry.id, entry.entry_hash)
        if records:
            try:
                attestation = attestation_from(entry.id, entry.action, entry.details)
            except ValueError as exc:
                attestation_problems.append(f"audit entry {entry.id}: {exc}")
                return
            if attestation is not None:
                attestations.append(attestation)

    chain = report.chain = verify_chain(session, observe=observe)
    compared: dict[str, SignedCheckpoint] = {}
    head_problems: list[tuple[int, str]] = []
    for label, checkpoint in sorted(checkpoints, key=lambda pair: pair[1].seq):
        if checkpoint.jws in compared:
            continue
        compared[checkpoint.jws] = checkpoint
        if checkpoint.count > chain.checked:
            if chain.ok:
                head_problems.append(
                    (
                        checkpoint.count,
                        f"the log has {chain.checked} entries, but {label} (signed "
                        f"{_when(checkpoint)}) covers {checkpoint.count}: entries were removed "
                        "from its end",
                    )
                )
            continue  # a broken chain is reported at its break
        entry_id, entry_hash = heads[checkpoint.count]
        if entry_hash != checkpoint.head:
            head_problems.append(
                (
                    checkpoint.count,
                    f"entry number {checkpoint.count} (id {entry_id}) does not have the hash "
                    f"that {label} signed on {_when(checkpoint)}: the log was rewritten at or "
                    "before that entry",
                )
            )
    report.checkpoints = len(compared)
    report.latest = max(compared.values(), key=lambda c: c.seq, default=None)
    report.problems = [text for _count, text in sorted(head_problems, key=lambda p: p[0])]
    report.problems += list_problems + attestation_problems
    if records and chain.ok:
        report.records = check_records(session, attestations)
        report.problems += report.records.problems
        report.warnings += report.records.warnings
    return report

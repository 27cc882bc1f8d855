"""Measure the seeded draw and the risk signals over a million records, as ratios to baselines.

Called by bench/run.py, which appends `markdown_section()` to BENCHMARKS.md. Two parts:

- the draw: a population of N record ids ("rec:1" ...); the uniform and the hour-weighted draw of
  1,000 (`verifier.spotchecks.sampling.draw`) and the population hash, each divided by the time of
  N bare SHA-256 hashes of the same `{seed},{id}` strings measured in the same run;
- the risk signals: a scratch SQLite database with N records (and their revisions, volunteers,
  organisations, some certificates and planted anomalies) inserted in bulk with executemany, not
  through the services; `record_signals` and `organisation_signals` over all of them, divided by
  the time of `SELECT count(*), sum(minutes) FROM service_records` on the same table.

N comes from VERIFIER_BENCH_SPOTCHECK_RECORDS (default 1,000,000; set it lower for a quick run),
the number of repetitions (the median is reported) from VERIFIER_BENCH_SPOTCHECK_REPEAT (3).
"""

from __future__ import annotations

import base64
import hashlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from verifier import create_app
from verifier.db import get_session, upgrade_database
from verifier.spotchecks.risk import organisation_signals, record_signals
from verifier.spotchecks.sampling import PopulationItem, draw, population_hash

RECORDS_ENV = "VERIFIER_BENCH_SPOTCHECK_RECORDS"
REPEAT_ENV = "VERIFIER_BENCH_SPOTCHECK_REPEAT"
DEFAULT_RECORDS = 1_000_000
SAMPLE = 1000
SEED = "bench-seed-31415926535897932384"
RECORDS_PER_VOLUNTEER = 20
VOLUNTEERS_PER_ORG = 250
MINUTES = (60, 90, 120, 150, 180, 240, 45, 200)
CHUNK = 50_000
FIRST_DAY = date(2023, 1, 2)
LOCAL = timedelta(hours=8)  # Asia/Shanghai: service days are local days


def median_time(operation: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        operation()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


# --- the draw ---------------------------------------------------------------------------------


def bench_draw(size: int, repeat: int) -> list[tuple[str, float, str]]:
    ids = [f"rec:{i}" for i in range(1, size + 1)]
    items = [PopulationItem(i, weight=MINUTES[n % len(MINUTES)]) for n, i in enumerate(ids)]
    messages = [f"{SEED},{i}".encode() for i in ids]
    sha256 = hashlib.sha256

    def bare_hashes() -> None:
        for message in messages:
            sha256(message).digest()

    sample = min(SAMPLE, size)
    return [
        (f"{size:,} bare SHA-256 hashes (baseline)", median_time(bare_hashes, repeat), "sha"),
        (
            f"uniform draw of {sample:,} from {size:,}",
            median_time(lambda: draw(SEED, items, sample, weighted=False), repeat),
            "sha",
        ),
        (
            f"hour-weighted draw of {sample:,} from {size:,}",
            median_time(lambda: draw(SEED, items, sample, weighted=True), repeat),
            "sha",
        ),
        (
            f"population hash of {size:,} ids",
            median_time(lambda: population_hash(ids), repeat),
            "sha",
        ),
    ]


# --- the database -----------------------------------------------------------------------------


def _ts(moment: datetime) -> str:
    """A UTC time as SQLAlchemy stores it in SQLite."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _record_rows(size: int) -> Iterator[tuple[Any, ...]]:
    return (_record(i) for i in range(size))


def _record(i: int) -> tuple[Any, ...]:
    """Records: 20 a volunteer on distinct days, with planted overlaps, late entries and voids."""
    volunteer, j = divmod(i, RECORDS_PER_VOLUNTEER)
    org = volunteer // VOLUNTEERS_PER_ORG
    slot = j - 1 if (i % 997 == 0 and j > 0) else j  # the same day as the one before: overlap
    day = FIRST_DAY + timedelta(days=(volunteer * 13 + slot * 37) % 730)
    minutes = MINUTES[(i * 7) % len(MINUTES)]
    start = datetime(day.year, day.month, day.day, 9, tzinfo=UTC) - LOCAL
    late = i % 40 == 0
    recorded = start + timedelta(days=30 if late else 1)
    status = "voided" if i % 500 == 1 else "active"
    return (
        i + 1, org + 1, volunteer + 1, status, "社区服务", "南川区", _ts(start),
        _ts(start + timedelta(minutes=minutes)), day.isoformat(), minutes, int(late),
        f"k{i}", _ts(recorded),
    )  # fmt: skip


def _chunks(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def build_database(app: Any, size: int) -> float:
    """Fill the scratch database in bulk; return the seconds it took."""
    started = time.perf_counter()
    volunteers = max(1, -(-size // RECORDS_PER_VOLUNTEER))
    orgs = max(1, -(-volunteers // VOLUNTEERS_PER_ORG))
    now = _ts(datetime.now(UTC))
    engine = app.extensions["verifier.db"].engine
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO organisations (id, name, uscc, org_type, region_code, status, "
            "responsible_person, contact_name, contact_phone, address, created_at) "
            "VALUES (?, ?, ?, 'volunteer_org', '500119', 'active', '王负责', '', '', '', ?)",
            [(k + 1, f"协会{k}", f"53500000MJ{k:08d}", now) for k in range(orgs)],
        )
        conn.exec_driver_sql(
            "INSERT INTO volunteers (id, volunteer_number, name, id_type, id_number_enc, "
            "id_lookup, id_masked, phone_masked, guardian_name, record_lock, public_activities, "
            "created_at) "
            "VALUES (?, ?, ?, 'resident_id', x'00', ?, '110101**********2X', '', '', 0, 0, ?)",
            [(k + 1, f"V{k:015d}", f"志愿者{k}", f"lookup{k}", now) for k in range(volunteers)],
        )
        for chunk in _chunks(_record_rows(size)):
            conn.exec_driver_sql(
                "INSERT INTO service_records (id, organisation_id, volunteer_id, status, revision,"
                " activity, place, content, leader, started_at, ended_at, service_date, minutes,"
                " evaluation, unpaid, not_job_duty, source, entered_late, dedupe_key, recorded_at,"
                " updated_at, void_reason, certificate_hold) VALUES (?, ?, ?, ?, 1, ?, ?, '', '',"
                " ?, ?, ?, ?, '', 1, 1, 'import', ?, ?, ?, ?, '', 0)",
                [(*row, row[-1]) for row in chunk],
            )
            conn.exec_driver_sql(
                "INSERT INTO record_revisions (record_id, revision, kind, activity, place, content,"
                " leader, started_at, ended_at, minutes, evaluation, reason, created_at)"
                " VALUES (?, 1, 'created', ?, ?, '', '', ?, ?, ?, '', '', ?)",
                [(r[0], r[4], r[5], r[6], r[7], r[9], r[12]) for r in chunk],
            )
        _certificates(conn, volunteers, size, now)
        conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def _certificates(conn: Any, volunteers: int, size: int, now: str) -> None:
    """Every tenth volunteer holds a certificate over their first three records."""
    certs, links = [], []
    for v in range(0, volunteers, 10):
        first = v * RECORDS_PER_VOLUNTEER
        covered = [i for i in range(first, first + 3) if i < size]
        if not covered:
            break
        minutes = sum(MINUTES[(i * 7) % len(MINUTES)] for i in covered)
        # some issued a day after entry (entered_before_certificate), some with wrong totals
        entered = max(datetime.fromisoformat(_record(i)[12]) for i in covered)
        issued = datetime(2025, 6, 1) if v % 20 else entered + timedelta(days=1)
        cert_id = len(certs) + 1
        certs.append((
            cert_id, f"C{cert_id:016d}", v // VOLUNTEERS_PER_ORG + 1, v + 1,
            minutes + (60 if v % 100 == 0 else 0), len(covered), _ts(issued), cert_id,
        ))  # fmt: skip
        links += [(cert_id, i + 1) for i in covered]
    conn.exec_driver_sql(
        "INSERT INTO certificates (id, number, organisation_id, volunteer_id, status, period_from,"
        " period_to, total_minutes, record_count, activities, volunteer_name,"
        " volunteer_name_masked, volunteer_number, id_type, id_masked, issuer_name, issuer_uscc,"
        " responsible_person, handler, contact, issued_at, kid, token, content_sha256,"
        " records_digest, status_index, status_reason, holder_id_masked, custodian_name)"
        " VALUES (?, ?, ?, ?,"
        " 'valid', '2023-01-01',"
        " '2025-01-01', ?, ?, '[]', '张三', '张*', 'V1', 'resident_id', '1101**', '协会',"
        " '53500000MJ0000000', '王负责', '李经办', '', ?, 'k1', 't', 'h', 'd', ?, '', '1101**',"
        " '')",
        certs,
    )
    conn.exec_driver_sql(
        "INSERT INTO certificate_records (certificate_id, record_id, revision) VALUES (?, ?, 1)",
        links,
    )


def bench_risk(app: Any, repeat: int) -> tuple[list[tuple[str, float, str]], dict[str, int]]:
    counts: dict[str, int] = {}
    with app.app_context():
        session = get_session()

        def baseline() -> None:
            session.execute(text("SELECT count(*), sum(minutes) FROM service_records")).one()

        def records() -> None:
            counts["records"] = len(record_signals(session))

        def organisations() -> None:
            found = organisation_signals(session)
            counts["organisations"] = sum(1 for r in found.values() if r.score)

        rows = [
            ("SELECT count(*), sum(minutes) (baseline)", median_time(baseline, repeat), "scan"),
            ("record_signals over every record", median_time(records, repeat), "scan"),
            ("organisation_signals over every organisation", median_time(organisations, repeat),
             "scan"),
        ]  # fmt: skip
        session.rollback()
    return rows, counts


def _time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


def markdown_section() -> str:
    """Run both parts and return the BENCHMARKS.md section that reports them."""
    size = int(os.environ.get(RECORDS_ENV) or DEFAULT_RECORDS)
    repeat = int(os.environ.get(REPEAT_ENV) or 3)
    if size < 1 or repeat < 1:
        raise ValueError(f"{RECORDS_ENV} and {REPEAT_ENV} must be positive")
    rows = bench_draw(size, repeat)
    with tempfile.TemporaryDirectory(prefix="verifier-bench-spotchecks-") as scratch:
        app = create_app(
            {
                "ENV": "development",
                "DATABASE_URL": f"sqlite:///{scratch}/spotchecks.db",
                "SECRET_KEY": "bench-secret-key-0123456789",
                "DATA_KEY": base64.b64encode(os.urandom(32)).decode(),
            }
        )
        try:
            upgrade_database(app)
            build_seconds = build_database(app, size)
            risk_rows, counts = bench_risk(app, repeat)
        finally:
            app.extensions["verifier.db"].engine.dispose()
    rows += risk_rows
    baselines = {"sha": rows[0][1], "scan": risk_rows[0][1]}
    lines = [
        "",
        "## Spot checks: the draw and the risk signals",
        "",
        f"Written by `bench/spotchecks.py` (from `bench/run.py`): {size:,} records, "
        f"{repeat} repetitions (median). The draw is compared with {size:,} bare SHA-256 hashes "
        "of the same `{seed},{id}` strings; the risk signals with one aggregate scan of the "
        f"records table, on a scratch SQLite database filled in bulk in {build_seconds:.0f} s "
        "(records, one revision each, certificates for every tenth volunteer, planted overlaps, "
        "late entries and mismatched certificates).",
        "",
        "| operation | median time | × baseline | baseline |",
        "| --- | ---: | ---: | --- |",
    ]
    for name, seconds, base in rows:
        label = "SHA-256 hashes" if base == "sha" else "count/sum scan"
        lines.append(f"| {name} | {_time(seconds)} | {seconds / baselines[base]:,.1f} | {label} |")
    lines += [
        "",
        f"The signals flagged {counts.get('records', 0):,} records and "
        f"{counts.get('organisations', 0):,} organisations. "
        f"Set {RECORDS_ENV} (and {REPEAT_ENV}) for another size, e.g. "
        f"`{RECORDS_ENV}=100000 make bench`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_section())

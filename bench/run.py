"""Measure issuing and verifying certificates as ratios to bare Ed25519, and write BENCHMARKS.md.

Run with `make bench` (or `.venv/bin/python bench/run.py --help`). Everything runs in one process
on a scratch SQLite database in a temporary directory: bare Ed25519 signing and verifying (the
baselines, through `cryptography` directly), issuing one certificate (`issue_certificate`, one
transaction each, as a request would), verifying one token (`verify_token`), verifying a batch
of tokens the way the batch API does (`POST /api/v1/verifications` with `items`), and rendering
the QR code. Each figure is the median of several repetitions; ratios divide by the baselines
measured in the same run, so they compare across machines better than the absolute times.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import runpy
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier import create_app
from verifier.db import get_session, upgrade_database

ROOT = Path(__file__).resolve().parent.parent
BASE_URL = "https://verify.example.cn"
RECORDS_PER_VOLUNTEER = 3


@dataclass
class Row:
    name: str
    seconds: float  # median time of one operation (for the batch: of the whole batch)
    baseline: str  # "sign" or "verify"
    per_item: float | None = None  # for the batch: the median time per certificate
    note: str = ""


def median_time(operation: Callable[[], Any], *, repeat: int, number: int = 1) -> float:
    """Return the median, over `repeat` runs, of the time per call of `number` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            operation()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def resident_id(n: int) -> str:
    from verifier.identifiers import resident_id_check_char

    first17 = f"11010119900307{n % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def build_world(app: Any, volunteers: int) -> tuple[int, int, list[tuple[int, list[int]]]]:
    """Make an organisation, its admin, volunteers and records; return their ids."""
    from verifier.auth.services import create_user
    from verifier.identifiers import uscc_check_char
    from verifier.orgs.services import OrganisationInput, create_organisation
    from verifier.records.services import RecordInput, create_record
    from verifier.volunteers.services import VolunteerInput, register_volunteer

    with app.app_context():
        session = get_session()
        uscc = "53500000MJ0000001"
        org = create_organisation(
            session,
            OrganisationInput(
                name="南川区青年志愿者协会",
                uscc=uscc + uscc_check_char(uscc),
                responsible_person="王负责",
                contact_name="李经办",
                contact_phone="023-71424160",
            ),
            None,
        )
        admin = create_user(
            session, email="bench@example.cn", password="bench-password-0123", role="org_admin",
            organisation=org, display_name="刘经办",  # certificates print the handler's name
        )  # fmt: skip
        people = []
        start = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0)
        for n in range(volunteers):
            volunteer, _created = register_volunteer(
                session, org, VolunteerInput(name=f"志愿者{n}", id_type="resident_id",
                                             id_number=resident_id(n)), None,
            )  # fmt: skip
            record_ids = []
            for r in range(RECORDS_PER_VOLUNTEER):
                began = start - timedelta(days=5 + r)
                record = create_record(
                    session, org, volunteer,
                    RecordInput(activity="社区敬老服务", place="南川区东城街道", content="陪伴老人",
                                started_at=began, ended_at=began + timedelta(hours=3), minutes=180),
                    admin,
                )  # fmt: skip
                record_ids.append(record.id)
            people.append((volunteer.id, record_ids))
        session.commit()
        return org.id, admin.id, people


def bench_baselines(repeat: int, number: int) -> tuple[float, float]:
    """Time bare Ed25519 signing and verifying of a token-sized message."""
    key = Ed25519PrivateKey.generate()
    public_key = key.public_key()
    message = os.urandom(420)  # about a certificate token's signing input
    signature = key.sign(message)
    sign = median_time(lambda: key.sign(message), repeat=repeat, number=number)
    verify = median_time(
        lambda: public_key.verify(signature, message), repeat=repeat, number=number
    )
    return sign, verify


def bench_issue(
    app: Any, org_id: int, admin_id: int, people: list, count: int
) -> tuple[float, list[str]]:
    """Issue certificates, each in its own transaction; return the median time and the tokens."""
    from verifier.auth.models import User
    from verifier.certificates.services import IssueRequest, issue_certificate
    from verifier.orgs.models import Organisation

    tokens: list[str] = []
    samples: list[float] = []
    with app.app_context():
        session = get_session()
        for n in range(count):
            volunteer_id, record_ids = people[n % len(people)]
            start = time.perf_counter()
            cert = issue_certificate(
                session,
                session.get(Organisation, org_id),
                IssueRequest(volunteer_id=volunteer_id, record_ids=record_ids),
                session.get(User, admin_id),
            )
            session.commit()
            samples.append(time.perf_counter() - start)
            tokens.append(cert.token)
    # the first issuance also makes the signing key: leave it out of the median
    return statistics.median(samples[1:] or samples), tokens


def bench_verify_one(app: Any, token: str, repeat: int, number: int) -> float:
    from verifier.verification.services import verify_token

    with app.app_context():
        session = get_session()

        def verify() -> None:
            verdict = verify_token(session, token)
            assert verdict.status == "valid", verdict.status

        seconds = median_time(verify, repeat=repeat, number=number)
        session.rollback()
    return seconds


def bench_batch(app: Any, tokens: list[str], repeat: int) -> tuple[float, str]:
    """Time a batch the way the batch API does; fall back to looping verify_token without it."""
    if "api.verify_api" in app.view_functions:
        client = app.test_client()
        body = {"items": [{"token": token} for token in tokens]}

        calls = iter(range(1, 2**24))

        def batch() -> None:
            # Each call from another address, so the API's per-address rate limit (which the
            # bench must not switch off: the limiter is shared by every app in the process)
            # never answers 429 however many repetitions are asked for.
            n = next(calls)
            address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
            response = client.post(
                "/api/v1/verifications", json=body, environ_base={"REMOTE_ADDR": address}
            )
            assert response.status_code == 200, response.status_code
            results = response.get_json()["results"]
            assert all(r["status"] == "valid" for r in results)

        return median_time(batch, repeat=repeat), "POST /api/v1/verifications (items)"
    from verifier.verification.services import verify_token

    with app.app_context():
        session = get_session()

        def loop() -> None:
            for token in tokens:
                verify_token(session, token)

        seconds = median_time(loop, repeat=repeat)
        session.rollback()
    return seconds, "verify_token in a loop"


def bench_qr(tokens: list[str], repeat: int, number: int) -> float:
    from verifier.certificates.qr import render_qr_png

    url = f"{BASE_URL}/v/{tokens[0]}"
    return median_time(lambda: render_qr_png(url), repeat=repeat, number=number)


def run(
    batch: int, repeat: int, volunteers: int, baseline_ops: int
) -> tuple[list[Row], dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="verifier-bench-") as scratch:
        app = create_app(
            {
                "ENV": "development",
                "DATABASE_URL": f"sqlite:///{scratch}/bench.db",
                "SECRET_KEY": "bench-secret-key-0123456789",
                "DATA_KEY": base64.b64encode(os.urandom(32)).decode(),
                "BASE_URL": BASE_URL,
            }
        )
        try:
            upgrade_database(app)
            org_id, admin_id, people = build_world(app, volunteers)
            sign, verify = bench_baselines(repeat, baseline_ops)
            issue, tokens = bench_issue(app, org_id, admin_id, people, max(batch, 2))
            tokens = tokens[:batch]
            one = bench_verify_one(app, tokens[0], repeat, number=max(1, min(50, batch)))
            batch_seconds, batch_path = bench_batch(app, tokens, repeat)
            qr = bench_qr(tokens, repeat, number=5)
        finally:
            app.extensions["verifier.db"].engine.dispose()
    rows = [
        Row("Ed25519 sign (cryptography, baseline)", sign, "sign"),
        Row("Ed25519 verify (cryptography, baseline)", verify, "verify"),
        Row("issue one certificate (issue_certificate + commit)", issue, "sign"),
        Row("verify one token (verify_token)", one, "verify"),
        Row(f"verify a batch of {len(tokens)} tokens", batch_seconds, "verify",
            per_item=batch_seconds / len(tokens), note=batch_path),
        Row("render the QR code PNG (render_qr_png)", qr, "sign"),
    ]  # fmt: skip
    return rows, {"sign": sign, "verify": verify}


def _time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def render_markdown(rows: list[Row], baselines: dict[str, float], settings: dict[str, int]) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    cpu = platform.processor() or platform.machine()
    lines = [
        "# Benchmarks",
        "",
        "Issuing and verifying certificates, as ratios to bare Ed25519 signing and verifying",
        "measured in the same run (written by `bench/run.py`; do not edit by hand).",
        "",
        f"- Date: {now}",
        f"- Machine: {platform.platform()}, {cpu}, {os.cpu_count()} logical CPUs",
        f"- Python {platform.python_version()} ({platform.python_implementation()}); "
        "SQLite scratch database in a temporary directory",
        f"- Settings: batch of {settings['batch']}, {settings['repeat']} repetitions (median), "
        f"{settings['baseline_ops']} operations per baseline repetition",
        "",
        "| operation | median time | × baseline | baseline |",
        "| --- | ---: | ---: | --- |",
    ]
    for row in rows:
        base = baselines[row.baseline]
        if row.per_item is not None:
            time_text = f"{_time(row.seconds)} ({_time(row.per_item)} per token)"
            ratio = row.per_item / base
            base_text = f"{row.baseline}, per token"
        else:
            time_text = _time(row.seconds)
            ratio = row.seconds / base
            base_text = row.baseline
        lines.append(f"| {row.name} | {time_text} | {ratio:,.1f} | {base_text} |")
    notes = [f"{row.name}: {row.note}" for row in rows if row.note]
    lines += [
        "",
        "Ratios divide one operation's median time by the median time of the bare Ed25519",
        "operation it contains (issuing and the QR code by signing, verifying by verifying).",
        "Issuing includes the database work (records, number and status-index allocation, the",
        "ledger entry) and the commit; verifying includes every check the public page runs.",
        *(f"The batch is measured through {note.split(': ', 1)[1]}." for note in notes),
        "",
        "## How to run",
        "",
        "```",
        "make bench",
        "# or, with other sizes:",
        ".venv/bin/python bench/run.py --batch 1000 --repeat 5 --output BENCHMARKS.md",
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--batch", type=int, default=1000, help="tokens in the batch (and certificates issued)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="repetitions; the median is reported")
    parser.add_argument(
        "--volunteers", type=int, default=50, help="volunteers the certificates are spread over"
    )
    parser.add_argument(
        "--baseline-ops", type=int, default=2000, help="operations per baseline repetition"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    if args.batch < 1 or args.repeat < 1 or args.volunteers < 1 or args.baseline_ops < 1:
        parser.error("sizes must be positive")
    started = time.perf_counter()
    rows, baselines = run(args.batch, args.repeat, args.volunteers, args.baseline_ops)
    settings = {"batch": args.batch, "repeat": args.repeat, "baseline_ops": args.baseline_ops}
    text = render_markdown(rows, baselines, settings)
    text += runpy.run_path(str(ROOT / "bench" / "spotchecks.py"))["markdown_section"]()
    args.output.write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {args.output} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

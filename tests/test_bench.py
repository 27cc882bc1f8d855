"""A smoke run of bench/run.py with tiny sizes: it runs end to end and writes its table."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


def load_bench(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_run", BENCH)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_bench_writes_a_table_of_ratios(tmp_path, capsys, monkeypatch):
    output = tmp_path / "BENCHMARKS.md"
    monkeypatch.setenv("VERIFIER_BENCH_SPOTCHECK_RECORDS", "2000")  # the spot-check section, tiny
    monkeypatch.setenv("VERIFIER_BENCH_SPOTCHECK_REPEAT", "1")
    args = ["--batch", "3", "--repeat", "1", "--volunteers", "2", "--baseline-ops", "10"]
    assert load_bench(monkeypatch).main([*args, "--output", str(output)]) == 0
    text = output.read_text(encoding="utf-8")
    assert "| operation | median time | × baseline | baseline |" in text
    text, spotchecks = text.split("## Spot checks: the draw and the risk signals")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    names = " ".join(rows)
    for operation in (
        "Ed25519 sign",
        "Ed25519 verify",
        "issue one",
        "verify one",
        "batch of 3",
        "QR",
    ):
        assert operation in names
    assert len(rows) == 7  # the header and six operations
    assert "make bench" in text and "logical CPUs" in text
    spot_rows = [line for line in spotchecks.splitlines() if line.startswith("| ")]
    for operation in (
        "2,000 bare SHA-256 hashes (baseline)",
        "uniform draw of 1,000 from 2,000",
        "hour-weighted draw of 1,000 from 2,000",
        "population hash",
        "SELECT count(*), sum(minutes) (baseline)",
        "record_signals over every record",
        "organisation_signals",
    ):
        assert any(line.startswith(f"| {operation}") for line in spot_rows), operation
    assert len(spot_rows) == 9  # header, separator, seven operations
    flagged = re.search(r"The signals flagged ([\d,]+) records", spotchecks)
    assert flagged and int(flagged.group(1).replace(",", "")) > 0  # the planted anomalies

"""A smoke run of bench/run.py with tiny sizes: it runs end to end and writes its table."""

from __future__ import annotations

import importlib.util
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
    args = ["--batch", "3", "--repeat", "1", "--volunteers", "2", "--baseline-ops", "10"]
    assert load_bench(monkeypatch).main([*args, "--output", str(output)]) == 0
    text = output.read_text(encoding="utf-8")
    assert "| operation | median time | × baseline | baseline |" in text
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

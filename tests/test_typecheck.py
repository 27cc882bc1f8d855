"""mypy finds no type error in verifier/ (set up in pyproject.toml): `make test` fails on one.

mypy runs in a child process, not in-process through `mypy.api.run`: in-process it leaves about
400 MB behind in the test process and, once the suite ends, the interpreter spends 10 s or more
tearing its objects down; the command line exits at once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_finds_no_type_error() -> None:
    found = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "pyproject.toml", "verifier"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, found.stdout + found.stderr

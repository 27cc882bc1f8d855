"""Any command with the database down or not migrated: one line and exit status 3, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

VERIFIER = Path(sys.executable).parent / "verifier"


def run(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VERIFIER_DATABASE_URL": database_url, "VERIFIER_ENV": "development"}
    env.pop("VERIFIER_TEST_DB", None)
    return subprocess.run(  # noqa: S603 (our own command)
        [str(VERIFIER), *args], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.mark.parametrize(
    "command", [("audit", "verify"), ("keys", "list"), ("spotcheck", "run-due")]
)
def test_a_database_that_cannot_be_reached_is_one_line_and_status_3(command):
    # nothing listens on port 1: the connection is refused at once
    result = run(*command, database_url="postgresql+psycopg://verifier@127.0.0.1:1/verifier")
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: the database cannot be used:")
    assert "Connection refused" in lines[0] or "connection" in lines[0].lower()
    assert "Traceback" not in result.stderr + result.stdout


def test_status_3_is_not_the_audit_log_s_broken_status(tmp_path):
    """`audit verify` says 1 only when the chain is broken; an unusable database is 3."""
    result = run("audit", "verify", database_url=f"sqlite:///{tmp_path}/empty.db")
    assert result.returncode == 3
    assert "run `verifier db upgrade`" in result.stderr
    assert "Traceback" not in result.stderr

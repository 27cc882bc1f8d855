"""`verifier import records FILE --org USCC [--dry-run] [--all-or-nothing]`: exit codes, summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.import_files import counts, csv_bytes, row, xlsx_bytes


@pytest.fixture
def org(make: Any) -> Any:
    return make.org()


@pytest.fixture
def cli(app: Any) -> Any:
    # no request here, so messages follow the default locale; read them in English
    app.config["DEFAULT_LOCALE"] = "en"
    runner = app.test_cli_runner()

    def invoke(*args: str) -> Any:
        return runner.invoke(args=["import", "records", *args])

    return invoke


def write(tmp_path: Path, data: bytes, name: str = "records.csv") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_import_prints_a_summary_and_exits_0(cli, app, org, tmp_path):
    path = write(tmp_path, csv_bytes([row(701), row(702)], encoding="gb18030"))
    result = cli(path, "--org", org.uscc)
    assert result.exit_code == 0, result.output
    assert "gb18030" in result.stdout
    assert "rows: 2  imported: 2  skipped (already recorded): 0  rejected: 0" in result.stdout
    assert "Imported 2 rows" in result.stdout
    again = cli(path, "--org", org.uscc)
    assert again.exit_code == 0
    assert "imported: 0  skipped (already recorded): 2" in again.stdout


def test_rejected_rows_are_listed_and_exit_1(cli, app, org, tmp_path):
    path = write(tmp_path, csv_bytes([row(703), row(704, started_at="2999-01-01 09:00")]))
    result = cli(path, "--org", org.uscc)
    assert result.exit_code == 1
    assert "line 3, 开始时间 [not_future]" in result.stdout
    assert "1 rows were rejected and not imported; the other 1 were imported" in result.stdout


def test_dry_run_writes_nothing(cli, app, org, tmp_path):
    path = write(tmp_path, csv_bytes([row(705), row(706)]))
    before = counts(app)
    result = cli(path, "--org", org.uscc, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would import: 2" in result.stdout and "Dry run: nothing was written." in result.stdout
    assert counts(app) == before


def test_all_or_nothing_with_a_bad_row(cli, app, org, tmp_path):
    path = write(tmp_path, csv_bytes([row(707), row(708, minutes="-1")]))
    before = counts(app)
    result = cli(path, "--org", org.uscc, "--all-or-nothing")
    assert result.exit_code == 1
    assert "Nothing was written" in result.stdout
    assert counts(app) == before


def test_xlsx(cli, org, tmp_path):
    path = write(tmp_path, xlsx_bytes([list(row(709).values())]), "records.xlsx")
    result = cli(path, "--org", org.uscc)
    assert result.exit_code == 0, result.output
    assert "XLSX" in result.stdout


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG"),
        ("名字,号码\r\n".encode(), "missing"),
        ("name,id_type\r\nRené".encode("cp1252"), "neither UTF-8 nor GB18030"),
    ],
    ids=["binary", "headers", "encoding"],
)
def test_bad_files_exit_2_with_a_message(cli, app, org, tmp_path, data, needle):
    before = counts(app)
    result = cli(write(tmp_path, data), "--org", org.uscc)
    assert result.exit_code == 2
    assert needle in result.stderr and "nothing was imported" in result.stderr
    assert "Traceback" not in result.output
    assert counts(app) == before


def test_missing_file_exits_2(cli, org, tmp_path):
    result = cli(str(tmp_path / "nope.csv"), "--org", org.uscc)
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_directory_exits_2(cli, org, tmp_path):
    result = cli(str(tmp_path), "--org", org.uscc)
    assert result.exit_code == 2
    assert "not a file" in result.stderr


def test_too_big_exits_2(cli, app, org, tmp_path):
    app.config["IMPORT_MAX_BYTES"] = 1000
    path = write(tmp_path, csv_bytes([row(710 + i % 10) for i in range(30)]))
    result = cli(path, "--org", org.uscc)
    assert result.exit_code == 2
    assert "larger than the import limit" in result.stderr


def test_unknown_organisation_exits_2(cli, tmp_path):
    from support import make_uscc

    result = cli(write(tmp_path, csv_bytes([row(720)])), "--org", make_uscc(99999))
    assert result.exit_code == 2
    assert "no organisation" in result.stderr


def test_org_is_required(cli, tmp_path):
    result = cli(write(tmp_path, csv_bytes([row(721)])))
    assert result.exit_code == 2
    assert "--org" in result.output


def test_audit_entry_names_the_command_line(cli, app, org, tmp_path):
    import json

    from sqlalchemy import select

    from verifier.audit.models import AuditEntry
    from verifier.db import get_session

    result = cli(write(tmp_path, csv_bytes([row(722)])), "--org", org.uscc)
    assert result.exit_code == 0, result.output
    with app.app_context():
        entry = (
            get_session()
            .scalars(select(AuditEntry).where(AuditEntry.action == "records.import"))
            .one()
        )
        assert entry.actor.startswith("cli")
        assert json.loads(entry.details)["declaration"] == "implied"

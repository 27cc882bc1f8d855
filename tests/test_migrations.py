"""Migrations that can be trusted: landed revisions never change, they form one numbered line,
`make migration` writes the next one, and a database holding data at the first revision upgrades
to head (and back, and up again) with its data whole.

Beside these: tests/test_schema.py (the models agree with the migrations),
tests/spotchecks/test_upgrade.py (campaigns drawn before commitments keep working) and
tests/supervision/test_hold_migration.py (revision 0003 holds what open cases hold).
"""

from __future__ import annotations

import hashlib
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from apscheduler.schedulers.background import BackgroundScheduler
from support import make_uscc, test_config

import verifier.models  # noqa: F401  (fills Base.metadata)
from verifier import create_app
from verifier.config import resource_path
from verifier.db import (
    Base,
    MigrationError,
    alembic_config,
    get_session,
    upgrade_database,
    write_revision,
)
from verifier.spotchecks.scheduler import scheduler_options

MIGRATIONS = resource_path("migrations")
LANDED = MIGRATIONS / "landed.txt"
REVISION_FILE = re.compile(r"(\d{4})_[a-z0-9_]+\.py")


def _landed() -> dict[str, str]:
    """The landed list: revision file (relative to migrations/) -> its SHA-256."""
    entries = {}
    for line in LANDED.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        digest, name = line.split(maxsplit=1)
        entries[name] = digest
    return entries


def _revision_files() -> list[Path]:
    return sorted((MIGRATIONS / "versions").glob("*.py"))


# --- the landed rule --------------------------------------------------------------------------


def test_landed_revisions_are_never_edited_or_removed():
    landed = _landed()
    assert "versions/0001_initial_schema.py" in landed and len(landed) >= 6
    for name, digest in landed.items():
        path = MIGRATIONS / name
        assert path.is_file(), f"{name} landed and was removed: restore it"
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        assert actual == digest, (
            f"{name} landed and was edited since: restore it and change the schema in a new "
            'revision (make migration MESSAGE="...")'
        )


def test_no_revision_is_slipped_in_before_a_landed_one():
    landed_numbers = [int(Path(name).name[:4]) for name in _landed()]
    for path in _revision_files():
        if int(path.name[:4]) <= max(landed_numbers):
            assert f"versions/{path.name}" in _landed(), (
                f"{path.name} is numbered among the landed revisions but is not one of them"
            )


def test_revisions_form_one_numbered_line():
    files = _revision_files()
    script = ScriptDirectory(str(MIGRATIONS))
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"
    previous = None
    for number, path in enumerate(files, start=1):
        assert REVISION_FILE.fullmatch(path.name), f"{path.name}: name it NNNN_<slug>.py"
        revision = script.get_revision(path.name[:4])
        assert revision is not None and Path(revision.path).name == path.name
        assert revision.revision == f"{number:04d}", f"{path.name}: revision id != its number"
        assert revision.down_revision == previous, f"{path.name}: not after {previous}"
        previous = revision.revision


# --- make migration ------------------------------------------------------------------------------


def test_make_migration_writes_the_next_numbered_revision_from_the_models(tmp_path):
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    count = len(_revision_files())
    first, second = f"{count + 1:04d}", f"{count + 2:04d}"

    path, empty = write_revision("nothing new yet", location)
    assert empty and path == location / "versions" / f"{first}_nothing_new_yet.py"
    text = path.read_text()
    assert f"revision = '{first}'" in text and f"down_revision = '{count:04d}'" in text

    probe = sa.Table(
        "migration_probe", Base.metadata, sa.Column("id", sa.Integer, primary_key=True)
    )
    try:
        path, empty = write_revision("Add the probe table!", location)
    finally:
        Base.metadata.remove(probe)
    assert not empty and path.name == f"{second}_add_the_probe_table.py"
    text = path.read_text()
    assert f"revision = '{second}'" in text and f"down_revision = '{first}'" in text
    assert "op.create_table('migration_probe'" in text
    assert "op.drop_table('migration_probe')" in text


def test_a_revision_needs_a_message_that_can_name_its_file(app):
    before = _revision_files()
    result = app.test_cli_runner().invoke(args=["db", "revision", "--message", "增加一列"])
    assert result.exit_code == 1
    assert "write a few words in English" in result.output
    assert _revision_files() == before
    with pytest.raises(MigrationError):
        write_revision("  ")


def test_migrations_env_leaves_the_scheduler_table_alone(tmp_path):
    app = create_app(test_config(f"sqlite:///{tmp_path}/check.db"))
    engine = app.extensions["verifier.db"].engine
    try:
        upgrade_database(app)
        # the job store makes its table as `verifier scheduler` does when it starts
        scheduler_options(app)["jobstores"]["default"].start(BackgroundScheduler(), "default")
        assert "apscheduler_jobs" in sa.inspect(engine).get_table_names()
        # autogenerate through migrations/env.py: raises when it would write anything
        command.check(alembic_config(app))
    finally:
        engine.dispose()


# --- a database holding data at the first revision, upgraded --------------------------------------


def _rows(moment: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """One organisation's data as it was stored at revision 0001, table by table."""
    t0 = moment(datetime(2026, 3, 1, 1, 0, tzinfo=UTC))

    def at(minutes: int) -> Any:
        return moment(datetime(2026, 3, 1, 1, 0, tzinfo=UTC) + timedelta(minutes=minutes))

    user = {
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "active": True,
        "failed_logins": 0, "session_epoch": 0, "locked_until": None, "last_login_at": None,
        "created_at": t0,
    }  # fmt: skip
    record = {
        "organisation_id": 1, "status": "active", "place": "社区服务中心", "content": "陪伴老人",
        "leader": "赵队长", "evaluation": "", "unpaid": True, "not_job_duty": True,
        "source": "manual", "entered_late": False, "import_batch_id": None, "recorded_by_id": 2,
        "recorded_at": t0, "updated_at": t0, "voided_at": None, "voided_by_id": None,
        "void_reason": "",
    }  # fmt: skip
    revision = {
        "place": "社区服务中心",
        "content": "陪伴老人",
        "leader": "赵队长",
        "evaluation": "",
    }
    certificate = {
        "organisation_id": 1, "period_from": date(2026, 2, 1), "period_to": date(2026, 2, 28),
        "activities": "敬老", "id_type": "resident_id", "id_masked": "5001**********1234",
        "issuer_name": "迁移测试协会", "issuer_uscc": make_uscc(801), "responsible_person": "王",
        "handler": "李", "contact": "023-71424160", "issued_at": at(90), "issued_by_id": 2,
        "kid": "kid-0001", "token": "header.payload.signature", "status_changed_at": None,
        "superseded_by_id": None, "qr_png": None,
    }  # fmt: skip
    return [
        ("organisations", [{
            "id": 1, "name": "迁移测试协会", "uscc": make_uscc(801), "org_type": "charity",
            "region_code": "500119", "status": "active", "responsible_person": "王",
            "contact_name": "李", "contact_phone": "023-71424160", "address": "南川区",
            "created_at": t0,
        }]),
        ("users", [
            {**user, "id": 1, "email": "admin@example.cn", "display_name": "平台",
             "role": "platform_admin", "organisation_id": None},
            {**user, "id": 2, "email": "org@example.cn", "display_name": "机构",
             "role": "org_admin", "organisation_id": 1, "session_epoch": 3},
            {**user, "id": 3, "email": "inspector@example.cn", "display_name": "核查员",
             "role": "regulator_inspector", "organisation_id": None, "failed_logins": 2},
        ]),
        ("signing_keys", [{
            "id": 1, "kid": "kid-0001", "public_key": b"\x01" * 32,
            "private_key_enc": b"\x02" * 60, "status": "active", "created_at": t0,
            "retired_at": None, "compromised_at": None, "compromise_reason": "",
        }]),
        ("volunteers", [
            {"id": n, "volunteer_number": f"V0000000{n}", "name": name, "gender": gender,
             "birth_date": date(1990, 1, n), "id_type": "resident_id",
             "id_number_enc": bytes([n]) * 40, "id_lookup": f"{n:064x}",
             "id_masked": "5001**********1234", "phone_enc": None, "phone_masked": "",
             "guardian_name": "", "guardian_consent_at": None, "guardian_consent_by_id": None,
             "record_lock": 0, "created_at": t0}
            for n, name, gender in ((1, "张三", "male"), (2, "李四", "female"))
        ]),
        ("memberships", [
            {"organisation_id": 1, "volunteer_id": n, "joined_at": t0, "added_by_id": 2}
            for n in (1, 2)
        ]),
        ("service_records", [
            {**record, "id": 1, "volunteer_id": 1, "revision": 2, "activity": "敬老（更正）",
             "started_at": at(0), "ended_at": at(120), "service_date": date(2026, 3, 1),
             "minutes": 120, "dedupe_key": "a" * 64},
            {**record, "id": 2, "volunteer_id": 1, "revision": 1, "activity": "环保",
             "started_at": at(180), "ended_at": at(240), "service_date": date(2026, 3, 1),
             "minutes": 60, "dedupe_key": "b" * 64},
            {**record, "id": 3, "volunteer_id": 2, "revision": 1, "activity": "助学",
             "started_at": at(0), "ended_at": at(90), "service_date": date(2026, 3, 1),
             "minutes": 90, "dedupe_key": "c" * 64},
        ]),
        ("record_revisions", [
            {**revision, "id": 1, "record_id": 1, "revision": 1, "kind": "created",
             "activity": "敬老", "started_at": at(0), "ended_at": at(100), "minutes": 100,
             "reason": "", "created_by_id": 2, "created_at": t0},
            {**revision, "id": 2, "record_id": 1, "revision": 2, "kind": "corrected",
             "activity": "敬老（更正）", "started_at": at(0), "ended_at": at(120),
             "minutes": 120, "reason": "签到表更正", "created_by_id": 2, "created_at": at(30)},
            {**revision, "id": 3, "record_id": 2, "revision": 1, "kind": "created",
             "activity": "环保", "started_at": at(180), "ended_at": at(240), "minutes": 60,
             "reason": "", "created_by_id": 2, "created_at": t0},
            {**revision, "id": 4, "record_id": 3, "revision": 1, "kind": "created",
             "activity": "助学", "started_at": at(0), "ended_at": at(90), "minutes": 90,
             "reason": "", "created_by_id": 2, "created_at": t0},
        ]),
        ("certificates", [
            {**certificate, "id": 1, "number": "20260300000000011", "volunteer_id": 1,
             "status": "suspended", "total_minutes": 180, "record_count": 2,
             "volunteer_name": "张三", "volunteer_name_masked": "张*",
             "volunteer_number": "V00000001", "content_sha256": "d" * 64,
             "records_digest": "e" * 64, "status_index": 0, "status_reason": "核查中"},
            {**certificate, "id": 2, "number": "20260300000000022", "volunteer_id": 2,
             "status": "valid", "total_minutes": 90, "record_count": 1,
             "volunteer_name": "李四", "volunteer_name_masked": "李*",
             "volunteer_number": "V00000002", "content_sha256": "f" * 64,
             "records_digest": "0" * 64, "status_index": 1, "status_reason": ""},
        ]),
        ("certificate_records", [
            {"certificate_id": 1, "record_id": 1, "revision": 2},
            {"certificate_id": 1, "record_id": 2, "revision": 1},
            {"certificate_id": 2, "record_id": 3, "revision": 1},
        ]),
        ("verification_events", [
            {"id": 1, "certificate_id": 2, "at": at(100), "channel": "typed", "status": "valid"},
        ]),
        ("audit_entries", [
            {"id": 1, "created_at": t0, "actor_user_id": 1, "actor": "admin@example.cn",
             "action": "org.create", "object_type": "organisation", "object_id": "1",
             "organisation_id": 1, "details": '{"name": "迁移测试协会"}', "prev_hash": "0" * 64,
             "entry_hash": "1" * 64},
            {"id": 2, "created_at": at(90), "actor_user_id": 2, "actor": "org@example.cn",
             "action": "certificate.issue", "object_type": "certificate",
             "object_id": "20260300000000011", "organisation_id": 1, "details": "{}",
             "prev_hash": "1" * 64, "entry_hash": "2" * 64},
        ]),
        ("spotcheck_campaigns", [{
            "id": 1, "plan_id": None, "name": "2026年第一批", "status": "drawn",
            "origin": "manual", "parameters": '{"unit": "records"}', "population_size": 3,
            "population_hash": "3" * 64, "frozen_at": at(100), "seed": "4" * 64,
            "seed_source": "ceremony", "seeded_at": at(105), "drawn_at": at(105),
            "inspector_draw": "{}", "shortfall": "[]", "published_at": None,
            "created_by_id": 1, "created_at": at(100),
        }]),
        ("spotcheck_items", [{
            "id": 1, "campaign_id": 1, "kind": "record", "item_id": "record:1",
            "organisation_id": 1, "record_id": 1, "stratum": "", "stage": 1, "rank": 1,
            "key": 0.25, "forced": False,
        }]),
        ("spotcheck_assignments", [
            {"id": 1, "item_id": 1, "inspector_id": 3, "assigned_at": at(106)},
        ]),
        ("spotcheck_findings", [{
            "id": 1, "item_id": 1, "inspector_id": 3, "result": "discrepancy",
            "discrepancy_type": "hours_inflated", "notes": "签到表只有100分钟",
            "created_at": at(200),
        }]),
        ("finding_records", [{"finding_id": 1, "record_id": 1}]),
        ("supervision_cases", [{
            "id": 1, "organisation_id": 1, "finding_id": 1, "campaign_id": 1, "status": "open",
            "deadline": at(60 * 24 * 30), "opened_at": at(200), "response": "",
            "corrected_record_ids": "", "responded_at": None, "responded_by_id": None,
            "outcome": None, "sanction": None, "falsification_confirmed": False,
            "decision": "", "closed_at": None, "closed_by_id": None, "escalated_at": None,
        }]),
        ("case_certificates", [{"case_id": 1, "certificate_id": 1}]),
        ("case_events", [
            {"id": 1, "case_id": 1, "kind": "opened", "actor_id": 3, "note": "",
             "details": "{}", "at": at(200)},
        ]),
    ]  # fmt: skip


def _insert(conn: sa.Connection) -> None:
    """Write the data with plain SQL, as the application at revision 0001 stored it."""
    if conn.dialect.name == "sqlite":

        def moment(value: datetime) -> Any:
            return value.replace(tzinfo=None)  # SQLite holds naive UTC
    else:

        def moment(value: datetime) -> Any:
            return value

    for table, rows in _rows(moment):
        columns = list(rows[0])
        statement = sa.text(
            f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 (names from this file)
            f"VALUES ({', '.join(':' + c for c in columns)})"
        )
        conn.execute(statement, rows)


def _columns(engine: sa.Engine, tables: list[str]) -> dict[str, list[str]]:
    inspector = sa.inspect(engine)
    return {name: [column["name"] for column in inspector.get_columns(name)] for name in tables}


def _snapshot(engine: sa.Engine, columns: dict[str, list[str]]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables, in the columns given (those they had at revision 0001)."""
    metadata = sa.MetaData()
    snapshot = {}
    with engine.connect() as conn:
        for name, names in columns.items():
            table = sa.Table(name, metadata, autoload_with=conn)
            chosen = [table.c[column] for column in names]
            rows = conn.execute(sa.select(*chosen).order_by(*chosen[:2])).all()
            snapshot[name] = [tuple(row) for row in rows]
    return snapshot


def _table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request, tmp_path):
    """An empty database: a SQLite file, or a schema of its own in the PostgreSQL test database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/upgrade.db"
        return
    base = sa.make_url(request.getfixturevalue("postgres_url"))
    schema = "upgrade_from_0001"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    engine.dispose()


def _check_upgraded(app, engine, columns, before) -> None:
    """The 0001 data is whole at head, and what 0002-0006 added holds its defaults."""
    assert _snapshot(engine, columns) == before
    with engine.connect() as conn:
        run = conn.execute
        assert run(sa.text("SELECT merged_into_id, merged_at FROM volunteers")).all() == [
            (None, None),
            (None, None),
        ]
        # 0003: the suspended certificate that an open case holds is held; the other is not
        holds = run(sa.text("SELECT id, regulator_hold FROM certificates ORDER BY id")).all()
        assert holds == [(1, True), (2, False)]
        commitment = "commitment, server_secret_enc, server_secret, ceremony_input"
        assert run(sa.text(f"SELECT {commitment} FROM spotcheck_campaigns")).all() == [
            (None, None, None, None)
        ]  # 0004: campaigns drawn before commitments have none
        # 0005: the revisions written before attestation are the legacy ones
        epoch = run(sa.text("SELECT id, legacy_upto, legacy_count FROM record_attestation_epoch"))
        assert epoch.all() == [(1, 4, 4)]
        for table in ("record_reassignments", "sign_in_failures", "audit_checkpoints", "jobs"):
            assert run(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one() == 0  # noqa: S608
        # 0011: the keys from before are the platform's root keys, with no endorsement
        keys = run(sa.text("SELECT organisation_id, endorsement FROM signing_keys")).all()
        assert keys and all(key == (None, "") for key in keys)
        # 0012-0014: certificates from before have no SD-JWT, holder's mask or custodian
        extra = "sd_jwt, holder_id_masked, custodian_kind, custodian_uscc, custodian_name"
        assert run(sa.text(f"SELECT {extra} FROM certificates")).all() == [  # noqa: S608
            (None, "", None, None, ""),
            (None, "", None, None, ""),
        ]
    with app.app_context():
        session = get_session()
        for mapper in Base.registry.mappers:  # every model reads the upgraded rows
            session.execute(sa.select(mapper.class_)).scalars().all()
        from verifier.auth.models import User
        from verifier.certificates.models import Certificate

        held = session.get(Certificate, 1)
        assert (held.status, held.regulator_hold, held.issued_at.tzinfo) == ("suspended", True, UTC)
        assert session.get(User, 2).session_epoch == 3
        session.rollback()


def test_a_database_with_data_at_the_first_revision_upgrades_downgrades_and_upgrades(
    empty_database_url,
):
    app = create_app(test_config(empty_database_url))
    engine = app.extensions["verifier.db"].engine
    try:
        upgrade_database(app, "0001")
        columns = _columns(engine, sorted(_table_names(engine)))
        with engine.begin() as conn:
            _insert(conn)
        before = _snapshot(engine, columns)
        assert all(before[table] for table, _ in _rows(lambda moment: moment))

        upgrade_database(app)
        _check_upgraded(app, engine, columns, before)

        command.downgrade(alembic_config(app), "0001")
        assert _table_names(engine) == set(columns)
        assert _snapshot(engine, columns) == before

        upgrade_database(app)
        _check_upgraded(app, engine, columns, before)
    finally:
        engine.dispose()


def test_a_database_upgraded_with_the_in_place_edits_of_0003_and_0005_reaches_head(
    empty_database_url,
):
    """0003 and 0005 were once edited in place (a sign-in success column, the attestation epoch)
    and restored to what had landed; 0007 adds both. A database that ran the edited copies has
    both already at 0006: 0007 keeps them, its epoch row included, instead of failing."""
    app = create_app(test_config(empty_database_url))
    engine = app.extensions["verifier.db"].engine
    try:
        upgrade_database(app, "0006")
        assert "record_attestation_epoch" not in _table_names(engine)
        with engine.begin() as conn:  # what the edited 0003 and 0005 had made
            conn.exec_driver_sql("ALTER TABLE sign_in_failures ADD COLUMN succeeded_at TIMESTAMP")
            conn.exec_driver_sql(
                "CREATE TABLE record_attestation_epoch (id INTEGER PRIMARY KEY, "
                "legacy_upto INTEGER NOT NULL, legacy_count INTEGER NOT NULL, "
                "created_at TIMESTAMP NOT NULL)"
            )
            conn.exec_driver_sql(
                "INSERT INTO record_attestation_epoch VALUES (1, 7, 5, CURRENT_TIMESTAMP)"
            )
        upgrade_database(app)
        with engine.connect() as conn:
            epoch = conn.exec_driver_sql(
                "SELECT id, legacy_upto, legacy_count FROM record_attestation_epoch"
            ).all()
        assert [tuple(row) for row in epoch] == [(1, 7, 5)]
        columns = {c["name"] for c in sa.inspect(engine).get_columns("sign_in_failures")}
        assert "succeeded_at" in columns

        # and a database that ran the landed copies gets both from 0007
        command.downgrade(alembic_config(app), "0006")
        assert "record_attestation_epoch" not in _table_names(engine)
        upgrade_database(app)
        assert "record_attestation_epoch" in _table_names(engine)
    finally:
        engine.dispose()

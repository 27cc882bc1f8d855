"""Shared fixtures: a migrated database, an app per test in a rolled-back transaction, factories."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from verifier import create_app
from verifier.db import get_session, sqlite_begin, upgrade_database

# every API answer a test gets is checked against the OpenAPI document (openapi_conformance.py)
pytest_plugins = ["openapi_conformance"]

PG_URL_ENV = "VERIFIER_TEST_DATABASE_URL"
TEST_DATA_KEY = base64.b64encode(b"k" * 32).decode()
PASSWORD = "correct-horse-battery"

# Valid identifiers (checksums computed by hand from the GB rules, see tests/test_identifiers.py).
USCC_A = "91350100M000100Y43"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile stale translation catalogues first: Flask-Babel caches them for the whole process."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parent.parent / "verifier" / "translations"
    for po_file in root.glob("*/LC_MESSAGES/messages.po"):
        mo_file = po_file.with_suffix(".mo")
        if mo_file.exists() and mo_file.stat().st_mtime >= po_file.stat().st_mtime:
            continue
        with po_file.open("rb") as fh:
            catalog = read_po(fh, locale=po_file.parent.parent.name)
        tmp = mo_file.with_suffix(".mo.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        tmp.replace(mo_file)


def _main_database_url(tmp_dir: str) -> str:
    if os.environ.get("VERIFIER_TEST_DB") == "postgresql":
        url = os.environ.get(PG_URL_ENV)
        if not url:
            raise RuntimeError(f"VERIFIER_TEST_DB=postgresql needs {PG_URL_ENV}")
        return url
    return f"sqlite:///{tmp_dir}/test.db"


def test_config(url: str, **extra: Any) -> dict[str, Any]:
    config = {
        "ENV": "testing",
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret-key-0123456789",
        "DATA_KEY": TEST_DATA_KEY,
        "BASE_URL": "http://verifier.test",
        "TESTING_CSRF": False,
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    config.update(extra)
    return config


test_config.__test__ = False  # a helper, not a test, when imported into a test module


def reset_database(engine: Engine) -> None:
    """Empty a database completely so migrations start from nothing."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            tables = (
                conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")
                .scalars()
                .all()
            )
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for table in tables:
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}"')


def migrate(url: str) -> None:
    app = create_app(test_config(url))
    engine = app.extensions["verifier.db"].engine
    reset_database(engine)
    upgrade_database(app)
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = _main_database_url(str(tmp_path_factory.mktemp("db")))
    migrate(url)
    return url


@pytest.fixture(scope="session")
def postgres_url(database_url: str) -> str:
    """The PostgreSQL database for tests that need one; migrated; skipped when not configured."""
    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.skip(f"needs PostgreSQL: set {PG_URL_ENV}")
    if url != database_url:
        migrate(url)
    return url


def truncate_all(engine: Engine) -> None:
    """Delete every row that a committing test left behind."""
    import verifier.models  # noqa: F401
    from verifier.db import Base

    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """An app whose every session joins one outer transaction, rolled back after the test."""
    application = create_app(test_config(database_url))
    database = application.extensions["verifier.db"]
    connection = database.engine.connect()
    # SQLite: begin DEFERRED, so the write lock is taken at the test's first write, not at once
    # (a test may still read from a second connection); every session below is a SAVEPOINT
    with sqlite_begin("DEFERRED"):
        outer = connection.begin()
    database.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
    yield application
    outer.rollback()
    connection.close()
    database.engine.dispose()


@pytest.fixture
def committing_app(postgres_url: str) -> Iterator[Flask]:
    """An app on PostgreSQL whose sessions really commit; the tables are emptied afterwards."""
    application = create_app(test_config(postgres_url))
    engine = application.extensions["verifier.db"].engine
    truncate_all(engine)
    yield application
    truncate_all(engine)
    engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class Made:
    """Ids and plain values of objects a factory made (objects stay usable after commit)."""

    id: int
    obj: Any


class Factory:
    """Build data through the services, each call in its own committed (savepoint) transaction."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def run(self, fn: Any) -> Any:
        with self.app.app_context():
            session = get_session()
            result = fn(session)
            session.commit()
            return result

    def org(self, **fields: Any) -> Any:
        from verifier.orgs.services import OrganisationInput, create_organisation

        n = self._next()
        values = {
            "name": f"测试志愿服务协会{n}",
            "uscc": make_uscc(n),
            "responsible_person": "王负责",
            "contact_name": "李经办",
            "contact_phone": "023-71424160",
        }
        values.update(fields)
        return self.run(lambda s: create_organisation(s, OrganisationInput(**values), None))

    def user(self, role: str, org: Any = None, email: str | None = None) -> Any:
        from verifier.auth.services import create_user
        from verifier.orgs.models import Organisation

        email = email or f"{role}{self._next()}@example.cn"

        def make(session: Any) -> Any:
            organisation = session.get(Organisation, org.id) if org is not None else None
            return create_user(
                session, email=email, password=PASSWORD, role=role, organisation=organisation
            )

        return self.run(make)

    def token(self, user: Any) -> str:
        from verifier.auth.models import User
        from verifier.auth.services import create_token

        return self.run(lambda s: create_token(s, s.get(User, user.id), "test"))

    def volunteer(self, org: Any, **fields: Any) -> Any:
        from verifier.orgs.models import Organisation
        from verifier.volunteers.services import VolunteerInput, register_volunteer

        n = self._next()
        values = {"name": f"志愿者{n}", "id_type": "resident_id", "id_number": make_resident_id(n)}
        values.update(fields)
        return self.run(
            lambda s: register_volunteer(
                s, s.get(Organisation, org.id), VolunteerInput(**values), None
            )[0]
        )

    def record(self, org: Any, volunteer: Any, actor: Any = None, **fields: Any) -> Any:
        from verifier.auth.models import User
        from verifier.orgs.models import Organisation
        from verifier.records.services import RecordInput, create_record
        from verifier.volunteers.models import Volunteer

        start = fields.pop("started_at", None) or days_ago(10, hour=9)
        values = {
            "activity": "社区敬老服务",
            "place": "南川区东城街道",
            "content": "陪伴老人，打扫卫生",
            "started_at": start,
            "ended_at": start + timedelta(hours=3),
            "minutes": 180,
        }
        values.update(fields)

        def make(session: Any) -> Any:
            user = session.get(User, actor.id) if actor is not None else None
            return create_record(
                session,
                session.get(Organisation, org.id),
                session.get(Volunteer, volunteer.id),
                RecordInput(**values),
                user,
            )

        return self.run(make)

    def certificate(self, org: Any, actor: Any, volunteer: Any, records: Any) -> Any:
        """Issue a certificate over records through the service, as the organisation's user."""
        from verifier.auth.models import User
        from verifier.certificates.services import IssueRequest, issue_certificate
        from verifier.orgs.models import Organisation

        return self.run(
            lambda s: issue_certificate(
                s,
                s.get(Organisation, org.id),
                IssueRequest(volunteer_id=volunteer.id, record_ids=[r.id for r in records]),
                s.get(User, actor.id),
            )
        )


@pytest.fixture
def make(app: Flask) -> Factory:
    return Factory(app)


def days_ago(days: int, hour: int = 9) -> datetime:
    """A past local time (UTC+8) at a round hour, as an aware datetime."""
    base = datetime.now(UTC) - timedelta(days=days)
    local = base.astimezone(UTC) + timedelta(hours=8)
    return datetime(local.year, local.month, local.day, hour, tzinfo=UTC) - timedelta(hours=8)


def make_resident_id(n: int, birth: str = "19900307") -> str:
    """Return a valid resident ID number; n varies the sequence digits."""
    from verifier.identifiers import resident_id_check_char

    first17 = f"110101{birth}{n % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def make_uscc(n: int) -> str:
    """Return a valid unified social credit code (civil affairs, 5x), varying with n."""
    from verifier.identifiers import uscc_check_char

    first17 = f"53500000MJ{n % 10_000_000:07d}"
    return first17 + uscc_check_char(first17)


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def csrf_token_from(html: str) -> str:
    found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    if not found:
        found = re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert found, "no CSRF token in page"
    return found.group(1)


def raw_record(
    session: Any,
    org_id: int,
    volunteer_id: int,
    *,
    with_revision: bool = True,
    revision_id: int | None = None,
) -> Any:
    """A record inserted as a direct database writer would: no service, no audit entry.

    With revision_id, the writer picks the revision row's id itself (0 or below, say).
    """
    from zoneinfo import ZoneInfo

    from verifier.db import utcnow
    from verifier.records.models import RecordRevision, ServiceRecord

    start = datetime.now(ZoneInfo("Asia/Shanghai")).replace(microsecond=0) - timedelta(days=20)
    fields = {
        "activity": "凭空出现的服务",
        "place": "南川区",
        "started_at": start,
        "ended_at": start + timedelta(hours=8),
        "minutes": 480,
    }
    record = ServiceRecord(
        organisation_id=org_id,
        volunteer_id=volunteer_id,
        status="active",
        revision=1,
        service_date=start.date(),
        dedupe_key=f"direct-write-{revision_id}",
        recorded_at=utcnow(),
        updated_at=utcnow(),
        **fields,
    )
    session.add(record)
    session.flush()
    if with_revision:
        revision = RecordRevision(record_id=record.id, revision=1, kind="created", **fields)
        if revision_id is not None:
            revision.id = revision_id
        session.add(revision)
        session.flush()
    return record

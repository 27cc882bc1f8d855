"""Apps for tests: their settings, the migrated database, and one shared app kept clean per test.

The suite builds one app for the whole session (`session_app` in conftest) and hands it to each
test inside its own connection and outer transaction, rolled back afterwards (`rolled_back`),
with everything a test may change on the app put back (`restored`). A test that needs an app
configured differently builds its own with `new_app` (its own engine) or `sibling_app` (inside
the test's transaction).
"""

from __future__ import annotations

import base64
import copy
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from verifier import create_app, limiter
from verifier.db import sqlite_begin, upgrade_database

PG_URL_ENV = "VERIFIER_TEST_DATABASE_URL"
TEST_DATA_KEY = base64.b64encode(b"k" * 32).decode()


def test_config(url: str, **extra: Any) -> dict[str, Any]:
    """The settings of a test app on this database; `extra` overrides them."""
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


def new_app(url: str, **settings: Any) -> Flask:
    """A separate app (its own engine) on this database, with test settings changed by `settings`.

    Dispose of its engine when done: `app.extensions["verifier.db"].engine.dispose()`.
    """
    return create_app(test_config(url, **settings))


def main_database_url(tmp_dir: str) -> str:
    """The suite's main database: PostgreSQL when VERIFIER_TEST_DB=postgresql, else SQLite.

    With pytest-xdist, `tmp_dir` is the worker's own, and so is the PostgreSQL database.
    """
    if os.environ.get("VERIFIER_TEST_DB") == "postgresql":
        url = postgres_test_url()
        if not url:
            raise RuntimeError(f"VERIFIER_TEST_DB=postgresql needs {PG_URL_ENV}")
        return url
    return f"sqlite:///{tmp_dir}/test.db"


def postgres_test_url() -> str | None:
    """The PostgreSQL test database (VERIFIER_TEST_DATABASE_URL), or None when not configured.

    Each pytest-xdist worker gets a database of its own beside it, named after the worker
    (test_gw0, test_gw1, ...) and created when missing: the tests that commit and truncate
    every table never meet another worker's tests.
    """
    url = os.environ.get(PG_URL_ENV)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    server = create_engine(parsed, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            found = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not found:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        server.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


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
    """Empty the database at `url` and run every migration on it."""
    app = create_app(test_config(url))
    engine = app.extensions["verifier.db"].engine
    reset_database(engine)
    upgrade_database(app)
    engine.dispose()


_MIGRATED_SQLITE: dict[str, Path] = {}


def migrated_sqlite_file(path: Any) -> str:
    """A migrated SQLite database at `path`: a copy of one migrated once per session."""
    template = _MIGRATED_SQLITE.get("template")
    if template is None or not template.exists():
        import atexit
        import tempfile

        folder = tempfile.mkdtemp(prefix="verifier-template-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        template = Path(folder) / "migrated.db"
        migrate(f"sqlite:///{template}")  # the engine is disposed: the WAL is in the file
        _MIGRATED_SQLITE["template"] = template
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def committing_sqlite_app(path: Any, **settings: Any) -> Flask:
    """An app on a fresh SQLite file whose sessions really commit (own connections, WAL)."""
    return new_app(migrated_sqlite_file(path), **settings)


MIGRATION_ROWS = frozenset({"record_attestation_epoch"})


def truncate_all(engine: Engine) -> None:
    """Delete every row that a committing test left behind."""
    import verifier.models  # noqa: F401
    from verifier.db import Base

    # the attestation epoch is the migrations' own row (0007), not a test's: it stays, or the
    # attestation check of every later test on this database would find no epoch
    tables = [t for t in Base.metadata.sorted_tables if t.name not in MIGRATION_ROWS]
    names = ", ".join(f'"{t.name}"' for t in tables)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(table.delete())


@contextmanager
def rolled_back(app: Flask) -> Iterator[Connection]:
    """Bind every session of the app to one connection whose outer transaction is rolled back.

    Sessions commit to SAVEPOINTs inside it, so the test sees its own commits and leaves nothing.
    """
    database = app.extensions["verifier.db"]
    bound = dict(database.sessionmaker.kw)
    connection = database.engine.connect()
    # SQLite: begin DEFERRED, so the write lock is taken at the test's first write, not at once
    # (a test may still read from a second connection); every session below is a SAVEPOINT
    with sqlite_begin("DEFERRED"):
        outer = connection.begin()
    database.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield connection
    finally:
        try:
            if outer.is_active:
                outer.rollback()
        finally:
            connection.close()
            database.sessionmaker.kw.clear()
            database.sessionmaker.kw.update(bound)
            if database.engine.pool.checkedout():
                # a test kept a connection open: start the next one on a fresh pool
                database.engine.dispose()


def _registry(app: Flask) -> tuple[Any, ...]:
    """What a test must never change on the shared app: its routes and hooks."""
    return (
        tuple(sorted(rule.rule + " " + rule.endpoint for rule in app.url_map.iter_rules())),
        tuple(sorted(app.view_functions)),
        *(
            tuple((key, len(funcs)) for key, funcs in registry.items())
            for registry in (
                app.before_request_funcs,
                app.after_request_funcs,
                app.teardown_request_funcs,
                app.url_value_preprocessors,
                app.url_default_functions,
                app.template_context_processors,
            )
        ),
        len(app.teardown_appcontext_funcs),
    )


def _copy(value: Any) -> Any:
    try:
        return copy.deepcopy(value)
    except Exception:  # noqa: BLE001 (an object that cannot be copied is put back as it was)
        return value


@contextmanager
def restored(app: Flask) -> Iterator[Flask]:
    """Put back, after the block, everything on the app a test may change.

    Its settings (app.config), its extensions' entries (caches built from settings, such as the
    data cipher or the OpenAPI document), plain attributes (instance_path), and the rate
    limiter's state: the limiter is one object for every app, and a test that builds its own app
    re-initialises it; its counts are emptied so that no test inherits another's requests.
    """
    config = {key: _copy(value) for key, value in app.config.items()}
    extensions = dict(app.extensions)
    attributes = dict(vars(app))
    limiter_state = dict(vars(limiter))
    registry = _registry(app)
    try:
        yield app
    finally:
        app.config.clear()
        app.config.update(config)
        app.extensions.clear()
        app.extensions.update(extensions)
        for name, value in attributes.items():  # attributes made lazily (jinja_env) are kept
            if vars(app).get(name) is not value:
                setattr(app, name, value)
        for name in set(vars(limiter)) - set(limiter_state):
            delattr(limiter, name)
        vars(limiter).update(limiter_state)
        if limiter_state.get("_storage") is not None:
            limiter.reset()
        if _registry(app) != registry:
            raise AssertionError(
                "a test changed the shared app's routes or hooks: build its own app "
                "with support.new_app(...)"
            )


@contextmanager
def sibling_app(app: Flask, **settings: Any) -> Iterator[Flask]:
    """Another app (other settings, e.g. CSRF on or https) inside the test's transaction."""
    other = new_app(app.config["DATABASE_URL"], **settings)
    connection = app.extensions["verifier.db"].sessionmaker.kw["bind"]
    other.extensions["verifier.db"].sessionmaker.configure(
        bind=connection, join_transaction_mode="create_savepoint"
    )
    try:
        yield other
    finally:
        other.extensions["verifier.db"].engine.dispose()

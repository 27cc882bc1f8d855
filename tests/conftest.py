"""Fixtures and hooks only; the helpers tests import live in tests/support/.

One app serves the whole session; each test gets it inside its own connection and outer
transaction, rolled back afterwards, with the app's settings and state put back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import (
    PG_URL_ENV,
    Factory,
    browser_missing,
    main_database_url,
    migrate,
    new_app,
    postgres_test_url,
    restored,
    rolled_back,
    truncate_all,
)

# every API answer a test gets is checked against the OpenAPI document (openapi_conformance.py)
pytest_plugins = ["openapi_conformance"]


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


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a test marked `browser` where Chromium or Playwright is missing, saying which."""
    if item.get_closest_marker("browser") is not None:
        reason = browser_missing()
        if reason:
            pytest.skip(reason)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The suite's main database, migrated once: SQLite, or PostgreSQL (VERIFIER_TEST_DB)."""
    url = main_database_url(str(tmp_path_factory.mktemp("db")))
    migrate(url)
    return url


@pytest.fixture(scope="session")
def postgres_url(database_url: str) -> str:
    """The PostgreSQL database for tests that need one; migrated; skipped when not configured."""
    url = postgres_test_url()
    if not url:
        pytest.skip(f"needs PostgreSQL: set {PG_URL_ENV}")
    if url != database_url:
        migrate(url)
    return url


@pytest.fixture(scope="session")
def session_app(database_url: str) -> Iterator[Flask]:
    """The one app of the session; tests use it through `app`, never directly."""
    application = new_app(database_url)
    with application.app_context():
        application.jinja_env  # noqa: B018 (made once: its compiled templates are kept)
    yield application
    application.extensions["verifier.db"].engine.dispose()


@pytest.fixture
def app(session_app: Flask) -> Iterator[Flask]:
    """The app, its every session joined to one outer transaction rolled back after the test.

    Settings a test changes (app.config), caches in app.extensions and the rate limiter's counts
    are put back afterwards. For other settings from the start, build an app with
    `support.new_app` or `support.sibling_app`.
    """
    with restored(session_app), rolled_back(session_app):
        yield session_app


@pytest.fixture
def committing_app(postgres_url: str) -> Iterator[Flask]:
    """An app on PostgreSQL whose sessions really commit; the tables are emptied afterwards."""
    application = new_app(postgres_url)
    engine = application.extensions["verifier.db"].engine
    truncate_all(engine)
    yield application
    truncate_all(engine)
    engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make(app: Flask) -> Factory:
    return Factory(app)

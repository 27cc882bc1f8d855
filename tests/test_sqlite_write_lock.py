"""SQLite: while another connection writes, sign-in and public verification wait, never 409.

A file database with real commits (WAL), and a second connection that holds the write lock for
a moment, as a batch of a running import does. Before writers began their transactions
IMMEDIATE, a request that had read and then wrote was refused at once (SQLITE_BUSY on the lock
upgrade) and answered 409.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from support import PASSWORD, Factory, committing_sqlite_app

from verifier.db import sqlite_begin_mode

HOLD_SECONDS = 1.5  # how long the other connection keeps the write lock at most


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[tuple[Flask, Path]]:
    path = tmp_path / "locking.db"
    application = committing_sqlite_app(path)
    yield application, path
    application.extensions["verifier.db"].engine.dispose()


def _world(app: Flask) -> dict[str, Any]:
    make = Factory(app)
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    cert = make.certificate(org, admin, volunteer, [make.record(org, volunteer, actor=admin)])
    return {"email": admin.email, "token": cert.token, "number": cert.number}


class LockHolder(threading.Thread):
    """Hold SQLite's write lock from another connection until released (or HOLD_SECONDS)."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.locked = threading.Event()
        self.release = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE organisations SET address = address")
            self.locked.set()
            self.release.wait(HOLD_SECONDS)
            conn.execute("COMMIT")
        finally:
            conn.close()


def _while_locked(path: Path, call: Any) -> Any:
    holder = LockHolder(path)
    holder.start()
    try:
        assert holder.locked.wait(10), "the other connection never took the lock"
        return call()
    finally:
        holder.release.set()
        holder.join(timeout=10)
        assert not holder.is_alive()


def test_sign_in_waits_for_another_writer_instead_of_409(sqlite_app: Any) -> None:
    app, path = sqlite_app
    world = _world(app)
    client = app.test_client()
    response = _while_locked(
        path, lambda: client.post("/login", data={"email": world["email"], "password": PASSWORD})
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert client.get("/dashboard").status_code == 200


def test_scanning_a_certificate_waits_for_another_writer(sqlite_app: Any) -> None:
    app, path = sqlite_app
    world = _world(app)
    response = _while_locked(path, lambda: app.test_client().get(f"/v/{world['token']}"))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


def test_api_verification_waits_for_another_writer(sqlite_app: Any) -> None:
    app, path = sqlite_app
    world = _world(app)
    client = app.test_client()
    response = _while_locked(
        path, lambda: client.post("/api/v1/verifications", json={"token": world["token"]})
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.get_json()["status"] == "valid"
    response = _while_locked(
        path, lambda: client.get(f"/api/v1/certificates/{world['number']}/status")
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "valid"


def test_reading_pages_begin_deferred_and_writers_immediate(sqlite_app: Any) -> None:
    app, _path = sqlite_app
    with app.test_request_context("/certificates", method="GET"):
        assert sqlite_begin_mode() == "DEFERRED"
    with app.test_request_context("/login", method="POST"):
        assert sqlite_begin_mode() == "IMMEDIATE"
    with app.test_request_context("/v/abc", method="GET"):
        assert sqlite_begin_mode() == "IMMEDIATE"  # counts the verification
    with app.test_request_context(
        "/api/v1/records", method="GET", headers={"Authorization": "Bearer vfr_x"}
    ):
        assert sqlite_begin_mode() == "IMMEDIATE"  # may write the token's last use
    with app.app_context():
        assert sqlite_begin_mode() == "IMMEDIATE"  # commands, scheduler, job workers

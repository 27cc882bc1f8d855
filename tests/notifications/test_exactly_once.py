"""Exactly once, with real processes: a sender killed with SIGKILL mid-batch, senders at once.

Each runs on a SQLite file and on PostgreSQL (when VERIFIER_TEST_DATABASE_URL is set); what
arrives is counted at the SMTP server by Message-ID.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from outbox_helpers import WAIT_SECONDS, Clock, SmtpCatcher, outbox, queue
from support import TEST_DATA_KEY, committing_sqlite_app

from verifier.db import utcnow
from verifier.notifications.models import OutboxStatus
from verifier.notifications.sender import send_pending

VERIFIER = Path(sys.executable).parent / "verifier"

# `verifier outbox send`, stopped for good once the server has accepted message TARGET and
# before the sender writes it down as sent: the window no outbox can close.
STOP_AFTER_ACCEPTED = textwrap.dedent(
    """
    import os, sys, time
    import verifier.notifications.sender as sender
    real = sender.record_sent
    def record_sent(session, message, now):
        if message.id == int(os.environ["TARGET"]):
            time.sleep(600)
        return real(session, message, now)
    sender.record_sent = record_sent
    from verifier.cli import main
    sys.argv = ["verifier", "outbox", "send"]
    main()
    """
)


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_app(request: Any, tmp_path: Path) -> Iterator[Flask]:
    """An app whose data other processes see: a SQLite file, or the PostgreSQL test database."""
    if request.param == "sqlite":
        app = committing_sqlite_app(tmp_path / "outbox.db")
        yield app
        app.extensions["verifier.db"].engine.dispose()
    else:
        yield request.getfixturevalue("committing_app")


def sender_env(app: Flask, smtp: SmtpCatcher, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("VERIFIER_TEST_DB", None)
    env.update(
        VERIFIER_DATABASE_URL=app.config["DATABASE_URL"],
        VERIFIER_ENV="development",
        VERIFIER_SECRET_KEY="test-secret-key-0123456789",
        VERIFIER_DATA_KEY=TEST_DATA_KEY,
        VERIFIER_BASE_URL="http://verifier.test",
        VERIFIER_SMTP_URL=smtp.url,
        **extra,
    )
    return env


def start_sender(app: Flask, smtp: SmtpCatcher, *args: str, **extra: str) -> subprocess.Popen[str]:
    command = list(args) or [str(VERIFIER), "outbox", "send"]
    return subprocess.Popen(  # noqa: S603 (our own command)
        command,
        env=sender_env(app, smtp, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill(process: subprocess.Popen[str]) -> None:
    process.kill()  # SIGKILL: no handler, no clean-up
    process.communicate(timeout=30)
    assert process.returncode == -9


def after_the_lease(app: Flask) -> Clock:
    return Clock(utcnow() + timedelta(seconds=int(app.config["OUTBOX_LEASE_SECONDS"]) + 1))


@pytest.fixture
def smtp() -> Iterator[SmtpCatcher]:
    catcher = SmtpCatcher().start()
    yield catcher
    catcher.stop()


def test_a_sender_killed_mid_batch_loses_nothing_and_sends_nothing_twice(shared_app, smtp):
    app = shared_app
    app.config["SMTP_URL"] = smtp.url
    ids = queue(app, *(f"m{n}@example.cn" for n in range(1, 7)))
    smtp.stall_for = "m3@example.cn"  # the server holds the third message, never answering
    sender = start_sender(app, smtp)
    try:
        assert smtp.reached.wait(WAIT_SECONDS), "the sender never reached the third message"
    finally:
        kill(sender)
    smtp.release.set()
    statuses = {m.id: (m.status, m.attempts) for m in outbox(app)}
    assert statuses == {
        ids[0]: (OutboxStatus.SENT, 1),
        ids[1]: (OutboxStatus.SENT, 1),
        # claimed with the batch: another sender leaves them alone until the lease ends
        **{i: (OutboxStatus.SENDING, 1) for i in ids[2:]},
    }
    assert send_pending(app).handled == 0
    smtp.stall_for = None
    report = send_pending(app, clock=after_the_lease(app))
    assert report.sent == 4
    keys = {f"<{m.message_key}@verifier.test>" for m in outbox(app)}
    assert smtp.message_ids() == dict.fromkeys(keys, 1)  # every message, each once
    assert [(m.status, m.attempts) for m in outbox(app)] == [(OutboxStatus.SENT, 1)] * 2 + [
        (OutboxStatus.SENT, 2)
    ] * 4


def test_killed_after_the_server_accepted_the_resend_has_the_same_message_id(shared_app, smtp):
    """The one window: accepted, then killed before the commit. It is sent again after the
    lease, with the same Message-ID, so the receiver can tell it is the same message."""
    app = shared_app
    app.config["SMTP_URL"] = smtp.url
    ids = queue(app, *(f"m{n}@example.cn" for n in range(1, 5)))
    sender = start_sender(app, smtp, sys.executable, "-c", STOP_AFTER_ACCEPTED, TARGET=str(ids[1]))
    try:
        assert _wait(lambda: len(smtp.accepted) == 2), "the server never accepted the second"
    finally:
        kill(sender)
    assert [m.status for m in outbox(app)] == [OutboxStatus.SENT] + [OutboxStatus.SENDING] * 3
    assert send_pending(app, clock=after_the_lease(app)).sent == 3
    keys = [f"<{m.message_key}@verifier.test>" for m in outbox(app)]
    assert smtp.message_ids() == {keys[0]: 1, keys[1]: 2, keys[2]: 1, keys[3]: 1}
    assert all(m.status == OutboxStatus.SENT for m in outbox(app))


def test_two_senders_at_once_never_send_a_message_twice(shared_app, smtp):
    app = shared_app
    ids = queue(app, *(f"p{n}@example.cn" for n in range(1, 41)))
    smtp.meet = 2  # every DATA waits until both senders have a message at the server
    senders = [start_sender(app, smtp) for _ in range(2)]
    outputs = [process.communicate(timeout=120) for process in senders]
    assert [p.returncode for p in senders] == [0, 0], outputs
    counts = [int(out.split("sent ")[1].split(",")[0]) for out, _err in outputs]
    assert sum(counts) == 40 and min(counts) > 0, outputs
    keys = {f"<{m.message_key}@verifier.test>" for m in outbox(app)}
    assert smtp.message_ids() == dict.fromkeys(keys, 1)
    assert [(m.id, m.status, m.attempts) for m in outbox(app)] == [
        (i, OutboxStatus.SENT, 1) for i in ids
    ]


def _wait(condition: Any) -> bool:
    import time

    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.postgres
def test_a_claim_skips_the_messages_another_sender_is_claiming(committing_app):
    """Sender A has selected (and locked) two messages but not yet marked them; sender B,
    claiming meanwhile, takes the other two without waiting, never A's."""
    import threading

    from verifier.db import get_session
    from verifier.notifications.sender import claim

    app = committing_app
    ids = queue(app, *(f"r{n}@example.cn" for n in range(1, 5)))
    a_selected, b_done = threading.Event(), threading.Event()
    claimed: dict[str, list[int]] = {}
    b_in_time: list[bool] = []

    def claim_ids(session: Any, limit: int) -> list[int]:
        batch, _given_up = claim(
            session, ["email"], now=utcnow(), lease_seconds=300, max_attempts=8, limit=limit
        )
        return [message.id for message in batch]

    def sender_a() -> None:
        with app.app_context():
            session = get_session()
            real, calls = session.execute, []

            def execute(statement: Any, *args: Any, **kwargs: Any) -> Any:
                calls.append(statement)
                if len(calls) == 2:  # selected and locked; about to mark them claimed
                    a_selected.set()
                    b_in_time.append(b_done.wait(WAIT_SECONDS / 6))
                return real(statement, *args, **kwargs)

            session.execute = execute
            claimed["a"] = claim_ids(session, 2)

    def sender_b() -> None:
        a_selected.wait(WAIT_SECONDS)
        with app.app_context():
            claimed["b"] = claim_ids(get_session(), 10)
        b_done.set()

    threads = [threading.Thread(target=sender_a), threading.Thread(target=sender_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert b_in_time == [True], "B waited for A's locks instead of skipping them"
    assert claimed == {"a": ids[:2], "b": ids[2:]}

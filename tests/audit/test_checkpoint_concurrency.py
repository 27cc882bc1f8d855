"""Two processes signing a checkpoint at the same moment append one, never a duplicate or a fork."""

import threading
import time

import pytest
from sqlalchemy import select
from support import Factory

from verifier.audit.models import AuditCheckpoint
from verifier.db import get_session
from verifier.integrity import checkpoints
from verifier.keys.services import active_key

pytestmark = pytest.mark.postgres


def test_two_checkpoints_made_at_once_make_one(committing_app, monkeypatch):
    make = Factory(committing_app)
    make.run(active_key)
    org = make.org()
    make.user("org_admin", org)
    real_sign = checkpoints.signing.sign_compact_jws

    def slow_sign(*args, **kwargs):
        token = real_sign(*args, **kwargs)
        time.sleep(0.4)  # widen the window between reading the head and appending
        return token

    monkeypatch.setattr(checkpoints.signing, "sign_compact_jws", slow_sign)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker():
        with committing_app.app_context():
            session = get_session()
            barrier.wait()
            try:
                made = checkpoints.make_checkpoint(session)
                session.commit()
                outcomes.append("made" if made is not None else "nothing new")
            except Exception as exc:  # a duplicate key would surface here
                session.rollback()
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["made", "nothing new"]
    with committing_app.app_context():
        rows = get_session().scalars(select(AuditCheckpoint)).all()
    assert [row.seq for row in rows] == [1]
    result = committing_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_checkpoints_made_while_entries_are_appended_stay_one_chain(committing_app, monkeypatch):
    """Writers appending (each append may sign one) and a checkpoint command, all at once."""
    committing_app.config["AUDIT_CHECKPOINT_EVERY"] = 1
    make = Factory(committing_app)
    make.run(active_key)
    org = make.org()
    barrier = threading.Barrier(4)
    errors: list[str] = []

    def writer(n):
        barrier.wait()
        try:
            for i in range(3):
                make.user("org_recorder", org, email=f"w{n}-{i}@example.cn")
        except Exception as exc:
            errors.append(repr(exc))

    def signer():
        barrier.wait()
        for _ in range(3):
            with committing_app.app_context():
                session = get_session()
                try:
                    checkpoints.make_checkpoint(session)
                    session.commit()
                except Exception as exc:
                    session.rollback()
                    errors.append(repr(exc))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    threads.append(threading.Thread(target=signer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with committing_app.app_context():
        rows = get_session().scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).all()
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    assert len(rows) >= 2
    result = committing_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output

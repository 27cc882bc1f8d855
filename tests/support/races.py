"""Run jobs in real concurrent transactions (PostgreSQL race tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from verifier.db import get_session
from verifier.errors import VerifierError


def race(app: Any, jobs: list[Callable[[Any], Any]], timeout: float = 30) -> list[str]:
    """Run each job in its own thread, connection and transaction, all released at once.

    Each job gets a session and returns normally (committed) or raises a VerifierError (rolled
    back); the outcome is "ok" or the error's class name, in the order of `jobs`.
    """
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = ["unfinished"] * len(jobs)

    def worker(i: int, job: Callable[[Any], Any]) -> None:
        with app.app_context():
            session = get_session()
            barrier.wait(timeout)
            try:
                job(session)
                session.commit()
                outcomes[i] = "ok"
            except VerifierError as exc:
                session.rollback()
                outcomes[i] = type(exc).__name__

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a racing transaction never finished"
    return outcomes

"""A real SMTP server (aiosmtpd) and a tiny SMS gateway (http.server) on free local ports,
a clock a test moves, and reading the outbox back."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask
from sqlalchemy import select

from verifier.db import get_session, utcnow
from verifier.notifications.models import OutboxMessage

WAIT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpCatcher:
    """An SMTP server that keeps every message it accepts (parsed), and can refuse or stall.

    `answers`: replies to give to the next DATA commands instead of accepting ("451 ...").
    `refused`: recipient addresses refused at RCPT with a 550.
    `stall_for`: a recipient whose DATA waits (`reached` set) until `release` is set: a sender
    killed meanwhile never hears back, and nothing is kept.
    `delay`: seconds every DATA takes.
    `meet`: hold every DATA until this many connections have sent one (senders at once).
    """

    def __init__(self, *, users: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.accepted: list[EmailMessage] = []
        self.offered: list[EmailMessage] = []  # every DATA seen, accepted or not
        self.answers: list[str] = []
        self.refused: set[str] = set()
        self.stall_for: str | None = None
        self.reached = threading.Event()
        self.release = threading.Event()
        self.delay = 0.0
        self.meet = 0
        self.peers: set[Any] = set()
        self.met = threading.Event()
        self.logins: list[str] = []
        self.users = users
        self._lock = threading.Lock()
        self._running = False
        options: dict[str, Any] = {}
        if users is not None:
            options = {"authenticator": self._authenticate, "auth_require_tls": False}
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def _authenticate(
        self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and self.users is not None:
            login, password = data.login.decode(), data.password.decode()
            if self.users.get(login) == password:
                self.logins.append(login)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        if address in self.refused:
            return f"550 5.1.1 <{address}>: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=default)
        with self._lock:
            self.offered.append(message)
            answer = self.answers.pop(0) if self.answers else None
            self.peers.add(session.peer)
            if len(self.peers) >= self.meet:
                self.met.set()
        if self.meet:
            await asyncio.get_running_loop().run_in_executor(None, self.met.wait, WAIT_SECONDS)
        if self.stall_for is not None and self.stall_for in envelope.rcpt_tos:
            self.reached.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, WAIT_SECONDS)
            return "451 4.3.0 stopped"
        if self.delay:
            await asyncio.sleep(self.delay)
        if answer is not None:
            return answer
        with self._lock:
            self.accepted.append(message)
        return "250 OK"

    def message_ids(self) -> Counter[str]:
        return Counter(str(m["Message-ID"]) for m in self.accepted)

    def start(self) -> SmtpCatcher:
        self.controller.start()
        self._running = True
        return self

    def stop(self) -> None:
        self.release.set()
        if self._running:
            self._running = False
            self.controller.stop()


@dataclass
class GatewayCall:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class SmsGateway:
    """An HTTP server standing in for an SMS gateway: records each POST, answers `status`."""

    status: int = 200
    calls: list[GatewayCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length).decode("utf-8"))
                gateway.calls.append(GatewayCall(self.path, dict(self.headers), body))
                self.send_response(gateway.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *_args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def start(self) -> SmsGateway:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class Clock:
    """A clock a test moves: `send_pending(..., clock=clock)`."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def outbox(app: Flask, where: Callable[[Any], Any] | None = None) -> list[OutboxMessage]:
    """Every outbox row (detached, in id order)."""
    with app.app_context():
        session = get_session()
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if where is not None:
            stmt = stmt.where(where(OutboxMessage))
        rows = list(session.scalars(stmt))
        for row in rows:
            session.expunge(row)
        session.rollback()
        return rows


def row(app: Flask, message_id: int) -> OutboxMessage:
    return outbox(app, lambda m: m.id == message_id)[0]


def queue(app: Flask, *recipients: str, kind: str = "test", body: str = "正文") -> list[int]:
    """Write messages to the outbox (committed): one per recipient; return their ids."""
    from verifier.notifications.services import enqueue

    with app.app_context():
        session = get_session()
        ids = [
            enqueue(session, recipient=r, kind=kind, subject=f"主题 {i}", body=f"{body} {i}").id
            for i, r in enumerate(recipients, start=1)
        ]
        session.commit()
        return ids

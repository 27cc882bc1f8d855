"""Delivering the outbox (`verifier outbox send`, and the scheduler every minute).

A sender claims due messages in a short transaction of its own (status `sending`, `attempts`
counted, `leased_until` set), commits, sends each one with no transaction open, and records
each outcome in a new transaction: `sent`, or back to `pending` with a later
`next_attempt_at` (`retry_delay`), or `failed` after the last attempt. Rows are never deleted.

Exactly once, as far as it can be had: two senders never hold one message at once (the claim
locks its rows: `FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the claim's IMMEDIATE
transaction serialises the senders), and a sender that dies after its claim leaves the message
`sending` until its lease runs out, when another sender takes it up again. One window remains:
a sender killed after the server accepted a message and before its commit sends it again after
the lease; the resend has the same Message-ID (the gateway the same `id`), so a receiver can drop
it (docs/part-notify.md).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from flask import Flask
from sqlalchemy import CursorResult, and_, func, or_, select, update
from sqlalchemy.orm import Session

from verifier.crypto.encryption import get_cipher
from verifier.db import get_session, sqlite_begin, utcnow
from verifier.notifications.adapters import Adapter, DeliveryError, Outgoing, adapters_for, scrub
from verifier.notifications.models import OutboxMessage, OutboxStatus
from verifier.notifications.services import body_place, contains_id_number, recipient_place

log = logging.getLogger("verifier.notifications")

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
CLAIM_BATCH = 10  # messages per claim: a batch is sent well within one lease
DEFAULT_LIMIT = 1000  # messages per run of `verifier outbox send`
# a message is sent only while this much of its lease is left; else it is released
LEASE_MARGIN = timedelta(seconds=30)

Clock = Callable[[], datetime]


def retry_delay(attempts: int) -> timedelta:
    """Return the wait after a message's `attempts`-th failed attempt: 1 min, 2, 4 ... 1 h."""
    if attempts < 1:
        raise ValueError("attempts start at 1")
    return min(FIRST_RETRY * 2 ** min(attempts - 1, 16), LONGEST_RETRY)


@dataclass(frozen=True)
class Claimed:
    """A message this sender holds until `lease` (also its fence: every write checks it)."""

    id: int
    key: str
    channel: str
    kind: str
    locale: str
    subject: str
    recipient_enc: bytes
    recipient_masked: str
    body_enc: bytes
    attempts: int  # including this one
    lease: datetime


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0  # failed this time, tried again later
    failed: int = 0  # given up for good in this run
    released: int = 0  # claimed, then handed back unsent (too little of the lease was left)
    waiting: dict[str, int] = field(default_factory=dict)  # by channel without an adapter
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed


def _ready(channels: Sequence[str], now: datetime) -> Any:
    """Due messages: pending and their time has come, or claimed by a sender whose lease ran out."""
    return and_(
        OutboxMessage.channel.in_(list(channels)),
        or_(
            and_(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.next_attempt_at <= now,
            ),
            and_(
                OutboxMessage.status == OutboxStatus.SENDING,
                OutboxMessage.leased_until < now,
            ),
        ),
    )


def claim(
    session: Session,
    channels: Sequence[str],
    *,
    now: datetime,
    lease_seconds: int,
    max_attempts: int,
    limit: int,
) -> tuple[list[Claimed], int]:
    """Claim up to `limit` due messages and commit; return them and how many were given up.

    A message whose sender stopped during its last allowed attempt is not sent again: it is
    marked failed (it may or may not have arrived).
    """
    stmt = (
        select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.attempts)
        .where(_ready(channels, now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = session.execute(stmt).all()
    exhausted = [
        row.id
        for row in rows
        if row.status == OutboxStatus.SENDING and row.attempts >= max_attempts
    ]
    to_claim = [row.id for row in rows if row.id not in exhausted]
    if exhausted:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(exhausted), _ready(channels, now))
            .values(
                status=OutboxStatus.FAILED,
                leased_until=None,
                last_error="the sender stopped during the last attempt (after the server may "
                "have taken the message); not sent again",
            )
            .execution_options(synchronize_session=False)
        )
    lease = now + timedelta(seconds=lease_seconds)
    claimed: list[Claimed] = []
    if to_claim:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(to_claim), _ready(channels, now))
            .values(
                status=OutboxStatus.SENDING,
                attempts=OutboxMessage.attempts + 1,
                leased_until=lease,
            )
            .execution_options(synchronize_session=False)
        )
        claimed = [
            Claimed(
                id=m.id,
                key=m.message_key,
                channel=m.channel,
                kind=m.kind,
                locale=m.locale,
                subject=m.subject,
                recipient_enc=m.recipient_enc,
                recipient_masked=m.recipient_masked,
                body_enc=m.body_enc,
                attempts=m.attempts,
                lease=lease,
            )
            for m in session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(to_claim),
                    OutboxMessage.status == OutboxStatus.SENDING,
                    OutboxMessage.leased_until == lease,
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .execution_options(populate_existing=True)
            )
        ]
    session.commit()
    return claimed, len(exhausted)


def _held(message: Claimed) -> Any:
    """Every write after the claim: the message is still this sender's."""
    return and_(
        OutboxMessage.id == message.id,
        OutboxMessage.status == OutboxStatus.SENDING,
        OutboxMessage.leased_until == message.lease,
    )


def _write(session: Session, message: Claimed, **values: Any) -> bool:
    result = session.execute(
        update(OutboxMessage)
        .where(_held(message))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if cast("CursorResult[Any]", result).rowcount != 1:
        log.warning("outbox %s: the lease ran out before the outcome was written", message.id)
        return False
    return True


def record_sent(session: Session, message: Claimed, now: datetime) -> bool:
    """Mark a message sent, in a transaction of its own."""
    return _write(
        session,
        message,
        status=OutboxStatus.SENT,
        sent_at=now,
        leased_until=None,
        last_error="",
    )


def record_failure(
    session: Session, message: Claimed, error: DeliveryError, now: datetime, max_attempts: int
) -> str:
    """Put a message back for a later attempt, or fail it after the last; return its status."""
    text = scrub(str(error)) or type(error).__name__
    if error.permanent or message.attempts >= max_attempts:
        _write(session, message, status=OutboxStatus.FAILED, leased_until=None, last_error=text)
        return OutboxStatus.FAILED
    _write(
        session,
        message,
        status=OutboxStatus.PENDING,
        leased_until=None,
        next_attempt_at=now + retry_delay(message.attempts),
        last_error=text,
    )
    return OutboxStatus.PENDING


def release(session: Session, messages: Sequence[Claimed], now: datetime) -> int:
    """Hand claimed messages back unsent (their attempt not counted), at once."""
    released = 0
    for message in messages:
        released += _write(
            session,
            message,
            status=OutboxStatus.PENDING,
            attempts=message.attempts - 1,
            leased_until=None,
            next_attempt_at=now,
        )
    return released


def opened(message: Claimed) -> Outgoing:
    """Open the sealed address and body (verifier.crypto) for sending."""
    cipher = get_cipher()
    return Outgoing(
        key=message.key,
        channel=message.channel,
        kind=message.kind,
        recipient=cipher.open_text(message.recipient_enc, recipient_place(message.id)),
        recipient_masked=message.recipient_masked,
        locale=message.locale,
        subject=message.subject,
        body=cipher.open_text(message.body_enc, body_place(message.id)),
    )


def deliver(adapter: Adapter, message: Claimed) -> DeliveryError | None:
    """Send one message; return what went wrong, or None when it was sent."""
    try:
        outgoing = opened(message)
        if contains_id_number(outgoing.subject) or contains_id_number(outgoing.body):
            return DeliveryError("refused: the message contains an ID number", permanent=True)
        adapter.send(outgoing)
    except DeliveryError as error:
        return error
    except Exception as exc:  # noqa: BLE001 (any fault is this attempt's; the message is kept)
        log.exception("outbox %s: sending failed", message.id)
        return DeliveryError(f"{type(exc).__name__}: {exc}")
    return None


def send_pending(
    app: Flask,
    *,
    limit: int = DEFAULT_LIMIT,
    adapters: Mapping[str, Adapter] | None = None,
    clock: Clock = utcnow,
) -> SendReport:
    """Send up to `limit` due messages through the configured adapters; report what happened."""
    report = SendReport()
    adapters = adapters if adapters is not None else adapters_for(app.config)
    lease_seconds = int(app.config["OUTBOX_LEASE_SECONDS"])
    max_attempts = int(app.config["OUTBOX_MAX_ATTEMPTS"])
    with app.app_context():
        session = get_session()
        try:
            while adapters and report.handled + report.released < limit:
                batch, given_up = claim(
                    session,
                    list(adapters),
                    now=clock(),
                    lease_seconds=lease_seconds,
                    max_attempts=max_attempts,
                    limit=min(CLAIM_BATCH, limit - report.handled - report.released),
                )
                report.failed += given_up
                if not batch:
                    if given_up:
                        continue
                    break
                _send_batch(session, batch, adapters, report, clock, max_attempts)
            with sqlite_begin("DEFERRED"):
                report.waiting = waiting_without_adapter(session, list(adapters))
                session.rollback()
        finally:
            for adapter in adapters.values():
                adapter.close()
    return report


def _send_batch(
    session: Session,
    batch: list[Claimed],
    adapters: Mapping[str, Adapter],
    report: SendReport,
    clock: Clock,
    max_attempts: int,
) -> None:
    for index, message in enumerate(batch):
        if clock() + LEASE_MARGIN >= message.lease:
            # too little of the lease is left to be sure no other sender takes it meanwhile
            report.released += release(session, batch[index:], clock())
            return
        error = deliver(adapters[message.channel], message)
        if error is None:
            record_sent(session, message, clock())
            report.sent += 1
            continue
        report.errors[str(error)] += 1
        if record_failure(session, message, error, clock(), max_attempts) == OutboxStatus.FAILED:
            report.failed += 1
            log.warning("outbox %s: failed for good: %s", message.id, error)
        else:
            report.retrying += 1
            log.info("outbox %s: attempt %s failed: %s", message.id, message.attempts, error)


def waiting_without_adapter(session: Session, channels: Sequence[str]) -> dict[str, int]:
    """Count the messages of each channel that has no adapter (they wait until it has one)."""
    rows = session.execute(
        select(OutboxMessage.channel, func.count())
        .where(
            OutboxMessage.channel.not_in(list(channels)),
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
        )
        .group_by(OutboxMessage.channel)
    ).all()
    return {str(channel): int(count) for channel, count in rows}

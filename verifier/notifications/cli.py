"""`verifier outbox send | list | test`: deliver the outbox, see what it holds, try the settings."""

from __future__ import annotations

import logging
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from verifier.commands import transaction
from verifier.db import get_session, sqlite_begin
from verifier.notifications.adapters import adapters_for, unconfigured_hint
from verifier.notifications.models import OutboxMessage, OutboxStatus
from verifier.notifications.sender import DEFAULT_LIMIT, send_pending
from verifier.notifications.services import recent_messages, status_counts

EXIT_FAILED = 1  # a message was given up in this run (see `verifier outbox list --status failed`)


@click.group("outbox", cls=AppGroup)
def outbox_group() -> None:
    """Notifications: the outbox of e-mails and text messages."""


@outbox_group.command("send")
@click.option(
    "--limit",
    default=DEFAULT_LIMIT,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="send at most this many messages",
)
def send_command(limit: int) -> None:
    """Send the messages that are due, once each; failures are tried again later.

    Exit status 0: done (messages may wait for a later attempt); 1: a message failed for good
    in this run; 2: a setting is wrong; 3: the database cannot be used.
    """
    # the log adapter (development) writes to the log: show it
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is a proxy, typed as the app
    adapters = adapters_for(app.config)
    for channel, adapter in sorted(adapters.items()):
        click.echo(f"{channel}: {adapter.name}")
    report = send_pending(app, limit=limit, adapters=adapters)
    click.echo(
        f"sent {report.sent}, to try again later {report.retrying}, failed {report.failed}"
        + (f", handed back {report.released}" if report.released else "")
    )
    for error, count in report.errors.most_common(5):
        click.echo(f"  {count} x {error}", err=True)
    for channel, count in sorted(report.waiting.items()):
        click.echo(
            f"warning: {count} {channel} message(s) wait: no way to send them is configured "
            f"({unconfigured_hint(channel)})",
            err=True,
        )
    if report.failed:
        sys.exit(EXIT_FAILED)


@outbox_group.command("list")
@click.option("--status", type=click.Choice([s.value for s in OutboxStatus]))
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def list_command(status: str | None, limit: int) -> None:
    """Count the messages by status and list the latest (recipients masked, never a body)."""
    session = get_session()
    with sqlite_begin("DEFERRED"):
        counts = status_counts(session)
        messages = recent_messages(session, limit=limit, status=status)
    click.echo(", ".join(f"{name} {count}" for name, count in counts.items()))
    for message in messages:
        click.echo(
            f"{message.id}  {message.created_at:%Y-%m-%d %H:%M}Z  {message.channel}  "
            f"{message.kind}  {message.recipient_masked}  {message.locale}  {message.status}  "
            f"attempts {message.attempts}{_when(message)}"
        )
        if message.last_error and message.status != OutboxStatus.SENT:
            click.echo(f"    {message.last_error}")
    session.rollback()


def _when(message: OutboxMessage) -> str:
    if message.sent_at is not None:
        return f"  sent {message.sent_at:%Y-%m-%d %H:%M}Z"
    if message.status == OutboxStatus.PENDING:
        return f"  next {message.next_attempt_at:%Y-%m-%d %H:%M}Z"
    return ""


@outbox_group.command("test")
@click.argument("address")
@click.option("--locale", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def test_command(address: str, locale: str) -> None:
    """Queue a test message to ADDRESS (an e-mail address or a mainland mobile number).

    `verifier outbox send` (or the scheduler) then sends it: a way to check the settings.
    """
    from verifier.notifications.messages import enqueue_test_message

    try:
        with transaction() as session:
            message = enqueue_test_message(session, address.strip(), locale)
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"queued message {message.id} ({message.channel}) to {message.recipient_masked}; "
        "`verifier outbox send` sends it"
    )

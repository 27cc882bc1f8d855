"""Writing messages to the outbox: in the caller's session, so in the change's own transaction.

Delivery (`verifier outbox send`) is in verifier/notifications/sender.py.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verifier.crypto.encryption import Place, get_cipher
from verifier.db import utcnow
from verifier.notifications.models import Channel, OutboxMessage, OutboxStatus

# a mainland ID number (18 characters, the last a digit or X) anywhere in a text
_ID_NUMBER = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


def recipient_place(message_id: int) -> Place:
    return Place("outbox_messages", "recipient_enc", message_id, "outbox_messages.recipient")


def body_place(message_id: int) -> Place:
    return Place("outbox_messages", "body_enc", message_id, "outbox_messages.body")


def channel_for(address: str) -> Channel:
    """E-mail for an address with an @, a text message for a mainland mobile number."""
    if "@" in address:
        return Channel.EMAIL
    if _MOBILE.match(address):
        return Channel.SMS
    raise ValueError("an address is an e-mail address or a mainland mobile number")


def mask_address(address: str) -> str:
    """Show enough of an address to recognise it: z***@example.org, 138****5678."""
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"{address[:3]}****{address[-4:]}" if len(address) >= 7 else "****"


def contains_id_number(text: str) -> bool:
    return bool(_ID_NUMBER.search(text))


def mask_id_numbers(text: str) -> str:
    """Mask any ID number in a text (110**********1234) so that it may travel in a message."""
    return _ID_NUMBER.sub(lambda m: m.group(0)[:3] + "*" * 11 + m.group(0)[-4:], text)


def enqueue(
    session: Session,
    *,
    recipient: str,
    kind: str,
    subject: str,
    body: str,
    locale: str = "zh",
    user_id: int | None = None,
    volunteer_id: int | None = None,
) -> OutboxMessage:
    """Write one message to the outbox; it is sent after the caller's transaction commits.

    The address and the body are sealed with the data key. A message never carries an ID
    number: one that would is refused here (a programming error, not the user's).
    """
    if contains_id_number(subject) or contains_id_number(body):
        raise ValueError(f"{kind}: a message must not contain an ID number")
    message = OutboxMessage(
        channel=channel_for(recipient),
        kind=kind,
        recipient_enc=b"",  # sealed below, once the row has its id
        recipient_masked=mask_address(recipient),
        locale=locale,
        subject=subject[:200],
        body_enc=b"",
        user_id=user_id,
        volunteer_id=volunteer_id,
        message_key=secrets.token_hex(16),
        status=OutboxStatus.PENDING,
        next_attempt_at=utcnow(),
    )
    session.add(message)
    session.flush()
    cipher = get_cipher()
    message.recipient_enc = cipher.seal_text(recipient, recipient_place(message.id))
    message.body_enc = cipher.seal_text(body, body_place(message.id))
    session.flush()
    return message


def status_counts(session: Session) -> dict[str, int]:
    """Count the outbox's messages by status (every status, zero included)."""
    counts = dict.fromkeys(OutboxStatus, 0)
    for status, count in session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ):
        counts[OutboxStatus(status)] = int(count)
    return {str(status): count for status, count in counts.items()}


def recent_messages(
    session: Session, *, limit: int = 20, status: str | None = None
) -> list[OutboxMessage]:
    """The latest messages, newest first (callers show masked recipients, never bodies)."""
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    return list(session.scalars(stmt))

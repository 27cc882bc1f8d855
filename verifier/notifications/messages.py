"""The outbox's own message: a test that the settings deliver (`verifier outbox test`)."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from verifier.notifications.models import OutboxMessage
from verifier.notifications.services import enqueue

TEST_KIND = "test"


def render_test_message() -> tuple[str, str]:
    """Return (subject, body) of the test message, in the current locale."""
    return (
        _("Test message from the volunteer service records"),
        _(
            "This is a test message. If you received it, messages from the volunteer service "
            "records reach this address. You need not do anything."
        ),
    )


def enqueue_test_message(session: Session, address: str, locale: str) -> OutboxMessage:
    """Queue the test message to an address, in a language."""
    with force_locale(locale):
        subject, body = render_test_message()
    return enqueue(
        session,
        recipient=address,
        kind=TEST_KIND,
        subject=str(subject),
        body=str(body),
        locale=locale,
    )

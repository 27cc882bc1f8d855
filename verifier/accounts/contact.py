"""Reaching a volunteer: their account's login, else the mobile number on file."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.auth.models import Role, User
from verifier.crypto.encryption import get_cipher
from verifier.notifications.models import OutboxMessage
from verifier.notifications.services import enqueue
from verifier.volunteers.models import Volunteer
from verifier.volunteers.services import phone_place

DEFAULT_LOCALE = "zh"


def account_of(session: Session, volunteer: Volunteer) -> User | None:
    """Return the volunteer's own account (active or not), or None."""
    return session.scalar(
        select(User).where(User.volunteer_id == volunteer.id, User.role == Role.VOLUNTEER)
    )


def address_of(session: Session, volunteer: Volunteer) -> tuple[str, str, User | None] | None:
    """Return (address, locale, account) to reach a volunteer, or None when there is none.

    An active account's login comes first; without one, the mobile number on file.
    """
    account = account_of(session, volunteer)
    if account is not None and account.active:
        return account.email, account.locale or DEFAULT_LOCALE, account
    if volunteer.phone_enc:
        phone = get_cipher().open_text(volunteer.phone_enc, phone_place(volunteer.id))
        if phone:
            return phone, DEFAULT_LOCALE, None
    return None


def notify_volunteer(
    session: Session,
    volunteer: Volunteer,
    *,
    kind: str,
    render: Callable[[], tuple[str, str]],
) -> OutboxMessage | None:
    """Queue a message to a volunteer, in their language; None when they cannot be reached.

    `render` returns (subject, body); it runs under the recipient's locale, so gettext in it
    gives their language.
    """
    found = address_of(session, volunteer)
    if found is None:
        return None
    address, locale, account = found
    with force_locale(locale):
        subject, body = render()
    return enqueue(
        session,
        recipient=address,
        kind=kind,
        subject=str(subject),
        body=str(body),
        locale=locale,
        user_id=account.id if account else None,
        volunteer_id=volunteer.id,
    )


def notify_user(
    session: Session, user: User, *, kind: str, render: Callable[[], tuple[str, str]]
) -> OutboxMessage:
    """Queue a message to a user's login (e-mail or mobile), in their language."""
    locale = user.locale or DEFAULT_LOCALE
    with force_locale(locale):
        subject, body = render()
    return enqueue(
        session,
        recipient=user.email,
        kind=kind,
        subject=str(subject),
        body=str(body),
        locale=locale,
        user_id=user.id,
        volunteer_id=user.volunteer_id,
    )

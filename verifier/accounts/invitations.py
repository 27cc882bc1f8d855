"""Invitation codes: an organisation invites one of its volunteers; the volunteer claims an account.

A code is 12 characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown as
XXXX-XXXX-XXXX and read back in any case, with or without spaces and dashes. Only its keyed
hash (the data key's look-up hash) is stored. Knowing a person's name and ID number is never
enough to claim them: the code is the only way in.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from verifier.accounts.contact import account_of, notify_volunteer
from verifier.accounts.models import VolunteerInvitation
from verifier.audit.services import record_event
from verifier.auth.models import Role, User
from verifier.auth.services import check_password_rules, hash_password, normalize_login
from verifier.crypto.encryption import get_cipher
from verifier.db import utcnow
from verifier.errors import Conflict, FieldError, Forbidden, ValidationError
from verifier.notifications.services import enqueue, mask_address
from verifier.orgs.services import require_active
from verifier.timeutil import to_local
from verifier.volunteers.models import Volunteer
from verifier.volunteers.services import phone_place, visible_volunteer

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 characters: 12 of them carry 59 bits
CODE_LENGTH = 12
INVITATION_DAYS = 14
# the code that proves a claimant's login: its digits, and the minutes of one time window
LOGIN_CODE_DIGITS = 8
LOGIN_CODE_MINUTES = 15
# the version of templates/accounts/_privacy_notice.html a volunteer accepts; change both together
PRIVACY_NOTICE_VERSION = "2026-1"
LOCALES = ("zh", "en")
CLAIM_PATH = "/account/claim"  # the claim page's route (views.py); in messages, after BASE_URL


def new_code() -> str:
    """Return a fresh invitation code, grouped XXXX-XXXX-XXXX."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return group_code(raw)


def group_code(raw: str) -> str:
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalize_code(text: str) -> str:
    """Return a typed code without case, spaces or dashes (not checked against the alphabet)."""
    return "".join(ch for ch in (text or "").upper() if ch not in " -\t\u3000")[:64]


def is_well_formed(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code)


def code_hashes(text: str) -> list[str]:
    """Return the keyed hashes a typed code is stored under (data key, then the previous one)."""
    return get_cipher().lookup_hashes("volunteer-invitation:" + normalize_code(text))


def claim_url() -> str:
    """The public address of the claim page, as a volunteer types or taps it."""
    return str(current_app.config["BASE_URL"]).rstrip("/") + CLAIM_PATH


@dataclass(frozen=True)
class NewInvitation:
    """An invitation just made, with its code (shown once, never stored)."""

    invitation: VolunteerInvitation
    code: str
    sent_to: str | None  # the masked address the code was also sent to, if any

    @property
    def expires_at(self) -> datetime:
        return self.invitation.expires_at


def create_invitation(session: Session, actor: User, volunteer_id: int) -> NewInvitation:
    """Make a new invitation code for one of the actor's organisation's volunteers.

    Another organisation's volunteer answers 404 like any id the actor may not see. Open
    invitations of the same volunteer (from any organisation) are revoked: only the newest works.
    """
    volunteer = visible_volunteer(session, actor, volunteer_id)
    organisation = actor.organisation
    if organisation is None:  # the route admits organisation roles only
        raise Forbidden(_("only an organisation may invite its volunteers"))
    require_active(organisation)
    if volunteer.merged_into_id is not None:
        message = _("this volunteer was merged into another; invite that one instead")
        raise Conflict(message, errors=[FieldError("volunteer_id", "merged", message)])
    if account_of(session, volunteer) is not None:
        message = _("this volunteer already has an account")
        raise Conflict(message, errors=[FieldError("volunteer_id", "already_claimed", message)])
    now = utcnow()
    session.execute(
        update(VolunteerInvitation)
        .where(
            VolunteerInvitation.volunteer_id == volunteer.id,
            VolunteerInvitation.used_at.is_(None),
            VolunteerInvitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    code = new_code()
    invitation = VolunteerInvitation(
        volunteer_id=volunteer.id,
        organisation_id=organisation.id,
        code_hash=code_hashes(code)[0],
        created_by_id=actor.id,
        created_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    )
    session.add(invitation)
    session.flush()
    message = notify_volunteer(
        session,
        volunteer,
        kind="invitation",
        render=lambda: _invitation_message(organisation.name, code, invitation.expires_at),
    )
    sent_to = message.recipient_masked if message is not None else None
    record_event(
        session,
        actor,
        "volunteer.invite",
        "volunteer",
        volunteer.id,
        organisation_id=organisation.id,
        details={
            "invitation": invitation.id,
            "expires_at": invitation.expires_at.isoformat(),
            "sent_to": sent_to,
        },
    )
    return NewInvitation(invitation, code, sent_to)


def _invitation_message(organisation: str, code: str, expires_at: datetime) -> tuple[str, str]:
    subject = _("Your volunteer account invitation")
    body = _(
        "%(organisation)s invites you to see your volunteer service records. Open %(url)s and "
        "enter the code %(code)s (valid until %(until)s). Do not share the code: it opens your "
        "account.",
        organisation=organisation,
        url=claim_url(),
        code=code,
        until=to_local(expires_at).strftime("%Y-%m-%d %H:%M"),
    )
    return subject, body


@dataclass(frozen=True)
class ClaimInput:
    code: str
    login: str
    password: str
    accept_privacy_notice: bool
    login_code: str
    locale: str = "zh"


def _code_refused(
    rule: str, message: str, status: type[ValidationError] | type[Conflict]
) -> NoReturn:
    if status is Conflict:
        raise Conflict(message, errors=[FieldError("code", rule, message)])
    raise ValidationError(message, field="code", rule=rule)


def _check_claim_input(data: ClaimInput) -> str:
    """Check what needs no code: the privacy notice, the login's form, the password rules."""
    errors: list[FieldError] = []
    if data.accept_privacy_notice is not True:
        errors.append(
            FieldError(
                "accept_privacy_notice",
                "required",
                _("read the privacy notice and accept it to create your account"),
            )
        )
    login = ""
    try:
        login = normalize_login(data.login)
    except ValidationError as error:
        errors.extend(error.errors)
    try:
        check_password_rules(data.password)
    except ValidationError as error:
        errors.extend(error.errors)
    if not data.code.strip():
        errors.append(FieldError("code", "required", _("enter the invitation code")))
    if errors:
        raise ValidationError(errors=errors)
    return login


def _find_invitation(session: Session, text: str) -> VolunteerInvitation | None:
    code = normalize_code(text)
    if not is_well_formed(code):
        return None
    return session.scalars(
        select(VolunteerInvitation).where(VolunteerInvitation.code_hash.in_(code_hashes(code)))
    ).first()


def _usable_invitation(
    session: Session, code_text: str, login: str
) -> tuple[VolunteerInvitation, Volunteer]:
    """Return the invitation a code names and its volunteer, if it may still be claimed by
    this login; else refuse naming the rule (the same refusals for both claim steps)."""
    invitation = _find_invitation(session, code_text)
    if invitation is None:
        raise ValidationError(
            _(
                "this invitation code is not valid; check it, or ask your organisation "
                "for a new one"
            ),
            field="code",
            rule="invalid",
        )
    now = utcnow()
    if invitation.used_at is not None:
        _code_refused("used", _("this invitation code was already used"), Conflict)
    if invitation.revoked_at is not None:
        _code_refused(
            "revoked",
            _("a newer invitation code replaced this one; use the newest code you received"),
            ValidationError,
        )
    if invitation.expires_at <= now:
        _code_refused(
            "expired",
            _("this invitation code has expired; ask your organisation for a new one"),
            ValidationError,
        )
    volunteer = session.get(Volunteer, invitation.volunteer_id)
    assert volunteer is not None  # a foreign key
    if volunteer.merged_into_id is not None:  # merged after the code was made: a duplicate row
        _code_refused(
            "merged",
            _("this invitation code is for a record that was merged; ask for a new code"),
            Conflict,
        )
    if account_of(session, volunteer) is not None:
        _code_refused("already_claimed", _("this volunteer already has an account"), Conflict)
    if session.scalar(select(User.id).where(User.email == login)) is not None:
        _login_taken()
    return invitation, volunteer


def _login_code_at(code: str, login: str, window: int) -> list[str]:
    """The login codes of one time window (one per data key still read: a rotation keeps them)."""
    return [
        f"{int(digest[:15], 16) % 10**LOGIN_CODE_DIGITS:0{LOGIN_CODE_DIGITS}d}"
        for digest in get_cipher().lookup_hashes(f"claim-login:{code}:{login}:{window}")
    ]


def _window(now: datetime) -> int:
    return int(now.timestamp()) // (LOGIN_CODE_MINUTES * 60)


def login_code_for(code_text: str, login_text: str, now: datetime | None = None) -> str:
    """The code that proves a login for a claim with one invitation code (sent to the login).

    Derived, not stored: a keyed hash (the data key's look-up key) of the invitation code, the
    login and the time window, so it is valid for LOGIN_CODE_MINUTES to twice that and only
    for that invitation and that login.
    """
    return _login_code_at(
        normalize_code(code_text), normalize_login(login_text), _window(now or utcnow())
    )[0]


def _check_login_code(code_text: str, login: str, typed: str) -> None:
    typed = "".join(typed.split())
    window = _window(utcnow())
    code = normalize_code(code_text)
    expected = [c for w in (window, window - 1) for c in _login_code_at(code, login, w)]
    # compare_digest takes ASCII text only: anything else (full-width digits …) is simply wrong
    if not typed or not typed.isascii() or not any(hmac.compare_digest(typed, c) for c in expected):
        raise ValidationError(
            _(
                "the code sent to your e-mail address or mobile number is wrong or has "
                "expired; ask for a new one"
            ),
            field="login_code",
            rule="invalid",
        )


def send_login_code(session: Session, code_text: str, login_text: str, locale: str) -> str:
    """Send the claim's login code to the login, proving it is the claimant's; return the
    masked address. The invitation code must still be claimable and the login free."""
    errors: list[FieldError] = []
    login = ""
    try:
        login = normalize_login(login_text)
    except ValidationError as error:
        errors.extend(error.errors)
    if not code_text.strip():
        errors.append(FieldError("code", "required", _("enter the invitation code")))
    if errors:
        raise ValidationError(errors=errors)
    invitation, volunteer = _usable_invitation(session, code_text, login)
    code = login_code_for(code_text, login)
    locale = locale if locale in LOCALES else "zh"
    with force_locale(locale):
        subject = _("Your code to open your volunteer account")
        body = _(
            "Your code: %(code)s. Type it on the page where you are opening your volunteer "
            "account (invitation from %(organisation)s); it is valid for %(minutes)d minutes. "
            "If you are not opening an account, ignore this message.",
            code=code,
            organisation=invitation.organisation.name,
            minutes=LOGIN_CODE_MINUTES,
        )
    enqueue(
        session,
        recipient=login,
        kind="claim_login_code",
        subject=str(subject),
        body=str(body),
        locale=locale,
        volunteer_id=volunteer.id,
    )
    return mask_address(login)


def claim_account(session: Session, data: ClaimInput) -> User:
    """Create a volunteer's account with an invitation code; the code is used up.

    Refusals name the rule: `code`/`invalid` for a code that is not one (whether it ever
    existed is not said), `used`, `expired`, `revoked` (a newer code replaced it),
    `already_claimed` (the volunteer has an account), `login`/`unique` (the login is taken).
    Of two claims of one code at the same moment exactly one succeeds: the code is taken by a
    conditional UPDATE (`used_at IS NULL`), which the second waits on and then finds done.
    """
    login = _check_claim_input(data)
    invitation, volunteer = _usable_invitation(session, data.code, login)
    _check_login_code(data.code, login, data.login_code)
    now = utcnow()
    taken = session.execute(
        update(VolunteerInvitation)
        .where(
            VolunteerInvitation.id == invitation.id,
            VolunteerInvitation.used_at.is_(None),
            VolunteerInvitation.revoked_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result has a rowcount
        # another claim (or a newer invitation) got there between our read and our write
        _code_refused("used", _("this invitation code was already used"), Conflict)
    user = User(
        email=login,
        password_hash=hash_password(data.password),
        role=Role.VOLUNTEER,
        volunteer_id=volunteer.id,
        locale=data.locale if data.locale in LOCALES else "zh",
        privacy_accepted_at=now,
        privacy_notice_version=PRIVACY_NOTICE_VERSION,
    )
    try:
        with session.begin_nested():  # the same login, or this volunteer, claimed at this moment
            session.add(user)
    except IntegrityError:
        if session.scalar(select(User.id).where(User.email == login)) is not None:
            _login_taken()
        _code_refused("already_claimed", _("this volunteer already has an account"), Conflict)
    invitation.used_by_id = user.id
    session.flush()
    record_event(
        session,
        user,
        "account.claim",
        "user",
        user.id,
        organisation_id=invitation.organisation_id,
        details={
            "volunteer": volunteer.id,
            "invitation": invitation.id,
            "login": mask_address(login),
            "privacy_notice_version": PRIVACY_NOTICE_VERSION,
        },
    )
    _tell_the_phone_on_file(session, volunteer, login, invitation.organisation.name)
    return user


def _tell_the_phone_on_file(
    session: Session, volunteer: Volunteer, login: str, organisation: str
) -> None:
    """Tell the mobile number on file that an account was opened in the volunteer's name.

    The invitation code passes through the organisation's hands (its sheet, its API answer), so
    the person it is about hears of every claim made with it, on the number the organisation
    registered for them, unless that number is the new login itself.
    """
    if not volunteer.phone_enc:
        return
    phone = get_cipher().open_text(volunteer.phone_enc, phone_place(volunteer.id))
    if not phone or phone == login:
        return
    with force_locale("zh"):
        subject = _("An account was opened in your name")
        body = _(
            "An account of the volunteer service records was opened in your name with the "
            "login %(login)s, using an invitation code from %(organisation)s. If this was not "
            "you, tell %(organisation)s or the civil affairs bureau at once.",
            login=mask_address(login),
            organisation=organisation,
        )
    enqueue(
        session,
        recipient=phone,
        kind="account_claimed",
        subject=str(subject),
        body=str(body),
        locale="zh",
        volunteer_id=volunteer.id,
    )


def _login_taken() -> NoReturn:
    message = _("this e-mail address or mobile number is already used by another account")
    raise Conflict(message, errors=[FieldError("login", "unique", message)])

"""Changing a password, and resetting a forgotten one with a code sent to the login."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from verifier.accounts.contact import notify_user
from verifier.accounts.models import CodePurpose, OneTimeCode
from verifier.audit.services import record_event
from verifier.auth.models import ApiToken, User
from verifier.auth.services import (
    check_password,
    check_password_rules,
    end_sessions,
    hash_password,
    normalize_login,
)
from verifier.crypto.encryption import get_cipher
from verifier.db import utcnow
from verifier.errors import ValidationError

RESET_CODE_DIGITS = 8
RESET_CODE_MINUTES = 15
RESET_CODE_MAX_TRIES = 5  # wrong codes typed against one code before it dies


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Change a signed-in user's password; every other session of theirs ends.

    API tokens are kept (they are listed, and revoked, on the tokens page).
    """
    if not check_password(user, current):
        raise ValidationError(
            _("the current password is wrong"), field="current_password", rule="wrong_password"
        )
    check_password_rules(new, field="new_password")
    if new == current:
        raise ValidationError(
            _("the new password is the same as the current one"),
            field="new_password",
            rule="unchanged",
        )
    _set_password(session, user, new)
    record_event(
        session,
        user,
        "account.password_change",
        "user",
        user.id,
        organisation_id=user.organisation_id,
    )


def _set_password(session: Session, user: User, new: str) -> None:
    user.password_hash = hash_password(new)
    end_sessions(session, user)  # every cookie issued before now stops working


def _revoke_tokens(session: Session, user: User) -> int:
    """Revoke every API token of the user: after a reset, whoever knew the old password may
    have made one."""
    revoked = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(revoked.rowcount)  # type: ignore[attr-defined]  # an UPDATE's result has one


def _reset_hashes(user_id: int, code: str) -> list[str]:
    return get_cipher().lookup_hashes(f"password-reset:{user_id}:{code}")


def request_reset(session: Session, login: str) -> None:
    """Send a reset code to the login, if an active account uses it; say nothing either way.

    The answer is the same whether or not the login belongs to an account, so the reset page
    tells no one which logins exist. A new code replaces the user's older open ones.
    """
    login = normalize_login(login)
    user = session.scalars(select(User).where(User.email == login)).first()
    if user is None or not user.active:
        return
    now = utcnow()
    session.execute(
        update(OneTimeCode)
        .where(
            OneTimeCode.user_id == user.id,
            OneTimeCode.purpose == CodePurpose.PASSWORD_RESET,
            OneTimeCode.used_at.is_(None),
            OneTimeCode.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    code = f"{secrets.randbelow(10**RESET_CODE_DIGITS):0{RESET_CODE_DIGITS}d}"
    session.add(
        OneTimeCode(
            user_id=user.id,
            purpose=CodePurpose.PASSWORD_RESET,
            code_hash=_reset_hashes(user.id, code)[0],
            created_at=now,
            expires_at=now + timedelta(minutes=RESET_CODE_MINUTES),
        )
    )
    session.flush()
    notify_user(
        session,
        user,
        kind="password_reset",
        render=lambda: (
            _("Your password reset code"),
            _(
                "Your code to reset your password is %(code)s. It is valid for %(minutes)d "
                "minutes. If you did not ask for it, ignore this message: your password stays "
                "as it is.",
                code=code,
                minutes=RESET_CODE_MINUTES,
            ),
        ),
    )
    record_event(
        session,
        user,
        "account.reset_requested",
        "user",
        user.id,
        organisation_id=user.organisation_id,
    )


def reset_password(session: Session, login: str, code: str, new: str) -> User:
    """Set a new password with a reset code; every session of the user ends.

    A wrong code counts against the open code (it dies after RESET_CODE_MAX_TRIES) and the count
    is flushed before the refusal is raised: the caller keeps it (no savepoint around this call),
    as sign-in keeps a counted failure. An unknown login, no open code, an expired, used-up or
    wrong code are one refusal (`code`/`invalid`), so nothing tells which it was.
    """
    check_password_rules(new, field="new_password")
    login = normalize_login(login)
    refused = ValidationError(
        _("the code is wrong or has expired; ask for a new one"), field="code", rule="invalid"
    )
    user = session.scalars(select(User).where(User.email == login)).first()
    if user is None or not user.active:
        raise refused
    now = utcnow()
    row = session.scalars(
        select(OneTimeCode)
        .where(
            OneTimeCode.user_id == user.id,
            OneTimeCode.purpose == CodePurpose.PASSWORD_RESET,
            OneTimeCode.used_at.is_(None),
            OneTimeCode.expires_at > now,
            OneTimeCode.attempts < RESET_CODE_MAX_TRIES,
        )
        .order_by(OneTimeCode.id.desc())
        .limit(1)
        .with_for_update()  # wrong tries at the same moment are each counted
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise refused
    typed = "".join(ch for ch in code if not ch.isspace())[:32]
    if not any(hmac.compare_digest(row.code_hash, h) for h in _reset_hashes(user.id, typed)):
        row.attempts += 1
        session.flush()
        raise refused
    row.used_at = now
    user.failed_logins = 0  # the owner proved the login is theirs: the account's back-off ends
    user.locked_until = None
    _set_password(session, user, new)
    revoked = _revoke_tokens(session, user)
    record_event(
        session,
        user,
        "account.password_reset",
        "user",
        user.id,
        organisation_id=user.organisation_id,
        details={"tokens_revoked": revoked},
    )
    return user

"""Users, passwords, sign-in throttling and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from verifier.audit.services import record_event
from verifier.auth.models import (
    ORG_ADMIN,
    ORG_RECORDER,
    ORG_ROLES,
    PLATFORM_ADMIN,
    ROLES,
    STAFF_ROLES,
    ApiToken,
    SignInFailure,
    User,
)
from verifier.db import utcnow
from verifier.errors import Conflict, FieldError, Forbidden, NotFound, ValidationError
from verifier.paging import paginate
from verifier.text import check_characters

if TYPE_CHECKING:  # annotations only: organisations need auth's roles and access rules
    from verifier.orgs.models import Organisation

_STRONG = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile defaults
# The test suite hashes hundreds of passwords; the strong profile would cost minutes there.
_FAST_FOR_TESTS = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_DUMMY_HASHES: dict[int, str] = {}


def _hasher() -> PasswordHasher:
    if has_app_context() and current_app.config.get("ENV") == "testing":
        return _FAST_FOR_TESTS
    return _STRONG


def _dummy_hash() -> str:
    """A hash to verify against when the e-mail is unknown, so timing does not reveal accounts."""
    hasher = _hasher()
    if id(hasher) not in _DUMMY_HASHES:
        _DUMMY_HASHES[id(hasher)] = hasher.hash("not-a-real-password")
    return _DUMMY_HASHES[id(hasher)]


TOKEN_PREFIX = "vfr_"  # noqa: S105 (a prefix, not a secret)
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    """Hash a password with Argon2id."""
    return _hasher().hash(password)


def check_password_rules(password: str, field: str = "password") -> None:
    """Refuse passwords that are too short or too simple."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            _("password must be at least %(n)d characters", n=MIN_PASSWORD_LENGTH),
            field=field,
            rule="password_length",
        )
    if len(set(password)) < 4:
        raise ValidationError(_("password is too simple"), field=field, rule="password_strength")


def normalize_email(email: str, field: str = "email") -> str:
    """Return the e-mail in lower case, or raise if it is not an address."""
    value = (email or "").strip().lower()
    if not re.fullmatch(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+", value) or len(value) > 254:
        raise ValidationError(_("not a valid e-mail address"), field=field, rule="email")
    return value


_MOBILE_LOGIN = re.compile(r"1[3-9][0-9]{9}")
# what people type around a mobile number: spaces, dashes, brackets, the country code
_MOBILE_DECORATION = re.compile(r"[\s\-()]")


def normalize_login(login: str, field: str = "login") -> str:
    """Return a login as stored: an e-mail address in lower case, or an 11-digit mobile number.

    A mainland mobile number may be typed with spaces or dashes and with +86 or 0086 before it.
    """
    text = (login or "").strip()
    message = _("enter an e-mail address or a mainland mobile number (11 digits, starting with 1)")
    if "@" in text:
        try:
            return normalize_email(text, field)
        except ValidationError:
            raise ValidationError(message, field=field, rule="login") from None
    digits = _MOBILE_DECORATION.sub("", text)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    if not _MOBILE_LOGIN.fullmatch(digits):
        raise ValidationError(message, field=field, rule="login")
    return digits


def check_password(user: User, password: str) -> bool:
    """Tell whether a password is the user's (Argon2id verification)."""
    return _verify(user.password_hash, password)


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    role: str,
    organisation: Organisation | None = None,
    display_name: str = "",
    actor: User | None = None,
) -> User:
    """Create a user; organisation roles need an organisation, other roles must not have one."""
    email = normalize_email(email)
    if role not in STAFF_ROLES:
        staff = ", ".join(r for r in ROLES if r in STAFF_ROLES)
        raise ValidationError(
            _("unknown role %(role)s; use one of %(roles)s", role=role, roles=staff),
            field="role",
            rule="role",
        )
    if role in ORG_ROLES and organisation is None:
        raise ValidationError(
            _("role %(role)s needs an organisation", role=role),
            field="organisation",
            rule="required",
        )
    if role not in ORG_ROLES and organisation is not None:
        raise ValidationError(
            _("role %(role)s does not belong to an organisation", role=role),
            field="organisation",
            rule="not_allowed",
        )
    check_password_rules(password)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        message = _("a user with e-mail %(email)s already exists", email=email)
        raise Conflict(message, errors=[FieldError("email", "unique", message)])
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=role,
        organisation_id=organisation.id if organisation else None,
        display_name=check_characters(
            display_name.strip()[:100], field="display_name", label=_("display name")
        ),
    )
    session.add(user)
    session.flush()
    record_event(
        session,
        actor,
        "user.create",
        "user",
        user.id,
        organisation_id=user.organisation_id,
        details={"email": email, "role": role},
    )
    return user


def set_role(session: Session, user: User, role: str, actor: User | None) -> None:
    """Change a user's role, keeping the organisation rule; only a platform admin may do this."""
    if actor is not None and actor.role != PLATFORM_ADMIN:
        raise Forbidden(_("only a platform administrator may change roles"))
    if role not in STAFF_ROLES or user.role not in STAFF_ROLES:
        # a volunteer's account is tied to their volunteer row: it never becomes staff
        raise ValidationError(_("unknown role %(role)s", role=role), field="role", rule="role")
    if (role in ORG_ROLES) != (user.organisation_id is not None):
        raise ValidationError(
            _("role %(role)s does not fit this user's organisation", role=role),
            field="role",
            rule="role_org",
        )
    old = user.role
    user.role = role
    session.flush()
    record_event(
        session,
        actor,
        "user.role",
        "user",
        user.id,
        organisation_id=user.organisation_id,
        details={"from": old, "to": role},
    )


@dataclass(frozen=True)
class SignInResult:
    """The outcome of a sign-in attempt; failures are kept, so the caller must commit either way."""

    user: User | None
    message: str = ""


@dataclass(frozen=True)
class LockoutPolicy:
    """When failed sign-ins lock: an account and address pair, and (later, briefly) the account."""

    max_failures: int = 5  # per account and address, within lock_minutes
    lock_minutes: int = 15
    account_max_failures: int = 50  # from every address, since the last success
    account_lock_max_minutes: int = 60

    @classmethod
    def from_config(cls) -> LockoutPolicy:
        config = current_app.config
        return cls(
            config["LOGIN_MAX_FAILURES"],
            config["LOGIN_LOCK_MINUTES"],
            config["LOGIN_ACCOUNT_MAX_FAILURES"],
            config["LOGIN_ACCOUNT_LOCK_MAX_MINUTES"],
        )

    def account_lock(self, failures: int) -> timedelta | None:
        """The account-wide back-off after this many failures: 1, 2, 4 ... minutes, capped."""
        if failures <= 0 or failures % self.account_max_failures:
            return None
        steps = failures // self.account_max_failures
        return timedelta(minutes=min(2 ** min(steps - 1, 30), self.account_lock_max_minutes))


# An address the owner signed in from this recently is not subject to the account's back-off.
TRUSTED_ADDRESS_DAYS = 90


def address_key(address: str) -> str:
    """Return the keyed hash under which a client address is kept (never the address itself)."""
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(secret, b"sign-in-address:" + address.encode("utf-8"), "sha256").hexdigest()


def _failure_row(session: Session, user: User, key: str, *, create: bool) -> SignInFailure | None:
    stmt = select(SignInFailure).where(
        SignInFailure.user_id == user.id, SignInFailure.address_key == key
    )
    row = session.scalars(stmt).first()
    if row is not None or not create:
        return row
    row = SignInFailure(user_id=user.id, address_key=key, failures=0, last_failed_at=utcnow())
    try:
        with session.begin_nested():  # two first failures at once: the second reads the first's
            session.add(row)
    except IntegrityError:
        row = session.scalars(stmt).one()
    return row


def authenticate(
    session: Session,
    email: str,
    password: str,
    *,
    address: str = "",
    policy: LockoutPolicy | None = None,
) -> SignInResult:
    """Check a login and password; lock the account and address pair after repeated failures.

    The login is an e-mail address or, for a volunteer's account, a mainland mobile number.

    Failures from one address lock only that address out of the account, so knowing someone's
    e-mail is not enough to lock them out. Failures from every address together make the account
    back off (1, 2, 4 ... minutes), which bounds a distributed guesser; the back-off does not
    apply at an address the owner signed in from within TRUSTED_ADDRESS_DAYS, so many addresses
    together cannot keep the owner out either. The user's row is locked while the counters
    change, so attempts at the same moment are each counted.
    """
    policy = policy or LockoutPolicy.from_config()
    # one message for every failure, so sign-in reveals neither which accounts exist nor their state
    message = _(
        "wrong e-mail or password; after repeated failures an account is locked for a while"
    )
    try:
        email = normalize_login(email)
    except ValidationError:
        return SignInResult(None, message)
    user = session.scalars(select(User).where(User.email == email)).first()
    now = utcnow()
    if user is None:
        _verify(_dummy_hash(), password)
        return SignInResult(None, message)
    # hash the password whatever the account's state, so the time taken tells nothing about it
    password_ok = _verify(user.password_hash, password)
    user = session.scalars(  # the counters below change one attempt at a time
        select(User)
        .where(User.id == user.id)
        .options(lazyload(User.organisation))
        .with_for_update(of=User)
        .execution_options(populate_existing=True)
    ).one()
    key = address_key(address)
    pair = _failure_row(session, user, key, create=False)
    trusted = (
        pair is not None
        and pair.succeeded_at is not None
        and pair.succeeded_at > now - timedelta(days=TRUSTED_ADDRESS_DAYS)
    )
    backing_off = user.locked_until is not None and user.locked_until > now and not trusted
    if backing_off or (
        pair is not None and pair.locked_until is not None and pair.locked_until > now
    ):
        return SignInResult(None, message)
    if not user.active or not password_ok:
        pair = pair or _failure_row(session, user, key, create=True)
        assert pair is not None
        if pair.last_failed_at < now - timedelta(minutes=policy.lock_minutes):
            pair.failures = 0  # old failures are forgotten
        pair.failures += 1
        pair.last_failed_at = now
        user.failed_logins += 1
        details: dict[str, object] = {
            "failures": pair.failures,
            "account_failures": user.failed_logins,
        }
        if pair.failures >= policy.max_failures:
            pair.locked_until = now + timedelta(minutes=policy.lock_minutes)
            pair.failures = 0
            details["address_locked_until"] = pair.locked_until.isoformat()
        back_off = policy.account_lock(user.failed_logins)
        if back_off is not None:
            user.locked_until = now + back_off
            details["locked_until"] = user.locked_until.isoformat()
        session.flush()
        record_event(session, user, "auth.sign_in_failed", "user", user.id, details=details)
        return SignInResult(None, message)
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    pair = pair or _failure_row(session, user, key, create=True)
    assert pair is not None
    pair.failures = 0
    pair.locked_until = None
    pair.succeeded_at = now  # a known address: the account-wide back-off does not apply here
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    record_event(
        session, user, "auth.sign_in", "user", user.id, organisation_id=user.organisation_id
    )
    return SignInResult(user)


def end_sessions(session: Session, user: User) -> None:
    """Sign a user out everywhere: every session cookie issued before now stops working."""
    user.session_epoch += 1
    session.flush()
    record_event(
        session, user, "auth.sign_out", "user", user.id, organisation_id=user.organisation_id
    )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_digest(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough to store them.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, user: User, name: str = "", actor: User | None = None) -> str:
    """Create an API token for a user; return the token itself, which is never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=check_characters(name.strip()[:100], field="name", label=_("token name")),
        prefix=token[:10],
        token_hash=_token_digest(token),
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        actor or user,
        "token.create",
        "api_token",
        row.id,
        organisation_id=user.organisation_id,
        details={"user": user.email, "prefix": row.prefix},
    )
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """Return the active user that owns a live token, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == _token_digest(token))
    ).first()
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now
    return row.user


def revoke_token(session: Session, token_id: int, actor: User) -> ApiToken:
    """Revoke a token; its owner or a platform admin may do this."""
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != actor.id and actor.role != PLATFORM_ADMIN):
        raise NotFound(_("no such API token"))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        record_event(
            session,
            actor,
            "token.revoke",
            "api_token",
            row.id,
            organisation_id=row.user.organisation_id,
            details={"prefix": row.prefix},
        )
    return row


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """Return a user's tokens, newest first."""
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def get_user_by_email(session: Session, email: str) -> User:
    """Return the user with this e-mail or raise NotFound."""
    user = session.scalars(select(User).where(User.email == normalize_email(email))).first()
    if user is None:
        raise NotFound(_("no user with e-mail %(email)s", email=email))
    return user


def create_user_by(
    session: Session,
    actor: User,
    *,
    email: str,
    password: str,
    role: str,
    organisation: Organisation | None,
    display_name: str = "",
) -> User:
    """Create a user for an actor: platform admins any user, org admins their own recorders."""
    if actor.role == ORG_ADMIN:
        if role != ORG_RECORDER:
            raise ValidationError(
                _("an organisation administrator may create only recorders (org_recorder)"),
                field="role",
                rule="org_admin_creates_recorders",
            )
        if organisation is None or organisation.id != actor.organisation_id:
            raise Forbidden(_("you may create users only for your own organisation"))
    elif actor.role != PLATFORM_ADMIN:
        raise Forbidden(_("your role may not create users"))
    return create_user(
        session,
        email=email,
        password=password,
        role=role,
        organisation=organisation,
        display_name=display_name,
        actor=actor,
    )


def manageable_user(session: Session, actor: User, user_id: int) -> User:
    """Return a user the actor may see and manage (org admins: their organisation's), or raise."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("no such user"))
    if actor.role == PLATFORM_ADMIN:
        return user
    if actor.role == ORG_ADMIN and user.organisation_id == actor.organisation_id:
        return user
    raise NotFound(_("no such user"))


def set_active(session: Session, user: User, active: bool, actor: User) -> None:
    """Deactivate or reactivate a user; org admins only their own organisation's recorders."""
    if user.id == actor.id:
        raise ValidationError(
            _("you cannot deactivate or reactivate your own account"),
            field="active",
            rule="not_self",
        )
    allowed = actor.role == PLATFORM_ADMIN or (
        actor.role == ORG_ADMIN
        and user.role == ORG_RECORDER
        and user.organisation_id == actor.organisation_id
    )
    if not allowed:
        raise Forbidden(_("your role may not change this user"))
    if user.active == active:
        return
    user.active = active
    if not active:
        user.session_epoch += 1  # a deactivated user's open sessions end now
    session.flush()
    record_event(
        session,
        actor,
        "user.activate" if active else "user.deactivate",
        "user",
        user.id,
        organisation_id=user.organisation_id,
        details={"email": user.email},
    )


def list_users(
    session: Session,
    actor: User,
    *,
    query: str = "",
    organisation_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[User], int]:
    """Return one page of the users the actor may manage, and the total."""
    stmt = select(User)
    if actor.role == ORG_ADMIN:
        stmt = stmt.where(User.organisation_id == actor.organisation_id)
    elif actor.role != PLATFORM_ADMIN:
        raise Forbidden(_("your role may not manage users"))
    elif organisation_id is not None:
        stmt = stmt.where(User.organisation_id == organisation_id)
    query = (query or "").strip().lower()
    if query:
        like = f"%{query}%"
        stmt = stmt.where(or_(User.email.like(like), User.display_name.like(like)))
    return paginate(session, stmt, User.email, page=page, per_page=per_page)

"""Users, roles and API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from verifier.codes import one_of
from verifier.db import Base, utcnow


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    ORG_ADMIN = "org_admin"
    ORG_RECORDER = "org_recorder"
    REGULATOR_SUPERVISOR = "regulator_supervisor"
    REGULATOR_INSPECTOR = "regulator_inspector"
    # a volunteer with their own account (verifier/accounts): sees only what is about them
    VOLUNTEER = "volunteer"


# Short names for the roles: every route declares who may use it with them.
PLATFORM_ADMIN = Role.PLATFORM_ADMIN
ORG_ADMIN = Role.ORG_ADMIN
ORG_RECORDER = Role.ORG_RECORDER
REGULATOR_SUPERVISOR = Role.REGULATOR_SUPERVISOR
REGULATOR_INSPECTOR = Role.REGULATOR_INSPECTOR
VOLUNTEER = Role.VOLUNTEER

ROLES = tuple(Role)
_ORG_ROLES = (ORG_ADMIN, ORG_RECORDER)  # in order: the check constraint lists them so
ORG_ROLES = frozenset(_ORG_ROLES)
REGULATOR_ROLES = frozenset({REGULATOR_SUPERVISOR, REGULATOR_INSPECTOR})
# everyone who works the service (organisations, regulators, the platform): not volunteers
STAFF_ROLES = frozenset(ROLES) - {VOLUNTEER}


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(one_of("role", Role), name="role_known"),
        CheckConstraint(
            f"({one_of('role', _ORG_ROLES)}) = (organisation_id IS NOT NULL)",
            name="org_role_has_org",
        ),
        CheckConstraint(
            f"(role = '{Role.VOLUNTEER.value}') = (volunteer_id IS NOT NULL)",
            name="volunteer_role_has_volunteer",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # the login: an e-mail address, or for a volunteer also a mainland mobile number
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    # Part of the session cookie's user id; bumping it ends every session of the user at once.
    session_epoch: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # a volunteer's account: the volunteer row it belongs to (one account per person)
    volunteer_id: Mapped[int | None] = mapped_column(
        ForeignKey("volunteers.id", use_alter=True), unique=True
    )
    # the language of the messages sent to this user (zh or en)
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    # when the user accepted the privacy notice, and which version of it
    privacy_accepted_at: Mapped[datetime | None]
    privacy_notice_version: Mapped[str] = mapped_column(String(16), default="")

    organisation = relationship("Organisation", lazy="joined")

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}.{self.session_epoch}"

    @property
    def is_org_user(self) -> bool:
        return self.role in ORG_ROLES

    @property
    def is_regulator(self) -> bool:
        return self.role in REGULATOR_ROLES

    @property
    def is_volunteer(self) -> bool:
        return self.role == Role.VOLUNTEER

    @property
    def label(self) -> str:
        return self.display_name or self.email


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class SignInFailure(Base):
    """Sign-ins to one account from one address: failures, that pair's lock, the last success.

    Locking the pair, not the account, means nobody can lock an account they know only the
    e-mail of: its owner, signing in from elsewhere, is not affected. The address is kept only
    as a keyed hash.
    """

    __tablename__ = "sign_in_failures"
    __table_args__ = (UniqueConstraint("user_id", "address_key", name="uq_sign_in_failures_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    address_key: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    # the last successful sign-in from this address: the account's back-off spares it
    succeeded_at: Mapped[datetime | None]

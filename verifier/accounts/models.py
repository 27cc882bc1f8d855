"""Invitation codes and one-time codes (password reset)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from verifier.codes import one_of
from verifier.db import Base, utcnow


class VolunteerInvitation(Base):
    """A one-time code an organisation gives one of its volunteers to claim an account.

    Only the code's keyed hash is kept; the code itself is shown once (and sent to the
    contact on file).
    """

    __tablename__ = "volunteer_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # a newer invitation for the same volunteer replaces this one
    revoked_at: Mapped[datetime | None]

    volunteer = relationship("Volunteer", lazy="joined")
    organisation = relationship("Organisation", lazy="joined")


class CodePurpose(StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105  (a purpose, not a password)


class OneTimeCode(Base):
    """A short code sent to a user's login (e-mail or mobile), e.g. to reset the password."""

    __tablename__ = "one_time_codes"
    __table_args__ = (CheckConstraint(one_of("purpose", CodePurpose), name="purpose_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # wrong guesses against this code; it dies after a few
    attempts: Mapped[int] = mapped_column(default=0)

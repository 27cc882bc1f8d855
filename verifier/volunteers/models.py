"""Volunteers and their membership of organisations."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from verifier.codes import one_of
from verifier.db import Base, utcnow
from verifier.identifiers import Gender, IdType


class Volunteer(Base):
    """A person; one row however many organisations register them."""

    __tablename__ = "volunteers"
    __table_args__ = (
        UniqueConstraint("id_lookup", name="uq_volunteers_id_lookup"),
        CheckConstraint(one_of("id_type", IdType), name="id_type_known"),
        CheckConstraint(one_of("gender", Gender, nullable=True), name="gender_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_number: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    gender: Mapped[str | None] = mapped_column(String(8))
    birth_date: Mapped[date | None]
    id_type: Mapped[str] = mapped_column(String(20))
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_lookup: Mapped[str] = mapped_column(String(64))
    id_masked: Mapped[str] = mapped_column(String(24))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_masked: Mapped[str] = mapped_column(String(20), default="")
    guardian_name: Mapped[str] = mapped_column(String(50), default="")
    guardian_consent_at: Mapped[datetime | None]
    guardian_consent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Bumped under a row lock whenever a record is written: serialises a volunteer's records.
    record_lock: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when this row was found to be the same person as another and merged into it
    # (`verifier volunteers merge`): its records moved there, its number still resolves.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"))
    merged_at: Mapped[datetime | None]

    # the volunteer's choice: public verification pages name the activities of their
    # certificates (True) or show only the totals (False, the default)
    public_activities: Mapped[bool] = mapped_column(default=False)

    merged_into: Mapped[Volunteer | None] = relationship(remote_side=[id], lazy="select")


class Membership(Base):
    """A volunteer registered with an organisation."""

    __tablename__ = "memberships"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(
        ForeignKey("volunteers.id"), primary_key=True, index=True
    )
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

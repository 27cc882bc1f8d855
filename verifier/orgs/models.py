"""Organisations that keep service records."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from verifier.codes import one_of
from verifier.db import Base, utcnow


class OrgType(StrEnum):
    VOLUNTEER_ORG = "volunteer_org"
    CHARITY = "charity"
    COMMUNITY = "community"
    EVENT_HOST = "event_host"
    PUBLIC_SERVICE = "public_service"


class OrgStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DEREGISTERED = "deregistered"


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(one_of("status", OrgStatus), name="status_known"),
        CheckConstraint(one_of("org_type", OrgType), name="type_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    org_type: Mapped[str] = mapped_column(String(32), default=OrgType.VOLUNTEER_ORG)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    status: Mapped[str] = mapped_column(String(16), default=OrgStatus.ACTIVE)
    responsible_person: Mapped[str] = mapped_column(String(50))
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # when the status last changed (None: active since registration, or changed before 0009)
    status_since: Mapped[datetime | None] = mapped_column(default=None)
    # a deregistered organisation's successor, which answers for its records (None: the platform)
    successor_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), default=None
    )
    successor: Mapped[Organisation | None] = relationship(remote_side=[id])

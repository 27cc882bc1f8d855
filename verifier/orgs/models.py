"""Organisations that keep service records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from verifier.db import Base, utcnow

ORG_TYPES = ("volunteer_org", "charity", "community", "event_host", "public_service")
ORG_STATUSES = ("active", "suspended", "deregistered")


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint("status IN ('active','suspended','deregistered')", name="status_known"),
        CheckConstraint(
            "org_type IN ('volunteer_org','charity','community','event_host','public_service')",
            name="type_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    org_type: Mapped[str] = mapped_column(String(32), default="volunteer_org")
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    responsible_person: Mapped[str] = mapped_column(String(50))
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

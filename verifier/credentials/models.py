"""Signed status-list credentials, kept so that a list is signed once per change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from verifier.db import Base


class SignedStatusList(Base):
    """The last BitstringStatusListCredential signed for one list and purpose.

    `fingerprint` covers what the credential says (the encoded list, the base URL and the signing
    key), so a request that finds it unchanged and not near `valid_until` serves `document` as is.
    """

    __tablename__ = "signed_status_lists"
    __table_args__ = (UniqueConstraint("list_number", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_number: Mapped[int]
    purpose: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]

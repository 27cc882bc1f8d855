"""The world of the certificate-request tests: two organisations, two volunteers with accounts."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pypdf import PdfReader
from sqlalchemy import select, update
from support import PASSWORD, Factory, bearer, days_ago

from verifier.auth.models import User
from verifier.auth.services import hash_password
from verifier.complaints.models import CertificateRequest
from verifier.crypto.encryption import get_cipher
from verifier.notifications.models import OutboxMessage
from verifier.notifications.services import body_place
from verifier.timeutil import local_today


def volunteer_account(make: Factory, volunteer: Any, email: str) -> Any:
    """A volunteer's own account (the accounts part builds these by invitation)."""

    def build(session: Any) -> User:
        user = User(
            role="volunteer",
            volunteer_id=volunteer.id,
            email=email,
            password_hash=hash_password(PASSWORD),
            display_name=volunteer.name,
        )
        session.add(user)
        session.flush()
        return user

    return make.run(build)


@dataclass
class World:
    make: Factory
    org: Any  # 南川区志愿者协会: keeps both volunteers' records
    other: Any  # another organisation; the volunteer is registered there too
    admin: Any
    recorder: Any
    other_admin: Any
    supervisor: Any
    inspector: Any
    volunteer: Any  # 张三, with an account
    user: Any
    stranger: Any  # 李四, another volunteer of org, with an account
    stranger_user: Any
    records: list[Any]

    def auth(self, who: str) -> dict[str, str]:
        """Bearer headers of one of the world's users, by attribute name; English messages."""
        return {**bearer(self.make.token(getattr(self, who))), "Accept-Language": "en"}


def build_world(make: Factory) -> World:
    org = make.org(name="南川区志愿者协会")
    other = make.org(name="南川区慈善会")
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, name="张三", phone="13800138000")
    # the same person registered with the other organisation: one volunteer, two memberships
    make.run(lambda session: _link(session, other.id, volunteer.id))
    stranger = make.volunteer(org, name="李四")
    records = [make.record(org, volunteer, actor=admin, started_at=days_ago(d)) for d in (40, 20)]
    make.record(org, stranger, actor=admin, started_at=days_ago(15))
    return World(
        make=make,
        org=org,
        other=other,
        admin=admin,
        recorder=make.user("org_recorder", org),
        other_admin=make.user("org_admin", other),
        supervisor=make.user("regulator_supervisor"),
        inspector=make.user("regulator_inspector"),
        volunteer=volunteer,
        user=volunteer_account(make, volunteer, "zhangsan@example.cn"),
        stranger=stranger,
        stranger_user=volunteer_account(make, stranger, "lisi@example.cn"),
        records=records,
    )


def _link(session: Any, org_id: int, volunteer_id: int) -> None:
    from verifier.volunteers.models import Membership

    session.add(Membership(organisation_id=org_id, volunteer_id=volunteer_id))
    session.flush()


def period(days_back: int = 60, days_to: int = 0) -> dict[str, str]:
    today = local_today()
    return {
        "period_from": (today - timedelta(days=days_back)).isoformat(),
        "period_to": (today - timedelta(days=days_to)).isoformat(),
    }


def make_overdue(make: Factory, request_id: int, days: int = 1) -> None:
    """Move a request's deadline into the past, as if 10 working days had gone by."""
    make.run(
        lambda session: session.execute(
            update(CertificateRequest)
            .where(CertificateRequest.id == request_id)
            .values(due_on=local_today() - timedelta(days=days))
        )
    )


def messages_to(make: Factory, volunteer_id: int, kind: str) -> list[tuple[str, str]]:
    """(subject, body) of the outbox messages of a kind to a volunteer, oldest first."""

    def read(session: Any) -> list[tuple[str, str]]:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.volunteer_id == volunteer_id, OutboxMessage.kind == kind)
            .order_by(OutboxMessage.id)
        )
        return [(m.subject, get_cipher().open_text(m.body_enc, body_place(m.id))) for m in rows]

    return make.run(read)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def days_before_today(days: int) -> date:
    return local_today() - timedelta(days=days)

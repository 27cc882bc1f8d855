"""Helpers of the my-records tests: volunteer accounts, their tokens, the outbox's messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from support import PASSWORD, Factory, bearer, days_ago, make_resident_id

from verifier.auth.models import User
from verifier.auth.services import hash_password
from verifier.complaints.models import CorrectionRequest
from verifier.complaints.services import answer_correction_request
from verifier.crypto.encryption import get_cipher
from verifier.notifications.models import OutboxMessage
from verifier.notifications.services import body_place
from verifier.records.models import ServiceRecord
from verifier.records.services import RecordInput, correct_record, void_record


def volunteer_account(make: Factory, volunteer: Any, email: str | None = None) -> Any:
    """A volunteer's own account (role volunteer), made directly: claiming is another part's."""

    def create(session: Any) -> User:
        user = User(
            role="volunteer",
            volunteer_id=volunteer.id,
            email=email or f"volunteer{volunteer.id}@example.cn",
            display_name=volunteer.name,
            password_hash=hash_password(PASSWORD),
        )
        session.add(user)
        session.flush()
        return user

    return make.run(create)


def messages(make: Factory, volunteer_id: int, kind: str | None = None) -> list[tuple[Any, str]]:
    """The outbox's messages to a volunteer, oldest first, each with its opened body."""

    def read(session: Any) -> list[tuple[Any, str]]:
        stmt = select(OutboxMessage).where(OutboxMessage.volunteer_id == volunteer_id)
        if kind is not None:
            stmt = stmt.where(OutboxMessage.kind == kind)
        cipher = get_cipher()
        return [
            (m, cipher.open_text(m.body_enc, body_place(m.id)))
            for m in session.scalars(stmt.order_by(OutboxMessage.id))
        ]

    return make.run(read)


PERSON = make_resident_id(901)


class World:
    """One person registered by two organisations, with an account; another volunteer."""

    def __init__(self, make):
        self.make = make
        self.org = make.org(name="南川区青年志愿者协会")
        self.other_org = make.org(name="重庆市南川区红十字会")
        self.admin = make.user("org_admin", self.org)
        self.other_admin = make.user("org_admin", self.other_org)
        self.volunteer = make.volunteer(self.org, name="陈小明", id_number=PERSON)
        again = make.volunteer(self.other_org, name="陈小明", id_number=PERSON)
        assert again.id == self.volunteer.id  # one row per person
        self.record = make.record(
            self.org, self.volunteer, actor=self.admin, started_at=days_ago(30)
        )
        self.elsewhere = make.record(
            self.other_org,
            self.volunteer,
            actor=self.other_admin,
            started_at=days_ago(20),
            activity="应急救护培训",
            place="南川区红十字会培训室",
            minutes=120,
        )
        self.account = volunteer_account(make, self.volunteer)
        self.token = make.token(self.account)
        self.stranger = make.volunteer(self.org, name="王二")
        self.strangers_record = make.record(
            self.org, self.stranger, actor=self.admin, started_at=days_ago(30)
        )
        self.stranger_token = make.token(volunteer_account(make, self.stranger))

    def correct(self, record, reason="时长登记有误", **changes):
        def run(session):
            stored = session.get(ServiceRecord, record.id)
            values = {
                "activity": stored.activity,
                "place": stored.place,
                "content": stored.content,
                "started_at": stored.started_at,
                "ended_at": stored.ended_at,
                "minutes": stored.minutes,
            }
            values.update(changes)
            org_admin = self.admin if stored.organisation_id == self.org.id else self.other_admin
            return correct_record(
                session, stored, RecordInput(**values), reason, session.get(User, org_admin.id)
            )

        return self.make.run(run)

    def void(self, record, reason="重复录入"):
        def run(session):
            stored = session.get(ServiceRecord, record.id)
            org_admin = self.admin if stored.organisation_id == self.org.id else self.other_admin
            return void_record(session, stored, reason, session.get(User, org_admin.id))

        return self.make.run(run)

    def answer(self, request_id, status="rejected", resolution="经核实，记录无误"):
        def run(session):
            request = session.get(CorrectionRequest, request_id)
            org_admin = self.admin if request.organisation_id == self.org.id else self.other_admin
            return answer_correction_request(
                session,
                session.get(User, org_admin.id),
                request,
                status=status,
                resolution=resolution,
            )

        return self.make.run(run)


def dispute(
    client: Any,
    record_id: int,
    token: str,
    kind: str = "wrong_minutes",
    reason: str = "我只服务了两小时",
) -> Any:
    """Dispute a record over the API as the volunteer with this token."""
    return client.post(
        f"/api/v1/me/records/{record_id}/dispute",
        headers=bearer(token),
        json={"kind": kind, "reason": reason},
    )

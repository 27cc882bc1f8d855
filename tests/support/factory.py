"""The one way tests build data: through the services, each call committed (a SAVEPOINT under
the test's outer transaction), plus valid identifiers and times to build it with."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from verifier.db import get_session

PASSWORD = "correct-horse-battery"
ORG_ROLES = ("org_admin", "org_recorder")
REGULATOR_ROLES = ("regulator_supervisor", "regulator_inspector")
ROLES = (*ORG_ROLES, *REGULATOR_ROLES, "platform_admin")


def days_ago(days: int, hour: int = 9) -> datetime:
    """A past local time (UTC+8) at a round hour, as an aware datetime."""
    base = datetime.now(UTC) - timedelta(days=days)
    local = base.astimezone(UTC) + timedelta(hours=8)
    return datetime(local.year, local.month, local.day, hour, tzinfo=UTC) - timedelta(hours=8)


def make_resident_id(n: int, birth: str = "19900307") -> str:
    """Return a valid resident ID number; n varies the sequence digits."""
    from verifier.identifiers import resident_id_check_char

    first17 = f"110101{birth}{n % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def make_uscc(n: int) -> str:
    """Return a valid unified social credit code (civil affairs, 5x), varying with n."""
    from verifier.identifiers import uscc_check_char

    first17 = f"53500000MJ{n % 10_000_000:07d}"
    return first17 + uscc_check_char(first17)


class Factory:
    """Build data through the services, each call in its own committed (savepoint) transaction.

    The objects it returns stay readable after their session is gone (ids and plain values).
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def run(self, fn: Any) -> Any:
        """Call fn(session) in an app context and commit."""
        with self.app.app_context():
            session = get_session()
            result = fn(session)
            session.commit()
            return result

    def org(self, **fields: Any) -> Any:
        from verifier.orgs.services import OrganisationInput, create_organisation

        n = self._next()
        values = {
            "name": f"测试志愿服务协会{n}",
            "uscc": make_uscc(n),
            "responsible_person": "王负责",
            "contact_name": "李经办",
            "contact_phone": "023-71424160",
        }
        values.update(fields)
        return self.run(lambda s: create_organisation(s, OrganisationInput(**values), None))

    def user(
        self, role: str, org: Any = None, email: str | None = None, display_name: str | None = None
    ) -> Any:
        from verifier.auth.services import create_user
        from verifier.orgs.models import Organisation

        n = self._next()
        email = email or f"{role}{n}@example.cn"
        # organisation users have a real name: a certificate prints the issuer's as 经办人
        default = f"测试经办{n}" if role in ORG_ROLES else ""
        name = default if display_name is None else display_name

        def make(session: Any) -> Any:
            organisation = session.get(Organisation, org.id) if org is not None else None
            return create_user(
                session,
                email=email,
                password=PASSWORD,
                role=role,
                organisation=organisation,
                display_name=name,
            )

        return self.run(make)

    def users(self, org: Any, roles: Iterable[str] = ROLES) -> dict[str, Any]:
        """A user of each role: organisation roles belong to `org`, the others to none."""
        return {role: self.user(role, org if role in ORG_ROLES else None) for role in roles}

    def token(self, user: Any) -> str:
        from verifier.auth.models import User
        from verifier.auth.services import create_token

        return self.run(lambda s: create_token(s, s.get(User, user.id), "test"))

    def tokens(self, users: dict[str, Any]) -> dict[str, str]:
        """An API token for each named user."""
        return {name: self.token(user) for name, user in users.items()}

    def volunteer(self, org: Any, **fields: Any) -> Any:
        from verifier.orgs.models import Organisation
        from verifier.volunteers.services import VolunteerInput, register_volunteer

        n = self._next()
        values = {"name": f"志愿者{n}", "id_type": "resident_id", "id_number": make_resident_id(n)}
        values.update(fields)
        return self.run(
            lambda s: register_volunteer(
                s, s.get(Organisation, org.id), VolunteerInput(**values), None
            )[0]
        )

    def record(self, org: Any, volunteer: Any, actor: Any = None, **fields: Any) -> Any:
        from verifier.auth.models import User
        from verifier.orgs.models import Organisation
        from verifier.records.services import RecordInput, create_record
        from verifier.volunteers.models import Volunteer

        start = fields.pop("started_at", None) or days_ago(10, hour=9)
        values = {
            "activity": "社区敬老服务",
            "place": "南川区东城街道",
            "content": "陪伴老人，打扫卫生",
            "started_at": start,
            "ended_at": start + timedelta(hours=3),
            "minutes": 180,
        }
        values.update(fields)

        def make(session: Any) -> Any:
            user = session.get(User, actor.id) if actor is not None else None
            return create_record(
                session,
                session.get(Organisation, org.id),
                session.get(Volunteer, volunteer.id),
                RecordInput(**values),
                user,
            )

        return self.run(make)

    def certificate(self, org: Any, actor: Any, volunteer: Any, records: Any) -> Any:
        """Issue a certificate over records through the service, as the organisation's user."""
        return self.run(lambda s: self.issue(s, org, actor, volunteer, records))

    @staticmethod
    def issue(session: Any, org: Any, actor: Any, volunteer: Any, records: Any) -> Any:
        """Issue a certificate in the given session (a test's own transaction or thread);
        `volunteer` and `records` may be objects or ids."""
        from verifier.auth.models import User
        from verifier.certificates.services import IssueRequest, issue_certificate
        from verifier.orgs.models import Organisation

        volunteer_id = volunteer if isinstance(volunteer, int) else volunteer.id
        return issue_certificate(
            session,
            session.get(Organisation, org.id),
            IssueRequest(
                volunteer_id=volunteer_id,
                record_ids=[r if isinstance(r, int) else r.id for r in records],
            ),
            session.get(User, actor.id),
        )

    def volunteer_user(self, volunteer: Any = None, login: str | None = None) -> Any:
        """A volunteer's own account (role volunteer, password PASSWORD), claimed the real way:
        an invitation by a user of one of the volunteer's organisations, then the claim.
        Without a volunteer, a new one of a new organisation; the login defaults to an e-mail."""
        from types import SimpleNamespace

        from sqlalchemy import select

        from verifier.accounts.invitations import (
            ClaimInput,
            claim_account,
            create_invitation,
            login_code_for,
        )
        from verifier.auth.models import ORG_ROLES, User
        from verifier.volunteers.models import Membership

        if volunteer is None:
            volunteer = self.volunteer(self.org())
        org_id = self.run(
            lambda s: s.scalar(
                select(Membership.organisation_id)
                .where(Membership.volunteer_id == volunteer.id)
                .order_by(Membership.organisation_id)
                .limit(1)
            )
        )
        inviter_id = self.run(
            lambda s: s.scalar(
                select(User.id)
                .where(User.organisation_id == org_id, User.role.in_(ORG_ROLES), User.active)
                .order_by(User.id)
                .limit(1)
            )
        )
        if inviter_id is None:
            inviter_id = self.user("org_admin", SimpleNamespace(id=org_id)).id
        login = login or f"volunteer{self._next()}@example.cn"

        def make(session: Any) -> Any:
            made = create_invitation(session, session.get(User, inviter_id), volunteer.id)
            return claim_account(
                session,
                ClaimInput(
                    code=made.code,
                    login=login,
                    password=PASSWORD,
                    accept_privacy_notice=True,
                    login_code=login_code_for(made.code, login),
                ),
            )

        return self.run(make)


def raw_record(
    session: Any,
    org_id: int,
    volunteer_id: int,
    *,
    with_revision: bool = True,
    revision_id: int | None = None,
) -> Any:
    """A record inserted as a direct database writer would: no service, no audit entry.

    With revision_id, the writer picks the revision row's id itself (0 or below, say).
    """
    from zoneinfo import ZoneInfo

    from verifier.db import utcnow
    from verifier.records.models import RecordRevision, ServiceRecord

    start = datetime.now(ZoneInfo("Asia/Shanghai")).replace(microsecond=0) - timedelta(days=20)
    fields = {
        "activity": "凭空出现的服务",
        "place": "南川区",
        "started_at": start,
        "ended_at": start + timedelta(hours=8),
        "minutes": 480,
    }
    record = ServiceRecord(
        organisation_id=org_id,
        volunteer_id=volunteer_id,
        status="active",
        revision=1,
        service_date=start.date(),
        dedupe_key=f"direct-write-{revision_id}",
        recorded_at=utcnow(),
        updated_at=utcnow(),
        **fields,
    )
    session.add(record)
    session.flush()
    if with_revision:
        revision = RecordRevision(record_id=record.id, revision=1, kind="created", **fields)
        if revision_id is not None:
            revision.id = revision_id
        session.add(revision)
        session.flush()
    return record

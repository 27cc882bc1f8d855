"""A world for the omission and my-data tests: two organisations, volunteers with accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any

from sqlalchemy import select
from support import PASSWORD, bearer, days_ago, make_resident_id

from verifier.auth.models import User
from verifier.auth.services import hash_password
from verifier.db import get_session

BEIJING = timezone(timedelta(hours=8))
ID_NUMBER = make_resident_id(701, birth="19950611")


def volunteer_user(make: Any, volunteer: Any, email: str) -> Any:
    """A volunteer's own account, made directly (claiming an invitation is another part's)."""

    def create(session: Any) -> Any:
        user = User(
            role="volunteer",
            volunteer_id=volunteer.id,
            email=email,
            password_hash=hash_password(PASSWORD),
        )
        session.add(user)
        session.flush()
        return user

    return make.run(create)


def local_iso(moment: Any) -> str:
    return moment.astimezone(BEIJING).isoformat()


@dataclass
class World:
    app: Any
    make: Any
    org: Any  # 南川区志愿者协会: both volunteers are registered with it
    other_org: Any  # only the second volunteer is registered with it
    admin: Any
    recorder: Any
    other_admin: Any
    supervisor: Any
    platform_admin: Any
    volunteer: Any  # 张三, with an account
    other_volunteer: Any  # 李四, with an account
    user: Any
    other_user: Any
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        """Headers of an API call as this user, in English."""
        return {**bearer(self.tokens[who]), "Accept-Language": "en"}

    def rows(self, model: Any, *where: Any) -> list[Any]:
        with self.app.app_context():
            return list(get_session().scalars(select(model).where(*where).order_by(model.id)))

    def run(self, fn: Any) -> Any:
        return self.make.run(fn)


def build_world(app: Any, make: Any) -> World:
    org = make.org(name="南川区志愿者协会")
    other_org = make.org(name="另一家慈善会")
    admin = make.user("org_admin", org)
    recorder = make.user("org_recorder", org)
    other_admin = make.user("org_admin", other_org)
    supervisor = make.user("regulator_supervisor")
    platform_admin = make.user("platform_admin")
    volunteer = make.volunteer(org, name="张三", id_number=ID_NUMBER, phone="13800138000")
    other_volunteer = make.volunteer(other_org, name="李四", id_number=make_resident_id(702))
    make.volunteer(org, name="李四", id_number=make_resident_id(702))  # also registered with org
    user = volunteer_user(make, volunteer, "zhangsan@example.cn")
    other_user = volunteer_user(make, other_volunteer, "lisi@example.cn")
    people = {
        "volunteer": user,
        "other_volunteer": other_user,
        "org_admin": admin,
        "org_recorder": recorder,
        "other_admin": other_admin,
        "regulator_supervisor": supervisor,
        "platform_admin": platform_admin,
    }
    return World(
        app,
        make,
        org,
        other_org,
        admin,
        recorder,
        other_admin,
        supervisor,
        platform_admin,
        volunteer,
        other_volunteer,
        user,
        other_user,
        {name: make.token(u) for name, u in people.items()},
    )


def report_body(world: World, *, days: int = 5, hours: int = 3, **fields: Any) -> dict[str, Any]:
    """A valid missing-record report for the world's volunteer, with the world's organisation."""
    start = days_ago(days, hour=9)
    body = {
        "organisation_uscc": world.org.uscc,
        "activity": "社区敬老服务",
        "started_at": local_iso(start),
        "ended_at": local_iso(start + timedelta(hours=hours)),
        "reason": "和王老师一起去的，签到表上有我的名字",
    }
    body.update(fields)
    return body


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def refused(response: Any, status: int, field: str, rule: str) -> dict[str, Any]:
    """Assert a problem naming this field and rule."""
    body = problem(response, status)
    found = [e for e in body.get("errors", []) if e["field"] == field and e["rule"] == rule]
    assert found, body
    assert found[0]["message"]
    return found[0]

"""A small world for API tests: two organisations, a user of each role, tokens, volunteers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from support import bearer, days_ago, make_resident_id

BEIJING = timezone(timedelta(hours=8))
ORG_ROLES = ("org_admin", "org_recorder")
READ_ONLY_ROLES = ("regulator_supervisor", "regulator_inspector", "platform_admin")
ROLES = ORG_ROLES + READ_ONLY_ROLES


@dataclass
class World:
    org: Any
    other_org: Any
    users: dict[str, Any]  # role -> user (organisation roles belong to `org`)
    tokens: dict[str, str]  # role -> token; "other_admin" is org_admin of other_org
    volunteer: Any  # registered with org
    volunteer_id_number: str
    other_volunteer: Any  # registered with other_org only

    def auth(self, role: str) -> dict[str, str]:
        """Headers of a call as this role; messages in English (the default is Chinese)."""
        return {**bearer(self.tokens[role]), "Accept-Language": "en"}


def build_world(make: Any) -> World:
    org = make.org(name="南川区志愿者协会")
    other_org = make.org(name="另一家慈善会")
    users = make.users(org, ROLES)
    tokens = make.tokens(users)
    other_admin = make.user("org_admin", other_org)
    users["other_admin"] = other_admin
    tokens["other_admin"] = make.token(other_admin)
    id_number = make_resident_id(901)
    volunteer = make.volunteer(org, name="张三", id_number=id_number, phone="13800138000")
    other_volunteer = make.volunteer(other_org, name="李四", id_number=make_resident_id(902))
    # 李四's own account (role volunteer), invited by other_org
    users["volunteer"] = make.volunteer_user(other_volunteer)
    tokens["volunteer"] = make.token(users["volunteer"])
    return World(org, other_org, users, tokens, volunteer, id_number, other_volunteer)


def local_iso(moment: datetime) -> str:
    """Write a moment as ISO 8601 in Beijing time, as a client would send it."""
    return moment.astimezone(BEIJING).isoformat()


def record_body(volunteer_id: int, /, *, days: int = 3, hour: int = 9, **fields: Any) -> dict:
    """A valid record body: three hours of service `days` ago from `hour` local time."""
    start = days_ago(days, hour=hour)
    body = {
        "volunteer_id": volunteer_id,
        "activity": "社区敬老服务",
        "place": "南川区东城街道",
        "content": "陪伴老人，打扫卫生",
        "started_at": local_iso(start),
        "ended_at": local_iso(start + timedelta(hours=3)),
        "minutes": 180,
    }
    body.update(fields)
    return body


def problem(response: Any, status: int) -> dict:
    """Assert a problem+json answer with this status and return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert body["detail"]
    return body


def field_error(response: Any, field: str, rule: str) -> dict:
    """Assert a 422 naming this field and rule; return that error."""
    body = problem(response, 422)
    found = [e for e in body["errors"] if e["field"] == field and e["rule"] == rule]
    assert found, body["errors"]
    assert found[0]["message"]
    return found[0]


# Written by the imports feature; may not be registered yet in this tree.
PENDING = {("POST", "/api/v1/records/import")}


def api_routes(app: Any) -> dict[tuple[str, str], str]:
    """Return (method, OpenAPI-style path) -> endpoint for every /api/v1 route of the app."""
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes[(method, path)] = rule.endpoint
    return routes

"""A drawn campaign for the supervision tests: two organisations, records, certificates, inspectors.

The sample and the inspectors' assignments are written as the draw would leave them; how the draw
chooses them is tested with the spot checks themselves.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from support import PASSWORD, Factory, bearer, days_ago
from verifier.spotchecks.models import SpotCheckAssignment, SpotCheckCampaign, SpotCheckItem

VOLUNTEER_NAME = "欧阳娜娜"
OTHER_VOLUNTEER_NAME = "司马光明"
VOLUNTEER_ID = "11010119900307002X"
POPULATION_HASH = "a" * 64
SEED = "31415926535897932384626433832795"

# the smallest real files of each accepted kind (magic bytes first)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


@dataclass
class World:
    app: Any
    make: Factory
    org: Any
    other_org: Any
    users: dict[str, Any]
    tokens: dict[str, str]
    volunteer: Any
    records: list[Any]  # three records of the volunteer, kept by org
    other_record: Any  # another organisation's record of another volunteer
    certs: dict[str, Any]  # "first": records 0+1, "second": record 2, "other": other_record
    campaign: Any
    items: dict[str, Any] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {**bearer(self.tokens[who]), "Accept-Language": "en"}

    def client(self, who: str) -> Any:
        client = self.app.test_client()
        response = client.post(
            "/login", data={"email": self.users[who].email, "password": PASSWORD}
        )
        assert response.status_code == 302
        client.set_cookie("lang", "en")
        return client


def build_world(app: Any) -> World:
    make = Factory(app)
    org = make.org(name="南川区青年志愿者协会")
    other_org = make.org(name="江津区助老服务社")
    users = {
        "org_admin": make.user("org_admin", org),
        "org_recorder": make.user("org_recorder", org),
        "other_admin": make.user("org_admin", other_org),
        "supervisor": make.user("regulator_supervisor", email="supervisor@mca.example.cn"),
        "inspector": make.user("regulator_inspector", email="inspector.li@mca.example.cn"),
        "inspector2": make.user("regulator_inspector", email="inspector.wang@mca.example.cn"),
        "outsider": make.user("regulator_inspector", email="inspector.zhao@mca.example.cn"),
        "admin": make.user("platform_admin"),
    }
    tokens = make.tokens(users)
    volunteer = make.volunteer(org, name=VOLUNTEER_NAME, id_number=VOLUNTEER_ID)
    records = [
        make.record(org, volunteer, actor=users["org_admin"], started_at=days_ago(d))
        for d in (30, 20, 10)
    ]
    other_volunteer = make.volunteer(other_org, name=OTHER_VOLUNTEER_NAME)
    other_record = make.record(
        other_org, other_volunteer, actor=users["other_admin"], started_at=days_ago(12)
    )
    certs = {
        "first": make.certificate(org, users["org_admin"], volunteer, records[:2]),
        "second": make.certificate(org, users["org_admin"], volunteer, records[2:]),
        "other": make.certificate(other_org, users["other_admin"], other_volunteer, [other_record]),
    }
    world = World(
        app, make, org, other_org, users, tokens, volunteer, records, other_record, certs, None
    )
    world.campaign, world.items = make.run(lambda s: _campaign(s, world))
    return world


def _campaign(session: Any, world: World) -> tuple[Any, dict[str, Any]]:
    """A drawn two-stage campaign: org with records 0 and 1 (inspectors 1 and 2); other_org."""
    campaign = SpotCheckCampaign(
        name="2026年第一季度抽查",
        status="drawn",
        parameters={
            "scope": {"region_prefix": "", "org_types": []},
            "period": {"mode": "all", "from": None, "to": None, "days": None},
            "unit": "two_stage",
        },
        population_size=2,
        population_hash=POPULATION_HASH,
        seed=SEED,
        seed_source="ceremony",
    )
    session.add(campaign)
    session.flush()
    rows = {
        "org": SpotCheckItem(
            campaign_id=campaign.id,
            kind="organisation",
            item_id=f"org:{world.org.id}",
            organisation_id=world.org.id,
            stage=1,
            rank=1,
        ),
        "other_org": SpotCheckItem(
            campaign_id=campaign.id,
            kind="organisation",
            item_id=f"org:{world.other_org.id}",
            organisation_id=world.other_org.id,
            stage=1,
            rank=2,
        ),
        "record0": SpotCheckItem(
            campaign_id=campaign.id,
            kind="record",
            item_id=f"rec:{world.records[0].id}",
            organisation_id=world.org.id,
            record_id=world.records[0].id,
            stage=2,
            rank=3,
        ),
        "record1": SpotCheckItem(
            campaign_id=campaign.id,
            kind="record",
            item_id=f"rec:{world.records[1].id}",
            organisation_id=world.org.id,
            record_id=world.records[1].id,
            stage=2,
            rank=4,
        ),
        "other_record": SpotCheckItem(
            campaign_id=campaign.id,
            kind="record",
            item_id=f"rec:{world.other_record.id}",
            organisation_id=world.other_org.id,
            record_id=world.other_record.id,
            stage=2,
            rank=5,
        ),
    }
    session.add_all(rows.values())
    session.flush()
    for inspector, item in (
        ("inspector", "org"),
        ("inspector2", "org"),
        ("outsider", "other_org"),
    ):
        session.add(
            SpotCheckAssignment(item_id=rows[item].id, inspector_id=world.users[inspector].id)
        )
    session.flush()
    return campaign, rows


def finding(client: Any, world: World, item: str, who: str = "inspector", **body: Any) -> Any:
    """Record a finding through the API as JSON."""
    return client.post(
        f"/api/v1/spotcheck/items/{world.items[item].id}/finding",
        json=body,
        headers=world.auth(who),
    )


def open_case(client: Any, world: World) -> int:
    """Open a case: a discrepancy (hours inflated) on the first record of the item "org"."""
    response = finding(
        client,
        world,
        "org",
        result="discrepancy",
        discrepancy_type="hours_inflated",
        notes="核查发现时长与签到不符",
        record_ids=[world.records[0].id],
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["case"]["id"]


def certificate_status(client: Any, world: World, name: str) -> str:
    """The status a third party's verification of the certificate reports (/v/{token})."""
    import re

    page = client.get(f"/v/{world.certs[name].token}").get_data(as_text=True)
    return re.search(r"<code>([a-z_]+)</code>", page[page.index("verdict") :]).group(1)

"""A database upgraded from the version before commitments: its campaigns keep working."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import sqlalchemy as sa
from support import Factory, bearer, make_uscc, test_config
from support.campaign_world import SEED

from verifier import create_app
from verifier.db import upgrade_database
from verifier.spotchecks.draw import compute_inspector_draw, compute_sample, organisations_in_order
from verifier.spotchecks.sampling import population_hash

PARAMETERS = {
    "scope": {"region_prefix": "", "org_types": []},
    "period": {"mode": "all", "from": None, "to": None, "days": None},
    "unit": "two_stage",
    "sample_size": {"mode": "fixed", "count": 2},
    "records_per_organisation": {"mode": "fixed", "count": 2},
    "stratify_by_organisation": False,
    "weighting": "uniform",
    "include_complaints": True,
    "inspectors_per_organisation": 2,
}
ORGS = [1, 2, 3, 4]

organisations = sa.table(
    "organisations",
    *(sa.column(name) for name in ("id", "name", "uscc", "org_type", "region_code", "status")),
    *(sa.column(name) for name in ("responsible_person", "contact_name", "contact_phone")),
    sa.column("address"),
    sa.column("created_at", sa.DateTime()),
)
campaigns = sa.table(
    "spotcheck_campaigns",
    *(sa.column(name) for name in ("id", "name", "status", "origin", "population_size")),
    *(sa.column(name) for name in ("population_hash", "seed", "seed_source")),
    *(sa.column(name, sa.JSON()) for name in ("parameters", "inspector_draw", "shortfall")),
    *(sa.column(name, sa.DateTime()) for name in ("frozen_at", "seeded_at", "drawn_at")),
    sa.column("created_at", sa.DateTime()),
)
population = sa.table(
    "spotcheck_population",
    *(sa.column(name) for name in ("campaign_id", "item_id", "kind", "stratum", "weight")),
    sa.column("forced"),
)
items = sa.table(
    "spotcheck_items",
    *(sa.column(name) for name in ("campaign_id", "kind", "item_id", "organisation_id")),
    *(sa.column(name) for name in ("stratum", "stage", "rank", "key", "forced")),
)


def _previous_version_data(conn: sa.Connection) -> None:
    """A drawn campaign (its seed typed at creation, used as written) and a frozen one."""
    now = datetime(2026, 3, 1, 2, 0)
    conn.execute(
        organisations.insert(),
        [
            {
                "id": n, "name": f"旧组织{n}", "uscc": make_uscc(900 + n), "org_type": "charity",
                "region_code": "500119", "status": "active", "responsible_person": "王",
                "contact_name": "李", "contact_phone": "023-71424160", "address": "",
                "created_at": now,
            }
            for n in ORGS
        ],
    )  # fmt: skip
    rows = [
        {"id": f"org:{n}", "kind": "organisation", "stratum": "", "weight": 1.0, "forced": False}
        for n in ORGS
    ]
    sample = compute_sample(SEED, PARAMETERS, rows)
    orgs = organisations_in_order(sample)
    common = {
        "status": "drawn", "origin": "manual", "parameters": PARAMETERS,
        "population_size": len(rows), "population_hash": population_hash(r["id"] for r in rows),
        "frozen_at": now, "created_at": now, "shortfall": [],
    }  # fmt: skip
    conn.execute(
        campaigns.insert(),
        [
            {
                **common, "id": 1, "name": "旧批次", "seed": SEED, "seed_source": "ceremony",
                "seeded_at": now + timedelta(minutes=5), "drawn_at": now + timedelta(minutes=5),
                "inspector_draw": {
                    "k": 2, "inspectors": [], "initial_load": {},
                    "organisations": compute_inspector_draw(SEED, orgs, [], {}, {}, 2),
                },
            },
            {
                **common, "id": 2, "name": "待摇号", "status": "frozen", "seed": None,
                "seed_source": "", "seeded_at": None, "drawn_at": None, "inspector_draw": {},
            },
        ],
    )  # fmt: skip
    for campaign_id in (1, 2):
        conn.execute(
            population.insert(),
            [
                {"campaign_id": campaign_id, "item_id": row["id"]}
                | {k: row[k] for k in ("kind", "stratum", "weight", "forced")}
                for row in rows
            ],
        )
    conn.execute(
        items.insert(),
        [
            {
                "campaign_id": 1, "kind": entry["kind"], "item_id": entry["id"],
                "organisation_id": int(entry["id"].split(":")[1]), "stratum": entry["stratum"],
                "stage": entry["stage"], "rank": rank, "key": entry["key"],
                "forced": entry["forced"],
            }
            for rank, entry in enumerate(sample, start=1)
        ],
    )  # fmt: skip


def test_campaigns_of_the_previous_version_keep_working_after_the_upgrade(tmp_path):
    app = create_app(test_config(f"sqlite:///{tmp_path}/upgraded.db"))
    engine = app.extensions["verifier.db"].engine
    try:
        upgrade_database(app, "0001")
        with engine.begin() as conn:
            _previous_version_data(conn)
        upgrade_database(app)
        client = app.test_client()
        make = Factory(app)
        headers = bearer(make.token(make.user("regulator_supervisor")))

        # the drawn campaign: no commitment, its seed as it was, replaying as format 1
        drawn = client.get("/api/v1/spotcheck/campaigns/1", headers=headers).get_json()
        assert drawn["commitment"] is None and drawn["server_secret"] is None
        assert drawn["seed"] == SEED and len(drawn["sample"]) == 2
        manifest = client.get("/api/v1/spotcheck/campaigns/1/manifest", headers=headers)
        assert manifest.get_json()["format"] == "verifier-spotcheck-manifest/1"
        assert "commitment" not in manifest.get_json()
        replayed = app.test_cli_runner().invoke(args=["spotcheck", "replay", "1"])
        assert replayed.exit_code == 0, replayed.output
        assert "format 1" in replayed.output

        # the frozen campaign awaiting its ceremony: committed and derived when seeded
        seeded = client.post(
            "/api/v1/spotcheck/campaigns/2/seed", json={"seed": SEED}, headers=headers
        )
        assert seeded.status_code == 200, seeded.get_json()
        body = seeded.get_json()
        secret = body["server_secret"]
        assert body["commitment"] == hashlib.sha256(secret.encode()).hexdigest()
        assert body["seed"] == hashlib.sha256(f"{secret}\n{SEED}".encode()).hexdigest()
        replayed = app.test_cli_runner().invoke(args=["spotcheck", "replay", "2"])
        assert replayed.exit_code == 0, replayed.output
        assert "commitment" in replayed.output
    finally:
        engine.dispose()

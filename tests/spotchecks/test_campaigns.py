"""Campaigns: freeze and commit, then seed, then draw and assign; conflicts; always-included;
the manifest."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select
from support.campaign_world import SEED, World, parameters

from verifier.audit.models import AuditEntry


@pytest.fixture
def world(app):
    return World(app)


def _org_ids(sample):
    return [s["organisation_id"] for s in sample if s["kind"] == "organisation"]


def _sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_a_campaign_freezes_draws_and_assigns(client, world):
    response = world.campaign(client, seed=SEED)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["ceremony_input"] == SEED and body["seed_source"] == "ceremony"
    # the seed derives from the committed server secret and the ceremony input
    assert body["commitment"] == _sha256(body["server_secret"])
    assert body["seed"] == _sha256(body["server_secret"] + "\n" + SEED)
    assert body["status"] == "drawn"
    # the population: every organisation and every record, hashed as the rule says
    ids = [f"org:{o.id}" for o in world.orgs] + [
        f"rec:{r.id}" for records in world.records.values() for r in records
    ]
    expected_hash = hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()
    assert body["population_size"] == len(ids) == 20
    assert body["population_hash"] == expected_hash
    organisations = [s for s in body["sample"] if s["kind"] == "organisation"]
    records = [s for s in body["sample"] if s["kind"] == "record"]
    assert len(organisations) == 3 and len(records) == 6
    for org in organisations:
        theirs = [r for r in records if r["organisation_id"] == org["organisation_id"]]
        assert len(theirs) == 2
        assert len(org["inspector_ids"]) == 2
        assert all(r["inspector_ids"] == org["inspector_ids"] for r in theirs)
    assert [s["rank"] for s in body["sample"]] == list(range(1, 10))
    assert response.headers["Location"].endswith(f"/api/v1/spotcheck/campaigns/{body['id']}")


def test_a_chosen_ceremony_input_does_not_choose_the_seed(client, world):
    """A supervisor who tried inputs offline cannot get the sample they found: the seed is not the
    input, and the same input on the same population gives a new seed and sample every time."""
    bodies = [world.campaign(client, seed=SEED).get_json() for _ in range(5)]
    assert len({b["population_hash"] for b in bodies}) == 1
    seeds = [b["seed"] for b in bodies]
    assert SEED not in seeds and len(set(seeds)) == 5
    assert len({b["server_secret"] for b in bodies}) == 5
    for body in bodies:
        assert body["ceremony_input"] == SEED
        assert body["seed"] == _sha256(body["server_secret"] + "\n" + SEED)
    # 3 of 5 organisations and 2 of 3 records each: five draws are not all the same
    assert len({tuple(s["item"] for s in b["sample"]) for b in bodies}) > 1


def test_without_an_input_the_seed_derives_from_the_server_secret_alone(client, world):
    body = world.campaign(client).get_json()
    assert body["seed_source"] == "csprng" and body["ceremony_input"] == ""
    assert len(body["server_secret"]) == 64 and body["commitment"] == _sha256(body["server_secret"])
    assert body["seed"] == _sha256(body["server_secret"] + "\n")


def test_without_a_seed_the_csprng_fixes_one_after_freezing(app, client, world):
    body = world.campaign(client).get_json()
    assert body["seed_source"] == "csprng" and len(body["seed"]) == 64
    assert len(body["commitment"]) == 64
    with app.app_context():
        from verifier.db import get_session

        actions = get_session().scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == "spotcheck_campaign")
            .where(AuditEntry.object_id == str(body["id"]))
            .order_by(AuditEntry.id)
        )
        assert list(actions) == [
            "spotcheck.freeze",
            "spotcheck.seed",
            "spotcheck.draw",
            "spotcheck.assign",
        ]


def test_a_ceremony_seed_is_fixed_after_the_hash_and_only_once(client, world):
    frozen = world.campaign(client, await_seed=True)
    assert frozen.status_code == 201
    body = frozen.get_json()
    assert body["status"] == "frozen" and body["seed"] is None and body["sample"] == []
    assert len(body["population_hash"]) == 64
    url = f"/api/v1/spotcheck/campaigns/{body['id']}/seed"
    seeded = client.post(url, json={"seed": SEED}, headers=world.headers())
    assert seeded.status_code == 200
    fixed = seeded.get_json()
    assert fixed["ceremony_input"] == SEED and len(fixed["sample"]) == 9
    assert fixed["seed"] == _sha256(fixed["server_secret"] + "\n" + SEED)
    again = client.post(url, json={"seed": "9" * 30}, headers=world.headers())
    assert again.status_code == 409
    assert client.get(f"/api/v1/spotcheck/campaigns/{body['id']}", headers=world.headers()
                      ).get_json()["seed"] == fixed["seed"]  # fmt: skip


@pytest.mark.parametrize(
    "seed",
    ["short", "has spaces in it 1234567890", "x" * 129, "1234567890/1234567890"],
)
def test_a_ceremony_seed_must_be_letters_and_digits(client, world, seed):
    response = world.campaign(client, seed=seed)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["rule"] == "seed_format"


def test_conflicted_inspectors_are_never_assigned(client, world):
    target = world.orgs[0]
    for i in (0, 1):
        declared = client.post(
            "/api/v1/spotcheck/conflicts",
            json={"organisation_id": target.id, "note": "former employee"},
            headers=world.headers(f"inspector{i}"),
        )
        assert declared.status_code == 201
    body = world.campaign(
        client, seed=SEED, parameters=parameters(sample_size={"mode": "fixed", "count": 5})
    ).get_json()
    conflicted = {world.inspectors[0].id, world.inspectors[1].id}
    theirs = [s for s in body["sample"] if s["organisation_id"] == target.id]
    assert theirs, "every organisation is in the sample"
    for item in theirs:
        assert item["inspector_ids"] == [world.inspectors[2].id]
        assert not conflicted & set(item["inspector_ids"])
    # too few eligible inspectors is flagged, not hidden
    assert body["shortfall"] == [{"organisation": f"org:{target.id}", "needed": 2, "assigned": 1}]
    others = [s for s in body["sample"] if s["organisation_id"] != target.id]
    assert all(len(s["inspector_ids"]) == 2 for s in others)


def test_load_is_balanced_across_inspectors(client, world):
    body = world.campaign(
        client,
        seed=SEED,
        parameters=parameters(
            sample_size={"mode": "fixed", "count": 5}, inspectors_per_organisation=1
        ),
    ).get_json()
    per_inspector: dict[int, int] = {}
    for item in body["sample"]:
        if item["kind"] == "organisation":
            (inspector,) = item["inspector_ids"]
            per_inspector[inspector] = per_inspector.get(inspector, 0) + 1
    # 5 organisations over 3 inspectors: 2, 2, 1
    assert sorted(per_inspector.values()) == [1, 2, 2]


def test_organisations_with_open_complaints_are_always_included(app, client, world):
    from support import Factory

    from verifier.complaints.models import Complaint

    target = world.orgs[4]
    Factory(app).run(
        lambda s: s.add(
            Complaint(organisation_id=target.id, source="public", summary="收费出具证明")
        )
    )
    body = world.campaign(
        client, seed=SEED, parameters=parameters(sample_size={"mode": "fixed", "count": 0})
    ).get_json()
    organisations = [s for s in body["sample"] if s["kind"] == "organisation"]
    assert [(s["organisation_id"], s["forced"]) for s in organisations] == [(target.id, True)]
    assert len([s for s in body["sample"] if s["kind"] == "record"]) == 2
    manifest = client.get(
        f"/api/v1/spotcheck/campaigns/{body['id']}/manifest", headers=world.headers()
    ).get_json()
    assert {"id": f"org:{target.id}", "forced": True} == {
        k: v for k, v in manifest["sample"][0].items() if k in ("id", "forced")
    }
    excluded = world.campaign(
        client,
        seed=SEED,
        parameters=parameters(sample_size={"mode": "fixed", "count": 0}, include_complaints=False),
    ).get_json()
    assert excluded["sample"] == []


def test_records_unit_stratified_and_hour_weights(client, world):
    body = world.campaign(
        client,
        seed=SEED,
        parameters=parameters(
            unit="records",
            sample_size={"mode": "fixed", "count": 1},
            records_per_organisation=None,
            stratify_by_organisation=True,
            weighting="hours",
        ),
    ).get_json()
    records = [s for s in body["sample"] if s["kind"] == "record"]
    assert sorted(s["organisation_id"] for s in records) == sorted(o.id for o in world.orgs)
    manifest = client.get(
        f"/api/v1/spotcheck/campaigns/{body['id']}/manifest", headers=world.headers()
    ).get_json()
    weights = {row["id"]: row["weight"] for row in manifest["population"]}
    first = world.records[world.orgs[0].id]
    assert [weights[f"rec:{r.id}"] for r in first] == [1.0, 2.0, 3.0]
    assert {row["kind"] for row in manifest["population"]} == {"record"}


def test_rate_and_statistical_sizes(client, world):
    rate = world.campaign(
        client,
        seed=SEED,
        parameters=parameters(sample_size={"mode": "rate", "rate": 0.2, "minimum": 2}),
    ).get_json()
    assert len(_org_ids(rate["sample"])) == 2  # ceil(0.2 × 5) = 1, raised to the minimum 2
    statistical = world.campaign(
        client,
        seed=SEED,
        parameters=parameters(
            sample_size={"mode": "statistical", "confidence": 0.95, "tolerable_rate": 0.05}
        ),
    ).get_json()
    assert len(_org_ids(statistical["sample"])) == 5  # 59, but only 5 exist


def test_the_manifest_is_public_only_once_published_and_holds_no_personal_data(client, world):
    body = world.campaign(client, seed=SEED).get_json()
    url = f"/api/v1/spotcheck/campaigns/{body['id']}/manifest"
    assert client.get(url).status_code == 404
    assert client.get(url, headers=world.headers("org_admin")).status_code == 404
    regulator = client.get(url, headers=world.headers("inspector0"))
    assert regulator.status_code == 200
    item = body["sample"][0]
    inspector = next(i for i, u in enumerate(world.inspectors) if u.id in item["inspector_ids"])
    found = client.post(
        f"/api/v1/spotcheck/items/{item['id']}/finding",
        json={"result": "confirmed"},
        headers=world.headers(f"inspector{inspector}"),
    )
    assert found.status_code == 201, found.get_json()
    published = client.post(
        f"/api/v1/spotcheck/campaigns/{body['id']}/publish", headers=world.headers()
    )
    assert published.status_code == 200 and published.get_json()["published_at"]
    public = client.get(url)
    assert public.status_code == 200
    manifest = public.get_json()
    assert manifest["seed"] == body["seed"]
    assert manifest["population_hash"] == body["population_hash"]
    assert manifest["ceremony_input"] == SEED and manifest["commitment"] == body["commitment"]
    assert [s["id"] for s in manifest["sample"]] == [s["item"] for s in body["sample"]]
    assert manifest["inspector_draw"]["inspectors"] == [
        f"inspector:{u.id}" for u in world.inspectors
    ]
    text = json.dumps(manifest, ensure_ascii=False)
    for org in world.orgs:
        assert org.name not in text and org.uscc not in text
    for volunteer in world.volunteers.values():
        assert volunteer.name not in text
    for user in (world.supervisor, *world.inspectors):
        assert user.email not in text


def test_campaign_input_is_validated(client, world):
    neither = client.post("/api/v1/spotcheck/campaigns", json={}, headers=world.headers())
    assert neither.status_code == 422
    assert neither.get_json()["errors"][0]["rule"] == "plan_or_parameters"
    incomplete = world.campaign(client, parameters=parameters(sample_size={"mode": "rate"}))
    assert incomplete.status_code == 422
    error = incomplete.get_json()["errors"][0]
    assert error["field"] == "parameters.sample_size" and error["rule"] == "size_incomplete"
    no_plan = client.post(
        "/api/v1/spotcheck/campaigns", json={"plan_id": 999999}, headers=world.headers()
    )
    assert no_plan.status_code == 404
    inspector = client.post(
        "/api/v1/spotcheck/campaigns",
        json={"parameters": parameters()},
        headers=world.headers("inspector0"),
    )
    assert inspector.status_code == 403

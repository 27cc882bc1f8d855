"""`verifier spotcheck replay`: a manifest alone reproduces the draw; any change is named."""

from __future__ import annotations

import hashlib
import json
import math

import pytest
from campaign_world import SEED, World, parameters


@pytest.fixture
def world(app):
    return World(app)


def _manifest(client, world, **params):
    body = world.campaign(client, seed=SEED, parameters=parameters(**params)).get_json()
    response = client.get(
        f"/api/v1/spotcheck/campaigns/{body['id']}/manifest", headers=world.headers()
    )
    assert response.status_code == 200
    return body, response.get_json()


def _replay(app, source):
    return app.test_cli_runner().invoke(args=["spotcheck", "replay", str(source)])


def _write(tmp_path, manifest, name="manifest.json"):
    path = tmp_path / name
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return path


def _u(seed, item_id):
    h = int.from_bytes(hashlib.sha256(f"{seed},{item_id}".encode()).digest(), "big")
    return (h + 0.5) / 2**256


def test_an_independent_reimplementation_matches_the_manifest(client, world):
    """The rule of docs/spotchecks.md, written again here from the text, gives the same draw."""
    _body, manifest = _manifest(client, world, weighting="hours")
    seed = manifest["seed"]
    population = manifest["population"]
    assert (
        hashlib.sha256("\n".join(sorted(p["id"] for p in population)).encode()).hexdigest()
        == manifest["population_hash"]
    )
    orgs = [p for p in population if p["kind"] == "organisation" and not p["forced"]]
    stage1 = sorted(orgs, key=lambda p: (-math.log(_u(seed, p["id"])) / p["weight"], p["id"]))[:3]
    expected = [p["id"] for p in stage1]
    for org in expected:
        records = [p for p in population if p["kind"] == "record" and p["stratum"] == org]
        org_seed = f"{seed}/{org}"
        records.sort(key=lambda p: (-math.log(_u(org_seed, p["id"])) / p["weight"], p["id"]))
        expected += [p["id"] for p in records[:2]]
    assert [s["id"] for s in manifest["sample"]] == expected


def test_replay_of_a_file_matches(app, client, world, tmp_path):
    _body, manifest = _manifest(client, world)
    result = _replay(app, _write(tmp_path, manifest))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("match:")
    assert "sample of 9" in result.output


def test_replay_by_campaign_id_matches(app, client, world):
    body, _manifest_ = _manifest(client, world, unit="records", records_per_organisation=None)
    result = _replay(app, body["id"])
    assert result.exit_code == 0, result.output
    assert f"campaign {body['id']}" in result.output


def test_a_changed_sample_is_a_mismatch_naming_the_position(app, client, world, tmp_path):
    _body, manifest = _manifest(client, world)
    manifest["sample"][0], manifest["sample"][1] = manifest["sample"][1], manifest["sample"][0]
    result = _replay(app, _write(tmp_path, manifest))
    assert result.exit_code == 1
    assert "mismatch" in result.output and "sample position 1" in result.output


def test_a_changed_population_breaks_the_hash(app, client, world, tmp_path):
    _body, manifest = _manifest(client, world)
    manifest["population"].pop()
    result = _replay(app, _write(tmp_path, manifest))
    assert result.exit_code == 1
    assert "population_hash" in result.output


def test_a_changed_weight_or_seed_is_a_mismatch(app, client, world, tmp_path):
    _body, manifest = _manifest(client, world, weighting="hours")
    steered = json.loads(json.dumps(manifest))
    loser = next(
        p for p in steered["population"]
        if p["kind"] == "organisation" and p["id"] not in {s["id"] for s in steered["sample"]}
    )  # fmt: skip
    loser["weight"] = 1e9  # an organisation made certain to be drawn
    assert _replay(app, _write(tmp_path, steered, "w.json")).exit_code == 1
    reseeded = dict(manifest, seed="7" * 40)
    assert _replay(app, _write(tmp_path, reseeded, "s.json")).exit_code == 1


def test_a_changed_inspector_assignment_is_a_mismatch(app, client, world, tmp_path):
    _body, manifest = _manifest(client, world)
    entry = manifest["inspector_draw"]["organisations"][0]
    others = [i for i in manifest["inspector_draw"]["inspectors"] if i not in entry["assigned"]]
    entry["assigned"] = [others[0], entry["assigned"][1]]
    result = _replay(app, _write(tmp_path, manifest))
    assert result.exit_code == 1
    assert "inspector_draw position 1" in result.output


def test_replay_refuses_what_is_not_a_manifest(app, tmp_path):
    path = tmp_path / "junk.json"
    path.write_text("[1, 2]", encoding="utf-8")
    assert _replay(app, path).exit_code == 1
    assert _replay(app, "999999").exit_code == 1
    assert _replay(app, tmp_path / "missing.json").exit_code == 1

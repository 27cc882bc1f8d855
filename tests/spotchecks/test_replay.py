"""`verifier spotcheck replay`: a manifest alone reproduces the draw; any change is named."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest
from support import test_config
from support.campaign_world import SEED, World, parameters

from verifier import create_app

# A manifest published before commitments existed (format 1), as the previous version wrote it.
V1_MANIFEST = Path(__file__).parent / "data" / "manifest-v1.json"


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
    secret, ceremony_input = manifest["server_secret"], manifest["ceremony_input"]
    assert hashlib.sha256(secret.encode()).hexdigest() == manifest["commitment"]
    seed = hashlib.sha256(f"{secret}\n{ceremony_input}".encode()).hexdigest()
    assert seed == manifest["seed"]
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
    assert f"commitment {manifest['commitment']}" in result.output


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
    result = _replay(app, _write(tmp_path, reseeded, "s.json"))
    assert result.exit_code == 1 and "mismatch" in result.output and "seed:" in result.output


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


def test_a_secret_that_does_not_match_its_commitment_fails_naming_it(app, client, world, tmp_path):
    _body, manifest = _manifest(client, world)
    # a secret chosen afterwards, with the seed and the whole draw recomputed to fit it
    chosen = "0" * 64
    forged = dict(manifest, server_secret=chosen)
    forged["seed"] = hashlib.sha256(f"{chosen}\n{manifest['ceremony_input']}".encode()).hexdigest()
    result = _replay(app, _write(tmp_path, forged))
    assert result.exit_code == 1
    assert "mismatch" in result.output and "commitment:" in result.output
    assert manifest["commitment"] in result.output


def test_a_seed_that_does_not_derive_from_secret_and_input_fails(app, client, world, tmp_path):
    _body, manifest = _manifest(client, world)
    other_input = dict(manifest, ceremony_input="2" * 30)
    result = _replay(app, _write(tmp_path, other_input, "input.json"))
    assert result.exit_code == 1
    assert "seed:" in result.output and "ceremony_input" in result.output
    # the old reading: the ceremony input used as the seed itself
    as_before = dict(manifest, seed=manifest["ceremony_input"])
    result = _replay(app, _write(tmp_path, as_before, "seed.json"))
    assert result.exit_code == 1 and "seed:" in result.output


def test_a_manifest_without_the_revealed_secret_does_not_replay(app, client, world, tmp_path):
    _body, manifest = _manifest(client, world)
    hidden = {k: v for k, v in manifest.items() if k != "server_secret"}
    result = _replay(app, _write(tmp_path, hidden))
    assert result.exit_code == 1 and "server_secret" in result.output


def test_an_old_format_manifest_still_replays(app, tmp_path):
    manifest = json.loads(V1_MANIFEST.read_text(encoding="utf-8"))
    assert manifest["format"] == "verifier-spotcheck-manifest/1" and "commitment" not in manifest
    result = _replay(app, V1_MANIFEST)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("match:") and "format 1" in result.output
    assert f"seed {manifest['seed']}" in result.output
    changed = dict(manifest, seed="7" * 40)
    result = _replay(app, _write(tmp_path, changed))
    assert result.exit_code == 1 and "sample position" in result.output


def test_an_unknown_format_is_named(app, tmp_path):
    manifest = json.loads(V1_MANIFEST.read_text(encoding="utf-8"))
    result = _replay(app, _write(tmp_path, dict(manifest, format="verifier-spotcheck-manifest/9")))
    assert result.exit_code == 1
    assert "format: 'verifier-spotcheck-manifest/9'" in result.output


def test_replaying_a_file_needs_no_database(client, world, tmp_path):
    """With the database unreachable, both formats replay from their files."""
    _body, manifest = _manifest(client, world)
    offline = create_app(test_config("postgresql+psycopg://nobody@127.0.0.1:9/none"))
    runner = offline.test_cli_runner()
    for path in (_write(tmp_path, manifest), V1_MANIFEST):
        result = runner.invoke(args=["spotcheck", "replay", str(path)])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("match:")


def test_a_changed_population_size_is_a_mismatch(app, client, world, tmp_path):
    _body, manifest = _manifest(client, world)
    manifest["population_size"] += 1
    result = _replay(app, _write(tmp_path, manifest))
    assert result.exit_code == 1
    assert "population_size" in result.output

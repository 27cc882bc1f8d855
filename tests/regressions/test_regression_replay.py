"""Found by the adversarial review of issue 7, reproduced here, then fixed.

A format-2 manifest relabelled as format 1, with a seed of the
forger's choosing and the sample and inspector draw recomputed from it, replays as "match"
(exit 0): `verifier/spotchecks/draw.py::replay` trusts the manifest's own `format` field and skips
the commitment check, even though the file carries a commitment and a server secret.
"""

from __future__ import annotations

import json

import pytest
from support.campaign_world import SEED, World, parameters

from verifier.spotchecks.draw import (
    compute_inspector_draw,
    compute_sample,
    organisations_in_order,
)


@pytest.fixture
def world(app):
    return World(app)


def test_a_v2_manifest_relabelled_as_format_1_with_a_chosen_seed_is_refused(
    client, world, app, tmp_path
):
    body = world.campaign(client, seed=SEED, parameters=parameters()).get_json()
    manifest = client.get(
        f"/api/v1/spotcheck/campaigns/{body['id']}/manifest", headers=world.headers()
    ).get_json()
    assert manifest["format"] == "verifier-spotcheck-manifest/2"
    forged = dict(manifest)
    forged["format"] = "verifier-spotcheck-manifest/1"
    forged["seed"] = "0" * 64  # any seed the forger likes
    sample = compute_sample(forged["seed"], forged["parameters"], forged["population"])
    forged["sample"] = sample
    draw = manifest["inspector_draw"]
    organisations = organisations_in_order(sample)
    redrawn = compute_inspector_draw(
        forged["seed"],
        organisations,
        draw["inspectors"],
        {},
        draw["initial_load"],
        int(draw["k"]),
    )
    forged["inspector_draw"] = {**draw, "organisations": redrawn}
    path = tmp_path / "forged-manifest.json"
    path.write_text(json.dumps(forged, ensure_ascii=False, default=str), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["spotcheck", "replay", str(path)])
    # before the fix: exit 0, "match: ... (format 1: ... there is no commitment)"
    assert result.exit_code == 1, result.output

"""The seed nobody can steer: a committed server secret, then the ceremony input, the reveal."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select, update
from support import login
from support.campaign_world import SEED, World, parameters

from verifier.audit.models import AuditEntry
from verifier.db import get_session
from verifier.spotchecks.models import SpotCheckCampaign

DOC = Path(__file__).resolve().parents[2] / "docs" / "spotchecks.md"


@pytest.fixture
def world(app):
    return World(app)


def _sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _hidden_secret(app, campaign_id):
    """The server secret as the database keeps it before the reveal (decrypted here, by hand)."""
    from verifier.crypto.encryption import get_cipher
    from verifier.spotchecks.services import server_secret_place

    with app.app_context():
        campaign = get_session().get(SpotCheckCampaign, campaign_id)
        assert campaign.server_secret is None and campaign.server_secret_enc is not None
        return get_cipher().open_text(campaign.server_secret_enc, server_secret_place(campaign_id))


def _audit(app, campaign_id):
    with app.app_context():
        rows = get_session().execute(
            select(AuditEntry.action, AuditEntry.details)
            .where(AuditEntry.object_type == "spotcheck_campaign")
            .where(AuditEntry.object_id == str(campaign_id))
            .order_by(AuditEntry.id)
        )
        return {action: json.loads(details) for action, details in rows}


def test_the_commitment_is_published_before_the_secret_is_revealed(app, client, world, tmp_path):
    created = world.campaign(client, await_seed=True)
    body = created.get_json()
    campaign_id = body["id"]
    secret = _hidden_secret(app, campaign_id)
    commitment = _sha256(secret)
    # before the seed: the commitment everywhere it is published, the secret nowhere
    api = f"/api/v1/spotcheck/campaigns/{campaign_id}"
    shown = {
        "answer": created.get_data(as_text=True),
        "campaign": client.get(api, headers=world.headers()).get_data(as_text=True),
        "list": client.get("/api/v1/spotcheck/campaigns", headers=world.headers()).get_data(
            as_text=True
        ),
        "manifest": client.get(f"{api}/manifest", headers=world.headers()).get_data(as_text=True),
        "audit": json.dumps(_audit(app, campaign_id)),
    }
    page_client = app.test_client()
    assert login(page_client, world.supervisor.email).status_code == 302
    shown["page"] = page_client.get(f"/spotchecks/campaigns/{campaign_id}").get_data(as_text=True)
    for where, text in shown.items():
        assert commitment in text, where
        assert secret not in text, f"the secret is shown before the seed is fixed ({where})"
    assert body["commitment"] == commitment
    assert body["server_secret"] is None and body["ceremony_input"] is None
    assert body["seed"] is None
    frozen_manifest = json.loads(shown["manifest"])
    assert frozen_manifest["format"] == "verifier-spotcheck-manifest/2"
    assert frozen_manifest["server_secret"] is None and frozen_manifest["seed"] is None
    assert _audit(app, campaign_id)["spotcheck.freeze"]["commitment"] == commitment

    seeded = client.post(f"{api}/seed", json={"ceremony_input": SEED}, headers=world.headers())
    assert seeded.status_code == 200, seeded.get_json()
    fixed = seeded.get_json()
    assert fixed["server_secret"] == secret and fixed["commitment"] == commitment
    assert fixed["seed"] == _sha256(f"{secret}\n{SEED}")
    manifest = client.get(f"{api}/manifest", headers=world.headers()).get_json()
    assert manifest["server_secret"] == secret and manifest["ceremony_input"] == SEED
    assert manifest["commitment"] == commitment and manifest["seed"] == fixed["seed"]
    seed_entry = _audit(app, campaign_id)["spotcheck.seed"]
    assert seed_entry["server_secret"] == secret and seed_entry["ceremony_input"] == SEED
    assert seed_entry["seed"] == fixed["seed"]
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    replayed = app.test_cli_runner().invoke(args=["spotcheck", "replay", str(path)])
    assert replayed.exit_code == 0, replayed.output
    assert f"commitment {commitment}" in replayed.output


def test_the_ceremony_input_has_a_name_and_seed_stays_accepted(client, world):
    by_name = world.campaign(client, ceremony_input=SEED).get_json()
    by_old_name = world.campaign(client, seed=SEED).get_json()
    for body in (by_name, by_old_name):
        assert body["ceremony_input"] == SEED and body["seed_source"] == "ceremony"
        assert body["seed"] == _sha256(f"{body['server_secret']}\n{SEED}")
    both = world.campaign(client, ceremony_input=SEED, seed=SEED)
    assert both.status_code == 422
    assert both.get_json()["errors"][0]["rule"] == "ceremony_input_or_seed"
    waiting = world.campaign(client, ceremony_input=SEED, await_seed=True)
    assert waiting.status_code == 422
    assert waiting.get_json()["errors"][0]["rule"] == "seed_or_wait"
    frozen = world.campaign(client, await_seed=True).get_json()
    url = f"/api/v1/spotcheck/campaigns/{frozen['id']}/seed"
    empty = client.post(url, json={}, headers=world.headers())
    assert empty.status_code == 422
    assert empty.get_json()["errors"][0]["rule"] == "ceremony_input_required"
    bad = client.post(url, json={"ceremony_input": "dice 1 2 3"}, headers=world.headers())
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["rule"] == "seed_format"
    assert "摇号输入" in bad.get_json()["errors"][0]["message"]  # "the ceremony input is ..."
    ok = client.post(url, json={"ceremony_input": SEED}, headers=world.headers())
    assert ok.status_code == 200 and ok.get_json()["ceremony_input"] == SEED


def test_a_campaign_frozen_before_commitments_commits_when_seeded(app, client, world, tmp_path):
    """A database upgraded with a frozen campaign awaiting its ceremony: no commitment yet."""
    frozen = world.campaign(client, await_seed=True).get_json()
    with app.app_context():
        session = get_session()
        session.execute(
            update(SpotCheckCampaign)
            .where(SpotCheckCampaign.id == frozen["id"])
            .values(commitment=None, server_secret_enc=None)
        )
        session.commit()
    url = f"/api/v1/spotcheck/campaigns/{frozen['id']}"
    before = client.get(f"{url}/manifest", headers=world.headers()).get_json()
    assert before["format"] == "verifier-spotcheck-manifest/1" and "commitment" not in before
    seeded = client.post(f"{url}/seed", json={"seed": SEED}, headers=world.headers()).get_json()
    assert seeded["commitment"] == _sha256(seeded["server_secret"])
    assert seeded["seed"] == _sha256(f"{seeded['server_secret']}\n{SEED}")
    manifest = client.get(f"{url}/manifest", headers=world.headers()).get_json()
    assert manifest["format"] == "verifier-spotcheck-manifest/2"
    replayed = app.test_cli_runner().invoke(args=["spotcheck", "replay", str(frozen["id"])])
    assert replayed.exit_code == 0, replayed.output


def test_the_public_page_shows_the_commitment_secret_and_input(app, client, world):
    body = world.campaign(client, seed=SEED, parameters=parameters()).get_json()
    item = body["sample"][0]
    inspector = next(i for i, u in enumerate(world.inspectors) if u.id in item["inspector_ids"])
    found = client.post(
        f"/api/v1/spotcheck/items/{item['id']}/finding",
        json={"result": "confirmed"},
        headers=world.headers(f"inspector{inspector}"),
    )
    assert found.status_code == 201
    published = client.post(
        f"/api/v1/spotcheck/campaigns/{body['id']}/publish", headers=world.headers()
    )
    assert published.status_code == 200
    page = client.get(f"/spotchecks/{body['id']}", headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    for value in (body["commitment"], body["server_secret"], SEED, body["seed"]):
        assert value in text
    assert "Commitment to the server secret" in text


def test_the_documented_seed_example_is_what_the_code_computes():
    from verifier.spotchecks.draw import campaign_seed, commitment_of
    from verifier.spotchecks.sampling import PopulationItem, draw, item_u

    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## 10. The seed") :]
    rows = dict(re.findall(r"^\| ([a-z ]+) \| `([0-9a-z]*)` \|$", section, re.M))
    flat = " ".join(section.split())  # the prose, with its line breaks as spaces
    secret, ceremony_input = rows["server secret"], rows["ceremony input"]
    assert len(secret) == 64 and ceremony_input == "31415926535897932384"
    assert rows["commitment"] == commitment_of(secret) == _sha256(secret)
    assert rows["seed"] == campaign_seed(secret, ceremony_input)
    assert rows["seed with no ceremony input"] == campaign_seed(secret, "")
    hashed = f"{secret}\n{ceremony_input}".encode()
    assert rows["seed"] == hashlib.sha256(hashed).hexdigest()
    assert f"the {len(hashed)} bytes of the secret" in flat
    ids = [f"rec:{i}" for i in range(1, 6)]
    sample = draw(rows["seed"], [PopulationItem(i) for i in ids], 2, weighted=False)
    assert sample == ["rec:5", "rec:1"] and "**`rec:5`, `rec:1`**" in section
    assert f"u = {item_u(rows['seed'], 'rec:5')!r} and {item_u(rows['seed'], 'rec:1')!r}" in flat
    as_format_1 = draw(ceremony_input, [PopulationItem(i) for i in ids], 2, weighted=False)
    assert "`{}`, `{}`: the input alone".format(*as_format_1) in flat
    assert f'"{rows["seed"]}/org:12"' in text  # the stage-2 example of section 9
    # the Python check printed in the section gives the same values
    code = section.split("```python\n")[1].split("```")[0]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, {})  # noqa: S102
    assert printed.getvalue().split() == [rows["commitment"], rows["seed"]]

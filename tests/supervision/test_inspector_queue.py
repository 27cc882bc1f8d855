"""The inspector's queue: each inspector sees only the items drawn for them."""

import pytest
from support.supervision_world import VOLUNTEER_NAME, build_world

from verifier.certificates.services import number_display


@pytest.fixture
def world(app):
    return build_world(app)


def _ids(response):
    assert response.status_code == 200, response.get_json()
    return sorted(item["id"] for item in response.get_json()["items"])


def test_an_inspector_lists_only_their_items(client, world):
    mine = {world.items[k].id for k in ("org", "record0", "record1")}
    assert _ids(client.get("/api/v1/spotcheck/items?mine=1", headers=world.auth("inspector"))) == (
        sorted(mine)
    )
    # an inspector asking for everything still gets only their own
    assert _ids(client.get("/api/v1/spotcheck/items?mine=0", headers=world.auth("inspector"))) == (
        sorted(mine)
    )
    others = {world.items[k].id for k in ("other_org", "other_record")}
    assert _ids(client.get("/api/v1/spotcheck/items", headers=world.auth("outsider"))) == sorted(
        others
    )
    # a supervisor drawn for nothing has an empty queue, and sees every item with mine=0
    assert _ids(client.get("/api/v1/spotcheck/items", headers=world.auth("supervisor"))) == []
    assert (
        len(_ids(client.get("/api/v1/spotcheck/items?mine=0", headers=world.auth("supervisor"))))
        == 5
    )


def test_another_inspectors_item_is_not_found(client, world):
    item = world.items["other_record"].id
    api = client.get(f"/api/v1/spotcheck/items/{item}", headers=world.auth("inspector"))
    assert api.status_code == 404
    assert (
        client.get(f"/api/v1/spotcheck/items/{item}", headers=world.auth("outsider")).status_code
        == 200
    )
    page = world.client("inspector").get(f"/inspections/{item}")
    assert page.status_code == 404
    refused = client.post(
        f"/api/v1/spotcheck/items/{item}/finding",
        json={"result": "confirmed"},
        headers=world.auth("inspector"),
    )
    assert refused.status_code == 404


def test_organisations_cannot_see_the_queue(client, world):
    assert client.get("/api/v1/spotcheck/items", headers=world.auth("org_admin")).status_code == 403
    assert world.client("org_admin").get("/inspections").status_code == 403


def test_an_organisation_item_shows_its_sampled_records_and_their_certificates(client, world):
    response = client.get(
        f"/api/v1/spotcheck/items/{world.items['org'].id}", headers=world.auth("inspector")
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["kind"] == "organisation" and body["organisation"]["uscc"] == world.org.uscc
    assert [r["id"] for r in body["records"]] == [world.records[0].id, world.records[1].id]
    first = number_display(world.certs["first"].number)
    assert [c["number"] for c in body["records"][0]["certificates"]] == [first]
    assert body["records"][0]["history_url"].endswith(f"/records/{world.records[0].id}/history")
    assert sorted(body["inspector_ids"]) == sorted(
        [world.users["inspector"].id, world.users["inspector2"].id]
    )
    assert body["finding"] is None


def test_the_queue_pages(world):
    inspector = world.client("inspector")
    queue = inspector.get("/inspections")
    assert queue.status_code == 200
    text = queue.get_data(as_text=True)
    assert f"/inspections/{world.items['org'].id}" in text
    assert f"/inspections/{world.items['other_org'].id}" not in text
    item = inspector.get(f"/inspections/{world.items['org'].id}")
    assert item.status_code == 200
    page = item.get_data(as_text=True)
    assert VOLUNTEER_NAME in page and "Record the finding" in page
    assert f"/records/{world.records[0].id}/history" in page
    assert world.certs["first"].number in page

"""The public results page (一公开): what was checked and found, and nothing personal."""

import pytest
from support.supervision_world import (
    OTHER_VOLUNTEER_NAME,
    POPULATION_HASH,
    SEED,
    VOLUNTEER_ID,
    VOLUNTEER_NAME,
    build_world,
    finding,
)


@pytest.fixture
def world(app):
    return build_world(app)


def _check_everything(client, world):
    bodies = {
        "org": {
            "result": "discrepancy",
            "discrepancy_type": "hours_inflated",
            "notes": f"{VOLUNTEER_NAME}称只服务了1小时",
        },
        "record0": {"result": "confirmed", "notes": f"电话联系{VOLUNTEER_NAME}确认"},
        "record1": {
            "result": "discrepancy",
            "discrepancy_type": "duplicate",
            "notes": "与另一条重复",
        },
    }
    for item, body in bodies.items():
        assert finding(client, world, item, **body).status_code == 201
    for item in ("other_org", "other_record"):
        assert (
            finding(client, world, item, who="outsider", result="unverifiable").status_code == 201
        )


def _publish(client, world):
    response = client.post(
        f"/api/v1/spotcheck/campaigns/{world.campaign.id}/publish", headers=world.auth("supervisor")
    )
    assert response.status_code == 200, response.get_json()


def test_an_unpublished_campaign_has_no_public_page(client, world):
    assert client.get(f"/spotchecks/{world.campaign.id}").status_code == 404
    assert client.get("/spotchecks/999999").status_code == 404


def test_the_public_page_shows_the_draw_and_findings_per_organisation(client, world):
    _check_everything(client, world)
    _publish(client, world)
    response = client.get(f"/spotchecks/{world.campaign.id}", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert POPULATION_HASH in page and SEED in page
    assert world.org.name in page and world.org.uscc in page
    assert world.other_org.name in page and world.other_org.uscc in page
    assert f"/api/v1/spotcheck/campaigns/{world.campaign.id}/manifest" in page
    # counts per organisation: 3 items (1 confirmed, 2 discrepancies); the other: 2 unverifiable
    row = page[page.index(world.org.uscc) :].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in row.split('<td class="num">')[1:]]
    assert cells == ["3", "1", "2", "0"]
    assert "Hours inflated 1" in row and "Duplicate record 1" in row
    other_row = page[page.index(world.other_org.uscc) :].split("</tr>")[0]
    assert [c.split("</td>")[0] for c in other_row.split('<td class="num">')[1:]] == [
        "2",
        "0",
        "0",
        "2",
    ]


def test_the_public_page_holds_no_personal_data(client, world):
    _check_everything(client, world)
    _publish(client, world)
    for lang in ("en", "zh"):
        page = client.get(
            f"/spotchecks/{world.campaign.id}", headers={"Accept-Language": lang}
        ).get_data(as_text=True)
        for secret in (
            VOLUNTEER_NAME,
            VOLUNTEER_NAME[0] + "*",
            OTHER_VOLUNTEER_NAME,
            VOLUNTEER_ID,
            VOLUNTEER_ID[-4:],
            world.volunteer.volunteer_number,
            "社区敬老服务",  # record content
            "陪伴老人",
            *(u.email for u in world.users.values()),
            "inspector.li",
            "与另一条重复",  # inspectors' notes
        ):
            assert secret not in page, f"{secret!r} on the public page ({lang})"


def test_results_published_before_the_checks_end_say_so(client, world):
    assert finding(client, world, "record0", result="confirmed").status_code == 201
    _publish(client, world)
    page = client.get(f"/spotchecks/{world.campaign.id}", headers={"Accept-Language": "en"})
    assert "4 of 5 sampled items have no finding yet" in page.get_data(as_text=True)


def test_publishing_before_any_finding_is_refused(client, world):
    url = f"/api/v1/spotcheck/campaigns/{world.campaign.id}/publish"
    refused = client.post(url, headers=world.auth("supervisor"))
    assert refused.status_code == 409
    assert refused.mimetype == "application/problem+json"
    assert "no finding has been recorded" in refused.get_json()["detail"]
    page_client = world.client("supervisor")
    detail = page_client.get(f"/spotchecks/campaigns/{world.campaign.id}").get_data(as_text=True)
    assert "Publishing is possible once a finding is recorded" in detail
    assert f"/spotchecks/campaigns/{world.campaign.id}/publish" not in detail
    page = page_client.post(f"/spotchecks/campaigns/{world.campaign.id}/publish")
    assert page.status_code == 409
    assert "no finding has been recorded" in page.get_data(as_text=True)
    assert client.get(f"/spotchecks/{world.campaign.id}").status_code == 404  # still unpublished
    # one finding on one item is enough
    confirmed = finding(client, world, "other_record", who="outsider", result="confirmed")
    assert confirmed.status_code == 201
    published = page_client.post(f"/spotchecks/campaigns/{world.campaign.id}/publish")
    assert published.status_code == 302
    assert client.get(f"/spotchecks/{world.campaign.id}").status_code == 200

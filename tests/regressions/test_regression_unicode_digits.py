"""Found by the adversarial review of issue 7, reproduced here, then fixed.

`str.isdigit()` accepts '²' (SUPERSCRIPT TWO) but `int()` refuses it,
so these forms answer 500 instead of a 4xx naming the field:

- POST /api/v1/spotcheck/items/{id}/finding as multipart, record_ids=²
  (verifier/supervision/api.py::read_finding)
- POST /inspections/{id}, record_ids=² (verifier/supervision/views.py::_finding_from_form)
- POST /spotchecks/conflicts, organisation_id=² (verifier/spotchecks/views.py::declare)
- POST /certificates/new, record_ids=² (verifier/certificates/views.py, line 94)
"""

from __future__ import annotations

import pytest
from support.supervision_world import build_world


@pytest.fixture
def world(app):
    return build_world(app)


def test_finding_api_multipart_with_a_superscript_digit(client, world):
    response = client.post(
        f"/api/v1/spotcheck/items/{world.items['org'].id}/finding",
        data={
            "result": "discrepancy",
            "discrepancy_type": "hours_inflated",
            "notes": "x",
            "record_ids": "²",
        },
        headers=world.auth("inspector"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422, response.get_data(as_text=True)[:300]


def test_inspection_page_with_a_superscript_digit(world):
    browser = world.client("inspector")
    response = browser.post(
        f"/inspections/{world.items['org'].id}",
        data={
            "result": "discrepancy",
            "discrepancy_type": "hours_inflated",
            "notes": "x",
            "record_ids": "²",
        },
    )
    assert response.status_code < 500


def test_conflicts_page_with_a_superscript_digit(world):
    browser = world.client("inspector")
    response = browser.post("/spotchecks/conflicts", data={"organisation_id": "²", "note": "x"})
    assert response.status_code < 500


def test_new_certificate_page_with_a_superscript_digit(world):
    browser = world.client("org_admin")
    response = browser.post(
        "/certificates/new",
        data={"volunteer_id": str(world.volunteer.id), "record_ids": "²", "mode": "records"},
    )
    assert response.status_code < 500

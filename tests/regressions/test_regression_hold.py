"""Found by the adversarial review of issue 7, reproduced here, then fixed.

While a supervision case is open, the organisation revokes the held
certificate (which it may) and then issues a fresh, valid certificate over the very records the
case holds. `lifecycle._write_status` clears `regulator_hold` on revocation, and
`certificates.services` finds held records only through certificates with `regulator_hold`.
"""

from __future__ import annotations

import pytest
from support.supervision_world import build_world, open_case

from verifier.certificates.services import number_display


@pytest.fixture
def world(app):
    return build_world(app)


def test_revoking_a_held_certificate_does_not_free_its_records_while_the_case_is_open(
    client, world
):
    open_case(client, world)
    number = number_display(world.certs["first"].number)
    revoked = client.post(
        f"/api/v1/certificates/{number}/revoke",
        json={"reason": "组织自行撤销"},
        headers=world.auth("org_admin"),
    )
    assert revoked.status_code == 200  # allowed: the organisation may revoke
    fresh = client.post(
        "/api/v1/certificates",
        json={"volunteer_id": world.volunteer.id, "record_ids": [world.records[0].id]},
        headers=world.auth("org_admin"),
    )
    # before the fix: 201 and a certificate that verifies as valid while the case is still open
    assert fresh.status_code == 409, fresh.get_json()

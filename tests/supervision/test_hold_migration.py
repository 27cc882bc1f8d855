"""A database upgraded while a supervision case holds certificates: the hold holds afterwards.

The data is written at the newest revision, the schema taken back to the revision before holds
(0002, which drops the column), and upgraded again: revision 0003 must find the certificates an
unclosed case holds and mark them held.
"""

from __future__ import annotations

from alembic import command
from support import committing_sqlite_app
from support.supervision_world import build_world, open_case

from verifier.certificates.models import Certificate
from verifier.db import alembic_config, get_session, upgrade_database


def test_certificates_held_by_an_open_case_are_held_after_upgrading(tmp_path):
    app = committing_sqlite_app(tmp_path / "upgrade.db")
    world = build_world(app)
    client = app.test_client()
    open_case(client, world)
    command.downgrade(alembic_config(app), "0002")
    upgrade_database(app)
    with app.app_context():
        session = get_session()
        held = session.get(Certificate, world.certs["first"].id)
        free = session.get(Certificate, world.certs["second"].id)
        assert (held.status, held.regulator_hold) == ("suspended", True)
        assert (free.status, free.regulator_hold) == ("valid", False)
    refused = client.post(
        f"/api/v1/certificates/{world.certs['first'].number}/reinstate",
        json={},
        headers=world.auth("org_admin"),
    )
    assert refused.status_code == 409
    app.extensions["verifier.db"].engine.dispose()

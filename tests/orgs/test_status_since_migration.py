"""Revision 0009 on a database holding data: a suspended organisation learns since when."""

from __future__ import annotations

from alembic import command
from support import Factory, committing_sqlite_app

from verifier.db import alembic_config, get_session, upgrade_database
from verifier.orgs.models import Organisation
from verifier.orgs.services import set_status


def test_a_suspended_organisation_is_suspended_since_its_last_status_change(tmp_path):
    app = committing_sqlite_app(tmp_path / "upgrade.db")
    make = Factory(app)
    org, heir, active = make.org(), make.org(), make.org()
    make.run(
        lambda s: set_status(
            s, s.get(Organisation, org.id), "deregistered", "注销", None,
            successor=s.get(Organisation, heir.id),
        )
    )  # fmt: skip
    since = make.run(lambda s: s.get(Organisation, org.id).status_since)
    command.downgrade(alembic_config(app), "0008")
    upgrade_database(app)
    with app.app_context():
        session = get_session()
        upgraded = session.get(Organisation, org.id)
        assert upgraded.status == "deregistered"
        assert upgraded.status_since == since  # taken from the audit log
        assert upgraded.successor_id is None  # not known before 0009
        assert session.get(Organisation, active.id).status_since is None
    app.extensions["verifier.db"].engine.dispose()

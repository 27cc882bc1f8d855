"""Organisation keys under concurrency, on PostgreSQL with real connections."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from support import Factory
from support.races import race

from verifier.db import get_session
from verifier.keys.models import KeyStatus, SigningKey
from verifier.keys.services import organisation_key, owner_of, retire
from verifier.orgs.models import Organisation

pytestmark = pytest.mark.postgres


def test_two_first_issuances_make_one_key(committing_app):
    make = Factory(committing_app)
    org = make.org()

    def first_use(session):
        organisation_key(session, session.get(Organisation, org.id))

    for _round in range(3):
        assert race(committing_app, [first_use, first_use, first_use]) == ["ok"] * 3
        with committing_app.app_context():
            session = get_session()
            keys = session.scalars(
                select(SigningKey).where(SigningKey.organisation_id == org.id)
            ).all()
            active = [k for k in keys if k.status == KeyStatus.ACTIVE]
            assert len(active) == 1
            retire(session, active[0].kid, organisation=owner_of(session, active[0]))
            session.commit()


def test_retirement_comes_after_the_certificates_signed_with_the_key(committing_app):
    """A retirement waits for issuance in progress, so its time is after theirs."""
    make = Factory(committing_app)
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    records = [make.record(org, volunteer, actor=admin)]
    first = make.certificate(org, admin, volunteer, records)
    kid = first.kid
    import time

    from verifier.auth.models import User
    from verifier.certificates.services import IssueRequest, issue_certificate

    issued = {}

    def issue(session):
        organisation_key(session, session.get(Organisation, org.id))  # share-locks the key
        time.sleep(1.2)  # past the second of the retirement request (issued_at is whole seconds)
        cert = issue_certificate(
            session,
            session.get(Organisation, org.id),
            IssueRequest(volunteer_id=volunteer.id, record_ids=[records[0].id]),
            session.get(User, admin.id),
        )
        issued["cert"] = cert.issued_at, cert.kid

    def retire_it(session):
        time.sleep(0.1)
        key = session.scalars(select(SigningKey).where(SigningKey.kid == kid)).one()
        retire(session, kid, organisation=owner_of(session, key))

    assert race(committing_app, [issue, retire_it]) == ["ok", "ok"]
    with committing_app.app_context():
        key = get_session().scalars(select(SigningKey).where(SigningKey.kid == kid)).one()
        at, signed_by = issued["cert"]
        assert signed_by == kid and key.retired_at is not None and key.retired_at >= at

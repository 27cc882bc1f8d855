"""Found by the adversarial review of issue 7, reproduced here, then fixed.

A record written by a database writer with a revision row whose id
is 0 or negative is not seen by `verifier audit verify` at all: the keyset pagination in
`verifier/records/attestation.py::_batches` starts at `id > 0`.
"""

from __future__ import annotations

from support import raw_record

from verifier.db import get_session


def test_a_revision_row_with_id_zero_or_below_is_reported(app, make):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    make.record(org, volunteer, actor=admin)
    with app.app_context():
        session = get_session()
        raw_record(session, org.id, volunteer.id, revision_id=0)
        session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    # before the fix: exit 0, "records: 2 records, 1 of 1 revisions attested by the log"
    assert result.exit_code == 1, result.output
    assert "behind the application's back" in result.output

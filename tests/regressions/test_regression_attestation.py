"""Found by the adversarial review of issue 7, reproduced here, then fixed.

A record written by a database writer with a revision row whose id
is 0 or negative is not seen by `verifier audit verify` at all: the keyset pagination in
`verifier/records/attestation.py::_batches` starts at `id > 0`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from verifier.db import get_session, utcnow
from verifier.records.models import RecordRevision, ServiceRecord

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_revision_row_with_id_zero_or_below_is_reported(app, make):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    make.record(org, volunteer, actor=admin)
    with app.app_context():
        session = get_session()
        start = datetime.now(SHANGHAI).replace(microsecond=0) - timedelta(days=20)
        fields = {
            "activity": "凭空出现的服务",
            "place": "南川区",
            "started_at": start,
            "ended_at": start + timedelta(hours=8),
            "minutes": 480,
        }
        record = ServiceRecord(
            organisation_id=org.id,
            volunteer_id=volunteer.id,
            status="active",
            revision=1,
            service_date=start.date(),
            dedupe_key="direct-write-0",
            recorded_at=utcnow(),
            updated_at=utcnow(),
            **fields,
        )
        session.add(record)
        session.flush()
        # the writer picks the revision row's id itself
        session.add(RecordRevision(id=0, record_id=record.id, revision=1, kind="created", **fields))
        session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    # before the fix: exit 0, "records: 2 records, 1 of 1 revisions attested by the log"
    assert result.exit_code == 1, result.output
    assert "behind the application's back" in result.output

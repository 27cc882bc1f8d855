"""Every record revision is attested by an audit entry: single writes by their own, imports and
the demo by one batch entry. A row written or changed behind the application's back is reported.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text, update
from support import make_resident_id, raw_record

from verifier.audit.models import AuditEntry
from verifier.db import get_session
from verifier.records.models import RecordRevision, ServiceRecord

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = "姓名,证件类型,证件号码,活动名称,服务地点,开始时间,结束时间,服务时长（分钟）,服务内容"


def _verify(app, *args):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def _csv(rows: int, first: int = 800) -> bytes:
    day = (datetime.now(SHANGHAI) - timedelta(days=12)).date()
    lines = [HEADER]
    for n in range(first, first + rows):
        lines.append(
            f"导入志愿者{n},居民身份证,{make_resident_id(n)},社区敬老服务,南川区东城街道,"
            f"{day} 09:00,{day} 12:00,180,陪伴老人"
        )
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _import(app, org, tmp_path, rows: int = 3):
    path = tmp_path / "records.csv"
    path.write_bytes(_csv(rows))
    result = app.test_cli_runner().invoke(args=["import", "records", str(path), "--org", org.uscc])
    assert result.exit_code == 0, result.output


def _entries(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        return list(
            get_session().scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


def test_single_writes_carry_the_content_hash_of_their_revision(app, make):
    from verifier.auth.models import User
    from verifier.records.services import RecordInput, correct_record, void_record

    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    record = make.record(org, volunteer, actor=admin)

    def change(session):
        row = session.get(ServiceRecord, record.id)
        user = session.get(User, admin.id)
        fields = {name: getattr(row, name) for name in ("activity", "place", "started_at")}
        data = RecordInput(**fields, ended_at=row.ended_at, minutes=120, content=row.content)
        correct_record(session, row, data, "签到记录显示 2 小时", user)
        void_record(session, row, "重复录入", user)

    make.run(change)
    for action in ("record.create", "record.correct", "record.void"):
        (entry,) = _entries(app, action)
        attests = json.loads(entry.details)["attests"]
        assert attests["count"] == 1 and len(attests["sha256"]) == 64
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "records: 1 records, 3 of 3 revisions attested by the log" in result.output
    # the voiding reason rewritten in the history table
    with app.app_context():
        session = get_session()
        session.execute(
            update(RecordRevision)
            .where(RecordRevision.record_id == record.id, RecordRevision.kind == "voided")
            .values(reason="录入错误")
        )
        session.execute(
            update(ServiceRecord)
            .where(ServiceRecord.id == record.id)
            .values(void_reason="录入错误")
        )
        session.commit()
    (void_entry,) = _entries(app, "record.void")
    result = _verify(app)
    assert result.exit_code == 1
    assert result.output.splitlines()[0].startswith(
        f"audit log BROKEN: audit entry {void_entry.id} (record.void; 1 revisions, row "
    )
    assert "no longer match their attested content" in result.output


def test_a_directly_inserted_service_record_is_reported(app, make):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    make.record(org, volunteer, actor=admin)
    with app.app_context():
        session = get_session()
        raw = raw_record(session, org.id, volunteer.id)
        revision_id = session.scalar(
            select(RecordRevision.id).where(RecordRevision.record_id == raw.id)
        )
        session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"audit log BROKEN: record {raw.id} revision 1 (revision row {revision_id}) is attested "
        "by no audit entry: it was written behind the application's back"
    )
    # without its history row, it is still caught: the record has no revision
    with app.app_context():
        session = get_session()
        session.execute(text("DELETE FROM record_revisions WHERE id = :id"), {"id": revision_id})
        session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert f"record {raw.id}: it has no revision 1 (its history was cut)" in result.output


def test_a_record_changed_only_in_the_records_table_is_reported(app, make):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    record = make.record(org, volunteer, actor=admin)
    with app.app_context():
        session = get_session()
        session.execute(
            update(ServiceRecord).where(ServiceRecord.id == record.id).values(minutes=170)
        )
        session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"audit log BROKEN: record {record.id}: its minutes differ from its latest revision 1: "
        "changed behind the application's back"
    )


def test_a_record_moved_to_another_volunteer_is_reported(app, make):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer, other = make.volunteer(org), make.volunteer(org)
    record = make.record(org, volunteer, actor=admin)
    with app.app_context():
        session = get_session()
        session.execute(
            update(ServiceRecord).where(ServiceRecord.id == record.id).values(volunteer_id=other.id)
        )
        session.commit()
    (entry,) = _entries(app, "record.create")
    result = _verify(app)
    assert result.exit_code == 1
    assert f"audit entry {entry.id} (record.create;" in result.output.splitlines()[0]


def test_imported_rows_are_attested_by_the_batch_entry(app, make, tmp_path):
    org = make.org()
    _import(app, org, tmp_path, rows=4)
    (entry,) = _entries(app, "records.import")
    attests = json.loads(entry.details)["attests"]
    with app.app_context():
        session = get_session()
        ids = session.scalars(
            select(RecordRevision.id)
            .join(ServiceRecord, ServiceRecord.id == RecordRevision.record_id)
            .where(ServiceRecord.source == "import")
            .order_by(RecordRevision.id)
        ).all()
    assert attests["count"] == 4 and attests["revisions"] == [[ids[0], ids[-1]]]
    assert _entries(app, "record.create") == []  # still no entry per row
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "4 of 4 revisions attested" in result.output
    # an imported row altered afterwards, in both tables so that they still agree
    with app.app_context():
        session = get_session()
        record_id = session.scalar(
            select(RecordRevision.record_id).where(RecordRevision.id == ids[1])
        )
        session.execute(
            update(RecordRevision).where(RecordRevision.id == ids[1]).values(minutes=90)
        )
        session.execute(
            update(ServiceRecord).where(ServiceRecord.id == record_id).values(minutes=90)
        )
        session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"audit log BROKEN: audit entry {entry.id} (records.import; 4 revisions, rows "
        f"{ids[0]}–{ids[-1]}): the revisions no longer match their attested content: at least "
        "one was altered after it was written"
    )


def test_a_row_removed_from_an_import_batch_is_reported(app, make, tmp_path):
    org = make.org()
    _import(app, org, tmp_path, rows=2)
    (entry,) = _entries(app, "records.import")
    _first, last = json.loads(entry.details)["attests"]["revisions"][0]
    with app.app_context():
        session = get_session()
        session.execute(text("DELETE FROM record_revisions WHERE id = :id"), {"id": last})
        session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert result.output.splitlines()[0].startswith(
        f"audit log BROKEN: audit entry {entry.id} (records.import; 2 revisions"
    )
    assert "1 of those revisions exist now" in result.output


def test_the_demo_writes_its_records_with_one_attesting_entry(app, tmp_path):
    app.instance_path = str(tmp_path)
    runner = app.test_cli_runner()
    loaded = runner.invoke(args=["demo", "--volunteers", "10", "--records", "60"])
    assert loaded.exit_code == 0, loaded.output
    (entry,) = _entries(app, "demo.load")
    attests = json.loads(entry.details)["attests"]
    assert attests["count"] == 60
    assert _entries(app, "record.create") == []
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "records: 60 records, 60 of 60 revisions attested by the log" in result.output
    assert "warning" not in result.output


def test_legacy_revisions_warn_until_attested_once(app, make):
    """A database upgraded from before attestation: its revisions warn, never fail."""
    from verifier.orgs.models import Organisation
    from verifier.records.services import RecordInput, create_record
    from verifier.volunteers.models import Volunteer

    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)

    def legacy(session, days):
        start = datetime.now(SHANGHAI).replace(minute=0, second=0, microsecond=0)
        start -= timedelta(days=days)
        return create_record(
            session,
            session.get(Organisation, org.id),
            session.get(Volunteer, volunteer.id),
            RecordInput("旧活动", "南川区", start, start + timedelta(hours=2), 120),
            None,
            audit=False,  # written as yesterday's code wrote it: no attestation
        )

    make.run(lambda s: legacy(s, 30))
    make.run(lambda s: legacy(s, 31))

    def upgraded(session):  # what the migration that introduced attestation records
        from verifier.audit.models import AttestationEpoch

        epoch = session.get(AttestationEpoch, 1)
        epoch.legacy_upto = session.scalar(select(func.max(RecordRevision.id)))
        epoch.legacy_count = 2

    make.run(upgraded)
    make.record(org, volunteer, actor=admin)  # today's code: attested
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "warning: 2 record revisions predate record attestation" in result.output
    attested = app.test_cli_runner().invoke(args=["audit", "attest-legacy"])
    assert attested.exit_code == 0, attested.output
    assert "attested 2 legacy record revisions" in attested.output
    result = _verify(app)
    assert result.exit_code == 0 and "warning" not in result.output
    again = app.test_cli_runner().invoke(args=["audit", "attest-legacy"])
    assert "nothing to attest" in again.output
    # a row written behind the application's back later is no legacy
    with app.app_context():
        session = get_session()
        raw_record(session, org.id, volunteer.id)
        session.commit()
        assert session.scalar(select(func.count()).select_from(RecordRevision)) == 4
    assert _verify(app).exit_code == 1


def test_records_can_be_left_out_of_the_check(app, make):
    org = make.org()
    volunteer = make.volunteer(org)
    make.record(org, volunteer)
    with app.app_context():
        session = get_session()
        raw_record(session, org.id, volunteer.id)
        session.commit()
    assert _verify(app).exit_code == 1
    result = _verify(app, "--no-records")
    assert result.exit_code == 0 and "records:" not in result.output


def test_a_legitimate_change_attested_again_later_supersedes_the_old_attestation(app, make):
    """Merging duplicate volunteers moves records; the merge's entry attests them anew."""
    from verifier.audit.services import record_event
    from verifier.records.attestation import attest_revisions

    org = make.org()
    admin = make.user("org_admin", org)
    duplicate, kept = make.volunteer(org), make.volunteer(org)
    record = make.record(org, duplicate, actor=admin)
    other = make.record(
        org, kept, actor=admin, started_at=datetime.now(SHANGHAI) - timedelta(days=4)
    )

    def merge(session):
        session.execute(
            update(ServiceRecord)
            .where(ServiceRecord.volunteer_id == duplicate.id)
            .values(volunteer_id=kept.id)
        )
        record_event(
            session,
            None,
            "volunteer.merge",
            "volunteer",
            kept.id,
            details={
                "merged": duplicate.id,
                "attests": attest_revisions(session, RecordRevision.record_id == record.id),
            },
        )

    make.run(merge)
    result = _verify(app)
    assert result.exit_code == 0, result.output
    # a later attestation covers only the revisions it names: the other record stays checked
    with app.app_context():
        session = get_session()
        session.execute(
            update(ServiceRecord)
            .where(ServiceRecord.id == other.id)
            .values(volunteer_id=duplicate.id)
        )
        session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert "(record.create; 1 revisions" in result.output.splitlines()[0]


def test_a_row_slipped_into_the_legacy_range_is_caught_by_its_count(app, make):
    """Revisions that predate attestation were counted when it began; one added among them later
    (a gap in the ids, which rolled-back inserts leave) is not legacy."""
    from verifier.audit.models import AttestationEpoch

    org = make.org()
    volunteer = make.volunteer(org)

    def upgraded(session):  # no legacy revision, but every id counts as before the epoch (as if
        # the ids left a gap); PostgreSQL's sequences run on across rolled-back tests
        epoch = session.get(AttestationEpoch, 1)
        epoch.legacy_upto, epoch.legacy_count = 2**31 - 1, 0

    make.run(upgraded)
    with app.app_context():
        session = get_session()
        raw_record(session, org.id, volunteer.id)
        session.commit()
    result = _verify(app)
    assert result.exit_code == 1, result.output
    assert "revisions were added to or removed from them" in result.output


def test_deleting_the_epoch_makes_nothing_legacy(app, make):
    """Without its row, legacy revisions are unattested ones: deleting it hides nothing."""
    from verifier.audit.models import AttestationEpoch
    from verifier.records.services import RecordInput, create_record
    from verifier.volunteers.models import Volunteer

    org = make.org()
    volunteer = make.volunteer(org)
    start = datetime.now(SHANGHAI).replace(minute=0, second=0, microsecond=0) - timedelta(days=9)

    def legacy(session):
        from verifier.orgs.models import Organisation

        create_record(
            session,
            session.get(Organisation, org.id),
            session.get(Volunteer, volunteer.id),
            RecordInput("旧活动", "南川区", start, start + timedelta(hours=2), 120),
            None,
            audit=False,
        )
        epoch = session.get(AttestationEpoch, 1)
        epoch.legacy_upto = session.scalar(select(func.max(RecordRevision.id)))
        epoch.legacy_count = 1

    make.run(legacy)
    assert _verify(app).exit_code == 0  # legacy: a warning
    make.run(lambda s: s.delete(s.get(AttestationEpoch, 1)))
    result = _verify(app)
    assert result.exit_code == 1
    assert "attested by no audit entry" in result.output

"""The import service: encodings, headers, rules per row, dry run, all-or-nothing, idempotence."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from support import make_resident_id
from support.import_files import (
    HEADER_EN,
    HEADER_ZH,
    SHANGHAI,
    counts,
    csv_bytes,
    fmt,
    local_start,
    person,
    row,
    xlsx_bytes,
)

from verifier.audit.models import AuditEntry
from verifier.auth.models import User
from verifier.db import get_session
from verifier.errors import PayloadTooLarge, UnsupportedMediaType, ValidationError
from verifier.imports import report as import_report
from verifier.imports.services import ImportReport, import_records
from verifier.orgs.models import Organisation
from verifier.records.models import ImportBatch, ServiceRecord
from verifier.volunteers.models import Volunteer

MAX = 5 * 1024 * 1024


def run(
    app: Any, org: Any, data: bytes, filename: str = "records.csv", **options: Any
) -> ImportReport:
    """Import through the service in its own transaction, in English, and commit."""
    actor = options.pop("actor", None)
    options.setdefault("max_bytes", MAX)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        session = get_session()
        try:
            report = import_records(
                session,
                session.get(Organisation, org.id),
                session.get(User, actor.id) if actor else None,
                io.BytesIO(data),
                filename,
                **options,
            )
        except Exception:
            session.rollback()
            raise
        session.commit()
        return report


def records_of(app: Any, org: Any) -> list[ServiceRecord]:
    with app.app_context():
        return list(
            get_session().scalars(
                select(ServiceRecord)
                .where(ServiceRecord.organisation_id == org.id)
                .order_by(ServiceRecord.id)
            )
        )


def rules(report: ImportReport) -> list[tuple[int, str, str]]:
    return [(p.line, p.column, p.rule) for p in report.problems]


@pytest.fixture
def org(make: Any) -> Any:
    return make.org()


@pytest.fixture
def admin(make: Any, org: Any) -> Any:
    return make.user("org_admin", org)


# --- encodings and headers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gb18030")],
)
def test_each_encoding_imports_chinese_text_intact(app, org, admin, encoding, detected):
    rows = [row(501, activity="社区敬老服务·重阳节"), row(502, content="陪伴老人，读报、聊天")]
    report = run(app, org, csv_bytes(rows, encoding=encoding), actor=admin)
    assert report.encoding == detected
    assert (report.total_rows, report.imported, report.rejected_rows) == (2, 2, 0)
    stored = records_of(app, org)
    assert [r.activity for r in stored] == ["社区敬老服务·重阳节", "社区敬老服务"]
    assert stored[1].content == "陪伴老人，读报、聊天"
    assert {r.source for r in stored} == {"import"}


def test_english_headers_in_any_order_with_spaces(app, org):
    rows = [row(503), row(504)]
    order = [5, 0, 2, 1, 8, 3, 4, 7, 6]
    header = [f"  {HEADER_EN[i]} " for i in order]
    lines = [",".join(header)]
    for values in rows:
        lines.append(",".join(str(values[HEADER_EN[i]]) for i in order))
    report = run(app, org, ("\n".join(lines) + "\n").encode())
    assert report.imported == 2, report.problems
    assert report.columns["started_at"] == "started_at"


def test_chinese_header_variants_ascii_parenthesis_and_required_marks(app, org):
    header = [f"*{h}" if i < 3 else h for i, h in enumerate(HEADER_ZH)]
    header[7] = "服务时长(分钟)"
    values = row(505)
    text = ",".join(["序号", *header]) + "\r\n" + ",".join(["1", *(values[f] for f in HEADER_EN)])
    report = run(app, org, text.encode())
    assert report.imported == 1, report.problems


def test_optional_columns_leader_evaluation_gender_phone(app, org):
    values = row(506)
    header = [*HEADER_ZH, "活动负责人", "服务评价", "性别", "联系电话"]
    line = [values[f] for f in HEADER_EN] + ["李队长", "优秀", "女", "13800138000"]
    text = ",".join(header) + "\n" + ",".join(line) + "\n"
    report = run(app, org, text.encode())
    assert report.imported == 1, report.problems
    record = records_of(app, org)[0]
    assert (record.leader, record.evaluation) == ("李队长", "优秀")


def test_slash_dates_and_single_digit_hours(app, org):
    start = local_start(12, hour=8)
    end = start + timedelta(hours=2)
    values = row(
        507,
        started_at=f"{start.year}/{start.month}/{start.day} {start.hour}:00",
        ended_at=f"{end.year}/{end.month}/{end.day} {end.hour}:00",
        minutes="120",
    )
    report = run(app, org, csv_bytes([values]))
    assert report.imported == 1, report.problems
    record = records_of(app, org)[0]
    assert record.started_at == start.replace(tzinfo=SHANGHAI)


def test_missing_columns_refuse_the_file(app, org):
    header = [h for h in HEADER_ZH if h != "服务时长（分钟）"]
    data = (",".join(header) + "\n").encode()
    with pytest.raises(ValidationError) as caught:
        run(app, org, data)
    assert any(e.rule == "missing_column" and e.field == "minutes" for e in caught.value.errors)
    assert "minutes" in caught.value.message


def test_unknown_column_refuses_the_file(app, org):
    data = (",".join([*HEADER_ZH, "备注"]) + "\n").encode()
    with pytest.raises(ValidationError) as caught:
        run(app, org, data)
    assert [e.rule for e in caught.value.errors] == ["unknown_column"]
    assert "备注" in caught.value.message


def test_header_only_file_imports_nothing(app, org):
    report = run(app, org, (",".join(HEADER_ZH) + "\r\n").encode())
    assert (report.total_rows, report.imported, report.written) == (0, 0, True)


def test_empty_file_is_refused(app, org):
    with pytest.raises(ValidationError) as caught:
        run(app, org, b"")
    assert caught.value.errors[0].rule == "empty"


# --- dry run, all-or-nothing, idempotence ------------------------------------------------------


def test_dry_run_writes_nothing_but_reports_every_row(app, org, admin):
    rows = [row(508), row(509), row(510, minutes="-30")]
    before = counts(app)
    report = run(app, org, csv_bytes(rows), actor=admin, dry_run=True)
    assert counts(app) == before
    assert (report.imported, report.rejected_rows, report.new_volunteers) == (2, 1, 2)
    assert report.written is False and report.batch_id is None
    assert rules(report) == [(4, "服务时长（分钟）", "minutes_positive")]
    # the real run then does exactly what the dry run said
    real = run(app, org, csv_bytes(rows), actor=admin)
    assert (real.imported, real.rejected_rows, real.new_volunteers) == (2, 1, 2)
    assert counts(app).records == before.records + 2


def test_dry_run_checks_rows_of_the_file_against_each_other(app, org):
    rows = [row(511, hour=9), row(511, hour=10)]
    before = counts(app)
    report = run(app, org, csv_bytes(rows), dry_run=True)
    assert counts(app) == before
    assert rules(report) == [(3, "开始时间", "no_overlap")]


def test_all_or_nothing_writes_nothing_when_a_row_fails(app, org):
    rows = [row(512), row(513), row(514, id_number="110101199003070021")]
    before = counts(app)
    report = run(app, org, csv_bytes(rows), all_or_nothing=True)
    assert counts(app) == before
    assert (report.imported, report.valid, report.rejected_rows, report.written) == (0, 2, 1, False)
    assert rules(report) == [(4, "证件号码", "id_checksum")]


def test_all_or_nothing_writes_everything_when_every_row_passes(app, org):
    report = run(app, org, csv_bytes([row(515), row(516)]), all_or_nothing=True)
    assert (report.imported, report.written) == (2, True)
    assert len(records_of(app, org)) == 2


def test_without_all_or_nothing_valid_rows_are_written_and_the_rest_reported(app, org):
    rows = [row(517), row(518, activity=""), row(519)]
    report = run(app, org, csv_bytes(rows))
    assert (report.imported, report.rejected_rows) == (2, 1)
    assert rules(report) == [(3, "活动名称", "required")]
    assert len(records_of(app, org)) == 2


def test_importing_the_same_rows_again_skips_them(app, org):
    data = csv_bytes([row(520), row(521), row(522)])
    first = run(app, org, data)
    after_first = counts(app)
    second = run(app, org, data)
    assert (first.imported, first.skipped) == (3, 0)
    assert (second.imported, second.skipped, second.rejected_rows) == (0, 3, 0)
    assert counts(app).records == after_first.records
    assert counts(app).volunteers == after_first.volunteers


def test_a_row_repeated_within_the_file_is_skipped_not_rejected(app, org):
    report = run(app, org, csv_bytes([row(523), row(523)]))
    assert (report.imported, report.skipped, report.rejected_rows) == (1, 1, 0)


def test_a_record_entered_by_hand_is_not_imported_twice(app, make, org):
    volunteer = make.volunteer(org, **{"name": "导入志愿者524", "id_number": make_resident_id(524)})
    start = local_start(10).replace(tzinfo=SHANGHAI)
    make.record(org, volunteer, started_at=start, activity="社区敬老服务")
    report = run(app, org, csv_bytes([row(524)]))
    assert (report.imported, report.skipped) == (0, 1)


# --- volunteers ---------------------------------------------------------------------------------


def test_unknown_volunteer_is_registered_and_known_one_linked(app, make, org):
    other = make.org()
    known = make.volunteer(other, name="导入志愿者525", id_number=make_resident_id(525))
    before = counts(app)
    report = run(app, org, csv_bytes([row(525), row(526)]))
    assert (report.imported, report.new_volunteers) == (2, 1)
    after = counts(app)
    assert after.volunteers == before.volunteers + 1
    assert after.memberships == before.memberships + 2
    with app.app_context():
        session = get_session()
        ids = [r.volunteer_id for r in records_of(app, org)]
        assert ids[0] == known.id
        new = session.get(Volunteer, ids[1])
        assert new.name == "导入志愿者526" and new.volunteer_number.startswith("V")


def test_linking_a_known_volunteer_is_audited(app, make, org):
    other = make.org()
    known = make.volunteer(other, name="导入志愿者538", id_number=make_resident_id(538))
    before = counts(app)
    run(app, org, csv_bytes([row(538, hour=8), row(538, hour=14)]))
    with app.app_context():
        entries = (
            get_session()
            .scalars(
                select(AuditEntry)
                .where(AuditEntry.id > before.last_audit_id)
                .order_by(AuditEntry.id)
            )
            .all()
        )
        assert [(e.action, e.object_id) for e in entries] == [
            ("volunteer.link", str(known.id)),
            ("records.import", entries[-1].object_id),
        ]


def test_known_id_with_another_name_is_rejected(app, make, org):
    make.volunteer(org, name="张三", id_number=make_resident_id(527))
    report = run(app, org, csv_bytes([row(527, name="李四")]))
    assert rules(report) == [(2, "姓名", "name_matches_id")]


def test_passport_holder_by_chinese_label(app, org):
    values = row(528, id_type="护照", id_number="E12345678", name="John Smith")
    report = run(app, org, csv_bytes([values]))
    assert report.imported == 1, report.problems


# --- the rules of single entry, per row ---------------------------------------------------------


def test_within_file_overlap_is_rejected(app, org):
    rows = [row(529, hour=9, hours=3), row(529, hour=11, hours=2, activity="另一活动")]
    report = run(app, org, csv_bytes(rows))
    assert (report.imported, report.rejected_rows) == (1, 1)
    assert rules(report) == [(3, "开始时间", "no_overlap")]


def test_more_than_24_hours_on_one_day_within_the_file(app, org):
    start = local_start(20, hour=0)
    first = row(
        530, started_at=fmt(start), ended_at=fmt(start + timedelta(hours=23)), minutes="1380"
    )
    late = start + timedelta(hours=23)
    second = row(530, started_at=fmt(late), ended_at=fmt(late + timedelta(hours=3)), minutes="180")
    report = run(app, org, csv_bytes([first, second]))
    assert rules(report) == [(3, "服务时长（分钟）", "daily_limit")]


@pytest.mark.parametrize(
    ("fields", "column", "rule"),
    [
        ({"minutes": "-30"}, "服务时长（分钟）", "minutes_positive"),
        ({"minutes": "0"}, "服务时长（分钟）", "minutes_positive"),
        ({"minutes": "999999"}, "服务时长（分钟）", "minutes_within_span"),
        ({"minutes": "9" * 40}, "服务时长（分钟）", "integer"),
        ({"minutes": "two hours"}, "服务时长（分钟）", "integer"),
        ({"minutes": "90.5"}, "服务时长（分钟）", "integer"),
        (
            {"started_at": "2999-01-01 09:00", "ended_at": "2999-01-01 12:00"},
            "开始时间",
            "not_future",
        ),
        ({"started_at": "2026-02-30 09:00"}, "开始时间", "datetime"),
        ({"started_at": "2026-03-05"}, "开始时间", "datetime"),
        ({"ended_at": "yesterday"}, "结束时间", "datetime"),
        ({"id_number": "110101199003070021"}, "证件号码", "id_checksum"),
        ({"id_number": "1.10101E+17"}, "证件号码", "id_format"),
        ({"id_type": "驾驶证"}, "证件类型", "id_type"),
        ({"name": ""}, "姓名", "required"),
        ({"place": ""}, "服务地点", "required"),
        ({"activity": "x" * 201}, "活动名称", "max_length"),
    ],
)
def test_row_rules(app, org, fields, column, rule):
    before = counts(app)
    report = run(app, org, csv_bytes([row(531, **fields)]))
    assert rules(report)[0] == (2, column, rule), report.problems
    assert report.problems[0].message
    assert counts(app).records == before.records


def test_end_before_start_and_minutes_beyond_span(app, org):
    start = local_start(5)
    rows = [
        row(532, started_at=fmt(start), ended_at=fmt(start - timedelta(hours=1))),
        row(533, hours=1, minutes="61"),
    ]
    report = run(app, org, csv_bytes(rows))
    assert [r for _, _, r in rules(report)] == ["end_after_start", "minutes_within_span"]


def test_script_tags_and_sql_are_stored_as_given(app, org):
    script = "<script>alert('x')</script>"
    sql = "'; DROP TABLE service_records; --"
    report = run(app, org, csv_bytes([row(534, activity=script, content=sql)]))
    assert report.imported == 1, report.problems
    record = records_of(app, org)[0]
    assert (record.activity, record.content) == (script, sql)


# --- the batch and the audit log ----------------------------------------------------------------


def test_batch_and_one_audit_entry_per_import(app, org, admin):
    data = csv_bytes([row(535), row(536), row(537, minutes="x")])
    before = counts(app)
    report = run(app, org, data, actor=admin)
    with app.app_context():
        session = get_session()
        batch = session.get(ImportBatch, report.batch_id)
        assert (batch.rows_total, batch.rows_imported, batch.rows_rejected) == (3, 2, 1)
        assert batch.file_sha256 == report.file_sha256 and len(batch.file_sha256) == 64
        linked = session.scalars(
            select(ServiceRecord.id).where(ServiceRecord.import_batch_id == batch.id)
        ).all()
        assert len(linked) == 2
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.id > before.last_audit_id).order_by(AuditEntry.id)
        ).all()
        actions = [e.action for e in entries]
        # the two volunteers registered, then the import; no per-record entries
        assert actions == ["volunteer.create", "volunteer.create", "records.import"]
        assert json.loads(entries[0].details)["import_batch_id"] == batch.id
        details = json.loads(entries[-1].details)
        assert details["sha256"] == report.file_sha256
        assert (details["imported"], details["rejected"], details["rows"]) == (2, 1, 3)
        assert entries[-1].actor == admin.email


def test_rejected_rows_beyond_the_report_limit_are_counted(app, org, monkeypatch):
    monkeypatch.setattr(import_report, "MAX_REPORTED_PROBLEMS", 5)
    rows = [row(540 + i, minutes="x") for i in range(8)]
    report = run(app, org, csv_bytes(rows))
    assert (len(report.problems), report.problems_total, report.rejected_rows) == (5, 8, 8)
    assert report.truncated and report.as_dict()["rejected_truncated"] is True


# --- bad files ----------------------------------------------------------------------------------


def test_unterminated_quote_rejects_the_row_and_keeps_the_rest(app, org):
    text = csv_bytes([row(550), row(551)]).decode() + '王五,居民身份证,"11010119900307'
    report = run(app, org, text.encode())
    assert report.imported == 2
    assert rules(report) == [(4, "", "csv_syntax")]
    assert "quote" in report.problems[0].message


def test_text_after_a_closing_quote_is_a_row_error(app, org):
    good = csv_bytes([row(552)]).decode()
    text = good + '"bad"x,居民身份证\r\n' + csv_bytes([row(553)]).decode().split("\r\n", 1)[1]
    report = run(app, org, text.encode())
    assert report.imported == 2
    assert rules(report) == [(3, "", "csv_syntax")]


def test_wrong_number_of_fields(app, org):
    text = csv_bytes([row(554)]).decode() + "a,b,c\r\n" + "1,2,3,4,5,6,7,8,9,10,11\r\n"
    report = run(app, org, text.encode())
    assert report.imported == 1
    assert [r for _, _, r in rules(report)] == ["field_count", "field_count"]


def test_blank_lines_and_trailing_empty_columns_are_ignored(app, org):
    text = csv_bytes([row(555)]).decode().replace("\r\n", ",,\r\n")
    report = run(app, org, ("\r\n" + text + "\r\n,,,,\r\n").encode())
    assert (report.total_rows, report.imported) == (1, 1), report.problems


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
        bytes(range(256)) * 4,
    ],
    ids=["png", "pdf", "xls", "junk"],
)
def test_binary_files_are_refused(app, org, data):
    before = counts(app)
    with pytest.raises(UnsupportedMediaType) as caught:
        run(app, org, data)
    assert "CSV" in caught.value.message
    assert counts(app) == before


def test_a_zip_that_is_not_a_workbook_is_refused(app, org):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(UnsupportedMediaType) as caught:
        run(app, org, buffer.getvalue(), filename="records.xlsx")
    assert "zip" in caught.value.message


def test_a_damaged_workbook_is_refused(app, org):
    data = xlsx_bytes([])
    with pytest.raises(UnsupportedMediaType):
        run(app, org, data[: len(data) // 2], filename="records.xlsx")


def test_wrong_encoding_is_named(app, org):
    data = ",".join(HEADER_EN).encode() + "\r\nRené,passport,E1234567,Café,Paris,x,y,1,\r\n".encode(
        "cp1252"
    )
    with pytest.raises(ValidationError) as caught:
        run(app, org, data)
    assert caught.value.errors[0].rule == "encoding"
    assert "line 2" in caught.value.message and "UTF-8" in caught.value.message


def test_utf16_is_refused_with_advice(app, org):
    with pytest.raises(ValidationError) as caught:
        run(app, org, csv_bytes([row(556)], encoding="utf-16"))
    assert "UTF-16" in caught.value.message


def test_file_over_the_limit_is_refused(app, org):
    data = csv_bytes([row(557 + i % 20) for i in range(40)])
    before = counts(app)
    with pytest.raises(PayloadTooLarge) as caught:
        run(app, org, data, max_bytes=1024)
    assert "1.0 KB" in caught.value.message
    assert counts(app) == before


def test_a_very_long_line_is_refused(app, org, monkeypatch):
    from verifier.imports import readers

    monkeypatch.setattr(readers, "MAX_LINE_CHARS", 1000)
    data = (",".join(HEADER_ZH) + "\n" + "x" * 2000 + "\n").encode()
    with pytest.raises(ValidationError) as caught:
        run(app, org, data)
    assert caught.value.errors[0].rule == "line_too_long"


# --- XLSX ---------------------------------------------------------------------------------------


def test_xlsx_with_datetimes_numbers_and_a_title_row(app, org):
    start = local_start(15, hour=14)
    line = person(560)
    values = [line["name"], line["id_type"], line["id_number"], "植树活动", "南山公园"]
    rows = [
        [*values, start, start + timedelta(hours=2), 120, "种树"],
        [
            *values[:3],
            "清洁河道",
            "长江边",
            start + timedelta(days=1),
            start + timedelta(days=1, hours=1),
            60.0,
            "",
        ],
        [
            *values[:3],
            "义诊",
            "社区",
            start.strftime("%Y-%m-%d"),
            start + timedelta(days=2),
            30,
            "",
        ],
        [line["name"], "居民身份证", 1.10101199003070e17, "x", "y", start, start, 1, ""],
    ]
    report = run(app, org, xlsx_bytes(rows, title="2026年志愿服务记录"), filename="r.xlsx")
    assert (report.file_format, report.total_rows, report.imported) == ("xlsx", 4, 2)
    assert rules(report) == [(5, "开始时间", "datetime"), (6, "证件号码", "id_format")]
    stored = records_of(app, org)
    assert stored[0].started_at == start.replace(tzinfo=SHANGHAI)
    assert [r.minutes for r in stored] == [120, 60]


def test_xlsx_with_english_headers_is_idempotent(app, org):
    start = local_start(30)
    values = [
        *person(561).values(),
        "a",
        "b",
        fmt(start),
        fmt(start + timedelta(hours=1)),
        "60",
        "",
    ]
    data = xlsx_bytes([values], header=HEADER_EN)
    assert run(app, org, data, filename="r.xlsx").imported == 1
    second = run(app, org, data, filename="r.xlsx")
    assert (second.imported, second.skipped) == (0, 1)


def test_suspended_organisation_may_not_import(app, make):
    from verifier.errors import Forbidden
    from verifier.orgs.services import set_status

    org = make.org()
    admin = make.user("platform_admin")

    def suspend(session: Any) -> None:
        set_status(
            session,
            session.get(Organisation, org.id),
            "suspended",
            "检查",
            session.get(User, admin.id),
        )

    make.run(suspend)
    with pytest.raises(Forbidden):
        run(app, org, csv_bytes([row(562)]))


def test_times_are_stored_as_utc(app, org):
    run(app, org, csv_bytes([row(563, days_ago=40, hour=8)]))
    record = records_of(app, org)[0]
    expected = local_start(40, hour=8).replace(tzinfo=SHANGHAI)
    assert record.started_at == expected
    assert record.started_at.utcoffset() == timedelta(0)
    assert record.started_at.astimezone(SHANGHAI).hour == 8
    assert isinstance(record.started_at, datetime)

"""Build import files (CSV in any encoding, XLSX) and count what an import wrote."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from support import make_resident_id
from verifier.audit.models import AuditEntry
from verifier.db import get_session
from verifier.records.models import ImportBatch, RecordRevision, ServiceRecord
from verifier.volunteers.models import Membership, Volunteer

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIELDS = (
    "name",
    "id_type",
    "id_number",
    "activity",
    "place",
    "started_at",
    "ended_at",
    "minutes",
    "content",
)
HEADER_EN = list(FIELDS)
HEADER_ZH = [
    "姓名",
    "证件类型",
    "证件号码",
    "活动名称",
    "服务地点",
    "开始时间",
    "结束时间",
    "服务时长（分钟）",
    "服务内容",
]


def local_start(days_ago: int, hour: int = 9) -> datetime:
    """A past local (Asia/Shanghai) time at a round hour, naive, as a spreadsheet holds it."""
    day = (datetime.now(SHANGHAI) - timedelta(days=days_ago)).date()
    return datetime(day.year, day.month, day.day, hour)


def fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def person(n: int) -> dict[str, str]:
    """A volunteer identity for import rows; n from 500 up keeps clear of the factory's ids."""
    return {"name": f"导入志愿者{n}", "id_type": "居民身份证", "id_number": make_resident_id(n)}


def row(n: int, days_ago: int = 10, hour: int = 9, hours: int = 3, **fields: Any) -> dict[str, Any]:
    """One import row as a dict of field -> value (strings, as a CSV holds them)."""
    start = local_start(days_ago, hour)
    values: dict[str, Any] = {
        **person(n),
        "activity": "社区敬老服务",
        "place": "南川区东城街道",
        "started_at": fmt(start),
        "ended_at": fmt(start + timedelta(hours=hours)),
        "minutes": str(hours * 60),
        "content": "陪伴老人，打扫卫生",
    }
    values.update(fields)
    return values


def csv_text(rows: list[dict[str, Any]], header: list[str] | None = None) -> str:
    """Render rows as CSV text (CRLF, as Excel writes); values are quoted when needed."""
    import csv

    header = header or HEADER_ZH
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for values in rows:
        writer.writerow([values.get(name, "") for name in FIELDS])
    return out.getvalue()


def csv_bytes(
    rows: list[dict[str, Any]], header: list[str] | None = None, encoding: str = "utf-8"
) -> bytes:
    return csv_text(rows, header).encode(encoding)


def xlsx_bytes(rows: list[list[Any]], header: list[str] | None = None, title: str = "") -> bytes:
    """Build a workbook with openpyxl: an optional title row, the header, then the rows."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
    sheet.append(header or HEADER_ZH)
    for values in rows:
        sheet.append(values)
    out = io.BytesIO()
    workbook.save(out)
    workbook.close()
    return out.getvalue()


@dataclass
class Counts:
    records: int
    revisions: int
    volunteers: int
    memberships: int
    batches: int
    audit: int
    last_audit_id: int  # ids are not reused after a rollback on PostgreSQL: compare ids, not counts


def counts(app: Any) -> Counts:
    """Count the rows an import may write."""
    with app.app_context():
        session = get_session()

        def n(model: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

        return Counts(
            n(ServiceRecord),
            n(RecordRevision),
            n(Volunteer),
            n(Membership),
            n(ImportBatch),
            n(AuditEntry),
            int(session.scalar(select(func.max(AuditEntry.id))) or 0),
        )


def upload(data: bytes, filename: str = "records.csv") -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), filename

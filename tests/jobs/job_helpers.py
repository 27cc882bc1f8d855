"""Build import files for job tests, run the queue in-process, and read jobs back."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import func, select
from support import bearer, make_resident_id
from support.import_files import HEADER_ZH

from verifier.db import get_session
from verifier.jobs.models import Job
from verifier.jobs.worker import work
from verifier.records.models import ServiceRecord

SHANGHAI = ZoneInfo("Asia/Shanghai")
EN = {"Accept-Language": "en"}


def row(n: int, days_ago: int = 12, hour: int = 9, minutes: Any = 120) -> list[str]:
    """One row: person n (n from 700 up keeps clear of the factory's people), two hours."""
    day = (datetime.now(SHANGHAI) - timedelta(days=days_ago)).date()
    start = datetime(day.year, day.month, day.day, hour)
    return [
        f"作业志愿者{n}",
        "居民身份证",
        make_resident_id(n),
        "社区敬老服务",
        "南川区东城街道",
        start.strftime("%Y-%m-%d %H:%M"),
        (start + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M"),
        str(minutes),
        "陪伴老人",
    ]


def rows(count: int, first: int = 700) -> list[list[str]]:
    """`count` valid rows: people repeat every 10 rows, each on another day."""
    return [row(first + i % 10, days_ago=12 + i // 10) for i in range(count)]


def csv_bytes(body: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER_ZH)
    writer.writerows(body)
    return out.getvalue().encode("utf-8")


BOUNDARY = "job-test-boundary"


def multipart(data: bytes, filename: str = "records.csv", **form: Any) -> bytes:
    """A multipart body built by hand (werkzeug's builder spools big ones to a temporary file
    that the test client leaves open)."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in form.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def post_import(
    client: Any, token: str, data: bytes, headers: dict[str, str] | None = None, **form: Any
) -> Any:
    return client.post(
        "/api/v1/records/import",
        data=multipart(data, **form),
        headers={**EN, **bearer(token), **(headers or {})},
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )


def work_queue(app: Flask) -> int:
    """Work every ready job in this process (no heartbeat thread: one shared connection)."""
    return work(app, once=True, heartbeat=False, worker="test-worker")


def job_row(app: Flask, job_id: int) -> Job:
    with app.app_context():
        session = get_session()
        job = session.get(Job, job_id)
        session.expunge(job)
        return job


def record_count(app: Flask, org_id: int | None = None) -> int:
    with app.app_context():
        stmt = select(func.count()).select_from(ServiceRecord)
        if org_id is not None:
            stmt = stmt.where(ServiceRecord.organisation_id == org_id)
        return int(get_session().scalar(stmt) or 0)

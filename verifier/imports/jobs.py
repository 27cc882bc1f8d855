"""The import job: a big import, checked and then written in short batches by a worker.

The request stores the file (encrypted) and answers 202; the worker reads the whole table once
without writing (a file that turns out unreadable half-way fails before any row is written),
then imports it in batches that each commit with a checkpoint, so an interrupted job resumes
after its last committed row. A dry run, and the checking pass of an all-or-nothing import, run
as one transaction that is rolled back, exactly as the synchronous import does; on SQLite they
run on a private copy of the database, so that the pass (which writes, then rolls back) holds no
write lock on the service's database while it runs.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from flask import current_app
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from verifier.auth.models import User
from verifier.imports.readers import inspect_file, read_table, too_large
from verifier.imports.services import ImportBatches, import_records, require_importer
from verifier.jobs.models import Job
from verifier.jobs.services import IMPORT, JobOutcome, enqueue
from verifier.jobs.worker import JobContext
from verifier.orgs.models import Organisation
from verifier.orgs.services import require_active


def upload_size(stream: IO[bytes]) -> int | None:
    """Return the size of an uploaded file, or None when it cannot be known without reading."""
    try:
        if not stream.seekable():
            return None
        here = stream.tell()
        size = stream.seek(0, io.SEEK_END)
        stream.seek(here)
        return size
    except (AttributeError, OSError, ValueError):
        return None


def runs_as_job(stream: IO[bytes], prefer_async: bool = False) -> bool:
    """Tell whether an upload is imported by a job: above the size limit, or when asked."""
    size = upload_size(stream)
    limit = int(current_app.config["IMPORT_SYNC_MAX_BYTES"])
    return prefer_async or size is None or size > limit


def queue_import(
    session: Session,
    org: Organisation,
    actor: User,
    stream: IO[bytes],
    filename: str,
    *,
    dry_run: bool,
    all_or_nothing: bool,
    declaration: str,
    locale: str,
) -> Job:
    """Check what can be checked at once (who, size, format, encoding) and queue the import."""
    require_importer(actor, org)
    require_active(org)
    max_bytes = int(current_app.config["IMPORT_MAX_BYTES"])
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    name = (filename or "upload").replace("\\", "/").rsplit("/", 1)[-1][:255] or "upload"
    inspect_file(io.BytesIO(data), name, max_bytes)  # 413, 415 or 422 now, not later
    params = {"dry_run": dry_run, "all_or_nothing": all_or_nothing, "declaration": declaration}
    return enqueue(
        session,
        IMPORT,
        actor,
        params,
        organisation_id=org.id,
        file=(name, data),
        locale=locale,
    )


def check_readable(data: bytes, name: str, max_bytes: int) -> None:
    """Read every row once, writing nothing: refuse a file that breaks half-way, up front."""
    stream = io.BytesIO(data)
    reader = read_table(stream, inspect_file(stream, name, max_bytes), max_bytes)
    try:
        for _row in reader.rows():
            pass
    finally:
        reader.close()


@contextmanager
def checking_session(session: Session) -> Iterator[Session]:
    """Give the session a rolled-back checking pass runs in.

    On SQLite the pass would hold the database's only write lock for as long as it runs (its
    rows are written, then rolled back), and sign-in and verification would wait and fail: it
    runs on a private copy instead, taken with SQLite's online backup (a consistent snapshot of
    what is committed). Elsewhere (PostgreSQL), or when the session is joined to a connection
    whose transaction its caller owns, the pass runs in the session itself.
    """
    bind = session.get_bind()
    path = None if isinstance(bind, Connection) else bind.url.database
    if bind.dialect.name != "sqlite" or not path or path == ":memory:":
        yield session
        return
    from verifier.db import make_engine

    session.rollback()  # hold no lock on the service's database while the copy is checked
    folder = Path(tempfile.mkdtemp(prefix="verifier-check-"))
    copy_path = folder / "check.db"
    try:
        source = sqlite3.connect(path)
        try:
            target = sqlite3.connect(copy_path)
            try:
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
        engine = make_engine(f"sqlite:///{copy_path}")
        try:
            with Session(engine) as copy:
                yield copy
        finally:
            engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_import_job(ctx: JobContext) -> JobOutcome:
    """Work an import job; its result is the report the synchronous import answers."""
    session, params = ctx.session, ctx.params
    actor = ctx.actor()
    org = session.get(Organisation, ctx.organisation_id)
    if org is None or actor is None:  # pragma: no cover - queued only by an organisation's user
        raise RuntimeError("an import job needs its organisation and user")
    name, data = ctx.file()
    config = current_app.config
    max_bytes = int(config["IMPORT_MAX_BYTES"])
    common: dict[str, Any] = {
        "max_bytes": max_bytes,
        "late_after_working_days": int(config["LATE_ENTRY_WORKING_DAYS"]),
        "declaration": params.get("declaration", "implied"),
        "progress": lambda done, total, unit: ctx.progress(done, total, unit),
    }
    dry_run, all_or_nothing = bool(params["dry_run"]), bool(params["all_or_nothing"])
    if ctx.checkpoint is None:
        check_readable(data, name, max_bytes)
        if dry_run or all_or_nothing:
            # check every row as the synchronous import does: in one transaction, rolled back
            org_id, actor_id = org.id, actor.id
            with checking_session(session) as checking:
                checking_org = checking.get(Organisation, org_id)
                checking_actor = checking.get(User, actor_id)
                assert checking_org is not None and checking_actor is not None  # read just above
                report = import_records(
                    checking,
                    checking_org,
                    checking_actor,
                    io.BytesIO(data),
                    name,
                    dry_run=True,
                    all_or_nothing=all_or_nothing,
                    **common,
                )
                checking.rollback()
            session.rollback()
            org, actor = session.get(Organisation, org_id), session.get(User, actor_id)
            assert org is not None and actor is not None  # read just above
            if dry_run or report.rejected_rows:
                report.dry_run = dry_run
                return JobOutcome(report.as_dict())
    batches = ImportBatches(
        commit=ctx.save,
        resume=ctx.checkpoint,
        rows=int(config["IMPORT_BATCH_ROWS"]),
        stop_on_reject=all_or_nothing,
    )
    report = import_records(
        session,
        org,
        actor,
        io.BytesIO(data),
        name,
        all_or_nothing=all_or_nothing,
        batches=batches,
        **common,
    )
    return JobOutcome(report.as_dict())

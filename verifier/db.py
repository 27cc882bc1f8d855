"""Declarative base, column types and per-request session handling."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# The largest id (and other `integer` column value) PostgreSQL stores: a bigger number must be
# refused before it reaches the driver (PostgreSQL raises "out of range", SQLite overflows).
MAX_ID = 2**31 - 1

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC; hand back aware UTC datetimes on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


class Database:
    """The engine and session factory of one app."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


def make_engine(url: str, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL, a busy timeout and real savepoints."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT; SQLAlchemy emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if parsed.database and parsed.database != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(f"BEGIN {sqlite_begin_mode()}")

    return engine


# SQLite transactions that will write begin IMMEDIATE: they take the write lock at BEGIN, waiting
# for it (busy_timeout) when another connection holds it. A DEFERRED transaction that has read
# and then writes must upgrade its lock, and SQLite refuses the upgrade at once (SQLITE_BUSY,
# no waiting) while another connection writes, which would reach users as a 409.
_BEGIN_MODE: ContextVar[str | None] = ContextVar("verifier_sqlite_begin_mode", default=None)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def writes_data(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a GET view that writes (a verification it counts, a QR code it caches)."""
    view.writes_data = True  # type: ignore[attr-defined]  # a mark on the view function
    return view


def request_writes() -> bool:
    """Tell whether the current request may write: unsafe methods, Bearer calls, marked views."""
    if request.method not in SAFE_METHODS:
        return True
    if request.headers.get("Authorization", "")[:7].lower() == "bearer ":
        return True  # the token's last-use time may be written
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "writes_data", False))


def sqlite_begin_mode() -> str:
    """Return how a SQLite transaction begins here: IMMEDIATE for writers, DEFERRED for readers.

    Requests decide by `request_writes()`; commands, the scheduler and job workers write, so
    they begin IMMEDIATE unless they say otherwise with `sqlite_begin(...)`.
    """
    mode = _BEGIN_MODE.get()
    if mode is not None:
        return mode
    if has_request_context():
        return "IMMEDIATE" if request_writes() else "DEFERRED"
    return "IMMEDIATE"


@contextmanager
def sqlite_begin(mode: str) -> Iterator[None]:
    """Begin the SQLite transactions opened inside the block DEFERRED or IMMEDIATE."""
    if mode not in ("DEFERRED", "IMMEDIATE"):
        raise ValueError(mode)
    token = _BEGIN_MODE.set(mode)
    try:
        yield
    finally:
        _BEGIN_MODE.reset(token)


def init_app(app: Flask) -> Database:
    """Attach a Database to the app and close each request's session at teardown."""
    database = Database(app.config["DATABASE_URL"], echo=app.config.get("SQL_ECHO", False))
    app.extensions["verifier.db"] = database

    @app.teardown_appcontext
    def _close_session(exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()

    return database


def get_db(app: Flask | None = None) -> Database:
    """Return the app's Database."""
    return (app or current_app).extensions["verifier.db"]


def get_session() -> Session:
    """Return the session of the current request, command or job."""
    if "db_session" not in g:
        g.db_session = get_db().sessionmaker()
    return g.db_session


@contextmanager
def savepoint() -> Iterator[None]:
    """Run one step in a SAVEPOINT of the current session: if it raises, its writes are undone.

    The error goes on to the caller, and what the session wrote before stays: a view that
    catches a service's error and still answers (a page with the errors, a redirect) commits
    nothing of the failed step.
    """
    with get_session().begin_nested():
        yield


def upgrade_database(app: Flask, revision: str = "head") -> None:
    """Run the Alembic migrations up to a revision against the app's database."""
    from alembic import command

    command.upgrade(alembic_config(app), revision)


def alembic_config(app: Flask) -> Any:
    """Build an Alembic configuration that points at the app's database."""
    return migration_config(get_db(app).engine)


# --- migrations (docs/development.md, "Writing a migration") -------------------------------------

# Tables in our database that other software owns: APScheduler's job store creates its own
# (verifier/spotchecks/scheduler.py). Migrations neither create nor drop them.
SCHEDULER_JOBS_TABLE = "apscheduler_jobs"
FOREIGN_TABLES = frozenset({SCHEDULER_JOBS_TABLE})


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """Autogenerate's filter: leave out the tables that are not ours (FOREIGN_TABLES)."""
    return not (type_ == "table" and name in FOREIGN_TABLES)


def autogenerate_options() -> dict[str, Any]:
    """How models are compared with a database: by migrations/env.py and by the schema test."""
    return {"compare_type": True, "compare_server_default": True, "include_name": include_name}


def migration_config(engine: Engine, script_location: Path | None = None) -> Any:
    """Build an Alembic configuration for an engine; revision files are `NNNN_<slug>.py`."""
    from alembic.config import Config

    from verifier.config import resource_path

    config = Config()
    config.set_main_option("script_location", str(script_location or resource_path("migrations")))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["engine"] = engine
    return config


class MigrationError(Exception):
    """A new revision cannot be written (several heads, an unusable message)."""


def next_revision_id(script: Any) -> str:
    """Return the id of the next revision: the highest number so far plus one, four digits."""
    heads = script.get_heads()
    if len(heads) != 1:
        raise MigrationError(
            f"the migrations have {len(heads)} heads ({', '.join(sorted(heads))}): "
            "chain them into one line first"
        )
    numbers = [int(rev.revision) for rev in script.walk_revisions() if rev.revision.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


def write_revision(message: str, script_location: Path | None = None) -> tuple[Path, bool]:
    """Write the next revision, autogenerated against a scratch SQLite database at head.

    The developer's own database is never read: the scratch one is built by the migrations
    alone, so the revision holds exactly what the models add to them. Returns the new file
    and whether it is empty (the models and the migrations already agree).
    """
    import tempfile

    from alembic import command
    from alembic.script import Script, ScriptDirectory

    message = " ".join(message.split())
    if not message or not message.isascii() or not any(c.isalnum() for c in message):
        raise MigrationError("the message names the file: write a few words in English")
    empty: list[bool] = []

    def note_empty(context: Any, revision: Any, directives: list[Any]) -> None:
        empty.append(directives[0].upgrade_ops.is_empty())

    with tempfile.TemporaryDirectory(prefix="verifier-revision-") as scratch:
        engine = make_engine(f"sqlite:///{scratch}/scratch.db")
        try:
            config = migration_config(engine, script_location)
            rev_id = next_revision_id(ScriptDirectory.from_config(config))
            command.upgrade(config, "head")
            script = command.revision(
                config,
                message=message,
                autogenerate=True,
                rev_id=rev_id,
                process_revision_directives=note_empty,
            )
        finally:
            engine.dispose()
    if not isinstance(script, Script):  # one revision asked for, one written
        raise RuntimeError("alembic wrote no single revision")
    return Path(script.path), all(empty)

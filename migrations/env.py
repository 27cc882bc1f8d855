"""Alembic environment: runs against the app's engine (or VERIFIER_DATABASE_URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine

import verifier.models  # noqa: F401  (fills Base.metadata)
from verifier.db import Base, autogenerate_options, make_engine

config = context.config
target_metadata = Base.metadata


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine
    from verifier.config import load_settings

    return make_engine(load_settings()["DATABASE_URL"])


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Write the project's column types as plain SQLAlchemy types, so migrations import nothing."""
    from verifier.db import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode alters a SQLite table by copying it, and SQLite refuses to drop a table
            # that rows of another table refer to while foreign keys are enforced; it lets them be
            # switched off only outside a transaction. They are checked before the commit instead.
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            render_item=render_item,
            # the same comparison as tests/test_schema.py: the scheduler's table is left out
            **autogenerate_options(),
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        connection.commit()
        if sqlite:
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys = ON")


run_migrations_online()

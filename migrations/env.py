"""Alembic environment: runs against the app's engine (or VERIFIER_DATABASE_URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine

import verifier.models  # noqa: F401  (fills Base.metadata)
from verifier.db import Base, make_engine

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
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()

"""The schema comes from the migrations, and the models agree with them."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from verifier.db import Base


def test_models_match_migrations(app: Flask) -> None:
    import verifier.models  # noqa: F401

    engine = app.extensions["verifier.db"].engine
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations disagree; write a migration: {diff}"

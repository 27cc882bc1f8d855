"""The schema comes from the migrations, and the models agree with them."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect

from verifier.db import SCHEDULER_JOBS_TABLE, Base, autogenerate_options
from verifier.spotchecks.scheduler import scheduler_options


def test_models_match_migrations(app: Flask) -> None:
    """Autogenerate, with migrations/env.py's options, finds nothing to write.

    The scheduler's job store keeps its table in our database: it is made first, so the test
    shows that the filter leaves it out (without the filter autogenerate would drop it).
    """
    import verifier.models  # noqa: F401

    engine = app.extensions["verifier.db"].engine
    store = scheduler_options(app)["jobstores"]["default"]
    with engine.connect() as conn:
        store.jobs_t.create(conn, checkfirst=True)  # the table `verifier scheduler` makes
        assert SCHEDULER_JOBS_TABLE in inspect(conn).get_table_names()
        unfiltered_context = MigrationContext.configure(conn, opts={"compare_type": True})
        unfiltered = compare_metadata(unfiltered_context, Base.metadata)
        context = MigrationContext.configure(conn, opts=autogenerate_options())
        diff = compare_metadata(context, Base.metadata)
        conn.rollback()  # the table made here goes again
    # without the filter: drop the table and its index
    assert [op[0] for op in unfiltered] == ["remove_index", "remove_table"]
    assert {(op[1] if op[0] == "remove_table" else op[1].table).name for op in unfiltered} == {
        SCHEDULER_JOBS_TABLE
    }
    assert diff == [], f"models and migrations disagree; write a migration: {diff}"

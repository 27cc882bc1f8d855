"""The suite's own isolation: one shared app, and nothing a test does reaches the next test."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from support import Factory, new_app, restored, rolled_back

from verifier import limiter
from verifier.db import get_session
from verifier.orgs.models import Organisation


@pytest.fixture
def own_app(database_url):
    application = new_app(database_url)
    yield application
    application.extensions["verifier.db"].engine.dispose()


def organisations(app) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(Organisation))


def test_what_a_test_writes_is_rolled_back(own_app):
    before = organisations(own_app)
    with rolled_back(own_app):
        Factory(own_app).org()
        assert organisations(own_app) == before + 1
    assert organisations(own_app) == before
    database = own_app.extensions["verifier.db"]
    assert database.sessionmaker.kw["bind"] is database.engine  # unbound from the test's connection
    assert "join_transaction_mode" not in database.sessionmaker.kw


def test_settings_extensions_and_attributes_are_put_back(own_app):
    locale = own_app.config["DEFAULT_LOCALE"]
    instance_path = own_app.instance_path
    with restored(own_app):
        own_app.config["DEFAULT_LOCALE"] = "en" if locale != "en" else "zh"
        own_app.config["SOMETHING_NEW"] = 1
        own_app.extensions["verifier.cipher"] = object()
        own_app.instance_path = "/nowhere"
    assert own_app.config["DEFAULT_LOCALE"] == locale
    assert "SOMETHING_NEW" not in own_app.config
    assert "verifier.cipher" not in own_app.extensions
    assert own_app.instance_path == instance_path


def test_the_rate_limiter_forgets_each_tests_requests_and_other_apps(own_app, database_url):
    storage = limiter.storage
    with restored(own_app), rolled_back(own_app):
        client = own_app.test_client()
        answers = [client.post("/login", data={}).status_code for _ in range(21)]
        assert answers[-1] == 429  # 20 sign-in attempts a minute from one address
        new_app(database_url, RATELIMIT_ENABLED=False)  # re-initialises the one limiter
        assert limiter.enabled is False
    assert limiter.enabled is True and limiter.storage is storage
    with restored(own_app), rolled_back(own_app):
        assert own_app.test_client().post("/login", data={}).status_code != 429


def test_a_test_that_adds_a_route_to_the_shared_app_is_stopped(own_app):
    with pytest.raises(AssertionError, match="routes or hooks"), restored(own_app):
        own_app.add_url_rule("/added", "added", lambda: "x")

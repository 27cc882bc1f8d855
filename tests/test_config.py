"""Settings are checked at start: production refuses to run without its secrets."""

import pytest

from verifier import create_app
from verifier.config import ConfigError


def test_production_without_secret_key_is_a_clear_start_up_error(monkeypatch):
    monkeypatch.setenv("VERIFIER_ENV", "production")
    monkeypatch.setenv("VERIFIER_DATABASE_URL", "sqlite:///:memory:")
    monkeypatch.setenv("VERIFIER_BASE_URL", "https://verify.example.cn")
    monkeypatch.delenv("VERIFIER_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="VERIFIER_SECRET_KEY must be set in production"):
        create_app()


def test_production_needs_https_and_a_data_key(monkeypatch):
    monkeypatch.setenv("VERIFIER_ENV", "production")
    monkeypatch.setenv("VERIFIER_DATABASE_URL", "sqlite:///:memory:")
    monkeypatch.setenv("VERIFIER_SECRET_KEY", "s" * 32)
    monkeypatch.delenv("VERIFIER_DATA_KEY", raising=False)
    with pytest.raises(ConfigError, match="VERIFIER_DATA_KEY"):
        create_app()


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("VERIFIER_DATA_KEY", "not base64!", "base64"),
        ("VERIFIER_DATA_KEY", "AAAA", "32 bytes"),
        ("VERIFIER_BASE_URL", "ftp://x", "http"),
        ("VERIFIER_IMPORT_MAX_BYTES", "lots", "VERIFIER_IMPORT_MAX_BYTES"),
        ("VERIFIER_ENV", "staging", "VERIFIER_ENV"),
        ("VERIFIER_STATUS_LIST_VALID_HOURS", "0", "STATUS_LIST_VALID_HOURS must be positive"),
        ("VERIFIER_STATUS_LIST_VALID_HOURS", "a day", "VERIFIER_STATUS_LIST_VALID_HOURS"),
    ],
)
def test_invalid_settings_name_the_variable(monkeypatch, name, value, message):
    monkeypatch.setenv("VERIFIER_DATABASE_URL", "sqlite:///:memory:")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        create_app()


def test_cli_reports_configuration_errors_without_a_traceback(monkeypatch):
    from click.testing import CliRunner

    from verifier.cli import main

    monkeypatch.setenv("VERIFIER_ENV", "production")
    monkeypatch.delenv("VERIFIER_SECRET_KEY", raising=False)
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 2
    assert "configuration error" in result.output
    assert "Traceback" not in result.output


def test_behind_a_proxy_rate_limits_use_the_forwarded_client_address(database_url):
    from support import test_config

    app = create_app(test_config(database_url, PROXY_HOPS=1))
    client = app.test_client()
    codes = []
    for i in range(11):
        # each request comes from another client behind the same proxy
        response = client.post(
            "/verify/0000-0000-0000-0000-0/match",
            data={"name": "x"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        )
        codes.append(response.status_code)
    assert 429 not in codes
    app.extensions["verifier.db"].engine.dispose()


def _production(monkeypatch, **extra):
    monkeypatch.setenv("VERIFIER_ENV", "production")
    monkeypatch.setenv("VERIFIER_DATABASE_URL", "sqlite:///:memory:")
    monkeypatch.setenv("VERIFIER_BASE_URL", "https://verify.example.cn")
    monkeypatch.setenv("VERIFIER_SECRET_KEY", "s" * 32)
    monkeypatch.setenv("VERIFIER_DATA_KEY", "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=")
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("VERIFIER_WEB_WORKERS", raising=False)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    "workers", [{"VERIFIER_WEB_WORKERS": "4"}, {"WEB_CONCURRENCY": "4"}], ids=["ours", "gunicorn"]
)
def test_production_refuses_per_process_rate_limits_with_several_workers(monkeypatch, workers):
    from verifier.config import load_settings

    _production(monkeypatch, **workers)
    with pytest.raises(ConfigError, match="4 times as high"):
        load_settings()
    # a shared store, or a single worker, is fine
    monkeypatch.setenv("VERIFIER_RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379")
    assert load_settings()["WEB_WORKERS"] == 4
    monkeypatch.setenv("VERIFIER_RATELIMIT_STORAGE_URI", "memory://")
    monkeypatch.setenv("VERIFIER_WEB_WORKERS", "1")
    assert load_settings()["RATELIMIT_STORAGE_URI"] == "memory://"


def test_gunicorn_with_several_workers_and_memory_limits_does_not_start(monkeypatch, tmp_path):
    """The documented `gunicorn -w 4 wsgi:app` reads gunicorn.conf.py and stops before serving."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    _production(monkeypatch, VERIFIER_DATABASE_URL=f"sqlite:///{tmp_path}/prod.db")
    gunicorn = Path(sys.executable).parent / "gunicorn"
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(  # noqa: S603
        [str(gunicorn), "-w", "3", "-b", "127.0.0.1:0", "wsgi:app"],
        cwd=root,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "3 times as high" in result.stderr
    assert "Booting worker" not in result.stderr


# --- the testing environment is chosen in code only (issue 8) -----------------------------------


def test_verifier_env_testing_from_the_environment_is_refused(monkeypatch):
    """Weak password hashing must not be one environment variable away."""
    from support import test_config

    monkeypatch.setenv("VERIFIER_ENV", "testing")
    message = "VERIFIER_ENV must be one of development, production, not 'testing'"
    with pytest.raises(ConfigError, match=message):
        create_app()
    # the test suite's own dict does not make an exported VERIFIER_ENV=testing acceptable either
    with pytest.raises(ConfigError, match=message):
        create_app(test_config("sqlite:///:memory:"))


def test_the_cli_refuses_verifier_env_testing_from_a_dotenv_file(tmp_path):
    """`verifier` loads .env from where it runs: VERIFIER_ENV=testing there stops it, status 2."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / ".env").write_text("VERIFIER_ENV=testing\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERIFIER_")}
    env["VERIFIER_DATABASE_URL"] = f"sqlite:///{tmp_path}/x.db"
    result = subprocess.run(  # noqa: S603 (our own command)
        [str(Path(sys.executable).parent / "verifier"), "keys", "list"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "configuration error: VERIFIER_ENV must be one of development, production" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr


def _hash_parameters(app):
    from verifier.auth.services import hash_password

    with app.app_context():
        return hash_password("correct-horse-battery").split("$")[3]


def test_testing_from_the_test_suite_s_dict_still_works(database_url):
    from support import test_config

    app = create_app(test_config(database_url))
    assert app.config["ENV"] == "testing" and app.testing
    assert _hash_parameters(app) == "m=1024,t=1,p=1"  # the suite's fast hashing
    app.extensions["verifier.db"].engine.dispose()


@pytest.mark.parametrize("environment", ["production", "development"])
def test_production_and_development_keep_strong_hashing(monkeypatch, environment):
    _production(monkeypatch, VERIFIER_ENV=environment)
    app = create_app()
    assert app.config["ENV"] == environment and not app.testing
    assert _hash_parameters(app) == "m=65536,t=3,p=4"  # argon2-cffi's RFC 9106 low-memory profile
    assert app.config["SECRET_KEY"] == "s" * 32  # as given, nothing generated

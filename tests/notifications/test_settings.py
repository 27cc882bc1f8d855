"""The delivery settings are checked at start; a bad one names its variable, never a password."""

from __future__ import annotations

import pytest
from support import TEST_DATA_KEY

from verifier import create_app
from verifier.config import ConfigError, SmtpServer, mail_from_address, parse_smtp_url
from verifier.notifications.adapters import (
    HttpSmsAdapter,
    LogAdapter,
    SmtpAdapter,
    adapters_for,
    mail_from,
)


def start(monkeypatch, production: bool = False, **env: str):
    monkeypatch.setenv("VERIFIER_DATABASE_URL", "sqlite:///:memory:")
    monkeypatch.setenv("VERIFIER_SECRET_KEY", "s" * 32)
    monkeypatch.setenv("VERIFIER_DATA_KEY", TEST_DATA_KEY)
    if production:
        monkeypatch.setenv("VERIFIER_ENV", "production")
        monkeypatch.setenv("VERIFIER_BASE_URL", "https://verify.example.cn")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = create_app()
    app.extensions["verifier.db"].engine.dispose()
    return app


def test_smtp_urls_are_read_with_their_defaults():
    assert parse_smtp_url("smtp://127.0.0.1:1025") == SmtpServer("127.0.0.1", 1025, False, False)
    assert parse_smtp_url("smtp://mail.example.cn") == SmtpServer(
        "mail.example.cn", 25, False, False
    )
    assert parse_smtp_url("smtps://mail.example.cn") == SmtpServer(
        "mail.example.cn", 465, True, False
    )
    server = parse_smtp_url("smtp://me%40example.cn:p%3Ass@mail.example.cn:587?starttls=true")
    assert (server.port, server.starttls, server.user, server.password) == (
        587,
        True,
        "me@example.cn",
        "p:ss",
    )
    assert "p:ss" not in repr(server)


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://mail.example.cn", "scheme must be smtp:// or smtps://"),
        ("smtp://", "a host is missing"),
        ("smtp://mail.example.cn:99999", "port must be a number"),
        ("smtp://mail.example.cn:0", "port must be a number"),
        ("smtp://mail.example.cn?starttls=maybe", "starttls must be true or false"),
        ("smtp://mail.example.cn?tls=1", "unknown option 'tls'"),
        ("smtps://mail.example.cn?starttls=true", "smtps:// is TLS already"),
        ("smtp://mail.example.cn/inbox", "only a host, a port and ?starttls=true"),
    ],
)
def test_a_bad_smtp_url_is_a_start_up_error_naming_the_variable(monkeypatch, url, reason):
    with pytest.raises(ConfigError, match="VERIFIER_SMTP_URL is not valid") as refused:
        start(monkeypatch, VERIFIER_SMTP_URL=url)
    assert reason in str(refused.value)


def test_the_error_never_repeats_the_password(monkeypatch):
    with pytest.raises(ConfigError) as refused:
        start(monkeypatch, VERIFIER_SMTP_URL="smtp://user:hunter2@mail.example.cn:bad")
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"VERIFIER_MAIL_FROM": "nobody"}, "VERIFIER_MAIL_FROM is not valid"),
        ({"VERIFIER_SMS_GATEWAY_URL": "ftp://sms.example.cn"}, "VERIFIER_SMS_GATEWAY_URL must"),
        ({"VERIFIER_SMS_ADAPTER": "pigeon"}, "VERIFIER_SMS_ADAPTER must be one of http, log"),
        ({"VERIFIER_SMS_ADAPTER": "http"}, "VERIFIER_SMS_ADAPTER=http needs"),
        (
            {"VERIFIER_SMS_ADAPTER": "log", "VERIFIER_SMS_GATEWAY_URL": "https://sms.example.cn"},
            "leave out one of them",
        ),
        ({"VERIFIER_SMS_GATEWAY_TOKEN": "two words"}, "VERIFIER_SMS_GATEWAY_TOKEN must not"),
        ({"VERIFIER_OUTBOX_MAX_ATTEMPTS": "0"}, "VERIFIER_OUTBOX_MAX_ATTEMPTS must be at least 1"),
        ({"VERIFIER_OUTBOX_MAX_ATTEMPTS": "many"}, "VERIFIER_OUTBOX_MAX_ATTEMPTS='many'"),
        ({"VERIFIER_OUTBOX_LEASE_SECONDS": "10"}, "VERIFIER_OUTBOX_LEASE_SECONDS must be at least"),
        ({"VERIFIER_OUTBOX_SCHEDULER": "sometimes"}, "VERIFIER_OUTBOX_SCHEDULER='sometimes'"),
    ],
)
def test_bad_delivery_settings_name_the_variable(monkeypatch, env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        start(monkeypatch, **env)


@pytest.mark.parametrize(
    "env, message",
    [
        (
            {"VERIFIER_SMTP_URL": "smtp://u:p@mail.example.cn", "VERIFIER_MAIL_FROM": "a@b.cn"},
            "password in clear text",
        ),
        ({"VERIFIER_SMTP_URL": "smtps://mail.example.cn"}, "VERIFIER_MAIL_FROM must be set"),
        ({"VERIFIER_SMS_GATEWAY_URL": "http://sms.example.cn/send"}, "must use https"),
        # text messages carry invitation and reset codes: never into a production log
        ({"VERIFIER_SMS_ADAPTER": "log"}, "VERIFIER_SMS_ADAPTER=log writes text messages"),
    ],
)
def test_production_refuses_what_would_leak(monkeypatch, env, message):
    with pytest.raises(ConfigError, match=message):
        start(monkeypatch, production=True, **env)


def test_production_accepts_a_local_relay_and_a_local_gateway(monkeypatch):
    app = start(
        monkeypatch,
        production=True,
        VERIFIER_SMTP_URL="smtp://relay:secret@127.0.0.1:25",
        VERIFIER_MAIL_FROM="志愿服务 <noreply@verify.example.cn>",
        VERIFIER_SMS_GATEWAY_URL="http://127.0.0.1:8080/send",
    )
    adapters = adapters_for(app.config)
    assert isinstance(adapters["email"], SmtpAdapter) and isinstance(
        adapters["sms"], HttpSmsAdapter
    )


def test_which_adapter_each_channel_gets(monkeypatch):
    development = start(monkeypatch)
    adapters = adapters_for(development.config)
    assert isinstance(adapters["email"], LogAdapter) and isinstance(adapters["sms"], LogAdapter)
    assert mail_from(development.config) == "noreply@127.0.0.1"
    # outside production the log adapter may be chosen for text messages alone
    chosen = start(
        monkeypatch, VERIFIER_SMS_ADAPTER="log", VERIFIER_SMTP_URL="smtp://127.0.0.1:1025"
    )
    assert isinstance(adapters_for(chosen.config)["sms"], LogAdapter)
    assert isinstance(adapters_for(chosen.config)["email"], SmtpAdapter)
    monkeypatch.delenv("VERIFIER_SMS_ADAPTER")
    monkeypatch.delenv("VERIFIER_SMTP_URL")
    production = start(monkeypatch, production=True)
    assert adapters_for(production.config) == {}  # nothing configured: messages wait


def test_mail_from_takes_an_address_or_a_name_and_address():
    assert mail_from_address("noreply@verify.example.cn") == "noreply@verify.example.cn"
    assert mail_from_address("志愿服务 <noreply@verify.example.cn>") == "noreply@verify.example.cn"
    for bad in ("noreply", "a@b.cn\r\nBcc: x@y.cn", "@b.cn"):
        with pytest.raises(ValueError):
            mail_from_address(bad)

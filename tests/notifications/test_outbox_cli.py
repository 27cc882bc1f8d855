"""`verifier outbox send | list | test`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from outbox_helpers import queue, row
from support import TEST_DATA_KEY

from verifier.notifications.models import OutboxStatus

VERIFIER = Path(sys.executable).parent / "verifier"


def outbox_command(app, *args: str):
    return app.test_cli_runner().invoke(args=["outbox", *args])


def test_send_delivers_and_prints_a_summary(mail_app, smtp):
    queue(mail_app, "a@example.cn", "b@example.cn", "c@example.cn")
    result = outbox_command(mail_app, "send", "--limit", "2")
    assert result.exit_code == 0, result.output
    assert "email: smtp" in result.output
    assert "sent 2, to try again later 0, failed 0" in result.output
    assert len(smtp.accepted) == 2
    again = outbox_command(mail_app, "send")
    assert "sent 1," in again.output and len(smtp.accepted) == 3


def test_send_exits_1_when_a_message_failed_for_good(mail_app, smtp):
    smtp.refused.add("gone@example.cn")
    queue(mail_app, "gone@example.cn")
    result = outbox_command(mail_app, "send")
    assert result.exit_code == 1
    assert "sent 0, to try again later 0, failed 1" in result.output
    assert "1 x SMTP: the recipient was refused (550)" in result.output


def test_send_warns_about_messages_nothing_can_send(app):
    app.config.update(ENV="production", SMTP_URL="", SMS_GATEWAY_URL="", SMS_ADAPTER="")
    queue(app, "a@example.cn", "13812345678")
    result = outbox_command(app, "send")
    assert result.exit_code == 0, result.output
    assert "sent 0" in result.output
    assert "warning: 1 email message(s) wait" in result.output
    assert "set VERIFIER_SMTP_URL" in result.output
    assert "warning: 1 sms message(s) wait" in result.output


def test_list_counts_and_shows_masked_recipients_never_bodies(mail_app, smtp):
    smtp.refused.add("gone@example.cn")
    sent, gone, _waiting = queue(
        mail_app, "alice@example.cn", "gone@example.cn", "13812345678", body="秘密正文"
    )
    mail_app.config["SMS_ADAPTER"] = "http"  # text messages: the gateway is down
    mail_app.config["SMS_GATEWAY_URL"] = "http://127.0.0.1:1/send"
    outbox_command(mail_app, "send")
    result = outbox_command(mail_app, "list")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "pending 1, sending 0, sent 1, failed 1"
    assert "a***@example.cn" in result.output and "138****5678" in result.output
    assert "SMTP: the recipient was refused (550)" in result.output
    assert "SMS gateway unreachable" in result.output
    for secret in ("alice", "13812345678", "秘密正文", "gone@"):
        assert secret not in result.output
    only_failed = outbox_command(mail_app, "list", "--status", "failed")
    assert f"{gone}  " in only_failed.output and f"{sent}  " not in only_failed.output


def test_test_queues_a_message_the_next_send_delivers(mail_app, smtp):
    result = outbox_command(mail_app, "test", "ops@example.cn", "--locale", "en")
    assert result.exit_code == 0, result.output
    assert "(email) to o***@example.cn" in result.output
    message_id = int(result.output.split()[2])
    assert row(mail_app, message_id).status == OutboxStatus.PENDING
    outbox_command(mail_app, "send")
    assert smtp.accepted[0]["Subject"] == "Test message from the volunteer service records"
    refused = outbox_command(mail_app, "test", "not an address")
    assert refused.exit_code == 1
    assert "error: an address is an e-mail address or a mainland mobile number" in refused.output


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("VERIFIER_SMTP_URL", "http://mail.example.cn", "VERIFIER_SMTP_URL is not valid"),
        ("VERIFIER_SMS_GATEWAY_URL", "gateway", "VERIFIER_SMS_GATEWAY_URL must be an http(s)"),
    ],
)
def test_send_with_a_bad_setting_exits_2_naming_it(monkeypatch, tmp_path, name, value, message):
    from verifier.cli import main

    monkeypatch.setenv("VERIFIER_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("VERIFIER_SECRET_KEY", "s" * 32)
    monkeypatch.setenv("VERIFIER_DATA_KEY", TEST_DATA_KEY)
    monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["outbox", "send"])
    assert result.exit_code == 2
    assert f"configuration error: {message}" in result.output


@pytest.mark.parametrize("command", [("outbox", "send"), ("outbox", "list")])
def test_a_database_that_cannot_be_reached_is_one_line_and_status_3(command):
    env = {
        **os.environ,
        "VERIFIER_DATABASE_URL": "postgresql+psycopg://verifier@127.0.0.1:1/verifier",
        "VERIFIER_ENV": "development",
    }
    env.pop("VERIFIER_TEST_DB", None)
    result = subprocess.run(  # noqa: S603 (our own command)
        [str(VERIFIER), *command], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip().startswith("error: the database cannot be used:")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr + result.stdout

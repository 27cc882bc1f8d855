"""E-mail through a real SMTP server: the recipient's language, the headers, retries, failures."""

from __future__ import annotations

from datetime import timedelta

from outbox_helpers import Clock, SmtpCatcher, outbox, queue, row

from verifier.accounts.contact import notify_user
from verifier.auth.models import User
from verifier.db import get_session
from verifier.notifications.messages import render_test_message
from verifier.notifications.models import OutboxStatus
from verifier.notifications.sender import retry_delay, send_pending


def notify(app, user, locale: str | None = None) -> int:
    """Queue the test message to a user, as a feature does: notify_user in its transaction."""
    with app.app_context():
        session = get_session()
        account = session.get(User, user.id)
        if locale is not None:
            account.locale = locale
        message = notify_user(session, account, kind="test", render=render_test_message)
        session.commit()
        return message.id


def test_a_message_goes_out_in_chinese_by_default_with_its_headers(mail_app, make, smtp):
    user = make.user("org_admin", make.org(), email="admin@example.cn")
    message_id = notify(mail_app, user)
    report = send_pending(mail_app)
    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    [mail] = smtp.accepted
    stored = row(mail_app, message_id)
    assert mail["Subject"] == "志愿服务记录测试消息"
    assert "这是一条测试消息" in mail.get_content()
    assert mail["To"] == "admin@example.cn"
    assert mail["From"].addresses[0].addr_spec == "noreply@verifier.test"
    assert mail["From"].addresses[0].display_name == "志愿服务"
    assert mail["Message-ID"] == f"<{stored.message_key}@verifier.test>"
    assert mail["Content-Language"] == "zh"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert stored.status == OutboxStatus.SENT and stored.sent_at is not None
    assert stored.attempts == 1 and stored.last_error == "" and stored.leased_until is None
    # sent once: a second run finds nothing to do
    assert send_pending(mail_app).handled == 0 and len(smtp.accepted) == 1


def test_a_user_who_reads_english_gets_english(mail_app, make, smtp):
    user = make.user("org_admin", make.org())
    notify(mail_app, user, locale="en")
    send_pending(mail_app)
    [mail] = smtp.accepted
    assert mail["Subject"] == "Test message from the volunteer service records"
    assert mail.get_content().startswith("This is a test message.")
    assert mail["Content-Language"] == "en"


def test_a_refused_attempt_is_tried_again_with_the_same_message_id(mail_app, smtp):
    [message_id] = queue(mail_app, "vol@example.cn")
    clock = Clock()
    smtp.answers = ["451 4.3.0 try again later"]
    report = send_pending(mail_app, clock=clock)
    assert (report.sent, report.retrying) == (0, 1)
    waiting = row(mail_app, message_id)
    assert waiting.status == OutboxStatus.PENDING and waiting.attempts == 1
    assert waiting.next_attempt_at == clock.now + timedelta(minutes=1)
    assert waiting.last_error == "SMTP 451: 4.3.0 try again later"
    # not before its time
    assert send_pending(mail_app, clock=clock).handled == 0
    clock.advance(minutes=1)
    assert send_pending(mail_app, clock=clock).sent == 1
    first, second = smtp.offered
    assert first["Message-ID"] == second["Message-ID"] == smtp.accepted[0]["Message-ID"]
    sent = row(mail_app, message_id)
    assert sent.status == OutboxStatus.SENT and sent.attempts == 2 and sent.last_error == ""


def test_a_server_that_is_down_is_retried_with_backoff_then_the_message_fails(mail_app, smtp):
    smtp.stop()  # nothing listens on its port any more
    mail_app.config["OUTBOX_MAX_ATTEMPTS"] = 4
    [message_id] = queue(mail_app, "someone@example.cn")
    clock = Clock()
    waits = []
    for attempt in range(1, 4):
        report = send_pending(mail_app, clock=clock)
        assert report.retrying == 1, attempt
        message = row(mail_app, message_id)
        assert message.status == OutboxStatus.PENDING and message.attempts == attempt
        assert message.last_error.startswith("SMTP: ConnectionRefusedError")
        assert "someone" not in message.last_error
        waits.append(message.next_attempt_at - clock.now)
        clock.now = message.next_attempt_at
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    report = send_pending(mail_app, clock=clock)
    assert (report.retrying, report.failed) == (0, 1)
    failed = row(mail_app, message_id)
    assert failed.status == OutboxStatus.FAILED and failed.attempts == 4
    assert failed.sent_at is None and failed.leased_until is None
    # kept, and never tried again
    clock.advance(days=1)
    assert send_pending(mail_app, clock=clock).handled == 0
    assert [m.id for m in outbox(mail_app)] == [message_id]


def test_the_backoff_doubles_from_a_minute_up_to_an_hour():
    minutes = [retry_delay(n) / timedelta(minutes=1) for n in range(1, 11)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    assert retry_delay(10_000) == timedelta(hours=1)


def test_a_refused_recipient_fails_at_once_and_the_error_names_no_address(mail_app, smtp):
    smtp.refused.add("gone@example.cn")
    gone, fine = queue(mail_app, "gone@example.cn", "fine@example.cn")
    report = send_pending(mail_app)
    assert (report.sent, report.failed) == (1, 1)
    failed = row(mail_app, gone)
    assert failed.status == OutboxStatus.FAILED and failed.attempts == 1
    assert failed.last_error == "SMTP: the recipient was refused (550)"
    assert row(mail_app, fine).status == OutboxStatus.SENT
    assert [m["To"] for m in smtp.accepted] == ["fine@example.cn"]


def test_the_smtp_login_is_used(app, make):
    catcher = SmtpCatcher(users={"mailer": "p@ss word"}).start()
    try:
        app.config["SMTP_URL"] = f"smtp://mailer:p%40ss%20word@127.0.0.1:{catcher.port}"
        queue(app, "a@example.cn", "b@example.cn")
        assert send_pending(app).sent == 2
        assert catcher.logins == ["mailer"]  # one connection for the run
        assert len(catcher.accepted) == 2
    finally:
        catcher.stop()


def test_a_wrong_smtp_password_is_a_failure_to_try_again(app):
    catcher = SmtpCatcher(users={"mailer": "right"}).start()
    try:
        app.config["SMTP_URL"] = f"smtp://mailer:wrong@127.0.0.1:{catcher.port}"
        [message_id] = queue(app, "a@example.cn")
        assert send_pending(app).retrying == 1
        message = row(app, message_id)
        assert message.status == OutboxStatus.PENDING
        assert message.last_error.startswith("SMTP 535")
        assert "wrong" not in message.last_error
    finally:
        catcher.stop()


def test_in_production_without_an_smtp_server_e_mails_wait(app, caplog):
    app.config.update(ENV="production", SMTP_URL="")
    [message_id] = queue(app, "a@example.cn")
    report = send_pending(app)
    assert report.handled == 0 and report.waiting == {"email": 1}
    message = row(app, message_id)
    assert message.status == OutboxStatus.PENDING and message.attempts == 0
    assert "正文" not in caplog.text  # not written to the log either

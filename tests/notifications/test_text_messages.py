"""Text messages: the HTTP gateway adapter, the development log adapter, and production."""

from __future__ import annotations

import logging

from outbox_helpers import Clock, queue, row

from verifier.notifications.adapters import adapters_for
from verifier.notifications.models import OutboxStatus
from verifier.notifications.sender import send_pending

PHONE = "13812345678"


def test_the_gateway_gets_to_text_and_id_with_the_bearer_token(app, sms_gateway):
    app.config.update(SMS_GATEWAY_URL=sms_gateway.url, SMS_GATEWAY_TOKEN="t0ken")
    [message_id] = queue(app, PHONE, body="您的邀请码是 ABCD-1234")
    report = send_pending(app)
    assert report.sent == 1
    [call] = sms_gateway.calls
    stored = row(app, message_id)
    assert call.path == "/send"
    assert call.headers["Authorization"] == "Bearer t0ken"
    assert call.headers["Content-Type"].startswith("application/json")
    assert call.body == {
        "to": PHONE,
        "text": "主题 1\n您的邀请码是 ABCD-1234 1",
        "id": stored.message_key,
    }
    assert stored.status == OutboxStatus.SENT


def test_a_gateway_error_is_tried_again_with_the_same_id(app, sms_gateway):
    app.config.update(SMS_GATEWAY_URL=sms_gateway.url)
    [message_id] = queue(app, PHONE)
    sms_gateway.status = 503
    clock = Clock()
    assert send_pending(app, clock=clock).retrying == 1
    message = row(app, message_id)
    assert message.status == OutboxStatus.PENDING
    assert message.last_error == "SMS gateway answered HTTP 503"
    sms_gateway.status = 202
    clock.advance(minutes=1)
    assert send_pending(app, clock=clock).sent == 1
    first, second = sms_gateway.calls
    assert first.body["id"] == second.body["id"] == message.message_key
    assert "Authorization" not in first.headers  # no token set


def test_an_unreachable_gateway_is_tried_again_and_named_without_the_number(app, sms_gateway):
    url = sms_gateway.url
    sms_gateway.stop()
    app.config.update(SMS_GATEWAY_URL=url)
    [message_id] = queue(app, PHONE)
    assert send_pending(app).retrying == 1
    error = row(app, message_id).last_error
    assert error.startswith("SMS gateway unreachable: ConnectionRefusedError")
    assert PHONE not in error


def test_in_development_text_messages_are_written_to_the_log(app, caplog):
    assert adapters_for(app.config)["sms"].name == "log"
    [message_id] = queue(app, PHONE, body="您的验证码是 8842")
    with caplog.at_level(logging.INFO, logger="verifier.notifications"):
        assert send_pending(app).sent == 1
    stored = row(app, message_id)
    assert f"outbox {stored.message_key}: sms to 138****5678" in caplog.text
    assert "您的验证码是 8842" in caplog.text
    assert PHONE not in caplog.text  # the recipient is masked
    assert stored.status == OutboxStatus.SENT


def test_in_production_text_messages_wait_for_a_gateway_unless_the_log_is_chosen(app, caplog):
    app.config.update(ENV="production", SMS_GATEWAY_URL="", SMS_ADAPTER="")
    [message_id] = queue(app, PHONE, body="您的验证码是 8842")
    with caplog.at_level(logging.INFO, logger="verifier.notifications"):
        report = send_pending(app)
    assert report.handled == 0 and report.waiting == {"sms": 1}
    assert row(app, message_id).status == OutboxStatus.PENDING
    assert "8842" not in caplog.text
    app.config["SMS_ADAPTER"] = "log"  # chosen explicitly (a staging server)
    with caplog.at_level(logging.INFO, logger="verifier.notifications"):
        assert send_pending(app).sent == 1
    assert "8842" in caplog.text

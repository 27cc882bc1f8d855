"""Fixtures of the outbox tests: a real SMTP server and an SMS gateway, both local."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from outbox_helpers import SmsGateway, SmtpCatcher


@pytest.fixture
def smtp() -> Iterator[SmtpCatcher]:
    catcher = SmtpCatcher().start()
    yield catcher
    catcher.stop()


@pytest.fixture
def sms_gateway() -> Iterator[SmsGateway]:
    gateway = SmsGateway().start()
    yield gateway
    gateway.stop()


@pytest.fixture
def mail_app(app: Flask, smtp: SmtpCatcher) -> Flask:
    """The test app sending e-mail to the local SMTP server."""
    app.config.update(SMTP_URL=smtp.url, MAIL_FROM="志愿服务 <noreply@verifier.test>")
    return app

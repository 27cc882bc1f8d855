"""How a message leaves: e-mail over SMTP, text messages through an HTTP gateway, or the log.

Each adapter sends one message or raises `DeliveryError`, whose text is kept in the outbox
(`last_error`): it never holds an address, a phone number or a body, only what went wrong.
"""

from __future__ import annotations

import json
import logging
import re
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from verifier.config import SmtpServer, parse_smtp_url
from verifier.db import utcnow
from verifier.notifications.models import Channel

log = logging.getLogger("verifier.notifications")

# Every network call of an adapter gives up after this long; a claim's lease is longer
# (VERIFIER_OUTBOX_LEASE_SECONDS, at least twice this), so a slow send never outlives it.
NETWORK_TIMEOUT_SECONDS = 30
ERROR_CHARS = 500
# 7bit: a Chinese body goes as base64 or quoted-printable, so a server without 8BITMIME takes it
MAIL_POLICY = SMTP.clone(cte_type="7bit")

_ADDRESS = re.compile(r"[^\s<>\"']+@[^\s<>\"']+")
_DIGITS = re.compile(r"\d{6,}")  # phone numbers, ID numbers


@dataclass(frozen=True)
class Outgoing:
    """One message as an adapter sees it, opened from the outbox."""

    key: str  # the outbox row's message_key: the same for every attempt
    channel: str
    kind: str
    recipient: str
    recipient_masked: str
    locale: str
    subject: str
    body: str


class DeliveryError(Exception):
    """The message was not sent. `permanent`: trying again cannot help (the address is refused)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(scrub(message))
        self.permanent = permanent


class Adapter(Protocol):
    name: str

    def send(self, message: Outgoing) -> None: ...

    def close(self) -> None: ...


def scrub(text: str) -> str:
    """Take addresses and long numbers out of an error text; keep it short and on one line."""
    text = _DIGITS.sub("***", _ADDRESS.sub("***", " ".join(str(text).split())))
    return text[:ERROR_CHARS]


# --- e-mail -----------------------------------------------------------------------------------


class SmtpAdapter:
    """E-mail over SMTP (smtplib), one connection kept open for a run and checked before reuse."""

    name = "smtp"

    def __init__(self, server: SmtpServer, mail_from: str, message_id_host: str) -> None:
        self.server = server
        self.mail_from = mail_from
        self.message_id_host = message_id_host
        self._connection: smtplib.SMTP | None = None

    def message_for(self, message: Outgoing) -> EmailMessage:
        """Build the e-mail; its Message-ID is the outbox key's, so a resend has the same one."""
        mail = EmailMessage(policy=MAIL_POLICY)
        mail["From"] = self.mail_from
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(utcnow())
        mail["Message-ID"] = message_id(message.key, self.message_id_host)
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
        mail.set_content(message.body)  # (it replaces every Content-* header)
        mail["Content-Language"] = message.locale
        return mail

    def send(self, message: Outgoing) -> None:
        mail = self.message_for(message)
        try:
            connection = self._connect()
            connection.send_message(mail, to_addrs=[message.recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            codes = sorted({code for code, _text in exc.recipients.values()})
            raise DeliveryError(
                f"SMTP: the recipient was refused ({', '.join(map(str, codes))})",
                permanent=all(500 <= code < 600 for code in codes),
            ) from None
        except smtplib.SMTPResponseException as exc:
            self.close()
            text = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {text}",
                permanent=isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from None

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            try:
                if self._connection.noop()[0] == 250:
                    return self._connection
            except (smtplib.SMTPException, OSError):
                pass
            self.close()
        server = self.server
        connection: smtplib.SMTP
        if server.ssl:
            connection = smtplib.SMTP_SSL(
                server.host,
                server.port,
                timeout=NETWORK_TIMEOUT_SECONDS,
                context=ssl.create_default_context(),
            )
        else:
            connection = smtplib.SMTP(server.host, server.port, timeout=NETWORK_TIMEOUT_SECONDS)
        try:
            connection.ehlo()
            if server.starttls:
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if server.user:
                connection.login(server.user, server.password)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()


def message_id(key: str, host: str) -> str:
    return f"<{key}@{host}>"


# --- text messages ----------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A gateway that redirects a POST is an error, not a reason to send the number elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HttpSmsAdapter:
    """Text messages through an HTTP gateway: POST {to, text, id} as JSON; a 2xx is sent.

    `id` is the outbox key, the same for every attempt, so a gateway can drop a repeat.
    """

    name = "http"

    def __init__(self, url: str, token: str = "") -> None:
        self.url = url
        self.token = token
        self._opener = urllib.request.build_opener(_NoRedirects)

    def send(self, message: Outgoing) -> None:
        text = f"{message.subject}\n{message.body}" if message.subject else message.body
        payload = json.dumps(
            {"to": message.recipient, "text": text, "id": message.key}, ensure_ascii=False
        ).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "*/*"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        # the URL is a setting checked at start to be http(s) (verifier/config.py)
        request = urllib.request.Request(  # noqa: S310
            self.url, data=payload, headers=headers, method="POST"
        )
        try:
            with self._opener.open(request, timeout=NETWORK_TIMEOUT_SECONDS) as response:
                response.read(64 * 1024)
                status = response.status
        except urllib.error.HTTPError as exc:
            exc.close()
            raise DeliveryError(f"SMS gateway answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(
                f"SMS gateway unreachable: {type(reason).__name__}: {reason}"
            ) from None
        if not 200 <= status < 300:
            raise DeliveryError(f"SMS gateway answered HTTP {status}")

    def close(self) -> None:
        return None


# --- development ------------------------------------------------------------------------------


class LogAdapter:
    """Write the message to the app log instead of sending it (development; docs/part-notify.md)."""

    name = "log"

    def send(self, message: Outgoing) -> None:
        log.info(
            "outbox %s: %s to %s (%s, %s): %s\n%s",
            message.key,
            message.channel,
            message.recipient_masked,
            message.kind,
            message.locale,
            message.subject,
            message.body,
        )

    def close(self) -> None:
        return None


# --- which adapter for which channel ----------------------------------------------------------


def adapters_for(config: Mapping[str, Any]) -> dict[str, Adapter]:
    """Return the adapter of each channel the settings configure.

    A channel left out has nothing to send through: its messages wait in the outbox (production
    without VERIFIER_SMTP_URL or an SMS gateway). Outside production the log stands in.
    """
    production = config["ENV"] == "production"
    adapters: dict[str, Adapter] = {}
    if config.get("SMTP_URL"):
        adapters[Channel.EMAIL] = SmtpAdapter(
            parse_smtp_url(config["SMTP_URL"]), mail_from(config), service_host(config)
        )
    elif not production:
        adapters[Channel.EMAIL] = LogAdapter()
    sms = sms_adapter_name(config)
    if sms == "http":
        adapters[Channel.SMS] = HttpSmsAdapter(
            config["SMS_GATEWAY_URL"], config.get("SMS_GATEWAY_TOKEN") or ""
        )
    elif sms == "log":
        adapters[Channel.SMS] = LogAdapter()
    return adapters


def sms_adapter_name(config: Mapping[str, Any]) -> str | None:
    """http, log, or None (production without a gateway: text messages wait)."""
    chosen = config.get("SMS_ADAPTER") or ""
    if chosen:
        return str(chosen)
    if config.get("SMS_GATEWAY_URL"):
        return "http"
    return None if config["ENV"] == "production" else "log"


def service_host(config: Mapping[str, Any]) -> str:
    return urlsplit(str(config["BASE_URL"])).hostname or "localhost"


def mail_from(config: Mapping[str, Any]) -> str:
    return str(config.get("MAIL_FROM") or "").strip() or f"noreply@{service_host(config)}"


def unconfigured_hint(channel: str) -> str:
    """Name the setting that would give a channel its adapter."""
    if channel == Channel.EMAIL:
        return "set VERIFIER_SMTP_URL"
    return "set VERIFIER_SMS_GATEWAY_URL (or VERIFIER_SMS_ADAPTER=log)"

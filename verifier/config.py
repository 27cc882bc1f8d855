"""Settings, their environment variable names and defaults, checked at start."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent  # the checkout, or site-packages in an installed wheel
IN_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file()
# The directories the service reads its files from (docs/development.md, "Packaging").
RESOURCES = ("templates", "static", "migrations", "translations")


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the app refuses to start."""


def instance_dir(checkout: Path | None, environ: Mapping[str, str], cwd: Path) -> Path:
    """Return where the service keeps its local files (development database and secrets).

    VERIFIER_INSTANCE_DIR when set (relative to cwd); else instance/ of the checkout; else, in an
    installed wheel (checkout None), instance/ of the working directory, never site-packages.
    """
    chosen = environ.get("VERIFIER_INSTANCE_DIR", "").strip()
    if chosen:
        return cwd / Path(chosen).expanduser()
    return (checkout if checkout is not None else cwd) / "instance"


INSTANCE_DIR = instance_dir(PROJECT_ROOT if IN_CHECKOUT else None, os.environ, Path.cwd())


def resource_path(name: str) -> Path:
    """Return one of the RESOURCES directories, from an installed wheel or from a checkout.

    A wheel carries templates/, static/ and migrations/ inside the package (setup.py copies them
    there at build time); a checkout keeps them at its top level. Translations are always in the
    package. The top level is looked at only in a checkout: in a wheel it is site-packages, where
    another package's directory of the same name may be.
    """
    if name not in RESOURCES:
        raise ValueError(f"unknown resource directory {name!r}")
    bases = (PACKAGE_DIR, PROJECT_ROOT) if IN_CHECKOUT else (PACKAGE_DIR,)
    for base in bases:
        if (base / name).is_dir():
            return base / name
    where = " and ".join(str(base) for base in bases)
    raise RuntimeError(f"the {name}/ directory is missing from {where}")


def _int(value: str) -> int:
    return int(value)


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true or false")


def _str(value: str) -> str:
    return value


@dataclass(frozen=True)
class Setting:
    key: str
    env: str
    default: Any
    parse: Any = _str
    doc: str = ""


SETTINGS: tuple[Setting, ...] = (
    Setting("ENV", "VERIFIER_ENV", "development", doc="development or production"),
    Setting("DATABASE_URL", "VERIFIER_DATABASE_URL", None, doc="SQLAlchemy URL"),
    Setting("SECRET_KEY", "VERIFIER_SECRET_KEY", None, doc="signs sessions and CSRF tokens"),
    Setting("DATA_KEY", "VERIFIER_DATA_KEY", None, doc="base64 of 32 bytes; encrypts ID numbers"),
    Setting(
        "DATA_KEY_PREVIOUS",
        "VERIFIER_DATA_KEY_PREVIOUS",
        None,
        doc="the data key before a rotation, read until `verifier keys rotate-data-key` is done",
    ),
    Setting(
        "DATA_KEY_READ_FORMAT_1",
        "VERIFIER_DATA_KEY_READ_FORMAT_1",
        True,
        _bool,
        doc="read ciphertexts written before they were bound to their row; set false once "
        "`verifier keys rotate-data-key` reports none left",
    ),
    Setting("BASE_URL", "VERIFIER_BASE_URL", "http://127.0.0.1:5000", doc="public address"),
    Setting("DEFAULT_LOCALE", "VERIFIER_DEFAULT_LOCALE", "zh"),
    Setting("TIMEZONE", "VERIFIER_TIMEZONE", "Asia/Shanghai", doc="zone for entered times"),
    Setting("RATELIMIT_STORAGE_URI", "VERIFIER_RATELIMIT_STORAGE_URI", "memory://"),
    Setting(
        "WEB_WORKERS",
        "VERIFIER_WEB_WORKERS",
        None,
        _int,
        doc="web worker processes (gunicorn.conf.py sets it); else WEB_CONCURRENCY, else 1",
    ),
    Setting("PROXY_HOPS", "VERIFIER_PROXY_HOPS", 0, _int, doc="trusted reverse proxies in front"),
    Setting(
        "STATUS_LIST_VALID_HOURS",
        "VERIFIER_STATUS_LIST_VALID_HOURS",
        24,
        _int,
        doc="hours a signed status list (validUntil) and the signed trust list (exp) stay valid; "
        "re-signed when half is left",
    ),
    Setting("IMPORT_MAX_BYTES", "VERIFIER_IMPORT_MAX_BYTES", 20 * 1024 * 1024, _int),
    # caps on what an import file may hold, checked before its rows are read (README: Importing)
    Setting("IMPORT_MAX_ROWS", "VERIFIER_IMPORT_MAX_ROWS", 100_000, _int),
    Setting("IMPORT_MAX_COLUMNS", "VERIFIER_IMPORT_MAX_COLUMNS", 256, _int),
    Setting(
        "IMPORT_MAX_UNPACKED_BYTES", "VERIFIER_IMPORT_MAX_UNPACKED_BYTES", 200 * 1024 * 1024, _int
    ),
    Setting("IMPORT_MAX_ZIP_RATIO", "VERIFIER_IMPORT_MAX_ZIP_RATIO", 100, _int),
    Setting("IMPORT_MAX_SHARED_STRINGS", "VERIFIER_IMPORT_MAX_SHARED_STRINGS", 1_000_000, _int),
    Setting(
        "IMPORT_MAX_SHARED_STRING_CHARS",
        "VERIFIER_IMPORT_MAX_SHARED_STRING_CHARS",
        20_000_000,
        _int,
    ),
    # every JSON request body, checked before it is parsed (README: JSON API)
    Setting("JSON_MAX_BYTES", "VERIFIER_JSON_MAX_BYTES", 4 * 1024 * 1024, _int),
    Setting("JSON_MAX_DEPTH", "VERIFIER_JSON_MAX_DEPTH", 32, _int),
    Setting("RISK_DAILY_CAP_MINUTES", "VERIFIER_RISK_DAILY_CAP_MINUTES", 12 * 60, _int),
    Setting("LOGIN_MAX_FAILURES", "VERIFIER_LOGIN_MAX_FAILURES", 5, _int),
    Setting("LOGIN_LOCK_MINUTES", "VERIFIER_LOGIN_LOCK_MINUTES", 15, _int),
    Setting("LOGIN_ACCOUNT_MAX_FAILURES", "VERIFIER_LOGIN_ACCOUNT_MAX_FAILURES", 50, _int),
    Setting("LOGIN_ACCOUNT_LOCK_MAX_MINUTES", "VERIFIER_LOGIN_ACCOUNT_LOCK_MAX_MINUTES", 60, _int),
    Setting("LATE_ENTRY_WORKING_DAYS", "VERIFIER_LATE_ENTRY_WORKING_DAYS", 10, _int),
    Setting(
        "STAR_THRESHOLDS",
        "VERIFIER_STAR_THRESHOLDS",
        "100,300,600,1000,1500",
        doc="the counted hours of star levels 1 to 5 (星级): five increasing positive numbers",
    ),
    Setting("EVIDENCE_MAX_BYTES", "VERIFIER_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024, _int),
    Setting("SUPERVISION_DEADLINE_DAYS", "VERIFIER_SUPERVISION_DEADLINE_DAYS", 30, _int),
    Setting(
        "AUDIT_CHECKPOINT_EVERY",
        "VERIFIER_AUDIT_CHECKPOINT_EVERY",
        1000,
        _int,
        doc="sign a checkpoint of the audit chain after this many new entries (0: hourly only)",
    ),
    Setting("SQL_ECHO", "VERIFIER_SQL_ECHO", False, _bool),
    # Long work runs as a job above these sizes (README: "Long work: jobs").
    Setting("IMPORT_SYNC_MAX_BYTES", "VERIFIER_IMPORT_SYNC_MAX_BYTES", 64 * 1024, _int),
    Setting("BULK_SYNC_MAX_VOLUNTEERS", "VERIFIER_BULK_SYNC_MAX_VOLUNTEERS", 1000, _int),
    Setting("CAMPAIGN_SYNC_MAX_POPULATION", "VERIFIER_CAMPAIGN_SYNC_MAX_POPULATION", 10_000, _int),
    Setting("IMPORT_BATCH_ROWS", "VERIFIER_IMPORT_BATCH_ROWS", 500, _int),
    Setting("JOB_POLL_SECONDS", "VERIFIER_JOB_POLL_SECONDS", 2, _int),
    Setting("JOB_HEARTBEAT_SECONDS", "VERIFIER_JOB_HEARTBEAT_SECONDS", 5, _int),
    Setting("JOB_STALE_SECONDS", "VERIFIER_JOB_STALE_SECONDS", 60, _int),
    Setting("JOB_MAX_ATTEMPTS", "VERIFIER_JOB_MAX_ATTEMPTS", 3, _int),
    # Notifications: the outbox's delivery (docs/part-notify.md)
    Setting(
        "SMTP_URL",
        "VERIFIER_SMTP_URL",
        "",
        doc="e-mail server: smtp://host:port, smtps://host:port, optional user:password@ and "
        "?starttls=true; unset: development writes e-mails to the log, production keeps them",
    ),
    Setting(
        "MAIL_FROM",
        "VERIFIER_MAIL_FROM",
        "",
        doc="the From of e-mails (an address, or 'Name <address>'); required with "
        "VERIFIER_SMTP_URL in production; else noreply@ the host of VERIFIER_BASE_URL",
    ),
    Setting(
        "SMS_GATEWAY_URL",
        "VERIFIER_SMS_GATEWAY_URL",
        "",
        doc="text messages: POST {to, text, id} as JSON to this http(s) URL; a 2xx is sent",
    ),
    Setting(
        "SMS_GATEWAY_TOKEN",
        "VERIFIER_SMS_GATEWAY_TOKEN",
        "",
        doc="sent to the SMS gateway as Authorization: Bearer <token>, when set",
    ),
    Setting(
        "SMS_ADAPTER",
        "VERIFIER_SMS_ADAPTER",
        "",
        doc="http (the gateway) or log (write text messages to the app log); unset: http when "
        "VERIFIER_SMS_GATEWAY_URL is set, else log outside production, none in production",
    ),
    Setting("OUTBOX_MAX_ATTEMPTS", "VERIFIER_OUTBOX_MAX_ATTEMPTS", 8, _int),
    Setting(
        "OUTBOX_LEASE_SECONDS",
        "VERIFIER_OUTBOX_LEASE_SECONDS",
        300,
        _int,
        doc="a claimed message is another sender's to retry after this long (at least 60)",
    ),
    Setting(
        "OUTBOX_SCHEDULER",
        "VERIFIER_OUTBOX_SCHEDULER",
        True,
        _bool,
        doc="`verifier scheduler` sends the outbox every minute",
    ),
)

ENVIRONMENTS = {"development", "production", "testing"}
# What VERIFIER_ENV may say. "testing" (fast, weak password hashing) is never read from the
# environment or a .env file: only the test suite selects it, in the dict it gives create_app().
SELECTABLE_ENVIRONMENTS = ("development", "production")
# Resource limits on input: positive integers.
LIMITS = (
    "IMPORT_MAX_ROWS",
    "IMPORT_MAX_COLUMNS",
    "IMPORT_MAX_UNPACKED_BYTES",
    "IMPORT_MAX_ZIP_RATIO",
    "IMPORT_MAX_SHARED_STRINGS",
    "IMPORT_MAX_SHARED_STRING_CHARS",
    "JSON_MAX_BYTES",
    "JSON_MAX_DEPTH",
)
HIGHEST_JSON_DEPTH = 256


def load_settings(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read every setting: defaults, then the environment, then the overrides; validate."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = os.environ.get(setting.env)
        if raw is None or raw == "":
            values[setting.key] = setting.default
            continue
        if setting.key == "ENV" and raw not in SELECTABLE_ENVIRONMENTS:
            hint = " (only the test suite selects testing, in code)" if raw == "testing" else ""
            raise ConfigError(
                f"{setting.env} must be one of {', '.join(SELECTABLE_ENVIRONMENTS)}, "
                f"not {raw!r}{hint}"
            )
        try:
            values[setting.key] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.env}={raw!r} is not valid: {exc}") from exc
    values.update(overrides or {})
    _complete(values)
    _validate(values)
    return values


def _complete(values: dict[str, Any]) -> None:
    """Fill development defaults; production must set its secrets explicitly."""
    if values["ENV"] not in ENVIRONMENTS:
        raise ConfigError(
            f"VERIFIER_ENV must be one of {sorted(ENVIRONMENTS)}, not {values['ENV']!r}"
        )
    if values["DATABASE_URL"] is None:
        if values["ENV"] == "production":
            raise ConfigError("VERIFIER_DATABASE_URL must be set in production")
        values["DATABASE_URL"] = f"sqlite:///{INSTANCE_DIR / 'verifier.db'}"
    if values["WEB_WORKERS"] is None:
        concurrency = os.environ.get("WEB_CONCURRENCY", "").strip()  # gunicorn's own default
        values["WEB_WORKERS"] = (
            int(concurrency) if concurrency.isascii() and concurrency.isdigit() else 1
        )
    for key, env in (("SECRET_KEY", "VERIFIER_SECRET_KEY"), ("DATA_KEY", "VERIFIER_DATA_KEY")):
        if values[key]:
            continue
        if values["ENV"] == "production":
            raise ConfigError(f"{env} must be set in production (see README: Configuration)")
        values[key] = _development_secret(key.lower())


def _development_secret(name: str) -> str:
    """Return a per-instance secret kept in INSTANCE_DIR, made once; never used in production."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / f"dev-{name.replace('_', '-')}"
    if not path.exists():
        path.write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def _validate(values: dict[str, Any]) -> None:
    if len(str(values["SECRET_KEY"])) < 16:
        raise ConfigError("VERIFIER_SECRET_KEY must be at least 16 characters")
    _check_data_keys(values)
    parts = urlsplit(str(values["BASE_URL"]))
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(
            "VERIFIER_BASE_URL must be an http(s) URL such as https://verify.example.cn"
        )
    if values["ENV"] == "production" and parts.scheme != "https":
        raise ConfigError("VERIFIER_BASE_URL must use https in production")
    values["BASE_URL"] = str(values["BASE_URL"]).rstrip("/")
    _check_rate_limit_storage(values)
    if int(values["AUDIT_CHECKPOINT_EVERY"]) < 0:
        raise ConfigError("VERIFIER_AUDIT_CHECKPOINT_EVERY must be 0 (hourly only) or more")
    for key in (
        "IMPORT_MAX_BYTES",
        "LOGIN_MAX_FAILURES",
        "LOGIN_LOCK_MINUTES",
        "LOGIN_ACCOUNT_MAX_FAILURES",
        "LOGIN_ACCOUNT_LOCK_MAX_MINUTES",
        "EVIDENCE_MAX_BYTES",
        "SUPERVISION_DEADLINE_DAYS",
        "IMPORT_BATCH_ROWS",
        "JOB_POLL_SECONDS",
        "JOB_HEARTBEAT_SECONDS",
        "JOB_STALE_SECONDS",
        "JOB_MAX_ATTEMPTS",
        "STATUS_LIST_VALID_HOURS",
    ):
        if int(values[key]) <= 0:
            raise ConfigError(f"{key} must be positive")
    for key in (
        "IMPORT_SYNC_MAX_BYTES",
        "BULK_SYNC_MAX_VOLUNTEERS",
        "CAMPAIGN_SYNC_MAX_POPULATION",
    ):
        if int(values[key]) < 0:
            raise ConfigError(f"{key} must be 0 or more (0: always a job)")
    if int(values["JOB_STALE_SECONDS"]) <= int(values["JOB_HEARTBEAT_SECONDS"]):
        raise ConfigError("JOB_STALE_SECONDS must be longer than JOB_HEARTBEAT_SECONDS")

    values["STAR_THRESHOLDS"] = star_thresholds(values["STAR_THRESHOLDS"])
    for key in LIMITS:
        if int(values[key]) <= 0:
            raise ConfigError(f"{_env(key)} must be a positive whole number")
    if int(values["JSON_MAX_DEPTH"]) > HIGHEST_JSON_DEPTH:
        # deeper, parsing and validating would come near Python's recursion limit again
        raise ConfigError(f"VERIFIER_JSON_MAX_DEPTH must be at most {HIGHEST_JSON_DEPTH}")
    _check_outbox(values)


STAR_LEVELS = 5


def star_thresholds(value: Any) -> tuple[Decimal, ...]:
    """Read the star thresholds (hours, "100,300,600,1000,1500"): five increasing positive numbers.

    Given as a text (the environment) or as a sequence of numbers (a test's settings).
    """
    parts = value.split(",") if isinstance(value, str) else list(value)
    try:
        hours = tuple(Decimal(str(part).strip()) for part in parts)
    except InvalidOperation:
        hours = ()
    if (
        len(hours) != STAR_LEVELS
        or not all(h.is_finite() and h > 0 for h in hours)
        or any(b <= a for a, b in zip(hours, hours[1:], strict=False))
    ):
        raise ConfigError(
            f"VERIFIER_STAR_THRESHOLDS must be {STAR_LEVELS} increasing positive numbers of "
            f"hours, separated by commas (e.g. 100,300,600,1000,1500), not {value!r}"
        )
    return hours


def _decode_data_key(value: Any, env: str) -> bytes:
    try:
        key = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{env} must be base64") from exc
    if len(key) != 32:
        raise ConfigError(f"{env} must decode to 32 bytes (AES-256)")
    return key


def _check_data_keys(values: dict[str, Any]) -> None:
    """Check the data key and, during a rotation, the previous one (docs: rotating the data key)."""
    from verifier.crypto.encryption import data_key_id

    current = _decode_data_key(values["DATA_KEY"], "VERIFIER_DATA_KEY")
    if not values.get("DATA_KEY_PREVIOUS"):
        values["DATA_KEY_PREVIOUS"] = None
        return
    previous = _decode_data_key(values["DATA_KEY_PREVIOUS"], "VERIFIER_DATA_KEY_PREVIOUS")
    if previous == current:
        raise ConfigError(
            "VERIFIER_DATA_KEY_PREVIOUS is the same key as VERIFIER_DATA_KEY: give the new key "
            "as VERIFIER_DATA_KEY and the old one as VERIFIER_DATA_KEY_PREVIOUS"
        )
    if data_key_id(previous) == data_key_id(current):
        raise ConfigError(
            "VERIFIER_DATA_KEY and VERIFIER_DATA_KEY_PREVIOUS have the same key id "
            f"({data_key_id(current)}): make another new key"
        )


def _check_rate_limit_storage(values: dict[str, Any]) -> None:
    """Refuse per-process rate limits in production when several processes serve requests.

    With `memory://` every worker counts on its own, so each limit is multiplied by the number of
    workers (ten ID guesses an hour become forty with four workers).
    """
    workers = int(values["WEB_WORKERS"])
    if workers < 1:
        raise ConfigError("VERIFIER_WEB_WORKERS must be at least 1")
    storage = str(values["RATELIMIT_STORAGE_URI"])
    if values["ENV"] == "production" and storage.startswith("memory://") and workers > 1:
        raise ConfigError(
            f"VERIFIER_RATELIMIT_STORAGE_URI={storage} keeps rate limits per process, so with "
            f"{workers} web workers every limit would be {workers} times as high: set it to a "
            "shared store such as redis://127.0.0.1:6379, or run one worker"
        )


def _env(key: str) -> str:
    return next((s.env for s in SETTINGS if s.key == key), key)


# --- the outbox's delivery (verifier/notifications/adapters.py) ----------------------------------

SMS_ADAPTERS = ("http", "log")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
SHORTEST_OUTBOX_LEASE = 60  # at least twice the adapters' network timeout


@dataclass(frozen=True)
class SmtpServer:
    """Where e-mail goes, read from VERIFIER_SMTP_URL."""

    host: str
    port: int
    ssl: bool  # smtps://: TLS from the first byte
    starttls: bool  # smtp:// upgraded with STARTTLS before anything is sent
    user: str = ""
    password: str = field(default="", repr=False)

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS


def parse_smtp_url(url: str) -> SmtpServer:
    """Read smtp://[user:password@]host[:port][?starttls=true] or smtps://...; ValueError if not.

    The messages never repeat the URL: it may hold a password.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in {"smtp", "smtps"}:
        raise ValueError("the scheme must be smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("a host is missing")
    if parts.path not in {"", "/"} or parts.fragment:
        raise ValueError("only a host, a port and ?starttls=true are read")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    starttls = False
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name != "starttls":
            raise ValueError(f"unknown option {name!r} (only starttls=true|false)")
        try:
            starttls = _bool(value)
        except ValueError:
            raise ValueError("starttls must be true or false") from None
    ssl = parts.scheme == "smtps"
    if ssl and starttls:
        raise ValueError("smtps:// is TLS already: leave out starttls")
    if port == 0:
        raise ValueError("the port must be a number from 1 to 65535")
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if ssl else 25),
        ssl=ssl,
        starttls=starttls,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def mail_from_address(value: str) -> str:
    """Return the address of a From ('a@b.cn' or 'Name <a@b.cn>'); ValueError if there is none."""
    if any(c in value for c in "\r\n"):
        raise ValueError("it must be one line")
    _name, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or " " in address:
        raise ValueError("expected an address such as noreply@verify.example.cn")
    return address


def _check_outbox(values: dict[str, Any]) -> None:
    """Check the outbox's delivery settings; each message names its variable."""
    production = values["ENV"] == "production"
    smtp_url = str(values["SMTP_URL"] or "").strip()
    values["SMTP_URL"] = smtp_url
    if smtp_url:
        try:
            server = parse_smtp_url(smtp_url)
        except ValueError as exc:
            raise ConfigError(
                f"VERIFIER_SMTP_URL is not valid: {exc} (for example smtp://127.0.0.1:1025 or "
                "smtps://user:password@mail.example.cn:465)"
            ) from None
        if production and server.user and not (server.ssl or server.starttls or server.loopback):
            raise ConfigError(
                "VERIFIER_SMTP_URL would send its password in clear text: use smtps:// or "
                "add ?starttls=true"
            )
        if production and not str(values["MAIL_FROM"] or "").strip():
            raise ConfigError("VERIFIER_MAIL_FROM must be set in production with VERIFIER_SMTP_URL")
    if str(values["MAIL_FROM"] or "").strip():
        try:
            mail_from_address(str(values["MAIL_FROM"]))
        except ValueError as exc:
            raise ConfigError(f"VERIFIER_MAIL_FROM is not valid: {exc}") from None
    gateway = str(values["SMS_GATEWAY_URL"] or "").strip()
    values["SMS_GATEWAY_URL"] = gateway
    adapter = str(values["SMS_ADAPTER"] or "").strip().lower()
    values["SMS_ADAPTER"] = adapter
    if adapter and adapter not in SMS_ADAPTERS:
        raise ConfigError(f"VERIFIER_SMS_ADAPTER must be one of {', '.join(SMS_ADAPTERS)}")
    if adapter == "http" and not gateway:
        raise ConfigError("VERIFIER_SMS_ADAPTER=http needs VERIFIER_SMS_GATEWAY_URL")
    if adapter == "log" and production:
        # a text message may hold an invitation or reset code: never in a production log
        raise ConfigError(
            "VERIFIER_SMS_ADAPTER=log writes text messages (with their codes) to the log: "
            "not in production; set VERIFIER_SMS_GATEWAY_URL"
        )
    if adapter == "log" and gateway:
        raise ConfigError(
            "VERIFIER_SMS_ADAPTER=log writes text messages to the log, yet "
            "VERIFIER_SMS_GATEWAY_URL is set: leave out one of them"
        )
    if gateway:
        parts = urlsplit(gateway)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConfigError(
                "VERIFIER_SMS_GATEWAY_URL must be an http(s) URL such as "
                "https://sms.example.cn/send"
            )
        if production and parts.scheme != "https" and parts.hostname not in LOOPBACK_HOSTS:
            raise ConfigError(
                "VERIFIER_SMS_GATEWAY_URL must use https in production (phone numbers and the "
                "token travel to it), unless it is on this machine"
            )
    token = str(values["SMS_GATEWAY_TOKEN"] or "")
    if token and (token != token.strip() or any(c.isspace() for c in token)):
        raise ConfigError("VERIFIER_SMS_GATEWAY_TOKEN must not contain spaces or line breaks")
    if int(values["OUTBOX_MAX_ATTEMPTS"]) < 1:
        raise ConfigError("VERIFIER_OUTBOX_MAX_ATTEMPTS must be at least 1")
    if int(values["OUTBOX_LEASE_SECONDS"]) < SHORTEST_OUTBOX_LEASE:
        raise ConfigError(f"VERIFIER_OUTBOX_LEASE_SECONDS must be at least {SHORTEST_OUTBOX_LEASE}")

"""`verifier verify-qr`: check a certificate's QR code offline, against published keys, no database.

Exit status: 0 the signature is valid and made by a key of the JWKS given (read the warnings);
1 the certificate is invalid or forged (not a certificate token, a bad signature, an unknown key,
keys that are not the issuer's, a key compromised before the claimed issue time); 2 the input
could not be read or the arguments are wrong (no such file, no QR code in the image, an
unreadable JWKS).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import click
from flask import current_app, has_app_context
from flask.cli import with_appcontext

from verifier import jsonlimits
from verifier.certificates.numbers import InvalidCertificateNumber, normalize_certificate_number
from verifier.certificates.qr import QRReaderMissing, UnreadableImage, decode_qr
from verifier.certificates.services import number_display
from verifier.crypto import signing
from verifier.crypto.errors import CryptoError, InvalidSignature, MalformedKey, MalformedToken
from verifier.timeutil import to_local

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_JWKS_BYTES = 1024 * 1024
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
JWKS_PATH = "/.well-known/jwks.json"

NOT_CHECKED_OFFLINE = (
    "that the certificate is in the issuance ledger (a thief of a signing key could sign a "
    "certificate that was never issued)",
    "whether it has been revoked or suspended",
    "whether the issuing organisation is still active",
    "whether the records it covers have been corrected or voided since it was issued",
)


class Unreadable(Exception):
    """The input or the keys could not be read: exit status 2."""


class Invalid(Exception):
    """The certificate is not valid: exit status 1."""


@dataclass
class Keys:
    jwks: dict[str, Any]
    source: str
    url: str | None = None


@dataclass
class Outcome:
    claims: dict[str, Any]
    kid: str
    key_status: str = ""
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def token_from_text(text: str) -> str:
    """Return the token in a verify URL (…/v/TOKEN), or the text itself when it is a bare token."""
    text = text.strip()
    if text.lower().startswith(("http://", "https://")):
        path = urlsplit(text).path
        if "/v/" not in path:
            raise Invalid(
                f"the link is not a certificate verification link (…/v/TOKEN): {text[:80]}"
            )
        return unquote(path.split("/v/", 1)[1])
    return text


def read_source(source: str) -> str:
    """Return the token held by an image file, a verify URL or a bare token."""
    if source.lower().startswith(("http://", "https://")):
        return token_from_text(source)
    path = Path(source)
    looks_like_file = source.lower().endswith(IMAGE_SUFFIXES) or os.sep in source
    if _is_file(path) or looks_like_file:
        if not _is_file(path):
            raise Unreadable(f"no such file: {source}")
        if path.stat().st_size > MAX_IMAGE_BYTES:
            raise Unreadable(f"{source} is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
        try:
            texts = decode_qr(path.read_bytes())
        except UnreadableImage as exc:
            raise Unreadable(f"{source} is not a readable image ({exc})") from None
        except QRReaderMissing as exc:
            raise Unreadable(str(exc)) from None
        except OSError as exc:
            raise Unreadable(f"cannot read {source}: {exc.strerror}") from None
        if not texts:
            raise Unreadable(f"no QR code found in {source}; photograph it flat, sharp and whole")
        links = [t for t in texts if "/v/" in t]
        return token_from_text((links or texts)[0])
    return token_from_text(source)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a token is longer than a file name may be
        return False


def default_jwks_url() -> str:
    base = current_app.config["BASE_URL"] if has_app_context() else ""
    base = base or os.environ.get("VERIFIER_BASE_URL", "")
    if not base:
        raise Unreadable("give --jwks FILE_OR_URL (no VERIFIER_BASE_URL is configured)")
    return base.rstrip("/") + JWKS_PATH


def load_keys(source: str | None, timeout: float) -> Keys:
    """Read a JWKS from a file, or fetch it from the URL given (only that address is contacted)."""
    source = source or default_jwks_url()
    if source.lower().startswith(("http://", "https://")):
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked just above)
            source, headers={"Accept": "application/json", "User-Agent": "verifier-verify-qr"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                data = response.read(MAX_JWKS_BYTES + 1)
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the open response
            raise Unreadable(f"could not fetch the keys from {source}: HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unreadable(f"could not fetch the keys from {source}: {reason}") from None
        url: str | None = source
    else:
        path = Path(source)
        if not _is_file(path):
            raise Unreadable(f"no such JWKS file: {source}")
        data = path.read_bytes()[: MAX_JWKS_BYTES + 1]
        url = None
    if len(data) > MAX_JWKS_BYTES:
        raise Unreadable(f"the JWKS at {source} is larger than 1 MB")
    try:
        # from outside: nesting is checked before parsing (the size was, just above)
        jwks = jsonlimits.loads(data.decode("utf-8"), max_bytes=MAX_JWKS_BYTES)
        signing.key_lookup_from_jwks(jwks)
    except (UnicodeDecodeError, ValueError, MalformedKey) as exc:
        raise Unreadable(f"{source} is not a JWKS of Ed25519 keys: {exc}") from None
    return Keys(jwks, source, url)


def _jwk_by_kid(jwks: dict[str, Any], kid: str) -> dict[str, Any] | None:
    for jwk in jwks.get("keys", []):
        if isinstance(jwk, dict) and jwk.get("kid") == kid:
            return jwk
    return None


def _iat(claims: dict[str, Any]) -> datetime:
    iat = claims.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool) or iat <= 0:
        raise Invalid("format: the token has no issue time (iat)")
    try:
        return datetime.fromtimestamp(iat, UTC)
    except (OverflowError, OSError, ValueError):
        raise Invalid("format: the issue time (iat) is out of range") from None


def verify_offline(token: str, keys: Keys) -> Outcome:
    """Check format, signature, the key's published status and the issuer, without a database."""
    try:
        decoded = signing.decode_compact_jws(token)
        number = decoded.payload.get("jti")
        if not isinstance(number, str) or len(number) != 17:
            raise MalformedToken("the token has no certificate number (jti)")
        normalize_certificate_number(number)
    except (MalformedToken, InvalidCertificateNumber) as exc:
        raise Invalid(f"format: not a certificate token: {exc}") from None
    claims, kid = decoded.payload, decoded.header["kid"]
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer.startswith(("http://", "https://")):
        raise Invalid("format: the token names no issuer (iss)")
    issued = _iat(claims)
    try:
        signing.verify_compact_jws(token, signing.key_lookup_from_jwks(keys.jwks))
    except InvalidSignature:
        raise Invalid("signature: does not match the content: altered or forged") from None
    except CryptoError:
        raise Invalid(f"signature: key {kid[:12]}… is not in the keys from {keys.source}") from None
    outcome = Outcome(claims, kid)
    if keys.url is not None:
        if not keys.url.startswith(issuer.rstrip("/") + "/"):
            raise Invalid(
                f"issuer: the token names {issuer} as its issuer, but the keys came from "
                f"{keys.url}; check it with {issuer.rstrip('/')}{JWKS_PATH}"
            )
    else:
        outcome.notes.append(
            f"keys read from the file {keys.source}: make sure it is the JWKS that {issuer} "
            "publishes"
        )
    jwk = _jwk_by_kid(keys.jwks, kid) or {}
    status = str(jwk.get("status", ""))
    outcome.key_status = status or "not stated in the JWKS"
    if status == "compromised":
        at = _parse_time(jwk.get("compromised_at"))
        if at is None or issued >= at:
            raise Invalid(
                "key status: signed with a key that was compromised before the claimed issue "
                "time; treat the certificate as forged"
            )
        outcome.warnings.append(
            f"the signing key was compromised from {to_local(at):%Y-%m-%d %H:%M}; the claimed "
            "issue time is earlier, but whoever stole the key can backdate it: only the online "
            "check (the issuance ledger) can tell whether this certificate is genuine"
        )
    elif status == "retired":
        outcome.warnings.append(
            "the signing key is retired: it signs no new certificates, and those it signed "
            "before stay valid"
        )
    return outcome


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _claim_lines(claims: dict[str, Any]) -> list[tuple[str, str]]:
    period = claims.get("period")
    period_text = " to ".join(map(str, period)) if isinstance(period, list) else str(period)
    issued = to_local(datetime.fromtimestamp(claims["iat"], UTC))
    return [
        ("certificate number", number_display(claims["jti"])),
        ("volunteer (masked)", str(claims.get("name", ""))),
        ("volunteer number", str(claims.get("vno", ""))),
        ("service hours", str(claims.get("hours", ""))),
        ("period", period_text),
        ("issuing organisation", str(claims.get("org", ""))),
        ("USCC", str(claims.get("uscc", ""))),
        ("issued at", issued.strftime("%Y-%m-%d %H:%M %z")),
        ("issuer (service)", str(claims.get("iss", ""))),
    ]


def report(outcome: Outcome, keys: Keys) -> None:
    claims = outcome.claims
    issuer = claims["iss"].rstrip("/")
    number = number_display(claims["jti"])
    click.echo("SIGNATURE VALID (offline): signed by a key of the JWKS; see what was not checked")
    click.echo(
        f"  format       ok  a signed certificate token (JWS, EdDSA, typ {signing.TOKEN_TYPE})"
    )
    click.echo(f"  signature    ok  key {outcome.kid} from {keys.source}")
    click.echo(
        f"  key status   {'ok' if outcome.key_status == 'active' else '!!'}  {outcome.key_status}"
    )
    for note in outcome.notes:
        click.echo(f"  note         {note}")
    for warning in outcome.warnings:
        click.echo(f"WARNING: {warning}")
    click.echo("Signed claims:")
    for label, value in _claim_lines(claims):
        click.echo(f"  {label:<21} {value}")
    click.echo("NOT checked offline:")
    for item in NOT_CHECKED_OFFLINE:
        click.echo(f"  - {item}")
    click.echo("For these, verify online:")
    click.echo(f"  {issuer}/verify?number={number}")
    click.echo(f"  GET {issuer}/api/v1/certificates/{claims['jti']}/status")


@click.command("verify-qr")
@click.argument("image_or_token")
@click.option(
    "--jwks",
    "jwks_source",
    metavar="FILE_OR_URL",
    help="The issuer's published keys: a JSON file, or an URL to fetch "
    "[default: {VERIFIER_BASE_URL}/.well-known/jwks.json].",
)
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for the JWKS.")
@with_appcontext  # for the configured BASE_URL and time zone; no database session is opened
def verify_qr_command(image_or_token: str, jwks_source: str | None, timeout: float) -> None:
    """Check a certificate's QR code offline: a photo or PNG, a verify URL, or a bare token.

    Checks the token's format and signature against the JWKS and the key's published status;
    uses no database. Exit status: 0 signature valid, 1 invalid or forged, 2 unreadable input
    or bad arguments.
    """
    try:
        token = read_source(image_or_token)
        keys = load_keys(jwks_source, timeout)
    except Unreadable as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_UNREADABLE)
    except Invalid as exc:
        click.echo(f"INVALID: {exc}")
        sys.exit(EXIT_INVALID)
    try:
        outcome = verify_offline(token, keys)
    except Invalid as exc:
        click.echo(f"INVALID: {exc}")
        sys.exit(EXIT_INVALID)
    report(outcome, keys)
    sys.exit(EXIT_VALID)

"""`verifier verify-qr`: check a certificate's QR code offline, against published keys, no database.

With `--trust-list` (the signed /.well-known/issuers.json, saved or fetched) the check follows the
two levels of keys: the trust list must verify with a root key of the JWKS, and the token's key
must be endorsed in it for the USCC the token names and valid at the token's issue time.

Exit status: 0 the signature is valid and made by a key of the JWKS given (read the warnings);
1 the certificate is invalid or forged (not a certificate token, a bad signature, an unknown key,
keys that are not the issuer's, a key not endorsed for the organisation or used outside its
validity, a key compromised before the claimed issue time); 2 the input could not be read or the
arguments are wrong (no such file, no QR code in the image, an unreadable JWKS, a trust list whose
signature does not verify).
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
from verifier.certificates.services import number_display, vouching_uscc
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
TRUST_LIST_PATH = "/.well-known/issuers.json"

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
class TrustList:
    """A trust list whose signature verified with a root key of the JWKS."""

    entries: dict[str, dict[str, Any]]
    source: str
    signed_by: str
    expires: datetime | None


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


def _read(source: str, timeout: float, what: str) -> tuple[bytes, str | None]:
    """Read a document from a file, or fetch it from the URL given (only that address)."""
    if source.lower().startswith(("http://", "https://")):
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked just above)
            source, headers={"Accept": "application/json", "User-Agent": "verifier-verify-qr"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                data = response.read(MAX_JWKS_BYTES + 1)
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the open response
            raise Unreadable(f"could not fetch the {what} from {source}: HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unreadable(f"could not fetch the {what} from {source}: {reason}") from None
        return data, source
    path = Path(source)
    if not _is_file(path):
        raise Unreadable(f"no such {what} file: {source}")
    return path.read_bytes()[: MAX_JWKS_BYTES + 1], None


def load_keys(source: str | None, timeout: float) -> Keys:
    """Read a JWKS from a file, or fetch it from the URL given (only that address is contacted)."""
    source = source or default_jwks_url()
    data, url = _read(source, timeout, "JWKS")
    if len(data) > MAX_JWKS_BYTES:
        raise Unreadable(f"the JWKS at {source} is larger than 1 MB")
    try:
        # from outside: nesting is checked before parsing (the size was, just above)
        jwks = jsonlimits.loads(data.decode("utf-8"), max_bytes=MAX_JWKS_BYTES)
        signing.key_lookup_from_jwks(jwks)
    except (UnicodeDecodeError, ValueError, MalformedKey) as exc:
        raise Unreadable(f"{source} is not a JWKS of Ed25519 keys: {exc}") from None
    return Keys(jwks, source, url)


MAX_TRUST_LIST_BYTES = 64 * 1024 * 1024


def load_trust_list(source: str, keys: Keys, timeout: float) -> TrustList:
    """Read a trust list and check its signature with a root key of the JWKS (no `uscc`)."""
    data, _url = _read(source, timeout, "trust list")
    if len(data) > MAX_TRUST_LIST_BYTES:
        raise Unreadable(f"the trust list at {source} is larger than 64 MB")
    try:
        document = jsonlimits.loads(data.decode("utf-8"), max_bytes=MAX_TRUST_LIST_BYTES)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Unreadable(f"{source} is not a trust list (JSON): {exc}") from None
    roots = {
        jwk["kid"]: jwk
        for jwk in keys.jwks.get("keys", [])
        if isinstance(jwk, dict) and "uscc" not in jwk and isinstance(jwk.get("kid"), str)
    }
    lookup = signing.key_lookup_from_jwks({"keys": list(roots.values())})
    try:
        decoded = signing.verify_flattened_jws(document, lookup, signing.TRUST_LIST_TYPE)
    except MalformedToken as exc:
        raise Unreadable(f"{source} is not a signed trust list: {exc}") from None
    except InvalidSignature:
        raise Unreadable(
            f"the trust list {source} is refused: its signature does not verify (altered or forged)"
        ) from None
    except CryptoError:
        raise Unreadable(
            f"the trust list {source} is refused: it is not signed by a root key of the JWKS "
            f"from {keys.source}"
        ) from None
    signer = roots[decoded.header["kid"]]
    if signer.get("status") == "compromised":
        raise Unreadable(
            f"the trust list {source} is refused: it is signed by a compromised root key"
        )
    issuers = decoded.payload.get("issuers")
    if not isinstance(issuers, list):
        raise Unreadable(f"the trust list {source} has no issuers list")
    entries = {
        entry["kid"]: entry
        for entry in issuers
        if isinstance(entry, dict) and isinstance(entry.get("kid"), str)
    }
    exp = decoded.payload.get("exp")
    expires = datetime.fromtimestamp(exp, UTC) if isinstance(exp, int) and exp > 0 else None
    return TrustList(entries, source, decoded.header["kid"], expires)


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


def _read_token(token: str) -> tuple[dict[str, Any], str, str, datetime]:
    """Parse a certificate token (not yet its signature): claims, kid, issuer and issue time."""
    try:
        decoded = signing.decode_compact_jws(token)
        number = decoded.payload.get("jti")
        if not isinstance(number, str) or len(number) != 17:
            raise MalformedToken("the token has no certificate number (jti)")
        normalize_certificate_number(number)
    except (MalformedToken, InvalidCertificateNumber) as exc:
        raise Invalid(f"format: not a certificate token: {exc}") from None
    claims = decoded.payload
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer.startswith(("http://", "https://")):
        raise Invalid("format: the token names no issuer (iss)")
    return claims, decoded.header["kid"], issuer, _iat(claims)


def _check_compromise(issued: datetime, at: datetime | None, outcome: Outcome) -> None:
    """A key compromised at or before the claimed issue time: forged; after it: a warning."""
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


def verify_offline(token: str, keys: Keys) -> Outcome:
    """Check format, signature, the key's published status and the issuer, without a database."""
    claims, kid, issuer, issued = _read_token(token)
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
    if "uscc" in jwk and jwk["uscc"] != vouching_uscc(claims):
        raise Invalid(
            f"signature: the key is organisation {jwk['uscc']}'s, not the "
            f"{vouching_uscc(claims)} the certificate names"
        )
    status = str(jwk.get("status", ""))
    outcome.key_status = status or "not stated in the JWKS"
    if status == "compromised":
        _check_compromise(issued, _parse_time(jwk.get("compromised_at")), outcome)
    elif status == "retired":
        outcome.warnings.append(
            "the signing key is retired: it signs no new certificates, and those it signed "
            "before stay valid"
        )
    return outcome


def verify_with_trust_list(token: str, keys: Keys, trust: TrustList) -> Outcome:
    """Check a token against a verified trust list: the two levels of keys, no database.

    The token's key must be in the trust list: an organisation key endorsed for the USCC the
    token names and valid at its issue time, or a root key (the issuer of the certificates from
    before organisation keys) that signed certificates until at least that time.
    """
    claims, kid, issuer, issued = _read_token(token)
    entry = trust.entries.get(kid)
    if entry is None:
        raise Invalid(f"signature: key {kid[:12]}… is not endorsed in the trust list")
    try:
        signing.verify_compact_jws(token, signing.key_lookup_from_jwks({"keys": [entry["jwk"]]}))
    except InvalidSignature:
        raise Invalid("signature: does not match the content: altered or forged") from None
    except (CryptoError, KeyError):
        raise Invalid(f"signature: the trust list's entry for {kid[:12]}… is unusable") from None
    outcome = Outcome(claims, kid)
    outcome.key_status = str(entry.get("status", "not stated"))
    valid_from = _parse_time(entry.get("valid_from"))
    valid_until = _parse_time(entry.get("valid_until"))
    revoked_at = _parse_time(entry.get("revoked_at"))
    if entry.get("role") == "organisation":
        vouching = vouching_uscc(claims)
        if entry.get("uscc") != vouching:
            raise Invalid(
                f"signature: the key is endorsed for organisation {entry.get('uscc')}, not for "
                f"the {vouching} the certificate names"
            )
        outcome.notes.append(
            f"key endorsed by the platform for {entry.get('name')} ({entry.get('uscc')})"
        )
    elif entry.get("role") == "root":
        until = _parse_time(entry.get("certificates_until"))
        if until is None or issued > until:
            raise Invalid(
                "signature: signed by the platform's root key, which signed certificates only "
                "before organisations had their own keys"
                + (f" (until {to_local(until):%Y-%m-%d %H:%M})" if until else "")
                + "; this one claims a later time"
            )
        outcome.notes.append(
            "signed by the platform's root key: a certificate from before organisation keys"
        )
    else:
        raise Invalid(f"signature: key {kid[:12]}… has no known role in the trust list")
    if revoked_at is not None:
        _check_compromise(issued, revoked_at, outcome)
    elif (valid_from is not None and issued < valid_from.replace(microsecond=0)) or (
        valid_until is not None and issued > valid_until
    ):
        raise Invalid(
            "signature: the claimed issue time is outside the period the key was endorsed for "
            f"({entry.get('valid_from')} to {entry.get('valid_until') or 'now'})"
        )
    elif outcome.key_status == "retired":
        outcome.warnings.append(
            "the signing key is retired: it signs no new certificates, and those it signed "
            "before stay valid"
        )
    org_status = entry.get("organisation_status")
    since = _parse_time(entry.get("organisation_status_since"))
    if org_status and org_status != "active":
        if since is not None and issued >= since:
            raise Invalid(
                f"issuer: issued after the organisation became {org_status} "
                f"({to_local(since):%Y-%m-%d %H:%M}), when it could no longer issue"
            )
        outcome.warnings.append(
            f"the issuing organisation is {org_status} now; this certificate was issued before"
        )
    if trust.expires is not None and trust.expires < datetime.now(UTC):
        outcome.warnings.append(
            f"the trust list expired at {to_local(trust.expires):%Y-%m-%d %H:%M}: a key "
            "compromised since is not in it; fetch a fresh one"
        )
    outcome.notes.append(f"trust list {trust.source}, signed by root key {trust.signed_by[:12]}…")
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
@click.option(
    "--trust-list",
    "trust_source",
    metavar="FILE_OR_URL",
    help="The issuer's signed trust list (/.well-known/issuers.json), saved or fetched: the "
    "token's key must be endorsed in it for the certificate's organisation and valid at its "
    "issue time; the list must verify with a root key of the JWKS.",
)
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for the JWKS.")
@with_appcontext  # for the configured BASE_URL and time zone; no database session is opened
def verify_qr_command(
    image_or_token: str, jwks_source: str | None, trust_source: str | None, timeout: float
) -> None:
    """Check a certificate's QR code offline: a photo or PNG, a verify URL, or a bare token.

    Checks the token's format and signature against the JWKS and the key's published status;
    uses no database. Exit status: 0 signature valid, 1 invalid or forged, 2 unreadable input
    or bad arguments.
    """
    try:
        token = read_source(image_or_token)
        keys = load_keys(jwks_source, timeout)
        trust = load_trust_list(trust_source, keys, timeout) if trust_source else None
    except Unreadable as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_UNREADABLE)
    except Invalid as exc:
        click.echo(f"INVALID: {exc}")
        sys.exit(EXIT_INVALID)
    try:
        outcome = (
            verify_with_trust_list(token, keys, trust)
            if trust is not None
            else verify_offline(token, keys)
        )
    except Invalid as exc:
        click.echo(f"INVALID: {exc}")
        sys.exit(EXIT_INVALID)
    report(outcome, keys)
    sys.exit(EXIT_VALID)

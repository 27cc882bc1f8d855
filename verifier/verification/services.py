"""Verify a certificate from its QR token or its typed number, check by check."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from verifier.audit.models import AuditEntry
from verifier.certificates.lifecycle import records_intact
from verifier.certificates.models import Certificate, VerificationEvent
from verifier.certificates.numbers import InvalidCertificateNumber, normalize_certificate_number
from verifier.certificates.selective import sd_jwt_ledger_entry
from verifier.certificates.services import (
    activities_of,
    content_hash,
    ledger_entry,
    number_display,
    vouching_uscc,
)
from verifier.certificates.states import CertificateStatus
from verifier.crypto import sdjwt, signing
from verifier.crypto.errors import CryptoError, InvalidSignature, MalformedToken
from verifier.errors import ValidationError
from verifier.keys.labels import KEY_STATUS
from verifier.keys.models import KeyStatus, SigningKey
from verifier.keys.services import get_key, public_key_of
from verifier.labels import label
from verifier.orgs.labels import ORG_STATUS
from verifier.orgs.models import Organisation, OrgStatus
from verifier.timeutil import format_hours, to_local
from verifier.volunteers.models import Volunteer
from verifier.volunteers.services import lookup_keys


class VerificationStatus(StrEnum):
    """A verification's answer (published, and kept in verification_events.status).

    The first four are the certificate's own status, when every check before it passed.
    """

    VALID = CertificateStatus.VALID.value
    REVOKED = CertificateStatus.REVOKED.value
    SUSPENDED = CertificateStatus.SUSPENDED.value
    SUPERSEDED = CertificateStatus.SUPERSEDED.value
    # an organisation's later suspension leaves earlier certificates valid (`issuer_status`
    # notes it); produced only for one dated after the suspension, which issuance refuses
    ISSUER_SUSPENDED = "issuer_suspended"
    KEY_COMPROMISED = "key_compromised"
    INVALID_SIGNATURE = "invalid_signature"
    UNKNOWN = "unknown"
    MALFORMED = "malformed"


# certificate statuses that end a verification with that status
_STOPPING = (CertificateStatus.REVOKED, CertificateStatus.SUSPENDED, CertificateStatus.SUPERSEDED)
CHECK_NAMES = ("format", "signature", "key_status", "ledger", "revocation", "issuer", "records")


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not run, because an earlier check failed
    detail: str = ""


@dataclass
class Presented:
    """What an SD-JWT presentation disclosed, as verified: only these claims may be shown."""

    claims: dict[str, Any]
    disclosures: int
    withheld_activities: int


@dataclass
class Verdict:
    status: str
    checks: list[Check] = field(default_factory=list)
    certificate: Certificate | None = None
    presented: Presented | None = None  # set when an SD-JWT presentation was verified

    @property
    def valid(self) -> bool:
        return self.status == VerificationStatus.VALID

    def identified(self) -> Certificate | None:
        """The certificate, when the checks identified it as one issued here."""
        if self.status in (
            VerificationStatus.UNKNOWN,
            VerificationStatus.MALFORMED,
            VerificationStatus.INVALID_SIGNATURE,
        ):
            return None
        return self.certificate

    def fields(self) -> dict[str, Any]:
        """The certificate's public, masked fields (none when it could not be identified)."""
        cert = self.identified()
        if cert is None:
            return {}
        if self.presented is not None:
            return presented_fields(cert, self.presented)
        return public_fields(cert)

    def issuer_status(self) -> dict[str, Any] | None:
        """The issuing organisation's status now and since when (none when not identified)."""
        cert = self.identified()
        if cert is None:
            return None
        org = cert.organisation
        since = org.status_since if org.status != OrgStatus.ACTIVE else None
        return {
            "status": org.status,
            "since": to_local(since).isoformat() if since is not None else None,
        }

    def issuer_note(self) -> str:
        """A note for the page: the issuing organisation is suspended or deregistered (since …)."""
        state = self.issuer_status()
        if state is None or state["status"] == OrgStatus.ACTIVE:
            return ""
        since = state["since"][:10] if state["since"] else ""
        if state["status"] == OrgStatus.DEREGISTERED:
            if since:
                return _("The issuing organisation is deregistered since %(day)s.", day=since)
            return _("The issuing organisation is deregistered.")
        if since:
            return _("The issuing organisation is suspended since %(day)s.", day=since)
        return _("The issuing organisation is suspended.")

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "certificate": self.fields() or None,
            "issuer_status": self.issuer_status(),
        }


def activities_shown(cert: Certificate) -> bool:
    """Tell whether the certificate's volunteer chose to name its activities on public pages.

    Read at every verification, so a change of mind applies at once, to certificates already
    issued too. Without that choice (the default) only the totals are shown.
    """
    session = object_session(cert)
    if session is None:
        return False
    return bool(
        session.scalar(select(Volunteer.public_activities).where(Volunteer.id == cert.volunteer_id))
    )


def public_fields(cert: Certificate) -> dict[str, Any]:
    """Return what anyone may see of a certificate: masked name, no ID digits.

    The activities are named only when the volunteer chose so (`activities_shown`).
    """
    shown = activities_shown(cert)
    return {
        "number": number_display(cert.number),
        "volunteer_name": cert.volunteer_name_masked,
        "volunteer_number": cert.volunteer_number,
        "hours": format_hours(cert.total_minutes),
        "period_from": cert.period_from.isoformat(),
        "period_to": cert.period_to.isoformat(),
        "activities": [
            {"activity": a["activity"], "hours": format_hours(a["minutes"])}
            for a in (activities_of(cert) if shown else [])
        ],
        "activities_shown": shown,
        "issuer_name": cert.issuer_name,
        "issuer_uscc": cert.issuer_uscc,
        "issued_on": to_local(cert.issued_at).date().isoformat(),
        "status_reason": cert.status_reason if cert.status in _STOPPING else "",
        "issued_for": custodian_fields(cert),
    }


def presented_fields(cert: Certificate, presented: Presented) -> dict[str, Any]:
    """Return what a presentation showed: the always-visible claims and the disclosed ones only.

    Neither the volunteer's public-activities choice nor anything else stored about the
    certificate adds to it: an undisclosed claim is absent, not masked.
    """
    claims = presented.claims
    period = claims["period"]
    fields: dict[str, Any] = {
        "number": number_display(cert.number),
        "hours": claims["hours"],
        "period_from": period[0],
        "period_to": period[1],
        "issuer_name": claims["org"],
        "issuer_uscc": claims["uscc"],
        "issued_on": to_local(cert.issued_at).date().isoformat(),
        "status_reason": cert.status_reason if cert.status in _STOPPING else "",
        "presentation": True,
        "activities": [
            {"activity": a["activity"], "hours": a["hours"]} for a in claims.get("activities", [])
        ],
        "activities_withheld": presented.withheld_activities,
    }
    for claim, name in (
        ("name", "volunteer_name"),
        ("id_type", "id_type"),
        ("vno", "volunteer_number"),
    ):
        if claim in claims:
            fields[name] = claims[claim]
    return fields


def custodian_fields(cert: Certificate) -> dict[str, Any] | None:
    """Who issued a certificate for a deregistered organisation (None: the organisation did)."""
    if cert.custodian_kind is None:
        return None
    return {
        "by": cert.custodian_kind,
        "by_name": cert.custodian_name,
        "by_uscc": cert.custodian_uscc,
        "for_name": cert.issuer_name,
        "for_uscc": cert.issuer_uscc,
    }


def custodian_sentence(cert: Certificate) -> str:
    """Say who issued a certificate for a deregistered organisation, naming both."""
    if cert.custodian_kind == "successor":
        return _(
            "issued by %(by)s (%(by_uscc)s), successor of the deregistered organisation "
            "%(org)s (%(uscc)s), from that organisation's records",
            by=cert.custodian_name,
            by_uscc=cert.custodian_uscc or "",
            org=cert.issuer_name,
            uscc=cert.issuer_uscc,
        )
    return _(
        "issued by the platform for the deregistered organisation %(org)s (%(uscc)s), "
        "which has no successor, from that organisation's records",
        org=cert.issuer_name,
        uscc=cert.issuer_uscc,
    )


class _Pipeline:
    """Run the checks in order; the first failure decides the status, later checks do not run."""

    def __init__(self) -> None:
        self.checks: list[Check] = []
        self.status: str | None = None

    def passed(self, name: str, detail: str) -> None:
        self.checks.append(Check(name, True, detail))

    def failed(self, name: str, status: str, detail: str) -> None:
        self.checks.append(Check(name, False, detail))
        self.status = status

    def verdict(self, cert: Certificate | None) -> Verdict:
        done = {c.name for c in self.checks}
        for name in CHECK_NAMES:
            if name not in done:
                self.checks.append(Check(name, None, _("not checked")))
        order = {name: i for i, name in enumerate(CHECK_NAMES)}
        self.checks.sort(key=lambda c: order[c.name])
        return Verdict(self.status or VerificationStatus.VALID, self.checks, cert)


def verify_token(session: Session, token: str) -> Verdict:
    """Check a QR token: format, signature, key status, ledger, status, issuer, records.

    An SD-JWT presentation (it holds a '~') is checked the same way by `verify_presentation`.
    """
    if isinstance(token, str) and sdjwt.SEPARATOR in token:
        return verify_presentation(session, token)
    run = _Pipeline()
    try:
        decoded = signing.decode_compact_jws(token)
        number = decoded.payload.get("jti")
        if not isinstance(number, str) or len(number) != 17:
            raise MalformedToken("the token has no certificate number (jti)")
        normalize_certificate_number(number)
    except (MalformedToken, InvalidCertificateNumber) as exc:
        run.failed(
            "format",
            VerificationStatus.MALFORMED,
            _("not a certificate token: %(why)s", why=str(exc)),
        )
        return run.verdict(None)
    run.passed("format", _("a signed certificate token (JWS, EdDSA)"))
    return _check_signed(session, run, token, decoded, number)


def endorsement_problem(
    key: SigningKey,
    owner: Organisation | None,
    claims: dict[str, Any],
    signed_at: int | None = None,
) -> str:
    """Say why an organisation key may not vouch for these claims; "" when it may.

    The key must be endorsed for the organisation the token names (its USCC, or the successor's
    in `by` for a certificate issued for a deregistered organisation), and the signing
    time (the token's issue time, or `signed_at` for an SD-JWT signed after its certificate's
    issue, as the ledger recorded it) must lie in the endorsement's validity: from the key's
    making to its retirement. A compromised key is judged by the ledger rule instead.
    """
    if owner is None:
        return ""  # a root key: certificates from before organisation keys, or the platform's
    # the organisation the key must vouch for: a deregistered organisation's successor signs
    # what it issues for it (the `by` claim names it), any other organisation its own
    if vouching_uscc(claims) != owner.uscc:
        return _(
            "signed with a key the platform endorsed for another organisation (%(uscc)s)",
            uscc=owner.uscc,
        )
    if key.status == KeyStatus.COMPROMISED:
        return ""
    iat = claims.get("iat") if signed_at is None else signed_at
    if not isinstance(iat, int) or isinstance(iat, bool):
        return _("the token has no issue time (iat)")
    valid_from = int(key.created_at.timestamp())
    valid_until = int(math.ceil(key.retired_at.timestamp())) if key.retired_at else None
    if iat < valid_from or (valid_until is not None and iat > valid_until):
        return _(
            "signed at a time outside the period the platform endorsed this key for "
            "(%(start)s to %(end)s)",
            start=to_local(key.created_at).strftime("%Y-%m-%d %H:%M"),
            end=to_local(key.retired_at).strftime("%Y-%m-%d %H:%M") if key.retired_at else "",
        )
    return ""


def _issuer_key_for(session: Session, kid: str, payload: dict[str, Any]) -> SigningKey | None:
    """Return the published key a certificate's signature (token or SD-JWT) must verify with."""
    return get_key(session, kid)


def _endorsed(
    session: Session,
    run: _Pipeline,
    key: SigningKey,
    claims: dict[str, Any],
    signed_at: int | None = None,
) -> bool:
    """Pass or fail the signature check on the key's endorsement (organisation keys)."""
    kid = key.kid
    owner = session.get(Organisation, key.organisation_id) if key.organisation_id else None
    problem = endorsement_problem(key, owner, claims, signed_at)
    if problem:
        run.failed("signature", VerificationStatus.INVALID_SIGNATURE, problem)
        return False
    if owner is not None:
        run.passed(
            "signature",
            _(
                "signature valid: the key %(kid)s… of %(org)s, endorsed by this service",
                kid=kid[:8],
                org=owner.name,
            ),
        )
    else:
        run.passed("signature", _("signature valid (key %(kid)s…)", kid=kid[:8]))
    return True


def _check_signed(
    session: Session, run: _Pipeline, token: str, decoded: Any, number: str
) -> Verdict:
    kid = decoded.header["kid"]
    key = _issuer_key_for(session, kid, decoded.payload)
    if key is None:
        run.failed(
            "signature",
            VerificationStatus.INVALID_SIGNATURE,
            _("signed by a key this service never published"),
        )
        return run.verdict(None)
    try:
        signing.verify_compact_jws(token, lambda k: public_key_of(key) if k == key.kid else None)
    except (InvalidSignature, CryptoError):
        run.failed(
            "signature",
            VerificationStatus.INVALID_SIGNATURE,
            _("the signature does not match the content"),
        )
        return run.verdict(None)
    if not _endorsed(session, run, key, decoded.payload):
        return run.verdict(None)

    entry = ledger_entry(session, number)
    cert = session.scalars(select(Certificate).where(Certificate.number == number)).first()
    in_ledger = (
        entry is not None
        and cert is not None
        and cert.token == token
        and json.loads(entry.details).get("content_sha256") == content_hash(token)
    )
    return _check_issued(session, run, key, entry if in_ledger else None, cert)


def _check_issued(
    session: Session,
    run: _Pipeline,
    key: SigningKey,
    entry: AuditEntry | None,
    cert: Certificate | None,
    signed: AuditEntry | None = None,
) -> Verdict:
    """Run the checks after the signature: key status, ledger, revocation, issuer, records.

    `entry` is the certificate's issuance entry when the ledger recorded exactly what was
    presented, else None; `signed` the entry that recorded that signature, when a later one
    (an SD-JWT signed after issuance).
    """
    in_ledger = entry is not None and cert is not None
    signed_entry = signed if signed is not None else entry
    if key.status == KeyStatus.COMPROMISED:
        if (
            in_ledger
            and signed_entry is not None
            and key.compromised_at is not None
            and signed_entry.created_at < key.compromised_at
        ):
            run.passed(
                "key_status", _("the key was compromised later; this certificate was issued before")
            )
        else:
            run.failed(
                "key_status", VerificationStatus.KEY_COMPROMISED, _("signed with a compromised key")
            )
            return run.verdict(None)
    else:
        run.passed("key_status", _("key %(status)s", status=label(KEY_STATUS, key.status)))
    if not in_ledger:
        run.failed(
            "ledger",
            VerificationStatus.UNKNOWN,
            _("not in the issuance ledger: this certificate was never issued here"),
        )
        return run.verdict(None)
    assert entry is not None and cert is not None  # in_ledger says so
    run.passed(
        "ledger",
        _(
            "issued on %(day)s, entry %(id)d of the ledger",
            day=to_local(entry.created_at).date().isoformat(),
            id=entry.id,
        ),
    )
    if cert.status in _STOPPING:
        messages: dict[str, str] = {
            CertificateStatus.REVOKED: _("revoked: %(reason)s"),
            CertificateStatus.SUSPENDED: _("suspended while under review: %(reason)s"),
            CertificateStatus.SUPERSEDED: _("superseded: %(reason)s"),
        }
        run.failed(
            "revocation", cert.status, messages[cert.status] % {"reason": cert.status_reason}
        )
        return run.verdict(cert)
    run.passed("revocation", _("not revoked or suspended"))
    # An organisation's later suspension or deregistration stops new issuance only: what it
    # certified before stays valid (a case about some records holds only their certificates).
    org = session.get(Organisation, cert.organisation_id)
    if org is not None and cert.custodian_kind is not None:
        # issued after the deregistration by who answers for the organisation's records
        if org.status != OrgStatus.DEREGISTERED:  # pragma: no cover - issuance refuses it
            run.failed("issuer", VerificationStatus.ISSUER_SUSPENDED, _("not deregistered"))
            return run.verdict(cert)
        run.passed("issuer", custodian_sentence(cert))
    elif (
        org is not None
        and org.status != OrgStatus.ACTIVE
        and org.status_since is not None
        and cert.issued_at >= org.status_since
    ):  # issuance is refused then; a certificate that claims otherwise is not trusted
        run.failed(
            "issuer",
            VerificationStatus.ISSUER_SUSPENDED,
            _(
                "issued after the issuing organisation became %(s)s",
                s=label(ORG_STATUS, org.status),
            ),
        )
        return run.verdict(cert)
    elif org is not None and org.status != OrgStatus.ACTIVE:
        run.passed(
            "issuer",
            _(
                "the issuing organisation is %(s)s now; this certificate was issued before",
                s=label(ORG_STATUS, org.status),
            ),
        )
    else:
        run.passed("issuer", _("the issuing organisation is active"))
    if not records_intact(session, cert):
        run.failed(
            "records",
            VerificationStatus.SUPERSEDED,
            _("the records it covers have changed since issue"),
        )
        return run.verdict(cert)
    run.passed("records", _("the %(n)d records it covers are unchanged", n=cert.record_count))
    return run.verdict(cert)


def verify_presentation(session: Session, text: str) -> Verdict:
    """Check an SD-JWT presentation: its form and disclosures, its signature, then the ledger
    and status checks of the certificate its jti names, as for a token."""
    run = _Pipeline()
    try:
        decoded, _disclosures = sdjwt.decode_sd_jwt(text)
        number = decoded.payload.get("jti")
        if not isinstance(number, str) or len(number) != 17:
            raise MalformedToken("the SD-JWT has no certificate number (jti)")
        normalize_certificate_number(number)
        sdjwt.resolve_disclosures(text, decoded.payload)
    except (MalformedToken, InvalidCertificateNumber) as exc:
        run.failed(
            "format",
            VerificationStatus.MALFORMED,
            _("not a certificate presentation: %(why)s", why=str(exc)),
        )
        return run.verdict(None)
    run.passed(
        "format",
        _("a certificate presentation (SD-JWT) with %(n)d disclosures", n=len(_disclosures)),
    )
    kid = decoded.header["kid"]
    key = _issuer_key_for(session, kid, decoded.payload)
    if key is None:
        run.failed(
            "signature",
            VerificationStatus.INVALID_SIGNATURE,
            _("signed by a key this service never published"),
        )
        return run.verdict(None)
    try:
        verified = sdjwt.verify_sd_jwt(text, lambda k: public_key_of(key) if k == key.kid else None)
    except CryptoError:
        run.failed(
            "signature",
            VerificationStatus.INVALID_SIGNATURE,
            _("the signature does not match the content"),
        )
        return run.verdict(None)
    entry = ledger_entry(session, number)
    cert = session.scalars(select(Certificate).where(Certificate.number == number)).first()
    signed = (
        sd_jwt_ledger_entry(session, cert, entry)
        if entry is not None
        and cert is not None
        and cert.sd_jwt is not None
        and sdjwt.issuer_jwt_of(cert.sd_jwt) == verified.issuer_jwt
        else None
    )
    # an SD-JWT signed after its certificate (one issued before SD-JWTs) is judged by the time
    # the ledger recorded its signing, not by the certificate's issue time it carries
    signed_at = (
        int(signed.created_at.timestamp())
        if signed is not None and entry is not None and signed.id != entry.id
        else None
    )
    if not _endorsed(session, run, key, decoded.payload, signed_at):
        return run.verdict(None)
    verdict = _check_issued(session, run, key, entry if signed is not None else None, cert, signed)
    signed_items = verified.payload.get("activities")
    shown_items = verified.claims.get("activities")
    withheld = (
        len(signed_items) - len(shown_items)
        if isinstance(signed_items, list) and isinstance(shown_items, list)
        else 0
    )
    verdict.presented = Presented(verified.claims, len(verified.disclosures), withheld)
    return verdict


def verify_number(session: Session, text: str) -> Verdict:
    """Check a typed certificate number: the same checks, on the token the service holds for it."""
    run = _Pipeline()
    try:
        number = normalize_certificate_number(text).replace("-", "")
    except InvalidCertificateNumber as exc:
        run.failed("format", VerificationStatus.MALFORMED, exc.message)
        return run.verdict(None)
    cert = session.scalars(select(Certificate).where(Certificate.number == number)).first()
    if cert is None:
        run.passed("format", _("a well-formed certificate number"))
        run.failed(
            "ledger",
            VerificationStatus.UNKNOWN,
            _("no certificate with this number was issued here"),
        )
        return run.verdict(None)
    run.passed("format", _("a well-formed certificate number"))
    decoded = signing.decode_compact_jws(cert.token)
    return _check_signed(session, run, cert.token, decoded, number)


def record_verification(session: Session, verdict: Verdict, channel: str) -> None:
    """Count a verification of a certificate: time, channel, outcome; nothing about the verifier."""
    session.add(
        VerificationEvent(
            certificate_id=verdict.certificate.id if verdict.certificate is not None else None,
            channel=channel,
            status=verdict.status,
        )
    )
    session.flush()


def record_verifications(session: Session, verdicts: list[Verdict], channel: str) -> None:
    """Count a batch of verifications at once (one flush, not one per certificate)."""
    session.add_all(
        VerificationEvent(
            certificate_id=v.certificate.id if v.certificate is not None else None,
            channel=channel,
            status=v.status,
        )
        for v in verdicts
    )
    session.flush()


def identity_matches(
    session: Session, cert: Certificate, *, id_number: str = "", name: str = ""
) -> bool:
    """Tell whether a typed ID number or full name is the holder's; nothing else is revealed."""
    volunteer = session.get(Volunteer, cert.volunteer_id)
    if volunteer is None:
        return False
    if id_number.strip():
        from verifier.identifiers import normalize_id_number

        try:
            number = normalize_id_number(volunteer.id_type, id_number)
        except ValidationError:
            return False
        return volunteer.id_lookup in lookup_keys(volunteer.id_type, number)
    if name.strip():
        return name.strip() == cert.volunteer_name
    raise ValidationError(
        _("type the ID number or the full name the holder showed you"),
        field="id_number",
        rule="required",
    )

"""Issue certificates from records, change their status, and keep the issuance ledger."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verifier.audit.models import AuditEntry
from verifier.audit.services import record_event
from verifier.auth.models import User
from verifier.certificates.models import Certificate, CertificateRecord, VerificationEvent
from verifier.certificates.numbers import (
    InvalidCertificateNumber,
    new_certificate_number,
    normalize_certificate_number,
)
from verifier.certificates.printable import (
    printed_handler,
    refuse_unprintable_issuer,
    refuse_unprintable_volunteer,
)
from verifier.certificates.qr import fits as qr_fits
from verifier.certificates.sdjwt import sd_jwt_hash, sign_sd_jwt
from verifier.certificates.states import CertificateStatus
from verifier.crypto import signing
from verifier.db import utcnow
from verifier.errors import Conflict, FieldError, Forbidden, NotFound, ValidationError
from verifier.identifiers import mask_id_number_middle, mask_name
from verifier.keys.services import (
    active_key,
    get_key,
    organisation_key,
    private_key_of,
    signing_key_for,
)
from verifier.orgs.models import Organisation
from verifier.orgs.services import require_active
from verifier.orgs.succession import SUCCESSOR, acting_details, answers_for, custodian_kind
from verifier.paging import paginate
from verifier.records.models import RecordStatus, ServiceRecord
from verifier.text import search_text
from verifier.timeutil import format_hours
from verifier.volunteers.locks import lock_volunteer
from verifier.volunteers.models import Volunteer
from verifier.volunteers.services import is_member, reveal_id_number, surviving_volunteer

STATUS_LIST_LENGTH = 131_072  # entries per Bitstring Status List (16 KiB), the minimum for privacy
ISSUE_ACTION = "certificate.issue"


@dataclass
class IssueRequest:
    volunteer_id: int
    record_ids: list[int] | None = None
    period_from: date | None = None
    period_to: date | None = None
    handler: str = ""


def number_display(number: str) -> str:
    """Group a stored 17-character number for reading (ABCD-EFGH-JKMN-PQRS-T)."""
    return "-".join(number[i : i + 4] for i in range(0, len(number), 4))


def records_digest(rows: Iterable[tuple[int, int, str]]) -> str:
    """Hash the covered records' ids, revisions and statuses, so later changes are detectable."""
    text = "\n".join(f"{rid}:{rev}:{status}" for rid, rev, status in sorted(rows))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _select_records(
    session: Session, org: Organisation, volunteer: Volunteer, request: IssueRequest
) -> list[ServiceRecord]:
    stmt = (
        select(ServiceRecord)
        .where(ServiceRecord.organisation_id == org.id, ServiceRecord.volunteer_id == volunteer.id)
        .execution_options(populate_existing=True)  # as committed now, not as read earlier
    )
    if request.record_ids:
        ids = sorted(set(request.record_ids))
        rows = {r.id: r for r in session.scalars(stmt.where(ServiceRecord.id.in_(ids)))}
        for rid in ids:
            record = rows.get(rid)
            if record is None:
                raise ValidationError(
                    _(
                        "record %(id)d is not a record of this volunteer kept by your organisation",
                        id=rid,
                    ),
                    field="record_ids",
                    rule="own_record",
                )
            if record.status != RecordStatus.ACTIVE:
                raise ValidationError(
                    _("record %(id)d has been voided and cannot be certified", id=rid),
                    field="record_ids",
                    rule="not_voided",
                )
        records = [rows[rid] for rid in ids]
    else:
        if request.period_from and request.period_to and request.period_from > request.period_to:
            raise ValidationError(
                _("the period ends before it starts"), field="period_to", rule="period_order"
            )
        stmt = stmt.where(ServiceRecord.status == RecordStatus.ACTIVE)
        if request.period_from:
            stmt = stmt.where(ServiceRecord.service_date >= request.period_from)
        if request.period_to:
            stmt = stmt.where(ServiceRecord.service_date <= request.period_to)
        records = list(session.scalars(stmt.order_by(ServiceRecord.started_at)))
    held = held_record_ids(session, [r.id for r in records])
    if held:
        raise Conflict(
            _(
                "record %(id)d is covered by a certificate a supervision case holds; it can be "
                "certified again once the case is decided",
                id=min(held),
            )
        )
    disputed = [r.id for r in records if r.certificate_hold]
    if disputed:
        message = _(
            "record %(id)d is disputed by the volunteer (they say they were not there); it can "
            "be certified once your organisation has answered the dispute",
            id=min(disputed),
        )
        raise Conflict(message, errors=[FieldError("record_ids", "record_disputed", message)])
    if not records:
        raise ValidationError(
            _("there are no valid records of this volunteer to certify in that selection"),
            field="record_ids" if request.record_ids else "period_from",
            rule="no_records",
        )
    return records


def held_record_ids(session: Session, record_ids: list[int]) -> set[int]:
    """Return those of the records that a certificate under a supervision case's hold covers.

    They are not certified anew until the case is decided: a fresh certificate would otherwise
    stand where the regulator suspended the old one.
    """
    found: set[int] = set()
    for start in range(0, len(record_ids), 900):
        chunk = record_ids[start : start + 900]
        found.update(
            session.scalars(
                select(CertificateRecord.record_id)
                .join(Certificate, Certificate.id == CertificateRecord.certificate_id)
                .where(Certificate.regulator_hold.is_(True), CertificateRecord.record_id.in_(chunk))
            )
        )
    return found


def _unused_status_index(session: Session) -> int:
    used = session.scalar(select(func.count()).select_from(Certificate)) or 0
    lists = 1 + used // (STATUS_LIST_LENGTH // 2)  # keep every list at most half full
    for _attempt in range(50):
        index = secrets.randbelow(STATUS_LIST_LENGTH * lists)
        if session.scalar(select(Certificate.id).where(Certificate.status_index == index)) is None:
            return index
    raise Conflict(_("could not allocate a status list entry; try again"))  # pragma: no cover


def _unused_number(session: Session) -> str:
    for _attempt in range(10):
        number = new_certificate_number().replace("-", "")
        if session.scalar(select(Certificate.id).where(Certificate.number == number)) is None:
            return number
    raise Conflict(_("could not allocate a certificate number; try again"))  # pragma: no cover


def token_payload(cert: Certificate, base_url: str) -> dict[str, Any]:
    """Return the claims signed into the QR token: what a verifier reads offline; no ID number."""
    return {
        "jti": cert.number,
        "iss": base_url,
        "iat": int(cert.issued_at.timestamp()),
        "hours": format_hours(cert.total_minutes),
        "period": [cert.period_from.isoformat(), cert.period_to.isoformat()],
        "org": cert.issuer_name,
        "uscc": cert.issuer_uscc,
        "name": cert.volunteer_name_masked,
        "vno": cert.volunteer_number,
    } | custodian_claim(cert)


def custodian_claim(cert: Certificate) -> dict[str, str]:
    """Return the `by` claim of a certificate issued for a deregistered organisation: the
    successor's USCC, or "platform"; nothing for one the organisation issued itself.

    `org` and `uscc` stay the deregistered organisation's: the records are its own.
    """
    if cert.custodian_kind is None:
        return {}
    return {"by": cert.custodian_uscc or "platform"}


def vouching_uscc(claims: dict[str, Any]) -> Any:
    """The organisation whose key must have signed a token's claims: the successor named in
    `by` for a deregistered organisation's records, else the organisation in `uscc` (a pure
    rule outside verifiers follow too: docs/verification.md)."""
    by = claims.get("by")
    return by if isinstance(by, str) and by != "platform" else claims.get("uscc")


@dataclass
class Signer:
    """The organisation's active key, decrypted once, and the issuer URL that tokens carry.

    Each organisation signs what it certifies with its own key, endorsed by the platform's root
    (made and endorsed on its first issuance): docs/verification.md, "Two levels of keys".
    """

    kid: str
    private_key: Any
    base_url: str

    @classmethod
    def current(cls, session: Session, org: Organisation) -> Signer:
        key = organisation_key(session, org)
        return cls(key.kid, private_key_of(key), current_app.config["BASE_URL"])

    @classmethod
    def for_acting(cls, session: Session, org: Organisation) -> Signer:
        """Who signs what is issued for a deregistered organisation: its active successor with
        its own key, else the platform with its root key (the token's `by` names which)."""
        if custodian_kind(org) == SUCCESSOR and org.successor is not None:
            key = organisation_key(session, org.successor)
        else:
            key = active_key(session)
        return cls(key.kid, private_key_of(key), current_app.config["BASE_URL"])

    @classmethod
    def for_existing(cls, session: Session, cert: Certificate) -> Signer:
        """Who signs something new about an issued certificate (its SD-JWT, made later).

        The active key of the organisation whose key signed its token (the certificate's own, or
        the successor that issued it) when it still has or may make one; otherwise the platform's
        active root key, the issuer of the certificates from before organisation keys.
        """
        token_key = get_key(session, cert.kid)
        # the key's owner: the certificate's organisation, or the successor that issued it
        org = (
            session.get(Organisation, token_key.organisation_id)
            if token_key is not None and token_key.organisation_id is not None
            else None
        )
        key = signing_key_for(session, org) if org is not None else None
        key = key or active_key(session)
        return cls(key.kid, private_key_of(key), current_app.config["BASE_URL"])


def build_certificate(
    org: Organisation,
    volunteer: Volunteer,
    records: list[ServiceRecord],
    *,
    period_from: date | None,
    period_to: date | None,
    handler: str,
    actor: User | None,
    signer: Signer,
    number: str,
    status_index: int,
    acting: bool = False,
) -> Certificate:
    """Build and sign (but do not add) a certificate over records already checked.

    With acting, the deregistered organisation's successor (or the platform) issues it.
    """
    activities: dict[str, list[int]] = {}
    for record in records:
        entry = activities.setdefault(record.activity, [0, 0])
        entry[0] += record.minutes
        entry[1] += 1
    cert = Certificate(
        number=number,
        organisation_id=org.id,
        volunteer_id=volunteer.id,
        status=CertificateStatus.VALID,
        period_from=period_from or min(r.service_date for r in records),
        period_to=period_to or max(r.service_date for r in records),
        total_minutes=sum(r.minutes for r in records),
        record_count=len(records),
        activities=json.dumps(
            [
                {"activity": a, "minutes": m, "records": n}
                for a, (m, n) in sorted(activities.items())
            ],
            ensure_ascii=False,
        ),
        volunteer_name=volunteer.name,
        volunteer_name_masked=mask_name(volunteer.name),
        volunteer_number=volunteer.volunteer_number,
        id_type=volunteer.id_type,
        id_masked=volunteer.id_masked,
        holder_id_masked=mask_id_number_middle(reveal_id_number(volunteer)),
        issuer_name=org.name,
        issuer_uscc=org.uscc,
        responsible_person=org.responsible_person,
        handler=handler,
        contact=" ".join(x for x in (org.contact_name, org.contact_phone) if x)[:100],
        issued_at=utcnow().replace(microsecond=0),
        issued_by_id=actor.id if actor is not None else None,
        kid=signer.kid,
        token="",
        content_sha256="",
        records_digest=records_digest((r.id, r.revision, r.status) for r in records),
        status_index=status_index,
    )
    if acting:
        cert.custodian_kind = custodian_kind(org)
        heir = org.successor if cert.custodian_kind == SUCCESSOR else None
        if heir is not None:  # who answers for the certificate now: the successor
            cert.custodian_uscc, cert.custodian_name = heir.uscc, heir.name
            cert.responsible_person = heir.responsible_person
            cert.contact = " ".join(x for x in (heir.contact_name, heir.contact_phone) if x)[:100]
        else:  # the platform: no person in charge of the deregistered organisation answers
            cert.responsible_person, cert.contact = "—", ""
    cert.token = signing.sign_compact_jws(
        token_payload(cert, signer.base_url), signer.private_key, signer.kid
    )
    cert.content_sha256 = content_hash(cert.token)
    cert.sd_jwt = sign_sd_jwt(
        cert, base_url=signer.base_url, private_key=signer.private_key, kid=signer.kid
    )
    if not qr_fits(f"{signer.base_url}/v/{cert.token}"):
        raise ValidationError(
            _(
                "the organisation's name is too long for the certificate's QR code to stay "
                "readable on paper; register a shorter name"
            ),
            field="issuer_name",
            rule="qr_capacity",
        )
    return cert


def ledger_details(cert: Certificate) -> dict[str, Any]:
    """Return what the issuance ledger holds about a certificate."""
    return {
        "number": cert.number,
        "content_sha256": cert.content_sha256,
        "kid": cert.kid,
        "minutes": cert.total_minutes,
        "records": cert.record_count,
        **({"sd_jwt_sha256": sd_jwt_hash(cert.sd_jwt)} if cert.sd_jwt else {}),
    }


def issue_certificate(
    session: Session, org: Organisation, request: IssueRequest, actor: User
) -> Certificate:
    """Issue a signed certificate, free of charge, from the organisation's own valid records.

    A deregistered organisation's records are certified by who answers for it: its successor's
    users, else a platform administrator (verifier.orgs.succession).
    """
    acting = answers_for(actor, org)
    if not acting and (not actor.is_org_user or actor.organisation_id != org.id):
        raise Forbidden(_("only the organisation that keeps the records may certify them"))
    if not acting:
        require_active(org)
    volunteer = session.get(Volunteer, request.volunteer_id)
    if volunteer is None or not is_member(session, org.id, volunteer.id):
        raise NotFound(_("no such volunteer"))
    # what the certificate prints: real names, and characters the font can draw
    handler = printed_handler(request.handler, actor)
    refuse_unprintable_issuer(org)
    # Serialise with corrections and voids of this volunteer's records: a correction committed
    # first is read below; one committed after sees this certificate and supersedes it.
    lock_volunteer(session, volunteer.id)
    records = _select_records(session, org, volunteer, request)
    refuse_unprintable_volunteer(volunteer, records)
    cert = build_certificate(
        org,
        volunteer,
        records,
        period_from=request.period_from,
        period_to=request.period_to,
        handler=handler,
        actor=actor,
        # acting for a deregistered organisation: the successor signs with its own key, the
        # platform (no successor) with its root key
        signer=Signer.for_acting(session, org) if acting else Signer.current(session, org),
        number=_unused_number(session),
        status_index=_unused_status_index(session),
        acting=acting,
    )
    session.add(cert)
    session.flush()
    session.add_all(
        CertificateRecord(certificate_id=cert.id, record_id=r.id, revision=r.revision)
        for r in records
    )
    session.flush()
    record_event(
        session,
        actor,
        ISSUE_ACTION,
        "certificate",
        cert.number,
        organisation_id=org.id,
        details=ledger_details(cert) | acting_details(actor, org),
    )
    return cert


def content_hash(token: str) -> str:
    """Return the SHA-256 (hex) of a token's signed content: its header and payload parts."""
    signing_input = token.rsplit(".", 1)[0]
    return hashlib.sha256(signing_input.encode("ascii")).hexdigest()


def ledger_entry(session: Session, number: str) -> AuditEntry | None:
    """Return the ledger entry that recorded the issuance of a certificate number, if any."""
    return session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == ISSUE_ACTION,
            AuditEntry.object_type == "certificate",
            AuditEntry.object_id == number,
        )
    ).first()


def visible_certificate(session: Session, actor: User, number: str) -> Certificate:
    """Return a certificate the actor may manage or read, or raise NotFound.

    Organisation users: their organisation's; volunteers: their own; regulators: any.
    """
    try:
        canonical = normalize_certificate_number(number).replace("-", "")
    except InvalidCertificateNumber:
        raise NotFound(_("no such certificate")) from None
    cert = session.scalars(select(Certificate).where(Certificate.number == canonical)).first()
    if cert is None or (
        actor.is_org_user
        and cert.organisation_id != actor.organisation_id
        and not answers_for(actor, cert.organisation)  # a deregistered one's successor
    ):
        raise NotFound(_("no such certificate"))
    if actor.is_volunteer:
        # a volunteer reaches only their own: the certificates of their person (a merged-away
        # row's account stands for the row it was merged into, where the certificates moved)
        own = surviving_volunteer(session, actor.volunteer_id) if actor.volunteer_id else None
        if own is None or cert.volunteer_id != own.id:
            raise NotFound(_("no such certificate"))
    return cert


def activities_of(cert: Certificate) -> list[dict[str, Any]]:
    """Return the per-activity totals of a certificate."""
    return json.loads(cert.activities)


def verify_url(cert: Certificate) -> str:
    return f"{current_app.config['BASE_URL']}/v/{cert.token}"


def list_certificates(
    session: Session,
    actor: User,
    *,
    query: str = "",
    status: str = "",
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[Certificate], int]:
    """Return one page of the certificates the actor may see, newest first."""
    stmt = select(Certificate)
    if actor.is_org_user:
        stmt = stmt.where(Certificate.organisation_id == actor.organisation_id)
    if status:
        stmt = stmt.where(Certificate.status == status)
    q = search_text(query)  # characters that can never match (a NUL) never reach the database
    if q:
        compact = q.replace("-", "").replace(" ", "").upper()
        stmt = stmt.where(
            (Certificate.number == compact)
            | (Certificate.volunteer_number == compact)
            | (Certificate.volunteer_name.contains(q, autoescape=True))
        )
    return paginate(session, stmt, Certificate.id.desc(), page=page, per_page=per_page)


def certifiable_records(
    session: Session, org: Organisation, volunteer_id: int
) -> list[ServiceRecord]:
    """Return a volunteer's valid records kept by the organisation, oldest first."""
    return list(
        session.scalars(
            select(ServiceRecord)
            .where(
                ServiceRecord.organisation_id == org.id,
                ServiceRecord.volunteer_id == volunteer_id,
                ServiceRecord.status == RecordStatus.ACTIVE,
            )
            .order_by(ServiceRecord.started_at)
        )
    )


def verification_counts(session: Session, certificate_ids: list[int]) -> dict[int, dict[str, int]]:
    """Return, per certificate, how often it was verified by each channel."""
    counts: dict[int, dict[str, int]] = {cid: {} for cid in certificate_ids}
    if not certificate_ids:
        return counts
    rows = session.execute(
        select(VerificationEvent.certificate_id, VerificationEvent.channel, func.count())
        .where(VerificationEvent.certificate_id.in_(certificate_ids))
        .group_by(VerificationEvent.certificate_id, VerificationEvent.channel)
    )
    for cid, channel, n in rows:
        counts[cid][channel] = n  # type: ignore[index]  # cid is one of certificate_ids, never None
    return counts

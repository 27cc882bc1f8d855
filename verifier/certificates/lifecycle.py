"""A certificate after issue: suspension, revocation, reinstatement, supersession, re-issue."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import User
from verifier.certificates.models import Certificate, CertificateRecord
from verifier.certificates.services import (
    IssueRequest,
    issue_certificate,
    number_display,
    records_digest,
)
from verifier.db import utcnow
from verifier.errors import Conflict, Forbidden, ValidationError
from verifier.labels import CERTIFICATE_STATUS, label
from verifier.orgs.models import Organisation
from verifier.records.models import ServiceRecord
from verifier.text import require_reason


def _require_manager(cert: Certificate, actor: User) -> None:
    if not actor.is_org_user or actor.organisation_id != cert.organisation_id:
        raise Forbidden(_("only the issuing organisation may change a certificate"))


def _reason(reason: str) -> str:
    return require_reason(reason)


def set_status(
    session: Session,
    cert: Certificate,
    status: str,
    reason: str,
    actor: User | None,
    *,
    by_regulator: bool = False,
) -> Certificate:
    """Move a certificate between valid, suspended and revoked, with a reason, on the ledger."""
    if not by_regulator:
        assert actor is not None
        _require_manager(cert, actor)
    reason = _reason(reason) if status != "valid" else (reason or "").strip()[:500]
    allowed = {
        "revoked": {"valid", "suspended", "superseded"},
        "suspended": {"valid"},
        "valid": {"suspended"},
    }
    if status not in allowed:
        raise ValidationError(_("unknown status"), field="status", rule="status")
    if cert.status not in allowed[status]:
        raise Conflict(
            _(
                "a %(current)s certificate cannot become %(new)s",
                current=label(CERTIFICATE_STATUS, cert.status),
                new=label(CERTIFICATE_STATUS, status),
            )
        )
    if status == "valid" and not records_intact(session, cert):
        status = "superseded"
        reason = _("the records it covers changed while it was suspended")
    old = cert.status
    cert.status = status
    cert.status_reason = reason
    cert.status_changed_at = utcnow()
    session.flush()
    action = {
        "revoked": "certificate.revoke",
        "suspended": "certificate.suspend",
        "valid": "certificate.reinstate",
        "superseded": "certificate.supersede",
    }[status]
    record_event(
        session,
        actor,
        action,
        "certificate",
        cert.number,
        organisation_id=cert.organisation_id,
        details={"from": old, "to": status, "reason": reason},
    )
    return cert


def covered_state(session: Session, cert: Certificate) -> list[tuple[int, int, str]]:
    """Return (id, revision, status) of the records a certificate covers, as they are now."""
    return [
        (rid, rev, status)
        for rid, rev, status in session.execute(
            select(ServiceRecord.id, ServiceRecord.revision, ServiceRecord.status)
            .join(CertificateRecord, CertificateRecord.record_id == ServiceRecord.id)
            .where(CertificateRecord.certificate_id == cert.id)
        )
    ]


def records_intact(session: Session, cert: Certificate) -> bool:
    """Tell whether the covered records are still exactly as they were at issuance."""
    return records_digest(covered_state(session, cert)) == cert.records_digest


def supersede_for_record(
    session: Session, record: ServiceRecord, actor: User | None
) -> list[Certificate]:
    """Mark superseded every live certificate covering a record that was corrected or voided."""
    certs = list(
        session.scalars(
            select(Certificate)
            .join(CertificateRecord, CertificateRecord.certificate_id == Certificate.id)
            .where(
                CertificateRecord.record_id == record.id,
                Certificate.status.in_(("valid", "suspended")),
            )
        )
    )
    for cert in certs:
        old = cert.status
        cert.status = "superseded"
        cert.status_reason = _(
            "record %(id)d was changed (revision %(rev)d)", id=record.id, rev=record.revision
        )
        cert.status_changed_at = utcnow()
        record_event(
            session,
            actor,
            "certificate.supersede",
            "certificate",
            cert.number,
            organisation_id=cert.organisation_id,
            details={"from": old, "record_id": record.id, "revision": record.revision},
        )
    session.flush()
    return certs


def reissue(session: Session, cert: Certificate, actor: User) -> Certificate:
    """Issue a fresh certificate over the same records as they are now (voided ones dropped)."""
    _require_manager(cert, actor)
    if cert.status != "superseded":
        raise Conflict(
            _(
                "only a superseded certificate is re-issued; this one is %(s)s",
                s=label(CERTIFICATE_STATUS, cert.status),
            )
        )
    if cert.superseded_by_id is not None:
        successor = session.get(Certificate, cert.superseded_by_id)
        raise Conflict(
            _(
                "this certificate was already re-issued as %(number)s",
                number=number_display(successor.number) if successor else "?",
            )
        )
    ids = [rid for rid, _rev, status in covered_state(session, cert) if status == "active"]
    if not ids:
        raise ValidationError(
            _("every record this certificate covered has been voided"),
            field="record_ids",
            rule="no_records",
        )
    org = session.get(Organisation, cert.organisation_id)
    new = issue_certificate(
        session,
        org,
        IssueRequest(volunteer_id=cert.volunteer_id, record_ids=ids, handler=cert.handler),
        actor,
    )
    cert.superseded_by_id = new.id
    session.flush()
    return new


def lineage(session: Session, cert: Certificate) -> tuple[Certificate | None, Certificate | None]:
    """Return the certificate this one was re-issued from, and the one re-issued in its place."""
    predecessor = session.scalars(
        select(Certificate).where(Certificate.superseded_by_id == cert.id)
    ).first()
    successor = session.get(Certificate, cert.superseded_by_id) if cert.superseded_by_id else None
    return predecessor, successor

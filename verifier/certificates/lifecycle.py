"""A certificate after issue: suspension, revocation, reinstatement, supersession, re-issue."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from verifier.audit.services import record_event
from verifier.auth.models import User
from verifier.certificates import states
from verifier.certificates.labels import CERTIFICATE_STATUS
from verifier.certificates.models import Certificate, CertificateRecord
from verifier.certificates.services import (
    IssueRequest,
    issue_certificate,
    number_display,
    records_digest,
)
from verifier.certificates.states import CertificateStatus
from verifier.db import utcnow
from verifier.errors import Conflict, Forbidden, ValidationError
from verifier.labels import label
from verifier.orgs.models import Organisation
from verifier.orgs.services import require_active
from verifier.orgs.succession import answers_for
from verifier.records.models import RecordStatus, ServiceRecord
from verifier.text import require_reason
from verifier.volunteers.locks import lock_volunteer


def _require_manager(cert: Certificate, actor: User) -> None:
    if not actor.is_org_user or actor.organisation_id != cert.organisation_id:
        raise Forbidden(_("only the issuing organisation may change a certificate"))


def _require_reissuer(cert: Certificate, actor: User) -> None:
    """The issuing organisation, or who answers for it once it is deregistered."""
    if not answers_for(actor, cert.organisation):
        _require_manager(cert, actor)


def _reason(reason: str) -> str:
    return require_reason(reason)


def lock_certificate(session: Session, cert: Certificate) -> Certificate:
    """Lock a certificate's row until the end of the transaction and read it as it is now.

    Every status change goes through this lock, so two changes sent at the same moment are
    applied one after the other, the second seeing the first's result (SQLite serialises
    writers by itself). Certificates are always locked in id order by code that locks several.
    """
    return session.scalars(
        select(Certificate)
        .where(Certificate.id == cert.id)
        .options(lazyload(Certificate.organisation))
        .with_for_update(of=Certificate)
        .execution_options(populate_existing=True)
    ).one()


def _refuse_transition(cert: Certificate, status: str) -> Conflict:
    return Conflict(
        _(
            "a %(current)s certificate cannot become %(new)s",
            current=label(CERTIFICATE_STATUS, cert.status),
            new=label(CERTIFICATE_STATUS, status),
        )
    )


def _write_status(
    session: Session,
    cert: Certificate,
    status: str,
    reason: str,
    actor: User | None,
    **details: Any,
) -> None:
    old = cert.status
    if not states.may_follow(old, status):
        raise _refuse_transition(cert, status)
    cert.status = status
    cert.status_reason = reason
    cert.status_changed_at = utcnow()
    session.flush()
    record_event(
        session,
        actor,
        _ACTIONS[status],
        "certificate",
        cert.number,
        organisation_id=cert.organisation_id,
        details={"from": old, "to": status, "reason": reason, **details},
    )


_ACTIONS: dict[str, str] = {
    CertificateStatus.REVOKED: "certificate.revoke",
    CertificateStatus.SUSPENDED: "certificate.suspend",
    CertificateStatus.VALID: "certificate.reinstate",
    CertificateStatus.SUPERSEDED: "certificate.supersede",
}


def set_status(
    session: Session,
    cert: Certificate,
    status: str,
    reason: str,
    actor: User | None,
    *,
    by_regulator: bool = False,
) -> Certificate:
    """Move a certificate between valid, suspended and revoked, with a reason, on the ledger.

    The organisation may do this only while it is active, and may not suspend or reinstate a
    certificate a supervision case holds (it may still revoke it); a regulator's decision
    (by_regulator) may.
    """
    if status not in (
        CertificateStatus.VALID,
        CertificateStatus.SUSPENDED,
        CertificateStatus.REVOKED,
    ):
        raise ValidationError(_("unknown status"), field="status", rule="status")
    if not by_regulator:
        assert actor is not None
        _require_manager(cert, actor)
        org = session.get(Organisation, cert.organisation_id)
        assert org is not None
        require_active(org)
    reason = _reason(reason) if status != CertificateStatus.VALID else (reason or "").strip()[:500]
    lock_certificate(session, cert)
    if not states.may_follow(cert.status, status):
        raise _refuse_transition(cert, status)
    if cert.regulator_hold and not by_regulator and status != CertificateStatus.REVOKED:
        raise Conflict(
            _(
                "a supervision case holds this certificate; only the case's decision can "
                "suspend or reinstate it (the organisation may still revoke it)"
            )
        )
    if status == CertificateStatus.VALID and not records_intact(session, cert):
        status = CertificateStatus.SUPERSEDED
        reason = _("the records it covers changed while it was suspended")
    _write_status(session, cert, status, reason, actor)
    return cert


def place_hold(session: Session, cert: Certificate, reason: str, actor: User | None) -> bool:
    """Suspend a certificate under a supervision case's hold; tell whether it is held now.

    A valid certificate is suspended; one already suspended (by its organisation or another
    case) stays suspended, now held. A revoked or superseded one is left as it is.
    """
    lock_certificate(session, cert)
    if cert.status not in states.LIVE:
        return False
    if cert.status == CertificateStatus.VALID:
        _write_status(session, cert, CertificateStatus.SUSPENDED, reason, actor, hold=True)
    cert.regulator_hold = True
    session.flush()
    return True


def lift_hold(
    session: Session, cert: Certificate, reason: str, actor: User | None, *, still_held: bool
) -> Certificate:
    """End a supervision case's hold; reinstate a suspended certificate (superseded if its
    records changed).

    The hold stays on whatever the certificate's status (revoked or superseded meanwhile): its
    records are not certified anew until the decision. With still_held (another unclosed case
    holds it too) nothing changes.
    """
    lock_certificate(session, cert)
    if still_held:
        return cert
    cert.regulator_hold = False
    session.flush()
    if cert.status == CertificateStatus.SUSPENDED:
        set_status(session, cert, CertificateStatus.VALID, reason, actor, by_regulator=True)
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
    """Mark superseded every live certificate covering a record that was corrected or voided.

    The callers hold the volunteer's record lock, and the certificates are locked here, so an
    issuance or a status change racing the correction is either seen here or sees its result.
    """
    certs = list(
        session.scalars(
            select(Certificate)
            .join(CertificateRecord, CertificateRecord.certificate_id == Certificate.id)
            .where(
                CertificateRecord.record_id == record.id,
                Certificate.status.in_(states.LIVE),
            )
            .order_by(Certificate.id)
            .options(lazyload(Certificate.organisation))
            .with_for_update(of=Certificate)
            .execution_options(populate_existing=True)
        )
    )
    reason = _("record %(id)d was changed (revision %(rev)d)", id=record.id, rev=record.revision)
    for cert in certs:
        _write_status(
            session,
            cert,
            CertificateStatus.SUPERSEDED,
            reason,
            actor,
            record_id=record.id,
            revision=record.revision,
        )
    return certs


def reissue(session: Session, cert: Certificate, actor: User) -> Certificate:
    """Issue a fresh certificate over the same records as they are now (voided ones dropped)."""
    _require_reissuer(cert, actor)
    # Serialise with record writes and other re-issues of this volunteer, then read afresh:
    # of several re-issues sent at once, exactly one makes a certificate.
    lock_volunteer(session, cert.volunteer_id)
    lock_certificate(session, cert)
    if cert.regulator_hold:
        raise Conflict(
            _(
                "a supervision case holds this certificate; it can be re-issued once the case "
                "is decided"
            )
        )
    if cert.status != CertificateStatus.SUPERSEDED:
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
    ids = [
        rid for rid, _rev, status in covered_state(session, cert) if status == RecordStatus.ACTIVE
    ]
    if not ids:
        raise ValidationError(
            _("every record this certificate covered has been voided"),
            field="record_ids",
            rule="no_records",
        )
    org = session.get(Organisation, cert.organisation_id)
    assert org is not None  # the certificate's foreign key
    new = issue_certificate(
        session,
        org,
        # a handler printed as a login e-mail before names were required gives way to the actor's
        IssueRequest(
            volunteer_id=cert.volunteer_id,
            record_ids=ids,
            handler="" if "@" in cert.handler else cert.handler,
        ),
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

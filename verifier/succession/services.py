"""What a deregistered organisation's successor (or, without one, the platform) answers for.

The rules of who may act live in verifier.orgs.succession and in each feature's own service
(corrections, records, missing-record and certificate requests, issuance, re-issue), which accept
the custodian; this module gathers a custodian's queue and finds what it acts on.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.auth.models import User
from verifier.certificates.models import Certificate
from verifier.certificates.numbers import InvalidCertificateNumber, normalize_certificate_number
from verifier.certificates.services import IssueRequest, issue_certificate
from verifier.complaints.models import (
    CertificateRequest,
    CertificateRequestStatus,
    CorrectionRequest,
    CorrectionStatus,
    MissingRecordRequest,
    MissingRecordStatus,
)
from verifier.errors import NotFound
from verifier.orgs.models import Organisation
from verifier.orgs.succession import answered_organisation, answered_organisation_ids
from verifier.volunteers.models import Volunteer
from verifier.volunteers.services import is_member


@dataclass
class Docket:
    """A deregistered organisation and its volunteers' open requests, for who answers for it."""

    organisation: Organisation
    corrections: list[CorrectionRequest]
    missing_records: list[MissingRecordRequest]
    certificate_requests: list[CertificateRequest]
    certificates: list[Certificate]

    @property
    def open_count(self) -> int:
        return len(self.corrections) + len(self.missing_records) + len(self.certificate_requests)


def _docket(session: Session, org: Organisation, *, with_certificates: bool) -> Docket:
    corrections = session.scalars(
        select(CorrectionRequest)
        .where(
            CorrectionRequest.organisation_id == org.id,
            CorrectionRequest.status == CorrectionStatus.OPEN,
        )
        .order_by(CorrectionRequest.due_on, CorrectionRequest.id)
    )
    missing = session.scalars(
        select(MissingRecordRequest)
        .where(
            MissingRecordRequest.organisation_id == org.id,
            MissingRecordRequest.status == MissingRecordStatus.OPEN,
        )
        .order_by(MissingRecordRequest.due_on, MissingRecordRequest.id)
    )
    requests = session.scalars(
        select(CertificateRequest)
        .where(
            CertificateRequest.organisation_id == org.id,
            CertificateRequest.status == CertificateRequestStatus.PENDING,
        )
        .order_by(CertificateRequest.due_on, CertificateRequest.id)
    )
    certificates = (
        list(
            session.scalars(
                select(Certificate)
                .where(Certificate.organisation_id == org.id)
                .order_by(Certificate.id.desc())
                .limit(200)
            )
        )
        if with_certificates
        else []
    )
    return Docket(org, list(corrections), list(missing), list(requests), certificates)


def dockets(session: Session, actor: User) -> list[Docket]:
    """Return, for each deregistered organisation the actor answers for, its open requests."""
    found = []
    for org_id in answered_organisation_ids(session, actor):
        org = session.get(Organisation, org_id)
        if org is not None:
            found.append(_docket(session, org, with_certificates=False))
    return found


def docket(session: Session, actor: User, org_id: int) -> Docket:
    """Return one deregistered organisation's docket, with its latest certificates."""
    org = answered_organisation(session, actor, org_id)
    return _docket(session, org, with_certificates=True)


def answered_certificate(session: Session, actor: User, number: str) -> Certificate:
    """Return a certificate of an organisation the actor answers for, or raise NotFound."""
    try:
        canonical = normalize_certificate_number(number).replace("-", "")
    except InvalidCertificateNumber:
        raise NotFound(_("no such certificate")) from None
    cert = session.scalars(select(Certificate).where(Certificate.number == canonical)).first()
    if cert is None or cert.organisation_id not in answered_organisation_ids(session, actor):
        raise NotFound(_("no such certificate"))
    return cert


def answered_volunteer(session: Session, org: Organisation, volunteer_number: str) -> Volunteer:
    """Return the deregistered organisation's volunteer with this number, or raise NotFound."""
    volunteer = session.scalars(
        select(Volunteer).where(Volunteer.volunteer_number == volunteer_number.strip().upper())
    ).first()
    if volunteer is None or not is_member(session, org.id, volunteer.id):
        raise NotFound(_("no such volunteer"))
    return volunteer


def issue_for_deregistered(
    session: Session,
    actor: User,
    org: Organisation,
    volunteer: Volunteer,
    request: IssueRequest,
) -> Certificate:
    """Issue a certificate from a deregistered organisation's records, as who answers for it."""
    request.volunteer_id = volunteer.id
    return issue_certificate(session, org, request, actor)

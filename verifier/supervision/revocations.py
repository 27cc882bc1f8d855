"""A regulator's revocation of every certificate an organisation issued (confirmed fraud)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import REGULATOR_SUPERVISOR, User
from verifier.certificates.lifecycle import set_status as set_certificate_status
from verifier.certificates.models import Certificate
from verifier.certificates.states import CertificateStatus
from verifier.errors import Forbidden
from verifier.orgs.models import Organisation
from verifier.text import require_reason


def revoke_all_certificates(
    session: Session, org: Organisation, reason: str, actor: User
) -> list[str]:
    """Revoke every certificate of the organisation not yet revoked; return their numbers.

    One action on the audit log names the organisation, the reason and the count; each
    certificate's revocation is on the ledger too, so its status lists and verification change.
    """
    if actor.role != REGULATOR_SUPERVISOR:
        raise Forbidden(_("only a regulator supervisor may revoke an organisation's certificates"))
    reason = require_reason(reason)
    certificates = session.scalars(
        select(Certificate)
        .where(
            Certificate.organisation_id == org.id,
            Certificate.status != CertificateStatus.REVOKED,
        )
        .order_by(Certificate.id)  # lock in id order, as every code that locks several does
    ).all()
    for cert in certificates:
        set_certificate_status(
            session, cert, CertificateStatus.REVOKED, reason, actor, by_regulator=True
        )
    numbers = [cert.number for cert in certificates]
    record_event(
        session,
        actor,
        "organisation.revoke_certificates",
        "organisation",
        org.id,
        organisation_id=org.id,
        details={"reason": reason, "count": len(numbers)},
    )
    return numbers

"""Import every model so that Base.metadata is complete."""

import verifier.accounts.models  # noqa: F401  (invitations, one-time codes)
import verifier.complaints.models  # noqa: F401  (complaints, volunteers' requests)
import verifier.credentials.models  # noqa: F401  (signed status lists)
import verifier.jobs.models  # noqa: F401  (jobs and their files)
import verifier.notifications.models  # noqa: F401  (the outbox)
import verifier.spotchecks.models  # noqa: F401  (plans, campaigns, samples, assignments)
import verifier.supervision.models  # noqa: F401  (findings, evidence, supervision cases)
from verifier.audit.models import AuditCheckpoint, AuditEntry
from verifier.auth.models import ApiToken, User
from verifier.certificates.models import Certificate, CertificateRecord, VerificationEvent
from verifier.keys.models import SigningKey
from verifier.orgs.models import Organisation
from verifier.records.models import (
    ImportBatch,
    RecordConfirmation,
    RecordReassignment,
    RecordRevision,
    ServiceRecord,
)
from verifier.volunteers.models import Membership, Volunteer

__all__ = [
    "ApiToken",
    "AuditCheckpoint",
    "AuditEntry",
    "Certificate",
    "CertificateRecord",
    "SigningKey",
    "VerificationEvent",
    "ImportBatch",
    "Membership",
    "Organisation",
    "RecordConfirmation",
    "RecordReassignment",
    "RecordRevision",
    "ServiceRecord",
    "User",
    "Volunteer",
]

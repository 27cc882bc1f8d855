"""Translated labels of finding results, discrepancy types, case statuses and sanctions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from verifier.labels import Labels
from verifier.supervision.models import (
    CaseEventKind,
    CaseOutcome,
    CaseStatus,
    DiscrepancyType,
    FindingResult,
    Sanction,
)

FINDING_RESULT: Labels = {
    FindingResult.CONFIRMED: _l("Confirmed"),
    FindingResult.DISCREPANCY: _l("Discrepancy"),
    FindingResult.UNVERIFIABLE: _l("Could not verify"),
}
DISCREPANCY_TYPE: Labels = {
    DiscrepancyType.HOURS_INFLATED: _l("Hours inflated"),
    DiscrepancyType.ACTIVITY_NOT_HELD: _l("Activity not held"),
    DiscrepancyType.VOLUNTEER_UNAWARE: _l("Volunteer unaware of the record"),
    DiscrepancyType.DUPLICATE: _l("Duplicate record"),
    DiscrepancyType.PAID_OR_JOB_DUTY: _l("Paid work or job duty recorded as volunteering"),
    DiscrepancyType.CERTIFICATE_FORGED: _l("Certificate altered or forged"),
}
CASE_STATUS: Labels = {
    CaseStatus.OPEN: _l("Open"),
    CaseStatus.RESPONDED: _l("Responded"),
    CaseStatus.OVERDUE: _l("Overdue"),
    CaseStatus.ESCALATED: _l("Escalated"),
    CaseStatus.CLOSED: _l("Closed"),
}
CASE_OUTCOME: Labels = {
    CaseOutcome.RESOLVED: _l("Resolved"),
    CaseOutcome.SANCTIONED: _l("Sanctioned"),
}
SANCTION: Labels = {
    Sanction.WARNING: _l("Warning"),
    Sanction.STOP_ACTIVITIES: _l("Order to stop activities"),
    Sanction.PUBLIC_NOTICE: _l("Public notice"),
}
CASE_EVENT: Labels = {
    CaseEventKind.OPENED: _l("Case opened"),
    CaseEventKind.CERTIFICATES_SUSPENDED: _l("Certificates suspended"),
    CaseEventKind.RESPONDED: _l("Organisation responded"),
    CaseEventKind.OVERDUE: _l("Deadline passed"),
    CaseEventKind.ESCALATED: _l("Escalated"),
    CaseEventKind.CLOSED: _l("Case closed"),
    CaseEventKind.CERTIFICATES_REINSTATED: _l("Certificates reinstated"),
    CaseEventKind.CERTIFICATES_REVOKED: _l("Certificates revoked"),
    CaseEventKind.ORGANISATION_SUSPENDED: _l("Organisation suspended"),
}

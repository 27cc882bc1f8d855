"""Translated labels of finding results, discrepancy types, case statuses and sanctions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

FINDING_RESULT = {
    "confirmed": _l("Confirmed"),
    "discrepancy": _l("Discrepancy"),
    "unverifiable": _l("Could not verify"),
}
DISCREPANCY_TYPE = {
    "hours_inflated": _l("Hours inflated"),
    "activity_not_held": _l("Activity not held"),
    "volunteer_unaware": _l("Volunteer unaware of the record"),
    "duplicate": _l("Duplicate record"),
    "paid_or_job_duty": _l("Paid work or job duty recorded as volunteering"),
    "certificate_forged": _l("Certificate altered or forged"),
}
CASE_STATUS = {
    "open": _l("Open"),
    "responded": _l("Responded"),
    "overdue": _l("Overdue"),
    "escalated": _l("Escalated"),
    "closed": _l("Closed"),
}
CASE_OUTCOME = {"resolved": _l("Resolved"), "sanctioned": _l("Sanctioned")}
SANCTION = {
    "warning": _l("Warning"),
    "stop_activities": _l("Order to stop activities"),
    "public_notice": _l("Public notice"),
}
CASE_EVENT = {
    "opened": _l("Case opened"),
    "certificates_suspended": _l("Certificates suspended"),
    "responded": _l("Organisation responded"),
    "overdue": _l("Deadline passed"),
    "escalated": _l("Escalated"),
    "closed": _l("Case closed"),
    "certificates_reinstated": _l("Certificates reinstated"),
    "certificates_revoked": _l("Certificates revoked"),
    "organisation_suspended": _l("Organisation suspended"),
}

"""The states a volunteer sees of a record about them, and their translated labels."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from verifier.labels import Labels
from verifier.records.models import RevisionKind


class MyRecordStatus(StrEnum):
    """A record as its volunteer reads it: as entered, corrected since, or voided."""

    ACTIVE = "active"
    CORRECTED = "corrected"  # active, at a revision after the first
    VOIDED = "voided"


class Confirmation(StrEnum):
    """What the volunteer said about the record's current revision."""

    CONFIRMED = "confirmed"
    DISPUTED = "disputed"  # their dispute is open: the organisation has not answered yet
    UNCONFIRMED = "unconfirmed"


MY_RECORD_STATUS: Labels = {
    MyRecordStatus.ACTIVE: _l("Valid"),
    MyRecordStatus.CORRECTED: _l("Corrected"),
    MyRecordStatus.VOIDED: _l("Voided"),
}
CONFIRMATION: Labels = {
    Confirmation.CONFIRMED: _l("Confirmed by you"),
    Confirmation.DISPUTED: _l("Disputed by you"),
    Confirmation.UNCONFIRMED: _l("Not yet confirmed"),
}
# a revision as its volunteer reads it: every revision is the organisation's doing
REVISION_KIND: Labels = {
    RevisionKind.CREATED: _l("Entered by the organisation"),
    RevisionKind.CORRECTED: _l("Corrected by the organisation"),
    RevisionKind.VOIDED: _l("Voided by the organisation"),
}

"""Translated labels of organisation statuses and types (in messages and on pages)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from verifier.labels import Labels
from verifier.orgs.models import OrgStatus, OrgType

ORG_STATUS: Labels = {
    OrgStatus.ACTIVE: _l("active"),
    OrgStatus.SUSPENDED: _l("suspended"),
    OrgStatus.DEREGISTERED: _l("deregistered"),
}
ORG_TYPE: Labels = {
    OrgType.VOLUNTEER_ORG: _l("Volunteer service organisation"),
    OrgType.CHARITY: _l("Charitable organisation"),
    OrgType.COMMUNITY: _l("Community"),
    OrgType.EVENT_HOST: _l("Public-benefit event organiser"),
    OrgType.PUBLIC_SERVICE: _l("Public service institution"),
}

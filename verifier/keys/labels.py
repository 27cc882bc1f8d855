"""Translated labels of signing-key statuses (in verification messages)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from verifier.keys.models import KeyStatus
from verifier.labels import Labels

KEY_STATUS: Labels = {
    KeyStatus.ACTIVE: _l("active"),
    KeyStatus.RETIRED: _l("retired"),
    KeyStatus.COMPROMISED: _l("compromised"),
}

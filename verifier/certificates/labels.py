"""Translated labels of certificate statuses, as messages name them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from verifier.certificates.states import CertificateStatus
from verifier.labels import Labels

CERTIFICATE_STATUS: Labels = {
    CertificateStatus.VALID: _l("valid"),
    CertificateStatus.REVOKED: _l("revoked"),
    CertificateStatus.SUSPENDED: _l("suspended (under review)"),
    CertificateStatus.SUPERSEDED: _l("superseded"),
}

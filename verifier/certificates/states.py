"""The certificate status machine: which status may follow which (pure; no database).

    valid ──suspend──▶ suspended ──reinstate──▶ valid
    valid, suspended ──revoke──▶ revoked            (final: nothing follows it)
    valid, suspended ──a covered record changes──▶ superseded
    superseded ──revoke──▶ revoked          (a falsified record's certificate, even an old one)

A certificate under a regulator's hold (a supervision case holds it) is suspended; only the case's
decision lifts the hold. Meanwhile its organisation may still revoke it, and a correction of a
covered record still supersedes it (the old certificate no longer tells the truth either way).
"""

from __future__ import annotations

from enum import StrEnum


class CertificateStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    SUPERSEDED = "superseded"


# new status -> the statuses it may follow
ALLOWED_FROM: dict[str, frozenset[str]] = {
    CertificateStatus.SUSPENDED: frozenset({CertificateStatus.VALID}),
    CertificateStatus.VALID: frozenset({CertificateStatus.SUSPENDED}),
    CertificateStatus.REVOKED: frozenset(
        {CertificateStatus.VALID, CertificateStatus.SUSPENDED, CertificateStatus.SUPERSEDED}
    ),
    CertificateStatus.SUPERSEDED: frozenset({CertificateStatus.VALID, CertificateStatus.SUSPENDED}),
}
# statuses in which a certificate still stands for its records (a change to them supersedes it)
LIVE = frozenset({CertificateStatus.VALID, CertificateStatus.SUSPENDED})
FINAL = frozenset({CertificateStatus.REVOKED})


def may_follow(current: str, new: str) -> bool:
    """Tell whether a certificate in status `current` may move to status `new`."""
    return current in ALLOWED_FROM.get(new, frozenset())

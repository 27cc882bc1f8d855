"""A certificate as an SD-JWT (RFC 9901): what is always shown, what the holder may disclose.

Always visible: the number (jti), the issuer (iss, org, uscc), iat, the total hours and the
period. Disclosable: the volunteer's full name, ID type and volunteer number, and each activity
line. docs/selective-disclosure.md describes the format for outside verifiers.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from verifier.certificates.models import Certificate
from verifier.crypto import sdjwt
from verifier.timeutil import format_hours

# claim names of the disclosable claims (the activity lines are the elements of ACTIVITIES)
NAME = "name"
ID_TYPE = "id_type"
VOLUNTEER_NUMBER = "vno"
ACTIVITIES = "activities"
DISCLOSABLE_CLAIMS = (NAME, ID_TYPE, VOLUNTEER_NUMBER)


def activity_lines(cert: Certificate) -> list[dict[str, str]]:
    """Return the certificate's activity lines as the SD-JWT discloses them."""
    return [
        {"activity": a["activity"], "hours": format_hours(a["minutes"])}
        for a in json.loads(cert.activities)
    ]


def sign_sd_jwt(cert: Certificate, *, base_url: str, private_key: Any, kid: str) -> str:
    """Sign a certificate's claims as an SD-JWT with every disclosure attached."""
    return sdjwt.issue_sd_jwt(
        {
            "jti": cert.number,
            "iss": base_url,
            "iat": int(cert.issued_at.timestamp()),
            "hours": format_hours(cert.total_minutes),
            "period": [cert.period_from.isoformat(), cert.period_to.isoformat()],
            "org": cert.issuer_name,
            "uscc": cert.issuer_uscc,
            # issued for a deregistered organisation: by its successor (USCC) or the platform
            **({"by": cert.custodian_uscc or "platform"} if cert.custodian_kind else {}),
        },
        disclosable={
            NAME: cert.volunteer_name,
            ID_TYPE: cert.id_type,
            VOLUNTEER_NUMBER: cert.volunteer_number,
        },
        disclosable_items={ACTIVITIES: activity_lines(cert)},
        private_key=private_key,
        kid=kid,
    )


def sd_jwt_hash(text: str) -> str:
    """Return the SHA-256 (hex) of an SD-JWT's signed content: its JWT's header and payload."""
    signing_input = sdjwt.issuer_jwt_of(text).rsplit(".", 1)[0]
    return hashlib.sha256(signing_input.encode("ascii")).hexdigest()

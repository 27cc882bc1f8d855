"""Shared set-up of the security tests: two organisations, each with a signed certificate."""

from __future__ import annotations

from typing import Any

from support import days_ago

FULL_NAME = "张晓明"
ID_NUMBER = "11010119900307002X"
PHONE = "13800138000"


def world(make: Any) -> dict[str, Any]:
    """Organisation A and B, an admin each, a volunteer each, a certificate each."""
    org_a, org_b = make.org(), make.org()
    admin_a = make.user("org_admin", org_a)
    admin_b = make.user("org_admin", org_b)
    vol_a = make.volunteer(org_a, name=FULL_NAME, id_number=ID_NUMBER, phone=PHONE)
    vol_b = make.volunteer(org_b)
    rec_a = make.record(org_a, vol_a, actor=admin_a, started_at=days_ago(10))
    rec_b = make.record(org_b, vol_b, actor=admin_b, started_at=days_ago(10))
    return {
        "org_a": org_a,
        "org_b": org_b,
        "admin_a": admin_a,
        "admin_b": admin_b,
        "vol_a": vol_a,
        "vol_b": vol_b,
        "rec_a": rec_a,
        "rec_b": rec_b,
        "cert_a": make.certificate(org_a, admin_a, vol_a, [rec_a]),
        "cert_b": make.certificate(org_b, admin_b, vol_b, [rec_b]),
    }


def assert_no_personal_data(text: str) -> None:
    """Nothing that identifies the volunteer beyond the masked name and volunteer number."""
    assert FULL_NAME not in text
    assert FULL_NAME[1:] not in text  # the given name alone
    assert ID_NUMBER not in text and ID_NUMBER.lower() not in text
    assert "19900307" not in text and "1990-03-07" not in text  # the birth date in the ID
    assert ID_NUMBER[-6:] not in text and ID_NUMBER[:6] + "1990" not in text
    assert PHONE not in text

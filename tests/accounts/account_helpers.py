"""Helpers of the accounts tests: invitations through the API, and the messages in the outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from support import Factory, bearer

from verifier.crypto.encryption import get_cipher
from verifier.db import get_session
from verifier.notifications.models import OutboxMessage
from verifier.notifications.services import body_place, recipient_place


def invite(client: Any, make: Factory, volunteer: Any, inviter: Any) -> dict[str, Any]:
    """Make an invitation through the API as `inviter`; return the answer's body."""
    response = client.post(
        f"/api/v1/volunteers/{volunteer.id}/invitation", headers=bearer(make.token(inviter))
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


# the app of the running test (tests/accounts/conftest.py sets it): claim bodies carry the
# login code, which is a keyed hash under the app's data key
APP: Any = None


def login_code(code: str, login: str) -> str:
    """The code the claim's first step would send to the login (derived, as the service does)."""
    from verifier.accounts.invitations import login_code_for

    with APP.app_context():
        try:
            return login_code_for(code, login)
        except Exception:  # noqa: BLE001  (a malformed login: the claim refuses it anyway)
            return "00000000"


def claim_body(code: str, login: str = "vol@example.cn", **fields: Any) -> dict[str, Any]:
    body = {
        "code": code,
        "login": login,
        "password": "a-long-password-1",
        "accept_privacy_notice": True,
        "login_code": login_code(code, login),
    }
    body.update(fields)
    return body


def outbox(app: Any, kind: str) -> list[dict[str, Any]]:
    """The messages of a kind in the outbox, opened: recipient, subject, body, channel."""
    with app.app_context():
        session = get_session()
        cipher = get_cipher()
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        ).all()
        return [
            {
                "recipient": cipher.open_text(row.recipient_enc, recipient_place(row.id)),
                "subject": row.subject,
                "body": cipher.open_text(row.body_enc, body_place(row.id)),
                "channel": row.channel,
                "locale": row.locale,
                "user_id": row.user_id,
                "volunteer_id": row.volunteer_id,
            }
            for row in rows
        ]


def problem_errors(response: Any, status: int) -> list[tuple[str, str]]:
    """Assert a problem+json answer with this status; return its (field, rule) pairs."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return [(e["field"], e["rule"]) for e in response.get_json().get("errors", [])]

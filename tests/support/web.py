"""Talking to the app as a browser or an API client would."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from support.factory import PASSWORD


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    """Sign in through the form; the client keeps the session cookie."""
    return client.post("/login", data={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    """The header of an API call with this token."""
    return {"Authorization": f"Bearer {token}"}


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    if not found:
        found = re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert found, "no CSRF token in page"
    return found.group(1)

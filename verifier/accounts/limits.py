"""Rate limits of the account routes (Flask-Limiter), and the keys they count by.

Per client address (Flask-Limiter's default key), and per code or login: the second key is a
keyed hash of what was typed, normalised, so a code typed in another case or grouping counts
against the same allowance, and no code or login is kept in the limiter's storage.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from flask import current_app, g, request

from verifier import jsonlimits
from verifier.accounts.invitations import code_hashes
from verifier.auth.services import normalize_login
from verifier.crypto.encryption import get_cipher
from verifier.errors import ValidationError

# claiming: a person claims once; an office handing out codes may see a few claims a minute
CLAIM_PER_ADDRESS = "10 per minute; 100 per day"
CLAIM_PER_CODE = "10 per hour"
# the code that proves a claimant's login is sent to it: few per login, so no one is flooded
CLAIM_LOGIN_CODES_PER_LOGIN = "5 per hour"
# an API token for a login and password: as the sign-in page (auth.views.login)
TOKEN_PER_ADDRESS = "20 per minute"  # noqa: S105  (a rate, not a secret)
# changing the password (signed in): a few typos of the current password
PASSWORD_PER_ADDRESS = "10 per minute; 30 per hour"  # noqa: S105  (a rate, not a secret)
# asking for a reset code sends a message: few per login, so no one is flooded with them
RESET_REQUEST_PER_ADDRESS = "5 per minute; 50 per day"
RESET_REQUEST_PER_LOGIN = "5 per hour"
# typing the code: each code dies after 5 wrong tries anyway
RESET_CONFIRM_PER_ADDRESS = "10 per minute; 100 per day"
RESET_CONFIRM_PER_LOGIN = "10 per hour"


def _json_body() -> Any:
    """The request's JSON body, parsed once within the JSON limits (None when there is none)."""
    if "accounts_json_body" not in g:
        g.accounts_json_body = None
        if request.is_json:
            with suppress(ValueError):  # not JSON, or beyond the limits: the view answers
                g.accounts_json_body = jsonlimits.loads(
                    request.get_data(cache=True) or b"null",
                    max_bytes=int(current_app.config["JSON_MAX_BYTES"]),
                    max_depth=int(current_app.config["JSON_MAX_DEPTH"]),
                )
    return g.accounts_json_body


def posted(name: str) -> str:
    """A text field of the request: from its JSON object (API) or its form (pages)."""
    body = _json_body()
    value = body.get(name) if isinstance(body, dict) else request.form.get(name)
    return value[:300] if isinstance(value, str) else ""


def code_key() -> str:
    """Count claims per invitation code, by the code's keyed hash."""
    return "claim-code:" + code_hashes(posted("code"))[0]


def _login_hash(purpose: str) -> str:
    """The posted login, normalised when it is one, as a keyed hash for one purpose."""
    text = posted("login")
    with suppress(ValidationError):
        text = normalize_login(text)
    return f"{purpose}:" + get_cipher().lookup_hash(f"{purpose}:{text}")


def login_key() -> str:
    """Count reset requests and code entries per login, by the login's keyed hash."""
    return _login_hash("reset-login")


def claim_login_key() -> str:
    """Count the login codes sent to one login, by the login's keyed hash."""
    return _login_hash("claim-login")

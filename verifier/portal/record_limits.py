"""How often a volunteer may dispute records: one count per volunteer, for the API and the page."""

from __future__ import annotations

from flask_limiter.util import get_remote_address

from verifier.auth.access import current_actor
from verifier.ratelimit import limiter

DISPUTE_RATE = "10 per hour"


def _volunteer_key() -> str:
    # the decorated views run after the access rule, so a volunteer is signed in here
    actor = current_actor()
    return f"user:{actor.id}" if actor is not None else get_remote_address()


dispute_limit = limiter.shared_limit(
    DISPUTE_RATE, scope="volunteer-dispute", key_func=_volunteer_key, methods=["POST"]
)

"""JSON API of volunteers' accounts: invitations, claiming, API tokens, changing the password."""

from __future__ import annotations

from typing import Any

from flask import request

from verifier.accounts import limits
from verifier.accounts.invitations import (
    LOGIN_CODE_MINUTES,
    claim_account,
    create_invitation,
    send_login_code,
)
from verifier.accounts.passwords import change_password
from verifier.accounts.schemas import (
    ClaimIn,
    ClaimOut,
    InvitationOut,
    LoginCodeIn,
    LoginCodeOut,
    PasswordIn,
    TokenIn,
    TokenOut,
)
from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import answer, read_json
from verifier.auth.access import ANY_ROLE, public, require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER, VOLUNTEER
from verifier.auth.services import authenticate, create_token
from verifier.db import get_session
from verifier.errors import BadRequest, FieldError, problem_response
from verifier.ratelimit import limiter

ID = "<int(min=1, max=2147483647):volunteer_id>"
TAG = "accounts"


@bp.post(f"/volunteers/{ID}/invitation")
@roles(ORG_ADMIN, ORG_RECORDER)
@operation(
    summary="Invite a volunteer to claim an account",
    tag=TAG,
    description=(
        "Makes a one-time invitation code for one of the caller's organisation's volunteers, "
        "valid 14 days, and sends it to the mobile number on file when there is one (`sent_to`, "
        "masked). The code is in this answer only: only its keyed hash is stored. A newer "
        "invitation revokes the volunteer's older open ones. A volunteer of another organisation "
        "answers 404; one who already has an account 409 (rule `already_claimed`), one merged "
        "into another 409 (rule `merged`)."
    ),
    response=InvitationOut,
    status=201,
    errors=(409,),
)
def create_invitation_api(volunteer_id: int) -> Any:
    made = create_invitation(get_session(), require_actor(), volunteer_id)
    return answer(InvitationOut.of(made), 201)


@bp.post("/account/claim/login-code")
@public
@limiter.shared_limit(limits.CLAIM_PER_ADDRESS, scope="account-claim")
@limiter.shared_limit(limits.CLAIM_PER_CODE, scope="account-claim-code", key_func=limits.code_key)
@limiter.shared_limit(
    limits.CLAIM_LOGIN_CODES_PER_LOGIN,
    scope="account-claim-login",
    key_func=limits.claim_login_key,
)
@operation(
    summary="Send the code that proves a claimant's login (first step of a claim)",
    tag=TAG,
    description=(
        "Checks that the invitation code can still be claimed and that the login is free, then "
        "sends an 8-digit code to the login (e-mail or text message). The claim "
        "(`POST /api/v1/account/claim`) needs it as `login_code`: nobody opens an account on "
        "an address that is not theirs. The code is valid for at least "
        f"{LOGIN_CODE_MINUTES} minutes, for this invitation and this login only. Refusals as "
        "the claim's (`code`/…, `login`/…). Rate limits: shared with the claim per address and "
        f"per code, and {limits.CLAIM_LOGIN_CODES_PER_LOGIN} per login (429)."
    ),
    body=LoginCodeIn,
    response=LoginCodeOut,
    status=202,
    errors=(409, 429),
)
def claim_login_code_api() -> Any:
    body = read_json(LoginCodeIn)
    sent_to = send_login_code(get_session(), body.code, body.login, body.locale)
    return answer(LoginCodeOut(sent_to=sent_to, valid_minutes=LOGIN_CODE_MINUTES), 202)


@bp.post("/account/claim")
@public
@limiter.shared_limit(limits.CLAIM_PER_ADDRESS, scope="account-claim")
@limiter.shared_limit(limits.CLAIM_PER_CODE, scope="account-claim-code", key_func=limits.code_key)
@operation(
    summary="Claim a volunteer's account with an invitation code (no sign-in)",
    tag=TAG,
    description=(
        "Creates the account (role `volunteer`) of the volunteer the code was made for; the code "
        "is used up. `login` is the e-mail address or mobile number to sign in with, unique "
        "among all users, proven by `login_code` (sent to it by "
        "`POST /api/v1/account/claim/login-code`; wrong or expired: 422 `login_code`/`invalid`). "
        "`accept_privacy_notice` must be true (the notice is at /privacy). "
        "Refusals name the field and rule: 422 `code`/`invalid` (not a code; whether it ever "
        "existed is not said), `code`/`expired`, `code`/`revoked` (a newer code replaced it), "
        "`accept_privacy_notice`/`required`, `login`/`login`, `password`/`password_length` or "
        "`password_strength`; 409 `code`/`used`, `code`/`already_claimed` (the volunteer has an "
        "account), `code`/`merged` (the volunteer was merged into another), `login`/`unique`. "
        "Rate limits: "
        f"{limits.CLAIM_PER_ADDRESS} per address, {limits.CLAIM_PER_CODE} per code (429)."
    ),
    body=ClaimIn,
    response=ClaimOut,
    status=201,
    errors=(409, 429),
)
def claim_account_api() -> Any:
    body = read_json(ClaimIn)
    user = claim_account(get_session(), body.to_input())
    return answer(ClaimOut(user_id=user.id, login=user.email, role=user.role), 201)


@bp.post("/account/tokens")
@public
@limiter.limit(limits.TOKEN_PER_ADDRESS)
@operation(
    summary="Get an API token with a login and password (no sign-in)",
    tag=TAG,
    description=(
        "For volunteers' apps, and any user: the same check as the sign-in page (the same "
        "lock-out after repeated failures, one message for every failure) and the same Bearer "
        "tokens as the tokens page, where they are listed and revoked. A wrong login or "
        "password, a locked or deactivated account answer 400 with one message and the rule "
        "`login`/`invalid_credentials` (as OAuth 2's token endpoint answers `invalid_grant`). "
        f"Rate limit: {limits.TOKEN_PER_ADDRESS} per address (429)."
    ),
    body=TokenIn,
    response=TokenOut,
    status=201,
    errors=(429,),
)
def create_token_api() -> Any:
    body = read_json(TokenIn)
    session = get_session()
    result = authenticate(session, body.login, body.password, address=request.remote_addr or "")
    if result.user is None:
        # returned, not raised: the counted failure is committed, as the sign-in page does
        refused = FieldError("login", "invalid_credentials", result.message)
        return problem_response(BadRequest(result.message, errors=[refused]))
    token = create_token(session, result.user, body.name)
    return answer(TokenOut(token=token, login=result.user.email, role=result.user.role), 201)


@bp.post("/account/password")
@roles(*ANY_ROLE, VOLUNTEER)
@limiter.limit(limits.PASSWORD_PER_ADDRESS)
@operation(
    summary="Change the caller's password",
    tag=TAG,
    description=(
        "Every signed-in session of the caller ends (API tokens stay; revoke them on the tokens "
        "page). Refusals: 422 `current_password`/`wrong_password`, `new_password`/"
        "`password_length`, `password_strength` or `unchanged`. Rate limit: "
        f"{limits.PASSWORD_PER_ADDRESS} per address (429)."
    ),
    body=PasswordIn,
    status=204,
    errors=(429,),
)
def change_password_api() -> Any:
    body = read_json(PasswordIn)
    change_password(get_session(), require_actor(), body.current_password, body.new_password)
    return "", 204

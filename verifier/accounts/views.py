"""Pages of volunteers' accounts: the invitation sheet, claiming, the privacy notice, passwords.

The volunteer's pages are phone-first: one column, big fields and buttons.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as browser_session
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_user

from verifier.accounts import limits
from verifier.accounts.forms import (
    ClaimForm,
    InvitationForm,
    PasswordForm,
    ResetForm,
    ResetRequestForm,
)
from verifier.accounts.invitations import (
    CLAIM_PATH,
    INVITATION_DAYS,
    LOGIN_CODE_MINUTES,
    PRIVACY_NOTICE_VERSION,
    claim_account,
    claim_url,
    create_invitation,
    send_login_code,
)
from verifier.accounts.passwords import (
    RESET_CODE_MAX_TRIES,
    RESET_CODE_MINUTES,
    change_password,
    request_reset,
    reset_password,
)
from verifier.accounts.schemas import ClaimIn
from verifier.api.schemas import validate
from verifier.auth.access import ANY_ROLE, public, require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER, VOLUNTEER
from verifier.db import get_session, savepoint
from verifier.errors import Conflict, VerifierError
from verifier.ratelimit import limiter
from verifier.web.forms import show_errors

bp = Blueprint("accounts", __name__)

RESET_LOGIN = "reset_login"  # the login a reset code was asked for, kept for the next step


@bp.app_context_processor
def _privacy_notice() -> dict[str, Any]:
    # templates/accounts/_privacy_notice.html shows its version wherever it is included
    return {"privacy_notice_version": PRIVACY_NOTICE_VERSION}


def _locale() -> str:
    return "en" if str(get_locale() or "zh").startswith("en") else "zh"


@bp.post("/volunteers/<int:volunteer_id>/invitation")
@roles(ORG_ADMIN, ORG_RECORDER)
def invite(volunteer_id: int) -> Any:
    """Make an invitation code and show it on a sheet to print or hand over (once only)."""
    form = InvitationForm()
    if not form.validate_on_submit():
        return redirect(url_for("volunteers.detail", volunteer_id=volunteer_id))
    try:
        with savepoint():
            made = create_invitation(get_session(), require_actor(), volunteer_id)
    except Conflict as error:  # already claimed, merged: said on the volunteer's page
        flash(error.message, "error")
        return redirect(url_for("volunteers.detail", volunteer_id=volunteer_id))
    return render_template(
        "accounts/invitation.html",
        made=made,
        volunteer=made.invitation.volunteer,
        organisation=made.invitation.organisation,
        claim_url=claim_url(),
        days=INVITATION_DAYS,
    )


@bp.route(CLAIM_PATH, methods=["GET", "POST"])
@public
@limiter.shared_limit(limits.CLAIM_PER_ADDRESS, scope="account-claim", methods=["POST"])
@limiter.shared_limit(
    limits.CLAIM_PER_CODE, scope="account-claim-code", key_func=limits.code_key, methods=["POST"]
)
@limiter.shared_limit(
    limits.CLAIM_LOGIN_CODES_PER_LOGIN,
    scope="account-claim-login",
    key_func=limits.claim_login_key,
    methods=["POST"],
    exempt_when=lambda: "send_login_code" not in request.form,  # only sending counts
)
def claim() -> Any:
    form = ClaimForm()
    form_errors: list[str] = []
    status = 200
    sent_to = ""
    if form.validate_on_submit() and form.send_login_code.data:
        # the first step: prove the login by a code sent to it
        try:
            with savepoint():
                sent_to = send_login_code(
                    get_session(), form.code.data or "", form.login.data or "", _locale()
                )
        except VerifierError as error:
            form_errors, status = show_errors(form, error), error.status
        else:
            form.login_code.data = ""
    elif form.validate_on_submit():
        try:
            body = validate(
                ClaimIn,
                {
                    "code": form.code.data or "",
                    "login": form.login.data or "",
                    "login_code": form.login_code.data or "",
                    "password": form.password.data or "",
                    "accept_privacy_notice": bool(form.accept_privacy_notice.data),
                    "locale": _locale(),
                },
            )
            with savepoint():
                user = claim_account(get_session(), body.to_input())
        except VerifierError as error:
            form_errors, status = show_errors(form, error), error.status
        else:
            browser_session.clear()  # a fresh session for the new account
            login_user(user)
            flash(_("Your account is ready; you are signed in"), "success")
            return redirect(url_for("web.dashboard"))
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "accounts/claim.html",
            form=form,
            form_errors=form_errors,
            sent_to=sent_to,
            minutes=LOGIN_CODE_MINUTES,
        ),
        status,
    )


@bp.get("/privacy")
@public
def privacy() -> Any:
    return render_template("accounts/privacy.html")


@bp.route("/account/password", methods=["GET", "POST"])
@roles(*ANY_ROLE, VOLUNTEER)
@limiter.limit(limits.PASSWORD_PER_ADDRESS, methods=["POST"])
def password() -> Any:
    actor = require_actor()
    form = PasswordForm()
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            with savepoint():
                change_password(
                    get_session(),
                    actor,
                    form.current_password.data or "",
                    form.new_password.data or "",
                )
        except VerifierError as error:
            form_errors, status = show_errors(form, error), error.status
        else:
            login_user(actor)  # this browser stays signed in; every other session ended
            flash(_("Password changed; you were signed out everywhere else"), "success")
            return redirect(url_for("accounts.password"))
    elif request.method == "POST":
        status = 422
    return render_template("accounts/password.html", form=form, form_errors=form_errors), status


@bp.route("/account/reset", methods=["GET", "POST"])
@public
@limiter.limit(limits.RESET_REQUEST_PER_ADDRESS, methods=["POST"])
@limiter.limit(limits.RESET_REQUEST_PER_LOGIN, key_func=limits.login_key, methods=["POST"])
def reset() -> Any:
    """Ask for a reset code; the answer is the same whether or not the login has an account."""
    form = ResetRequestForm()
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        login = (form.login.data or "").strip()[:254]
        try:
            with savepoint():
                request_reset(get_session(), login)
        except VerifierError as error:  # a login that cannot be one (its form, not its owner)
            form_errors, status = show_errors(form, error), error.status
        else:
            browser_session[RESET_LOGIN] = login
            flash(
                _(
                    "If an account signs in with this e-mail address or mobile number, a code "
                    "was sent to it. It is valid for %(minutes)d minutes.",
                    minutes=RESET_CODE_MINUTES,
                ),
                "success",
            )
            return redirect(url_for("accounts.reset_code"))
    elif request.method == "POST":
        status = 422
    return render_template("accounts/reset.html", form=form, form_errors=form_errors), status


@bp.route("/account/reset/code", methods=["GET", "POST"])
@public
@limiter.limit(limits.RESET_CONFIRM_PER_ADDRESS, methods=["POST"])
@limiter.limit(limits.RESET_CONFIRM_PER_LOGIN, key_func=limits.login_key, methods=["POST"])
def reset_code() -> Any:
    """Enter the code and a new password; then sign in with it."""
    form = ResetForm()
    if request.method == "GET" and not form.login.data:
        form.login.data = browser_session.get(RESET_LOGIN, "")
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            # no savepoint: a wrong code's counted try must be kept (reset_password says why)
            reset_password(
                get_session(),
                form.login.data or "",
                form.code.data or "",
                form.new_password.data or "",
            )
        except VerifierError as error:
            form_errors, status = show_errors(form, error), error.status
        else:
            browser_session.pop(RESET_LOGIN, None)
            flash(_("Password changed; sign in with your new password"), "success")
            return redirect(url_for("auth.login"))
    elif request.method == "POST":
        status = 422
    return render_template(
        "accounts/reset_code.html",
        form=form,
        form_errors=form_errors,
        minutes=RESET_CODE_MINUTES,
        tries=RESET_CODE_MAX_TRIES,
    ), status

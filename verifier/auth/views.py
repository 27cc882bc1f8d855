"""Sign-in, sign-out and the user's API tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as browser_session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from verifier.auth.access import ANY_ROLE, public, require_actor, roles
from verifier.auth.models import VOLUNTEER
from verifier.auth.services import authenticate, create_token, end_sessions, revoke_token, tokens_of
from verifier.db import get_session, savepoint
from verifier.errors import VerifierError
from verifier.ratelimit import limiter
from verifier.web.forms import show_errors
from verifier.web.redirects import safe_local_target

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    # the login: an e-mail address, or a volunteer's mobile number (the field keeps its name)
    email = StringField("email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=1024)])


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=100)], render_kw={"maxlength": 100})


def _safe_next(target: str | None) -> str:
    return safe_local_target(target) or url_for("web.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit("20 per minute", methods=["POST"])
def login() -> Any:
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        session = get_session()
        result = authenticate(
            session,
            form.email.data or "",
            form.password.data or "",
            address=request.remote_addr or "",
        )
        # a failed attempt is counted: the 401 page below returns, so the count is committed
        if result.user is not None:
            # a fresh session on sign-in: nothing set before it (by anyone) carries over
            browser_session.clear()
            login_user(result.user)
            return redirect(_safe_next(request.args.get("next")))
        error = result.message
    elif request.method == "POST":
        error = _("Enter your e-mail address or mobile number and your password")
    status = 401 if error and request.method == "POST" else 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
@roles(*ANY_ROLE, VOLUNTEER)
def logout() -> Any:
    end_sessions(get_session(), require_actor())
    logout_user()
    browser_session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/account/tokens", methods=["GET", "POST"])
@roles(*ANY_ROLE, VOLUNTEER)
def tokens() -> Any:
    actor = require_actor()
    session = get_session()
    form = TokenForm()
    new_token = None
    status = 200
    if form.validate_on_submit():
        try:
            with savepoint():
                new_token = create_token(session, actor, form.name.data or "")
        except VerifierError as error:
            show_errors(form, error)
            status = error.status
    elif request.method == "POST":
        status = 422
    return render_template(
        "auth/tokens.html", form=form, tokens=tokens_of(session, actor), new_token=new_token
    ), status


@bp.post("/account/tokens/<int:token_id>/revoke")
@roles(*ANY_ROLE, VOLUNTEER)
def revoke(token_id: int) -> Any:
    actor = require_actor()
    form = TokenForm()
    if form.validate_on_submit():
        revoke_token(get_session(), token_id, actor)
        flash(_("Token revoked"), "success")
    return redirect(url_for("auth.tokens"))

"""Landing page, language switch, health check and the dashboard."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from sqlalchemy import text

from verifier import LOCALES
from verifier.auth.access import ANY_ROLE, current_actor, public, roles
from verifier.auth.models import VOLUNTEER
from verifier.db import get_session
from verifier.web.redirects import safe_local_target

bp = Blueprint("web", __name__)


@bp.get("/")
@public
def index() -> Any:
    if current_actor() is not None:
        return redirect(url_for("web.dashboard"))
    return render_template("web/index.html")


@bp.get("/lang/<code>")
@public
def set_language(code: str) -> Any:
    """Remember the chosen language in a cookie and go back."""
    target = safe_local_target(request.args.get("next")) or "/"
    response = make_response(redirect(target))
    if code in LOCALES:
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


@bp.get("/healthz")
@public
def healthz() -> Any:
    get_session().execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.get("/dashboard")
@roles(*ANY_ROLE, VOLUNTEER)
def dashboard() -> Any:
    from verifier.web.dashboard import dashboard_context

    actor = current_actor()
    if actor is not None and actor.is_volunteer:
        return redirect(url_for("portal.home"))  # a volunteer's own page is their start
    return render_template("web/dashboard.html", **dashboard_context(get_session(), actor))

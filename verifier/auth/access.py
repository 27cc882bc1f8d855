"""Who may call which route: every view declares a rule, and routes without one are refused."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from verifier.auth.models import ROLES, STAFF_ROLES, User
from verifier.errors import Forbidden, Unauthorized

PUBLIC = "public"
# every staff role; a volunteer's routes name VOLUNTEER explicitly
ANY_ROLE = STAFF_ROLES


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def current_actor() -> User | None:
    """Return the signed-in user: by Bearer token on the API, by session cookie on pages."""
    if is_api_request():
        return g.get("api_user")
    if current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def require_actor() -> User:
    actor = current_actor()
    if actor is None:
        raise Unauthorized(_("Sign-in required"))
    return actor


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view as open to anyone, signed in or not."""
    view.access_rule = PUBLIC  # type: ignore[attr-defined]  # read by the route check
    return view


def roles(*allowed: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Allow a view to the signed-in users with one of these roles."""
    unknown = set(allowed) - set(ROLES)
    if unknown or not allowed:
        raise ValueError(f"unknown roles {unknown}")
    rule = frozenset(allowed)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            actor = current_actor()
            if actor is None:
                if is_api_request():
                    raise Unauthorized(_("A Bearer token is required (Authorization: Bearer ...)"))
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if actor.role not in rule:
                raise Forbidden(_("Your role may not do this"))
            return view(*args, **kwargs)

        wrapper.access_rule = rule  # type: ignore[attr-defined]  # read by the route check
        return wrapper

    return decorate


def access_rule_of(endpoint: str) -> Any:
    """Return the declared rule of an endpoint, or None."""
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def refuse_undeclared_routes() -> None:
    """before_request hook: a route that declares no rule is closed to everyone."""
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static" or endpoint.endswith(".static"):
        return
    if access_rule_of(endpoint) is None:
        raise Forbidden(_("This route has no access rule"))

"""verifier: volunteer service records, signed certificates and spot checks."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from flask import session as browser_session
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from verifier import db
from verifier.config import INSTANCE_DIR, load_settings, resource_path
from verifier.ratelimit import limiter

LOCALES = ("zh", "en")
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()


def select_locale() -> str:
    """Pick the language: explicit choice (cookie), then the browser's, then Chinese."""
    if not has_request_context():
        return current_app.config["DEFAULT_LOCALE"]
    chosen = request.args.get("lang") or request.cookies.get("lang")
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES) or current_app.config["DEFAULT_LOCALE"]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then the environment, then the given dict; validated."""
    settings = load_settings(config)
    app = VerifierFlask(
        __name__,
        template_folder=str(resource_path("templates")),
        static_folder=str(resource_path("static")),
        instance_path=str(INSTANCE_DIR),
    )
    app.config.update(settings)
    secure = app.config["BASE_URL"].startswith("https://")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        # request bodies above this are refused before they are read (imports check their own limit)
        MAX_CONTENT_LENGTH=int(app.config["IMPORT_MAX_BYTES"]) + 1024 * 1024,
        BABEL_DEFAULT_LOCALE=app.config["DEFAULT_LOCALE"],
        BABEL_TRANSLATION_DIRECTORIES=str(resource_path("translations")),
        RATELIMIT_STORAGE_URI=app.config["RATELIMIT_STORAGE_URI"],
        RATELIMIT_HEADERS_ENABLED=True,
        WTF_CSRF_TIME_LIMIT=None,
        TESTING=app.config["ENV"] == "testing" or bool(app.config.get("TESTING")),
    )
    if "TESTING_CSRF" in app.config:
        app.config["WTF_CSRF_ENABLED"] = app.config["TESTING_CSRF"]

    if int(app.config["PROXY_HOPS"]) > 0:
        # behind a reverse proxy, the client's address (for rate limits) comes from X-Forwarded-For
        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]  # Flask's way to add WSGI middleware
    from verifier import jsonlimits
    from verifier.web import guards
    from verifier.web.ids import DatabaseIntegerConverter

    # before any rule is added: every <int:...> in a URL is an id that fits the database
    app.url_map.converters["int"] = DatabaseIntegerConverter
    db.init_app(app)
    # first of the hooks: no other (rate limits, CSRF, views) may parse a JSON body unchecked
    jsonlimits.register(app)
    guards.register(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = ""

    from verifier.auth.access import refuse_undeclared_routes
    from verifier.errors import register_error_handlers

    register_error_handlers(app)
    app.before_request(refuse_undeclared_routes)
    _register_blueprints(app)
    _connect_signals()
    _register_transaction_boundary(app)
    _register_template_helpers(app)

    from verifier.cli import register_commands

    register_commands(app)
    return app


@login_manager.user_loader  # type: ignore[untyped-decorator]  # Flask-Login has no type hints
def _load_user(user_id: str) -> Any:
    from verifier.auth.models import User

    user_part, _, epoch = user_id.partition(".")
    if not (user_part.isascii() and user_part.isdigit() and epoch.isascii() and epoch.isdigit()):
        return None
    user = db.get_session().get(User, int(user_part))
    if user is None or not user.active or user.session_epoch != int(epoch):
        return None  # signed out everywhere, deactivated, or a cookie from before
    return user


def _register_blueprints(app: Flask) -> None:
    """Register every blueprint, in one place; each module defines its blueprint and routes."""
    from verifier.accounts.views import bp as accounts_bp
    from verifier.api.routes import bp as api_bp
    from verifier.auth.views import bp as auth_bp
    from verifier.certificates.views import bp as certificates_bp
    from verifier.complaints.views import bp as complaints_bp
    from verifier.credentials.views import bp as credentials_bp
    from verifier.imports.views import bp as imports_bp
    from verifier.jobs.views import bp as jobs_bp
    from verifier.keys.views import bp as keys_bp
    from verifier.orgs.views import bp as orgs_bp
    from verifier.portal.certreqs_views import bp as certreqs_bp
    from verifier.portal.mydata_views import bp as mydata_bp
    from verifier.portal.presentations_views import bp as presentations_bp
    from verifier.portal.views import bp as portal_bp
    from verifier.records.views import bp as records_bp
    from verifier.spotchecks.views import bp as spotchecks_bp
    from verifier.succession.views import bp as succession_bp
    from verifier.supervision.public import bp as supervision_public_bp
    from verifier.supervision.views import bp as supervision_bp
    from verifier.users.views import bp as users_bp
    from verifier.verification.views import bp as verification_bp
    from verifier.volunteers.views import bp as volunteers_bp
    from verifier.web.views import bp as web_bp

    for blueprint in (
        web_bp,
        auth_bp,
        orgs_bp,
        users_bp,
        volunteers_bp,
        records_bp,
        imports_bp,
        keys_bp,
        verification_bp,
        credentials_bp,
        certificates_bp,
        spotchecks_bp,
        complaints_bp,
        supervision_bp,
        supervision_public_bp,
        jobs_bp,
        accounts_bp,
        portal_bp,
        certreqs_bp,
        mydata_bp,
        presentations_bp,
        succession_bp,
    ):
        app.register_blueprint(blueprint)
    csrf.exempt(api_bp)  # the API authenticates by Bearer token only, never by cookie
    app.register_blueprint(api_bp)  # every API route is on it: see verifier/api/routes.py


def _connect_signals() -> None:
    """Connect each feature's reactions to the signals of the features below it.

    A lower feature never imports a higher one: it sends a signal (its `signals.py`) and the
    higher feature's receiver (its `receivers.py`) does the work in the same session. The same
    `connect()` registers the handlers of the feature's jobs with `jobs`.
    Connecting twice is harmless.
    """
    from verifier.accounts import receivers as accounts
    from verifier.certificates import receivers as certificates
    from verifier.imports import receivers as imports
    from verifier.integrity import receivers as integrity
    from verifier.portal import receivers as portal
    from verifier.records import receivers as records
    from verifier.spotchecks import receivers as spotchecks
    from verifier.supervision import receivers as supervision
    from verifier.web import dashboard

    for feature in (records, dashboard, certificates, imports, integrity, spotchecks, supervision):
        feature.connect()
    accounts.connect()
    portal.connect()


# set in a request's WSGI environment when anything raised while it was handled
REQUEST_FAILED = "verifier.request_failed"


class VerifierFlask(Flask):
    """Flask that notes when a request raised, so that its transaction is rolled back.

    Every exception passes through one of these two methods, whether an error handler turns
    it into a 4xx answer or it becomes a 500, and whether a view or a before_request hook
    (rate limit, CSRF, access rule) raised it.
    """

    def handle_user_exception(self, e: Exception) -> Any:
        request.environ[REQUEST_FAILED] = True
        return super().handle_user_exception(e)

    def handle_exception(self, e: Exception) -> Any:
        request.environ[REQUEST_FAILED] = True
        return super().handle_exception(e)


def _register_transaction_boundary(app: Flask) -> None:
    """Commit a request's session when its view returned; roll back when anything raised.

    The answer's status does not matter: a view that returns a 4xx page keeps what it wrote
    (a failed sign-in is counted), and a view that catches an error runs the failed step in
    a savepoint (`verifier.db.savepoint`) so that nothing of it is kept.
    """

    @app.after_request
    def _commit(response: Any) -> Any:
        session = g.get("db_session")
        if session is not None:
            if request.environ.get(REQUEST_FAILED):
                session.rollback()
            else:
                session.commit()
        return response

    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "frame-ancestors 'none'",
        )
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if g.get("api_user") is not None or _signed_in_by_cookie():
            # what a signed-in user sees is theirs: no shared cache, no copy left on disk
            response.headers.setdefault("Cache-Control", "private, no-store")
        return response


def _signed_in_by_cookie() -> bool:
    if current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return False
    return "_user_id" in browser_session


def _register_template_helpers(app: Flask) -> None:
    from verifier.web import formatting

    formatting.register(app)

"""The project's exceptions, and their translation into HTTP answers at the edge."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldError:
    """One broken rule on one field."""

    field: str
    rule: str
    message: str


class VerifierError(Exception):
    """Base of every error the service reports to a user."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = list(errors or [])

    def to_problem(self) -> dict[str, Any]:
        problem: dict[str, Any] = {
            "type": f"urn:verifier:problem:{self.code}",
            "title": self.code.replace("_", " "),
            "status": self.status,
            "detail": self.message,
        }
        if self.errors:
            problem["errors"] = [asdict(error) for error in self.errors]
        return problem


class ValidationError(VerifierError):
    """Input breaks a rule; names the field and the rule."""

    status = 422
    code = "validation_error"

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        rule: str | None = None,
        errors: list[FieldError] | None = None,
    ) -> None:
        errors = list(errors or [])
        if field is not None and message is not None:
            errors.insert(0, FieldError(field, rule or "invalid", message))
        if message is None:
            message = "; ".join(f"{e.field}: {e.message}" for e in errors) or _("Invalid input")
        super().__init__(message, errors=errors)

    @property
    def first(self) -> FieldError | None:
        return self.errors[0] if self.errors else None


class BadRequest(VerifierError):
    status = 400
    code = "bad_request"


class Unauthorized(VerifierError):
    status = 401
    code = "unauthorized"


class Forbidden(VerifierError):
    status = 403
    code = "forbidden"


class NotFound(VerifierError):
    status = 404
    code = "not_found"


class Conflict(VerifierError):
    status = 409
    code = "conflict"


class PayloadTooLarge(VerifierError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(VerifierError):
    status = 415
    code = "unsupported_media_type"


class TooManyRequests(VerifierError):
    status = 429
    code = "too_many_requests"


def wants_json() -> bool:
    """Tell whether the current request should be answered with problem+json."""
    if request.path.startswith("/api/") or request.path.startswith("/.well-known/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def problem_response(error: VerifierError, headers: dict[str, str] | None = None) -> Any:
    """Answer with RFC 9457 problem+json, or a page for a browser."""
    if wants_json():
        body = error.to_problem()
        body["instance"] = request.path
        response = jsonify(body)
        response.status_code = error.status
        response.mimetype = "application/problem+json"
    else:
        response = app_response_html(error)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    if error.status == 401 and request.path.startswith("/api/"):
        response.headers["WWW-Authenticate"] = 'Bearer realm="verifier"'
    return response


def app_response_html(error: VerifierError) -> Any:
    from flask import make_response

    html = render_template("errors/error.html", error=error)
    return make_response(html, error.status)


_HTTP_MESSAGES = {
    400: ("bad_request", _l("The request could not be understood")),
    401: ("unauthorized", _l("Sign-in required")),
    403: ("forbidden", _l("You are not allowed to do this")),
    404: ("not_found", _l("Not found")),
    405: ("method_not_allowed", _l("Method not allowed")),
    413: ("payload_too_large", _l("The upload is too large")),
    415: ("unsupported_media_type", _l("Unsupported media type")),
    429: ("too_many_requests", _l("Too many requests; try again later")),
}


class _HTTPWrapped(VerifierError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def register_error_handlers(app: Flask) -> None:
    """Translate project, HTTP, database and unexpected errors into clear answers."""

    @app.errorhandler(VerifierError)
    def _verifier_error(error: VerifierError) -> Any:
        return problem_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        status = error.code or 500
        code, default = _HTTP_MESSAGES.get(status, ("http_error", error.name))
        message = str(default)
        description = getattr(error, "description", None)
        if status in (400, 429) and description and "CSRF" in str(description):
            message = _("The form expired or is missing its security token; reload and try again")
        elif status == 429:
            message = _("Too many requests; try again later")
        headers = {}
        if status == 405 and error.get_response().headers.get("Allow"):
            headers["Allow"] = error.get_response().headers["Allow"]
        retry_after = getattr(error, "retry_after", None)  # Flask-Limiter's 429 has one
        if status == 429 and retry_after:
            headers["Retry-After"] = str(retry_after)
        return problem_response(_HTTPWrapped(status, code, message), headers)

    @app.errorhandler(DBAPIError)
    def _database_error(error: DBAPIError) -> Any:
        log.exception("database error")
        text = str(error.orig).lower() if error.orig else ""
        if "locked" in text or "deadlock" in text or "could not serialize" in text:
            return problem_response(
                Conflict(_("The data is being changed by someone else; try again"))
            )
        return problem_response(_HTTPWrapped(500, "internal_error", _("Internal error")))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        log.exception("unexpected error")
        return problem_response(
            _HTTPWrapped(500, "internal_error", _("Internal error; the problem was logged"))
        )

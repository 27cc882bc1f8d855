"""The OpenAPI 3.1 document at /api/v1/openapi.json, built from the routes and their models.

Each API view carries its documentation through `@operation(...)` (placed under `@roles`/`@public`);
the document walks the app's route map, so its paths are the routes that exist. Roles come from
the view's access rule, request and response bodies from the pydantic models.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from flask import current_app
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema
from werkzeug.routing.rules import parse_converter_args

from verifier.api import bp
from verifier.api.schemas import INT32_MAX, OutputModel, Problem
from verifier.auth.access import PUBLIC, public

REF = "#/components/schemas/{model}"
# which JSON schema of a model the document shows: what a request may send, or what an answer holds
SchemaMode = Literal["validation", "serialization"]
PROBLEM_JSON = "application/problem+json"
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})

API_DESCRIPTION = """\
The JSON API of the volunteer service-record keeper (志愿服务记录).

**Authentication.** Every route except this document needs an API token:
`Authorization: Bearer vfr_...`. A token belongs to a user and acts with that user's role
and organisation. Organisation users (`org_admin`, `org_recorder`) see and change only
their own organisation's data: another organisation's volunteer or record answers 404, as if
it did not exist. Regulators (`regulator_supervisor`, `regulator_inspector`) and
`platform_admin` read every organisation's data; regulators never change any (403).

**Bodies.** Requests send `Content-Type: application/json` with a JSON object. Fields the
API does not know are refused (422, rule `extra_forbidden`), so a misspelt optional field is
never silently dropped; unknown query parameters are refused the same way. Types are strict:
`minutes` is a JSON integer (not `"180"`, `180.5` or `true`), booleans are `true`/`false`.
Text is stored as given (after trimming surrounding whitespace) and returned unchanged; it is
escaped where it is shown.

**Times.** ISO 8601. A time with an offset is taken as given; one without is Asia/Shanghai
local time. Answers give every time with the +08:00 offset. Service time is whole `minutes`;
`hours` is the same time shown with two decimals, as a string ("2.50").

**Errors.** `application/problem+json` (RFC 9457): `status`, `title`, `detail`, and for 422
an `errors` list of `{field, rule, message}`. 400: the body is not JSON or not an object, or
it nests arrays and objects more than 32 levels deep (rule `max_depth`); 413: a JSON body over
4 MB (rule `max_bytes`), both limits checked before the body is parsed (settings
VERIFIER_JSON_MAX_DEPTH and VERIFIER_JSON_MAX_BYTES); 415: not sent as JSON; 401: no valid
token (missing, unknown or revoked); 403: the role may not do this, or the organisation is not
active; 404: no such object, or one of another organisation (an id above 2147483647 in a path
cannot exist: 404 too); 409: a conflict with the stored state (a duplicate, a voided record);
422: a field breaks a rule (an id or page number out of range included).

**Signatures: two levels of keys.** Each organisation signs its certificates (the QR token, a
compact JWS, `alg` EdDSA, `typ` vsc+jwt, `kid` the key's RFC 7638 thumbprint) and their W3C
credentials with its own Ed25519 key; the platform's root key endorses every organisation key
(organisation, USCC, key, valid from, valid until or revoked at) and signs the trust list,
`GET /.well-known/issuers.json` (a flattened JWS of `{kid, jwk, role, uscc, name, did,
valid_from, valid_until, status, ...}` per key), the status lists and the audit checkpoints.
`GET /.well-known/jwks.json` lists the root and every organisation key (the latter with
`uscc`); an organisation's DID is `did:web:{host}:orgs:{uscc}` (`GET /orgs/{uscc}/did.json`).
Certificates issued before organisation keys are signed by a root key, which the trust list
marks as their issuer (`role` root, `certificates_until`). To check a certificate offline:
verify the trust list with a root key of the JWKS; find the token's `kid` in it; verify the
token with that entry's `jwk`; require the entry's `uscc` to be the token's and the token's
`iat` to lie in the key's validity; then ask `POST /verifications` for the current status.
Step by step, with a worked example: docs/verification.md in the repository.
"""


@dataclass(frozen=True)
class Operation:
    """The documentation of one API route and method; every schema in it is a pydantic model."""

    summary: str
    tag: str
    description: str = ""
    body: type[BaseModel] | None = None  # a JSON request body
    body_required: bool = True  # False: the body may be left out
    form: type[BaseModel] | None = None  # a multipart/form-data request body (uploads)
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    # further answers: status -> (description, model or None)
    responses: dict[int, tuple[str, type[BaseModel] | None]] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    # a success answer that is not application/json: with `response`, the model's JSON under
    # this media type ("application/vc"); without, a file ("image/png", "application/pdf")
    media: str | tuple[str, ...] | None = None

    def models(self) -> list[tuple[type[BaseModel], SchemaMode]]:
        """Return the models this operation documents, each with its JSON schema mode."""
        found: list[tuple[type[BaseModel], SchemaMode]] = [
            (m, "validation") for m in (self.body, self.form) if m is not None
        ]
        outputs = (Problem, self.response, *(model for _text, model in self.responses.values()))
        return found + [(m, "serialization") for m in outputs if m is not None]


def operation(**fields: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Attach the OpenAPI documentation of a view (place it under @roles or @public)."""
    doc = Operation(**fields)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        view.openapi = doc  # type: ignore[attr-defined]  # read by build_document
        return view

    return decorate


_ERROR_TEXT = {
    400: "The body is not a JSON object, nests deeper than the limit (`max_depth`), or the "
    "request is malformed.",
    401: "No valid Bearer token (missing, unknown or revoked).",
    403: "The caller's role may not do this, or the organisation is not active.",
    404: "No such object, or one the caller may not see.",
    409: "Conflicts with the stored state.",
    413: "The body (`max_bytes`) or the upload is too large, or the file is beyond a cap.",
    415: "The body is not sent as JSON (or, for uploads, not as multipart/form-data).",
    422: "A field breaks a rule; `errors` names each field and rule.",
    429: "Too many requests; try again later (see Retry-After).",
}
TAG_DESCRIPTIONS = {
    "organisations": "Organisations that keep records (registered by the platform admin).",
    "volunteers": "Volunteers; ID numbers and phones are only ever shown masked.",
    "records": "Service records, corrections, voiding, history, import.",
    "audit": "The audit log's signed checkpoints, for anyone to copy and check.",
    "meta": "This document.",
    "jobs": "Long work done off the request: big imports, bulk issuance, large campaign draws.",
    "me": "A volunteer's own account (role `volunteer`): their records in every organisation, "
    "receipts to confirm or dispute, totals and star level.",
}
PATH_PARAMETER = re.compile(
    r"<(?:(?P<converter>[^<>:(]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>[^<>:]+)>"
)


def openapi_path(rule: str) -> str:
    """Turn a Flask rule (`/records/<int(max=...):record_id>`) into an OpenAPI path."""
    return PATH_PARAMETER.sub(lambda m: "{" + m["name"] + "}", rule)


def path_parameters(rule: str) -> list[dict[str, Any]]:
    """Describe the parameters of a Flask rule as its converters accept them."""
    parameters = []
    for match in PATH_PARAMETER.finditer(rule):
        args = parse_converter_args(match["args"])[1] if match["args"] else {}
        if match["converter"] == "int":
            schema: dict[str, Any] = {
                "type": "integer",
                "minimum": args.get("min", 1),
                "maximum": args.get("max", INT32_MAX),
            }
        else:  # werkzeug's string converter: one path segment, 1 character or more
            schema = {"type": "string", "minLength": args.get("minlength", 1), "pattern": "^[^/]+$"}
            if "maxlength" in args:
                schema["maxLength"] = args["maxlength"]
        parameters.append({"name": match["name"], "in": "path", "required": True, "schema": schema})
    return parameters


Found = dict[tuple[str, str], tuple[Operation, Any, list[dict[str, Any]]]]


def api_operations() -> Found:
    """Return (method, path) -> (documentation, access rule, path parameters) for the API."""
    found: Found = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith(bp.url_prefix or "/api/v1"):
            continue
        view = current_app.view_functions.get(rule.endpoint)
        doc = getattr(view, "openapi", None)
        if doc is None:  # undocumented: left out, and the route test fails
            continue
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            found[(method, openapi_path(rule.rule))] = (
                doc,
                getattr(view, "access_rule", None),
                path_parameters(rule.rule),
            )
    return found


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _content(model: type[BaseModel] | None, *media: str) -> dict[str, Any]:
    if model is None:
        return {}
    return {"content": {m: {"schema": _ref(model)} for m in media or ("application/json",)}}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in prop:
            parameter["description"] = prop.pop("description")
        parameter["schema"] = prop
        parameters.append(parameter)
    return parameters


def _roles_text(rule: Any) -> tuple[str, list[str]]:
    if rule == PUBLIC:
        return "Public: no token needed.", []
    names = sorted(rule or ())
    return "Roles: " + ", ".join(f"`{n}`" for n in names) + ".", names


def error_statuses(method: str, doc: Operation, rule: Any, has_path_params: bool) -> set[int]:
    """Return the error statuses an operation may answer, besides those it names itself."""
    errors = set(doc.errors)
    if rule != PUBLIC:
        errors |= {401, 403}
    if has_path_params:
        errors.add(404)
    if method in ("POST", "PUT", "PATCH"):
        # any body sent as JSON is checked for size (413) and depth (400) before the view runs
        errors |= {400, 413}
    if doc.body is not None:
        errors |= {415, 422}
    if doc.form is not None:
        errors |= {422}
    if doc.query is not None:
        errors.add(422)
    return errors


def _success_content(doc: Operation) -> dict[str, Any]:
    media = (doc.media,) if isinstance(doc.media, str) else tuple(doc.media or ())
    if doc.response is not None:
        return _content(doc.response, *media)
    if media:
        return {
            "content": {m: {"schema": {"type": "string", "contentMediaType": m}} for m in media}
        }
    return {}


def _operation_object(
    method: str, path: str, doc: Operation, rule: Any, path_params: list[dict[str, Any]]
) -> dict[str, Any]:
    roles_text, role_names = _roles_text(rule)
    op: dict[str, Any] = {
        "operationId": f"{method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
        "summary": doc.summary,
        "description": (doc.description + "\n\n" if doc.description else "") + roles_text,
        "tags": [doc.tag],
        "x-roles": role_names,
    }
    if rule == PUBLIC:
        op["security"] = []
    parameters = list(path_params)
    if doc.query is not None:
        parameters += _query_parameters(doc.query)
    if parameters:
        op["parameters"] = parameters
    bodies = {}
    if doc.body is not None:
        bodies["application/json"] = {"schema": _ref(doc.body)}
    if doc.form is not None:
        bodies["multipart/form-data"] = {"schema": _ref(doc.form)}
    if bodies:
        op["requestBody"] = {"required": doc.body_required, "content": bodies}
    responses: dict[str, Any] = {
        str(doc.status): {"description": "Success.", **_success_content(doc)}
    }
    for status, (text, model) in doc.responses.items():
        responses[str(status)] = {"description": text, **_content(model)}
    for status in sorted(error_statuses(method, doc, rule, bool(path_params))):
        responses[str(status)] = {
            "description": _ERROR_TEXT.get(status, "An error; see `detail`."),
            **_content(Problem, PROBLEM_JSON),
        }
    op["responses"] = responses
    return op


def build_document() -> dict[str, Any]:
    """Build the OpenAPI 3.1 document of the API as it is registered in this app."""
    operations = api_operations()
    models: dict[type[BaseModel], SchemaMode] = {}
    for doc, _rule, _params in operations.values():
        for model, mode in doc.models():
            if models.setdefault(model, mode) != mode:
                raise TypeError(f"{model.__name__} is documented as both a request and an answer")
    _keys, definitions = models_json_schema(list(models.items()), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), (doc, rule, params) in sorted(operations.items()):
        paths.setdefault(path, {})[method.lower()] = _operation_object(
            method, path, doc, rule, params
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "verifier: volunteer service records",
            "version": "1.0.0",
            "description": API_DESCRIPTION,
        },
        "servers": [{"url": current_app.config.get("BASE_URL", "/").rstrip("/") or "/"}],
        "security": [{"bearerAuth": []}],
        "tags": [
            {"name": tag, "description": TAG_DESCRIPTIONS[tag]}
            if tag in TAG_DESCRIPTIONS
            else {"name": tag}
            for tag in sorted({doc.tag for doc, _rule, _params in operations.values()})
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (vfr_...) created with `verifier tokens create` "
                    "or on the tokens page; shown once, revocable.",
                }
            },
            "schemas": definitions.get("$defs", {}),
        },
    }


class OpenAPIDocument(OutputModel):
    """This document (OpenAPI 3.1)."""

    model_config = ConfigDict(extra="allow")

    openapi: str = Field(examples=["3.1.0"])
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


@bp.get("/openapi.json")
@public
@operation(summary="This OpenAPI 3.1 document", tag="meta", response=OpenAPIDocument)
def openapi_document() -> Any:
    """Serve the OpenAPI document (built once per app)."""
    document = current_app.extensions.get("verifier.openapi")
    if document is None:
        document = build_document()
        current_app.extensions["verifier.openapi"] = document
    return document

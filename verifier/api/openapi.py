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
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from verifier.api import bp
from verifier.api.schemas import INT32_MAX, OutputModel, Problem
from verifier.auth.access import PUBLIC, public

REF = "#/components/schemas/{model}"
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
"""


@dataclass(frozen=True)
class Operation:
    """The documentation of one API route and method."""

    summary: str
    tag: str
    description: str = ""
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    # further answers: status -> (description, model or None)
    responses: dict[int, tuple[str, type[BaseModel] | None]] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    request_body: dict[str, Any] | None = None  # a hand-written request body (multipart)
    media: str | None = None  # a success answer that is not JSON: "image/png", "application/pdf"


def operation(**fields: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Attach the OpenAPI documentation of a view (place it under @roles or @public)."""
    doc = Operation(**fields)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        view.openapi = doc  # type: ignore[attr-defined]  # read by build_document
        return view

    return decorate


# The import route is written by the imports feature; documented here so the document is complete
# even while that view carries no @operation of its own.
class ImportRejection(OutputModel):
    line: int = Field(description="Line in the file (the header is line 1).")
    column: str = Field(
        description="The column's header as written in the file, or '' for the row."
    )
    message: str


class ImportReport(OutputModel):
    imported: int = Field(description="Rows written (0 on a dry run).")
    skipped: int = Field(
        description="Rows already recorded before (importing again never duplicates)."
    )
    rejected: list[ImportRejection]


IMPORT_OPERATION = Operation(
    summary="Import records from a CSV or XLSX file",
    tag="records",
    description=(
        "Upload a file of service records for the caller's organisation as "
        "`multipart/form-data`, field `file`. Columns `name,id_type,id_number,activity,place,"
        "started_at,ended_at,minutes,content` or the Chinese headers `姓名,证件类型,证件号码,"
        "活动名称,服务地点,开始时间,结束时间,服务时长（分钟）,服务内容`; UTF-8 (with or "
        "without BOM) or GB18030/GBK; times like `2026-03-05 09:00` in local time. A volunteer "
        "not yet known is registered. With `dry_run` nothing is written and every row is "
        "checked; with `all_or_nothing` nothing is written if any row fails; otherwise every "
        "valid row is written and the others are reported. A file beyond a cap is refused "
        "whole before any row is written, `errors[0].rule` naming the cap: 413 for `max_rows` "
        "(100,000 rows), `max_unpacked_bytes` (200 MB unpacked), `max_zip_ratio` (a part "
        "compressed over 100 times), `max_shared_strings` (1,000,000), "
        "`max_shared_string_chars` (20,000,000), `max_part_bytes`, `max_unit_bytes`, "
        "`max_zip_members`; 422 for `max_columns` (256) and `line_too_long`. A file larger than "
        "`VERIFIER_IMPORT_SYNC_MAX_BYTES` (default 64 KB) is imported by a job: answers 202 "
        "with the job (`Location` is the job; poll it until `status` is `succeeded` or "
        "`failed`; its `result` is then exactly this report), as does any file sent with "
        "`Prefer: respond-async` (RFC 7240)."
    ),
    response=ImportReport,
    responses={202: ("Queued as a job; poll `Location` (GET /api/v1/jobs/{id}).", None)},
    request_body={
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "contentMediaType": "application/octet-stream"},
                        "dry_run": {"type": "boolean", "default": False},
                        "all_or_nothing": {"type": "boolean", "default": False},
                    },
                }
            }
        },
    },
    errors=(400, 413, 415, 422),
)
EXTERNAL_OPERATIONS = {("POST", "/api/v1/records/import"): IMPORT_OPERATION}

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
}
PATH_PARAMETER = re.compile(r"<(?:(?P<converter>[^<>:(]+)(?:\([^)]*\))?:)?(?P<name>[^<>:]+)>")


def openapi_path(rule: str) -> str:
    """Turn a Flask rule (`/records/<int(max=...):record_id>`) into an OpenAPI path."""
    return PATH_PARAMETER.sub(lambda m: "{" + m["name"] + "}", rule)


def path_parameters(rule: str) -> list[dict[str, Any]]:
    """Describe the parameters of a Flask rule: integers (ids) or strings."""
    parameters = []
    for match in PATH_PARAMETER.finditer(rule):
        if match["converter"] == "int":
            schema: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": INT32_MAX}
        else:
            schema = {"type": "string"}
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
        path = openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            doc = getattr(view, "openapi", None) or EXTERNAL_OPERATIONS.get((method, path))
            if doc is not None:
                found[(method, path)] = (
                    doc,
                    getattr(view, "access_rule", None),
                    path_parameters(rule.rule),
                )
    for (method, path), doc in EXTERNAL_OPERATIONS.items():
        if (method, path) not in found:
            found[(method, path)] = (doc, frozenset({"org_admin", "org_recorder"}), [])
    return found


def _content(model: type[BaseModel] | None, media: str = "application/json") -> dict[str, Any]:
    if model is None:
        return {}
    return {"content": {media: {"schema": {"$ref": REF.format(model=model.__name__)}}}}


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
    if doc.request_body is not None:
        op["requestBody"] = doc.request_body
    elif doc.body is not None:
        op["requestBody"] = {"required": True, **_content(doc.body)}
    success: dict[str, Any] = {"description": "Success.", **_content(doc.response)}
    if doc.media is not None:
        success["content"] = {
            doc.media: {"schema": {"type": "string", "contentMediaType": doc.media}}
        }
    responses: dict[str, Any] = {str(doc.status): success}
    for status, (text, model) in doc.responses.items():
        responses[str(status)] = {"description": text, **_content(model)}
    errors = set(doc.errors)
    if rule != PUBLIC:
        errors |= {401, 403}
    if path_params:
        errors.add(404)
    if doc.body is not None:
        errors |= {400, 413, 415, 422}
    if doc.query is not None:
        errors.add(422)
    for status in sorted(errors):
        responses[str(status)] = {
            "description": _ERROR_TEXT.get(status, "An error; see `detail`."),
            **_content(Problem, PROBLEM_JSON),
        }
    op["responses"] = responses
    return op


def build_document() -> dict[str, Any]:
    """Build the OpenAPI 3.1 document of the API as it is registered in this app."""
    operations = api_operations()
    models: dict[str, type[BaseModel]] = {"Problem": Problem}
    for doc, _rule, _params in operations.values():
        for model in (doc.body, doc.response, *(m for _t, m in doc.responses.values())):
            if model is not None:
                models[model.__name__] = model
    modes: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (m, "validation" if _is_input(m, operations) else "serialization") for m in models.values()
    ]
    _keys, definitions = models_json_schema(modes, ref_template=REF)
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


def _is_input(model: type[BaseModel], operations: dict[Any, Any]) -> bool:
    return any(doc.body is model for doc, _r, _p in operations.values())


@bp.get("/openapi.json")
@public
@operation(summary="This OpenAPI 3.1 document", tag="meta")
def openapi_document() -> Any:
    """Serve the OpenAPI document (built once per app)."""
    document = current_app.extensions.get("verifier.openapi")
    if document is None:
        document = build_document()
        current_app.extensions["verifier.openapi"] = document
    return document

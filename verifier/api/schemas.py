"""Shared pieces of the JSON API: reading input into pydantic models, field types, answers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

from flask import jsonify, request
from flask_babel import gettext as _
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from verifier.db import MAX_ID
from verifier.errors import BadRequest, FieldError, UnsupportedMediaType, ValidationError
from verifier.paging import MAX_PAGE, MAX_PER_PAGE
from verifier.text import bad_characters
from verifier.timeutil import local_zone, parse_local_datetime, to_local

# Ids and minutes are 32-bit integers in the database; a bigger number must be refused
# here, not reach the driver (SQLite overflows, PostgreSQL raises "out of range").
INT32_MAX = MAX_ID

M = TypeVar("M", bound=BaseModel)


class InputModel(BaseModel):
    """A request body or query string: fields the API does not know are refused."""

    model_config = ConfigDict(extra="forbid")


class OutputModel(BaseModel):
    """A response body."""


def _parse_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "datetime_type", "must be a date and time written as a string (ISO 8601)"
        )
    try:
        parsed = parse_local_datetime(value)
        parsed.astimezone(UTC)  # a year at the edge of the calendar cannot be stored
    except (ValueError, OverflowError):
        raise PydanticCustomError(
            "datetime_format",
            "must be a date and time in ISO 8601, e.g. 2026-03-05T09:00:00+08:00 "
            "(without an offset it is taken as local time, {zone})",
            {"zone": str(local_zone())},
        ) from None
    return parsed


def _parse_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        if not isinstance(value, str):
            raise ValueError
        return date.fromisoformat(value.strip())
    except ValueError:
        raise PydanticCustomError("date_format", "must be a date written as YYYY-MM-DD") from None


def _check_text(value: str) -> str:
    # A lone surrogate (valid in JSON, "\ud800") cannot be encoded as UTF-8 at all; control
    # characters (PostgreSQL refuses NUL) and invisible ones follow the rules of verifier.text.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("unicode", "is not valid Unicode text") from None
    found = bad_characters(value)
    if found is not None:
        rule, chars = found
        raise PydanticCustomError(
            rule, "contains a character it may not hold ({chars})", {"chars": chars}
        )
    return value


# Every text field of a request: a JSON string, without control characters (tab and line
# breaks allowed) or invisible formatting characters, and valid Unicode; stored as given otherwise.
Text = Annotated[StrictStr, AfterValidator(_check_text)]
QueryText = Annotated[str, AfterValidator(_check_text)]

LocalDateTime = Annotated[
    datetime,
    BeforeValidator(_parse_datetime),
    Field(
        description="ISO 8601 date and time; with an offset (+08:00, Z), or without one for "
        "local time (VERIFIER_TIMEZONE, Asia/Shanghai by default). Answers always carry the "
        "offset. A local time the clocks skipped (daylight saving) is refused "
        "(`nonexistent_local_time`); one they showed twice needs its offset "
        "(`ambiguous_local_time`). Spans are real elapsed time.",
        examples=["2026-03-05T09:00:00+08:00"],
    ),
]
IsoDate = Annotated[date, BeforeValidator(_parse_date), Field(examples=["1990-03-07"])]
# A file sent in a multipart/form-data field (the import file, evidence), as documented.
UploadedFile = Annotated[
    bytes, WithJsonSchema({"type": "string", "contentMediaType": "application/octet-stream"})
]
# The id of a stored row (a volunteer, a record ...): a JSON integer that fits the column.
RecordId = Annotated[StrictInt, Field(ge=1, le=INT32_MAX)]


def local(moment: datetime | None) -> datetime | None:
    """Return a stored UTC time in local time, as answers show it."""
    return to_local(moment) if moment is not None else None


class PageQuery(InputModel):
    """Paging of a list (`verifier.paging.paginate` reads the page)."""

    page: int = Field(1, ge=1, le=MAX_PAGE, description="Page number, from 1.")
    per_page: int = Field(
        50, ge=1, le=MAX_PER_PAGE, description=f"Items per page (at most {MAX_PER_PAGE})."
    )


P = TypeVar("P", bound="PageOut")


class PageOut(OutputModel):
    """One page of a list; a subclass declares `items`."""

    page: int
    per_page: int
    total: int = Field(description="Number of items over all pages.")

    @classmethod
    def of(cls: type[P], query: PageQuery, rows: list[Any], total: int, out: Any) -> P:
        """Answer the page `paginate` read for this query, each row written by `out`."""
        items = [out(row) for row in rows]
        # `items` is declared by each subclass, so this base class cannot name it in its signature
        return cls(items=items, page=query.page, per_page=query.per_page, total=total)  # type: ignore[call-arg]  # subclass field


class FieldErrorOut(OutputModel):
    field: str = Field(description="The field, as a dotted path (e.g. `minutes`, `reason`).")
    rule: str = Field(description="The rule broken, e.g. `int_type`, `id_checksum`, `no_overlap`.")
    message: str


class Problem(OutputModel):
    """An error, as RFC 9457 application/problem+json."""

    type: str = Field(examples=["urn:verifier:problem:validation_error"])
    title: str
    status: int
    detail: str = Field(description="A sentence for a person.")
    instance: str = Field(description="The request path.")
    errors: list[FieldErrorOut] = Field(
        default_factory=list, description="For 422: each broken rule with its field."
    )


# Messages for pydantic's error types, written as a predicate after the field's name.
def _predicate(error: ErrorDetails) -> str | None:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("is required")
    if kind == "extra_forbidden":
        return _("is not a field of this request (unknown fields are refused; check the spelling)")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _("must be a whole number (e.g. 180), not a string, a fraction or true/false")
    if kind in ("string_type",):
        return _("must be a string")
    if kind in ("bool_type", "bool_parsing"):
        return _("must be true or false")
    if kind == "greater_than_equal":
        return _("must be at least %(n)s", n=ctx.get("ge"))
    if kind == "less_than_equal":
        return _("must be at most %(n)s", n=ctx.get("le"))
    if kind == "string_too_long":
        return _("is longer than %(n)s characters", n=ctx.get("max_length"))
    if kind in ("literal_error", "enum"):
        return _("must be one of %(values)s", values=ctx.get("expected"))
    if kind in ("model_type", "dict_type"):
        return _("must be a JSON object")
    if kind == "datetime_type":
        return _("must be a date and time written as a string (ISO 8601)")
    if kind == "datetime_format":
        return _(
            "must be a date and time in ISO 8601, e.g. 2026-03-05T09:00:00+08:00 "
            "(without an offset it is taken as local time, %(zone)s)",
            zone=ctx.get("zone") or str(local_zone()),
        )
    if kind == "date_format":
        return _("must be a date written as YYYY-MM-DD")
    if kind == "control_character":
        return _("contains a control character (%(chars)s)", chars=ctx.get("chars", ""))
    if kind == "invisible_character":
        return _(
            "contains an invisible formatting character (%(chars)s), such as a bidirectional "
            "override or a zero-width space; remove it",
            chars=ctx.get("chars", ""),
        )
    if kind == "unicode":
        return _("is not valid Unicode text")
    return None


def field_errors(exc: PydanticValidationError) -> list[FieldError]:
    """Turn pydantic's errors into the API's field errors: dotted field, rule, message."""
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        # a rule over several fields (a model's own check) may name the field it is about
        named = (error.get("ctx") or {}).get("field")
        field = ".".join(str(part) for part in error["loc"]) or named or "body"
        predicate = _predicate(error)
        message = f"{field} {predicate}" if predicate else f"{field}: {error['msg']}"
        # a code field (a StrEnum) answers with the rule its Literal type had: the rule is published
        rule = "literal_error" if error["type"] == "enum" else error["type"]
        errors.append(FieldError(field=field, rule=rule, message=message))
    return errors


def validate(model: type[M], data: dict[str, Any]) -> M:
    """Validate data against a model, or raise the project's ValidationError (422)."""
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        errors = field_errors(exc)
        raise ValidationError("; ".join(e.message for e in errors), errors=errors) from None


def read_json(model: type[M]) -> M:
    """Read the request's JSON object into a model; 415, 400 or 422 when it cannot be."""
    if not request.is_json:
        raise UnsupportedMediaType(
            _("send the request body as JSON, with the header Content-Type: application/json")
        )
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise BadRequest(_("the request body is empty; send a JSON object"))
    try:
        # limit_json_body checked size and depth before this request reached the view
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise BadRequest(_("the request body is not UTF-8 text")) from None
    except json.JSONDecodeError as exc:
        raise BadRequest(
            _("the request body is not valid JSON: %(reason)s", reason=str(exc))
        ) from None
    except ValueError:  # a number of more than 4,300 digits, which Python will not read
        raise BadRequest(_("the request body holds a number too long to read")) from None
    if not isinstance(data, dict):
        raise BadRequest(_("the request body must be a JSON object ({...})"))
    return validate(model, data)


def read_query(model: type[M]) -> M:
    """Read the query string into a model (each parameter once); 422 when it does not fit."""
    return validate(model, request.args.to_dict())


def answer(body: BaseModel, status: int = 200, location: str | None = None) -> Any:
    """Answer with a response model as JSON."""
    response = jsonify(body.model_dump(mode="json"))
    response.status_code = status
    if location:
        response.headers["Location"] = location
    return response

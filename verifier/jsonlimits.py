"""Limits on untrusted JSON: its size and nesting depth, checked before anything parses it.

Python's `json` module parses nested arrays and objects by recursion, so a body of a few
hundred kilobytes of `[` raises RecursionError (and pydantic would recurse again). Every JSON
body of a request passes `limit_json_body` (a `before_request` hook registered by `create_app`),
and every other parse of JSON from outside (a JWKS file or URL, a spot-check manifest) goes
through `loads`, so none of them can get that far.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from flask import Flask, current_app, request
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from verifier.errors import BadRequest, FieldError, PayloadTooLarge

# Limits of `loads` (files the command line reads); request bodies have the settings
# VERIFIER_JSON_MAX_BYTES and VERIFIER_JSON_MAX_DEPTH, with the same defaults. The deepest
# document the service takes (a spot-check plan with its parameters, a manifest) is about 4
# levels deep; a batch of 1,000 verifications is about 0.7 MB.
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_DEPTH = 32

# A JSON string (escapes included): what is inside one is text, not structure.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class JsonLimitExceeded(ValueError):
    """A JSON text is beyond a limit; it was not parsed."""

    rule = "json_limit"

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class JsonTooLarge(JsonLimitExceeded):
    rule = "max_bytes"


class JsonTooDeep(JsonLimitExceeded):
    rule = "max_depth"


def nesting_depth(data: bytes | str) -> int:
    """Return how deeply arrays and objects nest in a JSON text, without parsing it.

    Brackets inside strings do not count. Runs in C over the bytes (a regular expression, a
    translate and an accumulate), so a 4 MB body takes milliseconds.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def check_limits(data: bytes | str, *, max_bytes: int | None, max_depth: int) -> None:
    """Raise JsonTooLarge or JsonTooDeep when a JSON text is beyond a limit."""
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if max_bytes is not None and size > max_bytes:
        raise JsonTooLarge(f"the JSON is larger than {max_bytes} bytes", max_bytes)
    if nesting_depth(data) > max_depth:
        raise JsonTooDeep(f"the JSON is nested more than {max_depth} levels deep", max_depth)


def loads(
    data: bytes | str,
    *,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    **kwargs: Any,
) -> Any:
    """Parse JSON from outside, refusing it first when it is beyond the limits (a ValueError)."""
    check_limits(data, max_bytes=max_bytes, max_depth=max_depth)
    return json.loads(data, **kwargs)


def _too_large(limit: int) -> PayloadTooLarge:
    message = _(
        "the request body is larger than the limit of %(limit)d bytes for JSON "
        "(VERIFIER_JSON_MAX_BYTES)",
        limit=limit,
    )
    return PayloadTooLarge(message, errors=[FieldError("body", JsonTooLarge.rule, message)])


def _too_deep(limit: int) -> BadRequest:
    message = _(
        "the JSON body nests arrays and objects more than %(limit)d levels deep, the limit "
        "(VERIFIER_JSON_MAX_DEPTH)",
        limit=limit,
    )
    return BadRequest(message, errors=[FieldError("body", JsonTooDeep.rule, message)])


def limit_json_body() -> None:
    """Refuse a JSON request body beyond the size (413) or depth (400) limit, unparsed."""
    if not request.is_json:
        return
    max_bytes = int(current_app.config["JSON_MAX_BYTES"])
    max_depth = int(current_app.config["JSON_MAX_DEPTH"])
    if (request.content_length or 0) > max_bytes:
        raise _too_large(max_bytes)
    # a body sent without a length (chunked) stops being read one byte past the limit
    request.max_content_length = max_bytes + 1
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise _too_large(max_bytes) from None
    if len(raw) > max_bytes:
        raise _too_large(max_bytes)
    if nesting_depth(raw) > max_depth:
        raise _too_deep(max_depth)


def register(app: Flask) -> None:
    """Check every JSON body before any other hook (rate limits, views) may parse it."""
    app.before_request(limit_json_body)

"""Public verification API: check one certificate, or a class's worth at once; no sign-in."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from flask import current_app, g, jsonify, request
from flask_babel import gettext as _
from pydantic import Field, RootModel, StrictStr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from verifier import jsonlimits
from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import InputModel, OutputModel, read_json
from verifier.auth.access import public
from verifier.certificates.models import VerificationChannel
from verifier.db import get_session, writes_data
from verifier.errors import PayloadTooLarge
from verifier.ratelimit import limiter
from verifier.verification.services import (
    Verdict,
    VerificationStatus,
    record_verification,
    record_verifications,
    verify_number,
    verify_token,
)

MAX_ITEMS = 1_000
MAX_BODY_BYTES = 4 * 1024 * 1024  # a batch of 1,000 tokens is about 0.7 MB
SINGLE_LIMIT = "60 per minute"
BATCH_LIMIT = "10 per minute; 200 per day"
STATUS_TEXT = (
    "`status` is one of "
    + ", ".join(f"`{s}`" for s in VerificationStatus)
    + ". `checks` lists, in "
    "order, format, signature, key_status, ledger, revocation, issuer and records, each with "
    "`ok` (true, false, or null when not run because an earlier check failed) and `detail`. "
    "`certificate` holds only masked fields (never an ID number), or null when the certificate "
    "could not be identified. `issuer_status` gives the issuing organisation's status now "
    "(`{status, since}`): a certificate issued before its organisation was suspended or "
    "deregistered stays `valid`; `issuer_suspended` is answered only for one dated after. A "
    "token or number that cannot be a certificate's is not a bad request: it answers 200 with "
    "status `malformed`. A `token` holding '~' is a holder's SD-JWT presentation "
    "(docs/selective-disclosure.md): the same checks, and `certificate` shows only what it "
    "disclosed."
)


def _exactly_one(token: str | None, number: str | None) -> None:
    if (token is None) == (number is None):
        raise PydanticCustomError(
            "token_or_number", _("give exactly one of token (from the QR code) or number (typed)")
        )


class VerificationItem(InputModel):
    token: StrictStr | None = Field(
        None,
        description="The token from the QR code (after /v/): a certificate's token, or a "
        "holder's SD-JWT presentation.",
    )
    number: StrictStr | None = Field(None, description="A typed certificate number.")

    @model_validator(mode="after")
    def _one(self) -> VerificationItem:
        _exactly_one(self.token, self.number)
        return self


class VerificationRequest(InputModel):
    """One certificate (token or number), or `items`: up to 1,000 of either."""

    token: StrictStr | None = None
    number: StrictStr | None = None
    items: list[VerificationItem] | None = Field(None, description=f"At most {MAX_ITEMS}.")

    @field_validator("items", mode="before")
    @classmethod
    def _not_too_many(cls, value: Any) -> Any:
        if isinstance(value, list) and len(value) > MAX_ITEMS:
            raise PydanticCustomError(
                "max_items",
                _("at most %(limit)d items per request; this has %(count)d")
                % {"limit": MAX_ITEMS, "count": len(value)},
            )
        if isinstance(value, list) and not value:
            raise PydanticCustomError("min_items", _("items is empty"))
        return value

    @model_validator(mode="after")
    def _one(self) -> VerificationRequest:
        given = [name for name in ("token", "number", "items") if getattr(self, name) is not None]
        if len(given) != 1:
            raise PydanticCustomError(
                "token_number_or_items", _("give exactly one of token, number or items")
            )
        return self


class CheckOut(OutputModel):
    name: str
    ok: bool | None
    detail: str


class VerifiedActivity(OutputModel):
    activity: str
    hours: str = Field(examples=["2.50"])


class IssuedForOut(OutputModel):
    """Who issued a certificate for a deregistered organisation's records."""

    by: str = Field(description="successor or platform.", examples=["successor"])
    by_name: str = Field(description="The successor's name; '' for the platform.")
    by_uscc: str | None = Field(description="The successor's USCC; null for the platform.")
    for_name: str = Field(description="The deregistered organisation whose records these are.")
    for_uscc: str


class VerifiedCertificate(OutputModel):
    """What anyone may see of a certificate: masked, never an ID number."""

    number: str = Field(description="Grouped as printed.")
    volunteer_name: str = Field(description="Masked: one character and one star (张*).")
    volunteer_number: str
    hours: str = Field(examples=["12.50"])
    period_from: str = Field(description="YYYY-MM-DD.")
    period_to: str = Field(description="YYYY-MM-DD.")
    activities: list[VerifiedActivity] = Field(
        description="Hours per activity, only when the volunteer chose to show them "
        "(`activities_shown`); else empty."
    )
    activities_shown: bool = Field(
        description="Whether the volunteer chose to show the activity names; by default only "
        "the total hours are shown. The choice applies at once, to certificates issued before."
    )
    issuer_name: str
    issuer_uscc: str
    issued_on: str = Field(description="YYYY-MM-DD, local date.")
    status_reason: str = Field(description="Why it was revoked, suspended or superseded; or ''.")
    issued_for: IssuedForOut | None = Field(
        default=None,
        description="Set when the certificate was issued after its organisation's "
        "deregistration by who answers for its records (its successor, or the platform); "
        "issuer_name and issuer_uscc stay the deregistered organisation's.",
    )


class PresentedCertificate(OutputModel):
    """What an SD-JWT presentation showed: the always-visible claims, and only what the holder
    chose to disclose; an undisclosed claim is absent (docs/selective-disclosure.md)."""

    presentation: bool = Field(description="Always true: this is a holder's presentation.")
    number: str = Field(description="Grouped as printed.")
    hours: str = Field(examples=["12.50"])
    period_from: str = Field(description="YYYY-MM-DD.")
    period_to: str = Field(description="YYYY-MM-DD.")
    issuer_name: str
    issuer_uscc: str
    issued_on: str = Field(description="YYYY-MM-DD, local date.")
    status_reason: str = Field(description="Why it was revoked, suspended or superseded; or ''.")
    volunteer_name: str | None = Field(None, description="The full name, only if disclosed.")
    id_type: str | None = Field(None, description="The ID type code, only if disclosed.")
    volunteer_number: str | None = Field(None, description="Only if disclosed.")
    activities: list[VerifiedActivity] = Field(description="The disclosed activity lines only.")
    activities_withheld: int = Field(description="How many activity lines were not disclosed.")


class IssuerStatusOut(OutputModel):
    """The issuing organisation's status now: a later suspension leaves the certificate valid."""

    status: str = Field(description="active, suspended or deregistered.", examples=["suspended"])
    since: str | None = Field(
        description="When it became suspended or deregistered (ISO 8601, local time); null "
        "while active or when not known."
    )


class VerdictOut(OutputModel):
    status: str = Field(examples=["valid"])
    checks: list[CheckOut]
    certificate: VerifiedCertificate | PresentedCertificate | None = Field(
        description="The certificate's public fields, or for an SD-JWT presentation (a token "
        "with '~') only what it disclosed; null when it could not be identified."
    )
    issuer_status: IssuerStatusOut | None = Field(
        description="The issuing organisation's status now; null when the certificate could "
        "not be identified. A certificate issued before its organisation was suspended or "
        "deregistered stays `valid`; this notes the suspension."
    )


class BatchOut(OutputModel):
    results: list[VerdictOut] = Field(description="One verdict per item, in the order given.")


class VerificationAnswer(RootModel[VerdictOut | BatchOut]):
    """One verdict, or for `items` a BatchOut with one verdict per item."""


def _body() -> Any:
    """Return the request's JSON, parsed once (the rate limits need to know if it is a batch).

    Only a body sent as JSON is parsed (the view refuses any other with 415), within the JSON
    limits, which `jsonlimits.limit_json_body` checked already.
    """
    if "verification_body" not in g:
        g.verification_body = None
        if request.is_json:
            with suppress(ValueError):  # not JSON, or beyond the limits: the view answers
                g.verification_body = jsonlimits.loads(
                    request.get_data(cache=True) or b"null",
                    max_bytes=int(current_app.config["JSON_MAX_BYTES"]),
                    max_depth=int(current_app.config["JSON_MAX_DEPTH"]),
                )
    return g.verification_body


def _is_batch() -> bool:
    body = _body()
    return isinstance(body, dict) and "items" in body


def _verify(item: VerificationItem | VerificationRequest) -> Verdict:
    session = get_session()
    if item.token is not None:
        return verify_token(session, item.token)
    return verify_number(session, item.number or "")


@bp.post("/verifications")
@public
@limiter.limit(SINGLE_LIMIT, exempt_when=_is_batch)
@limiter.limit(BATCH_LIMIT, exempt_when=lambda: not _is_batch())
@operation(
    summary="Verify certificates (no sign-in)",
    tag="verification",
    description=(
        'Send `{"token": ...}` (what the QR code holds after `/v/`) or `{"number": ...}` '
        '(typed, grouped or not, any case), and get one verdict; or `{"items": [...]}` with '
        f'up to {MAX_ITEMS} of either and get `{{"results": [...]}}` in the same order. '
        + STATUS_TEXT
        + f" Rate limits per IP address: {SINGLE_LIMIT} for single checks, {BATCH_LIMIT} for "
        "batches (429 beyond). A body that is not JSON or not an object answers 400; neither "
        "`token`, `number` nor `items`, an item with neither, a token that is not a string, or "
        f"more than {MAX_ITEMS} items, 422 naming the field. Each verification is counted "
        "against its certificate (time, channel, outcome); nothing about the caller is kept."
    ),
    body=VerificationRequest,
    response=VerificationAnswer,
    errors=(429,),
)
def verify_api() -> Any:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            _("the request body is larger than %(n)d MB", n=MAX_BODY_BYTES // (1024 * 1024))
        )
    body = read_json(VerificationRequest)
    session = get_session()
    if body.items is None:
        verdict = _verify(body)
        record_verification(session, verdict, VerificationChannel.API)
        return jsonify(verdict.to_json())
    verdicts = [_verify(item) for item in body.items]
    record_verifications(session, verdicts, VerificationChannel.BATCH)
    return jsonify({"results": [v.to_json() for v in verdicts]})


@bp.get("/certificates/<number>/status")
@public
@limiter.limit(SINGLE_LIMIT)
@operation(
    summary="A certificate's status, by its number (no sign-in)",
    tag="verification",
    description="The same verdict as POST /verifications with a number. A number that cannot be "
    "a certificate's (wrong length, a character outside the alphabet, a failed check character) "
    "answers 200 with status `malformed`; a well-formed number that was never issued, `unknown`. "
    + STATUS_TEXT,
    response=VerdictOut,
    errors=(429,),
)
@writes_data
def certificate_status_api(number: str) -> Any:
    session = get_session()
    verdict = verify_number(session, number[:64])
    record_verification(session, verdict, VerificationChannel.API)
    return jsonify(verdict.to_json())

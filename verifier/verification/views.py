"""Public verification: the page a phone opens after scanning, and typing a number."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _

from verifier.auth.access import public
from verifier.certificates.models import VerificationChannel
from verifier.certificates.numbers import InvalidCertificateNumber, normalize_certificate_number
from verifier.db import get_session, writes_data
from verifier.ratelimit import limiter
from verifier.verification.forms import MatchForm
from verifier.verification.services import (
    identity_matches,
    record_verification,
    verify_number,
    verify_token,
)
from verifier.volunteers.forms import ID_TYPE_LABELS

bp = Blueprint("verification", __name__)


def _number_key() -> str:
    """Key the per-certificate limit on the number itself, however it was typed.

    The number is accepted in any case, grouped or not: keyed on the raw text, each spelling
    would get its own allowance of guesses at the holder's ID number.
    """
    text = str((request.view_args or {}).get("number", ""))[:64]
    try:
        return "match:" + normalize_certificate_number(text).replace("-", "")
    except InvalidCertificateNumber:
        return "match:" + text[:32]


@bp.get("/v/<path:token>")
@public
@limiter.limit("120 per minute")
@writes_data
def scanned(token: str) -> Any:
    session = get_session()
    verdict = verify_token(session, token)
    record_verification(session, verdict, VerificationChannel.SCAN)
    return render_template(
        "verification/result.html",
        verdict=verdict,
        channel=VerificationChannel.SCAN,
        match_form=MatchForm(formdata=None),
        id_type_labels=ID_TYPE_LABELS,  # a presentation may disclose the ID type
    )


@bp.get("/verify")
@public
@limiter.limit("30 per minute", exempt_when=lambda: not request.args.get("number"))
@writes_data
def typed() -> Any:
    number = (request.args.get("number") or "").strip()
    if not number:
        return render_template("verification/form.html")
    session = get_session()
    verdict = verify_number(session, number[:64])
    record_verification(session, verdict, VerificationChannel.TYPED)
    return render_template(
        "verification/result.html",
        verdict=verdict,
        channel=VerificationChannel.TYPED,
        match_form=MatchForm(formdata=None),
    )


@bp.post("/verify/<number>/match")
@public
@limiter.limit("10 per hour")
@limiter.limit("20 per day", key_func=_number_key)
def match(number: str) -> Any:
    """Say only whether the ID number or name the holder showed matches; echo nothing."""
    session = get_session()
    verdict = verify_number(session, number[:64])
    if verdict.certificate is None:
        abort(404)
    posted = MatchForm()
    id_number = (posted.id_number.data or "")[:40]
    name = (posted.name.data or "")[:50]
    form = MatchForm(formdata=None)  # what was typed is never shown back
    if not id_number.strip() and not name.strip():
        result = None
        form.id_number.errors = [_("Type the ID number or the full name the holder showed you")]
    else:
        result = identity_matches(session, verdict.certificate, id_number=id_number, name=name)
    return render_template(
        "verification/result.html",
        verdict=verdict,
        channel=VerificationChannel.TYPED,
        match_result=result,
        match_form=form,
    )

"""Page: the volunteer chooses what of a certificate to show, and gets a QR code and a link."""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, render_template, request

from verifier.auth.access import require_actor, roles
from verifier.auth.models import VOLUNTEER
from verifier.certificates.selective import (
    PRESENTATION_MAX_QR_VERSION,
    PresentationLink,
    choices_of,
    make_presentation,
    presentation_link,
    sd_jwt_of,
)
from verifier.certificates.services import number_display, visible_certificate
from verifier.db import get_session, writes_data
from verifier.errors import VerifierError
from verifier.volunteers.forms import ID_TYPE_LABELS

bp = Blueprint("presentations", __name__)


@bp.get("/me/certificates/<string(maxlength=64):number>/share")
@roles(VOLUNTEER)
@writes_data  # a certificate from before SD-JWTs gets its SD-JWT signed on first use
def share(number: str) -> Any:
    """Choose what to disclose (name, ID type, volunteer number, each activity line)."""
    session = get_session()
    actor = require_actor()
    cert = visible_certificate(session, actor, number)
    sd_jwt = sd_jwt_of(session, cert, actor)
    chosen = request.args.getlist("show")[:300]
    link: PresentationLink | None = None
    errors: list[str] = []
    status = 200
    if request.args.get("make"):
        try:
            link = presentation_link(make_presentation(sd_jwt, chosen), with_png=True)
        except VerifierError as error:
            errors, status = [e.message for e in error.errors] or [error.message], error.status
    return render_template(
        "portal/share.html",
        cert=cert,
        number=number_display(cert.number),
        choices=choices_of(sd_jwt),
        chosen=set(chosen),
        link=link,
        qr_data=base64.b64encode(link.qr_png).decode("ascii") if link and link.qr_png else "",
        max_version=PRESENTATION_MAX_QR_VERSION,
        form_errors=errors,
        id_type_labels=ID_TYPE_LABELS,
    ), status

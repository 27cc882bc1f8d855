"""Certificate pages for the organisation: list and search, issue one or many, the certificate
itself with its QR code, PDF, verification counts and history, and the status changes."""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from verifier.api.schemas import validate
from verifier.audit.services import entries_for
from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER, REGULATOR_ROLES, VOLUNTEER
from verifier.certificates.bulk import BulkRequest, issue_bulk
from verifier.certificates.documents import (
    ID_TYPE_PRINTED,
    activity_rows,
    certificate_pdf,
    certificate_pdf_filename,
    may_have_holder_copy,
    qr_png_of,
    requested_form,
    requested_language,
)
from verifier.certificates.forms import (
    BulkForm,
    IssueForm,
    ReinstateForm,
    ReissueForm,
    RevokeForm,
    SuspendForm,
)
from verifier.certificates.jobs import queue_bulk, runs_as_job
from verifier.certificates.lifecycle import lineage, reissue, set_status
from verifier.certificates.models import Certificate, VerificationChannel
from verifier.certificates.printable import printed_handler
from verifier.certificates.schemas import BulkCreate, CertificateCreate
from verifier.certificates.services import (
    IssueRequest,
    certifiable_records,
    issue_certificate,
    list_certificates,
    number_display,
    verification_counts,
    visible_certificate,
)
from verifier.certificates.states import CertificateStatus
from verifier.db import get_session, savepoint, writes_data
from verifier.errors import VerifierError
from verifier.jobs.api import request_locale
from verifier.labels import Labels
from verifier.volunteers.forms import ID_TYPE_LABELS
from verifier.volunteers.services import search_volunteers, visible_volunteer
from verifier.web.forms import distinct_ids, filled, show_errors, typed_number
from verifier.web.ids import requested_id
from verifier.web.paging import Page, requested_page

bp = Blueprint("certificates", __name__)

ORG_USERS = (ORG_ADMIN, ORG_RECORDER)
READERS = (*ORG_USERS, *sorted(REGULATOR_ROLES))
PER_PAGE = 50
NUMBER = "<string(maxlength=64):number>"

STATUS_LABELS: Labels = {
    CertificateStatus.VALID: _l("Valid"),
    CertificateStatus.REVOKED: _l("Revoked"),
    CertificateStatus.SUSPENDED: _l("Suspended"),
    CertificateStatus.SUPERSEDED: _l("Superseded"),
}
CHANNEL_LABELS: Labels = {
    VerificationChannel.SCAN: _l("Scanned"),
    VerificationChannel.TYPED: _l("Typed"),
    VerificationChannel.API: _l("API"),
    VerificationChannel.BATCH: _l("Batch"),
}
ACTION_LABELS = {
    "certificate.issue": _l("Issued"),
    "certificate.revoke": _l("Revoked"),
    "certificate.suspend": _l("Suspended"),
    "certificate.reinstate": _l("Reinstated"),
    "certificate.supersede": _l("Superseded"),
}


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"certificate_status_labels": STATUS_LABELS}


@bp.get("/certificates")
@roles(*READERS)
def index() -> Any:
    """List and search certificates, with how often each was verified."""
    actor = require_actor()
    session = get_session()
    query = request.args.get("q", "").strip()[:60]
    status = request.args.get("status", "")
    status = status if status in tuple(CertificateStatus) else ""
    number = requested_page()
    rows, total = list_certificates(
        session, actor, query=query, status=status, page=number, per_page=PER_PAGE
    )
    page = Page(rows, number, PER_PAGE, total, {"q": query, "status": status})
    return render_template(
        "certificates/index.html",
        page=page,
        query=query,
        status=status,
        counts=verification_counts(session, [c.id for c in rows]),
        channels=tuple(VerificationChannel),
        channel_labels=CHANNEL_LABELS,
        number_display=number_display,
    )


@bp.route("/certificates/new", methods=["GET", "POST"])
@roles(*ORG_USERS)
def new() -> Any:
    """Issue one certificate: choose a volunteer, then records or a period."""
    actor = require_actor()
    session = get_session()
    volunteer_id = requested_id("volunteer_id", request.values)
    if volunteer_id is None:
        query = request.args.get("q", "").strip()[:60]
        found, total = search_volunteers(session, actor, query, 1, 25) if query else ([], 0)
        return render_template("certificates/choose.html", query=query, found=found, total=total)
    volunteer = visible_volunteer(session, actor, volunteer_id)
    records = certifiable_records(session, actor.organisation, volunteer.id)
    form = IssueForm()
    if request.method == "GET":
        form.handler.data = actor.display_name  # a real name, never the e-mail
    form_errors: list[str] = []
    status = 200
    ticked = [typed_number(v) for v in form.record_ids.data or []]
    if form.validate_on_submit():
        data = {"volunteer_id": volunteer.id, **filled(form, "period_from", "period_to", "handler")}
        if ticked:
            data["record_ids"] = _unique(ticked)
        try:
            body = validate(CertificateCreate, data)
            with savepoint():
                cert = issue_certificate(
                    session,
                    actor.organisation,
                    IssueRequest(
                        volunteer.id,
                        body.record_ids,
                        body.period_from,
                        body.period_to,
                        body.handler,
                    ),
                    actor,
                )
        except VerifierError as error:
            form_errors, status = show_errors(form, error), error.status
        else:
            flash(_("Certificate %(number)s issued", number=number_display(cert.number)), "success")
            return redirect(url_for("certificates.detail", number=number_display(cert.number)))
    elif request.method == "POST":
        status = 422
    return render_template(
        "certificates/new.html",
        form=form,
        volunteer=volunteer,
        records=records,
        chosen={n for n in ticked if isinstance(n, int)},
        form_errors=form_errors,
        id_type_labels=ID_TYPE_LABELS,
    ), status


def _unique(ticked: list[Any]) -> list[Any]:
    """The ticked record ids in order, each once (anything else is left for the schema)."""
    if all(isinstance(n, int) for n in ticked):
        return sorted(set(ticked))
    return ticked


@bp.route("/certificates/bulk", methods=["GET", "POST"])
@roles(*ORG_USERS)
def bulk() -> Any:
    """Issue certificates for a period to every volunteer with valid records in it."""
    actor = require_actor()
    form = BulkForm()
    if request.method == "GET":
        form.handler.data = actor.display_name  # a real name, never the e-mail
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            body = validate(BulkCreate, filled(form, "period_from", "period_to", "handler"))
            printed_handler(body.handler, actor)  # refused now, not later in a job
            with savepoint():
                if runs_as_job(get_session(), actor.organisation, body):
                    job = queue_bulk(
                        get_session(), actor.organisation, actor, body, request_locale()
                    )
                    return redirect(url_for("jobs.detail", job_id=job.id), 303)
                result = issue_bulk(
                    get_session(),
                    actor.organisation,
                    BulkRequest(body.period_from, body.period_to, None, body.handler),
                    actor,
                )
        except VerifierError as error:
            form_errors, status = show_errors(form, error), error.status
        else:
            return render_template(
                "certificates/bulk_result.html",
                result=result,
                body=body,
                number_display=number_display,
            )
    elif request.method == "POST":
        status = 422
    return render_template("certificates/bulk.html", form=form, form_errors=form_errors), status


def _certificate(number: str) -> Certificate:
    return visible_certificate(get_session(), require_actor(), number)


@bp.get(f"/certificates/{NUMBER}")
@roles(*READERS)
def detail(number: str) -> Any:
    """The certificate as printed, its QR code, verification counts, history and actions."""
    return _detail_page(_certificate(number))


# the status changes offered on the certificate's page, each with its form
ACTION_FORMS: dict[str, type[FlaskForm]] = {
    "suspend": SuspendForm,
    "reinstate": ReinstateForm,
    "reissue": ReissueForm,
    "revoke": RevokeForm,
}


def _detail_page(
    cert: Certificate,
    posted: tuple[str, FlaskForm] | None = None,
    form_errors: list[str] | None = None,
    status: int = 200,
) -> Any:
    """The certificate's page; with `posted`, the action form that was sent, showing its errors."""
    actor = require_actor()
    session = get_session()
    forms = {action: form_class(formdata=None) for action, form_class in ACTION_FORMS.items()}
    if posted is not None:
        forms[posted[0]] = posted[1]
    distinct_ids(forms)
    history = []
    for entry in entries_for(session, "certificate", cert.number):
        details = json.loads(entry.details or "{}")
        history.append(
            {
                "at": entry.created_at,
                "action": ACTION_LABELS.get(entry.action, entry.action),
                "actor": entry.actor,
                "reason": details.get("reason", ""),
            }
        )
    predecessor, successor = lineage(session, cert)
    manager = actor.is_org_user and actor.organisation_id == cert.organisation_id
    return render_template(
        "certificates/detail.html",
        cert=cert,
        number=number_display(cert.number),
        rows=activity_rows(session, cert),
        counts=verification_counts(session, [cert.id])[cert.id],
        channels=tuple(VerificationChannel),
        channel_labels=CHANNEL_LABELS,
        history=history,
        predecessor=predecessor and number_display(predecessor.number),
        successor=successor and number_display(successor.number),
        id_type_printed=ID_TYPE_PRINTED,
        may_change=manager,
        holder_copy=may_have_holder_copy(actor, cert),
        has_credential="api.certificate_credential_api" in current_app.view_functions,
        forms=forms,
        form_errors=form_errors or [],
    ), status


@bp.get(f"/certificates/{NUMBER}/qr.png")
@roles(*READERS)
@writes_data  # the QR code is rendered and stored on first use
def qr(number: str) -> Any:
    response = Response(qr_png_of(get_session(), _certificate(number)), mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get(f"/certificates/{NUMBER}/certificate.pdf")
@roles(*READERS, VOLUNTEER)  # a volunteer: their own certificates (visible_certificate)
@writes_data  # the QR code is rendered and stored on first use
def pdf(number: str) -> Any:
    """The holder's copy for the issuing organisation and the volunteer; the public form
    (masked name) for the others, or for anyone with ?form=public. ?lang=en: in English."""
    cert = _certificate(number)
    holder = requested_form(require_actor(), cert, request.args.get("form"))
    lang = requested_language(request.args.get("lang"))
    document = certificate_pdf(get_session(), cert, holder_copy=holder, lang=lang)
    response = Response(document, mimetype="application/pdf")
    filename = certificate_pdf_filename(cert, holder_copy=holder, lang=lang)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _refused(cert: Certificate, action: str, form: FlaskForm, error: VerifierError) -> Any:
    """Show the certificate's page again, with the refusal at the form that was sent."""
    return _detail_page(cert, (action, form), show_errors(form, error), error.status)


def _after_change(cert: Certificate, message: str) -> Any:
    flash(message, "success")
    return redirect(url_for("certificates.detail", number=number_display(cert.number)))


def _change(number: str, action: str, status: str, done: str) -> Any:
    actor = require_actor()
    cert = _certificate(number)
    form = ACTION_FORMS[action]()
    try:
        with savepoint():
            set_status(get_session(), cert, status, form.reason.data or "", actor)
    except VerifierError as error:
        return _refused(cert, action, form, error)
    if status == CertificateStatus.VALID and cert.status == CertificateStatus.SUPERSEDED:
        return _after_change(
            cert, _("The records changed while it was suspended: it is now superseded")
        )
    return _after_change(cert, done)


@bp.post(f"/certificates/{NUMBER}/revoke")
@roles(*ORG_USERS)
def revoke(number: str) -> Any:
    return _change(number, "revoke", CertificateStatus.REVOKED, _("Certificate revoked"))


@bp.post(f"/certificates/{NUMBER}/suspend")
@roles(*ORG_USERS)
def suspend(number: str) -> Any:
    return _change(number, "suspend", CertificateStatus.SUSPENDED, _("Certificate suspended"))


@bp.post(f"/certificates/{NUMBER}/reinstate")
@roles(*ORG_USERS)
def reinstate(number: str) -> Any:
    return _change(number, "reinstate", CertificateStatus.VALID, _("Certificate reinstated"))


@bp.post(f"/certificates/{NUMBER}/reissue", endpoint="reissue")
@roles(*ORG_USERS)
def reissue_view(number: str) -> Any:
    actor = require_actor()
    cert = _certificate(number)
    form = ReissueForm()
    try:
        with savepoint():
            new_cert = reissue(get_session(), cert, actor)
    except VerifierError as error:
        return _refused(cert, "reissue", form, error)
    return _after_change(
        new_cert, _("Re-issued as %(number)s", number=number_display(new_cert.number))
    )

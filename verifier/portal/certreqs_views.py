"""Pages: the volunteer's certificates and requests (/me/certificates, phone-first), the
organisation's queue of certificate requests, and the regulators' list of overdue and refused ones.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from verifier.api.schemas import validate
from verifier.auth.access import current_actor, require_actor, roles
from verifier.auth.models import (
    ORG_ADMIN,
    ORG_RECORDER,
    REGULATOR_INSPECTOR,
    REGULATOR_SUPERVISOR,
    VOLUNTEER,
)
from verifier.certificates.models import Certificate, VerificationChannel
from verifier.certificates.services import number_display, verification_counts, verify_url
from verifier.certificates.views import CHANNEL_LABELS
from verifier.complaints.models import CertificateRequest, CertificateRequestStatus
from verifier.db import get_session, savepoint
from verifier.errors import VerifierError
from verifier.orgs.models import Organisation
from verifier.portal import certreqs
from verifier.portal import certreqs_lists as lists
from verifier.portal.certreqs_forms import (
    REQUEST_STATUS_LABELS,
    CertificateRequestForm,
    IssueForm,
    RefuseForm,
)
from verifier.portal.certreqs_schemas import CertificateRequestCreate, IssueBody, Refusal
from verifier.timeutil import local_today
from verifier.web.forms import distinct_ids, filled, show_errors
from verifier.web.ids import requested_id
from verifier.web.paging import Page, requested_page

bp = Blueprint("certreqs", __name__)

ORG_USERS = (ORG_ADMIN, ORG_RECORDER)
REGULATORS = (REGULATOR_SUPERVISOR, REGULATOR_INSPECTOR)
PER_PAGE = 50
REQUEST_ID = "<int:certificate_request_id>"


def _pending_for_nav() -> int:
    """The signed-in organisation user's pending requests: counted once per request, on use."""
    if "certreqs_pending" not in g:
        actor = current_actor()
        g.certreqs_pending = (
            lists.pending_count(get_session(), actor.organisation_id)
            if actor is not None and actor.is_org_user and actor.organisation_id is not None
            else 0
        )
    return int(g.certreqs_pending)


@bp.app_context_processor
def _certreqs_globals() -> dict[str, Any]:
    return {
        "pending_certificate_requests": _pending_for_nav,
        "certificate_request_status_labels": REQUEST_STATUS_LABELS,
    }


def _numbers(rows: list[CertificateRequest]) -> dict[int, str]:
    """The display numbers of the certificates issued for these requests, by certificate id."""
    ids = [r.certificate_id for r in rows if r.certificate_id is not None]
    if not ids:
        return {}
    found = get_session().execute(
        select(Certificate.id, Certificate.number).where(Certificate.id.in_(ids))
    )
    return {cid: number_display(number) for cid, number in found}


# --- the volunteer --------------------------------------------------------------------------


@bp.route("/me/certificates", methods=["GET", "POST"])
@roles(VOLUNTEER)
def mine() -> Any:
    """The volunteer's certificates with their downloads, their requests, and a new request."""
    actor = require_actor()
    session = get_session()
    volunteer = certreqs.own_volunteer(session, actor)
    organisations = lists.member_organisations(session, volunteer.id)
    form = CertificateRequestForm()
    form.organisation_uscc.choices = [SelectChoice(o.uscc, o.name) for o in organisations]
    if request.method == "GET":
        form.period_to.data = local_today().isoformat()
    form_errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        data = filled(form, "organisation_uscc", "period_from", "period_to")
        try:
            body = validate(CertificateRequestCreate, data)
            with savepoint():
                created = certreqs.request_certificate(
                    session, actor, body.organisation_uscc, body.period_from, body.period_to
                )
        except VerifierError as error:
            form_errors, status = show_errors(form, error), error.status
        else:
            flash(
                _(
                    "Request sent to %(org)s; it answers by %(day)s",
                    org=created.organisation.name,
                    day=created.due_on.isoformat(),
                ),
                "success",
            )
            return redirect(url_for("certreqs.mine"), 303)
    elif request.method == "POST":
        status = 422
    certificates = lists.own_certificates(session, actor)
    requests, _total = lists.own_requests(session, actor, page=1, per_page=PER_PAGE)
    return render_template(
        "certreqs/mine.html",
        form=form,
        form_errors=form_errors,
        organisations=organisations,
        certificates=certificates,
        counts=verification_counts(session, [c.id for c in certificates]),
        channels=tuple(VerificationChannel),
        channel_labels=CHANNEL_LABELS,
        verify_url=verify_url,
        requests=requests,
        numbers=_numbers(requests),
        today=local_today(),
        number_display=number_display,
        has_credential="credentials.credential" in current_app.view_functions,
    ), status


# --- the organisation's queue ---------------------------------------------------------------


def _status_arg() -> str:
    value = request.args.get("status", CertificateRequestStatus.PENDING)
    return value if value in tuple(CertificateRequestStatus) else ""


@bp.get("/certificate-requests")
@roles(*ORG_USERS, *REGULATORS)
def queue() -> Any:
    """The certificate requests: pending first, earliest deadline first, overdue ones marked."""
    actor = require_actor()
    session = get_session()
    status = _status_arg()
    overdue = request.args.get("overdue") in ("1", "true")
    organisation_id = requested_id("organisation_id") if actor.is_regulator else None
    number = requested_page()
    rows, total = lists.list_requests(
        session,
        actor,
        status=status or None,
        overdue=overdue,
        organisation_id=organisation_id,
        page=number,
        per_page=PER_PAGE,
    )
    args = {
        "status": status or "all",
        "overdue": "1" if overdue else "",
        "organisation_id": organisation_id,
    }
    return render_template(
        "certreqs/queue.html",
        page=Page(rows, number, PER_PAGE, total, args),
        status=status,
        overdue=overdue,
        organisation=session.get(Organisation, organisation_id) if organisation_id else None,
        numbers=_numbers(rows),
        today=local_today(),
    )


def _detail_page(
    found: CertificateRequest,
    posted: tuple[str, FlaskForm] | None = None,
    form_errors: list[str] | None = None,
    status: int = 200,
) -> Any:
    actor = require_actor()
    session = get_session()
    forms: dict[str, FlaskForm] = {
        "issue": IssueForm(formdata=None),
        "refuse": RefuseForm(formdata=None),
    }
    if posted is None:
        forms["issue"].handler.data = actor.display_name if actor.is_org_user else ""  # not e-mail
    else:
        forms[posted[0]] = posted[1]
    distinct_ids(forms)
    return render_template(
        "certreqs/detail.html",
        item=found,
        records=lists.records_in_period(session, found),
        number=_numbers([found]).get(found.certificate_id or 0),
        may_answer=actor.is_org_user
        and actor.organisation_id == found.organisation_id
        and found.status == CertificateRequestStatus.PENDING,
        overdue=lists.is_overdue(found),
        forms=forms,
        posted=posted[0] if posted else "",
        form_errors=form_errors or [],
    ), status


@bp.get(f"/certificate-requests/{REQUEST_ID}")
@roles(*ORG_USERS, *REGULATORS)
def detail(certificate_request_id: int) -> Any:
    """One request: who asked, for which period, what it would cover, and the answer forms."""
    return _detail_page(
        certreqs.visible_request(get_session(), require_actor(), certificate_request_id)
    )


@bp.post(f"/certificate-requests/{REQUEST_ID}/issue")
@roles(*ORG_USERS)
def issue(certificate_request_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    found = certreqs.visible_request(session, actor, certificate_request_id)
    form = IssueForm()
    if not form.validate_on_submit():
        return _detail_page(found, ("issue", form), [], 400)
    try:
        body = validate(IssueBody, filled(form, "handler"))
        with savepoint():
            cert = certreqs.issue_for_request(session, actor, found, body.handler)
    except VerifierError as error:
        return _detail_page(found, ("issue", form), show_errors(form, error), error.status)
    flash(_("Certificate %(number)s issued", number=number_display(cert.number)), "success")
    return redirect(url_for("certreqs.detail", certificate_request_id=found.id), 303)


@bp.post(f"/certificate-requests/{REQUEST_ID}/refuse")
@roles(*ORG_USERS)
def refuse(certificate_request_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    found = certreqs.visible_request(session, actor, certificate_request_id)
    form = RefuseForm()
    if not form.validate_on_submit():
        return _detail_page(found, ("refuse", form), [], 400)
    try:
        body = validate(Refusal, {"reason": form.reason.data or ""})
        with savepoint():
            certreqs.refuse_request(session, actor, found, body.reason)
    except VerifierError as error:
        return _detail_page(found, ("refuse", form), show_errors(form, error), error.status)
    flash(_("The request was refused; the volunteer is told the reason"), "success")
    return redirect(url_for("certreqs.detail", certificate_request_id=found.id), 303)


# --- regulators -----------------------------------------------------------------------------


@bp.get("/certificate-requests/overdue")
@roles(*REGULATORS)
def supervision() -> Any:
    """Organisations that leave certificate requests unanswered past their deadline, or refuse
    them (条例 Art. 38), with the overdue and the refused requests themselves."""
    session = get_session()
    number = requested_page()
    summaries, total = lists.organisations_to_watch(session, page=number, per_page=PER_PAGE)
    actor = require_actor()
    overdue, overdue_total = lists.list_requests(
        session, actor, overdue=True, page=1, per_page=PER_PAGE
    )
    refused, refused_total = lists.list_requests(
        session, actor, status=CertificateRequestStatus.REFUSED, page=1, per_page=PER_PAGE
    )
    return render_template(
        "certreqs/supervision.html",
        page=Page(summaries, number, PER_PAGE, total, {}),
        overdue=overdue,
        overdue_total=overdue_total,
        refused=refused,
        refused_total=refused_total,
        today=local_today(),
    )

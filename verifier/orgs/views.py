"""Organisation pages: the directory, registration, status changes and each organisation's page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from verifier.auth.access import ANY_ROLE, require_actor, roles
from verifier.auth.models import ORG_ADMIN, PLATFORM_ADMIN
from verifier.db import get_session, savepoint
from verifier.errors import VerifierError
from verifier.orgs.forms import STATUS_LABELS, OrganisationForm, StatusForm
from verifier.orgs.services import (
    ORG_TYPE_LABELS,
    OrganisationInput,
    create_organisation,
    get_by_uscc,
    list_organisations,
    set_status,
    visible_organisation,
)
from verifier.orgs.signals import organisation_page
from verifier.web.forms import show_errors
from verifier.web.paging import Page, requested_page

bp = Blueprint("orgs", __name__)


@bp.app_context_processor
def _page_helpers() -> dict[str, Any]:
    # lets the navigation link to pages that other blueprints may or may not provide yet
    return {"has_endpoint": lambda name: name in current_app.view_functions}


PER_PAGE = 25


@bp.get("/orgs")
@roles(*ANY_ROLE)
def index() -> Any:
    actor = require_actor()
    if actor.is_org_user:
        return redirect(url_for("orgs.detail", org_id=actor.organisation_id))
    query = request.args.get("q", "").strip()[:100]
    number = requested_page()
    rows, total = list_organisations(get_session(), actor, query, number, PER_PAGE)
    page = Page(rows, number, PER_PAGE, total, {"q": query})
    return render_template(
        "orgs/index.html",
        page=page,
        query=query,
        type_labels=ORG_TYPE_LABELS,
        status_labels=STATUS_LABELS,
    )


@bp.route("/orgs/new", methods=["GET", "POST"])
@roles(PLATFORM_ADMIN)
def new() -> Any:
    actor = require_actor()
    form = OrganisationForm()
    form_errors: list[str] = []
    if form.validate_on_submit():
        data = OrganisationInput(
            name=form.name.data or "",
            uscc=form.uscc.data or "",
            responsible_person=form.responsible_person.data or "",
            region_code=form.region_code.data or "",
            org_type=form.org_type.data or "",
            contact_name=form.contact_name.data or "",
            contact_phone=form.contact_phone.data or "",
            address=form.address.data or "",
        )
        try:
            with savepoint():
                org = create_organisation(get_session(), data, actor)
        except VerifierError as error:
            form_errors = show_errors(form, error)
            return render_template(
                "orgs/new.html", form=form, form_errors=form_errors
            ), error.status
        flash(_("Organisation %(name)s registered", name=org.name), "success")
        return redirect(url_for("orgs.detail", org_id=org.id))
    return render_template("orgs/new.html", form=form, form_errors=form_errors)


def _detail_page(
    org_id: int,
    status_form: StatusForm | None = None,
    status: int = 200,
    form_errors: list[str] | None = None,
) -> Any:
    actor = require_actor()
    session = get_session()
    org = visible_organisation(session, actor, org_id)
    extra: dict[str, Any] = {}  # the figures and records the features above show on the page
    for _receiver, values in organisation_page.send(org, session=session, actor=actor):
        extra.update(values)
    if status_form is None and actor.role == PLATFORM_ADMIN:
        status_form = StatusForm(formdata=None, status=org.status)
    return render_template(
        "orgs/detail.html",
        org=org,
        status_form=status_form,
        type_labels=ORG_TYPE_LABELS,
        status_labels=STATUS_LABELS,
        form_errors=form_errors or [],
        may_manage_users=actor.role in (PLATFORM_ADMIN, ORG_ADMIN),
        **extra,
    ), status


@bp.get("/orgs/<int:org_id>")
@roles(*ANY_ROLE)
def detail(org_id: int) -> Any:
    return _detail_page(org_id)


@bp.post("/orgs/<int:org_id>/status")
@roles(PLATFORM_ADMIN)
def change_status(org_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    org = visible_organisation(session, actor, org_id)
    form = StatusForm()
    if not form.validate_on_submit():
        return _detail_page(org_id, form, 422)
    try:
        with savepoint():
            heir = (form.successor_uscc.data or "").strip()
            successor = get_by_uscc(session, heir) if heir else None
            set_status(
                session,
                org,
                form.status.data or "",
                form.reason.data or "",
                actor,
                successor=successor,
            )
    except VerifierError as error:
        return _detail_page(org_id, form, error.status, show_errors(form, error))
    flash(_("Status changed to %(status)s", status=STATUS_LABELS[org.status]), "success")
    return redirect(url_for("orgs.detail", org_id=org.id))

"""Volunteer pages: the list with search, registration, and each volunteer's page with records."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER, REGULATOR_ROLES
from verifier.db import get_session, savepoint
from verifier.errors import VerifierError
from verifier.orgs.models import OrgStatus
from verifier.volunteers.forms import GENDER_LABELS, ID_TYPE_LABELS, SearchForm, VolunteerForm
from verifier.volunteers.services import (
    VolunteerInput,
    is_id_number_query,
    register_volunteer,
    search_volunteers,
    visible_volunteer,
)
from verifier.volunteers.signals import volunteer_page
from verifier.web.forms import show_errors
from verifier.web.paging import Page, requested_page

bp = Blueprint("volunteers", __name__)

ORG_USERS = (ORG_ADMIN, ORG_RECORDER)
READERS = (*ORG_USERS, *sorted(REGULATOR_ROLES))
PER_PAGE = 25


@bp.route("/volunteers", methods=["GET", "POST"])
@roles(*READERS)
def index() -> Any:
    """List and search volunteers.

    The search form is posted, so that an ID number typed into it stays out of URLs and logs;
    ?q= still works for the page links of a name search.
    """
    actor = require_actor()
    form = SearchForm()
    query = (form.q.data if request.method == "POST" else request.args.get("q", "")) or ""
    query = query.strip()[:60]
    hide_query = is_id_number_query(query)
    number = 1 if request.method == "POST" else requested_page()
    rows, total = search_volunteers(get_session(), actor, query, number, PER_PAGE)
    page = Page(rows, number, PER_PAGE, total, {"q": "" if hide_query else query})
    form.q.data = "" if hide_query else query
    return render_template(
        "volunteers/index.html",
        page=page,
        form=form,
        query=query,
        hide_query=hide_query,
        id_type_labels=ID_TYPE_LABELS,
    )


@bp.route("/volunteers/new", methods=["GET", "POST"])
@roles(*ORG_USERS)
def new() -> Any:
    actor = require_actor()
    form = VolunteerForm()
    if form.validate_on_submit():
        data = VolunteerInput(
            name=form.name.data or "",
            id_type=form.id_type.data or "",
            id_number=form.id_number.data or "",
            gender=form.gender.data or None,
            birth_date=form.birth_date.data,
            phone=form.phone.data or "",
            guardian_name=form.guardian_name.data or "",
            guardian_consent=bool(form.guardian_consent.data),
        )
        try:
            with savepoint():
                volunteer, created = register_volunteer(
                    get_session(), actor.organisation, data, actor
                )
        except VerifierError as error:
            form_errors = show_errors(form, error)
            return render_template(
                "volunteers/new.html", form=form, form_errors=form_errors
            ), error.status
        if created:
            flash(
                _("Volunteer registered: %(number)s", number=volunteer.volunteer_number), "success"
            )
        else:
            flash(
                _(
                    "This person was already registered (%(number)s) and is now linked to your "
                    "organisation",
                    number=volunteer.volunteer_number,
                ),
                "success",
            )
        return redirect(url_for("volunteers.detail", volunteer_id=volunteer.id))
    status = 422 if request.method == "POST" else 200
    return render_template("volunteers/new.html", form=form, form_errors=[]), status


@bp.get("/volunteers/<int:volunteer_id>")
@roles(*READERS)
def detail(volunteer_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    volunteer = visible_volunteer(session, actor, volunteer_id)
    extra: dict[str, Any] = {}  # the records and hours the features above show on the page
    for _receiver, values in volunteer_page.send(volunteer, session=session, actor=actor):
        extra.update(values)
    return render_template(
        "volunteers/detail.html",
        volunteer=volunteer,
        id_type_labels=ID_TYPE_LABELS,
        gender_labels=GENDER_LABELS,
        may_record=actor.is_org_user
        and actor.organisation.status == OrgStatus.ACTIVE
        and volunteer.merged_into_id is None,
        **extra,
    )

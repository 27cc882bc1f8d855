"""User management pages: platform admins manage every user, org admins their own recorders."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER, PLATFORM_ADMIN, User
from verifier.auth.services import (
    create_user_by,
    list_users,
    manageable_user,
    set_active,
    set_role,
)
from verifier.db import get_session, savepoint
from verifier.errors import VerifierError
from verifier.orgs.models import Organisation
from verifier.orgs.services import get_by_uscc
from verifier.users.forms import ROLE_LABELS, ActiveForm, RoleForm, UserForm
from verifier.web.forms import show_errors
from verifier.web.ids import requested_id
from verifier.web.paging import Page, requested_page

bp = Blueprint("users", __name__)

PER_PAGE = 50


@bp.get("/users")
@roles(PLATFORM_ADMIN, ORG_ADMIN)
def users() -> Any:
    actor = require_actor()
    session = get_session()
    query = request.args.get("q", "").strip()[:100]
    org_id = requested_id("org") if actor.role == PLATFORM_ADMIN else None
    org = session.get(Organisation, org_id) if org_id else actor.organisation
    number = requested_page()
    rows, total = list_users(
        session, actor, query=query, organisation_id=org_id, page=number, per_page=PER_PAGE
    )
    page = Page(rows, number, PER_PAGE, total, {"q": query, "org": org_id})
    return render_template(
        "users/users.html", page=page, query=query, org=org, role_labels=ROLE_LABELS
    )


@bp.route("/users/new", methods=["GET", "POST"])
@roles(PLATFORM_ADMIN, ORG_ADMIN)
def new_user() -> Any:
    actor = require_actor()
    session = get_session()
    form = UserForm()
    if actor.role == ORG_ADMIN:
        # an org admin creates recorders of their own organisation: nothing to choose
        form.role.choices = [SelectChoice(ORG_RECORDER, ROLE_LABELS[ORG_RECORDER])]
    elif request.method == "GET" and requested_id("org"):
        prefill = session.get(Organisation, requested_id("org"))
        if prefill is not None:
            form.organisation.data = prefill.uscc
    form_errors: list[str] = []
    if form.validate_on_submit():
        try:
            if actor.role == ORG_ADMIN:
                organisation = actor.organisation
                role: str = ORG_RECORDER
            else:
                code = (form.organisation.data or "").strip()
                organisation = get_by_uscc(session, code) if code else None
                role = form.role.data or ""
            with savepoint():
                user = create_user_by(
                    session,
                    actor,
                    email=form.email.data or "",
                    password=form.password.data or "",
                    role=role,
                    organisation=organisation,
                    display_name=form.display_name.data or "",
                )
        except VerifierError as error:
            form_errors = show_errors(form, error, {"org": "organisation"})
            return render_template(
                "users/users_new.html", form=form, form_errors=form_errors
            ), error.status
        flash(_("User %(email)s created", email=user.email), "success")
        return redirect(url_for("users.user_detail", user_id=user.id))
    return render_template("users/users_new.html", form=form, form_errors=form_errors)


def _user_page(
    user: User, role_form: RoleForm | None = None, status: int = 200, form_errors: Any = None
) -> Any:
    actor = require_actor()
    if role_form is None and actor.role == PLATFORM_ADMIN:
        role_form = RoleForm(formdata=None, role=user.role)
    may_toggle = user.id != actor.id and (
        actor.role == PLATFORM_ADMIN or (actor.role == ORG_ADMIN and user.role == ORG_RECORDER)
    )
    return render_template(
        "users/users_detail.html",
        user=user,
        role_form=role_form,
        active_form=ActiveForm(formdata=None) if may_toggle else None,
        role_labels=ROLE_LABELS,
        form_errors=form_errors or [],
    ), status


@bp.get("/users/<int:user_id>")
@roles(PLATFORM_ADMIN, ORG_ADMIN)
def user_detail(user_id: int) -> Any:
    actor = require_actor()
    return _user_page(manageable_user(get_session(), actor, user_id))


@bp.post("/users/<int:user_id>/role")
@roles(PLATFORM_ADMIN)
def change_role(user_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    user = manageable_user(session, actor, user_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            with savepoint():
                set_role(session, user, form.role.data or "", actor)
        except VerifierError as error:
            return _user_page(user, form, error.status, show_errors(form, error))
        flash(_("Role changed to %(role)s", role=ROLE_LABELS[user.role]), "success")
        return redirect(url_for("users.user_detail", user_id=user.id))
    return _user_page(user, form, 422)


@bp.post("/users/<int:user_id>/active")
@roles(PLATFORM_ADMIN, ORG_ADMIN)
def change_active(user_id: int) -> Any:
    actor = require_actor()
    session = get_session()
    user = manageable_user(session, actor, user_id)
    form = ActiveForm()
    if not form.validate_on_submit() or form.active.data not in ("0", "1"):
        abort(400)
    try:
        with savepoint():
            set_active(session, user, form.active.data == "1", actor)
    except VerifierError as error:
        return _user_page(user, None, error.status, [error.message])
    flash(_("User activated") if user.active else _("User deactivated"), "success")
    return redirect(url_for("users.user_detail", user_id=user.id))

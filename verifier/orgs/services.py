"""Register and manage organisations."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import PLATFORM_ADMIN, User
from verifier.errors import Conflict, FieldError, Forbidden, NotFound, ValidationError
from verifier.identifiers import normalize_uscc
from verifier.orgs.models import ORG_STATUSES, ORG_TYPES, Organisation

ORG_TYPE_LABELS = {
    "volunteer_org": "志愿服务组织",
    "charity": "慈善组织",
    "community": "社区",
    "event_host": "公益活动举办单位",
    "public_service": "公共服务机构",
}


@dataclass
class OrganisationInput:
    name: str
    uscc: str
    responsible_person: str
    region_code: str = ""
    org_type: str = "volunteer_org"
    contact_name: str = ""
    contact_phone: str = ""
    address: str = ""


def _require_text(value: str, field: str, label: str, max_len: int) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(_("%(label)s is required", label=label), field=field, rule="required")
    if len(value) > max_len:
        raise ValidationError(
            _("%(label)s is longer than %(n)d characters", label=label, n=max_len),
            field=field,
            rule="max_length",
        )
    return value


def validate_organisation(data: OrganisationInput) -> OrganisationInput:
    """Check every field of an organisation and return the normalised values."""
    name = _require_text(data.name, "name", _("name"), 200)
    uscc = normalize_uscc(data.uscc)
    region = (data.region_code or uscc[2:8]).strip()
    if not re.fullmatch(r"\d{6}", region):
        raise ValidationError(
            _("region code is 6 digits (GB/T 2260)"), field="region_code", rule="region_code"
        )
    if data.org_type not in ORG_TYPES:
        raise ValidationError(
            _("unknown organisation type; use one of %(types)s", types=", ".join(ORG_TYPES)),
            field="org_type",
            rule="org_type",
        )
    person = _require_text(
        data.responsible_person, "responsible_person", _("responsible person"), 50
    )
    phone = (data.contact_phone or "").strip()
    if phone and not re.fullmatch(r"[0-9+\-() ]{5,30}", phone):
        raise ValidationError(
            _("contact phone may hold only digits, spaces and + - ( )"),
            field="contact_phone",
            rule="phone",
        )
    return OrganisationInput(
        name=name,
        uscc=uscc,
        responsible_person=person,
        region_code=region,
        org_type=data.org_type,
        contact_name=(data.contact_name or "").strip()[:50],
        contact_phone=phone,
        address=(data.address or "").strip()[:200],
    )


def create_organisation(
    session: Session, data: OrganisationInput, actor: User | None
) -> Organisation:
    """Register an organisation; its USCC must be valid and not yet registered."""
    clean = validate_organisation(data)
    if session.scalar(select(Organisation.id).where(Organisation.uscc == clean.uscc)) is not None:
        message = _(
            "an organisation with unified social credit code %(uscc)s is already registered",
            uscc=clean.uscc,
        )
        raise Conflict(message, errors=[FieldError("uscc", "unique", message)])
    org = Organisation(**clean.__dict__)
    session.add(org)
    session.flush()
    record_event(
        session,
        actor,
        "organisation.create",
        "organisation",
        org.id,
        organisation_id=org.id,
        details={"name": org.name, "uscc": org.uscc},
    )
    return org


def set_status(session: Session, org: Organisation, status: str, reason: str, actor: User) -> None:
    """Change an organisation's status (active, suspended, deregistered) with a reason."""
    require_platform_admin(actor)
    if status not in ORG_STATUSES:
        raise ValidationError(
            _("unknown status; use one of %(s)s", s=", ".join(ORG_STATUSES)),
            field="status",
            rule="status",
        )
    reason = _require_text(reason, "reason", _("reason"), 500)
    old, org.status = org.status, status
    session.flush()
    record_event(
        session,
        actor,
        "organisation.status",
        "organisation",
        org.id,
        organisation_id=org.id,
        details={"from": old, "to": status, "reason": reason},
    )


def visible_organisation(session: Session, actor: User, org_id: int) -> Organisation:
    """Return an organisation the actor may see, or raise NotFound."""
    org = session.get(Organisation, org_id)
    if org is None or (actor.is_org_user and actor.organisation_id != org.id):
        raise NotFound(_("no such organisation"))
    return org


def get_by_uscc(session: Session, uscc: str) -> Organisation:
    """Return the organisation with this USCC or raise NotFound."""
    code = normalize_uscc(uscc, field="org")
    org = session.scalars(select(Organisation).where(Organisation.uscc == code)).first()
    if org is None:
        raise NotFound(_("no organisation with unified social credit code %(uscc)s", uscc=code))
    return org


def list_organisations(
    session: Session, actor: User, query: str = "", page: int = 1, per_page: int = 50
) -> tuple[list[Organisation], int]:
    """Return one page of the organisations the actor may see, and the total."""
    stmt = select(Organisation)
    if actor.is_org_user:
        stmt = stmt.where(Organisation.id == actor.organisation_id)
    if query.strip():
        like = f"%{query.strip()}%"
        stmt = stmt.where(or_(Organisation.name.like(like), Organisation.uscc.like(like.upper())))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Organisation.name).offset((max(page, 1) - 1) * per_page).limit(per_page)
    ).all()
    return list(rows), total


def require_active(org: Organisation) -> None:
    """Refuse changes for an organisation that is not active."""
    if org.status != "active":
        raise Forbidden(
            _(
                "organisation %(name)s is %(status)s and may not record or issue",
                name=org.name,
                status=org.status,
            )
        )


def require_platform_admin(actor: User) -> None:
    if actor.role != PLATFORM_ADMIN:
        raise Forbidden(_("only a platform administrator may do this"))

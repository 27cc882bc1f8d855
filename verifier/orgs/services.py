"""Register and manage organisations."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import PLATFORM_ADMIN, REGULATOR_SUPERVISOR, User
from verifier.errors import Conflict, FieldError, Forbidden, NotFound, ValidationError
from verifier.identifiers import compact_identifier, normalize_uscc
from verifier.labels import label
from verifier.orgs.labels import ORG_STATUS, ORG_TYPE
from verifier.orgs.models import Organisation, OrgStatus, OrgType
from verifier.paging import paginate
from verifier.text import clean_text, search_text

ORG_TYPE_LABELS = ORG_TYPE  # translated labels (lazy strings; str() them for JSON)


@dataclass
class OrganisationInput:
    name: str
    uscc: str
    responsible_person: str
    region_code: str = ""
    org_type: str = OrgType.VOLUNTEER_ORG
    contact_name: str = ""
    contact_phone: str = ""
    address: str = ""


def _require_text(value: str, field: str, label: str, max_len: int) -> str:
    return clean_text(value, field=field, label=label, max_length=max_len, required=True)


def validate_organisation(data: OrganisationInput) -> OrganisationInput:
    """Check every field of an organisation and return the normalised values."""
    name = _require_text(data.name, "name", _("name"), 200)
    uscc = normalize_uscc(data.uscc)
    region = compact_identifier(data.region_code) or uscc[2:8]
    if not re.fullmatch(r"[0-9]{6}", region):  # ASCII: \d would take Arabic-Indic digits
        raise ValidationError(
            _("region code is 6 digits (GB/T 2260)"), field="region_code", rule="region_code"
        )
    if data.org_type not in tuple(OrgType):
        raise ValidationError(
            _("unknown organisation type; use one of %(types)s", types=", ".join(OrgType)),
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
        contact_name=clean_text(
            data.contact_name, field="contact_name", label=_("contact name"), max_length=50
        ),
        contact_phone=phone,
        address=clean_text(data.address, field="address", label=_("address"), max_length=200),
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


def set_status(
    session: Session,
    org: Organisation,
    status: str,
    reason: str,
    actor: User | None,
    *,
    by_regulator: bool = False,
    successor: Organisation | None = None,
) -> None:
    """Change an organisation's status (active, suspended, deregistered) with a reason.

    The platform admin may set any status. With by_regulator, a regulator supervisor may only
    suspend: the sanction of ordering an organisation to stop its activities (责令停止活动).
    A deregistration may name an active successor that answers for the organisation's records.
    The change stops new issuance at once; certificates issued before stay valid.
    Without an actor, the operator on the command line acts.
    """
    if by_regulator:
        if actor is None or actor.role != REGULATOR_SUPERVISOR or status != OrgStatus.SUSPENDED:
            raise Forbidden(
                _("a regulator supervisor may only suspend an organisation, as a sanction")
            )
    elif actor is not None:
        require_platform_admin(actor)
    if status not in tuple(OrgStatus):
        raise ValidationError(
            _("unknown status; use one of %(s)s", s=", ".join(OrgStatus)),
            field="status",
            rule="status",
        )
    reason = _require_text(reason, "reason", _("reason"), 500)
    if successor is not None:
        _check_successor(org, status, successor)
    old, org.status = org.status, status
    if status != OrgStatus.DEREGISTERED:
        org.successor = None
    elif successor is not None:
        org.successor = successor
    session.flush()
    details: dict[str, str] = {"from": old, "to": status, "reason": reason}
    if successor is not None:
        details["successor_uscc"] = successor.uscc
    entry = record_event(
        session,
        actor,
        "organisation.status",
        "organisation",
        org.id,
        organisation_id=org.id,
        details=details,
    )
    if old != status:  # since the audited change (what migration 0009 read for earlier ones)
        org.status_since = entry.created_at
        session.flush()


def _check_successor(org: Organisation, status: str, successor: Organisation) -> None:
    if status != OrgStatus.DEREGISTERED:
        raise ValidationError(
            _("only a deregistration names a successor"),
            field="successor_uscc",
            rule="deregistration_only",
        )
    if successor.id == org.id or successor.status != OrgStatus.ACTIVE:
        raise ValidationError(
            _("the successor must be another organisation, and active"),
            field="successor_uscc",
            rule="active_other_organisation",
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
    query = search_text(query)
    if query:
        like = f"%{query}%"
        stmt = stmt.where(or_(Organisation.name.like(like), Organisation.uscc.like(like.upper())))
    return paginate(session, stmt, Organisation.name, page=page, per_page=per_page)


def require_active(org: Organisation) -> None:
    """Refuse changes (records, new certificates) for an organisation that is not active."""
    if org.status != OrgStatus.ACTIVE:
        message = _(
            "organisation %(name)s is %(status)s and may not record or issue",
            name=org.name,
            status=label(ORG_STATUS, org.status),
        )
        raise Forbidden(
            message, errors=[FieldError("organisation", "organisation_active", message)]
        )


def require_platform_admin(actor: User) -> None:
    if actor.role != PLATFORM_ADMIN:
        raise Forbidden(_("only a platform administrator may do this"))

"""Who answers for a deregistered organisation's records: its successor, or the platform.

A deregistered organisation keeps its records (谁记录谁负责), but can no longer act. Its named
successor's users (organisation admins and recorders) answer its volunteers' requests and
certify its records; without a successor, a platform administrator does. Everyone else is told
the organisation does not exist (404), as for another organisation's objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from verifier.auth.models import PLATFORM_ADMIN, User
from verifier.errors import NotFound
from verifier.orgs.models import Organisation, OrgStatus

SUCCESSOR = "successor"
PLATFORM = "platform"


def custodian_kind(org: Organisation) -> str | None:
    """Return who answers for a deregistered organisation (successor or platform), else None.

    A successor acts only while it is active itself; while it is not, the platform does.
    """
    if org.status != OrgStatus.DEREGISTERED:
        return None
    successor = org.successor
    return SUCCESSOR if successor is not None and successor.status == OrgStatus.ACTIVE else PLATFORM


def answers_for(actor: User, org: Organisation) -> bool:
    """Tell whether the actor answers for the deregistered organisation's records."""
    kind = custodian_kind(org)
    if kind == SUCCESSOR:
        return actor.is_org_user and actor.organisation_id == org.successor_id
    if kind == PLATFORM:
        return actor.role == PLATFORM_ADMIN
    return False


def require_answering(actor: User, org: Organisation, message: str) -> None:
    """Raise NotFound (with the message) unless the actor answers for the organisation."""
    if not answers_for(actor, org):
        raise NotFound(message)


def answered_organisation_ids(session: Session, actor: User) -> list[int]:
    """Return the deregistered organisations whose records the actor answers for."""
    stmt = select(Organisation.id).where(Organisation.status == OrgStatus.DEREGISTERED)
    active_successors = select(Organisation.id).where(Organisation.status == OrgStatus.ACTIVE)
    if actor.is_org_user:
        stmt = stmt.where(
            Organisation.successor_id == actor.organisation_id,
            Organisation.successor_id.in_(active_successors),
        )
    elif actor.role == PLATFORM_ADMIN:
        stmt = stmt.where(
            or_(
                Organisation.successor_id.is_(None),
                Organisation.successor_id.not_in(active_successors),
            )
        )
    else:
        return []
    return list(session.scalars(stmt.order_by(Organisation.id)))


def answered_organisation(session: Session, actor: User, org_id: int) -> Organisation:
    """Return a deregistered organisation the actor answers for, or raise NotFound."""
    org = session.get(Organisation, org_id)
    if org is None or not answers_for(actor, org):
        raise NotFound(_("no such organisation"))
    return org


def acting_details(actor: User, org: Organisation) -> dict[str, Any]:
    """Return what an audit entry adds when a custodian acts for a deregistered organisation."""
    kind = custodian_kind(org)
    if kind is None or not answers_for(actor, org):
        return {}
    details: dict[str, Any] = {"acting_as": kind, "acting_for_uscc": org.uscc}
    if kind == SUCCESSOR and org.successor is not None:
        details["successor_uscc"] = org.successor.uscc
    elif org.successor is not None:  # named, but not active: the platform acts instead
        details["inactive_successor_uscc"] = org.successor.uscc
    return details


@dataclass(frozen=True)
class Answerer:
    """Who answers a volunteer's request about an organisation's records."""

    kind: str  # organisation, successor or platform
    name: str  # the organisation's or the successor's name; empty for the platform
    uscc: str | None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "uscc": self.uscc}

    def sentence(self) -> str:
        if self.kind == SUCCESSOR:
            return _(
                "The organisation is deregistered; its successor %(name)s will answer.",
                name=self.name,
            )
        if self.kind == PLATFORM:
            return _(
                "The organisation is deregistered without a successor; the platform "
                "administrator will answer."
            )
        return _("%(name)s will answer.", name=self.name)


def answerer_of(org: Organisation) -> Answerer:
    """Return who answers volunteers' requests about the organisation's records now."""
    kind = custodian_kind(org)
    if kind == SUCCESSOR and org.successor is not None:
        return Answerer(SUCCESSOR, org.successor.name, org.successor.uscc)
    if kind == PLATFORM:
        return Answerer(PLATFORM, "", None)
    return Answerer("organisation", org.name, org.uscc)

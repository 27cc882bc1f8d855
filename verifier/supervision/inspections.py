"""The inspector's queue: the sampled items assigned to them, and what is needed to check each.

Inspectors are drawn per organisation, so an inspector assigned to any item of an organisation in a
campaign works on all of that organisation's sampled items there (the organisation and its records).
An item outside the caller's assignments answers NotFound, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from verifier.auth.models import REGULATOR_INSPECTOR, REGULATOR_SUPERVISOR, User
from verifier.certificates.models import Certificate, CertificateRecord
from verifier.errors import Forbidden, NotFound
from verifier.paging import paginate
from verifier.records.models import ServiceRecord
from verifier.spotchecks.models import SpotCheckAssignment, SpotCheckItem
from verifier.spotchecks.risk import organisation_signals, record_signals
from verifier.spotchecks.states import ItemKind
from verifier.supervision.models import FindingEvidence, SpotCheckFinding, SupervisionCase


def _assigned_clause(user_id: int) -> Any:
    """SQL: the item shares its campaign and organisation with an item assigned to the user."""
    other = aliased(SpotCheckItem)
    return exists(
        select(SpotCheckAssignment.id)
        .join(other, other.id == SpotCheckAssignment.item_id)
        .where(
            SpotCheckAssignment.inspector_id == user_id,
            other.campaign_id == SpotCheckItem.campaign_id,
            other.organisation_id == SpotCheckItem.organisation_id,
        )
    )


def is_assigned(session: Session, user: User, item: SpotCheckItem) -> bool:
    """Tell whether the user is one of the inspectors drawn for this item's organisation."""
    return bool(
        session.scalar(
            select(func.count())
            .select_from(SpotCheckItem)
            .where(SpotCheckItem.id == item.id, _assigned_clause(user.id))
        )
    )


def visible_item(session: Session, actor: User, item_id: int) -> SpotCheckItem:
    """Return an item the actor may see: a supervisor any, an inspector their own."""
    item = session.get(SpotCheckItem, item_id)
    if item is None:
        raise NotFound(_("no such spot-check item"))
    if actor.role == REGULATOR_SUPERVISOR:
        return item
    if actor.role == REGULATOR_INSPECTOR and is_assigned(session, actor, item):
        return item
    raise NotFound(_("no such spot-check item"))


@dataclass
class QueueRow:
    item: SpotCheckItem
    finding: SpotCheckFinding | None


def list_items(
    session: Session,
    actor: User,
    *,
    mine: bool = True,
    campaign_id: int | None = None,
    pending_only: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[QueueRow], int]:
    """Return one page of the queue: the actor's own items (a supervisor: all, with mine off)."""
    if actor.role not in (REGULATOR_INSPECTOR, REGULATOR_SUPERVISOR):
        raise Forbidden(_("Your role may not do this"))
    stmt = select(SpotCheckItem, SpotCheckFinding).outerjoin(
        SpotCheckFinding, SpotCheckFinding.item_id == SpotCheckItem.id
    )
    if mine or actor.role == REGULATOR_INSPECTOR:
        stmt = stmt.where(_assigned_clause(actor.id))
    if campaign_id is not None:
        stmt = stmt.where(SpotCheckItem.campaign_id == campaign_id)
    if pending_only:
        stmt = stmt.where(SpotCheckFinding.id.is_(None))
    order = (
        SpotCheckItem.campaign_id.desc(),
        SpotCheckItem.organisation_id,
        SpotCheckItem.stage,
        SpotCheckItem.rank,
    )
    rows, total = paginate(session, stmt, *order, page=page, per_page=per_page)
    return [QueueRow(item, finding) for item, finding in rows], total


@dataclass
class ItemDetail:
    """What an inspector needs to check an item."""

    item: SpotCheckItem
    records: list[ServiceRecord]
    certificates: dict[int, list[Certificate]]  # record id -> certificates covering it
    signals: dict[int, Any]  # record id -> RiskResult (when risk signals are available)
    organisation_signals: Any
    inspectors: list[User]
    finding: SpotCheckFinding | None
    evidence: list[FindingEvidence]
    affected: list[int]
    case: SupervisionCase | None
    related_items: list[SpotCheckItem] = field(default_factory=list)


def sampled_records(session: Session, item: SpotCheckItem) -> list[ServiceRecord]:
    """A record item: its record; an organisation item: the records sampled within it."""
    if item.record_id is not None:
        record = session.get(ServiceRecord, item.record_id)
        return [record] if record is not None else []
    return list(
        session.scalars(
            select(ServiceRecord)
            .join(SpotCheckItem, SpotCheckItem.record_id == ServiceRecord.id)
            .where(
                SpotCheckItem.campaign_id == item.campaign_id,
                SpotCheckItem.organisation_id == item.organisation_id,
            )
            .order_by(SpotCheckItem.rank)
        )
    )


def certificates_by_record(
    session: Session, record_ids: Sequence[int]
) -> dict[int, list[Certificate]]:
    """Return the certificates covering each record."""
    found: dict[int, list[Certificate]] = {rid: [] for rid in record_ids}
    if record_ids:
        rows = session.execute(
            select(CertificateRecord.record_id, Certificate)
            .join(Certificate, Certificate.id == CertificateRecord.certificate_id)
            .where(CertificateRecord.record_id.in_(list(record_ids)))
            .order_by(Certificate.number)
        )
        for rid, cert in rows:
            found[rid].append(cert)
    return found


def risk_of_records(session: Session, record_ids: list[int]) -> dict[int, Any]:
    """Risk signals of the records (verifier.spotchecks.risk)."""
    return record_signals(session, record_ids=record_ids) if record_ids else {}


def risk_of_organisation(session: Session, organisation_id: int) -> Any:
    return organisation_signals(session, organisation_ids=[organisation_id]).get(organisation_id)


def finding_of(session: Session, item_id: int) -> SpotCheckFinding | None:
    return session.scalars(
        select(SpotCheckFinding).where(SpotCheckFinding.item_id == item_id)
    ).first()


def evidence_of(session: Session, finding_id: int) -> list[FindingEvidence]:
    return list(
        session.scalars(
            select(FindingEvidence)
            .where(FindingEvidence.finding_id == finding_id)
            .order_by(FindingEvidence.id)
        )
    )


def item_detail(session: Session, item: SpotCheckItem) -> ItemDetail:
    """Gather the organisation, records, covering certificates, risk signals and any finding."""
    from verifier.supervision.services import affected_record_ids

    records = sampled_records(session, item)
    ids = [r.id for r in records]
    finding = finding_of(session, item.id)
    inspectors = list(
        session.scalars(
            select(User)
            .join(SpotCheckAssignment, SpotCheckAssignment.inspector_id == User.id)
            .join(SpotCheckItem, SpotCheckItem.id == SpotCheckAssignment.item_id)
            .where(
                SpotCheckItem.campaign_id == item.campaign_id,
                SpotCheckItem.organisation_id == item.organisation_id,
            )
            .distinct()
            .order_by(User.id)
        )
    )
    related = list(
        session.scalars(
            select(SpotCheckItem)
            .where(
                SpotCheckItem.campaign_id == item.campaign_id,
                SpotCheckItem.organisation_id == item.organisation_id,
                SpotCheckItem.id != item.id,
            )
            .order_by(SpotCheckItem.stage, SpotCheckItem.rank)
        )
    )
    case = None
    if finding is not None:
        case = session.scalars(
            select(SupervisionCase).where(SupervisionCase.finding_id == finding.id)
        ).first()
    return ItemDetail(
        item=item,
        records=records,
        certificates=certificates_by_record(session, ids),
        signals=risk_of_records(session, ids),
        organisation_signals=risk_of_organisation(session, item.organisation_id)
        if item.kind == ItemKind.ORGANISATION
        else None,
        inspectors=inspectors,
        finding=finding,
        evidence=evidence_of(session, finding.id) if finding else [],
        affected=affected_record_ids(session, finding.id) if finding else [],
        case=case,
        related_items=related,
    )

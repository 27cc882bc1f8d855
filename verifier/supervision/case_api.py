"""JSON API for supervision cases: list, show, the organisation's answer, close, escalate."""

from __future__ import annotations

import json
from typing import Any

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import answer, read_json, read_query
from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER, REGULATOR_INSPECTOR, REGULATOR_SUPERVISOR
from verifier.db import get_session
from verifier.supervision.decisions import Decision, close_case, escalate_case
from verifier.supervision.models import SupervisionCase
from verifier.supervision.schemas import (
    CaseClose,
    CaseEscalate,
    CaseEventOut,
    CaseOut,
    CasePage,
    CaseQuery,
    CaseResponse,
    OrganisationRef,
    cert_ref,
    when,
)
from verifier.supervision.services import (
    case_certificates,
    case_events,
    corrected_ids,
    list_cases,
    respond,
    visible_case,
)

REGULATORS = (REGULATOR_SUPERVISOR, REGULATOR_INSPECTOR)
CASE_READERS = (ORG_ADMIN, ORG_RECORDER, *REGULATORS)
CASE = "<int(max=2147483647):case_id>"


def org_ref(org: Any) -> OrganisationRef:
    return OrganisationRef(id=org.id, name=org.name, uscc=org.uscc)


def case_out(case: SupervisionCase, with_events: bool = False) -> CaseOut:
    session = get_session()
    events = None
    if with_events:
        events = [
            CaseEventOut(kind=e.kind, at=when(e.at), note=e.note, details=json.loads(e.details))
            for e in case_events(session, case)
        ]
    return CaseOut(
        id=case.id,
        organisation=org_ref(case.organisation),
        campaign_id=case.campaign_id,
        finding_id=case.finding_id,
        discrepancy_type=case.finding.discrepancy_type,
        status=case.status,
        deadline=when(case.deadline),
        opened_at=when(case.opened_at),
        response=case.response,
        corrected_record_ids=corrected_ids(case),
        responded_at=when(case.responded_at),
        outcome=case.outcome,
        sanction=case.sanction,
        falsification_confirmed=case.falsification_confirmed,
        decision=case.decision,
        closed_at=when(case.closed_at),
        certificates=[cert_ref(c) for c in case_certificates(session, case)],
        events=events,
    )


@bp.get("/supervision/cases")
@roles(*CASE_READERS)
@operation(
    summary="List supervision cases",
    tag="supervision",
    description="Organisation users see their own organisation's cases; regulators all. Open "
    "cases first, the nearest deadline first.",
    query=CaseQuery,
    response=CasePage,
)
def list_cases_api() -> Any:
    query = read_query(CaseQuery)
    rows, total = list_cases(
        get_session(),
        require_actor(),
        status=query.status or "",
        page=query.page,
        per_page=query.per_page,
    )
    return answer(CasePage.of(query, rows, total, case_out))


@bp.get(f"/supervision/cases/{CASE}")
@roles(*CASE_READERS)
@operation(
    summary="Show a supervision case with its history",
    tag="supervision",
    description="Another organisation's case answers 404.",
    response=CaseOut,
)
def get_case_api(case_id: int) -> Any:
    return answer(case_out(visible_case(get_session(), require_actor(), case_id), True))


@bp.post(f"/supervision/cases/{CASE}/response")
@roles(ORG_ADMIN, ORG_RECORDER)
@operation(
    summary="Answer a supervision case (the organisation)",
    tag="supervision",
    description="An explanation, and the ids of the records corrected (through the record "
    "pages or API) for this case. Allowed while the case is open, answered or overdue (409 "
    "otherwise).",
    body=CaseResponse,
    response=CaseOut,
    errors=(409,),
)
def respond_case_api(case_id: int) -> Any:
    session, actor = get_session(), require_actor()
    case = visible_case(session, actor, case_id)
    body = read_json(CaseResponse)
    respond(session, case, actor, body.explanation, body.corrected_record_ids)
    return answer(case_out(case, True))


@bp.post(f"/supervision/cases/{CASE}/close")
@roles(REGULATOR_SUPERVISOR)
@operation(
    summary="Close a supervision case (the supervisor)",
    tag="supervision",
    description="`resolved`: the suspended certificates are reinstated (those whose records "
    "changed become superseded). `sanctioned` with a sanction; `stop_activities` suspends the "
    "organisation. With `falsification_confirmed` the certificates covering the affected "
    "records are revoked with the finding as the reason.",
    body=CaseClose,
    response=CaseOut,
    errors=(409,),
)
def close_case_api(case_id: int) -> Any:
    session, actor = get_session(), require_actor()
    case = visible_case(session, actor, case_id)
    body = read_json(CaseClose)
    close_case(
        session,
        case,
        actor,
        Decision(body.outcome, body.decision, body.sanction, body.falsification_confirmed),
    )
    return answer(case_out(case, True))


@bp.post(f"/supervision/cases/{CASE}/escalate")
@roles(REGULATOR_SUPERVISOR)
@operation(
    summary="Escalate a supervision case (the supervisor)",
    tag="supervision",
    description="Hands the case up; its certificates stay suspended until it is closed.",
    body=CaseEscalate,
    response=CaseOut,
    errors=(409,),
)
def escalate_case_api(case_id: int) -> Any:
    session, actor = get_session(), require_actor()
    case = visible_case(session, actor, case_id)
    body = read_json(CaseEscalate)
    escalate_case(session, case, actor, body.note)
    return answer(case_out(case, True))

"""JSON API for who answers for a deregistered organisation: its successor, or the platform.

Only the named successor's users (or, without a successor, platform administrators) reach a
deregistered organisation's objects here; anyone else gets 404, as for another organisation's.
"""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_babel import gettext as _

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import answer, read_json
from verifier.auth.access import require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER, PLATFORM_ADMIN
from verifier.certificates.lifecycle import reissue
from verifier.certificates.schemas import CertificateOut
from verifier.certificates.services import IssueRequest, number_display
from verifier.complaints.services import answer_correction_request, visible_correction_request
from verifier.db import get_session
from verifier.orgs.succession import answered_organisation, require_answering
from verifier.portal import certreqs
from verifier.portal.certreqs_schemas import CertificateRequestOut, IssueBody, Refusal
from verifier.portal.mydata_schemas import MissingRecordRefusal, QueuedMissingRecordOut
from verifier.portal.omissions import refuse_missing_record
from verifier.portal.omissions import visible_request as visible_missing_request
from verifier.records.schemas import RecordCorrection, RecordOut
from verifier.records.services import correct_record, visible_record
from verifier.succession.schemas import (
    CorrectionAnswer,
    CorrectionAnswerOut,
    DocketList,
    DocketOut,
    SuccessorIssue,
)
from verifier.succession.services import (
    answered_certificate,
    answered_volunteer,
    dockets,
    issue_for_deregistered,
)

CUSTODIANS = (PLATFORM_ADMIN, ORG_ADMIN, ORG_RECORDER)
TAG = "succession"
ORG_ID = "<int(min=1, max=2147483647):org_id>"
ID = "<int(min=1, max=2147483647):request_id>"
RECORD_ID = "<int(min=1, max=2147483647):record_id>"
NUMBER = "<string(maxlength=64):number>"
WHO = (
    " Only the deregistered organisation's successor's users, or platform administrators when "
    "it has none, may do this; anyone else gets 404. The audit entry names the acting "
    "organisation (`acting_as`, `successor_uscc`) and the one acted for (`acting_for_uscc`)."
)


def _certificate_out(cert: Any) -> Any:
    location = url_for("api.get_certificate_api", number=number_display(cert.number))
    return answer(CertificateOut.of(cert), 201, location)


@bp.get("/successor/organisations")
@roles(*CUSTODIANS)
@operation(
    summary="Deregistered organisations I answer for, with their open requests",
    tag=TAG,
    description="For a successor's users: the deregistered organisations that named theirs as "
    "successor; for a platform administrator: those deregistered without a successor.",
    response=DocketList,
)
def list_successions_api() -> Any:
    session, actor = get_session(), require_actor()
    return answer(DocketList(items=[DocketOut.of(d) for d in dockets(session, actor)]))


@bp.post(f"/successor/organisations/{ORG_ID}/certificates")
@roles(*CUSTODIANS)
@operation(
    summary="Issue a certificate from a deregistered organisation's records",
    tag=TAG,
    description="As POST /certificates, for a volunteer of the deregistered organisation (by "
    "`volunteer_number`). The certificate keeps the deregistered organisation as `issuer_name` "
    "and `issuer_uscc` (the records are its own) and says who issued it (`issued_for`; the "
    "token's `by` claim: the successor's USCC, or `platform`)." + WHO,
    body=SuccessorIssue,
    response=CertificateOut,
    status=201,
    errors=(404, 409),
)
def issue_successor_certificate_api(org_id: int) -> Any:
    session, actor = get_session(), require_actor()
    org = answered_organisation(session, actor, org_id)
    body = read_json(SuccessorIssue)
    volunteer = answered_volunteer(session, org, body.volunteer_number)
    cert = issue_for_deregistered(
        session,
        actor,
        org,
        volunteer,
        IssueRequest(
            volunteer_id=volunteer.id,
            record_ids=body.record_ids,
            period_from=body.period_from,
            period_to=body.period_to,
            handler=body.handler,
        ),
    )
    return _certificate_out(cert)


@bp.post(f"/successor/certificates/{NUMBER}/reissue")
@roles(*CUSTODIANS)
@operation(
    summary="Re-issue a deregistered organisation's superseded certificate",
    tag=TAG,
    description="After a correction superseded it: a fresh certificate over the same records as "
    "they are now, issued by the successor (or the platform) for the deregistered "
    "organisation." + WHO,
    response=CertificateOut,
    status=201,
    errors=(404, 409),
)
def reissue_successor_certificate_api(number: str) -> Any:
    session, actor = get_session(), require_actor()
    return _certificate_out(reissue(session, answered_certificate(session, actor, number), actor))


@bp.post(f"/successor/records/{RECORD_ID}/corrections")
@roles(*CUSTODIANS)
@operation(
    summary="Correct a deregistered organisation's record",
    tag=TAG,
    description="As POST /records/{id}/corrections, to answer a volunteer's request." + WHO,
    body=RecordCorrection,
    response=RecordOut,
    errors=(404, 409),
)
def correct_successor_record_api(record_id: int) -> Any:
    session, actor = get_session(), require_actor()
    record = visible_record(session, actor, record_id)
    require_answering(actor, record.organisation, _("no such record"))
    body = read_json(RecordCorrection)
    correct_record(session, record, body.merged_over(record), body.reason, actor)
    return answer(RecordOut.of(record))


@bp.post(f"/successor/correction-requests/{ID}/answer")
@roles(*CUSTODIANS)
@operation(
    summary="Answer a correction request or dispute about a deregistered organisation's record",
    tag=TAG,
    description="`resolved` once the record was corrected (or voided) since the request, or "
    "`rejected` with the reasons; the volunteer is told." + WHO,
    body=CorrectionAnswer,
    response=CorrectionAnswerOut,
    errors=(404, 409),
)
def answer_successor_correction_api(request_id: int) -> Any:
    session, actor = get_session(), require_actor()
    found = visible_correction_request(session, actor, request_id)
    require_answering(actor, found.record.organisation, _("no such request"))
    body = read_json(CorrectionAnswer)
    answer_correction_request(session, actor, found, status=body.status, resolution=body.resolution)
    return answer(
        CorrectionAnswerOut(
            id=found.id, record_id=found.record_id, status=found.status, resolution=found.resolution
        )
    )


@bp.post(f"/successor/missing-record-requests/{ID}/refuse")
@roles(*CUSTODIANS)
@operation(
    summary="Refuse a missing-record request to a deregistered organisation",
    tag=TAG,
    description="A deregistered organisation records no new service, so its successor (or the "
    "platform) can only refuse, with the reason the volunteer reads." + WHO,
    body=MissingRecordRefusal,
    response=QueuedMissingRecordOut,
    errors=(404, 409),
)
def refuse_successor_missing_record_api(request_id: int) -> Any:
    session, actor = get_session(), require_actor()
    found = visible_missing_request(session, actor, request_id)
    require_answering(actor, found.organisation, _("no such request"))
    body = read_json(MissingRecordRefusal)
    return answer(
        QueuedMissingRecordOut.of(refuse_missing_record(session, actor, found, body.reason))
    )


@bp.post(f"/successor/certificate-requests/{ID}/issue")
@roles(*CUSTODIANS)
@operation(
    summary="Issue the certificate a volunteer asked a deregistered organisation for",
    tag=TAG,
    description="As POST /certificate-requests/{id}/issue, by the successor (or the platform)."
    + WHO,
    body=IssueBody,
    body_required=False,
    response=CertificateOut,
    status=201,
    errors=(404, 409),
)
def issue_successor_certificate_request_api(request_id: int) -> Any:
    session, actor = get_session(), require_actor()
    found = certreqs.visible_request(session, actor, request_id)
    require_answering(actor, found.organisation, _("no such request"))
    body = read_json(IssueBody) if request.get_data(cache=True).strip() else IssueBody()
    return _certificate_out(certreqs.issue_for_request(session, actor, found, body.handler))


@bp.post(f"/successor/certificate-requests/{ID}/refuse")
@roles(*CUSTODIANS)
@operation(
    summary="Refuse a certificate request to a deregistered organisation",
    tag=TAG,
    description="With a reason the volunteer is told." + WHO,
    body=Refusal,
    response=CertificateRequestOut,
    errors=(404, 409),
)
def refuse_successor_certificate_request_api(request_id: int) -> Any:
    session, actor = get_session(), require_actor()
    found = certreqs.visible_request(session, actor, request_id)
    require_answering(actor, found.organisation, _("no such request"))
    body = read_json(Refusal)
    certreqs.refuse_request(session, actor, found, body.reason)
    return answer(CertificateRequestOut.of(found, None))

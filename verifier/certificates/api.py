"""JSON API for certificates: issue one or many, list, show, QR, PDF, status changes, re-issue."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import answer, read_json, read_query
from verifier.auth.access import ANY_ROLE, require_actor, roles
from verifier.auth.models import ORG_ADMIN, ORG_RECORDER, VOLUNTEER
from verifier.certificates.bulk import BULK_LIMIT, BulkRequest, issue_bulk
from verifier.certificates.documents import (
    certificate_pdf,
    certificate_pdf_filename,
    qr_png_of,
    requested_form,
    requested_language,
)
from verifier.certificates.jobs import queue_bulk, runs_as_job
from verifier.certificates.lifecycle import reissue, set_status
from verifier.certificates.models import Certificate
from verifier.certificates.printable import printed_handler
from verifier.certificates.schemas import (
    BulkCreate,
    BulkOut,
    CertificateCreate,
    CertificateOut,
    CertificatePage,
    CertificateQuery,
    PdfQuery,
    Reinstatement,
    StatusChange,
)
from verifier.certificates.services import (
    IssueRequest,
    issue_certificate,
    list_certificates,
    number_display,
    verification_counts,
    visible_certificate,
)
from verifier.certificates.states import CertificateStatus
from verifier.db import get_session
from verifier.jobs.api import ACCEPTED_TEXT, accepted, prefers_async, request_locale
from verifier.jobs.schemas import JobOut
from verifier.volunteers.services import visible_volunteer

NUMBER = "<string(maxlength=64):number>"
ORG_USERS = (ORG_ADMIN, ORG_RECORDER)
NUMBER_DOC = (
    "The number is accepted grouped or not, in any case. Another organisation's certificate "
    "answers 404."
)


def _out(cert: Certificate, with_counts: bool = True) -> CertificateOut:
    session = get_session()
    counts = verification_counts(session, [cert.id])[cert.id] if with_counts else None
    successor = session.get(Certificate, cert.superseded_by_id) if cert.superseded_by_id else None
    return CertificateOut.of(cert, counts, successor.number if successor else None)


def _location(cert: Certificate) -> str:
    return url_for("api.get_certificate_api", number=number_display(cert.number))


@bp.post("/certificates")
@roles(*ORG_USERS)
@operation(
    summary="Issue a certificate (志愿服务记录证明)",
    tag="certificates",
    description=(
        "Free of charge, from the caller's organisation's own valid records of one of its "
        "volunteers: the chosen `record_ids`, or every valid record between `period_from` and "
        "`period_to` (either end may be left open; neither means all). A volunteer of another "
        "organisation answers 404; a record that is not this volunteer's, or is voided, 422 with "
        "field `record_ids`. A record held by an open supervision case answers 409; so does one "
        "the volunteer disputes as not attended, until the organisation answers the dispute "
        "(rule `record_disputed`). The handler (经办人) is printed by name: `handler`, else the "
        "caller's display name; neither, or an e-mail address, answers 422 (field `handler`). "
        "Any printed text (the volunteer's name, a record's activity, place or content, the "
        "organisation's details, the handler) with a character the certificate's font cannot "
        "draw answers 422 (rule `unprintable_character`), naming the character; nothing is "
        "stored. Answers 201 "
        "with the certificate, its number, token and verify_url."
    ),
    body=CertificateCreate,
    response=CertificateOut,
    status=201,
    errors=(404, 409),
)
def issue_certificate_api() -> Any:
    body = read_json(CertificateCreate)
    session, actor = get_session(), require_actor()
    volunteer = visible_volunteer(session, actor, body.volunteer_id)
    cert = issue_certificate(
        session,
        actor.organisation,
        IssueRequest(
            volunteer_id=volunteer.id,
            record_ids=body.record_ids,
            period_from=body.period_from,
            period_to=body.period_to,
            handler=body.handler,
        ),
        actor,
    )
    return answer(_out(cert), 201, _location(cert))


@bp.post("/certificates/bulk")
@roles(*ORG_USERS)
@operation(
    summary="Issue certificates to many volunteers",
    tag="certificates",
    description=(
        f"One certificate per volunteer over their valid records in the period, all in one "
        f"transaction (all or nothing). At most {BULK_LIMIT} volunteers per call. Without "
        "`volunteer_ids`, every volunteer of the organisation with valid records in the period. "
        "Skipped, with a reason: `not_member` (not the organisation's volunteer), `no_records` "
        "(no valid record in the period), `already_certified` (already holds a valid or "
        "suspended certificate over exactly the same records and period; so a run repeated "
        "issues nothing twice), `under_supervision` (a record in the period is covered by a "
        "certificate a supervision case holds), `disputed` (the volunteer disputes a record in "
        "the period, saying they were not there, and the organisation has not answered yet), "
        "`unprintable` (the volunteer's name or a record holds a character the certificate's "
        "font cannot draw; the message names it). The handler rule of a single issuance "
        "applies to the whole run. "
        "Answers 201, or 200 when nothing was issued. "
        "More than `VERIFIER_BULK_SYNC_MAX_VOLUNTEERS` volunteers (default 1000) run as a job: "
        + ACCEPTED_TEXT
    ),
    body=BulkCreate,
    response=BulkOut,
    status=201,
    responses={
        200: ("Nothing was issued; every volunteer was skipped.", BulkOut),
        202: ("Queued as a job; poll `Location`.", JobOut),
    },
    errors=(409, 429),
)
def issue_bulk_api() -> Any:
    body = read_json(BulkCreate)
    session, actor = get_session(), require_actor()
    printed_handler(body.handler, actor)  # refused now, not later in a job
    if runs_as_job(session, actor.organisation, body, prefers_async()):
        return accepted(queue_bulk(session, actor.organisation, actor, body, request_locale()))
    result = issue_bulk(
        session,
        actor.organisation,
        BulkRequest(body.period_from, body.period_to, body.volunteer_ids, body.handler),
        actor,
    )
    return answer(
        BulkOut.of(result, body.period_from, body.period_to), 201 if result.issued else 200
    )


@bp.get("/certificates")
@roles(*ANY_ROLE)
@operation(
    summary="List and search certificates",
    tag="certificates",
    description="Newest first. Organisation users see their own organisation's certificates; "
    "regulators and the platform admin see all. `q` matches a certificate number (grouped or "
    "not), a volunteer number, or part of the volunteer's name.",
    query=CertificateQuery,
    response=CertificatePage,
)
def list_certificates_api() -> Any:
    query = read_query(CertificateQuery)
    session = get_session()
    rows, total = list_certificates(
        session,
        require_actor(),
        query=query.q,
        status=query.status or "",
        page=query.page,
        per_page=query.per_page,
    )
    counts = verification_counts(session, [c.id for c in rows])
    return answer(
        CertificatePage.of(query, rows, total, lambda c: CertificateOut.of(c, counts[c.id]))
    )


@bp.get(f"/certificates/{NUMBER}")
@roles(*ANY_ROLE)
@operation(
    summary="Show a certificate",
    tag="certificates",
    description=NUMBER_DOC,
    response=CertificateOut,
)
def get_certificate_api(number: str) -> Any:
    return answer(_out(visible_certificate(get_session(), require_actor(), number)))


@bp.get(f"/certificates/{NUMBER}/qr.png")
@roles(*ANY_ROLE)
@operation(
    summary="The certificate's QR code (PNG)",
    tag="certificates",
    description="Holds the verify_url. Error correction level M; rendered once, then stored. "
    + NUMBER_DOC,
    media="image/png",
)
def certificate_qr_api(number: str) -> Any:
    session = get_session()
    cert = visible_certificate(session, require_actor(), number)
    response = Response(qr_png_of(session, cert), mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get(f"/certificates/{NUMBER}/certificate.pdf")
@roles(*ANY_ROLE, VOLUNTEER)
@operation(
    summary="The certificate as an A4 PDF, in Chinese or English",
    tag="certificates",
    description="Two forms. The holder's copy (`form=holder`, 持证人联): the volunteer's full "
    "name, ID type and the ID number masked in the middle (110101********123X); only for the "
    "issuing organisation's users and the volunteer (others: 403). The public form "
    "(`form=public`): the name and ID number masked as on the public verification page. "
    "Without `form`, the holder's copy for those who may have it, the public form for the "
    "others. Both: the volunteer number, one line per record (date, place, content, hours, as "
    "they read at issuance), the issuer's name, USCC, 负责人, 经办人 and contact, an empty box "
    "for the seal, two signature lines, the number, the issue date and the QR code (at least "
    "0.5 mm per module). `lang=en` prints it in English (default `zh`). "
    + NUMBER_DOC
    + " A volunteer downloads their own certificates (another's answers 404).",
    media="application/pdf",
    query=PdfQuery,
    errors=(403, 422),
)
def certificate_pdf_api(number: str) -> Any:
    query = read_query(PdfQuery)
    session, actor = get_session(), require_actor()
    cert = visible_certificate(session, actor, number)
    holder = requested_form(actor, cert, query.form)
    lang = requested_language(query.lang)
    document = certificate_pdf(session, cert, holder_copy=holder, lang=lang)
    response = Response(document, mimetype="application/pdf")
    filename = certificate_pdf_filename(cert, holder_copy=holder, lang=lang)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


_CHANGE_TEXT = (
    " Only the issuing organisation (403 for others' roles; 404 for another organisation's "
    "certificate). A change the current status does not allow answers 409."
)


@bp.post(f"/certificates/{NUMBER}/revoke")
@roles(*ORG_USERS)
@operation(
    summary="Revoke a certificate",
    tag="certificates",
    description="Final: a revoked certificate verifies as `revoked`, with the reason."
    + _CHANGE_TEXT,
    body=StatusChange,
    response=CertificateOut,
    errors=(409,),
)
def revoke_certificate_api(number: str) -> Any:
    return _change(number, CertificateStatus.REVOKED)


@bp.post(f"/certificates/{NUMBER}/suspend")
@roles(*ORG_USERS)
@operation(
    summary="Suspend a certificate while it is reviewed",
    tag="certificates",
    description="Temporary: verifies as `suspended`, with the reason, until reinstated."
    + _CHANGE_TEXT,
    body=StatusChange,
    response=CertificateOut,
    errors=(409,),
)
def suspend_certificate_api(number: str) -> Any:
    return _change(number, CertificateStatus.SUSPENDED)


@bp.post(f"/certificates/{NUMBER}/reinstate")
@roles(*ORG_USERS)
@operation(
    summary="Reinstate a suspended certificate",
    tag="certificates",
    description="The body (an optional `reason`) may be left out. If the records it covers "
    "changed meanwhile, it becomes `superseded` instead." + _CHANGE_TEXT,
    body=Reinstatement,
    body_required=False,
    response=CertificateOut,
    errors=(409,),
)
def reinstate_certificate_api(number: str) -> Any:
    return _change(number, CertificateStatus.VALID)


def _change(number: str, status: str) -> Any:
    session, actor = get_session(), require_actor()
    cert = visible_certificate(session, actor, number)
    if status == CertificateStatus.VALID:
        body: StatusChange | Reinstatement = (
            read_json(Reinstatement) if request.get_data(cache=True).strip() else Reinstatement()
        )
    else:
        body = read_json(StatusChange)
    set_status(session, cert, status, body.reason, actor)
    return answer(_out(cert))


@bp.post(f"/certificates/{NUMBER}/reissue")
@roles(*ORG_USERS)
@operation(
    summary="Re-issue a superseded certificate",
    tag="certificates",
    description="A new certificate over the same records as they are now (voided ones dropped), "
    "with a new number. Only a superseded certificate, and only once (409 otherwise). Answers "
    "201 with the new certificate.",
    response=CertificateOut,
    status=201,
    errors=(409, 422),
)
def reissue_certificate_api(number: str) -> Any:
    session, actor = get_session(), require_actor()
    cert = visible_certificate(session, actor, number)
    new = reissue(session, cert, actor)
    return answer(_out(new), 201, _location(new))

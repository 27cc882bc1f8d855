"""JSON API: a volunteer's certificate requests and certificates; the organisation's queue that
answers the requests; the regulators' view of requests left unanswered or refused."""

from __future__ import annotations

from typing import Any

from flask import request, url_for

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import PageQuery, answer, read_json, read_query
from verifier.auth.access import require_actor, roles
from verifier.auth.models import (
    ORG_ADMIN,
    ORG_RECORDER,
    REGULATOR_INSPECTOR,
    REGULATOR_SUPERVISOR,
    VOLUNTEER,
)
from verifier.certificates.models import Certificate
from verifier.certificates.schemas import CertificateOut
from verifier.certificates.services import number_display, verification_counts
from verifier.complaints.models import CertificateRequest
from verifier.db import get_session
from verifier.portal import certreqs
from verifier.portal import certreqs_lists as lists
from verifier.portal.certreqs_schemas import (
    CertificateRequestCreate,
    CertificateRequestOut,
    CertificateRequestPage,
    CertificateRequestQuery,
    IssueBody,
    MyCertificateOut,
    MyCertificateRequestOut,
    MyCertificateRequestPage,
    MyCertificatesOut,
    OrganisationRequestsOut,
    OrganisationRequestsPage,
    Refusal,
)

ORG_USERS = (ORG_ADMIN, ORG_RECORDER)
REGULATORS = (REGULATOR_SUPERVISOR, REGULATOR_INSPECTOR)
TAG = "certificate requests"
REQUEST_ID = "<int:certificate_request_id>"
FREE_TEXT = "Free of charge (条例 Art. 19): nothing is ever paid for a request or a certificate."


def _number(request_row: CertificateRequest) -> str | None:
    if request_row.certificate_id is None:
        return None
    cert = get_session().get(Certificate, request_row.certificate_id)
    return cert.number if cert is not None else None


def _mine(request_row: CertificateRequest) -> MyCertificateRequestOut:
    return MyCertificateRequestOut.of(request_row, _number(request_row))


def _staff(request_row: CertificateRequest) -> CertificateRequestOut:
    return CertificateRequestOut.of(request_row, _number(request_row))


# --- the volunteer --------------------------------------------------------------------------


@bp.post("/me/certificate-requests")
@roles(VOLUNTEER)
@operation(
    summary="Ask one of your organisations for a certificate",
    tag=TAG,
    description=(
        "The volunteer asks an organisation they are registered with for a certificate of "
        "their service in a period. " + FREE_TEXT + " The organisation answers within 10 "
        "working days (`due_on`, public holidays and make-up working days counted); past it, "
        "regulators see the request as overdue. Refused with 422: `organisation_uscc` "
        "(`membership`: no organisation with this code that you are registered with; an "
        "unknown code answers the same), `period_to` (`period_order`, `not_future`), "
        "`period_from` (`max_span`: at most 10 years). 409 (`request_pending`): a request to "
        "the same organisation for an overlapping period is still pending. 429 (`rate_limit`): "
        f"more than {certreqs.REQUESTS_PER_DAY} requests in 24 hours."
    ),
    body=CertificateRequestCreate,
    response=MyCertificateRequestOut,
    status=201,
    errors=(409, 429),
)
def create_certificate_request_api() -> Any:
    body = read_json(CertificateRequestCreate)
    session = get_session()
    created = certreqs.request_certificate(
        session, require_actor(), body.organisation_uscc, body.period_from, body.period_to
    )
    location = url_for("api.get_my_certificate_request_api", certificate_request_id=created.id)
    return answer(_mine(created), 201, location)


@bp.get("/me/certificate-requests")
@roles(VOLUNTEER)
@operation(
    summary="Your certificate requests",
    tag=TAG,
    description="Newest first, with their answers: the certificate issued, or the reason "
    "for refusing.",
    query=PageQuery,
    response=MyCertificateRequestPage,
)
def list_my_certificate_requests_api() -> Any:
    query = read_query(PageQuery)
    rows, total = lists.own_requests(
        get_session(), require_actor(), page=query.page, per_page=query.per_page
    )
    return answer(MyCertificateRequestPage.of(query, rows, total, _mine))


@bp.get(f"/me/certificate-requests/{REQUEST_ID}")
@roles(VOLUNTEER)
@operation(
    summary="One of your certificate requests",
    tag=TAG,
    description="Another volunteer's request answers 404.",
    response=MyCertificateRequestOut,
)
def get_my_certificate_request_api(certificate_request_id: int) -> Any:
    found = certreqs.own_request(get_session(), require_actor(), certificate_request_id)
    return answer(_mine(found))


@bp.get("/me/certificates")
@roles(VOLUNTEER)
@operation(
    summary="Your certificates, from every organisation",
    tag=TAG,
    description="Newest first: number, issuer, period, hours, status, the verify URL, links "
    "to the PDF and the W3C credential (both answer your own certificates only; another's "
    "answers 404), and how often each was verified per channel (counts only, never who).",
    response=MyCertificatesOut,
)
def list_my_certificates_api() -> Any:
    session = get_session()
    certs = lists.own_certificates(session, require_actor())
    counts = verification_counts(session, [c.id for c in certs])
    return answer(MyCertificatesOut(items=[MyCertificateOut.of(c, counts[c.id]) for c in certs]))


# --- the organisation's queue, and regulators -----------------------------------------------


@bp.get("/certificate-requests")
@roles(*ORG_USERS, *REGULATORS)
@operation(
    summary="Certificate requests (the organisation's queue)",
    tag=TAG,
    description="Pending first, earliest deadline first. Organisation users see their own "
    "organisation's requests; regulators every organisation's (`organisation_id` narrows "
    "them). `overdue=1`: pending requests past their deadline.",
    query=CertificateRequestQuery,
    response=CertificateRequestPage,
)
def list_certificate_requests_api() -> Any:
    query = read_query(CertificateRequestQuery)
    rows, total = lists.list_requests(
        get_session(),
        require_actor(),
        status=query.status,
        overdue=query.overdue in ("1", "true"),
        organisation_id=query.organisation_id,
        page=query.page,
        per_page=query.per_page,
    )
    return answer(CertificateRequestPage.of(query, rows, total, _staff))


@bp.get("/certificate-requests/organisations")
@roles(*REGULATORS)
@operation(
    summary="Organisations with overdue or refused certificate requests",
    tag=TAG,
    description="For regulators (条例 Art. 38: refusing to certify is sanctionable): per "
    "organisation, its pending, overdue (pending past their deadline) and refused requests, "
    "most overdue first. Organisations with neither are left out.",
    query=PageQuery,
    response=OrganisationRequestsPage,
)
def certificate_request_organisations_api() -> Any:
    query = read_query(PageQuery)
    rows, total = lists.organisations_to_watch(
        get_session(), page=query.page, per_page=query.per_page
    )
    return answer(
        OrganisationRequestsPage.of(
            query,
            rows,
            total,
            lambda r: OrganisationRequestsOut(
                organisation_id=r.organisation.id,
                organisation_name=r.organisation.name,
                organisation_uscc=r.organisation.uscc,
                pending=r.pending,
                overdue=r.overdue,
                refused=r.refused,
                oldest_due_on=r.oldest_due_on,
            ),
        )
    )


@bp.get(f"/certificate-requests/{REQUEST_ID}")
@roles(*ORG_USERS, *REGULATORS)
@operation(
    summary="One certificate request",
    tag=TAG,
    description="Another organisation's request answers 404.",
    response=CertificateRequestOut,
)
def get_certificate_request_api(certificate_request_id: int) -> Any:
    found = certreqs.visible_request(get_session(), require_actor(), certificate_request_id)
    return answer(_staff(found))


@bp.post(f"/certificate-requests/{REQUEST_ID}/issue")
@roles(*ORG_USERS)
@operation(
    summary="Issue the certificate a volunteer asked for",
    tag=TAG,
    description="Issues the certificate as `POST /certificates` would, over the volunteer's "
    "valid records with the organisation in the requested period, and tells the volunteer "
    "(with the number and a link to their certificates). " + FREE_TEXT + " The body (an "
    "optional `handler`, 经办人) may be left out. No valid record in the period: 422 "
    "(`period_from`, `no_records`); refuse the request instead. A request already answered: "
    "409 (`already_answered`); a record held by a supervision case: 409. Answers 201 with "
    "the certificate.",
    body=IssueBody,
    body_required=False,
    response=CertificateOut,
    status=201,
    errors=(409,),
)
def issue_certificate_request_api(certificate_request_id: int) -> Any:
    session, actor = get_session(), require_actor()
    found = certreqs.visible_request(session, actor, certificate_request_id)
    body = read_json(IssueBody) if request.get_data(cache=True).strip() else IssueBody()
    cert = certreqs.issue_for_request(session, actor, found, body.handler)
    counts = verification_counts(session, [cert.id])[cert.id]
    location = url_for("api.get_certificate_api", number=number_display(cert.number))
    return answer(CertificateOut.of(cert, counts), 201, location)


@bp.post(f"/certificate-requests/{REQUEST_ID}/refuse")
@roles(*ORG_USERS)
@operation(
    summary="Refuse a certificate request, with a reason",
    tag=TAG,
    description="The reason (required, at most 500 characters) is sent to the volunteer and "
    "shown to regulators. A request already answered: 409 (`already_answered`).",
    body=Refusal,
    response=CertificateRequestOut,
    errors=(409,),
)
def refuse_certificate_request_api(certificate_request_id: int) -> Any:
    session, actor = get_session(), require_actor()
    found = certreqs.visible_request(session, actor, certificate_request_id)
    body = read_json(Refusal)
    return answer(_staff(certreqs.refuse_request(session, actor, found, body.reason)))

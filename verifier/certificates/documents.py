"""A certificate's documents: its QR code (rendered once, then cached) and its printed content."""

from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verifier.certificates.models import Certificate, CertificateRecord
from verifier.certificates.pdf import ActivityRow, CertificatePrint, render_certificate_pdf
from verifier.certificates.qr import QRCodeTooLarge, render_qr_png
from verifier.certificates.services import activities_of, number_display, verify_url
from verifier.errors import Conflict
from verifier.identifiers import IdType
from verifier.records.models import RecordRevision, ServiceRecord
from verifier.timeutil import format_hours, to_local

# How an ID type is printed on a certificate (the certificate is always in Chinese).
ID_TYPE_PRINTED: dict[str, str] = {
    IdType.RESIDENT_ID: "居民身份证",
    IdType.PASSPORT: "护照",
    IdType.HK_MACAO_PERMIT: "港澳居民来往内地通行证",
    IdType.TAIWAN_PERMIT: "台湾居民来往大陆通行证",
}


def qr_png_of(session: Session, cert: Certificate) -> bytes:
    """Return the certificate's QR code PNG, rendering and storing it the first time."""
    if cert.qr_png is None:
        try:
            cert.qr_png = render_qr_png(verify_url(cert))
        except QRCodeTooLarge as exc:
            raise Conflict(
                _(
                    "the certificate's code is too long for a printable QR code: %(why)s",
                    why=str(exc),
                )
            ) from None
        session.flush()
    return cert.qr_png


def _span(first: date, last: date) -> str:
    if first == last:
        return first.strftime("%Y.%m.%d")
    return f"{first:%Y.%m.%d}–{last:%Y.%m.%d}"


def activity_rows(session: Session, cert: Certificate) -> list[ActivityRow]:
    """Return the per-activity lines of a certificate, with the dates each activity covered.

    Dates come from the revisions the certificate covers, as they were at issuance, so a
    superseded certificate still prints what it said.
    """
    spans: dict[str, tuple[date, date]] = {}
    rows = session.execute(
        select(
            RecordRevision.activity,
            func.min(RecordRevision.started_at),
            func.max(RecordRevision.started_at),
        )
        .join(
            CertificateRecord,
            (CertificateRecord.record_id == RecordRevision.record_id)
            & (CertificateRecord.revision == RecordRevision.revision),
        )
        .where(CertificateRecord.certificate_id == cert.id)
        .group_by(RecordRevision.activity)
    )
    for activity, first, last in rows:
        spans[activity] = (to_local(first).date(), to_local(last).date())
    default = (cert.period_from, cert.period_to)
    return [
        ActivityRow(
            a["activity"], _span(*spans.get(a["activity"], default)), format_hours(a["minutes"])
        )
        for a in activities_of(cert)
    ]


def printed_issuer(cert: Certificate) -> str:
    """The issuer as printed: for a deregistered organisation's records, who issued them for it
    (由…（承继…）出具); the records stay the deregistered organisation's."""
    if cert.custodian_kind == "successor":
        return f"{cert.custodian_name}（承继已注销的{cert.issuer_name}）"
    if cert.custodian_kind == "platform":
        return f"志愿服务记录平台（代已注销且无承继单位的{cert.issuer_name}）"
    return cert.issuer_name


def _custodian_statement(cert: Certificate) -> dict[str, str]:
    """The opening sentence of a certificate issued for a deregistered organisation's records."""
    if cert.custodian_kind is None:
        return {}
    keeper = cert.custodian_name if cert.custodian_kind == "successor" else "志愿服务记录平台"
    return {
        "statement": f"兹证明下列志愿者在{cert.issuer_name}（已注销）参加志愿服务。"
        f"经{keeper}核对该组织的志愿服务记录，情况如下："
    }


def printed_uscc(cert: Certificate) -> str:
    if cert.custodian_kind == "successor" and cert.custodian_uscc:
        return f"{cert.custodian_uscc}（承继 {cert.issuer_uscc}）"
    return cert.issuer_uscc


def certificate_print(session: Session, cert: Certificate) -> CertificatePrint:
    """Return everything printed on a certificate: masked personal fields, issuer, number, QR."""
    base_url = current_app.config["BASE_URL"]
    return CertificatePrint(
        number=number_display(cert.number),
        issue_date=to_local(cert.issued_at).date(),
        volunteer_name=cert.volunteer_name_masked,
        id_type=ID_TYPE_PRINTED.get(cert.id_type, cert.id_type),
        id_number=cert.id_masked,
        volunteer_number=cert.volunteer_number,
        total_hours=format_hours(cert.total_minutes),
        rows=tuple(activity_rows(session, cert)),
        issuer_name=printed_issuer(cert),
        issuer_uscc=printed_uscc(cert),
        responsible_person=cert.responsible_person,
        handler=cert.handler,
        contact=cert.contact,
        verify_url=verify_url(cert),
        qr_png=qr_png_of(session, cert),
        **_custodian_statement(cert),
        verification_hint=(
            f"本证明由出具单位以数字签名签发。扫描二维码，或访问 {base_url}/verify 输入证明编号，"
            "即可核验其真伪及是否仍然有效（未撤销、未暂停、记录未更正）。"
        ),
    )


def certificate_pdf(session: Session, cert: Certificate) -> bytes:
    """Render the certificate as an A4 PDF."""
    return render_certificate_pdf(certificate_print(session, cert))


def certificate_pdf_filename(cert: Certificate) -> str:
    return f"certificate-{number_display(cert.number)}.pdf"


def covered_records(session: Session, cert: Certificate) -> list[ServiceRecord]:
    """Return the records a certificate covers, as they are now."""
    return list(
        session.scalars(
            select(ServiceRecord)
            .join(CertificateRecord, CertificateRecord.record_id == ServiceRecord.id)
            .where(CertificateRecord.certificate_id == cert.id)
            .order_by(ServiceRecord.started_at)
        )
    )

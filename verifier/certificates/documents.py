"""A certificate's documents: its QR code (rendered once, then cached) and its printed content."""

from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verifier.auth.models import User
from verifier.certificates.models import Certificate, CertificateRecord
from verifier.certificates.pdf import (
    LANGUAGES,
    ActivityRow,
    CertificatePrint,
    RecordLine,
    render_certificate_pdf,
)
from verifier.certificates.qr import QUIET_ZONE_MODULES, QRCodeTooLarge, measure_qr, render_qr_png
from verifier.certificates.services import activities_of, number_display, verify_url
from verifier.errors import Conflict, Forbidden, ValidationError
from verifier.identifiers import IdType
from verifier.orgs.succession import answers_for
from verifier.records.models import RecordRevision, ServiceRecord
from verifier.timeutil import format_hours, to_local

# How an ID type is printed on a Chinese certificate (and on the certificate's page).
ID_TYPE_PRINTED: dict[str, str] = {
    IdType.RESIDENT_ID: "居民身份证",
    IdType.PASSPORT: "护照",
    IdType.HK_MACAO_PERMIT: "港澳居民来往内地通行证",
    IdType.TAIWAN_PERMIT: "台湾居民来往大陆通行证",
}
ID_TYPE_PRINTED_EN: dict[str, str] = {
    IdType.RESIDENT_ID: "Resident Identity Card",
    IdType.PASSPORT: "Passport",
    IdType.HK_MACAO_PERMIT: "Mainland Travel Permit for Hong Kong and Macao Residents",
    IdType.TAIWAN_PERMIT: "Mainland Travel Permit for Taiwan Residents",
}
HOLDER_FORM = "holder"
PUBLIC_FORM = "public"
FORMS = (HOLDER_FORM, PUBLIC_FORM)


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


def record_lines(session: Session, cert: Certificate) -> list[RecordLine]:
    """Return one line per covered record: date, place, content and hours, as they read at the
    revision the certificate covers (a later correction does not change what it printed)."""
    revisions = session.scalars(
        select(RecordRevision)
        .join(
            CertificateRecord,
            (CertificateRecord.record_id == RecordRevision.record_id)
            & (CertificateRecord.revision == RecordRevision.revision),
        )
        .where(CertificateRecord.certificate_id == cert.id)
        .order_by(RecordRevision.started_at, RecordRevision.record_id)
    )
    return [
        RecordLine(
            to_local(r.started_at).date().isoformat(),
            r.place,
            f"{r.activity}：{r.content}" if r.content.strip() else r.activity,
            format_hours(r.minutes),
        )
        for r in revisions
    ]


def may_have_holder_copy(actor: User, cert: Certificate) -> bool:
    """Tell whether the actor may download the holder's copy: the issuing organisation's users,
    whoever answers for it once it is deregistered (its successor's users, else a platform
    admin), and the volunteer themself (visible_certificate has already checked it is theirs)."""
    if answers_for(actor, cert.organisation):
        return True
    if actor.is_org_user:
        return actor.organisation_id == cert.organisation_id
    return bool(actor.is_volunteer)


def requested_form(actor: User, cert: Certificate, form: str | None) -> bool:
    """Return whether to print the holder's copy, from `?form=` (default: the fullest allowed)."""
    form = (form or "").strip().lower()
    if form and form not in FORMS:
        raise ValidationError(
            _("form must be %(forms)s", forms=" or ".join(FORMS)), field="form", rule="one_of"
        )
    allowed = may_have_holder_copy(actor, cert)
    if form == HOLDER_FORM and not allowed:
        raise Forbidden(
            _(
                "the holder's copy, with the volunteer's full name, is only for the issuing "
                "organisation and the volunteer; ask for form=public"
            )
        )
    return allowed and form != PUBLIC_FORM


def requested_language(lang: str | None) -> str:
    """Return the certificate's language from `?lang=` (Chinese unless English is asked for)."""
    lang = (lang or "zh").strip().lower()
    if lang not in LANGUAGES:
        raise ValidationError(
            _("lang must be %(langs)s", langs=" or ".join(LANGUAGES)), field="lang", rule="one_of"
        )
    return lang


def _hint(base_url: str, lang: str) -> str:
    if lang == "en":
        return (
            "This certificate is digitally signed by the issuing organisation. Scan the QR code, "
            f"or enter the certificate number at {base_url}/verify, to check that it is genuine "
            "and still valid (not revoked, not suspended, its records not corrected)."
        )
    return (
        f"本证明由出具单位以数字签名签发。扫描二维码，或访问 {base_url}/verify 输入证明编号，"
        "即可核验其真伪及是否仍然有效（未撤销、未暂停、记录未更正）。"
    )


def printed_issuer(cert: Certificate, lang: str = "zh") -> str:
    """The issuer as printed: for a deregistered organisation's records, who issued them for it
    (由…（承继…）出具); the records stay the deregistered organisation's."""
    if cert.custodian_kind == "successor":
        if lang == "en":
            return f"{cert.custodian_name} (successor of the deregistered {cert.issuer_name})"
        return f"{cert.custodian_name}（承继已注销的{cert.issuer_name}）"
    if cert.custodian_kind == "platform":
        if lang == "en":
            return (
                "the volunteer service record platform (for the deregistered "
                f"{cert.issuer_name}, which has no successor)"
            )
        return f"志愿服务记录平台（代已注销且无承继单位的{cert.issuer_name}）"
    return cert.issuer_name


def _custodian_statement(cert: Certificate, lang: str = "zh") -> dict[str, str]:
    """The opening sentence of a certificate issued for a deregistered organisation's records."""
    if cert.custodian_kind is None:
        return {}
    if lang == "en":
        keeper_en = (
            cert.custodian_name
            if cert.custodian_kind == "successor"
            else "the volunteer service record platform"
        )
        return {
            "statement": f"This certifies that the volunteer below served with {cert.issuer_name} "
            f"(since deregistered). {keeper_en} has checked that organisation's volunteer "
            "service records, which read as follows:"
        }
    keeper = cert.custodian_name if cert.custodian_kind == "successor" else "志愿服务记录平台"
    return {
        "statement": f"兹证明下列志愿者在{cert.issuer_name}（已注销）参加志愿服务。"
        f"经{keeper}核对该组织的志愿服务记录，情况如下："
    }


def printed_uscc(cert: Certificate, lang: str = "zh") -> str:
    if cert.custodian_kind == "successor" and cert.custodian_uscc:
        if lang == "en":
            return f"{cert.custodian_uscc} (successor of {cert.issuer_uscc})"
        return f"{cert.custodian_uscc}（承继 {cert.issuer_uscc}）"
    return cert.issuer_uscc


def certificate_print(
    session: Session, cert: Certificate, *, holder_copy: bool = False, lang: str = "zh"
) -> CertificatePrint:
    """Return everything printed on a certificate in one form and language.

    Everything comes from what was frozen at issuance: the certificate's row and the revisions
    it covers. The holder's copy prints the full name and the ID number masked in the middle;
    a certificate from before the holder's copy existed prints its stricter mask there.
    """
    url = verify_url(cert)
    id_types = ID_TYPE_PRINTED_EN if lang == "en" else ID_TYPE_PRINTED
    return CertificatePrint(
        number=number_display(cert.number),
        issue_date=to_local(cert.issued_at).date(),
        holder_copy=holder_copy,
        lang=lang,
        volunteer_name=cert.volunteer_name if holder_copy else cert.volunteer_name_masked,
        id_type=id_types.get(cert.id_type, cert.id_type),
        id_number=(cert.holder_id_masked or cert.id_masked) if holder_copy else cert.id_masked,
        volunteer_number=cert.volunteer_number,
        total_hours=format_hours(cert.total_minutes),
        lines=tuple(record_lines(session, cert)),
        issuer_name=printed_issuer(cert, lang),
        issuer_uscc=printed_uscc(cert, lang),
        responsible_person=cert.responsible_person,
        handler=cert.handler,
        contact=cert.contact,
        verify_url=url,
        qr_png=qr_png_of(session, cert),
        qr_modules=measure_qr(url).modules + 2 * QUIET_ZONE_MODULES,
        verification_hint=_hint(current_app.config["BASE_URL"], lang),
        **_custodian_statement(cert, lang),
    )


def certificate_pdf(
    session: Session, cert: Certificate, *, holder_copy: bool = False, lang: str = "zh"
) -> bytes:
    """Render the certificate as an A4 PDF: the holder's copy or the public form."""
    return render_certificate_pdf(
        certificate_print(session, cert, holder_copy=holder_copy, lang=lang)
    )


def certificate_pdf_filename(
    cert: Certificate, *, holder_copy: bool = False, lang: str = "zh"
) -> str:
    form = "" if holder_copy else "-public"
    language = "" if lang == "zh" else f"-{lang}"
    return f"certificate-{number_display(cert.number)}{form}{language}.pdf"


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

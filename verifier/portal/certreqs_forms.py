"""Forms and labels of the certificate-request pages; the rules live in the schemas and services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from verifier.complaints.models import CertificateRequestStatus
from verifier.labels import Labels
from verifier.portal.certreqs import REASON_LIMIT

REQUEST_STATUS_LABELS: Labels = {
    CertificateRequestStatus.PENDING: _l("Waiting for an answer"),
    CertificateRequestStatus.ISSUED: _l("Certificate issued"),
    CertificateRequestStatus.REFUSED: _l("Refused"),
}


class CertificateRequestForm(FlaskForm):
    # choices: the volunteer's organisations (value: the USCC), set by the view
    organisation_uscc = SelectField(_l("Organisation"), validate_choice=False)
    period_from = StringField(_l("From"), render_kw={"type": "date", "required": True})
    period_to = StringField(_l("To"), render_kw={"type": "date", "required": True})


class IssueForm(FlaskForm):
    handler = StringField(_l("Handler (经办人)"), render_kw={"maxlength": 50})


class RefuseForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for refusing (the volunteer is told; regulators see it)"),
        render_kw={"maxlength": REASON_LIMIT, "rows": 3, "required": True},
    )

"""Status and kind codes: each StrEnum matches its database check, and every member is labelled."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import CheckConstraint, create_engine, inspect

import verifier
from verifier.accounts.models import CodePurpose
from verifier.auth.models import ORG_ROLES, Role
from verifier.certificates import views as certificate_views
from verifier.certificates.bulk import SkipReason
from verifier.certificates.labels import CERTIFICATE_STATUS
from verifier.certificates.models import CustodianKind, VerificationChannel
from verifier.certificates.states import CertificateStatus
from verifier.codes import one_of
from verifier.complaints import forms as complaint_forms
from verifier.complaints.models import (
    CertificateRequestStatus,
    ComplaintSource,
    ComplaintStatus,
    CorrectionStatus,
    DisputeKind,
    MissingRecordStatus,
)
from verifier.db import Base
from verifier.identifiers import Gender, IdType
from verifier.jobs import views as job_views
from verifier.jobs.models import JobKind, JobStatus
from verifier.keys.labels import KEY_STATUS
from verifier.keys.models import KeyStatus
from verifier.notifications.models import Channel, OutboxStatus
from verifier.orgs import forms as org_forms
from verifier.orgs.labels import ORG_STATUS, ORG_TYPE
from verifier.orgs.models import OrgStatus, OrgType
from verifier.portal import certreqs_forms, mydata_forms
from verifier.portal import record_labels as portal_labels
from verifier.portal.receipts import Change as ReceiptChange
from verifier.records import views as record_views
from verifier.records.models import RecordSource, RecordStatus, RevisionKind
from verifier.spotchecks.states import CampaignOrigin, CampaignStatus, ItemKind
from verifier.supervision import labels as supervision_labels
from verifier.supervision.models import (
    CaseEventKind,
    CaseOutcome,
    CaseStatus,
    DiscrepancyType,
    FindingResult,
    Sanction,
)
from verifier.users import forms as auth_forms
from verifier.verification.services import VerificationStatus
from verifier.volunteers import forms as volunteer_forms

# (table, check constraint) -> the codes it allows, in the order its SQL lists them
CHECKED: dict[tuple[str, str], tuple[StrEnum, ...]] = {
    ("organisations", "ck_organisations_status_known"): tuple(OrgStatus),
    ("organisations", "ck_organisations_type_known"): tuple(OrgType),
    ("signing_keys", "ck_signing_keys_status_known"): tuple(KeyStatus),
    ("users", "ck_users_role_known"): tuple(Role),
    ("users", "ck_users_org_role_has_org"): (Role.ORG_ADMIN, Role.ORG_RECORDER),
    ("users", "ck_users_volunteer_role_has_volunteer"): (Role.VOLUNTEER,),
    ("one_time_codes", "ck_one_time_codes_purpose_known"): tuple(CodePurpose),
    ("outbox_messages", "ck_outbox_messages_channel_known"): tuple(Channel),
    ("outbox_messages", "ck_outbox_messages_status_known"): tuple(OutboxStatus),
    ("correction_requests", "ck_correction_requests_kind_known"): tuple(DisputeKind),
    ("missing_record_requests", "ck_missing_record_requests_status_known"): tuple(
        MissingRecordStatus
    ),
    ("certificate_requests", "ck_certificate_requests_status_known"): tuple(
        CertificateRequestStatus
    ),
    ("volunteers", "ck_volunteers_id_type_known"): tuple(IdType),
    ("volunteers", "ck_volunteers_gender_known"): tuple(Gender),
    ("service_records", "ck_service_records_status_known"): tuple(RecordStatus),
    ("record_revisions", "ck_record_revisions_kind_known"): tuple(RevisionKind),
    ("certificates", "ck_certificates_status_known"): tuple(CertificateStatus),
    ("certificates", "ck_certificates_custodian_kind_known"): tuple(CustodianKind),
    ("verification_events", "ck_verification_events_channel_known"): tuple(VerificationChannel),
    ("complaints", "ck_complaints_source_known"): tuple(ComplaintSource),
    ("complaints", "ck_complaints_status_known"): tuple(ComplaintStatus),
    ("correction_requests", "ck_correction_requests_status_known"): tuple(CorrectionStatus),
    ("jobs", "ck_jobs_status_known"): tuple(JobStatus),
    ("spotcheck_campaigns", "ck_spotcheck_campaigns_status_known"): tuple(CampaignStatus),
    ("spotcheck_campaigns", "ck_spotcheck_campaigns_origin_known"): tuple(CampaignOrigin),
    ("spotcheck_population", "ck_spotcheck_population_kind_known"): tuple(ItemKind),
    ("spotcheck_items", "ck_spotcheck_items_kind_known"): tuple(ItemKind),
    ("spotcheck_findings", "ck_spotcheck_findings_result_known"): tuple(FindingResult),
    ("spotcheck_findings", "ck_spotcheck_findings_type_iff_discrepancy"): (
        FindingResult.DISCREPANCY,
    ),
    ("supervision_cases", "ck_supervision_cases_status_known"): tuple(CaseStatus),
    ("supervision_cases", "ck_supervision_cases_outcome"): tuple(CaseOutcome),
    ("supervision_cases", "ck_supervision_cases_sanction_known"): tuple(Sanction),
}
# Codes stored or published without a check constraint (the column is free text in the schema).
UNCHECKED = {
    RecordSource,
    JobKind,
    DiscrepancyType,
    CaseEventKind,
    SkipReason,
    VerificationStatus,
    portal_labels.MyRecordStatus,
    portal_labels.Confirmation,
    ReceiptChange,
}
# Every table of translated labels keyed by codes, with the codes it must cover.
LABELS: list[tuple[type[StrEnum], Mapping[str, object]]] = [
    (OrgStatus, ORG_STATUS),
    (OrgStatus, org_forms.STATUS_LABELS),
    (OrgType, ORG_TYPE),
    (KeyStatus, KEY_STATUS),
    (Role, auth_forms.ROLE_LABELS),
    (IdType, volunteer_forms.ID_TYPE_LABELS),
    (Gender, volunteer_forms.GENDER_LABELS),
    (RevisionKind, record_views.KIND_LABELS),
    (RecordSource, record_views.SOURCE_LABELS),
    (CertificateStatus, CERTIFICATE_STATUS),
    (CertificateStatus, certificate_views.STATUS_LABELS),
    (VerificationChannel, certificate_views.CHANNEL_LABELS),
    (ComplaintSource, complaint_forms.SOURCE_LABELS),
    (ComplaintStatus, complaint_forms.COMPLAINT_STATUS_LABELS),
    (CorrectionStatus, complaint_forms.REQUEST_STATUS_LABELS),
    (JobKind, job_views.KIND_LABELS),
    (JobStatus, job_views.STATUS_LABELS),
    (FindingResult, supervision_labels.FINDING_RESULT),
    (DiscrepancyType, supervision_labels.DISCREPANCY_TYPE),
    (CaseStatus, supervision_labels.CASE_STATUS),
    (CaseOutcome, supervision_labels.CASE_OUTCOME),
    (Sanction, supervision_labels.SANCTION),
    (CaseEventKind, supervision_labels.CASE_EVENT),
    (DisputeKind, complaint_forms.DISPUTE_KIND_LABELS),
    (portal_labels.MyRecordStatus, portal_labels.MY_RECORD_STATUS),
    (portal_labels.Confirmation, portal_labels.CONFIRMATION),
    (RevisionKind, portal_labels.REVISION_KIND),
    (CertificateRequestStatus, certreqs_forms.REQUEST_STATUS_LABELS),
    (MissingRecordStatus, mydata_forms.MISSING_RECORD_STATUS),
]
QUOTED = re.compile(r"'([^']*)'")
CJK = re.compile(r"[\u4e00-\u9fff]")
ZH_CATALOG = Path(verifier.__file__).parent / "translations/zh/LC_MESSAGES/messages.po"


def _all_enums() -> set[type[StrEnum]]:
    found: set[type[StrEnum]] = set()
    for module in pkgutil.walk_packages(verifier.__path__, "verifier."):
        loaded = importlib.import_module(module.name)
        for value in vars(loaded).values():
            if (
                isinstance(value, type)
                and issubclass(value, StrEnum)
                and value.__module__.startswith("verifier.")
            ):
                found.add(value)
    return found


def test_every_enum_is_checked_by_the_database_or_listed_as_free_text() -> None:
    checked = {type(codes[0]) for codes in CHECKED.values()}
    assert checked.isdisjoint(UNCHECKED)
    assert _all_enums() == checked | UNCHECKED


def test_enum_values_are_the_values_the_migrated_database_allows(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        inspector = inspect(engine)
        found = {
            (table, check["name"]): check["sqltext"]
            for table in inspector.get_table_names()
            for check in inspector.get_check_constraints(table)
        }
    finally:
        engine.dispose()
    listing = {key: sql for key, sql in found.items() if QUOTED.search(sql)}
    assert set(listing) == set(CHECKED), "a check lists codes: map it to its enum here"
    for key, codes in CHECKED.items():
        assert QUOTED.findall(listing[key]) == [c.value for c in codes], key


def test_model_checks_are_word_for_word_the_migrated_ones(database_url: str) -> None:
    """The checks are generated from the enums; the migrations wrote them out by hand."""
    import verifier.models  # noqa: F401

    engine = create_engine(database_url)
    if engine.dialect.name != "sqlite":
        engine.dispose()
        pytest.skip("PostgreSQL hands back its own rewriting of a check; SQLite keeps the text")
    try:
        inspector = inspect(engine)
        migrated = {
            check["name"]: check["sqltext"]
            for table in Base.metadata.tables
            for check in inspector.get_check_constraints(table)
        }
    finally:
        engine.dispose()
    modelled = {
        str(c.name): str(c.sqltext)
        for table in Base.metadata.tables.values()
        for c in table.constraints
        if isinstance(c, CheckConstraint)
    }
    assert modelled == migrated


def test_one_of_writes_the_migrations_spelling() -> None:
    org_roles = (Role.ORG_ADMIN, Role.ORG_RECORDER)
    assert set(org_roles) == ORG_ROLES
    assert one_of("role", org_roles) == "role IN ('org_admin','org_recorder')"
    assert one_of("gender", Gender, nullable=True) == (
        "gender IS NULL OR gender IN ('male','female')"
    )


@pytest.mark.parametrize(
    ("codes", "table"),
    LABELS,
    ids=[f"{codes.__name__}-{i}" for i, (codes, _t) in enumerate(LABELS)],
)
def test_every_code_has_an_english_and_a_chinese_label(
    app: Flask, codes: type[StrEnum], table: Mapping[str, object]
) -> None:
    assert set(table) == set(codes), "a label for each member, and none for a code that is gone"
    with ZH_CATALOG.open("rb") as fh:
        catalog = read_po(fh, locale="zh")
    with app.test_request_context():
        for code in codes:
            with force_locale("en"):
                english = str(table[code])
            with force_locale("zh"):
                chinese = str(table[code])
            assert re.search("[A-Za-z]", english), (code, english)
            message = catalog.get(english)
            assert message is not None and message.string and not message.fuzzy, (code, english)
            assert chinese == message.string, (code, chinese)
            assert CJK.search(chinese) or chinese == english, (code, chinese)

"""The API's bodies for the inspector's queue, findings and supervision cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, StrictBool

from verifier.api.schemas import (
    InputModel,
    OutputModel,
    PageOut,
    PageQuery,
    RecordId,
    Text,
    UploadedFile,
    local,
)
from verifier.certificates.services import number_display
from verifier.spotchecks.states import ItemKind
from verifier.supervision.models import (
    CaseOutcome,
    CaseStatus,
    DiscrepancyType,
    FindingResult,
    Sanction,
)


class ItemQuery(PageQuery):
    mine: Literal["0", "1", "true", "false"] = Field(
        "1",
        description="1: only the items assigned to the caller. Inspectors always get only theirs; "
        "a supervisor with 0 gets every item.",
    )
    campaign_id: int | None = Field(None, ge=1, le=2**31 - 1)
    pending: Literal["0", "1", "true", "false"] | None = Field(
        None, description="1: only items without a finding yet."
    )


def flag(value: Any) -> bool:
    return value in (True, "1", "true")


class OrganisationRef(OutputModel):
    id: int
    name: str
    uscc: str


class FindingOut(OutputModel):
    id: int
    item_id: int
    result: FindingResult
    discrepancy_type: str | None
    notes: str
    record_ids: list[int] = Field(description="The records a discrepancy affects.")
    inspector_id: int
    created_at: datetime
    evidence: list[EvidenceOut]
    case_id: int | None = Field(description="The supervision case a discrepancy opened.")


class EvidenceOut(OutputModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    url: str


class ItemOut(OutputModel):
    id: int
    campaign_id: int
    kind: ItemKind
    item: str = Field(description='The population id, as in the manifest ("org:12").')
    organisation: OrganisationRef
    record_id: int | None
    stage: int
    rank: int
    finding: FindingOut | None


class ItemPage(PageOut):
    items: list[ItemOut]


class SignalOut(OutputModel):
    code: str
    message: str
    weight: int


class CertificateRef(OutputModel):
    number: str
    status: str


class SampledRecord(OutputModel):
    id: int
    activity: str
    service_date: str
    minutes: int
    status: str
    revision: int
    history_url: str
    certificates: list[CertificateRef]
    risk_score: int | None
    risk_signals: list[SignalOut]


class ItemDetailOut(ItemOut):
    records: list[SampledRecord]
    organisation_risk_score: int | None
    organisation_risk_signals: list[SignalOut]
    inspector_ids: list[int]


class FindingCreate(InputModel):
    result: FindingResult
    discrepancy_type: DiscrepancyType | None = Field(
        None, description="Required for a discrepancy, absent otherwise."
    )
    notes: Text = Field("", max_length=5000, description="Required for a discrepancy.")
    record_ids: list[RecordId] | None = Field(
        None,
        description="The records of the inspected organisation a discrepancy affects; their "
        "certificates are suspended. Default: a record item's own record; none for an "
        "organisation item.",
    )


class FindingUpload(FindingCreate):
    """A finding sent as multipart/form-data, with its evidence files."""

    evidence: list[UploadedFile] = Field(
        default_factory=list,
        description="PDF, JPEG or PNG files, recognised by their content; each at most "
        "VERIFIER_EVIDENCE_MAX_BYTES.",
    )


class FindingCreated(OutputModel):
    finding: FindingOut
    case: CaseOut | None


class CaseQuery(PageQuery):
    status: CaseStatus | None = None


class CaseEventOut(OutputModel):
    kind: str
    at: datetime
    note: str
    details: dict[str, Any]


class CaseOut(OutputModel):
    id: int
    organisation: OrganisationRef
    campaign_id: int
    finding_id: int
    discrepancy_type: str | None
    status: CaseStatus
    deadline: datetime
    opened_at: datetime
    response: str
    corrected_record_ids: list[int]
    responded_at: datetime | None
    outcome: str | None
    sanction: str | None
    falsification_confirmed: bool
    decision: str
    closed_at: datetime | None
    certificates: list[CertificateRef] = Field(description="Certificates the case suspended.")
    events: list[CaseEventOut] | None = None


class CasePage(PageOut):
    items: list[CaseOut]


class CaseResponse(InputModel):
    explanation: Text = Field(min_length=1, max_length=5000)
    corrected_record_ids: list[RecordId] = Field(
        default_factory=list,
        description="Records corrected through the record pages or API for this case.",
    )


class CaseClose(InputModel):
    outcome: CaseOutcome
    decision: Text = Field(min_length=1, max_length=5000, description="The reasons, in words.")
    sanction: Sanction | None = Field(
        None,
        description="With `sanctioned`: warning (警告), stop_activities (责令停止活动: the "
        "organisation is suspended), public_notice (公告).",
    )
    falsification_confirmed: StrictBool = Field(
        False,
        description="Only for hours_inflated, activity_not_held, certificate_forged: revokes "
        "the certificates covering the affected records, with the finding as the reason.",
    )


class CaseEscalate(InputModel):
    note: Text = Field(min_length=1, max_length=5000)


def cert_ref(cert: Any) -> CertificateRef:
    return CertificateRef(number=number_display(cert.number), status=cert.status)


def when(moment: datetime | None) -> datetime | None:
    return local(moment)


FindingOut.model_rebuild()
FindingCreated.model_rebuild()


class OrganisationRevocation(InputModel):
    reason: Text = Field(
        min_length=1,
        max_length=500,
        description="Why, e.g. the confirmed fraud; every revoked certificate shows it.",
    )


class OrganisationRevocationOut(OutputModel):
    organisation_id: int
    reason: str
    revoked_count: int
    revoked: list[str] = Field(description="The numbers of the certificates revoked now.")

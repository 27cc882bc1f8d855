"""JSON shapes of what a deregistered organisation's successor (or the platform) answers."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, StrictStr

from verifier.api.schemas import InputModel, IsoDate, OutputModel, RecordId
from verifier.certificates.schemas import Handler
from verifier.orgs.succession import SUCCESSOR, custodian_kind
from verifier.succession.services import Docket


class CorrectionAnswer(InputModel):
    status: Literal["resolved", "rejected"] = Field(
        description="resolved (the record was corrected or voided since the request) or "
        "rejected (the record stands), with a resolution the volunteer reads."
    )
    resolution: StrictStr = Field(max_length=2000, description="At most 2000 characters.")


class SuccessorIssue(InputModel):
    volunteer_number: StrictStr = Field(max_length=16, description="The volunteer's number.")
    record_ids: list[RecordId] | None = Field(
        default=None, description="The records to certify; or a period, as POST /certificates."
    )
    period_from: IsoDate | None = None
    period_to: IsoDate | None = None
    handler: Handler = ""


class OpenItem(OutputModel):
    id: int
    kind: str = Field(description="correction_request, missing_record or certificate_request.")
    due_on: date | None
    summary: str = Field(description="The record, service or period asked about.")


class DocketOut(OutputModel):
    organisation_id: int
    name: str
    uscc: str
    answered_by: Literal["successor", "platform"]
    successor_uscc: str | None
    open_count: int
    items: list[OpenItem]

    @classmethod
    def of(cls, docket: Docket) -> DocketOut:
        org = docket.organisation
        items = [
            OpenItem(
                id=c.id,
                kind="correction_request",
                due_on=c.due_on,
                summary=f"record {c.record_id}: {c.reason[:200]}",
            )
            for c in docket.corrections
        ]
        items += [
            OpenItem(
                id=m.id,
                kind="missing_record",
                due_on=m.due_on,
                summary=f"{m.activity} {m.started_at.isoformat()}",
            )
            for m in docket.missing_records
        ]
        items += [
            OpenItem(
                id=r.id,
                kind="certificate_request",
                due_on=r.due_on,
                summary=f"{r.period_from.isoformat()}..{r.period_to.isoformat()}",
            )
            for r in docket.certificate_requests
        ]
        return cls(
            organisation_id=org.id,
            name=org.name,
            uscc=org.uscc,
            answered_by="successor" if custodian_kind(org) == SUCCESSOR else "platform",
            successor_uscc=org.successor.uscc if org.successor is not None else None,
            open_count=docket.open_count,
            items=items,
        )


class DocketList(OutputModel):
    items: list[DocketOut]


class CorrectionAnswerOut(OutputModel):
    id: int
    record_id: int
    status: str
    resolution: str

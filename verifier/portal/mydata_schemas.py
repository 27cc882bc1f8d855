"""API models of omissions (missing-record requests), the volunteer's preferences and export."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field, StrictBool

from verifier.api.schemas import (
    InputModel,
    LocalDateTime,
    OutputModel,
    PageOut,
    PageQuery,
    Text,
    local,
)
from verifier.complaints.models import MissingRecordRequest, MissingRecordStatus
from verifier.portal.omissions import (
    ACTIVITY_LIMIT,
    REASON_LIMIT,
    REFUSAL_LIMIT,
    MissingRecordInput,
    is_overdue,
    suggested_record,
)
from verifier.portal.record_schemas import AnsweredByOut
from verifier.records.schemas import NOT_JOB_DUTY_TEXT, UNPAID_TEXT, Minutes
from verifier.records.services import RecordInput


class MissingRecordCreate(InputModel):
    """Service the organisation has not recorded, as the volunteer remembers it."""

    organisation_uscc: Text = Field(
        description="The unified social credit code of an organisation the volunteer is "
        "registered with.",
        examples=["53500000MJ0000001X"],
    )
    activity: Text = Field(description=f"Activity name, at most {ACTIVITY_LIMIT} characters.")
    started_at: LocalDateTime
    ended_at: LocalDateTime
    reason: Text = Field(
        description=f"What the volunteer did and who can confirm it, at most {REASON_LIMIT} "
        "characters."
    )

    def to_input(self) -> MissingRecordInput:
        return MissingRecordInput(**self.model_dump())


class MissingRecordOut(OutputModel):
    """A missing-record request, as the volunteer who filed it sees it."""

    id: int
    status: MissingRecordStatus
    organisation_id: int
    organisation_name: str
    organisation_uscc: str
    activity: str
    started_at: datetime
    ended_at: datetime
    reason: str
    created_at: datetime
    due_on: date = Field(description="The organisation answers by the end of this local day.")
    overdue: bool = Field(description="Still open after its day.")
    record_id: int | None = Field(description="The record the organisation entered for it.")
    answer: str = Field(description="The organisation's reason when it refused; else ''.")
    answered_at: datetime | None
    answered_by: AnsweredByOut | None = Field(
        default=None, description="Who answers it (a deregistered organisation's successor…)."
    )

    @classmethod
    def of(cls, request: MissingRecordRequest) -> MissingRecordOut:
        return cls(**_request_fields(request))


class QueuedMissingRecordOut(MissingRecordOut):
    """A missing-record request, as the organisation's queue shows it."""

    volunteer_id: int
    volunteer_number: str
    volunteer_name: str

    @classmethod
    def of(cls, request: MissingRecordRequest) -> QueuedMissingRecordOut:
        return cls(
            **_request_fields(request),
            volunteer_id=request.volunteer_id,
            volunteer_number=request.volunteer.volunteer_number,
            volunteer_name=request.volunteer.name,
        )


def _request_fields(request: MissingRecordRequest) -> dict[str, object]:
    return {
        "id": request.id,
        "status": request.status,
        "organisation_id": request.organisation_id,
        "organisation_name": request.organisation.name,
        "organisation_uscc": request.organisation.uscc,
        "activity": request.activity,
        "started_at": local(request.started_at),
        "ended_at": local(request.ended_at),
        "reason": request.reason,
        "created_at": local(request.created_at),
        "due_on": request.due_on,
        "overdue": is_overdue(request),
        "record_id": request.record_id,
        "answer": request.answer,
        "answered_at": local(request.answered_at),
        "answered_by": AnsweredByOut.of(request.organisation),
    }


class MissingRecordList(OutputModel):
    items: list[MissingRecordOut] = Field(description="Newest first.")


class MissingRecordQuery(PageQuery):
    status: MissingRecordStatus | None = Field(None, description="Only requests in this status.")


class MissingRecordPage(PageOut):
    items: list[QueuedMissingRecordOut] = Field(
        description="Open requests first, the one due first first."
    )


class MissingRecordEntry(InputModel):
    """The record to enter for a request: `place` is needed; the rest defaults to the request."""

    place: Text = Field(description="Place (服务地点), at most 200 characters.")
    activity: Text | None = Field(None, description="Defaults to the request's activity.")
    content: Text = Field("", description="What was done, at most 2000 characters.")
    leader: Text = Field("", description="Who led the activity (at most 50 characters).")
    evaluation: Text = Field("", description="Evaluation (at most 500 characters).")
    started_at: LocalDateTime | None = Field(None, description="Defaults to the request's start.")
    ended_at: LocalDateTime | None = Field(None, description="Defaults to the request's end.")
    minutes: Minutes | None = Field(
        None, description="Defaults to the whole time between start and end."
    )
    unpaid: StrictBool = Field(True, description=UNPAID_TEXT)
    not_job_duty: StrictBool = Field(True, description=NOT_JOB_DUTY_TEXT)

    def over(self, request: MissingRecordRequest) -> RecordInput:
        """Return the record to enter: the given fields over what the request describes."""
        suggested = suggested_record(request)
        started_at = self.started_at or suggested.started_at
        ended_at = self.ended_at or suggested.ended_at
        minutes = self.minutes
        if minutes is None:
            span = int((ended_at - started_at).total_seconds() // 60)
            # times in the wrong order are refused for the times (end_after_start), not minutes
            minutes = span if span > 0 else 1
        return RecordInput(
            activity=self.activity if self.activity is not None else suggested.activity,
            place=self.place,
            started_at=started_at,
            ended_at=ended_at,
            minutes=minutes,
            content=self.content,
            leader=self.leader,
            evaluation=self.evaluation,
            unpaid=self.unpaid,
            not_job_duty=self.not_job_duty,
        )


class MissingRecordRefusal(InputModel):
    reason: Text = Field(
        description=f"Why the service is not recorded, at most {REFUSAL_LIMIT} characters; the "
        "volunteer sees it."
    )


class Preferences(OutputModel):
    public_activities: bool = Field(
        description="true: public verification pages of the volunteer's certificates name the "
        "activities and their hours; false (the default): they show only the total hours."
    )
    locale: Literal["zh", "en"] = Field(
        "zh", description="The language of the messages sent to the volunteer."
    )


class PreferencesUpdate(InputModel):
    public_activities: StrictBool | None = Field(
        None,
        description="Show activity names on public verification pages (true) or only the "
        "totals (false). Applies at once, to certificates already issued too. Left out: "
        "unchanged.",
    )
    locale: Literal["zh", "en"] | None = Field(
        None, description="The language of the messages sent to the volunteer. Left out: unchanged."
    )


class PasswordConfirmation(InputModel):
    password: Text = Field(max_length=1024, description="The account's password, entered again.")

"""API models for service records, their corrections and their history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import Field, StrictBool, StrictInt

from verifier.api.schemas import (
    INT32_MAX,
    InputModel,
    LocalDateTime,
    OutputModel,
    PageOut,
    PageQuery,
    RecordId,
    Text,
    local,
)
from verifier.records.models import RecordRevision, RecordStatus, RevisionKind, ServiceRecord
from verifier.records.services import RecordInput
from verifier.timeutil import format_hours

Minutes = Annotated[
    StrictInt,
    Field(
        le=INT32_MAX,
        description="Service time actually served, in whole minutes (a JSON integer): more than 0, "
        "not more than the time between start and end.",
        examples=[180],
    ),
]
UNPAID_TEXT = (
    "Declares the work unpaid (无偿). Defaults to true: posting a record declares it; "
    "false is refused (paid work is not volunteering)."
)
NOT_JOB_DUTY_TEXT = (
    "Declares the work not part of the volunteer's job (非职务行为). Defaults to true: posting a "
    "record declares it; false is refused."
)


class RecordCreate(InputModel):
    """A stretch of service to record for a volunteer of the caller's organisation."""

    volunteer_id: RecordId
    activity: Text = Field(description="Activity name (活动名称), at most 200 characters.")
    place: Text = Field(description="Place (服务地点), at most 200 characters.")
    content: Text = Field(description="What was done (服务内容), at most 2000 characters.")
    started_at: LocalDateTime
    ended_at: LocalDateTime
    minutes: Minutes
    leader: Text = Field("", description="Who led the activity (at most 50 characters).")
    evaluation: Text = Field("", description="Evaluation (at most 500 characters).")
    unpaid: StrictBool = Field(True, description=UNPAID_TEXT)
    not_job_duty: StrictBool = Field(True, description=NOT_JOB_DUTY_TEXT)

    def to_input(self) -> RecordInput:
        return RecordInput(**self.model_dump(exclude={"volunteer_id"}))


class RecordCorrection(InputModel):
    """A correction: the reason, and only the fields that change."""

    reason: Text = Field(description="Why the record is corrected (at most 500 characters).")
    activity: Text | None = None
    place: Text | None = None
    content: Text | None = None
    leader: Text | None = None
    evaluation: Text | None = None
    started_at: LocalDateTime | None = None
    ended_at: LocalDateTime | None = None
    minutes: Minutes | None = None
    unpaid: StrictBool | None = Field(None, description=UNPAID_TEXT)
    not_job_duty: StrictBool | None = Field(None, description=NOT_JOB_DUTY_TEXT)

    def merged_over(self, record: ServiceRecord) -> RecordInput:
        """Return the corrected record: the given fields over the current ones."""
        given = self.model_dump(exclude={"reason"}, exclude_none=True)
        current = {
            "activity": record.activity,
            "place": record.place,
            "content": record.content,
            "leader": record.leader,
            "evaluation": record.evaluation,
            "started_at": record.started_at,
            "ended_at": record.ended_at,
            "minutes": record.minutes,
            "unpaid": record.unpaid,
            "not_job_duty": record.not_job_duty,
        }
        return RecordInput(**{**current, **given})


class RecordVoid(InputModel):
    reason: Text = Field(description="Why the record is voided (at most 500 characters).")


class RecordQuery(PageQuery):
    volunteer_id: int | None = Field(
        None, ge=1, le=INT32_MAX, description="Only this volunteer's records."
    )
    organisation_id: int | None = Field(
        None,
        ge=1,
        le=INT32_MAX,
        description="Only this organisation's records (regulators and platform admins; "
        "organisation users always see only their own).",
    )


class RecordOut(OutputModel):
    id: int
    volunteer_id: int
    volunteer_number: str
    organisation_id: int
    activity: str
    place: str
    content: str
    leader: str
    evaluation: str
    started_at: datetime
    ended_at: datetime
    service_date: date = Field(description="The local day the minutes count towards (the start).")
    minutes: int
    hours: str = Field(description="minutes / 60 with two decimals, exact.", examples=["3.00"])
    status: RecordStatus
    revision: int = Field(description="1 when created; +1 for each correction and for voiding.")
    unpaid: bool
    not_job_duty: bool
    source: str = Field(description="entry, api, import or checkin.")
    entered_late: bool = Field(description="Entered more than 10 working days after the service.")
    recorded_by: str | None
    recorded_at: datetime
    updated_at: datetime
    voided_at: datetime | None
    void_reason: str

    @classmethod
    def of(cls, record: ServiceRecord) -> RecordOut:
        return cls(
            id=record.id,
            volunteer_id=record.volunteer_id,
            volunteer_number=record.volunteer.volunteer_number,
            organisation_id=record.organisation_id,
            activity=record.activity,
            place=record.place,
            content=record.content,
            leader=record.leader,
            evaluation=record.evaluation,
            started_at=local(record.started_at),
            ended_at=local(record.ended_at),
            service_date=record.service_date,
            minutes=record.minutes,
            hours=format_hours(record.minutes),
            status=record.status,
            revision=record.revision,
            unpaid=record.unpaid,
            not_job_duty=record.not_job_duty,
            source=record.source,
            entered_late=record.entered_late,
            recorded_by=record.recorded_by.label if record.recorded_by else None,
            recorded_at=local(record.recorded_at),
            updated_at=local(record.updated_at),
            voided_at=local(record.voided_at),
            void_reason=record.void_reason,
        )


class RecordPage(PageOut):
    items: list[RecordOut]


class RevisionContent(OutputModel):
    """What one revision of a record says, without who wrote it (a volunteer's export shows it)."""

    revision: int
    kind: RevisionKind
    reason: str
    created_at: datetime
    activity: str
    place: str
    content: str
    leader: str
    evaluation: str
    started_at: datetime
    ended_at: datetime
    minutes: int
    hours: str

    @staticmethod
    def fields_of(revision: RecordRevision) -> dict[str, Any]:
        return {
            "revision": revision.revision,
            "kind": revision.kind,
            "reason": revision.reason,
            "created_at": local(revision.created_at),
            "activity": revision.activity,
            "place": revision.place,
            "content": revision.content,
            "leader": revision.leader,
            "evaluation": revision.evaluation,
            "started_at": local(revision.started_at),
            "ended_at": local(revision.ended_at),
            "minutes": revision.minutes,
            "hours": format_hours(revision.minutes),
        }

    @classmethod
    def of(cls, revision: RecordRevision) -> Self:
        return cls(**cls.fields_of(revision))


class RevisionOut(RevisionContent):
    created_by: str | None = Field(description="Who made this revision.")

    @classmethod
    def of(cls, revision: RecordRevision) -> Self:
        created_by = revision.created_by.label if revision.created_by else None
        return cls(**cls.fields_of(revision), created_by=created_by)


class RecordHistory(OutputModel):
    record_id: int
    status: RecordStatus
    revisions: list[RevisionOut] = Field(description="Every revision, oldest first.")

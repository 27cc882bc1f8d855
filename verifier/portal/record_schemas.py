"""API models of a volunteer's own records: the list, one record with its history, the totals,
and a dispute."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from flask import current_app
from pydantic import Field

from verifier.api.schemas import InputModel, OutputModel, PageOut, Text, local
from verifier.complaints.models import CorrectionRequest, CorrectionStatus, DisputeKind
from verifier.orgs.models import Organisation
from verifier.orgs.succession import answerer_of
from verifier.portal.record_labels import Confirmation, MyRecordStatus
from verifier.portal.records import DISPUTE_REASON_LIMIT, MyRecord, RevisionChange, Summary, Total
from verifier.records.models import RevisionKind
from verifier.timeutil import format_hours, local_today


def record_url(record_id: int) -> str:
    """The record's page, where its volunteer confirms or disputes it (the receipts link it)."""
    return f"{current_app.config['BASE_URL']}/me/records/{record_id}"


def my_records_url() -> str:
    """The volunteer's own page, listing every record about them."""
    return f"{current_app.config['BASE_URL']}/me"


class OrganisationRef(OutputModel):
    id: int
    name: str
    uscc: str = Field(description="The organisation's unified social credit code.")

    @classmethod
    def of(cls, org: Organisation) -> OrganisationRef:
        return cls(id=org.id, name=org.name, uscc=org.uscc)


class AnsweredByOut(OutputModel):
    """Who answers the request now: the organisation, or once it is deregistered, its successor
    or (without one) the platform administrator."""

    kind: Literal["organisation", "successor", "platform"]
    name: str = Field(
        description="The organisation's or the successor's name; '' for the platform."
    )
    uscc: str | None
    message: str = Field(description="The same, as a sentence in the request's language.")

    @classmethod
    def of(cls, org: Organisation) -> AnsweredByOut:
        who = answerer_of(org)
        return cls(kind=who.kind, name=who.name, uscc=who.uscc, message=who.sentence())


class DisputeOut(OutputModel):
    """A volunteer's dispute of a record: a correction request in the organisation's queue."""

    id: int
    record_id: int
    kind: DisputeKind
    reason: str
    status: CorrectionStatus = Field(
        description="open until the organisation answers; then resolved (the record was "
        "corrected or voided) or rejected (with the organisation's reasons)."
    )
    record_revision: int | None = Field(description="The revision of the record disputed.")
    created_at: datetime
    due_on: date | None = Field(
        description="The organisation answers by the end of this local day: 10 working days "
        "after the dispute (public holidays and make-up working days counted)."
    )
    overdue: bool = Field(description="Still open after its due day.")
    resolution: str = Field(description="The organisation's answer (empty while open).")
    answered_at: datetime | None
    answered_by: AnsweredByOut | None = Field(
        default=None, description="Who answers it (a deregistered organisation's successor…)."
    )

    @classmethod
    def of(cls, request: CorrectionRequest) -> DisputeOut:
        return cls(
            id=request.id,
            record_id=request.record_id,
            kind=DisputeKind(request.kind or DisputeKind.OTHER),
            reason=request.reason,
            status=CorrectionStatus(request.status),
            record_revision=request.record_revision,
            created_at=local(request.created_at),
            due_on=request.due_on,
            overdue=bool(
                request.status == CorrectionStatus.OPEN
                and request.due_on is not None
                and request.due_on < local_today()
            ),
            resolution=request.resolution,
            answered_at=local(request.resolved_at),
            answered_by=AnsweredByOut.of(request.record.organisation),
        )


class MyRecordOut(OutputModel):
    id: int
    organisation: OrganisationRef
    activity: str
    place: str
    content: str
    started_at: datetime
    ended_at: datetime
    service_date: date = Field(description="The local day the minutes count towards (the start).")
    minutes: int
    hours: str = Field(description="minutes / 60 with two decimals, exact.", examples=["3.00"])
    status: MyRecordStatus = Field(
        description="active (as entered), corrected (active, changed since it was entered) or "
        "voided (no longer counts)."
    )
    revision: int = Field(description="1 when created; +1 for each correction and for voiding.")
    void_reason: str
    confirmation: Confirmation = Field(
        description="confirmed (you confirmed this revision), disputed (your dispute is open) "
        "or unconfirmed. A correction makes a confirmed record unconfirmed again."
    )
    confirmed_at: datetime | None
    dispute: DisputeOut | None = Field(
        description="Your latest dispute of the record, open or answered; null if none."
    )
    url: str = Field(description="The record's page, to confirm or dispute it.")

    @classmethod
    def of(cls, mine: MyRecord) -> MyRecordOut:
        record = mine.record
        return cls(
            id=record.id,
            organisation=OrganisationRef.of(record.organisation),
            activity=record.activity,
            place=record.place,
            content=record.content,
            started_at=local(record.started_at),
            ended_at=local(record.ended_at),
            service_date=record.service_date,
            minutes=record.minutes,
            hours=format_hours(record.minutes),
            status=mine.status,
            revision=record.revision,
            void_reason=record.void_reason,
            confirmation=mine.confirmation,
            confirmed_at=local(mine.confirmed_at),
            dispute=DisputeOut.of(mine.dispute) if mine.dispute is not None else None,
            url=record_url(record.id),
        )


class MyRecordPage(PageOut):
    items: list[MyRecordOut]


class MyRevisionOut(OutputModel):
    """One revision of the record, as entered or changed by the organisation."""

    revision: int
    kind: RevisionKind
    created_at: datetime
    reason: str = Field(description="Why the organisation corrected or voided it.")
    changed: list[str] = Field(
        description="The fields this revision changed (activity, place, content, leader, "
        "started_at, ended_at, minutes, evaluation); empty for the first."
    )
    activity: str
    place: str
    content: str
    started_at: datetime
    ended_at: datetime
    minutes: int
    hours: str

    @classmethod
    def of(cls, change: RevisionChange) -> MyRevisionOut:
        revision = change.revision
        return cls(
            revision=revision.revision,
            kind=RevisionKind(revision.kind),
            created_at=local(revision.created_at),
            reason=revision.reason,
            changed=change.changed,
            activity=revision.activity,
            place=revision.place,
            content=revision.content,
            started_at=local(revision.started_at),
            ended_at=local(revision.ended_at),
            minutes=revision.minutes,
            hours=format_hours(revision.minutes),
        )


class MyRecordDetail(MyRecordOut):
    revisions: list[MyRevisionOut] = Field(description="Every revision, oldest first.")


class DisputeCreate(InputModel):
    """What is wrong with the record, in the volunteer's words."""

    kind: DisputeKind = Field(
        description="not_attended (I was not there: no new certificate may cover the record "
        "until the organisation answers), wrong_time, wrong_minutes or other."
    )
    reason: Text = Field(
        max_length=DISPUTE_REASON_LIMIT,
        description=f"What is wrong, at most {DISPUTE_REASON_LIMIT} characters.",
    )


class YearTotalOut(OutputModel):
    year: int
    records: int
    minutes: int
    hours: str

    @classmethod
    def of(cls, total: Total) -> YearTotalOut:
        return cls(
            year=total.key,
            records=total.records,
            minutes=total.minutes,
            hours=format_hours(total.minutes),
        )


class OrganisationTotalOut(OutputModel):
    organisation: OrganisationRef
    records: int
    minutes: int
    hours: str

    @classmethod
    def of(cls, total: Total) -> OrganisationTotalOut:
        assert total.organisation is not None  # an organisation's total names it
        return cls(
            organisation=OrganisationRef.of(total.organisation),
            records=total.records,
            minutes=total.minutes,
            hours=format_hours(total.minutes),
        )


class StarOut(OutputModel):
    level: int = Field(description="0 to 5 (星级).", ge=0, le=5)
    thresholds_hours: list[str] = Field(
        description="The counted hours of levels 1 to 5 (VERIFIER_STAR_THRESHOLDS).",
        examples=[["100", "300", "600", "1000", "1500"]],
    )
    next_level: int | None = Field(description="null at level 5.")
    next_threshold_hours: str | None
    hours_to_next: str | None = Field(description="Counted hours still to serve for it.")
    percent: int = Field(description="The way from this level's threshold to the next one's.")


class SummaryOut(OutputModel):
    """Your totals over every organisation, and your star level."""

    records: int = Field(description="Active (not voided) records.")
    minutes: int
    hours: str
    counted_minutes: int = Field(
        description="Minutes of active records you do not dispute (no open dispute): what the "
        "star level counts. Voided records never count."
    )
    counted_hours: str
    star: StarOut
    years: list[YearTotalOut] = Field(description="By the year of the service date, newest first.")
    organisations: list[OrganisationTotalOut] = Field(description="Most hours first.")

    @classmethod
    def of(cls, summary: Summary) -> SummaryOut:
        star = summary.star
        return cls(
            records=summary.records,
            minutes=summary.minutes,
            hours=format_hours(summary.minutes),
            counted_minutes=summary.counted_minutes,
            counted_hours=format_hours(summary.counted_minutes),
            star=StarOut(
                level=star.level,
                thresholds_hours=[str(h) for h in summary.thresholds_hours],
                next_level=star.next_level,
                next_threshold_hours=(
                    str(star.next_threshold_hours) if star.next_threshold_hours else None
                ),
                hours_to_next=(
                    format_hours(star.minutes_to_next) if star.minutes_to_next is not None else None
                ),
                percent=star.percent,
            ),
            years=[YearTotalOut.of(t) for t in summary.years],
            organisations=[OrganisationTotalOut.of(t) for t in summary.organisations],
        )

"""API models for volunteers: full ID numbers and phones come in, only masked ones go out."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field, StrictBool

from verifier.api.schemas import (
    InputModel,
    IsoDate,
    OutputModel,
    PageOut,
    PageQuery,
    QueryText,
    Text,
    local,
)
from verifier.identifiers import Gender, IdType
from verifier.paging import MAX_PER_PAGE
from verifier.volunteers.models import Volunteer
from verifier.volunteers.services import VolunteerInput


class VolunteerCreate(InputModel):
    """A volunteer to register with the caller's organisation."""

    name: Text = Field(examples=["张三"])
    id_type: IdType = Field(
        description="resident_id (居民身份证, GB 11643 checksum and birth date checked), passport, "
        "hk_macao_permit (港澳居民来往内地通行证), taiwan_permit (台湾居民来往大陆通行证)."
    )
    id_number: Text = Field(
        description="Stored encrypted; never returned (answers carry `id_number_masked`).",
        examples=["11010119900307002X"],
    )
    gender: Gender | None = Field(None, description="Taken from a resident ID when left out.")
    birth_date: IsoDate | None = Field(
        None, description="Taken from a resident ID when left out; must match it when given."
    )
    phone: Text = Field("", description="Stored encrypted; returned only masked.")
    guardian_name: Text = Field("", max_length=50)
    guardian_consent: StrictBool = Field(
        False, description="A volunteer under 14 needs guardian_name and guardian_consent true."
    )

    def to_input(self) -> VolunteerInput:
        return VolunteerInput(
            name=self.name,
            id_type=self.id_type,
            id_number=self.id_number,
            gender=self.gender,
            birth_date=self.birth_date,
            phone=self.phone,
            guardian_name=self.guardian_name,
            guardian_consent=self.guardian_consent,
        )


class VolunteerQuery(PageQuery):
    q: QueryText = Field(
        "",
        max_length=100,
        description="Part of the name, a volunteer number, or an exact ID number.",
    )
    per_page: int = Field(
        25, ge=1, le=MAX_PER_PAGE, description=f"Items per page (at most {MAX_PER_PAGE})."
    )


class VolunteerOut(OutputModel):
    id: int
    volunteer_number: str = Field(
        description="志愿者编号: the public identifier, not derived from the ID."
    )
    name: str
    gender: Gender | None
    birth_date: date | None
    id_type: IdType
    id_number_masked: str = Field(examples=["110*************2X"])
    phone_masked: str
    guardian_name: str
    guardian_consent: bool
    created_at: datetime
    merged_into: str | None = Field(
        None,
        description="When this volunteer row was found to be the same person as another and "
        "merged into it: that volunteer's number (its records are kept there).",
    )

    @classmethod
    def of(cls, volunteer: Volunteer) -> VolunteerOut:
        return cls(
            id=volunteer.id,
            volunteer_number=volunteer.volunteer_number,
            name=volunteer.name,
            gender=volunteer.gender,
            birth_date=volunteer.birth_date,
            id_type=volunteer.id_type,
            id_number_masked=volunteer.id_masked,
            phone_masked=volunteer.phone_masked,
            guardian_name=volunteer.guardian_name,
            guardian_consent=volunteer.guardian_consent_at is not None,
            created_at=local(volunteer.created_at),
            merged_into=volunteer.merged_into.volunteer_number if volunteer.merged_into else None,
        )


class VolunteerPage(PageOut):
    items: list[VolunteerOut]

"""API models for organisations."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from verifier.api.schemas import InputModel, OutputModel, PageOut, PageQuery, QueryText, Text, local
from verifier.orgs.models import Organisation, OrgStatus, OrgType
from verifier.orgs.services import ORG_TYPE_LABELS, OrganisationInput


class OrganisationCreate(InputModel):
    """An organisation to register."""

    name: Text = Field(examples=["南川区青年志愿者协会"])
    uscc: Text = Field(
        description="Unified social credit code (统一社会信用代码), 18 characters, "
        "GB 32100 checksum.",
        examples=["91350100M000100Y43"],
    )
    responsible_person: Text = Field(description="负责人.")
    region_code: Text = Field(
        "", description="GB/T 2260 region code, 6 digits; taken from the USCC when left out."
    )
    org_type: OrgType = Field(
        OrgType.VOLUNTEER_ORG,
        description="志愿服务组织 volunteer_org, 慈善组织 charity, 社区 community, "
        "公益活动举办单位 event_host, 公共服务机构 public_service.",
    )
    contact_name: Text = Field("", max_length=50, description="Contact person (经办人).")
    contact_phone: Text = Field("", description="Digits, spaces and + - ( ).")
    address: Text = Field("", max_length=200)

    def to_input(self) -> OrganisationInput:
        return OrganisationInput(**self.model_dump())


class OrganisationStatusChange(InputModel):
    """A change of an organisation's status, with its reason."""

    status: OrgStatus
    reason: Text = Field(description="Why; kept in the audit log (at most 500 characters).")
    successor_uscc: Text = Field(
        "",
        description="With `deregistered`: the USCC of an active organisation that answers for "
        "this one's records from now on (corrections, re-issue). Left out: the platform does.",
    )


class OrganisationQuery(PageQuery):
    q: QueryText = Field("", max_length=100, description="Part of the name, or of the USCC.")


class OrganisationOut(OutputModel):
    id: int
    name: str
    uscc: str
    org_type: OrgType
    org_type_label: str = Field(description="The type in Chinese.")
    region_code: str
    status: OrgStatus
    responsible_person: str
    contact_name: str
    contact_phone: str
    address: str
    created_at: datetime
    status_since: datetime | None = Field(
        description="When the status last changed; null when it never changed since registration."
    )
    successor_uscc: str | None = Field(
        description="A deregistered organisation's successor, when one was named."
    )

    @classmethod
    def of(cls, org: Organisation) -> OrganisationOut:
        return cls(
            id=org.id,
            name=org.name,
            uscc=org.uscc,
            org_type=org.org_type,
            org_type_label=str(ORG_TYPE_LABELS.get(org.org_type, org.org_type)),
            region_code=org.region_code,
            status=org.status,
            responsible_person=org.responsible_person,
            contact_name=org.contact_name,
            contact_phone=org.contact_phone,
            address=org.address,
            created_at=local(org.created_at),
            status_since=local(org.status_since),
            successor_uscc=org.successor.uscc if org.successor is not None else None,
        )


class OrganisationPage(PageOut):
    items: list[OrganisationOut]

"""Demonstration data: organisations, volunteers, a year of records, and users of every role."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from verifier.audit.services import record_event
from verifier.auth.models import Role, User
from verifier.auth.services import create_user
from verifier.identifiers import IdType, resident_id_check_char, uscc_check_char
from verifier.orgs.models import Organisation, OrgType
from verifier.orgs.services import OrganisationInput, create_organisation
from verifier.records.attestation import attest_revisions
from verifier.records.models import RecordRevision, ServiceRecord
from verifier.records.services import RecordInput, create_record
from verifier.timeutil import local_today, local_zone
from verifier.volunteers.models import Volunteer
from verifier.volunteers.services import VolunteerInput, register_volunteer
from verifier.workdays import working_days_between

DEMO_DOMAIN = "demo.verifier.cn"
ORGANISATIONS = [
    ("南川区青年志愿者协会", "1", OrgType.VOLUNTEER_ORG, "张建国"),
    ("东城街道社区志愿服务站", "2", OrgType.COMMUNITY, "刘芳"),
    ("南川区慈善会", "1", OrgType.CHARITY, "陈志强"),
    ("南川区图书馆", "2", OrgType.PUBLIC_SERVICE, "赵丽"),
    ("南川区马拉松赛事组委会", "9", OrgType.EVENT_HOST, "孙伟"),
]
ACTIVITIES = [
    ("社区敬老服务", "陪伴独居老人，打扫卫生，测量血压"),
    ("垃圾分类宣传", "在小区门口讲解垃圾分类，发放宣传册"),
    ("图书馆读者服务", "图书整理上架，引导读者借阅"),
    ("交通文明劝导", "路口劝导行人遵守信号灯"),
    ("马拉松赛事服务", "补给站发放饮用水，引导选手"),
    ("河道环保清洁", "清理河岸垃圾，记录污染点"),
    ("留守儿童助学辅导", "辅导作业，组织阅读活动"),
    ("应急救护培训协助", "协助讲师布置场地，维持秩序"),
]
PLACES = [
    "南川区东城街道",
    "南川区西城街道",
    "南川区南城街道",
    "南川区图书馆",
    "南川区体育中心",
    "凤嘴江河畔",
]
LEADERS = ["王强", "李娜", "周涛", "吴敏", "郑浩"]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩"
    "冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧巧美佳嘉欣宇浩然子涵梓萱一诺雨桐思远博文"
REGION = "500119"  # 重庆市南川区
# two volunteers with their own accounts: one signs in by e-mail, one by mobile number
VOLUNTEER_LOGINS = (f"volunteer1@{DEMO_DOMAIN}", "13900000001")


@dataclass
class DemoSummary:
    created: bool
    organisations: int = 0
    volunteers: int = 0
    records: int = 0
    certificates: int = 0
    campaigns: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)


def _uscc(kind: str, n: int) -> str:
    first17 = f"5{kind}{REGION}MJ{n:07d}"
    return first17 + uscc_check_char(first17)


def _resident_id(rng: random.Random, birth: date) -> str:
    first17 = f"{REGION}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + resident_id_check_char(first17)


def _logins_file(instance_dir: Path) -> Path:
    return instance_dir / "demo-logins.txt"


def _passwords(instance_dir: Path, emails: list[str]) -> dict[str, str]:
    """Return the demo passwords, made at random once and kept under instance/, not the repo."""
    path = _logins_file(instance_dir)
    known: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            email, _, password = line.partition(" ")
            if email and password:
                known[email] = password
    changed = False
    for email in emails:
        if email not in known:
            known[email] = "demo-" + secrets.token_urlsafe(9)
            changed = True
    if changed:
        instance_dir.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{e} {p}\n" for e, p in known.items()), encoding="utf-8")
        path.chmod(0o600)
    return known


def load_demo(
    session: Session,
    instance_dir: Path,
    *,
    volunteers: int = 200,
    records: int = 5000,
    seed: int = 2026,
) -> DemoSummary:
    """Load the demo data unless it is there already; return the logins either way."""
    rng = random.Random(seed)  # noqa: S311  (demo data, not security)
    users: list[tuple[str, Role, int | None]] = [
        ("admin@" + DEMO_DOMAIN, Role.PLATFORM_ADMIN, None)
    ]
    users += [(f"supervisor@{DEMO_DOMAIN}", Role.REGULATOR_SUPERVISOR, None)]
    users += [(f"inspector{i}@{DEMO_DOMAIN}", Role.REGULATOR_INSPECTOR, None) for i in range(1, 5)]
    for i in range(len(ORGANISATIONS)):
        users += [
            (f"org{i + 1}-admin@{DEMO_DOMAIN}", Role.ORG_ADMIN, i),
            (f"org{i + 1}-recorder@{DEMO_DOMAIN}", Role.ORG_RECORDER, i),
        ]
    passwords = _passwords(instance_dir, [email for email, _, _ in users] + list(VOLUNTEER_LOGINS))
    summary = DemoSummary(created=False)
    summary.logins = [(email, role, passwords[email]) for email, role, _ in users]
    summary.logins += [(login, Role.VOLUNTEER, passwords[login]) for login in VOLUNTEER_LOGINS]

    first_uscc = _uscc(ORGANISATIONS[0][1], 1)
    if session.scalar(select(Organisation.id).where(Organisation.uscc == first_uscc)) is not None:
        return summary

    orgs = []
    for n, (name, kind, org_type, person) in enumerate(ORGANISATIONS, start=1):
        orgs.append(
            create_organisation(
                session,
                OrganisationInput(
                    name=name,
                    uscc=_uscc(kind, n),
                    responsible_person=person,
                    region_code=REGION,
                    org_type=org_type,
                    contact_name="经办人" + person[0],
                    contact_phone=f"023-7142{n:04d}",
                    address="重庆市南川区",
                ),
                None,
            )
        )
    for email, role, org_index in users:
        create_user(
            session,
            email=email,
            password=passwords[email],
            role=role,
            organisation=orgs[org_index] if org_index is not None else None,
            display_name=email.split("@")[0],
        )

    today = local_today()
    people = []
    for n in range(volunteers):
        age_days = rng.randrange(16 * 365, 70 * 365)
        birth = today - timedelta(days=age_days)
        minor = n in (7, 77)
        if minor:
            birth = today - timedelta(days=12 * 365)
        org = orgs[n % len(orgs)]
        volunteer, _created = register_volunteer(
            session,
            org,
            VolunteerInput(
                name=rng.choice(SURNAMES)
                + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
                id_type=IdType.RESIDENT_ID,
                id_number=_resident_id(rng, birth),
                phone=f"13{rng.randrange(10**9):09d}",
                guardian_name="监护人" if minor else "",
                guardian_consent=minor,
            ),
            None,
        )
        people.append((volunteer, [org] + ([orgs[(n + 1) % len(orgs)]] if n % 5 == 0 else [])))
        if n % 5 == 0:
            register_volunteer(
                session,
                orgs[(n + 1) % len(orgs)],
                VolunteerInput(
                    name=volunteer.name,
                    id_type=IdType.RESIDENT_ID,
                    id_number=_volunteer_id(session, volunteer),
                ),
                None,
            )

    zone = local_zone()
    per_person = max(1, records // max(1, len(people)))
    made = 0
    record_ids: list[int] = []
    for volunteer, member_orgs in people:
        days = sorted(rng.sample(range(1, 365), per_person))
        for day_offset in days:
            if made >= records:
                break
            day = today - timedelta(days=day_offset)
            hour = rng.randrange(8, 16)
            start = datetime(day.year, day.month, day.day, hour, rng.choice((0, 30)), tzinfo=zone)
            minutes = rng.choice((60, 90, 120, 150, 180, 240))
            activity, content = rng.choice(ACTIVITIES)
            org = rng.choice(member_orgs)
            record = create_record(
                session,
                org,
                volunteer,
                RecordInput(
                    activity=activity,
                    place=rng.choice(PLACES),
                    content=content,
                    leader=rng.choice(LEADERS),
                    started_at=start,
                    ended_at=start + timedelta(minutes=minutes + rng.choice((0, 0, 30))),
                    minutes=minutes,
                    evaluation=rng.choice(("优秀", "良好", "良好", "")),
                ),
                None,
                audit=False,
            )
            # entered a few days after the activity; about one in twenty entered late
            delay = rng.choice((1, 2, 3, 5)) if rng.random() > 0.05 else rng.randrange(15, 40)
            entered = min(record.ended_at + timedelta(days=delay), datetime.now(zone))
            late = working_days_between(day, entered.astimezone(zone).date()) > 10
            session.execute(
                update(ServiceRecord)
                .where(ServiceRecord.id == record.id)
                .values(recorded_at=entered, updated_at=entered, entered_late=late)
            )
            session.execute(
                update(RecordRevision)
                .where(RecordRevision.record_id == record.id)
                .values(created_at=entered)
            )
            record_ids.append(record.id)
            made += 1
    session.flush()
    # made in one transaction, the demo's records form one run of ids
    loaded = set(record_ids)
    record_event(
        session,
        None,
        "demo.load",
        "instance",
        "demo",
        details={
            "records": made,
            "volunteers": len(people),
            # the one entry attests every record revision the demo wrote, as they are now
            "attests": attest_revisions(
                session, RecordRevision.record_id.between(min(loaded), max(loaded))
            )
            if loaded
            else None,
        },
    )
    summary.certificates = _demo_certificates(session, orgs[0], today)
    _demo_volunteer_accounts(session, [volunteer for volunteer, _ in people], passwords, today)
    summary.campaigns = _demo_spot_check(session)
    summary.created = True
    summary.organisations = len(orgs)
    summary.volunteers = len(people)
    summary.records = made
    return summary


def _volunteer_id(session: Session, volunteer: Volunteer) -> str:
    from verifier.volunteers.services import reveal_id_number

    return reveal_id_number(volunteer)


def _user(session: Session, email: str) -> User:
    return session.scalars(select(User).where(User.email == email)).one()


def _demo_certificates(session: Session, org: Organisation, today: date) -> int:
    """Certify the first organisation's volunteers for the last quarter, as at a term's end."""
    from verifier.certificates.bulk import BulkRequest, issue_bulk

    admin = _user(session, f"org1-admin@{DEMO_DOMAIN}")
    result = issue_bulk(
        session, org, BulkRequest(today - timedelta(days=90), today, handler="经办人张"), admin
    )
    return len(result.issued)


def _demo_volunteer_accounts(
    session: Session, people: list[Volunteer], passwords: dict[str, str], today: date
) -> None:
    """Two volunteers (of two organisations each) claim accounts with invitation codes; the
    first disputes a record, the second asks the first organisation for a certificate."""
    from verifier.accounts.invitations import (
        ClaimInput,
        claim_account,
        create_invitation,
        login_code_for,
    )
    from verifier.complaints.models import DisputeKind
    from verifier.portal.certreqs import request_certificate
    from verifier.portal.records import dispute_record

    admin = _user(session, f"org1-admin@{DEMO_DOMAIN}")
    accounts = []
    for volunteer, login in zip((people[0], people[5]), VOLUNTEER_LOGINS, strict=True):
        invitation = create_invitation(session, admin, volunteer.id)
        accounts.append(
            claim_account(
                session,
                ClaimInput(
                    code=invitation.code,
                    login=login,
                    password=passwords[login],
                    accept_privacy_notice=True,
                    # the demo's made-up logins receive nothing: the code is computed here
                    login_code=login_code_for(invitation.code, login),
                ),
            )
        )
    latest = session.scalar(
        select(ServiceRecord.id)
        .where(ServiceRecord.volunteer_id == people[0].id)
        .order_by(ServiceRecord.started_at.desc())
        .limit(1)
    )
    if latest is not None:
        dispute_record(
            session,
            accounts[0],
            latest,
            kind=DisputeKind.WRONG_MINUTES,
            reason="那天我服务了 4 个小时，记录只写了 2 个小时。",
        )
    first_org = session.get(Organisation, admin.organisation_id)
    assert first_org is not None  # the demo's first organisation, made above
    request_certificate(session, accounts[1], first_org.uscc, today - timedelta(days=180), today)


def _demo_spot_check(session: Session) -> int:
    """A monthly plan, one campaign drawn now, two findings (one opening a case), published."""
    from verifier.spotchecks.models import SpotCheckAssignment, SpotCheckItem
    from verifier.spotchecks.plans import create_plan
    from verifier.spotchecks.schemas import PlanCreate
    from verifier.spotchecks.services import publish_campaign, run_campaign
    from verifier.spotchecks.states import ItemKind
    from verifier.supervision.findings import FindingInput, record_finding
    from verifier.supervision.models import DiscrepancyType, FindingResult

    supervisor = _user(session, f"supervisor@{DEMO_DOMAIN}")
    plan = create_plan(
        session,
        PlanCreate.model_validate(
            {
                "name": "月度双随机抽查",
                "schedule": "0 2 1 * *",
                "parameters": {
                    "unit": "two_stage",
                    "period": {"mode": "previous_days", "days": 90},
                    "sample_size": {"mode": "fixed", "count": 2},
                    "records_per_organisation": {"mode": "fixed", "count": 5},
                    "weighting": "risk",
                    "inspectors_per_organisation": 2,
                },
            }
        ),
        supervisor,
    )
    campaign = run_campaign(session, supervisor, plan=plan, name="演示抽查批次")
    items = list(
        session.scalars(
            select(SpotCheckItem)
            .where(SpotCheckItem.campaign_id == campaign.id, SpotCheckItem.kind == ItemKind.RECORD)
            .order_by(SpotCheckItem.rank)
        )
    )
    for item, data in zip(
        items,
        (
            FindingInput(result=FindingResult.CONFIRMED, notes="电话回访志愿者，服务属实"),
            FindingInput(
                result=FindingResult.DISCREPANCY,
                discrepancy_type=DiscrepancyType.HOURS_INFLATED,
                notes="签到记录显示实际服务 1 小时",
            ),
        ),
        strict=False,
    ):
        assignment = session.scalars(
            select(SpotCheckAssignment).where(SpotCheckAssignment.item_id == item.id)
        ).first()
        if assignment is not None:
            record_finding(session, assignment.inspector, item, data)
    publish_campaign(session, campaign, supervisor)
    return 1

"""Register volunteers, find them, and keep their identifiers private."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from verifier.audit.services import record_event
from verifier.auth.models import User
from verifier.crypto.encryption import Place, get_cipher
from verifier.db import utcnow
from verifier.errors import Conflict, NotFound, ValidationError
from verifier.identifiers import (
    Gender,
    IdType,
    compact_identifier,
    mask_id_number,
    normalize_id_number,
    normalize_id_type,
    resident_id_birth_date,
    resident_id_gender,
)
from verifier.orgs.models import Organisation
from verifier.orgs.services import require_active
from verifier.paging import paginate
from verifier.text import clean_text, search_text
from verifier.timeutil import local_today
from verifier.volunteers.models import Membership, Volunteer

GUARDIAN_AGE = 14
GENDERS = {
    "male": Gender.MALE,
    "female": Gender.FEMALE,
    "男": Gender.MALE,
    "女": Gender.FEMALE,
    "m": Gender.MALE,
    "f": Gender.FEMALE,
}


@dataclass
class VolunteerInput:
    name: str
    id_type: str
    id_number: str
    gender: str | None = None
    birth_date: date | None = None
    phone: str = ""
    guardian_name: str = ""
    guardian_consent: bool = False


def luhn_digit(digits: str) -> str:
    """Return the Luhn check digit for a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return str((10 - total % 10) % 10)


def new_volunteer_number() -> str:
    """Return a random volunteer number: V, 10 random digits, a Luhn check digit."""
    body = "".join(secrets.choice("0123456789") for _ in range(10))
    return f"V{body}{luhn_digit(body)}"


def age_on(birth: date, day: date) -> int:
    """Return the age in whole years on a day."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def validate_volunteer(data: VolunteerInput) -> VolunteerInput:
    """Check a volunteer's fields and return them normalised (birth date and gender from the ID)."""
    name = clean_text(data.name, field="name", label=_("name"), max_length=50, required=True)
    id_type = normalize_id_type(data.id_type)
    number = normalize_id_number(id_type, data.id_number)
    gender = None
    if data.gender:
        gender = GENDERS.get(str(data.gender).strip().lower())
        if gender is None:
            raise ValidationError(_("gender is male or female"), field="gender", rule="gender")
    birth = data.birth_date
    if id_type == IdType.RESIDENT_ID:
        id_birth = resident_id_birth_date(number)
        if birth is not None and birth != id_birth:
            raise ValidationError(
                _("birth date does not match the one in the resident ID number"),
                field="birth_date",
                rule="birth_date_matches_id",
            )
        birth = id_birth
        id_gender = resident_id_gender(number)
        if gender is not None and gender != id_gender:
            raise ValidationError(
                _("gender does not match the resident ID number"),
                field="gender",
                rule="gender_matches_id",
            )
        gender = id_gender
    today = local_today()
    if birth is not None and (birth > today or birth.year < 1900):
        raise ValidationError(
            _("birth date is out of range"), field="birth_date", rule="birth_date"
        )
    phone = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", data.phone or ""))
    if phone and not re.fullmatch(r"\+?[0-9]{5,20}", phone):
        raise ValidationError(_("phone number may hold only digits"), field="phone", rule="phone")
    guardian = clean_text(
        data.guardian_name, field="guardian_name", label=_("guardian name"), max_length=50
    )
    minor = birth is not None and age_on(birth, today) < GUARDIAN_AGE
    if minor and not (data.guardian_consent and guardian):
        raise ValidationError(
            _(
                "a volunteer under 14 needs a guardian's recorded consent (guardian name and consent)"  # noqa: E501
            ),
            field="guardian_consent",
            rule="guardian_consent_under_14",
        )
    return VolunteerInput(
        name, id_type, number, gender, birth, phone, guardian, data.guardian_consent
    )


def lookup_key(id_type: str, number: str) -> str:
    """Return the keyed hash that identifies a person by ID type and number.

    The number is normalised here too (NFKC, ASCII only, upper case), so no path can hash
    another spelling of the same number; a number that cannot be normalised is refused.
    """
    return get_cipher().lookup_hash(f"{id_type}:{normalize_id_number(id_type, number)}")


def lookup_keys(id_type: str, number: str) -> list[str]:
    """Return the look-up keys a stored person may have: under the data key, then the previous.

    While `verifier keys rotate-data-key` runs, rows not yet rotated keep the previous key's hash.
    """
    return get_cipher().lookup_hashes(f"{id_type}:{normalize_id_number(id_type, number)}")


def merged_lookup_value(volunteer_id: int) -> str:
    """What a merged-away row's look-up key is the hash of (no ID number hashes to it)."""
    return f"merged:{volunteer_id}"


def id_number_place(volunteer_id: int) -> Place:
    """Where a volunteer's ID number is stored: bound to its row (docs/security.md)."""
    return Place("volunteers", "id_number_enc", volunteer_id, "volunteers.id_number")


def phone_place(volunteer_id: int) -> Place:
    return Place("volunteers", "phone_enc", volunteer_id, "volunteers.phone")


def seal_id_number(volunteer: Volunteer, number: str) -> None:
    """Store an ID number encrypted and bound to the volunteer's row (which must be flushed)."""
    volunteer.id_number_enc = get_cipher().seal_text(number, id_number_place(volunteer.id))


def register_volunteer(
    session: Session,
    org: Organisation,
    data: VolunteerInput,
    actor: User | None,
    *,
    audit: bool = True,
) -> tuple[Volunteer, bool]:
    """Register a volunteer with an organisation; a person already known is linked, not duplicated.

    With audit=False the caller writes the audit entries itself (a bulk import does, at its end).
    """
    require_active(org)
    clean = validate_volunteer(data)
    key = lookup_key(clean.id_type, clean.id_number)
    volunteer = _find_by_key(session, lookup_keys(clean.id_type, clean.id_number))
    created = False
    if volunteer is None:
        volunteer, created = _insert_volunteer(session, clean, key, actor)
    if not created and volunteer.name != clean.name:
        raise Conflict(
            _(
                "this ID number is already registered under a different name; check the name or the number"  # noqa: E501
            )
        )
    if created and audit:
        record_event(
            session,
            actor,
            "volunteer.create",
            "volunteer",
            volunteer.id,
            organisation_id=org.id,
            details={"volunteer_number": volunteer.volunteer_number, "id_type": volunteer.id_type},
        )
    if _link(session, org, volunteer, actor) and audit and not created:
        record_event(
            session,
            actor,
            "volunteer.link",
            "volunteer",
            volunteer.id,
            organisation_id=org.id,
            details={"volunteer_number": volunteer.volunteer_number},
        )
    return volunteer, created


def _find_by_key(session: Session, keys: list[str]) -> Volunteer | None:
    return session.scalars(select(Volunteer).where(Volunteer.id_lookup.in_(keys))).first()


def _insert_volunteer(
    session: Session, clean: VolunteerInput, key: str, actor: User | None
) -> tuple[Volunteer, bool]:
    """Insert a new person; if another request inserted them since we looked, return theirs.

    The insert runs in a SAVEPOINT: when the unique look-up key is taken by a transaction that
    committed meanwhile (two organisations registering the same person at once), only the
    savepoint is rolled back and the person, now visible, is linked like any known person.
    """
    volunteer = Volunteer(
        volunteer_number=_unused_volunteer_number(session),
        name=clean.name,
        gender=clean.gender,
        birth_date=clean.birth_date,
        id_type=clean.id_type,
        id_number_enc=b"",  # sealed below, once the row has its id
        id_lookup=key,
        id_masked=mask_id_number(clean.id_number),
        phone_masked=_mask_phone(clean.phone),
        guardian_name=clean.guardian_name,
        guardian_consent_at=utcnow() if clean.guardian_consent and clean.guardian_name else None,
        guardian_consent_by_id=actor.id if actor and clean.guardian_consent else None,
    )
    try:
        with session.begin_nested():
            session.add(volunteer)
            session.flush()
            # the ciphertexts carry the row's id as associated data, known only now
            seal_id_number(volunteer, clean.id_number)
            if clean.phone:
                volunteer.phone_enc = get_cipher().seal_text(clean.phone, phone_place(volunteer.id))
            session.flush()
    except IntegrityError:
        existing = _find_by_key(session, lookup_keys(clean.id_type, clean.id_number))
        if existing is None:  # the random volunteer number was taken at the same moment
            raise Conflict(_("could not allocate a volunteer number; try again")) from None
        return existing, False
    return volunteer, True


def _link(session: Session, org: Organisation, volunteer: Volunteer, actor: User | None) -> bool:
    """Make the volunteer a member of the organisation; tell whether this call linked them."""
    if session.get(Membership, (org.id, volunteer.id)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(
                Membership(
                    organisation_id=org.id,
                    volunteer_id=volunteer.id,
                    added_by_id=actor.id if actor else None,
                )
            )
            session.flush()
    except IntegrityError:  # the same organisation linked them at the same moment
        return False
    return True


def _unused_volunteer_number(session: Session) -> str:
    for _attempt in range(20):
        number = new_volunteer_number()
        if session.scalar(select(Volunteer.id).where(Volunteer.volunteer_number == number)) is None:
            return number
    raise Conflict(_("could not allocate a volunteer number; try again"))  # pragma: no cover


def _mask_phone(phone: str) -> str:
    if not phone:
        return ""
    if len(phone) >= 7:
        return (
            phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
            if len(phone) > 7
            else phone[:3] + "****"
        )
    return "*" * len(phone)


def is_member(session: Session, org_id: int, volunteer_id: int) -> bool:
    return session.get(Membership, (org_id, volunteer_id)) is not None


def visible_volunteer(session: Session, actor: User, volunteer_id: int) -> Volunteer:
    """Return a volunteer the actor may see (organisations: their members), or raise NotFound."""
    volunteer = session.get(Volunteer, volunteer_id)
    if volunteer is None:
        raise NotFound(_("no such volunteer"))
    if actor.is_org_user and not is_member(session, actor.organisation_id, volunteer.id):  # type: ignore[arg-type]  # an org user has an org (a check)
        raise NotFound(_("no such volunteer"))
    return volunteer


def find_by_identity(session: Session, id_type: str, id_number: str) -> Volunteer | None:
    """Return the volunteer with this ID, if registered."""
    return _find_by_key(session, lookup_keys(id_type, id_number))


def search_volunteers(
    session: Session, actor: User, query: str = "", page: int = 1, per_page: int = 25
) -> tuple[list[Volunteer], int]:
    """Return one page of the volunteers the actor may see, matching name, number or ID number."""
    stmt = select(Volunteer)
    if actor.is_org_user:
        stmt = stmt.join(
            Membership,
            (Membership.volunteer_id == Volunteer.id)
            & (Membership.organisation_id == actor.organisation_id),
        )
    query = search_text(query)
    compact = compact_identifier(query).upper()
    # merged-away rows are listed only when their own volunteer number is asked for
    stmt = stmt.where(
        or_(Volunteer.merged_into_id.is_(None), Volunteer.volunteer_number == compact)
    )
    if query:
        merged = aliased(Volunteer)
        conditions = [
            Volunteer.name.like(f"%{query}%"),
            Volunteer.volunteer_number == compact,
            # a merged-away number finds the volunteer it was merged into
            Volunteer.id.in_(
                select(merged.merged_into_id).where(merged.volunteer_number == compact)
            ),
        ]
        for id_type in IdType:
            try:
                number = normalize_id_number(id_type, compact)
            except ValidationError:
                continue
            conditions.append(Volunteer.id_lookup.in_(lookup_keys(id_type, number)))
        stmt = stmt.where(or_(*conditions))
    return paginate(session, stmt, Volunteer.id.desc(), page=page, per_page=per_page)


def is_id_number_query(query: str) -> bool:
    """Tell whether a search text reads as an ID number, which a page must never echo back."""
    compact = compact_identifier(query).upper()
    if not compact or re.fullmatch(r"V[0-9]{11}", compact):
        return False
    if re.search(r"\d{8}", compact):  # a mistyped ID number is still mostly someone's ID number
        return True
    for id_type in IdType:
        try:
            normalize_id_number(id_type, compact)
        except ValidationError:
            continue
        return True
    return False


def reveal_id_number(volunteer: Volunteer) -> str:
    """Decrypt a volunteer's ID number (for matching, never for display)."""
    return get_cipher().open_text(volunteer.id_number_enc, id_number_place(volunteer.id))


# a volunteer row merged into another is the same person; a chain is never longer than this
_MERGE_DEPTH = 20


def surviving_volunteer(session: Session, volunteer_id: int) -> Volunteer | None:
    """Return the volunteer row a row stands for now: itself, or the row it was merged into."""
    volunteer = session.get(Volunteer, volunteer_id)
    for _step in range(_MERGE_DEPTH):
        if volunteer is None or volunteer.merged_into_id is None:
            break
        volunteer = session.get(Volunteer, volunteer.merged_into_id)
    return volunteer

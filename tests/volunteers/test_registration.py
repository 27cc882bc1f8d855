"""Volunteers: one person however many organisations register them; ID numbers encrypted at rest."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text
from support import make_resident_id

from verifier.db import get_session
from verifier.errors import Conflict, ValidationError
from verifier.volunteers.models import Membership, Volunteer
from verifier.volunteers.services import luhn_digit, reveal_id_number


def test_same_person_registered_by_two_organisations_is_one_volunteer(app, make):
    org_a, org_b = make.org(), make.org()
    number = make_resident_id(7)
    first = make.volunteer(org_a, name="李雷", id_number=number)
    second = make.volunteer(org_b, name="李雷", id_number=number.lower())
    assert first.id == second.id
    assert first.volunteer_number == second.volunteer_number
    with app.app_context():
        session = get_session()
        assert session.scalar(select(func.count()).select_from(Volunteer)) == 1
        assert session.scalar(select(func.count()).select_from(Membership)) == 2


def test_same_id_under_another_name_is_refused(make):
    org_a, org_b = make.org(), make.org()
    number = make_resident_id(8)
    make.volunteer(org_a, name="韩梅梅", id_number=number)
    with pytest.raises(Conflict):
        make.volunteer(org_b, name="韩梅", id_number=number)


def test_id_number_is_encrypted_at_rest_and_only_shown_masked(app, make):
    org = make.org()
    number = make_resident_id(9)
    volunteer = make.volunteer(org, id_number=number, phone="13812345678")
    with app.app_context():
        session = get_session()
        raw = session.execute(
            text(
                "SELECT id_number_enc, id_lookup, id_masked, phone_enc"
                " FROM volunteers WHERE id = :id"
            ),
            {"id": volunteer.id},
        ).one()
        stored = bytes(raw.id_number_enc)
        assert number.encode() not in stored
        assert number not in raw.id_lookup
        assert raw.id_masked == number[:3] + "*" * 13 + number[-2:]
        assert b"13812345678" not in bytes(raw.phone_enc)
        assert reveal_id_number(session.get(Volunteer, volunteer.id)) == number


def test_volunteer_number_is_assigned_not_derived(make):
    org = make.org()
    volunteer = make.volunteer(org)
    number = volunteer.volunteer_number
    assert number.startswith("V") and len(number) == 12
    assert luhn_digit(number[1:11]) == number[11]
    assert number[1:] not in make_resident_id(1)


def test_birth_date_and_gender_come_from_the_resident_id(make):
    org = make.org()
    volunteer = make.volunteer(org, id_number="11010119900307002X")
    assert volunteer.birth_date == date(1990, 3, 7)
    assert volunteer.gender == "female"  # 17th digit 2 is even
    with pytest.raises(ValidationError) as excinfo:
        make.volunteer(org, id_number=make_resident_id(11), birth_date=date(1991, 1, 1))
    assert excinfo.value.first.rule == "birth_date_matches_id"


def test_under_fourteen_needs_guardian_consent(make):
    org = make.org()
    birth = date.today() - timedelta(days=10 * 365)
    number = make_resident_id(12, birth=birth.strftime("%Y%m%d"))
    with pytest.raises(ValidationError) as excinfo:
        make.volunteer(org, id_number=number)
    assert excinfo.value.first.rule == "guardian_consent_under_14"
    child = make.volunteer(org, id_number=number, guardian_name="家长", guardian_consent=True)
    assert child.guardian_consent_at is not None


def test_suspended_organisation_cannot_register(app, make):
    from verifier.errors import Forbidden
    from verifier.orgs.models import Organisation

    org = make.org()
    with app.app_context():
        session = get_session()
        session.get(Organisation, org.id).status = "suspended"
        session.commit()
    with pytest.raises(Forbidden, match=org.name):
        make.volunteer(org)

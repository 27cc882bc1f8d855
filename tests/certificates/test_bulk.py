"""Bulk issuance: through the API and the command line, one transaction, nothing issued twice."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from support import bearer, days_ago

from verifier.audit.services import verify_chain
from verifier.certificates import bulk
from verifier.certificates.models import Certificate
from verifier.certificates.services import ledger_entry
from verifier.db import get_session
from verifier.errors import Conflict

URL = "/api/v1/certificates/bulk"


@pytest.fixture
def school(make):
    org = make.org(name="南川区第一中学")
    admin = make.user("org_admin", org)
    students = [make.volunteer(org, name=f"学生{i}") for i in range(4)]
    for i, student in enumerate(students[:3]):
        for day in range(i + 1):
            make.record(org, student, actor=admin, started_at=days_ago(10 + day))
    make.record(org, students[0], actor=admin, started_at=days_ago(200))  # outside the term
    other = make.org()
    return {
        "org": org,
        "admin": admin,
        "auth": bearer(make.token(admin)),
        "students": students,
        "outsider": make.volunteer(other),
        "term": {
            "period_from": days_ago(60).date().isoformat(),
            "period_to": days_ago(1).date().isoformat(),
        },
    }


def _count(app):
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(Certificate))


def test_every_volunteer_with_records_in_the_period(app, client, school):
    response = client.post(URL, json=school["term"], headers=school["auth"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    issued = {c["volunteer_id"]: c for c in body["issued"]}
    students = school["students"]
    assert set(issued) == {s.id for s in students[:3]}
    assert [issued[s.id]["hours"] for s in students[:3]] == ["3.00", "6.00", "9.00"]
    assert body["skipped"] == []
    # each is a real, verifiable certificate with its own ledger entry
    tokens = [{"token": c["verify_url"].split("/v/", 1)[1]} for c in body["issued"]]
    results = client.post("/api/v1/verifications", json={"items": tokens}).get_json()["results"]
    assert [r["status"] for r in results] == ["valid"] * 3
    with app.app_context():
        session = get_session()
        for cert in body["issued"]:
            assert ledger_entry(session, cert["number"].replace("-", "")) is not None
        assert verify_chain(session).ok
    # running the same term again issues nothing twice
    again = client.post(URL, json=school["term"], headers=school["auth"])
    assert again.status_code == 200
    assert {s["reason"] for s in again.get_json()["skipped"]} == {"already_certified"}
    assert _count(app) == 3


def test_chosen_volunteers_and_skip_reasons(client, school):
    students = school["students"]
    ids = [students[1].id, students[3].id, school["outsider"].id, students[1].id]
    body = {**school["term"], "volunteer_ids": ids, "handler": "班主任"}
    response = client.post(URL, json=body, headers=school["auth"])
    assert response.status_code == 201
    answer = response.get_json()
    assert [c["volunteer_id"] for c in answer["issued"]] == [students[1].id]
    skipped = {s["volunteer_id"]: s["reason"] for s in answer["skipped"]}
    assert skipped == {students[3].id: "no_records", school["outsider"].id: "not_member"}
    number = answer["issued"][0]["number"]
    shown = client.get(f"/api/v1/certificates/{number}", headers=school["auth"]).get_json()
    assert shown["handler"] == "班主任"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"period_to": "2000-01-01"}, "period_to"),
        ({"period_from": None}, "period_from"),
        ({"volunteer_ids": []}, "volunteer_ids"),
        ({"volunteer_ids": list(range(1, bulk.BULK_LIMIT + 2))}, "volunteer_ids"),
        ({"volunteer_ids": ["1"]}, "volunteer_ids.0"),
    ],
)
def test_bad_bulk_requests(client, school, change, field):
    body = {**school["term"], **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post(URL, json=body, headers=school["auth"])
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]


def test_who_may_issue_in_bulk(client, make, school):
    assert client.post(URL, json=school["term"]).status_code == 401
    regulator = bearer(make.token(make.user("regulator_supervisor")))
    assert client.post(URL, json=school["term"], headers=regulator).status_code == 403


def test_default_selection_above_the_limit_is_refused(client, monkeypatch, school):
    monkeypatch.setattr(bulk, "BULK_LIMIT", 2)
    monkeypatch.setattr(bulk.issue_bulk, "__kwdefaults__", {"limit": 2, "progress": None})
    response = client.post(URL, json=school["term"], headers=school["auth"])
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["rule"] == "max_items"


def test_all_or_nothing(app, client, monkeypatch, school):
    real = bulk.build_certificate
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise Conflict("simulated failure")
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk, "build_certificate", failing)
    response = client.post(URL, json=school["term"], headers=school["auth"])
    assert response.status_code == 409
    assert _count(app) == 0


def _run(app, *args):
    app.config["DEFAULT_LOCALE"] = "en"  # the command's messages, read below in English
    return app.test_cli_runner().invoke(args=["certificates", "issue-bulk", *args])


def test_cli_issues_with_a_summary(app, school):
    org = school["org"]
    term = school["term"]
    result = _run(app, "--org", org.uscc, "--from", term["period_from"], "--to", term["period_to"])
    assert result.exit_code == 0, result.output
    assert "issued 3, skipped 0" in result.output
    assert _count(app) == 3
    with app.app_context():
        entry = ledger_entry(
            get_session(), get_session().scalars(select(Certificate.number)).first()
        )
        assert entry.actor == "cli"
    again = _run(app, "--org", org.uscc, "--from", term["period_from"], "--to", term["period_to"])
    assert again.exit_code == 0 and "issued 0, skipped 3" in again.output
    assert "already_certified: 3" in again.output


def test_cli_with_a_file_of_volunteer_numbers(app, school, tmp_path):
    students = school["students"]
    numbers = tmp_path / "numbers.txt"
    numbers.write_text(
        f"# class 3\n{students[0].volunteer_number}\n\n{students[2].volunteer_number.lower()}\n",
        encoding="utf-8",
    )
    term = school["term"]
    result = _run(
        app,
        *("--org", school["org"].uscc, "--from", term["period_from"], "--to", term["period_to"]),
        *("--volunteer-numbers", str(numbers)),
    )
    assert result.exit_code == 0, result.output
    assert "issued 2" in result.output


@pytest.mark.parametrize(
    "args, message, code",
    [
        (["--from", "2026-02-30"], "is not a date", 2),
        (["--org", "91350100M000100Y44"], "check character is wrong", 1),  # check character wrong
        (["--org", "91350100M000100Y43"], "no organisation with USCC", 1),
        (["--to", "2000-01-01"], "the period ends before it starts", 1),
        (["--volunteer-numbers", "UNKNOWN"], "not found", 1),
        (["--volunteer-numbers", "EMPTY"], "holds no volunteer numbers", 1),
        (["--volunteer-numbers", "MISSING"], "does not exist", 2),
    ],
)
def test_cli_bad_input_exits_non_zero_with_a_message(app, school, tmp_path, args, message, code):
    term = school["term"]
    options = {
        "--org": school["org"].uscc,
        "--from": term["period_from"],
        "--to": term["period_to"],
    }
    files = {
        "UNKNOWN": ("V00000000\n", "unknown.txt"),
        "EMPTY": ("# nothing\n\n", "empty.txt"),
    }
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if value in files:
            text, name = files[value]
            (tmp_path / name).write_text(text, encoding="utf-8")
            value = str(tmp_path / name)
        elif value == "MISSING":
            value = str(tmp_path / "missing.txt")
        options[flag] = value
    result = _run(app, *[part for pair in options.items() for part in pair])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert _count(app) == 0


def test_period_limit(client, school):
    body = {
        "period_from": (days_ago(1) - timedelta(days=bulk.MAX_PERIOD_DAYS + 1)).date().isoformat(),
        "period_to": days_ago(1).date().isoformat(),
    }
    response = client.post(URL, json=body, headers=school["auth"])
    assert (
        response.status_code == 422 and response.get_json()["errors"][0]["rule"] == "period_length"
    )


def test_a_merged_volunteer_number_maps_to_the_person_it_was_merged_into(app, make):
    """A class list may still hold a number merged away; it certifies the kept volunteer."""
    from verifier.certificates.bulk import volunteer_ids_for_numbers
    from verifier.volunteers.models import Volunteer

    org = make.org()
    first, second, third = (make.volunteer(org) for _ in range(3))

    def merge(session):  # first into second, later second into third
        session.get(Volunteer, first.id).merged_into_id = second.id
        session.get(Volunteer, second.id).merged_into_id = third.id

    make.run(merge)
    with app.app_context():
        found, missing = volunteer_ids_for_numbers(
            get_session(), [first.volunteer_number, second.volunteer_number, "V00000000000"]
        )
    assert found == {first.volunteer_number: third.id, second.volunteer_number: third.id}
    assert missing == ["V00000000000"]

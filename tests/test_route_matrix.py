"""Who may reach which route: every route, every role, and a user of another organisation.

The expected rules are written here by hand, independently of the decorators in the code; a route
that is not listed fails `test_every_route_has_an_expected_rule`, so a new route cannot ship
without a decision about who may use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from support import PASSWORD, Factory, bearer, days_ago, restored, rolled_back

from verifier.auth.models import ApiToken

PUBLIC = "public"
ORG = {"org_admin", "org_recorder"}
REG = {"regulator_supervisor", "regulator_inspector"}
ADMIN = {"platform_admin"}
EVERYONE = ORG | REG | ADMIN
ORG_AND_REG = ORG | REG
ORG_REG_ADMIN = ORG | REG | ADMIN
VOL = {"volunteer"}

# endpoint -> roles allowed (or PUBLIC); one entry per endpoint of the app.
EXPECTED: dict[str, Any] = {
    # public pages and documents
    "web.index": PUBLIC,
    "web.set_language": PUBLIC,
    "web.healthz": PUBLIC,
    "auth.login": PUBLIC,
    "keys.jwks_document": PUBLIC,
    "keys.trust_list_document": PUBLIC,
    "api.openapi_document": PUBLIC,
    "verification.scanned": PUBLIC,
    "verification.typed": PUBLIC,
    "verification.match": PUBLIC,
    "credentials.did_json": PUBLIC,
    "credentials.organisation_did_json": PUBLIC,
    "credentials.status_list": PUBLIC,
    "api.audit_checkpoints_api": PUBLIC,
    # every signed-in user
    "web.dashboard": EVERYONE | VOL,
    "auth.logout": EVERYONE | VOL,
    "auth.tokens": EVERYONE | VOL,
    "auth.revoke": EVERYONE | VOL,
    # organisations and users
    "orgs.index": EVERYONE,
    "orgs.detail": EVERYONE,
    "orgs.new": ADMIN,
    "orgs.change_status": ADMIN,
    "users.users": ADMIN | {"org_admin"},
    "users.user_detail": ADMIN | {"org_admin"},
    "users.new_user": ADMIN | {"org_admin"},
    "users.change_active": ADMIN | {"org_admin"},
    "users.change_role": ADMIN,
    # volunteers and records (pages)
    "volunteers.index": ORG_AND_REG,
    "volunteers.detail": ORG_AND_REG,
    "volunteers.new": ORG,
    "records.index": ORG_AND_REG,
    "records.detail": ORG_AND_REG,
    "records.history": ORG_AND_REG,
    "records.new": ORG,
    "records.correct": ORG,
    "records.void": ORG,
    "imports.upload": ORG,
    "imports.template": ORG,
    # API
    "api.create_organisation_api": ADMIN,
    "api.list_organisations_api": EVERYONE,
    "api.get_organisation_api": EVERYONE,
    "api.set_organisation_status_api": ADMIN,
    "api.create_volunteer_api": ORG,
    "api.list_volunteers_api": ORG_REG_ADMIN,
    "api.get_volunteer_api": ORG_REG_ADMIN,
    "api.create_record_api": ORG,
    "api.list_records_api": ORG_REG_ADMIN,
    "api.get_record_api": ORG_REG_ADMIN,
    "api.record_history_api": ORG_REG_ADMIN,
    "api.correct_record_api": ORG,
    "api.void_record_api": ORG,
    "api.import_records_api": ORG,
    "api.certificate_credential_api": EVERYONE | VOL,
    # certificates
    "certificates.index": ORG_AND_REG,
    "certificates.detail": ORG_AND_REG,
    "certificates.qr": ORG_AND_REG,
    "certificates.pdf": ORG_AND_REG | VOL,
    "credentials.credential": ORG_AND_REG | VOL,
    "certificates.new": ORG,
    "certificates.bulk": ORG,
    "certificates.revoke": ORG,
    "certificates.suspend": ORG,
    "certificates.reinstate": ORG,
    "certificates.reissue": ORG,
    "api.issue_certificate_api": ORG,
    "api.issue_bulk_api": ORG,
    "api.revoke_certificate_api": ORG,
    "api.suspend_certificate_api": ORG,
    "api.reinstate_certificate_api": ORG,
    "api.reissue_certificate_api": ORG,
    "api.list_certificates_api": ORG_REG_ADMIN,
    "api.get_certificate_api": ORG_REG_ADMIN,
    "api.certificate_qr_api": ORG_REG_ADMIN,
    "api.certificate_pdf_api": ORG_REG_ADMIN | VOL,
    "api.verify_api": PUBLIC,
    # complaints and correction requests (issue 4)
    "complaints.index": REG,
    "complaints.organisation": ORG_AND_REG,
    "complaints.new": {"regulator_supervisor"},  # inspectors neither record nor close them
    "complaints.close": {"regulator_supervisor"},
    "complaints.new_request": ORG,
    "complaints.answer_request": ORG,
    "api.certificate_status_api": PUBLIC,
    # spot checks: plans, campaigns, manifest, conflicts (helper B)
    "spotchecks.plans": REG,
    "spotchecks.new_plan": {"regulator_supervisor"},
    "spotchecks.plan_detail": REG,
    "spotchecks.run_plan": {"regulator_supervisor"},
    "spotchecks.set_active": {"regulator_supervisor"},
    "spotchecks.campaigns": REG,
    "spotchecks.campaign_detail": REG,
    "spotchecks.seed_campaign": {"regulator_supervisor"},
    "spotchecks.publish": {"regulator_supervisor"},
    "spotchecks.conflicts": REG,
    "spotchecks.declare": {"regulator_inspector"},
    "api.create_plan_api": {"regulator_supervisor"},
    "api.list_plans_api": REG,
    "api.get_plan_api": REG,
    "api.create_campaign_api": {"regulator_supervisor"},
    "api.list_campaigns_api": REG,
    "api.get_campaign_api": REG,
    "api.seed_campaign_api": {"regulator_supervisor"},
    "api.publish_campaign_api": {"regulator_supervisor"},
    "api.campaign_manifest_api": PUBLIC,
    "api.list_conflicts_api": REG,
    "api.declare_conflict_api": {"regulator_inspector"},
    # inspections, findings, supervision cases, dashboard, public results (helper C)
    "supervision.queue": REG,
    "supervision.item": REG,
    "supervision.cases": ORG_AND_REG,
    "supervision.case": ORG_AND_REG,
    "supervision.respond_case": ORG,
    "supervision.close": {"regulator_supervisor"},
    "supervision.escalate": {"regulator_supervisor"},
    "supervision.evidence": ORG_AND_REG,
    "supervision.dashboard": REG,
    "public_spotchecks.results_page": PUBLIC,
    "api.list_items_api": REG,
    "api.get_item_api": REG,
    "api.record_finding_api": REG,
    "api.evidence_file_api": ORG_AND_REG,
    "api.list_cases_api": ORG_AND_REG,
    "api.get_case_api": ORG_AND_REG,
    "api.respond_case_api": ORG,
    "api.close_case_api": {"regulator_supervisor"},
    "api.escalate_case_api": {"regulator_supervisor"},
    # jobs: long work off the request (an organisation's, or the regulators')
    "jobs.detail": ORG_AND_REG,
    "api.get_job_api": ORG_AND_REG,
    # volunteers' accounts: invitations, claiming, tokens, passwords (issue 9)
    "accounts.invite": ORG,
    "accounts.claim": PUBLIC,
    "accounts.privacy": PUBLIC,
    "accounts.password": EVERYONE | VOL,
    "accounts.reset": PUBLIC,
    "accounts.reset_code": PUBLIC,
    "api.create_invitation_api": ORG,
    "api.claim_account_api": PUBLIC,
    "api.claim_login_code_api": PUBLIC,
    "api.create_token_api": PUBLIC,
    "api.change_password_api": EVERYONE | VOL,
    # a volunteer's own records, receipts, confirm and dispute (issue 9, my records)
    "portal.home": VOL,
    "portal.record": VOL,
    "portal.confirm": VOL,
    "portal.dispute": VOL,
    "api.list_my_records_api": VOL,
    "api.get_my_record_api": VOL,
    "api.my_summary_api": VOL,
    "api.confirm_my_record_api": VOL,
    "api.dispute_my_record_api": VOL,
    # certificate requests and the volunteer's certificates (issue 9, part 5)
    "certreqs.mine": VOL,
    "certreqs.queue": ORG_AND_REG,
    "certreqs.detail": ORG_AND_REG,
    "certreqs.issue": ORG,
    "certreqs.refuse": ORG,
    "certreqs.supervision": REG,
    "api.create_certificate_request_api": VOL,
    "api.list_my_certificate_requests_api": VOL,
    "api.get_my_certificate_request_api": VOL,
    "api.list_my_certificates_api": VOL,
    "api.list_certificate_requests_api": ORG_AND_REG,
    "api.certificate_request_organisations_api": REG,
    "api.get_certificate_request_api": ORG_AND_REG,
    "api.issue_certificate_request_api": ORG,
    "api.refuse_certificate_request_api": ORG,
    # omissions, consent and my data (issue 9: mydata)
    "mydata.missing_records": VOL,
    "mydata.privacy": VOL,
    "mydata.language": VOL,
    "mydata.data": VOL,
    "mydata.download": VOL,
    "mydata.queue": ORG,
    "mydata.queue_detail": ORG,
    "mydata.queue_enter": ORG,
    "mydata.queue_refuse": ORG,
    "api.create_missing_record_api": VOL,
    "api.list_my_missing_records_api": VOL,
    "api.get_my_missing_record_api": VOL,
    "api.list_missing_records_api": ORG,
    "api.get_missing_record_api": ORG,
    "api.enter_missing_record_api": ORG,
    "api.refuse_missing_record_api": ORG,
    "api.get_preferences_api": VOL,
    "api.set_preferences_api": VOL,
    "api.export_api": VOL,
    "api.export_confirmed_api": VOL,
    # a supervisor revokes all of an organisation's certificates (issue 10: faults)
    "supervision.revoke_all": {"regulator_supervisor"},
    "api.revoke_organisation_certificates_api": {"regulator_supervisor"},
    # SD-JWTs and the holder's presentations (issue 10, part 5)
    "api.certificate_sd_jwt_api": ORG,
    "api.my_certificate_sd_jwt_api": VOL,
    "api.my_certificate_presentation_api": VOL,
    "presentations.share": VOL,
    # a deregistered organisation's successor (its users), or the platform without one
    "succession.index": ORG | ADMIN,
    "succession.answer": ORG | ADMIN,
    "succession.issue": ORG | ADMIN,
    "api.list_successions_api": ORG | ADMIN,
    "api.issue_successor_certificate_api": ORG | ADMIN,
    "api.reissue_successor_certificate_api": ORG | ADMIN,
    "api.correct_successor_record_api": ORG | ADMIN,
    "api.answer_successor_correction_api": ORG | ADMIN,
    "api.refuse_successor_missing_record_api": ORG | ADMIN,
    "api.issue_successor_certificate_request_api": ORG | ADMIN,
    "api.refuse_successor_certificate_request_api": ORG | ADMIN,
}

# A user of another organisation may reach these routes, but not organisation A's objects on them.
ACTORS = ["anonymous", *sorted(EVERYONE), "volunteer", "other_org_admin"]


class World:
    """Organisation A with a volunteer, a record and users of every role; organisation B's admin."""

    def __init__(self, app: Flask) -> None:
        make = Factory(app)
        self.app = app
        self._clients: dict[str, Any] = {}
        self.org = make.org()
        self.other = make.org()
        self.users = make.users(self.org, sorted(EVERYONE))
        self.users["other_org_admin"] = make.user("org_admin", self.other)
        self.tokens = make.tokens(self.users)
        # a token that revoking routes may revoke without locking anyone out
        spare = make.user("org_recorder", self.org)
        make.token(spare)
        self.spare_token_id = make.run(
            lambda session: session.scalar(select(ApiToken.id).where(ApiToken.user_id == spare.id))
        )
        self.volunteer = make.volunteer(self.org)
        # the volunteer's own account (role volunteer), signed in like the others below
        self.users["volunteer"] = make.volunteer_user(self.volunteer)
        self.tokens["volunteer"] = make.token(self.users["volunteer"])
        self.record = make.record(
            self.org, self.volunteer, actor=self.users["org_admin"], started_at=days_ago(9)
        )
        self.certificate = make.certificate(
            self.org, self.users["org_admin"], self.volunteer, [self.record]
        )
        for actor in ACTORS:  # signed in once, before any route is tried
            self.client(actor)

    def client(self, actor: str) -> Any:
        """A test client signed in as the actor (pages); one per actor, made once."""
        if actor not in self._clients:
            client = self.app.test_client()
            if actor != "anonymous":
                response = client.post(
                    "/login", data={"email": self.users[actor].email, "password": PASSWORD}
                )
                assert response.status_code == 302, f"{actor} could not sign in"
            self._clients[actor] = client
        return self._clients[actor]

    def values(self) -> dict[str, Any]:
        """Path parameters pointing at organisation A's objects."""
        return {
            "org_id": self.org.id,
            "volunteer_id": self.volunteer.id,
            "record_id": self.record.id,
            "user_id": self.users["org_recorder"].id,
            "token_id": self.spare_token_id,
            "code": "en",
            "token": self.certificate.token,
            "number": self.certificate.number,
            "uscc": self.org.uscc,
            "filename": "style.css",
            "list_number": 0,
            "purpose": "revocation",
            "plan_id": 1,  # spot-check ids: none exist, so allowed roles get 404
            "campaign_id": 1,
            "complaint_id": 1,  # none exists: a 404 for those allowed, refused for the rest
            "request_id": 1,
            "item_id": 1,  # no spot-check item, case or evidence exists: 404 for those allowed
            "case_id": 1,
            "evidence_id": 1,
            "job_id": 1,  # no job exists: 404 for those allowed
            "certificate_request_id": 1,  # none exists: 404 for those allowed
            "missing_id": 1,  # no missing-record request exists: 404 for those allowed
        }


def _url(rule: Any, values: dict[str, Any]) -> str:
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:[^:<>]+:)?{name}(?:\([^)]*\))?>", str(values[name]), path)
    return path


def _request(world: World, actor: str, method: str, url: str) -> Any:
    client = world.client(actor)
    headers = (
        bearer(world.tokens[actor]) if actor != "anonymous" and url.startswith("/api/") else {}
    )
    if method == "GET":
        return client.get(url, headers=headers)
    if url.startswith("/api/"):
        return client.open(url, method=method, headers=headers, json={})
    return client.open(url, method=method, headers=headers, data={})


def _refused(response: Any, url: str) -> bool:
    if response.status_code in (401, 403):
        return True
    if not url.startswith("/api/") and response.status_code == 302:
        return "/login" in response.headers.get("Location", "")
    return False


def test_every_route_has_an_expected_rule(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    missing = sorted(endpoints - set(EXPECTED))
    stale = sorted(set(EXPECTED) - endpoints)
    assert not missing, (
        f"routes without an expected access rule in tests/test_route_matrix.py: {missing}"
    )
    assert not stale, f"expected rules for routes that no longer exist: {stale}"


def _routes(app: Flask, endpoint: str) -> list[tuple[str, Any]]:
    """(method, rule) of every rule of the endpoint."""
    out = []
    for rule in app.url_map.iter_rules(endpoint):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, rule))
    return out


@pytest.fixture(scope="module")
def world(session_app: Flask) -> Iterator[World]:
    """One world for the module, in a transaction rolled back at its end (built once: the
    matrix is one test per route, each in a SAVEPOINT of its own, see `route`)."""
    with restored(session_app), rolled_back(session_app):
        yield World(session_app)


@pytest.fixture
def route(world: World) -> Iterator[World]:
    """The world, with what the route's requests change rolled back afterwards."""
    connection = world.app.extensions["verifier.db"].sessionmaker.kw["bind"]
    with restored(world.app):
        savepoint = connection.begin_nested()
        try:
            yield world
        finally:
            if savepoint.is_active:
                savepoint.rollback()


# auth.logout is left out: it would sign the shared clients out (every role reaches it: the
# matrix says so above, and tests/auth checks signing out).
MATRIX = sorted(endpoint for endpoint in EXPECTED if endpoint != "auth.logout")


@pytest.mark.parametrize("endpoint", MATRIX)
def test_role_matrix(route: World, endpoint: str) -> None:
    """The route answers each actor as the matrix says: allowed, refused, or 404 elsewhere."""
    world = route
    expected = EXPECTED[endpoint]
    rules = _routes(world.app, endpoint)
    assert rules, f"{endpoint}: no such route (remove it from EXPECTED)"
    values = world.values()
    problems = []
    for method, rule in rules:
        url = _url(rule, values)
        for actor in ACTORS:
            response = _request(world, actor, method, url)
            if response.status_code >= 500:
                problems.append(f"{method} {url} as {actor}: {response.status_code}")
                continue
            role = "org_admin" if actor == "other_org_admin" else actor
            allowed = expected == PUBLIC or role in expected
            refused = _refused(response, url) and not (
                endpoint == "auth.login" and response.status_code == 401
            )
            if allowed and refused:
                problems.append(
                    f"{method} {url} as {actor}: refused ({response.status_code}), expected allowed"
                )
            if not allowed and not refused:
                problems.append(
                    f"{method} {url} as {actor}: {response.status_code}, expected refused"
                )
            if (
                actor == "other_org_admin"
                and allowed
                and expected != PUBLIC
                and set(rule.arguments)
                & {"org_id", "volunteer_id", "record_id", "user_id", "number"}
                and response.status_code not in (403, 404)
            ):
                problems.append(
                    f"{method} {url} as {actor}: {response.status_code}, expected 404 (other org)"
                )
    assert not problems, "\n".join(problems)

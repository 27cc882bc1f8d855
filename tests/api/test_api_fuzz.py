"""A bounded schemathesis run: every API operation, called in-process with generated requests.

Each operation gets requests that fit its documented parameters and body (positive), requests
that break them (negative), and, where it has path parameters, positive requests aimed at objects
that exist. Each request is sent by a role the operation allows (Bearer tokens made by the
factories); every answer must be no 5xx, have a documented status and content type, and a body
its documented schema accepts. Seeded (derandomized), so a run is repeatable; bounded in examples,
so it takes about half a minute. Deselect it with `-m "not fuzz"`.
"""

from __future__ import annotations

import contextlib
import io
import time
from typing import Any

import pytest
from support.api_world import build_world, record_body

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.core.failures import FailureGroup  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.fuzz

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# examples per operation: fitting the document, breaking it, and fitting it on existing objects
EXAMPLES = {"positive": 4, "negative": 3, "existing": 6}
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cf4054070003860180"
    "5a347d6b0000000049454e44ae426082"
)


def _existing_objects(client: Any, world: Any) -> dict[str, Any]:
    """Make one of each object through the API; return their path parameters."""
    org_admin, supervisor = world.auth("org_admin"), world.auth("regulator_supervisor")
    inspector = world.auth("regulator_inspector")

    def created(response: Any, status: int = 201) -> Any:
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()

    record = created(
        client.post("/api/v1/records", json=record_body(world.volunteer.id), headers=org_admin)
    )
    client.post("/api/v1/records", json=record_body(world.volunteer.id, days=5), headers=org_admin)
    certificate = created(
        client.post(
            "/api/v1/certificates",
            json={"volunteer_id": world.volunteer.id, "record_ids": [record["id"]]},
            headers=org_admin,
        )
    )
    parameters = {
        "unit": "two_stage",
        "sample_size": {"mode": "fixed", "count": 2},
        "records_per_organisation": {"mode": "fixed", "count": 1},
        "weighting": "uniform",
        "inspectors_per_organisation": 1,
    }
    plan = created(
        client.post(
            "/api/v1/spotcheck/plans",
            json={"name": "fuzz", "parameters": parameters, "schedule": "0 2 1 * *"},
            headers=supervisor,
        )
    )
    campaign = created(
        client.post(
            "/api/v1/spotcheck/campaigns", json={"parameters": parameters}, headers=supervisor
        )
    )
    item = next(i for i in campaign["sample"] if i["organisation_id"] == world.org.id)
    finding = created(
        client.post(
            f"/api/v1/spotcheck/items/{item['id']}/finding",
            data={
                "result": "discrepancy",
                "discrepancy_type": "hours_inflated",
                "notes": "fuzz",
                "evidence": [(io.BytesIO(PNG), "photo.png")],
            },
            content_type="multipart/form-data",
            headers=inspector,
        )
    )
    # a volunteer's certificate request (issue 9), sent with the volunteer's own token
    certificate_request = created(
        client.post(
            "/api/v1/me/certificate-requests",
            json={
                "organisation_uscc": world.org.uscc,
                "period_from": "2020-01-01",
                "period_to": record["started_at"][:10],
            },
            headers=world.auth("volunteer"),
        )
    )
    # and their report of a record the organisation missed
    missing = created(
        client.post(
            "/api/v1/me/missing-records",
            json={
                "organisation_uscc": world.org.uscc,
                "activity": "社区服务",
                "started_at": "2026-01-05T09:00:00+08:00",
                "ended_at": "2026-01-05T11:00:00+08:00",
                "reason": "fuzz",
            },
            headers=world.auth("volunteer"),
        )
    )
    job = created(
        client.post(
            "/api/v1/records/import",
            data={"file": (io.BytesIO(b"name,id_type\n"), "empty.csv")},
            content_type="multipart/form-data",
            headers={**org_admin, "Prefer": "respond-async"},
        ),
        202,
    )
    return {
        "org_id": world.org.id,
        "volunteer_id": world.volunteer.id,
        "record_id": record["id"],
        "number": certificate["number"],
        "plan_id": plan["id"],
        "campaign_id": campaign["id"],
        "item_id": item["id"],
        "case_id": finding["case"]["id"],
        "evidence_id": finding["finding"]["evidence"][0]["id"],
        "job_id": job["id"],
        "certificate_request_id": certificate_request["id"],
        "missing_id": missing["id"],
        "request_id": 1,  # a request a successor answers: none exists here (404)
    }


def _order(operation: Any) -> tuple[int, str]:
    """Reads first, then writes; changing an organisation's status (which stops it) last."""
    if operation.path.endswith("/organisations/{org_id}/status"):
        return (3, operation.label)
    if operation.method.upper() == "GET":
        return (0, operation.label)
    return (1 if "{" not in operation.path else 2, operation.label)


def test_generated_requests_get_documented_answers(app, client, make):
    world = build_world(make)
    # the volunteer of the world's records (张三) with their own account: every id of the
    # volunteer's routes then names something of theirs
    world.tokens["volunteer"] = make.token(make.volunteer_user(world.volunteer))
    existing = _existing_objects(client, world)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_order)
    assert len(operations) > 40
    failures: dict[tuple[str, str], str] = {}
    answered_2xx: set[str] = set()
    examples = 0
    started = time.monotonic()
    for operation in operations:
        roles = operation.definition.raw["x-roles"] or [None]
        path_parameters = {
            p["name"]: existing[p["name"]]
            for p in operation.definition.raw.get("parameters", [])
            if p["in"] == "path"
        }
        runs = [
            ("positive", operation.as_strategy(GenerationMode.POSITIVE)),
            ("negative", operation.as_strategy(GenerationMode.NEGATIVE)),
        ]
        if path_parameters:
            runs.append(
                (
                    "existing",
                    operation.as_strategy(GenerationMode.POSITIVE, path_parameters=path_parameters),
                )
            )
        for kind, strategy in runs:

            @given(case=strategy, role=st.sampled_from(roles))
            @settings(
                max_examples=EXAMPLES[kind],
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def call(case: Any, role: str | None) -> None:
                nonlocal examples
                examples += 1
                headers = world.auth(role) if role else {"Accept-Language": "en"}
                try:
                    response = case.call_and_validate(headers=headers, checks=CHECKS)
                    if response.status_code < 300:
                        answered_2xx.add(operation.label)
                except FailureGroup as group:
                    for failure in group.exceptions:
                        key = (operation.label, failure.title)
                        failures.setdefault(
                            key,
                            f"{operation.label} ({kind}, as {role}): {failure}\n"
                            f"    {case.as_curl_command()}",
                        )

            with contextlib.suppress(Unsatisfiable):  # a parameter without constraints
                call()
    elapsed = time.monotonic() - started
    print(f"\nschemathesis: {examples} requests to {len(operations)} operations in {elapsed:.1f} s")
    assert not failures, "\n\n".join(failures.values())
    # the run reached real objects: every read a role may make answered 2xx at least once
    reads = {op.label for op in operations if op.method.upper() == "GET"}
    public = {op.label for op in operations if not op.definition.raw["x-roles"]}
    assert reads - public - answered_2xx == set()

"""A small regulated world for spot-check tests: organisations with records, regulators, tokens."""

from __future__ import annotations

from typing import Any

from flask import Flask

from support import Factory, bearer, days_ago

SEED = "31415926535897932384626433832795"


def parameters(**changes: Any) -> dict[str, Any]:
    """Plan parameters: two-stage, uniform, 3 organisations and 2 records each, 2 inspectors."""
    base: dict[str, Any] = {
        "unit": "two_stage",
        "sample_size": {"mode": "fixed", "count": 3},
        "records_per_organisation": {"mode": "fixed", "count": 2},
        "weighting": "uniform",
        "include_complaints": True,
        "inspectors_per_organisation": 2,
    }
    base.update(changes)
    return base


class World:
    """Five organisations with 3 records each (one volunteer each); a supervisor, 3 inspectors."""

    def __init__(self, app: Flask, orgs: int = 5, records: int = 3, inspectors: int = 3) -> None:
        make = Factory(app)
        self.app = app
        self.make = make
        self.orgs = [make.org() for _ in range(orgs)]
        self.records: dict[int, list[Any]] = {}
        self.volunteers = {}
        for org in self.orgs:
            volunteer = make.volunteer(org)
            self.volunteers[org.id] = volunteer
            self.records[org.id] = [
                make.record(org, volunteer, started_at=days_ago(3 + 2 * i), minutes=60 * (i + 1))
                for i in range(records)
            ]
        self.supervisor = make.user("regulator_supervisor")
        self.inspectors = [make.user("regulator_inspector") for _ in range(inspectors)]
        self.org_admin = make.user("org_admin", self.orgs[0])
        self.tokens = make.tokens(
            {
                "supervisor": self.supervisor,
                "org_admin": self.org_admin,
                **{f"inspector{i}": user for i, user in enumerate(self.inspectors)},
            }
        )

    def headers(self, who: str = "supervisor") -> dict[str, str]:
        return bearer(self.tokens[who])

    def campaign(self, client: Any, **body: Any) -> Any:
        """POST /api/v1/spotcheck/campaigns as the supervisor; return the response."""
        body.setdefault("parameters", parameters())
        return client.post("/api/v1/spotcheck/campaigns", json=body, headers=self.headers())

"""Every answer an API call of the test suite gets is checked against the OpenAPI document.

A plugin of tests/conftest.py: each answer of a documented API route (its rule and method in
/api/v1/openapi.json) must have a documented status, a documented content type, and, for JSON
content, a body that the documented schema accepts. A test whose answers break the document
fails at teardown, naming each answer. Tests that provoke an answer the document cannot promise
(a 500 from a fault they inject) mark themselves `@pytest.mark.undocumented_answers`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, Response, request, request_finished

JSON_MEDIA = ("application/json", "application/problem+json", "application/vc")


class Conformance:
    """Check answers against the document, which is built once (every app has the same API)."""

    def __init__(self) -> None:
        self.document: dict[str, Any] | None = None
        self.validators: dict[tuple[str, str, str, str], Any] = {}
        self.problems: list[str] = []
        self.checked = 0
        self.active = False

    def _document(self) -> dict[str, Any]:
        if self.document is None:
            from verifier.api.openapi import build_document

            self.document = build_document()
        return self.document

    def _validator(self, key: tuple[str, str, str, str], schema: dict[str, Any]) -> Any:
        validator = self.validators.get(key)
        if validator is None:
            import jsonschema

            root = {**schema, "components": self._document()["components"]}
            validator = jsonschema.Draft202012Validator(
                root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
            )
            self.validators[key] = validator
        return validator

    def check(self, sender: Flask, response: Response, **_extra: Any) -> None:
        """Check one answer (a receiver of Flask's request_finished signal)."""
        if not self.active or request.url_rule is None:
            return
        from verifier.api.openapi import openapi_path

        path = openapi_path(request.url_rule.rule)
        operation = self._document()["paths"].get(path, {}).get(request.method.lower())
        if operation is None:  # not an API route, or one the route test finds undocumented
            return
        self.checked += 1
        where = f"{request.method} {path} answered {response.status_code}"
        documented = operation["responses"].get(str(response.status_code))
        if documented is None:
            self.problems.append(
                f"{where}: status not documented ({sorted(operation['responses'])})"
            )
            return
        content = documented.get("content") or {}
        media = content.get(response.mimetype)
        if media is None:
            if content or response.get_data():
                self.problems.append(
                    f"{where}: content type {response.mimetype!r} not documented "
                    f"({sorted(content)})"
                )
            return
        if response.mimetype not in JSON_MEDIA or response.is_streamed:
            return
        try:
            body = json.loads(response.get_data())
        except ValueError:
            self.problems.append(f"{where}: the body is not JSON")
            return
        key = (request.method, path, str(response.status_code), response.mimetype)
        errors = sorted(
            self._validator(key, media["schema"]).iter_errors(body), key=lambda e: e.json_path
        )
        for error in errors[:5]:
            self.problems.append(f"{where}: {error.json_path}: {error.message[:300]}")


CONFORMANCE = Conformance()
request_finished.connect(CONFORMANCE.check)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "undocumented_answers: the test provokes API answers the document does not promise "
        "(an injected fault's 500); they are not checked against it",
    )


@pytest.fixture(autouse=True)
def api_answers_match_the_document(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if an API answer it got contradicts the OpenAPI document."""
    CONFORMANCE.problems = []
    CONFORMANCE.active = request.node.get_closest_marker("undocumented_answers") is None
    yield
    CONFORMANCE.active = False
    problems, CONFORMANCE.problems = CONFORMANCE.problems, []
    if problems:
        pytest.fail(
            "API answers that contradict /api/v1/openapi.json:\n" + "\n".join(problems[:30]),
            pytrace=False,
        )

"""The OpenAPI document describes every API route, validates, and matches real answers."""

import pytest
from support import new_app
from support.api_world import PENDING, api_routes, build_world, record_body


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def documented(document):
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


def test_every_api_route_and_method_is_documented(app, document):
    routes = set(api_routes(app))
    missing = routes - documented(document)
    assert not missing, f"API routes without documentation: {sorted(missing)}"
    assert documented(document) - routes <= PENDING


def test_an_undocumented_route_is_left_out_and_so_caught(database_url):
    from verifier.api.openapi import build_document
    from verifier.auth.access import public

    app = new_app(database_url)  # its own app: the shared one never gains a route
    app.add_url_rule("/api/v1/undocumented", "undocumented", public(lambda: "x"))
    with app.test_request_context():
        paths = build_document()["paths"]
    assert "/api/v1/records" in paths
    assert "/api/v1/undocumented" not in paths
    assert ("GET", "/api/v1/undocumented") in api_routes(app)
    app.extensions["verifier.db"].engine.dispose()


def test_the_import_route_is_documented_as_multipart(document):
    op = document["paths"]["/api/v1/records/import"]["post"]
    form_ref = op["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    form = document["components"]["schemas"][form_ref.rsplit("/", 1)[1]]
    assert form["required"] == ["file"]
    assert {"file", "dry_run", "all_or_nothing"} <= set(form["properties"])
    report = document["components"]["schemas"]["ImportReportOut"]
    assert {"imported", "rejected", "file", "columns", "batch_id"} <= set(report["required"])
    assert op["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JobOut"
    }


def test_the_document_is_valid_openapi_3_1(document):
    validator = pytest.importorskip("openapi_spec_validator")
    assert document["openapi"].startswith("3.1")
    validator.validate(document)


def test_operations_carry_security_roles_errors_and_models(app, document):
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert document["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/api/v1/openapi.json"]["get"]["security"] == []
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["properties"])
    for path, item in document["paths"].items():
        for method, op in item.items():
            assert op["summary"] and op["description"], (method, path)
            statuses = set(op["responses"])
            assert any(s.startswith("2") for s in statuses), (method, path)
            if op.get("security") == []:  # public: this document, certificate verification
                assert op["x-roles"] == [] and "401" not in statuses, (method, path)
                continue
            assert {"401", "403"} <= statuses, (method, path)
            assert op["x-roles"], (method, path)
            error = op["responses"]["401"]["content"]["application/problem+json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Problem"}
            json_body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if json_body is not None:
                assert json_body["schema"]["$ref"].startswith("#/components/schemas/")
                assert {"400", "415", "422"} <= statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
    for path in ("/api/v1/records", "/api/v1/volunteers", "/api/v1/organisations"):
        assert "application/json" in document["paths"][path]["post"]["requestBody"]["content"]
    records = document["paths"]["/api/v1/records"]["post"]
    assert records["x-roles"] == ["org_admin", "org_recorder"]
    assert "default to true" in records["description"]
    create = document["components"]["schemas"]["RecordCreate"]
    assert create["additionalProperties"] is False
    assert create["properties"]["unpaid"]["default"] is True
    assert "refused" in create["properties"]["unpaid"]["description"]
    corrections = document["paths"]["/api/v1/records/{record_id}/corrections"]["post"]
    assert "left out" in corrections["description"]
    volunteers = document["paths"]["/api/v1/volunteers"]["post"]["responses"]
    assert {"200", "201"} <= set(volunteers)


def test_real_answers_match_the_documented_schemas(client, document, make):
    jsonschema = pytest.importorskip("jsonschema")
    world = build_world(make)

    def check(response, status, schema_name):
        assert response.status_code == status, response.get_json()
        schema = {
            "$ref": f"#/components/schemas/{schema_name}",
            "components": document["components"],
        }
        jsonschema.Draft202012Validator(schema).validate(response.get_json())

    headers = world.auth("org_admin")
    created = client.post("/api/v1/records", json=record_body(world.volunteer.id), headers=headers)
    check(created, 201, "RecordOut")
    record_id = created.get_json()["id"]
    check(client.get("/api/v1/records", headers=headers), 200, "RecordPage")
    check(client.get(f"/api/v1/records/{record_id}/history", headers=headers), 200, "RecordHistory")
    check(
        client.get(f"/api/v1/volunteers/{world.volunteer.id}", headers=headers), 200, "VolunteerOut"
    )
    check(client.get("/api/v1/volunteers", headers=headers), 200, "VolunteerPage")
    check(client.get("/api/v1/organisations", headers=headers), 200, "OrganisationPage")
    check(client.post("/api/v1/records", json={}, headers=headers), 422, "Problem")
    check(client.get("/api/v1/records", headers={}), 401, "Problem")


def test_an_answer_that_contradicts_the_document_fails_the_test(app, client, make, monkeypatch):
    from openapi_conformance import CONFORMANCE

    world = build_world(make)
    view = app.view_functions["api.get_volunteer_api"]

    def wrong(volunteer_id):
        if volunteer_id == world.volunteer.id:
            return {**view(volunteer_id).get_json(), "id": "one"}
        return {"detail": "teapot"}, 418

    wrong.__dict__.update(view.__dict__)  # the same access rule and documentation
    # put back after the test: the app is shared by the whole session
    monkeypatch.setitem(app.view_functions, "api.get_volunteer_api", wrong)
    headers = world.auth("org_admin")
    assert (
        client.get(f"/api/v1/volunteers/{world.volunteer.id}", headers=headers).status_code == 200
    )
    assert client.get("/api/v1/volunteers/999", headers=headers).status_code == 418
    found, CONFORMANCE.problems = CONFORMANCE.problems, []  # this test's teardown would fail
    assert any("200: $.id: 'one' is not of type 'integer'" in p for p in found), found
    assert any("answered 418: status not documented" in p for p in found), found

"""Every state-changing page form needs the CSRF token; the API never accepts the cookie."""

from __future__ import annotations

from support import PASSWORD, bearer, csrf_token_from, sibling_app


def _post_routes(app):
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule.startswith("/api/"):
            continue
        yield rule


def _url(rule):
    values = {}
    for name in rule.arguments:
        converter = type(rule._converters[name]).__name__.lower()
        values[name] = 1 if "integer" in converter else "ABCD-EFGH-JKMN-PQRS-T"
    return rule.build(values)[1]


def _signed_in(client, email):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_every_page_post_refuses_a_missing_or_wrong_token(app, make):
    admin = make.user("platform_admin")
    with sibling_app(app, TESTING_CSRF=True) as protected:
        client = protected.test_client()
        _signed_in(client, admin.email)
        rules = list(_post_routes(protected))
        assert len(rules) > 20
        for rule in rules:
            url = _url(rule)
            assert client.post(url, data={}).status_code == 400, url
            forged = client.post(url, data={"csrf_token": "forged"})
            assert forged.status_code == 400, url
        # still signed in: the refusals changed nothing
        assert client.get("/dashboard").status_code == 200


def test_the_public_holder_check_needs_the_token_too(app, make):
    with sibling_app(app, TESTING_CSRF=True) as protected:
        client = protected.test_client()
        assert client.post("/verify/ABCD/match", data={"id_number": "x"}).status_code == 400


def test_a_session_cookie_alone_never_authenticates_the_api(app, make):
    admin = make.user("org_admin", make.org())
    with sibling_app(app, TESTING_CSRF=True) as protected:
        client = protected.test_client()
        _signed_in(client, admin.email)
        assert client.get("/dashboard").status_code == 200
        assert client.get("/api/v1/volunteers").status_code == 401
        refused = client.post(
            "/api/v1/volunteers",
            json={"name": "李四", "id_type": "resident_id", "id_number": "11010119900307002X"},
        )
        assert refused.status_code == 401
        assert "Bearer" in refused.headers["WWW-Authenticate"]
        # a form post to the API with the cookie is no different
        assert client.post("/api/v1/records/import", data={}).status_code == 401


def test_the_api_takes_a_bearer_token_without_a_csrf_token(app, make):
    admin = make.user("org_admin", make.org())
    token = make.token(admin)
    with sibling_app(app, TESTING_CSRF=True) as protected:
        client = protected.test_client()
        created = client.post(
            "/api/v1/volunteers",
            json={"name": "李四", "id_type": "resident_id", "id_number": "11010119900307002X"},
            headers=bearer(token),
        )
        assert created.status_code == 201

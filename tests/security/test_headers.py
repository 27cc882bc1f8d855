"""Response headers: framing, sniffing, CSP everywhere; no caching of what a signed-in user sees."""

from __future__ import annotations

import pytest
from support import bearer, login, sibling_app
from support.security_world import world

from verifier.certificates.services import number_display


@pytest.fixture
def w(make):
    return world(make)


def test_every_kind_of_page_has_the_security_headers(client, w):
    responses = [
        client.get("/"),
        client.get("/login"),
        client.get(f"/v/{w['cert_a'].token}"),
        client.get("/verify"),
        client.get("/nowhere"),
        client.get("/api/v1/openapi.json"),
        client.get("/.well-known/jwks.json"),
    ]
    static = client.get("/static/style.css")
    static.close()
    responses.append(static)
    for response in responses:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert "script-src" not in csp or "'unsafe-inline'" not in csp.split("script-src")[1]


def test_signed_in_pages_are_not_cached(client, w):
    login(client, w["admin_a"].email)
    cert = number_display(w["cert_a"].number)
    for path in (
        "/dashboard",
        "/volunteers",
        f"/volunteers/{w['vol_a'].id}",
        "/records",
        f"/certificates/{cert}",
        "/account/tokens",
        "/users",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        cache = response.headers.get("Cache-Control", "")
        assert "no-store" in cache and "private" in cache, path
    pdf = client.get(f"/certificates/{cert}/certificate.pdf")
    assert "no-store" in pdf.headers["Cache-Control"]


def test_api_answers_to_a_token_are_not_cached(client, make, w):
    token = make.token(w["admin_a"])
    for path in ("/api/v1/volunteers", f"/api/v1/volunteers/{w['vol_a'].id}", "/api/v1/records"):
        response = client.get(path, headers=bearer(token))
        assert response.status_code == 200, path
        assert "no-store" in response.headers.get("Cache-Control", ""), path


def test_public_documents_stay_cacheable(client, w):
    assert "public" in client.get("/.well-known/did.json").headers["Cache-Control"]
    assert "no-store" not in client.get(f"/v/{w['cert_a'].token}").headers.get("Cache-Control", "")


def test_https_deployments_send_hsts_and_secure_cookies(app, make):
    user = make.user("platform_admin")
    with sibling_app(app, BASE_URL="https://verifier.example") as secure:
        response = login(secure.test_client(), user.email)
    assert response.status_code == 302
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_plain_http_development_sends_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/").headers

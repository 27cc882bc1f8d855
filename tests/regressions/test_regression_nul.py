"""Found by the adversarial review of issue 7, reproduced here, then fixed.

On PostgreSQL: A NUL character in a query reaches the database, which
refuses it (psycopg.DataError), and the request answers 500:

- GET /certificates?q=%00 and GET /api/v1/certificates?q=%00
  (verifier/certificates/services.py::list_certificates does not use text.search_text, as the
  volunteer search does)
- POST /login with an e-mail holding NUL (verifier/auth/services.py::authenticate)
"""

from __future__ import annotations

import pytest
from support import PASSWORD, Factory, bearer, login

pytestmark = pytest.mark.postgres


def test_certificate_search_with_nul(committing_app):
    make = Factory(committing_app)
    org = make.org()
    admin = make.user("org_admin", org)
    client = committing_app.test_client()
    assert login(client, admin.email, PASSWORD).status_code == 302
    assert client.get("/certificates?q=%00").status_code < 500


def test_certificate_search_api_with_nul(committing_app):
    make = Factory(committing_app)
    org = make.org()
    admin = make.user("org_admin", org)
    token = make.token(admin)
    client = committing_app.test_client()
    response = client.get("/api/v1/certificates?q=%00", headers=bearer(token))
    assert response.status_code < 500


def test_sign_in_with_nul_in_the_email(committing_app):
    client = committing_app.test_client()
    response = client.post("/login", data={"email": "a\x00@example.cn", "password": "x"})
    assert response.status_code < 500

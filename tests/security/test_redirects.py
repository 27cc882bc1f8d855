"""`next` parameters may send the browser only to a path on this site."""

from __future__ import annotations

import pytest
from support import PASSWORD

OFF_SITE = [
    "//evil.example/",
    "/\\evil.example/",
    "/%5Cevil.example/",
    "\\\\evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "/ /evil.example/",
    "https://evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "evil.example",
]


def _lands_on_site(location: str) -> bool:
    # what a browser makes of it: backslashes read as slashes, tabs and newlines dropped
    seen = location.replace("\\", "/")
    seen = "".join(ch for ch in seen if ch not in "\t\n\r")
    seen = seen.replace("%09", "").replace("%0A", "").replace("%0D", "")
    return seen.startswith("/") and not seen.startswith("//")


@pytest.mark.parametrize("target", OFF_SITE)
def test_language_switch_stays_on_site(client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 302
    assert _lands_on_site(response.headers["Location"]), response.headers["Location"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_stays_on_site(client, make, target):
    user = make.user("platform_admin")
    response = client.post(
        "/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert _lands_on_site(response.headers["Location"]), response.headers["Location"]


@pytest.mark.parametrize("target", ["/verify?number=ABC", "/records?page=2", "/orgs/3"])
def test_local_paths_are_kept(client, make, target):
    response = client.get("/lang/zh", query_string={"next": target})
    assert response.headers["Location"] == target
    user = make.user("platform_admin")
    signed_in = client.post(
        "/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD}
    )
    assert signed_in.headers["Location"] == target

"""`verifier verify-qr`: a QR photo, URL or token checked against a JWKS file or URL; no DB."""

from __future__ import annotations

import base64
import http.server
import io
import json
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from support import days_ago, test_config

from verifier import create_app
from verifier.certificates.qr import render_qr_png
from verifier.certificates.services import number_display
from verifier.crypto import signing
from verifier.db import get_session
from verifier.keys.services import get_key, private_key_of

ID_NUMBER = "11010119900307002X"
# An address where no database answers: the command must never need one.
NO_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:9/no_database?connect_timeout=1"


@pytest.fixture
def issued(app, make, client, tmp_path):
    org = make.org(name="南川区青年志愿者协会")
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org, name="张三", id_number=ID_NUMBER)
    records = [make.record(org, volunteer, actor=admin, started_at=days_ago(d)) for d in (20, 10)]

    cert = make.certificate(org, admin, volunteer, records)
    jwks = client.get("/.well-known/jwks.json").get_json()
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(jwks))
    url = f"http://verifier.test/v/{cert.token}"
    png = tmp_path / "photo.png"
    png.write_bytes(render_qr_png(url))
    return {"cert": cert, "jwks": jwks, "jwks_file": jwks_file, "png": png, "url": url}


@pytest.fixture
def offline():
    """Run the command in an app whose database cannot be reached."""
    app = create_app(test_config(NO_DATABASE))
    runner = app.test_cli_runner()

    def run(*args):
        return runner.invoke(args=["verify-qr", *map(str, args)])

    yield run
    app.extensions["verifier.db"].engine.dispose()


def test_a_png_of_the_qr_verifies_with_a_jwks_file(offline, issued):
    result = offline(issued["png"], "--jwks", issued["jwks_file"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "SIGNATURE VALID" in out
    assert number_display(issued["cert"].number) in out
    assert "张*" in out and "张三" not in out
    assert ID_NUMBER not in out and "19900307" not in out
    assert issued["cert"].volunteer_number in out
    assert "6.00" in out and "南川区青年志愿者协会" in out
    assert "NOT checked offline" in out
    for words in ("ledger", "revoked or suspended", "organisation is still active", "records"):
        assert words in out
    assert f"http://verifier.test/verify?number={number_display(issued['cert'].number)}" in out


def test_a_jpeg_photo_verifies(offline, issued, tmp_path):
    photo = tmp_path / "photo.jpg"
    image = Image.open(io.BytesIO(issued["png"].read_bytes())).convert("RGB")
    image.save(photo, format="JPEG", quality=85)
    assert offline(photo, "--jwks", issued["jwks_file"]).exit_code == 0


@pytest.mark.parametrize("form", ["url", "token"])
def test_a_verify_url_or_bare_token_verifies(offline, issued, form):
    source = issued["url"] if form == "url" else issued["cert"].token
    result = offline(source, "--jwks", issued["jwks_file"])
    assert result.exit_code == 0, result.output


def test_without_zxing_cpp_an_image_says_how_to_install_it_and_links_still_verify(
    offline, issued, monkeypatch
):
    monkeypatch.setitem(sys.modules, "zxingcpp", None)  # as where the qr extra is not installed
    result = offline(issued["png"], "--jwks", issued["jwks_file"])
    assert result.exit_code == 2
    assert "zxing-cpp" in result.output and "pip install 'verifier[qr]'" in result.output
    assert offline(issued["url"], "--jwks", issued["jwks_file"]).exit_code == 0


def _claims(token):
    return json.loads(signing._b64url_decode(token.split(".")[1], "payload", ValueError))


def test_an_altered_payload_is_invalid(offline, issued):
    header, _payload, signature = issued["cert"].token.split(".")
    claims = _claims(issued["cert"].token)
    claims["hours"] = "900.00"
    forged = ".".join([header, signing.b64url_encode(signing.canonical_json(claims)), signature])
    result = offline(forged, "--jwks", issued["jwks_file"])
    assert result.exit_code == 1
    assert "INVALID" in result.output and "900.00" not in result.output


def test_a_stranger_key_with_a_real_kid_is_invalid(offline, issued):
    forged = signing.sign_compact_jws(
        _claims(issued["cert"].token), signing.generate_private_key(), issued["cert"].kid
    )
    result = offline(forged, "--jwks", issued["jwks_file"])
    assert result.exit_code == 1 and "signature" in result.output


def test_a_key_missing_from_the_jwks_is_invalid(offline, issued, tmp_path):
    other = tmp_path / "other.jwks"
    other.write_text(
        json.dumps({"keys": [signing.public_jwk(signing.generate_private_key().public_key())]})
    )
    result = offline(issued["png"], "--jwks", other)
    assert result.exit_code == 1 and "not in the keys" in result.output


@pytest.mark.parametrize("text", ["not-a-token", "a.b.c", "https://verifier.test/about"])
def test_text_that_is_no_certificate_is_invalid(offline, issued, text):
    assert offline(text, "--jwks", issued["jwks_file"]).exit_code == 1


def test_an_image_without_a_qr_code_is_unreadable(offline, issued, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (400, 400), "white").save(blank)
    result = offline(blank, "--jwks", issued["jwks_file"])
    assert result.exit_code == 2 and "no QR code" in result.output


def test_a_missing_or_broken_file_is_unreadable(offline, issued, tmp_path):
    assert offline(tmp_path / "missing.png", "--jwks", issued["jwks_file"]).exit_code == 2
    not_image = tmp_path / "notes.png"
    not_image.write_text("hello")
    assert offline(not_image, "--jwks", issued["jwks_file"]).exit_code == 2
    assert offline(issued["png"], "--jwks", tmp_path / "missing.json").exit_code == 2
    bad_jwks = tmp_path / "bad.json"
    bad_jwks.write_text("{not json")
    assert offline(issued["png"], "--jwks", bad_jwks).exit_code == 2


def test_missing_argument_is_exit_2(offline):
    assert offline().exit_code == 2


def _with_key_status(issued, tmp_path, **members):
    jwks = json.loads(json.dumps(issued["jwks"]))
    jwks["keys"][0].update(members)
    path = tmp_path / "marked.json"
    path.write_text(json.dumps(jwks))
    return path


def test_a_key_compromised_before_the_issue_time_fails(offline, issued, tmp_path):
    before = (issued["cert"].issued_at - timedelta(days=1)).isoformat()
    marked = _with_key_status(issued, tmp_path, status="compromised", compromised_at=before)
    result = offline(issued["png"], "--jwks", marked)
    assert result.exit_code == 1 and "compromised" in result.output


def test_a_key_compromised_later_warns(offline, issued, tmp_path):
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    marked = _with_key_status(issued, tmp_path, status="compromised", compromised_at=later)
    result = offline(issued["png"], "--jwks", marked)
    assert result.exit_code == 0
    assert "WARNING" in result.output and "compromised" in result.output


def test_a_retired_key_warns_but_verifies(offline, issued, tmp_path):
    result = offline(issued["png"], "--jwks", _with_key_status(issued, tmp_path, status="retired"))
    assert result.exit_code == 0
    assert "WARNING" in result.output and "retired" in result.output


@pytest.fixture
def jwks_server():
    """Serve a JWKS over HTTP on 127.0.0.1; yield (base URL, set_jwks)."""
    state = {"body": b"{}"}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path != "/.well-known/jwks.json":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(state["body"])

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield base, lambda jwks: state.update(body=json.dumps(jwks).encode())
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_jwks_is_fetched_from_the_configured_base_url_by_default(jwks_server):
    base, set_jwks = jwks_server
    key = signing.generate_private_key()
    jwk = signing.public_jwk(key.public_key())
    set_jwks({"keys": [jwk]})
    claims = {
        "jti": _valid_number(),
        "iss": base,
        "iat": 1767225600,
        "hours": "3.00",
        "period": ["2026-01-01", "2026-01-01"],
        "org": "测试组织",
        "uscc": "91350100M000100Y43",
        "name": "李*",
        "vno": "V0001",
    }
    token = signing.sign_compact_jws(claims, key, jwk["kid"])
    app = create_app(test_config(NO_DATABASE, BASE_URL=base))
    try:
        result = app.test_cli_runner().invoke(args=["verify-qr", f"{base}/v/{token}"])
        assert result.exit_code == 0, result.output
        assert f"{base}/.well-known/jwks.json" in result.output
        # the same token against keys fetched from somewhere that is not its issuer
        elsewhere = app.test_cli_runner().invoke(
            args=[
                "verify-qr",
                token,
                "--jwks",
                f"http://localhost:{base.rsplit(':', 1)[1]}/.well-known/jwks.json",
            ]
        )
        assert elsewhere.exit_code == 1 and "issuer" in elsewhere.output
        missing = app.test_cli_runner().invoke(
            args=["verify-qr", token, "--jwks", f"{base}/nothing-here.json"]
        )
        assert missing.exit_code == 2
    finally:
        app.extensions["verifier.db"].engine.dispose()


def _valid_number():
    from verifier.certificates.numbers import new_certificate_number

    return new_certificate_number().replace("-", "")


@pytest.mark.parametrize(("alg", "exit_ok"), [("Ed25519", True), ("none", False), ("HS256", False)])
def test_a_token_resigned_with_alg_ed25519_verifies_offline(app, offline, issued, alg, exit_ok):
    header, payload, _sig = issued["cert"].token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(header + "=="))
    new_header = signing.b64url_encode(json.dumps({**fields, "alg": alg}).encode())
    with app.app_context():
        key = private_key_of(get_key(get_session(), fields["kid"]))
    signature = signing.b64url_encode(key.sign(f"{new_header}.{payload}".encode()))
    result = offline(f"{new_header}.{payload}.{signature}", "--jwks", issued["jwks_file"])
    assert (result.exit_code == 0) is exit_ok, result.output
    assert ("SIGNATURE VALID" in result.output) is exit_ok

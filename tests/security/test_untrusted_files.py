"""Files from outside on the command line: a JWKS, a manifest, a photo. Never a traceback.

A JWKS or a manifest nested deeply raised RecursionError; a campaign id beyond the database's
range raised a database error; a small PNG claiming 900 million pixels raised Pillow's
DecompressionBombError. Each is now an `error: ...` line and the command's "unreadable" exit.
"""

from __future__ import annotations

import pytest
from support import test_config

from verifier import create_app


def test_a_deep_jwks_file_is_an_error_not_a_traceback(tmp_path):
    jwks = tmp_path / "jwks.json"
    jwks.write_bytes(b'{"keys": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    app = create_app(test_config("sqlite:///:memory:"))
    result = app.test_cli_runner().invoke(args=["verify-qr", "x.y.z", "--jwks", str(jwks)])
    assert result.exit_code == 2, result.output
    assert "nested more than 32 levels deep" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_deep_manifest_is_an_error_not_a_traceback(app, tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(b'{"population": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    result = app.test_cli_runner().invoke(args=["spotcheck", "replay", str(manifest)])
    assert result.exit_code == 1, result.output
    assert "is not a JSON manifest" in result.output and "32 levels" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("source", ["9" * 30, "2147483648", "²"])
def test_replay_of_a_campaign_id_beyond_the_database_is_an_error(app, source):
    result = app.test_cli_runner().invoke(args=["spotcheck", "replay", source])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "error" in result.output.lower()


@pytest.mark.parametrize(
    ("size", "words"),
    [
        ((30_000, 30_000), "decompression bomb"),  # 900 million pixels, refused by Pillow
        ((9_000, 8_000), "9000 x 8000 pixels, more than the 64 million"),  # by the QR reader
    ],
)
def test_a_decompression_bomb_photo_is_unreadable_not_a_traceback(tmp_path, size, words):
    from PIL import Image

    photo = tmp_path / "photo.png"
    Image.new("1", size).save(photo)  # about 100 KB
    app = create_app(test_config("sqlite:///:memory:"))
    result = app.test_cli_runner().invoke(args=["verify-qr", str(photo), "--jwks", str(photo)])
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)

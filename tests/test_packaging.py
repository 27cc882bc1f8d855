"""The package works outside a checkout: its files are found where a wheel puts them, and
zxing-cpp is needed only to read QR codes from images (.ci/wheel-check installs the real wheel).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from verifier import config
from verifier.config import RESOURCES, resource_path

EXPECTED = {
    "templates": "base.html",
    "static": "style.css",
    "migrations": "env.py",
    "translations": "zh/LC_MESSAGES/messages.po",
}


def test_every_resource_is_found_in_the_checkout(app):
    assert set(EXPECTED) == set(RESOURCES)
    for name, inside in EXPECTED.items():
        assert (resource_path(name) / inside).is_file(), name
    assert app.template_folder == str(resource_path("templates"))
    assert app.static_folder == str(resource_path("static"))
    assert app.config["BABEL_TRANSLATION_DIRECTORIES"] == str(resource_path("translations"))


def test_the_copy_inside_the_package_wins_over_the_checkout(tmp_path, monkeypatch):
    package, root = tmp_path / "site-packages" / "verifier", tmp_path / "checkout"
    monkeypatch.setattr(config, "PACKAGE_DIR", package)
    monkeypatch.setattr(config, "PROJECT_ROOT", root)
    with pytest.raises(RuntimeError, match="templates/ directory is missing"):
        resource_path("templates")
    (root / "templates").mkdir(parents=True)
    assert resource_path("templates") == root / "templates"  # a checkout
    (package / "templates").mkdir(parents=True)
    assert resource_path("templates") == package / "templates"  # an installed wheel
    with pytest.raises(ValueError):
        resource_path("../secrets")


def test_the_package_imports_and_serves_without_zxing_cpp():
    """Every module imports, and the app is built, where zxing-cpp is not installed."""
    program = """
import importlib, pkgutil, sys
sys.modules["zxingcpp"] = None  # an import of it fails, as where it is not installed
import verifier
for module in pkgutil.walk_packages(verifier.__path__, "verifier."):
    importlib.import_module(module.name)
from verifier.certificates.qr import QRReaderMissing, decode_qr, render_qr_png
png = render_qr_png("https://verify.example.cn/v/abc")
try:
    decode_qr(png)
except QRReaderMissing as exc:
    print(exc)
"""
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'verifier[qr]'" in done.stdout

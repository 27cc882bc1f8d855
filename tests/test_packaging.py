"""The package works outside a checkout: its files are found where a wheel puts them, and
zxing-cpp is needed only to read QR codes from images (.ci/wheel-check installs the real wheel).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from verifier import config
from verifier.config import RESOURCES, instance_dir, resource_path

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
    monkeypatch.setattr(config, "IN_CHECKOUT", True)
    with pytest.raises(RuntimeError, match="templates/ directory is missing"):
        resource_path("templates")
    (root / "templates").mkdir(parents=True)
    assert resource_path("templates") == root / "templates"  # a checkout
    (package / "templates").mkdir(parents=True)
    assert resource_path("templates") == package / "templates"  # an installed wheel
    with pytest.raises(ValueError):
        resource_path("../secrets")


def test_an_installed_wheel_never_reads_site_packages_top_level(tmp_path, monkeypatch):
    """Outside a checkout, PROJECT_ROOT is site-packages: another package's migrations/ there
    must not be taken for ours."""
    site = tmp_path / "site-packages"
    monkeypatch.setattr(config, "PACKAGE_DIR", site / "verifier")
    monkeypatch.setattr(config, "PROJECT_ROOT", site)
    monkeypatch.setattr(config, "IN_CHECKOUT", False)
    (site / "migrations").mkdir(parents=True)
    with pytest.raises(RuntimeError, match="migrations/ directory is missing") as caught:
        resource_path("migrations")
    assert str(site / "verifier") in str(caught.value)
    (site / "verifier" / "migrations").mkdir(parents=True)
    assert resource_path("migrations") == site / "verifier" / "migrations"


def test_the_checkout_is_recognised_by_its_pyproject():
    assert config.IN_CHECKOUT  # the suite runs from a checkout (an editable install)
    assert (config.PROJECT_ROOT / "pyproject.toml").is_file()


def test_the_instance_directory_of_a_checkout_a_wheel_and_the_environment(tmp_path):
    checkout, cwd = tmp_path / "checkout", tmp_path / "work"
    assert instance_dir(checkout, {}, cwd) == checkout / "instance"
    assert instance_dir(None, {}, cwd) == cwd / "instance"  # an installed wheel
    assert instance_dir(None, {"VERIFIER_INSTANCE_DIR": " "}, cwd) == cwd / "instance"
    chosen = {"VERIFIER_INSTANCE_DIR": str(tmp_path / "data")}
    assert instance_dir(checkout, chosen, cwd) == tmp_path / "data"
    assert instance_dir(None, chosen, cwd) == tmp_path / "data"
    assert instance_dir(None, {"VERIFIER_INSTANCE_DIR": "var"}, cwd) == cwd / "var"


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

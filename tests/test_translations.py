"""The Chinese catalog covers every user-facing string, keeps its placeholders, and is used.

A new `_("...")` in the code or the templates without a Chinese translation fails here: run
`make extract-messages`, translate the new entries in
verifier/translations/zh/LC_MESSAGES/messages.po, then `make translations`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "babel.cfg"
PO_FILE = ROOT / "verifier" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
MO_FILE = PO_FILE.with_suffix(".mo")
# The same keywords as `make extract-messages` (pybabel extract -k _l -k lazy_gettext).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
# printf-style conversions as Python formats them: %(name)s, %(n)d, %s, ... (%% is a literal %)
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def read_catalog() -> Catalog:
    with PO_FILE.open("rb") as fh:
        return read_po(fh, locale="zh")


def source_msgids() -> dict[str, list[str]]:
    """Every msgid in the code and templates, extracted with babel.cfg, with where it is used."""
    with BABEL_CFG.open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, str(BABEL_CFG))
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[str, list[str]]:
    msgids = source_msgids()
    assert len(msgids) > 100, "extraction found almost nothing: check babel.cfg"
    return msgids


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return read_catalog()


def placeholders(text: str) -> list[str]:
    return sorted(p for p in PLACEHOLDER.findall(text) if p != "%%")


def test_every_source_string_has_a_chinese_translation(extracted, catalog):
    missing = []
    for msgid, where in sorted(extracted.items()):
        message = catalog.get(msgid)
        strings = message.string if message is not None else None
        if isinstance(strings, tuple):
            strings = strings[0] if all(strings) else ""
        if not strings or not strings.strip():
            missing.append(f"  {msgid!r}  ({where[0]})")
    assert not missing, (
        f"{len(missing)} user-facing strings have no Chinese translation in"
        f" {PO_FILE.relative_to(ROOT)}; run `make extract-messages` and translate them:\n"
        + "\n".join(missing)
    )


def test_translations_keep_every_placeholder(catalog):
    wrong = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = placeholders(ids[-1])
        for string in strings:
            if placeholders(string) != expected:
                wrong.append(f"  {ids[0]!r}: {expected} but {string!r} has {placeholders(string)}")
    assert not wrong, "translations whose placeholders differ from the msgid:\n" + "\n".join(wrong)


def test_no_fuzzy_entries(catalog):
    assert not catalog.fuzzy, "the catalog header is marked fuzzy"
    fuzzy = [repr(m.id) for m in catalog if m.id and m.fuzzy]
    assert not fuzzy, "fuzzy entries (check the translation, remove the flag):\n" + "\n".join(fuzzy)


def test_compiled_catalog_is_current():
    assert MO_FILE.exists(), "messages.mo is missing: run `make translations`"
    assert MO_FILE.stat().st_mtime >= PO_FILE.stat().st_mtime, "messages.mo is older than .po"


def test_sign_in_page_is_chinese_by_default_and_english_on_request(client):
    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "登录" in html
    assert "Sign in" not in html

    switched = client.get("/lang/en?next=/login")
    assert switched.status_code == 302
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Sign in" in html
    assert "登录" not in html

    client.get("/lang/zh?next=/login")
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_no_stray_percent_signs(catalog):
    """Jinja formats every translated string with %; a lone % in a translation breaks the page."""
    stray = re.compile(r"%(?!\(\w+\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%)")
    bad = [
        (message.id, message.string)
        for message in catalog
        if message.id
        and isinstance(message.string, str)
        and stray.search(message.string.replace("%%", ""))
    ]
    assert not bad, f"use %% or words for a percent sign: {bad}"

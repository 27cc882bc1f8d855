"""The certificate font is the one whose origin and licence the shipped licence file records."""

from __future__ import annotations

import hashlib
from importlib import resources

from fontTools.ttLib import TTCollection

from verifier.certificates.pdf import FONT_NUMBER, font_path

LICENCE = resources.files("verifier.certificates").joinpath("fonts/LICENSE-wqy-microhei.txt")


def name_table() -> dict[int, str]:
    collection = TTCollection(str(font_path()), lazy=True)
    try:
        names = collection.fonts[FONT_NUMBER]["name"]
        return {
            record.nameID: record.toUnicode()
            for record in names.names
            if record.platformID == 3 and record.langID == 0x409
        }
    finally:
        collection.close()


def test_the_licence_file_ships_inside_the_package():
    text = LICENCE.read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the whole licence, not a mention


def test_the_font_says_what_the_licence_file_records():
    names = name_table()
    text = LICENCE.read_text(encoding="utf-8")
    assert names[1] == "WenQuanYi Micro Hei"
    assert names[13] == "Licensed under the Apache License, Version 2.0"
    assert names[5] in text  # the version
    assert "WenQuanYi Board of Trustees" in names[0]


def test_the_font_file_is_the_one_recorded():
    digest = hashlib.sha256(font_path().read_bytes()).hexdigest()
    assert digest in LICENCE.read_text(encoding="utf-8")

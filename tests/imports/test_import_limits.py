"""Caps on import files: hostile workbooks and CSV files are refused, naming the cap, unread.

A 186 KB workbook used to cost 310 MB and a 20 MB one 1.3 GB: openpyxl loads the shared strings
and the styles whole and builds each row in memory. The workbooks here are built by hand with
zipfile: millions of shared strings, a dimension or a cell a million columns wide, a row
numbered a billion, a part compressed a thousand times, a stylesheet of 11 MB, a hundred
thousand merged ranges, a row of a megabyte, a thousand and one files, a DTD.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape

import pytest
from support import bearer, login
from support.import_files import FIELDS, HEADER_ZH, counts, csv_bytes, row
from test_import_service import run

from verifier.errors import PayloadTooLarge, UnsupportedMediaType, ValidationError
from verifier.imports.limits import ImportLimits

UPLOAD_LIMIT = 20 * 1024 * 1024  # the default of VERIFIER_IMPORT_MAX_BYTES
NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" '
    b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    b"</Types>"
)
ROOT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8"?><workbook ' + NS + b" "
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    b'<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)


def cells(number: int, values: list[str]) -> bytes:
    """A row of inline-string cells."""
    inner = b"".join(
        b'<c r="%s%d" t="inlineStr"><is><t>%s</t></is></c>'
        % (chr(65 + i).encode(), number, escape(value).encode())
        for i, value in enumerate(values)
    )
    return b'<row r="%d">%s</row>' % (number, inner)


def records(count: int, first: int = 2) -> list[bytes]:
    """The header row and `count` valid records (rows first .. first + count - 1)."""
    rows = [cells(1, HEADER_ZH)]
    for i in range(count):
        values = row(900 + i, days_ago=10 + i)
        rows.append(cells(first + i, [values[name] for name in FIELDS]))
    return rows


def sheet(rows: Iterable[bytes], dimension: bytes = b"A1", head: bytes = b"", tail: bytes = b""):
    yield b'<?xml version="1.0" encoding="UTF-8"?><worksheet ' + NS + b">"
    yield b'<dimension ref="' + dimension + b'"/>' + head + b"<sheetData>"
    yield from rows
    yield b"</sheetData>" + tail + b"</worksheet>"


def shared_strings(texts: Iterable[bytes], count: int = 0):
    yield b'<?xml version="1.0" encoding="UTF-8"?><sst ' + NS + b' uniqueCount="%d">' % count
    for text in texts:
        yield b"<si><t>" + text + b"</t></si>"
    yield b"</sst>"


def workbook(
    sheet_xml: Iterable[bytes] | None = None,
    *,
    strings: Iterable[bytes] | None = None,
    parts: dict[str, bytes] | None = None,
    second_sheet: bytes | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A minimal .xlsx written part by part (streamed, so a part may be large)."""
    out = io.BytesIO()
    workbook_xml, rels = WORKBOOK, WORKBOOK_RELS
    if second_sheet is not None:
        workbook_xml = workbook_xml.replace(
            b"</sheets>", b'<sheet name="Sheet2" sheetId="2" r:id="rId3"/></sheets>'
        )
        rels = rels.replace(
            b"</Relationships>",
            b'<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/'
            b'2006/relationships/worksheet" Target="worksheets/sheet2.xml"/></Relationships>',
        )
        parts = {**(parts or {}), "xl/worksheets/sheet2.xml": second_sheet}
    with zipfile.ZipFile(out, "w", compression) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", workbook_xml)
        archive.writestr("xl/_rels/workbook.xml.rels", rels)
        for name, data in (parts or {}).items():
            archive.writestr(name, data)
        for name, chunks in (
            ("xl/sharedStrings.xml", strings if strings is not None else shared_strings([])),
            ("xl/worksheets/sheet1.xml", sheet_xml or sheet(records(1))),
        ):
            with archive.open(name, "w", force_zip64=True) as member:
                for chunk in chunks:
                    member.write(chunk)
    return out.getvalue()


@pytest.fixture
def org(make: Any) -> Any:
    return make.org()


def refused(app, org, data, error=PayloadTooLarge, filename="records.xlsx"):
    """Import the file; assert it is refused as a whole and nothing was written."""
    before = counts(app)
    with pytest.raises(error) as caught:
        run(app, org, data, filename=filename, max_bytes=UPLOAD_LIMIT)
    assert counts(app) == before
    return caught.value


def named(error, rule: str, *words: str) -> None:
    assert error.errors[0].field == "file"
    assert error.errors[0].rule == rule
    for word in words:
        assert word in error.message, error.message


# --- a workbook within the caps -----------------------------------------------------------


def test_a_hand_made_workbook_within_the_caps_imports(app, org):
    report = run(app, org, workbook(sheet(records(3))), filename="r.xlsx")
    assert (report.total_rows, report.imported) == (3, 3)


def test_a_dimension_wider_than_the_data_but_within_excel_is_tolerated(app, org):
    data = workbook(sheet(records(2), dimension=b"A1:XFD1048576"))
    assert run(app, org, data, filename="r.xlsx").imported == 2


# --- the zip: members, unpacked size, compression ---------------------------------------------


def test_a_member_compressed_a_thousand_times_is_a_zip_bomb(app, org):
    padding = b"<!--" + b" " * 20_000_000 + b"-->"
    data = workbook(sheet(records(1), tail=padding))
    assert len(data) < 100_000
    error = refused(app, org, data)
    named(error, "max_zip_ratio", "xl/worksheets/sheet1.xml", "limit of 100")
    assert "VERIFIER_IMPORT_MAX_ZIP_RATIO" in error.message


def test_the_unpacked_size_is_capped(app, org):
    app.config["IMPORT_MAX_UNPACKED_BYTES"] = 1024 * 1024
    data = workbook(parts={"xl/media/image1.png": b"\x89PNG" + bytes(2 * 1024 * 1024)})
    error = refused(app, org, data)
    named(error, "max_unpacked_bytes", "limit of 1.0 MB", "VERIFIER_IMPORT_MAX_UNPACKED_BYTES")


def test_more_than_a_thousand_files_in_the_zip(app, org):
    parts = {f"xl/media/image{i}.png": b"" for i in range(1001)}
    error = refused(app, org, workbook(parts=parts, compression=zipfile.ZIP_STORED))
    named(error, "max_zip_members", "1000")


# --- shared strings -------------------------------------------------------------------------


def test_a_million_shared_strings_and_one_are_refused_before_openpyxl_loads_them(app, org):
    # stored, not compressed: only the count stops it (19 MB, under the upload limit)
    texts = (b"%x" % (i % 16) for i in range(1_000_001))
    data = workbook(strings=shared_strings(texts), compression=zipfile.ZIP_STORED)
    assert len(data) < UPLOAD_LIMIT
    error = refused(app, org, data)
    named(error, "max_shared_strings", "1000000", "VERIFIER_IMPORT_MAX_SHARED_STRINGS")


def test_millions_of_compressed_shared_strings_are_a_zip_bomb(app, org):
    entries = (b"<si><t>a</t></si>" * 10_000 for _ in range(300))  # three million
    data = workbook(strings=[b"<sst " + NS + b">", *entries, b"</sst>"])
    assert len(data) < 200_000
    error = refused(app, org, data)
    named(error, "max_zip_ratio", "xl/sharedStrings.xml")


def test_the_shared_strings_caps_are_settings(app, org):
    app.config["IMPORT_MAX_SHARED_STRINGS"] = 10
    data = workbook(strings=shared_strings(b"x" for _ in range(11)))
    named(refused(app, org, data), "max_shared_strings", "more than 10 different texts")
    app.config["IMPORT_MAX_SHARED_STRINGS"] = 1000
    app.config["IMPORT_MAX_SHARED_STRING_CHARS"] = 5000
    data = workbook(strings=shared_strings(b"x" * 1000 for _ in range(6)))
    named(refused(app, org, data), "max_shared_string_chars", "more than 5000 characters")


def test_one_shared_string_of_more_than_a_megabyte(app, org):
    data = workbook(
        strings=shared_strings([b"<r><t>x</t></r>" * 80_000], 1), compression=zipfile.ZIP_STORED
    )
    named(refused(app, org, data), "max_unit_bytes", "1.0 MB")


# --- rows and columns -----------------------------------------------------------------------


def test_a_row_numbered_a_billion_is_refused_by_the_row_cap(app, org):
    rows = [*records(1), b'<row r="1000000000"><c r="A1000000000"><v>1</v></c></row>']
    error = refused(app, org, workbook(sheet(rows)))
    named(error, "max_rows", "more than 100000 rows", "VERIFIER_IMPORT_MAX_ROWS")


@pytest.mark.parametrize("number", [b"1e9", b"inf"])
def test_a_row_number_written_as_a_float_counts_too(app, org, number):
    rows = [*records(1), b'<row r="' + number + b'"><c><v>1</v></c></row>']
    assert refused(app, org, workbook(sheet(rows))).errors[0].rule == "max_rows"


def test_the_row_cap_is_a_setting_and_refuses_before_any_row_is_written(app, org):
    app.config["IMPORT_MAX_ROWS"] = 4
    assert run(app, org, workbook(sheet(records(3))), filename="r.xlsx").imported == 3
    error = refused(app, org, workbook(sheet(records(4, first=10))))
    named(error, "max_rows", "more than 4 rows")


def test_a_dimension_a_million_columns_wide(app, org):
    data = workbook(sheet(records(1), dimension=b"A1:BDWGN1"))
    error = refused(app, org, data, ValidationError)
    named(error, "max_columns", "column 1000000", "limit of 256 columns")
    assert "VERIFIER_IMPORT_MAX_COLUMNS" in error.message


def test_a_cell_a_million_columns_to_the_right(app, org):
    rows = [*records(1), b'<row r="3"><c r="BDWGN3"><v>1</v></c></row>']
    error = refused(app, org, workbook(sheet(rows)), ValidationError)
    named(error, "max_columns", "Row 3", "limit of 256 columns")


def test_a_row_of_a_million_empty_cells(app, org):
    rows = [*records(1), b'<row r="3">' + b"<c/>" * 1_000_000 + b"</row>"]
    data = workbook(sheet(rows), compression=zipfile.ZIP_STORED)
    named(refused(app, org, data, ValidationError), "max_columns", "column 257")


def test_the_column_cap_is_a_setting(app, org):
    app.config["IMPORT_MAX_COLUMNS"] = 8  # the header has 9 columns
    named(refused(app, org, workbook(), ValidationError), "max_columns", "limit of 8 columns")


def test_a_row_of_more_than_a_megabyte(app, org):
    rich = b'<row r="3"><c r="A3" t="inlineStr"><is>' + b"<r><t>a</t></r>" * 80_000
    rows = [*records(1), rich + b"</is></c></row>"]
    data = workbook(sheet(rows), compression=zipfile.ZIP_STORED)
    named(refused(app, org, data), "max_unit_bytes", "Row 3", "1.0 MB")


# --- the rest of a workbook ---------------------------------------------------------------


def test_a_stylesheet_of_eleven_megabytes(app, org):
    xf = b'<xf numFmtId="14" fontId="0" fillId="0" borderId="0" applyNumberFormat="1"/>'
    styles = (
        b"<styleSheet " + NS + b"><cellXfs>" + xf * (11 * 1024 * 1024 // len(xf)) + b"</cellXfs>"
        b"</styleSheet>"
    )
    data = workbook(parts={"xl/styles.xml": styles}, compression=zipfile.ZIP_STORED)
    error = refused(app, org, data)
    named(error, "max_part_bytes", "xl/styles.xml", "at most 10.0 MB")


def test_a_hundred_thousand_merged_ranges(app, org):
    merges = b"".join(b'<mergeCell ref="A%d:B%d"/>' % (i, i) for i in range(2, 100_003))
    tail = b"<mergeCells>" + merges + b"</mergeCells>"
    data = workbook(sheet(records(1), tail=tail), compression=zipfile.ZIP_STORED)
    named(refused(app, org, data), "max_part_bytes", "more than 100000 elements")


def test_another_sheet_is_checked_as_openpyxl_reads_it(app, org):
    ordinary = b"".join(sheet(records(2)))
    assert run(app, org, workbook(second_sheet=ordinary), filename="r.xlsx").imported == 1
    # opening the workbook, openpyxl reads every sheet up to its <dimension> (or to the end of
    # its rows when it has none): here 100,001 column widths come first
    columns = b'<col min="1" max="1" width="9"/>' * 100_001
    hostile = b"".join(sheet(records(1), head=b"<cols>" + columns + b"</cols>"))
    hostile = hostile.replace(b'<dimension ref="A1"/>', b"")
    data = workbook(second_sheet=hostile, compression=zipfile.ZIP_STORED)
    named(refused(app, org, data), "max_part_bytes", "xl/worksheets/sheet2.xml")


def test_a_dtd_is_refused(app, org):
    xml = b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaa">]>'
    data = workbook([xml, b"<worksheet " + NS + b"><sheetData/></worksheet>"])
    assert "damaged" in refused(app, org, data, UnsupportedMediaType).message


def test_the_caps_come_from_the_settings(app):
    app.config.update(IMPORT_MAX_ROWS=7, IMPORT_MAX_SHARED_STRING_CHARS=9)
    with app.app_context():
        limits = ImportLimits.from_config()
    assert (limits.rows, limits.columns, limits.shared_string_chars) == (7, 256, 9)
    assert ImportLimits() == ImportLimits(
        100_000, 256, 200 * 1024 * 1024, 100, 1_000_000, 20_000_000
    )


# --- CSV ----------------------------------------------------------------------------------


def test_a_csv_line_of_a_million_characters_is_refused(app, org):
    data = csv_bytes([row(950)]) + b"x" * 1_000_001 + b"\r\n"
    error = refused(app, org, data, ValidationError, filename="r.csv")
    named(error, "line_too_long", "longer than 1000000 characters")


def test_a_field_over_the_field_limit_rejects_its_row_and_the_rest_is_read(app, org):
    text = csv_bytes([row(951)]).decode()
    # a quote left open swallows the lines after it: 300,000 characters over 3,000 lines
    data = (text + '"' + ("y" * 99 + "\r\n") * 3000 + "\r\n").encode() + csv_bytes(
        [row(952)]
    ).split(b"\r\n", 1)[1]
    report = run(app, org, data, filename="r.csv")
    assert "A field is too long" in " ".join(p.message for p in report.problems)
    assert report.imported >= 1


def test_a_csv_line_with_too_many_fields_is_refused_naming_the_cap(app, org):
    data = csv_bytes([row(953)]) + b"," * 300 + b"\r\n"
    error = refused(app, org, data, ValidationError, filename="r.csv")
    named(error, "max_columns", "Line 3 has 301 fields", "limit of 256 columns")


def test_a_csv_with_more_lines_than_the_row_cap_is_refused_before_any_row(app, org):
    app.config["IMPORT_MAX_ROWS"] = 3
    assert run(app, org, csv_bytes([row(954), row(955)]), filename="r.csv").imported == 2
    data = csv_bytes([row(956), row(957), row(958)])
    named(refused(app, org, data, filename="r.csv"), "max_rows", "more than 3 rows")
    # lines ended by a carriage return alone are counted as rows are read
    data = csv_bytes([row(956), row(957), row(958)]).replace(b"\r\n", b"\r")
    named(refused(app, org, data, filename="r.csv"), "max_rows", "more than 3 rows")


# --- the API, the page and the command line ---------------------------------------------------


def bomb() -> bytes:
    return workbook(sheet([*records(1), b'<row r="1000000000"><c><v>1</v></c></row>']))


def test_the_api_answers_413_naming_the_cap(app, client, make, org):
    token = make.token(make.user("org_recorder", org))
    response = client.post(
        "/api/v1/records/import",
        data={"file": (io.BytesIO(bomb()), "r.xlsx")},
        headers={**bearer(token), "Accept-Language": "en"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    error = response.get_json()["errors"][0]
    assert (error["field"], error["rule"]) == ("file", "max_rows")
    assert "more than 100000 rows" in error["message"]


def test_the_page_shows_the_cap(app, client, make, org):
    login(client, make.user("org_recorder", org).email)
    client.set_cookie("lang", "en")
    response = client.post(
        "/imports",
        data={"declaration": "y", "file": (io.BytesIO(bomb()), "r.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "more than 100000 rows, the limit (VERIFIER_IMPORT_MAX_ROWS)" in response.get_data(
        as_text=True
    )


def test_the_page_in_chinese(app, client, make, org):
    login(client, make.user("org_recorder", org).email)
    response = client.post(
        "/imports",
        data={"declaration": "y", "file": (io.BytesIO(bomb()), "r.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "100000" in response.get_data(as_text=True)
    assert "行" in response.get_data(as_text=True)


def test_the_command_line_names_the_cap_and_exits_2(app, org, tmp_path):
    app.config["DEFAULT_LOCALE"] = "en"
    path = tmp_path / "r.xlsx"
    path.write_bytes(bomb())
    result = app.test_cli_runner().invoke(args=["import", "records", str(path), "--org", org.uscc])
    assert result.exit_code == 2, result.output
    assert "error: The file has more than 100000 rows" in result.output
    assert "VERIFIER_IMPORT_MAX_ROWS" in result.output
    assert "nothing was imported" in result.output

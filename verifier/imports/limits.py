"""Caps on what an import file may hold, so that a small upload cannot take the server's memory.

openpyxl's read-only mode streams a worksheet's rows, but before the first row it loads the
whole shared-strings table (a list of every text, and an XML element per entry while parsing)
and the whole stylesheet; and it builds each row, with all its cells, in memory. So a 300 KB
upload of a million tiny shared strings, a million cell styles, a row of a million empty cells
or a million merged ranges cost 0.2-1.1 GB. What stops them:

- before openpyxl opens the workbook: the zip directory (at most MAX_ZIP_MEMBERS files), the
  total unpacked size and each member's compression ratio (zip bombs), all as declared in the
  directory, which `zipfile` enforces while it inflates;
- while openpyxl reads: every member goes through `GuardedArchive`. A part read whole (styles,
  workbook, relationships, theme...) may be at most MAX_PART_BYTES; a part read as a stream
  (the shared strings, the worksheets) is fed, chunk by chunk, to an expat scanner *before*
  openpyxl sees the chunk, which counts what openpyxl would build: shared strings and their
  characters, rows and columns, the size of one row or string, and whatever else the part holds.
- before the first row is imported, the first worksheet is scanned to its end the same way, so a
  file with too many rows or columns is refused before anything is written.

Each refusal names the cap and the setting that changes it (README: Importing records).
"""

from __future__ import annotations

import functools
import math
import re
import struct
import zipfile
from dataclasses import dataclass
from typing import IO, Any, Literal
from xml.parsers import expat

from flask import current_app, has_app_context
from flask_babel import gettext as _

from verifier.errors import (
    FieldError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationError,
    VerifierError,
)

# Fixed caps (not settings): no real workbook of service records comes near them.
MAX_ZIP_MEMBERS = 1_000  # a workbook has a dozen parts; one with pictures and sheets, a hundred
MAX_PART_BYTES = 10 * 1024 * 1024  # a part that openpyxl reads whole (styles.xml, workbook.xml...)
MAX_UNIT_BYTES = 1024 * 1024  # one row of a worksheet, or one shared string, as XML
MAX_OTHER_ELEMENTS = 100_000  # elements of a streamed part outside its rows or strings
RATIO_GRACE_BYTES = 1024 * 1024  # members smaller than this may be compressed any amount
CHUNK_BYTES = 64 * 1024

_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_COLUMN = re.compile(r"\$?([A-Za-z]{1,3})\$?[0-9]")


@dataclass(frozen=True)
class ImportLimits:
    """Caps on an import file: the settings VERIFIER_IMPORT_MAX_* (defaults in config.py)."""

    rows: int = 100_000
    columns: int = 256
    unpacked_bytes: int = 200 * 1024 * 1024
    zip_ratio: int = 100
    shared_strings: int = 1_000_000
    shared_string_chars: int = 20_000_000

    @classmethod
    def from_config(cls) -> ImportLimits:
        """Return the configured caps (the defaults outside an app)."""
        if not has_app_context():
            return cls()
        config = current_app.config
        return cls(
            rows=int(config.get("IMPORT_MAX_ROWS", cls.rows)),
            columns=int(config.get("IMPORT_MAX_COLUMNS", cls.columns)),
            unpacked_bytes=int(config.get("IMPORT_MAX_UNPACKED_BYTES", cls.unpacked_bytes)),
            zip_ratio=int(config.get("IMPORT_MAX_ZIP_RATIO", cls.zip_ratio)),
            shared_strings=int(config.get("IMPORT_MAX_SHARED_STRINGS", cls.shared_strings)),
            shared_string_chars=int(
                config.get("IMPORT_MAX_SHARED_STRING_CHARS", cls.shared_string_chars)
            ),
        )


def human_size(size: int) -> str:
    """Show a byte count as B, KB or MB."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} B"


def too_big(message: str, rule: str) -> PayloadTooLarge:
    """The file is beyond a cap on its size or contents: 413 naming the cap."""
    return PayloadTooLarge(message, errors=[FieldError("file", rule, message)])


def damaged(what: str | None = None) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        _(
            "The file is %(what)s, not a table of records; upload a CSV file or an Excel "
            "workbook (.xlsx)",
            what=what or _("a damaged Excel workbook"),
        )
    )


def too_many_rows(limits: ImportLimits) -> PayloadTooLarge:
    return too_big(
        _(
            "The file has more than %(limit)d rows, the limit (VERIFIER_IMPORT_MAX_ROWS); split "
            "it into files of at most %(limit)d rows",
            limit=limits.rows,
        ),
        "max_rows",
    )


def too_many_fields(line: int, count: int, limits: ImportLimits) -> ValidationError:
    return ValidationError(
        _(
            "Line %(line)d has %(count)d fields, more than the limit of %(limit)d columns "
            "(VERIFIER_IMPORT_MAX_COLUMNS); this is not a table of service records",
            line=line,
            count=count,
            limit=limits.columns,
        ),
        field="file",
        rule="max_columns",
    )


# -- the zip directory, before openpyxl opens anything -----------------------------------------


def check_zip_directory(stream: IO[bytes]) -> None:
    """Refuse an archive whose directory lists more than MAX_ZIP_MEMBERS files, unparsed.

    `zipfile` reads the whole central directory into a ZipInfo per entry: a 20 MB upload of
    empty entries would hold 200,000 of them (over 100 MB) before any other check.
    """
    stream.seek(0, 2)
    size = stream.tell()
    tail_size = min(size, _EOCD_SIZE + 65_535)  # the record ends with a comment of <= 64 KB
    stream.seek(size - tail_size)
    tail = stream.read(tail_size)
    stream.seek(0)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < _EOCD_SIZE:
        return  # not found: zipfile will call it damaged
    entries, directory_bytes = struct.unpack("<xxxxxxxxxxHL", tail[at : at + 16])
    # a zip64 archive stores 0xFFFF / 0xFFFFFFFF here: far beyond any workbook either way
    if entries > MAX_ZIP_MEMBERS or directory_bytes > MAX_ZIP_MEMBERS * 1024:
        raise too_big(
            _(
                "The workbook holds more than %(limit)d files inside it; a workbook of records "
                "holds a few dozen",
                limit=MAX_ZIP_MEMBERS,
            ),
            "max_zip_members",
        )


def check_zip_members(archive: zipfile.ZipFile, limits: ImportLimits) -> None:
    """Refuse by the sizes the zip directory declares: the total, and each member's ratio."""
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise too_big(
            _(
                "The workbook holds more than %(limit)d files inside it; a workbook of records "
                "holds a few dozen",
                limit=MAX_ZIP_MEMBERS,
            ),
            "max_zip_members",
        )
    unpacked = sum(member.file_size for member in members)
    if unpacked > limits.unpacked_bytes:
        raise too_big(
            _(
                "The workbook unpacks to %(size)s, more than the limit of %(limit)s "
                "(VERIFIER_IMPORT_MAX_UNPACKED_BYTES); split it into smaller files",
                size=human_size(unpacked),
                limit=human_size(limits.unpacked_bytes),
            ),
            "max_unpacked_bytes",
        )
    for member in members:
        if member.file_size <= RATIO_GRACE_BYTES:
            continue
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > limits.zip_ratio:
            raise too_big(
                _(
                    "The workbook's part %(part)s unpacks to %(ratio)d times its compressed "
                    "size, more than the limit of %(limit)d (VERIFIER_IMPORT_MAX_ZIP_RATIO); "
                    "this is a zip bomb, not a table of records",
                    part=member.filename[:100],
                    ratio=int(ratio),
                    limit=limits.zip_ratio,
                ),
                "max_zip_ratio",
            )


# -- the parts, while openpyxl reads them ----------------------------------------------------


class GuardedArchive(zipfile.ZipFile):
    """A ZipFile whose members are checked as openpyxl reads them (see the module docstring)."""

    def __init__(self, file: IO[bytes], limits: ImportLimits) -> None:
        super().__init__(file)
        self.limits = limits
        self.scanned: set[str] = set()  # parts scanned to their end already: not again

    def open(
        self, name: Any, mode: Literal["r", "w"] = "r", pwd: bytes | None = None, **kwargs: Any
    ) -> Any:
        member = super().open(name, mode, pwd, **kwargs)
        if mode != "r":
            return member  # pragma: no cover - the import never writes
        info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        scanner = None if info.filename in self.scanned else PartScanner(info.filename, self)
        return GuardedMember(member, info, scanner)

    def scan_shared_strings(self) -> None:
        """Scan the shared strings to their end before openpyxl loads them all into a list.

        The part is found as openpyxl finds it: by its content type in [Content_Types].xml.
        """
        from openpyxl.packaging.manifest import Manifest
        from openpyxl.xml.constants import ARC_CONTENT_TYPES, SHARED_STRINGS
        from openpyxl.xml.functions import fromstring

        if ARC_CONTENT_TYPES not in self.NameToInfo:
            return  # openpyxl will call the workbook damaged
        try:
            tree = fromstring(self.read(ARC_CONTENT_TYPES))
            manifest = Manifest.from_tree(tree)  # type: ignore[arg-type]  # stubs: any Element works
            part = (
                manifest.find(SHARED_STRINGS)  # type: ignore[no-untyped-call]  # stubs: unannotated
                if manifest is not None
                else None
            )
        except VerifierError:
            raise
        except Exception:
            return  # openpyxl will call the workbook damaged, reading the same part
        if part is not None and part.PartName[1:] in self.NameToInfo:
            self.scan_to_end(part.PartName[1:])

    def scan_to_end(self, name: str) -> PartScanner:
        """Scan a streamed part to its end; refuse it beyond a cap. openpyxl reads it unscanned."""
        with self.open(name) as member:
            while member.read(CHUNK_BYTES):
                pass
            scanner = member.scanner
        self.scanned.add(name)
        return scanner


class GuardedMember:
    """A member of the archive: read whole only when small, or in chunks that are scanned first."""

    def __init__(self, member: IO[bytes], info: zipfile.ZipInfo, scanner: PartScanner | None):
        self.member = member
        self.info = info
        self.scanner = scanner

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            if self.info.file_size > MAX_PART_BYTES:
                raise too_big(
                    _(
                        "The workbook's part %(part)s unpacks to %(size)s; such a part may be at "
                        "most %(limit)s. Save only the sheet of records, without pictures or "
                        "other sheets, and try again",
                        part=self.info.filename[:100],
                        size=human_size(self.info.file_size),
                        limit=human_size(MAX_PART_BYTES),
                    ),
                    "max_part_bytes",
                )
            return self.member.read()
        data = self.member.read(size)
        if self.scanner is not None:
            self.scanner.feed(data)
        return data

    def close(self) -> None:
        self.member.close()

    def __enter__(self) -> GuardedMember:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class PartScanner:
    """Follow a streamed part with expat, counting what openpyxl builds from it; refuse early.

    A part is made of units (a worksheet's `row`s, the shared strings' `si`s) that openpyxl
    builds one at a time and then clears; everything else stays in memory while it parses.
    """

    def __init__(self, name: str, archive: GuardedArchive) -> None:
        self.name = name
        self.limits = archive.limits
        # without namespace processing (faster): elements are matched by their local name
        self.parser = expat.ParserCreate()
        self.parser.buffer_text = True  # one call per text, not per piece of it
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.StartDoctypeDeclHandler = self._doctype
        self.finished = False
        self.fed = 0  # bytes scanned so far
        self.kind = ""  # "worksheet", "sst" or another root element's name
        self.unit = ""
        self.depth = 0
        self.unit_depth = 0  # depth of the unit element being read, 0 outside one
        self.unit_start = 0
        self.unit_bytes = 0  # bytes inside units so far
        self.other_elements = 0
        # worksheet
        self.rows = 0  # the highest row number, as openpyxl numbers them
        self.row_elements = 0
        self.row_cells = 0
        self.column = 0
        # shared strings
        self.strings = 0
        self.chars = 0

    def feed(self, data: bytes) -> None:
        """Scan the next chunk; an empty one ends the part."""
        if self.finished:
            return
        self.finished = not data
        self.fed += len(data)
        try:
            self.parser.Parse(data, self.finished)
        except expat.ExpatError:
            raise damaged() from None
        # sizes are checked once a chunk (and a unit's exactly at its end): the chunk is
        # scanned before openpyxl parses it, so openpyxl never holds more than the caps
        if self.unit_depth:
            if self.fed - self.unit_start > MAX_UNIT_BYTES:
                raise self._unit_too_large()
            outside = self.unit_start - self.unit_bytes
        else:
            outside = self.fed - self.unit_bytes
        if outside > MAX_PART_BYTES:
            raise self._too_much_else()

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        if self.unit_depth:
            # inside a row (or a string): count the row's cells
            if (
                self.depth == self.unit_depth + 1
                and self.kind == "worksheet"
                and name.rpartition(":")[2] == "c"
            ):
                self._cell(attributes.get("r", ""))
            return
        tag = name.rpartition(":")[2]
        if self.depth == 1:
            self.kind = tag
            self.unit = {"worksheet": "row", "sst": "si"}.get(tag, "")
            if tag == "sst":
                self.parser.CharacterDataHandler = self._text
        if tag == self.unit:
            # openpyxl takes a row (or si) wherever it is in the part: so does the count
            self.unit_depth = self.depth
            self.unit_start = self.parser.CurrentByteIndex
            if self.kind == "worksheet":
                self._row(attributes.get("r", ""))
            else:
                self.strings += 1
                if self.strings > self.limits.shared_strings:
                    raise self._too_many_strings()
            return
        if tag == "dimension" and self.kind == "worksheet":
            self._dimension(attributes.get("ref", ""))
        self.other_elements += 1
        if self.other_elements > MAX_OTHER_ELEMENTS:
            raise self._too_much_else()

    def _end(self, name: str) -> None:
        if self.unit_depth == self.depth:
            size = self.parser.CurrentByteIndex - self.unit_start
            if size > MAX_UNIT_BYTES:
                raise self._unit_too_large()
            self.unit_bytes += size
            self.unit_depth = 0
        self.depth -= 1

    def _text(self, text: str) -> None:
        if self.unit_depth:
            self.chars += len(text)
            if self.chars > self.limits.shared_string_chars:
                raise too_big(
                    _(
                        "The workbook's texts (shared strings) hold more than %(limit)d "
                        "characters in all, the limit (VERIFIER_IMPORT_MAX_SHARED_STRING_CHARS); "
                        "split it into smaller files",
                        limit=self.limits.shared_string_chars,
                    ),
                    "max_shared_string_chars",
                )

    def _doctype(self, *args: Any) -> None:
        # workbooks never declare a DTD; one could only be there to expand entities
        raise damaged()

    def _row(self, number: str) -> None:
        # openpyxl numbers a row by its r attribute (an integer, or a float such as "1e9"), or
        # one past the row before, and yields an empty row for every number it skips
        self.row_elements += 1
        try:
            given = float(number) if number else self.rows + 1
        except ValueError:
            given = self.rows + 1  # openpyxl refuses it as damaged
        if not math.isfinite(given):
            given = self.limits.rows + 1
        self.rows = max(self.rows, int(given))
        if max(self.rows, self.row_elements) > self.limits.rows:
            raise too_many_rows(self.limits)
        self.row_cells = 0
        self.column = 0

    def _dimension(self, reference: str) -> None:
        # a dimension larger than the data is tolerated (reset_dimensions), but one beyond
        # column XFD, which Excel cannot have, would fail in openpyxl: name the cap instead
        last = reference.rpartition(":")[2].replace("$", "")
        letters = last.rstrip("0123456789")
        if len(letters) > 3 and letters.isalpha():
            raise ValidationError(
                _(
                    "The sheet's dimension (%(reference)s) reaches column %(column)d, beyond the "
                    "limit of %(limit)d columns (VERIFIER_IMPORT_MAX_COLUMNS)",
                    reference=reference[:40],
                    column=_column_number(letters[:12]),
                    limit=self.limits.columns,
                ),
                field="file",
                rule="max_columns",
            )

    def _cell(self, reference: str) -> None:
        self.row_cells += 1
        found = _COLUMN.match(reference)
        if found:
            self.column = _column_number(found.group(1))
        elif reference:
            self.column = self.limits.columns + 1  # not letters and digits: beyond any cap
        else:
            self.column += 1
        if self.column > self.limits.columns or self.row_cells > self.limits.columns:
            raise ValidationError(
                _(
                    "Row %(row)d of the sheet has a cell in column %(column)d, beyond the limit "
                    "of %(limit)d columns (VERIFIER_IMPORT_MAX_COLUMNS); delete what is right of "
                    "the table and save again",
                    row=self.rows,
                    column=max(self.column, self.row_cells),
                    limit=self.limits.columns,
                ),
                field="file",
                rule="max_columns",
            )

    def _too_many_strings(self) -> PayloadTooLarge:
        return too_big(
            _(
                "The workbook holds more than %(limit)d different texts (shared strings), the "
                "limit (VERIFIER_IMPORT_MAX_SHARED_STRINGS); split it into smaller files",
                limit=self.limits.shared_strings,
            ),
            "max_shared_strings",
        )

    def _unit_too_large(self) -> PayloadTooLarge:
        if self.kind == "worksheet":
            message = _(
                "Row %(row)d of the sheet is larger than %(limit)s; this is not a row of "
                "service records",
                row=self.rows,
                limit=human_size(MAX_UNIT_BYTES),
            )
        else:
            message = _(
                "Text number %(n)d of the workbook (a shared string) is larger than %(limit)s",
                n=self.strings,
                limit=human_size(MAX_UNIT_BYTES),
            )
        return too_big(message, "max_unit_bytes")

    def _too_much_else(self) -> PayloadTooLarge:
        return too_big(
            _(
                "The workbook's part %(part)s holds more than %(elements)d elements or %(size)s "
                "besides its rows and texts; this is not a table of service records",
                part=self.name[:100],
                elements=MAX_OTHER_ELEMENTS,
                size=human_size(MAX_PART_BYTES),
            ),
            "max_part_bytes",
        )


@functools.lru_cache(maxsize=1024)
def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number

"""Read an uploaded table (CSV in UTF-8, UTF-8 with BOM or GB18030, or XLSX) row by row.

Reading is in two passes over a seekable binary file, so memory does not grow with its size:
`inspect_file` checks the size limit, hashes the bytes, recognises the format and, for CSV, finds
the encoding by running incremental decoders over every byte; `read_table` then streams the rows.
Both refuse a file beyond the caps of `verifier.imports.limits` (rows, columns; for a workbook
its unpacked size, compression, shared strings and parts) before any row is imported.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from verifier.errors import PayloadTooLarge, UnsupportedMediaType, ValidationError, VerifierError
from verifier.imports.limits import (
    GuardedArchive,
    ImportLimits,
    check_zip_directory,
    check_zip_members,
    human_size,
    too_many_fields,
    too_many_rows,
)

__all__ = ["ImportLimits", "human_size"]  # used by the pages, the API and the command line

CHUNK_BYTES = 64 * 1024
# A CSV line longer than this is not a line of service records; refusing it bounds memory.
# (A field within a line may be 131,072 characters, the csv module's field_size_limit.)
MAX_LINE_CHARS = 1_000_000

UTF8 = "utf-8"
UTF8_BOM = "utf-8-sig"
GB18030 = "gb18030"

# Signatures of files that people upload by mistake, with what to tell them.
_SIGNATURES: tuple[tuple[bytes, Any], ...] = (
    (b"\x89PNG\r\n\x1a\n", _l("a PNG image")),
    (b"\xff\xd8\xff", _l("a JPEG image")),
    (b"GIF87a", _l("a GIF image")),
    (b"GIF89a", _l("a GIF image")),
    (b"%PDF-", _l("a PDF document")),
    (b"\x1f\x8b", _l("a gzip archive")),
    (b"7z\xbc\xaf\x27\x1c", _l("a 7-Zip archive")),
    (b"Rar!\x1a\x07", _l("a RAR archive")),
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass
class FileInfo:
    """What the first pass learned about a file."""

    filename: str
    size: int
    sha256: str
    kind: str  # "csv" or "xlsx"
    encoding: str  # utf-8, utf-8-sig, gb18030 for CSV; "" for XLSX


def spooled_copy(stream: IO[bytes], max_bytes: int) -> IO[bytes]:
    """Copy a non-seekable stream to a temporary file (on disk above 1 MB), refusing oversize."""
    copy = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 (caller closes it)
    copied = 0
    while chunk := stream.read(CHUNK_BYTES):
        copied += len(chunk)
        if copied > max_bytes:
            copy.close()
            raise too_large(max_bytes)
        copy.write(chunk)
    copy.seek(0)
    return copy


def too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        _(
            "The file is larger than the import limit of %(limit)s; split it into smaller files "
            "(the limit is set by VERIFIER_IMPORT_MAX_BYTES)",
            limit=human_size(max_bytes),
        )
    )


def _file_error(message: str, rule: str) -> ValidationError:
    return ValidationError(message, field="file", rule=rule)


def _not_a_table(what: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        _(
            "The file is %(what)s, not a table of records; upload a CSV file or an Excel "
            "workbook (.xlsx)",
            what=what,
        )
    )


def _sniff_kind(head: bytes) -> str:
    if head.startswith(_ZIP):
        return "xlsx"
    if head.startswith(_OLE2):
        raise UnsupportedMediaType(
            _(
                "The file is an old Excel 97-2003 workbook (.xls) or a password-protected "
                "workbook; save it as an Excel workbook (.xlsx) without a password, or as CSV UTF-8"
            )
        )
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise _not_a_table(str(what))
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _file_error(
            _(
                'The file is UTF-16 text (Excel\'s "Unicode Text"); save it as "CSV UTF-8" or '
                "as an Excel workbook (.xlsx)"
            ),
            "encoding",
        )
    return "csv"


class _EncodingProbe:
    """Feed bytes to one strict incremental decoder; remember the line where it first failed."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.decoder = codecs.getincrementaldecoder(encoding)("strict")
        self.ok = True
        self.error_line = 0
        self.error_byte = b""

    def feed(self, chunk: bytes, lines_before: int, final: bool = False) -> None:
        if not self.ok:
            return
        try:
            self.decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            self.ok = False
            # the decoder may hold back a byte or two of the previous chunk; close enough to report
            position = max(exc.start, 0)
            self.error_line = lines_before + exc.object[:position].count(b"\n") + 1
            self.error_byte = exc.object[position : position + 1]


def inspect_file(
    stream: IO[bytes], filename: str, max_bytes: int, limits: ImportLimits | None = None
) -> FileInfo:
    """Check size, format, encoding and (CSV) line count of a seekable file in one pass."""
    limits = limits or ImportLimits.from_config()
    stream.seek(0)
    head = stream.read(CHUNK_BYTES)
    if not head:
        raise _file_error(_("The file is empty"), "empty")
    kind = _sniff_kind(head)
    digest = hashlib.sha256()
    utf8, gb = _EncodingProbe(UTF8), _EncodingProbe(GB18030)
    size = 0
    lines = 0
    last = b""
    chunk = head
    while chunk:
        size += len(chunk)
        if size > max_bytes:
            raise too_large(max_bytes)
        digest.update(chunk)
        if kind == "csv":
            if b"\x00" in chunk:
                raise _not_a_table(_("binary data (it contains NUL bytes)"))
            utf8.feed(chunk, lines)
            gb.feed(chunk, lines)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
        chunk = stream.read(CHUNK_BYTES)
    stream.seek(0)
    if kind == "xlsx":
        return FileInfo(filename, size, digest.hexdigest(), kind, "")
    # every row is at least one line: more lines than the cap, more rows than the cap
    if lines + (last != b"\n") > limits.rows:
        raise too_many_rows(limits)
    utf8.feed(b"", lines, final=True)
    gb.feed(b"", lines, final=True)
    bom = head.startswith(codecs.BOM_UTF8)
    if utf8.ok:
        encoding = UTF8_BOM if bom else UTF8
    elif gb.ok and not bom:
        encoding = GB18030
    else:
        raise _file_error(
            _(
                "The file is neither UTF-8 nor GB18030/GBK text: line %(line)d holds the byte "
                '%(byte)s, which neither encoding allows. Save it from Excel as "CSV UTF-8" '
                "or as an Excel workbook (.xlsx)",
                line=utf8.error_line,
                byte=f"0x{utf8.error_byte.hex().upper()}" if utf8.error_byte else "?",
            ),
            "encoding",
        )
    return FileInfo(filename, size, digest.hexdigest(), kind, encoding)


@dataclass
class TableRow:
    """One row of the table: its line (CSV) or row number (XLSX), and its cell values."""

    line: int
    cells: list[Any]
    error: str = ""  # set when the row could not be read at all (malformed CSV)


class TableReader:
    """Iterate the rows of a file that `inspect_file` accepted; report progress as you go."""

    total: int | None = None  # for a progress bar: bytes (CSV) or rows (XLSX), if known
    unit: str = "B"

    def rows(self) -> Iterator[TableRow]:  # pragma: no cover - interface
        raise NotImplementedError

    def position(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        """Release what the reader holds open."""


class CsvReader(TableReader):
    """Stream CSV rows through an incremental decoder; a malformed row becomes a row error."""

    def __init__(self, stream: IO[bytes], info: FileInfo, limits: ImportLimits) -> None:
        self.stream = stream
        self.limits = limits
        self.total = info.size
        self.unit = "B"
        stream.seek(0)
        self.text = io.TextIOWrapper(stream, encoding=info.encoding, newline="")

    def _lines(self) -> Iterator[str]:
        number = 0
        while True:
            line = self.text.readline(MAX_LINE_CHARS + 1)
            if not line:
                return
            number += 1
            if len(line) > MAX_LINE_CHARS:
                raise _file_error(
                    _(
                        "Line %(line)d is longer than %(n)d characters; this is not a table of "
                        "service records",
                        line=number,
                        n=MAX_LINE_CHARS,
                    ),
                    "line_too_long",
                )
            yield line

    def rows(self) -> Iterator[TableRow]:
        reader = csv.reader(self._lines(), strict=True)
        previous_end = 0
        count = 0
        while True:
            start = previous_end + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                cells = None
                error = str(exc)
            count += 1
            if count > self.limits.rows:  # lines ended by CR alone escape inspect_file's count
                raise too_many_rows(self.limits)
            if cells is None:
                previous_end = reader.line_num
                yield TableRow(start, [], _csv_error_message(error))
                continue
            previous_end = reader.line_num
            if len(cells) > self.limits.columns:
                raise too_many_fields(start, len(cells), self.limits)
            yield TableRow(start, list(cells))

    def position(self) -> int:
        try:
            return self.stream.tell()
        except (OSError, ValueError):  # pragma: no cover - unseekable streams were spooled
            return 0

    def close(self) -> None:
        # leave the caller's stream open: it owns it
        self.text.detach()


def _csv_error_message(detail: str) -> str:
    if "unexpected end of data" in detail:
        return _(
            'The file ends inside a quoted field: a closing quote (") is missing, '
            "or the file was cut short"
        )
    if "field larger than field limit" in detail:
        return _('A field is too long; a quote (") is probably not closed')
    if "expected after" in detail:
        return _(
            'A quoted field has text after its closing quote ("); '
            'double quotes inside a field must be doubled ("")'
        )
    return _("This row is not valid CSV (%(detail)s)", detail=detail)


class XlsxReader(TableReader):
    """Stream the first worksheet of a workbook with openpyxl in read-only mode, within the caps.

    The zip directory is checked before openpyxl opens anything, every part as openpyxl reads
    it, and the first worksheet is scanned to its end (rows, columns) before its first row is
    read: see `verifier.imports.limits`.
    """

    def __init__(self, stream: IO[bytes], info: FileInfo, limits: ImportLimits) -> None:
        stream.seek(0)
        check_zip_directory(stream)
        try:
            archive = GuardedArchive(stream, limits)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise _not_a_table(_("a damaged zip archive")) from exc
        try:
            _check_workbook_parts(archive)
            check_zip_members(archive, limits)
            archive.scan_shared_strings()
            self.workbook = _open_workbook(stream, archive)
            if not self.workbook.worksheets:
                raise _file_error(_("The workbook has no worksheet"), "empty")
            self.sheet = self.workbook.worksheets[0]
            # rows and columns are counted before any row is imported
            scanned = archive.scan_to_end(self.sheet._worksheet_path)
        except BaseException:
            archive.close()
            raise
        self.unit = "row"
        self.total = scanned.rows if scanned.rows > 1 else None
        # some tools write a wrong <dimension>; without this, columns past it would be lost
        self.sheet.reset_dimensions()
        self._row = 0

    def rows(self) -> Iterator[TableRow]:
        iterator = self.sheet.iter_rows(values_only=True)
        while True:
            # the sheet is parsed lazily; silence openpyxl's warnings only while it parses,
            # never across the yield (catch_warnings is global state)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    values = next(iterator)
                except StopIteration:
                    return
                except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
                    raise _not_a_table(_("a damaged Excel workbook")) from exc
            self._row += 1
            yield TableRow(self._row, list(values))

    def position(self) -> int:
        return self._row

    def close(self) -> None:
        self.workbook.close()


def _check_workbook_parts(archive: zipfile.ZipFile) -> None:
    names = set(archive.namelist())
    if "xl/workbook.xml" not in names:
        if "mimetype" in names and any(n.startswith("content.xml") for n in names):
            raise _not_a_table(_("an OpenDocument file (save it as .xlsx or CSV)"))
        if any(n.startswith("word/") for n in names):
            raise _not_a_table(_("a Word document"))
        raise _not_a_table(_("a zip archive that is not an Excel workbook"))


def _open_workbook(stream: IO[bytes], archive: GuardedArchive) -> Any:
    """Load a workbook in read-only mode from the guarded archive (what load_workbook does)."""
    from openpyxl.reader.excel import ExcelReader

    try:
        with warnings.catch_warnings():
            # workbooks from other tools often lack styles; openpyxl warns and copes
            warnings.simplefilter("ignore")
            # external links hold cached copies of other workbooks: never read them
            reader = ExcelReader(stream, read_only=True, data_only=True, keep_links=False)
            reader.archive.close()  # its own view of the zip; the stream stays open
            reader.archive = archive
            reader.valid_files = archive.namelist()
            reader.read()
    except VerifierError:
        raise  # a cap, named
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise _not_a_table(_("a damaged or unsupported Excel workbook")) from exc
    return reader.wb


def read_table(
    stream: IO[bytes], info: FileInfo, max_bytes: int, limits: ImportLimits | None = None
) -> TableReader:
    """Open the reader for a file that `inspect_file` accepted; refuse one beyond the caps.

    (`max_bytes`, the upload limit, was checked by `inspect_file`; a workbook's unpacked size
    has its own cap in `limits`.)
    """
    limits = limits or ImportLimits.from_config()
    if info.kind == "xlsx":
        return XlsxReader(stream, info, limits)
    return CsvReader(stream, info, limits)


def seekable(stream: IO[bytes], max_bytes: int) -> tuple[IO[bytes], Callable[[], None]]:
    """Return a seekable version of a stream and a function that frees what was made for it."""
    try:
        if stream.seekable():
            return stream, lambda: None
    except (AttributeError, ValueError):
        pass
    copy = spooled_copy(stream, max_bytes)
    return copy, copy.close

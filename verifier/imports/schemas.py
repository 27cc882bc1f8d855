"""The import file's columns, and the conversion of one row into a volunteer and a record."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from flask_babel import gettext as _

from verifier.errors import FieldError, ValidationError
from verifier.records.services import RecordInput
from verifier.timeutil import local_zone, parse_local_datetime
from verifier.volunteers.services import VolunteerInput

REQUIRED = (
    "name",
    "id_type",
    "id_number",
    "activity",
    "place",
    "started_at",
    "ended_at",
    "minutes",
)
OPTIONAL = ("content", "leader", "evaluation", "gender", "phone")

# Header spellings, compared after `header_key` (NFKC, no spaces, lower case, no * marks).
# NFKC turns the full-width （分钟） into (分钟), so both variants meet here.
HEADER_ALIASES: dict[str, str] = {
    "name": "name",
    "姓名": "name",
    "志愿者姓名": "name",
    "id_type": "id_type",
    "证件类型": "id_type",
    "id_number": "id_number",
    "证件号码": "id_number",
    "证件号": "id_number",
    "activity": "activity",
    "活动名称": "activity",
    "place": "place",
    "服务地点": "place",
    "活动地点": "place",
    "started_at": "started_at",
    "开始时间": "started_at",
    "服务开始时间": "started_at",
    "ended_at": "ended_at",
    "结束时间": "ended_at",
    "服务结束时间": "ended_at",
    "minutes": "minutes",
    "服务时长(分钟)": "minutes",
    "时长(分钟)": "minutes",
    "content": "content",
    "服务内容": "content",
    "leader": "leader",
    "活动负责人": "leader",
    "evaluation": "evaluation",
    "服务评价": "evaluation",
    "gender": "gender",
    "性别": "gender",
    "phone": "phone",
    "联系电话": "phone",
    "手机号码": "phone",
}
# Columns that carry no data of a record (a running number); accepted and ignored.
IGNORED_HEADERS = frozenset({"序号", "no", "no.", "#"})
CHINESE_HEADERS = {
    "name": "姓名",
    "id_type": "证件类型",
    "id_number": "证件号码",
    "activity": "活动名称",
    "place": "服务地点",
    "started_at": "开始时间",
    "ended_at": "结束时间",
    "minutes": "服务时长（分钟）",
    "content": "服务内容",
    "leader": "活动负责人",
    "evaluation": "服务评价",
    "gender": "性别",
    "phone": "联系电话",
}
# The header row may sit under a title row or two; look this far for it.
HEADER_SEARCH_ROWS = 10
MAX_MINUTES_DIGITS = 7

_DATETIME = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\s*[T\s]\s*(\d{1,2})\s*[:：时]\s*(\d{1,2})\s*(?:[:：分]\s*(\d{1,2})\s*秒?)?\s*分?)?"
)
_EXCEL_NUMBER = re.compile(r"\d(\.\d+)?E\+\d+", re.IGNORECASE)


def header_key(text: Any) -> str:
    """Normalise a header cell for matching: NFKC, no whitespace, lower case, no * marks."""
    value = unicodedata.normalize("NFKC", "" if text is None else str(text))
    value = re.sub(r"\s+", "", value.replace("\ufeff", "")).lower()
    return value.strip("*")


def header_label(text: Any) -> str:
    return ("" if text is None else str(text)).replace("\ufeff", "").strip()


@dataclass
class Columns:
    """Where each field sits in the rows, and the header as the file spells it."""

    index: dict[str, int]
    labels: dict[str, str]
    width: int
    header_line: int

    def label(self, field_name: str) -> str:
        return self.labels.get(field_name, field_name)


def looks_like_header(cells: list[Any]) -> bool:
    """Tell whether a row has at least three known column names."""
    return sum(1 for cell in cells if header_key(cell) in HEADER_ALIASES) >= 3


def map_columns(cells: list[Any], line: int) -> Columns:
    """Match a header row to the fields; refuse unknown, repeated or missing columns."""
    index: dict[str, int] = {}
    labels: dict[str, str] = {}
    problems: list[FieldError] = []
    for position, cell in enumerate(cells):
        key = header_key(cell)
        if not key or key in IGNORED_HEADERS:
            continue
        name = HEADER_ALIASES.get(key)
        label = header_label(cell)
        if name is None:
            problems.append(
                FieldError(
                    label,
                    "unknown_column",
                    _("unknown column %(column)s", column=repr(label)),
                )
            )
        elif name in index:
            problems.append(
                FieldError(
                    label,
                    "duplicate_column",
                    _(
                        "column %(column)s repeats %(first)s",
                        column=repr(label),
                        first=repr(labels[name]),
                    ),
                )
            )
        else:
            index[name] = position
            labels[name] = label
    for name in REQUIRED:
        if name not in index:
            problems.append(
                FieldError(
                    name,
                    "missing_column",
                    _(
                        "column %(name)s (%(chinese)s) is missing",
                        name=name,
                        chinese=CHINESE_HEADERS[name],
                    ),
                )
            )
    if problems:
        raise ValidationError(
            _(
                "The header row (line %(line)d) does not match the import columns: %(problems)s. "
                "Use %(english)s or %(chinese)s",
                line=line,
                problems="; ".join(p.message for p in problems),
                english=",".join((*REQUIRED, "content")),
                chinese=",".join(CHINESE_HEADERS[n] for n in (*REQUIRED, "content")),
            ),
            errors=problems,
        )
    return Columns(index, labels, len(cells), line)


@dataclass
class ParsedRow:
    volunteer: VolunteerInput
    record: RecordInput
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (field, rule, message)


def is_blank(cells: list[Any]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def cell_text(value: Any) -> str:
    """Turn a cell (a CSV string or an XLSX value) into text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value).strip()


def _id_number(value: Any) -> str:
    if isinstance(value, float):
        if value >= 1e15 or not value.is_integer():
            raise ValueError(
                _(
                    "the ID number is stored as a number, so Excel may have changed its last "
                    "digits; format the column as text and type the number again"
                )
            )
        return str(int(value))
    text = cell_text(value)
    # spreadsheet tricks to keep a long number as text: '110..., ="110...", a leading tab
    text = text.lstrip("'\t")
    if text.startswith('="') and text.endswith('"'):
        text = text[2:-1]
    if _EXCEL_NUMBER.fullmatch(text):
        raise ValueError(
            _(
                "the ID number %(value)s was shortened by Excel into a number; format the column "
                "as text and type the number again",
                value=text,
            )
        )
    return text


def parse_datetime(value: Any) -> datetime:
    """Read a local date and time: a spreadsheet datetime, 2026-03-05 09:00 or 2026/3/5 9:00."""
    zone = local_zone()
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone) if value.tzinfo is None else value
    if isinstance(value, date | time):
        raise ValueError(_("a date and a time are both needed, such as 2026-03-05 09:00"))
    text = cell_text(value)
    if not text:
        raise ValueError(_("a date and time is required"))
    match = _DATETIME.fullmatch(text)
    if match:
        year, month, day, hour, minute, second = match.groups()
        if hour is None:
            raise ValueError(_("a time is needed as well as a date, such as 2026-03-05 09:00"))
        try:
            return datetime(
                int(year),
                int(month),
                int(day),
                int(hour),
                int(minute),
                int(second or 0),
                tzinfo=zone,
            )
        except ValueError:
            raise ValueError(_("%(value)s is not a real date and time", value=text)) from None
    try:
        return parse_local_datetime(text)
    except ValueError:
        raise ValueError(
            _("%(value)s is not a date and time; write it as 2026-03-05 09:00", value=text)
        ) from None


def parse_minutes(value: Any) -> int:
    """Read whole minutes: an integer, also 180.0 from a spreadsheet; any sign."""
    if isinstance(value, bool):
        raise ValueError(_("minutes must be a whole number"))
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(_("minutes must be a whole number, not %(value)s", value=value))
        return int(value)
    text = cell_text(value).replace(",", "")
    if not text:
        raise ValueError(_("the number of minutes is required"))
    match = re.fullmatch(r"([+-]?)(\d+)(?:\.0*)?", text)
    if not match:
        raise ValueError(_("minutes must be a whole number, not %(value)s", value=repr(text)))
    if len(match.group(2).lstrip("0")) > MAX_MINUTES_DIGITS:
        raise ValueError(_("%(value)s minutes is far too many", value=text))
    return int(match.group(1) + match.group(2))


def parse_row(cells: list[Any], columns: Columns) -> ParsedRow:
    """Convert one row; problems that stop it are listed per field."""

    def get(name: str) -> Any:
        position = columns.index.get(name)
        if position is None or position >= len(cells):
            return None
        return cells[position]

    problems: list[tuple[str, str, str]] = []

    def convert(name: str, rule: str, fn: Any, default: Any) -> Any:
        try:
            return fn(get(name))
        except ValueError as exc:
            problems.append((name, rule, str(exc)))
            return default

    volunteer = VolunteerInput(
        name=cell_text(get("name")),
        id_type=cell_text(get("id_type")),
        id_number=convert("id_number", "id_format", _id_number, ""),
        gender=cell_text(get("gender")) or None,
        phone=cell_text(get("phone")),
    )
    placeholder = datetime(2000, 1, 1, tzinfo=local_zone())
    record = RecordInput(
        activity=cell_text(get("activity")),
        place=cell_text(get("place")),
        content=cell_text(get("content")),
        leader=cell_text(get("leader")),
        evaluation=cell_text(get("evaluation")),
        started_at=convert("started_at", "datetime", parse_datetime, placeholder),
        ended_at=convert("ended_at", "datetime", parse_datetime, placeholder),
        minutes=convert("minutes", "integer", parse_minutes, 0),
    )
    return ParsedRow(volunteer, record, problems)


TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "n", ""})


def parse_flag(value: str | None, name: str) -> bool:
    """Read a form flag: true/false/1/0 (also yes/no/on/off); absent is false."""
    text = (value or "").strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValidationError(
        _("%(field)s must be true or false (or 1 or 0)", field=name), field=name, rule="boolean"
    )

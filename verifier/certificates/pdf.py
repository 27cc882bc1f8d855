"""Render a volunteer service certificate (志愿服务记录证明) as an A4 PDF, in Chinese or English.

Two forms: the holder's copy (持证人联), which the volunteer hands to a school or employer, with
the full name and the ID number masked in the middle; and the public form, with the name and ID
number masked as on the public verification page. Both carry the record lines, the issuer, the
person in charge and the handler, an empty box for the seal, two signature lines and the QR code.

Chinese text is set in WenQuanYi Micro Hei 0.2.0-beta (Apache License 2.0, per the font's own
name table; the licence is shipped as fonts/LICENSE-wqy-microhei.txt), which the PyPI package
``paperang-p2-fonts-cjk`` installs; fpdf2 embeds only the glyphs a certificate uses. It is a
TrueType font: fpdf2's CFF (OpenType) embedding, as with Noto Sans SC, produces a PDF whose text
pdfminer cannot extract, and a certificate's text must be copyable and searchable. The font
lacks the CJK extension blocks (䶮 U+4DAE, 𠮷 U+20BB7): `undrawable()` names what it cannot
draw, and issuance refuses such text rather than print a blank box.

The labels are kept here, per language, rather than in the Babel catalogue: a certificate's
language is the one asked for (`?lang=en`), not the reader's interface language, and the
Chinese text is the document's wording, not a translation of an English message.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from fontTools.ttLib import TTCollection  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.enums import Align, TextMode, WrapMode, XPos, YPos
from fpdf.fonts import FontFace
from PIL import Image

__all__ = [
    "LANGUAGES",
    "MODULE_MM",
    "ActivityRow",
    "CertificatePrint",
    "RecordLine",
    "font_path",
    "qr_printed_size",
    "render_certificate_pdf",
    "undrawable",
]

FONT_PACKAGE = "paperang_p2_fonts_cjk"
FONT_FILE = "fonts/wqy-microhei.ttc"
FONT_NUMBER = 0  # WenQuanYi Micro Hei (1 is its monospaced face)
_FAMILY = "wqy"

PAGE_MARGIN = 22.0  # mm
# Each QR module (the code's smallest square) is printed this wide whatever the code's version,
# above the 0.5 mm a phone camera reads reliably from paper; the code is never under QR_MIN_SIZE.
MODULE_MM = 0.52
QR_MIN_SIZE = 40.0  # mm
SEAL_BOX = 42.0  # mm: a round official seal is 40-42 mm across
_INK = (20, 20, 20)
_ACCENT = (150, 20, 20)
_MUTED = (90, 90, 90)
_PUBLIC_VISIBLE_ID_CHARS = 8
_HOLDER_VISIBLE_ID_CHARS = 10
LANGUAGES = ("zh", "en")
_BREAKS = "\n\r\t"


class ActivityRow(NamedTuple):
    """Per-activity totals: what was done, when, for how many hours (the detail page's table)."""

    activity: str
    period: str
    hours: str


class RecordLine(NamedTuple):
    """One record as printed: as it read at the revision the certificate covers."""

    day: str
    place: str
    content: str
    hours: str


@dataclass(frozen=True, kw_only=True)
class CertificatePrint:
    """Everything printed on a certificate, in one form and one language.

    The public form's personal fields arrive masked (张*); the holder's copy has the full name and
    the ID number masked in the middle.
    """

    number: str
    issue_date: date
    holder_copy: bool
    lang: str = "zh"
    volunteer_name: str
    id_type: str
    id_number: str
    volunteer_number: str
    total_hours: str
    lines: tuple[RecordLine, ...]
    issuer_name: str
    issuer_uscc: str
    responsible_person: str
    handler: str
    contact: str
    verify_url: str
    qr_png: bytes = field(repr=False)
    # modules across the QR image, quiet zone included, as rendered in qr_png
    qr_modules: int
    verification_hint: str
    # the opening sentence when it is not the usual one (a deregistered organisation's records,
    # certified by its successor or the platform); "" prints the language's usual sentence
    statement: str = ""

    def __post_init__(self) -> None:
        if self.lang not in LANGUAGES:
            raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}")
        # The public form is shown to third parties: refuse anything that is not masked.
        if not self.holder_copy and "*" not in self.volunteer_name:
            raise ValueError("volunteer_name must be masked (e.g. 张*) on the public form")
        visible = re.sub(r"[*\s]", "", self.id_number)
        limit = _HOLDER_VISIBLE_ID_CHARS if self.holder_copy else _PUBLIC_VISIBLE_ID_CHARS
        if "*" not in self.id_number or len(visible) > limit:
            raise ValueError(f"id_number must be masked, with at most {limit} characters shown")
        object.__setattr__(self, "lines", tuple(RecordLine(*line) for line in self.lines))

    @property
    def qr_size(self) -> float:
        return qr_printed_size(self.qr_modules)


def qr_printed_size(modules: int) -> float:
    """Return the printed width (mm) of a QR code `modules` wide, quiet zone included."""
    return max(QR_MIN_SIZE, round(modules * MODULE_MM, 2))


@cache
def font_path() -> Path:
    """Return the path of the CJK font file shipped by the font package (a dependency)."""
    font = resources.files(FONT_PACKAGE).joinpath(FONT_FILE)
    with resources.as_file(font) as path:
        if not path.is_file():
            raise RuntimeError(f"the Chinese font file {FONT_FILE} is missing from {FONT_PACKAGE}")
        return Path(path)


@cache
def _drawable() -> frozenset[int]:
    collection = TTCollection(str(font_path()), lazy=True)
    try:
        return frozenset(collection.fonts[FONT_NUMBER].getBestCmap())
    finally:
        collection.close()


def undrawable(text: str) -> str:
    """Return the characters of text that the certificate's font has no glyph for, each once."""
    drawable = _drawable()
    return "".join(
        dict.fromkeys(ch for ch in text if ord(ch) not in drawable and ch not in _BREAKS)
    )


# What each language prints; {n} and {nb} in "page" are the page number and the page count.
_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "志愿服务记录证明",
        "holder_copy": "持证人联",
        "public_copy": "公开版（姓名、证件号码已部分隐去）",
        "number": "证明编号",
        "issue_date": "出具日期",
        "statement": "兹证明下列志愿者在本单位参加志愿服务。经核对本单位的志愿服务记录，情况如下：",
        "name": "姓名",
        "volunteer_number": "志愿者编号",
        "id_type": "证件类型",
        "id_number": "证件号码",
        "total": "累计志愿服务时长",
        "hours": "小时",
        "day": "服务日期",
        "place": "服务地点",
        "content": "服务内容",
        "line_hours": "时长（小时）",
        "sum": "合计",
        "issuer": "出具单位",
        "uscc": "统一社会信用代码",
        "responsible": "负责人",
        "handler": "经办人",
        "contact": "联系方式",
        "seal": "盖章处",
        "sign_responsible": "负责人签字",
        "sign_handler": "经办人签字",
        "scan": "扫码核验真伪",
        "qr_alt": "核验二维码",
        "page": "第 {n} 页 / 共 {nb} 页",
        "colon": "：",
        "translation": "",
    },
    "en": {
        "title": "Certificate of Volunteer Service",
        "holder_copy": "Holder's copy",
        "public_copy": "Public copy (name and ID number partly masked)",
        "number": "Certificate No.",
        "issue_date": "Date of issue",
        "statement": "This is to certify that the volunteer named below took part in volunteer "
        "service with our organisation. According to our records of volunteer service:",
        "name": "Name",
        "volunteer_number": "Volunteer No.",
        "id_type": "ID type",
        "id_number": "ID number",
        "total": "Total volunteer service",
        "hours": "hours",
        "day": "Date",
        "place": "Place",
        "content": "Service",
        "line_hours": "Hours",
        "sum": "Total",
        "issuer": "Issued by",
        "uscc": "Unified social credit code",
        "responsible": "Person in charge",
        "handler": "Handler",
        "contact": "Contact",
        "seal": "Seal",
        "sign_responsible": "Signature of the person in charge",
        "sign_handler": "Signature of the handler",
        "scan": "Scan to verify",
        "qr_alt": "Verification QR code",
        "page": "Page {n} of {nb}",
        "colon": ": ",
        "translation": "English version of 志愿服务记录证明. Names are printed as registered.",
    },
}
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _date(day: date, lang: str) -> str:
    if lang == "en":
        return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日"


class _CertificatePDF(FPDF):
    def __init__(self, lang: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.set_margins(PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN)
        self.set_auto_page_break(auto=True, margin=PAGE_MARGIN)
        self.add_font(_FAMILY, fname=str(font_path()), collection_font_number=FONT_NUMBER)
        self.lang = lang
        self.words = _TEXT[lang]
        self.footer_text = ""

    def header(self) -> None:
        # A double frame on every page, as on a printed certificate form.
        self.set_draw_color(*_ACCENT)
        self.set_line_width(0.8)
        self.rect(10, 10, self.w - 20, self.h - 20)
        self.set_line_width(0.25)
        self.rect(12.5, 12.5, self.w - 25, self.h - 25)
        self.set_draw_color(*_INK)

    def footer(self) -> None:
        self.set_y(-PAGE_MARGIN + 4)
        self.set_font(_FAMILY, size=8)
        self.set_text_color(*_MUTED)
        page = self.words["page"].format(n=self.page_no(), nb="{nb}")
        self.cell(0, 5, f"{self.footer_text}    {page}", align="C")
        self.set_text_color(*_INK)

    def label(self, key: str) -> str:
        return self.words[key] + self.words["colon"]

    def line_text(self, text: str, *, size: float, height: float, align: str = "L") -> None:
        self.set_font(_FAMILY, size=size)
        self.multi_cell(
            0,
            height,
            text,
            align=align,
            wrapmode=WrapMode.WORD if self.lang == "en" else WrapMode.CHAR,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )


def render_certificate_pdf(cert: CertificatePrint) -> bytes:
    """Render a certificate as A4 PDF bytes, with its QR code linking to verify_url."""
    pdf = _CertificatePDF(cert.lang)
    title = pdf.words["title"]
    pdf.set_title(f"{title} {cert.number}")
    pdf.set_author(cert.issuer_name)
    pdf.set_subject(title)
    pdf.set_lang("en" if cert.lang == "en" else "zh-CN")
    pdf.footer_text = f"{pdf.label('number')}{cert.number}"
    pdf.add_page()

    _title(pdf, cert)
    _statement(pdf, cert)
    _lines(pdf, cert)
    _issuer_and_qr(pdf, cert)
    _seal_and_signatures(pdf)
    _hint(pdf, cert)
    return bytes(pdf.output())


def _title(pdf: _CertificatePDF, cert: CertificatePrint) -> None:
    pdf.set_y(PAGE_MARGIN + 4)
    pdf.set_text_color(*_ACCENT)
    pdf.set_font(_FAMILY, size=24 if cert.lang == "en" else 26)
    # The font has no bold face; stroking the glyph outlines gives the title its weight.
    pdf.set_line_width(0.35)
    pdf.set_draw_color(*_ACCENT)
    with pdf.local_context(text_mode=TextMode.FILL_STROKE):
        pdf.cell(0, 14, pdf.words["title"], align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(*_INK)
    pdf.set_font(_FAMILY, size=9.5)
    pdf.set_text_color(*_MUTED)
    copy = pdf.words["holder_copy" if cert.holder_copy else "public_copy"]
    pdf.cell(0, 6, copy, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if pdf.words["translation"]:
        pdf.cell(0, 5, pdf.words["translation"], align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_font(_FAMILY, size=10.5)
    half = (pdf.w - 2 * PAGE_MARGIN) / 2
    pdf.cell(half, 7, f"{pdf.label('number')}{cert.number}")
    pdf.cell(half, 7, f"{pdf.label('issue_date')}{_date(cert.issue_date, cert.lang)}", align="R")
    pdf.ln(8)
    pdf.set_text_color(*_INK)
    pdf.set_draw_color(*_ACCENT)
    pdf.line(PAGE_MARGIN, pdf.get_y(), pdf.w - PAGE_MARGIN, pdf.get_y())
    pdf.set_draw_color(*_INK)
    pdf.ln(4)


def _statement(pdf: _CertificatePDF, cert: CertificatePrint) -> None:
    pdf.line_text(cert.statement or pdf.words["statement"], size=11.5, height=7)
    pdf.ln(1)
    half = (pdf.w - 2 * PAGE_MARGIN) / 2
    label_width = 30 if cert.lang == "en" else 24
    fields = (
        (("name", cert.volunteer_name), ("volunteer_number", cert.volunteer_number)),
        (("id_type", cert.id_type), ("id_number", cert.id_number)),
    )
    for pair in fields:
        top = pdf.get_y()
        bottom = top
        for column, (key, value) in enumerate(pair):
            pdf.set_xy(PAGE_MARGIN + column * half, top)
            pdf.set_font(_FAMILY, size=10.5)
            pdf.set_text_color(*_MUTED)
            pdf.cell(label_width, 7, pdf.label(key))
            pdf.set_text_color(*_INK)
            pdf.set_font(_FAMILY, size=11.5)
            pdf.multi_cell(half - label_width, 7, value, wrapmode=WrapMode.CHAR, new_y=YPos.NEXT)
            bottom = max(bottom, pdf.get_y())
        pdf.set_xy(PAGE_MARGIN, bottom)
    pdf.set_font(_FAMILY, size=10.5)
    pdf.set_text_color(*_MUTED)
    pdf.cell(label_width + 24 if cert.lang == "en" else 38, 9, pdf.label("total"))
    pdf.set_text_color(*_ACCENT)
    pdf.set_font(_FAMILY, size=15)
    pdf.cell(0, 9, f"{cert.total_hours} {pdf.words['hours']}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*_INK)
    pdf.ln(2)


def _lines(pdf: _CertificatePDF, cert: CertificatePrint) -> None:
    pdf.set_font(_FAMILY, size=9.5)
    headings = FontFace(emphasis="", fill_color=(242, 236, 236))
    with pdf.table(
        col_widths=(22, 36, 70, 24),
        headings_style=headings,
        line_height=5.5,
        text_align=("CENTER", "LEFT", "LEFT", "RIGHT"),
        wrapmode=WrapMode.CHAR,
        padding=1.2,
    ) as table:
        t = pdf.words
        table.row((t["day"], t["place"], t["content"], t["line_hours"]))
        for line in cert.lines:
            table.row(line)
        table.row((t["sum"], "", "", cert.total_hours))
    pdf.ln(5)


def _issuer_and_qr(pdf: _CertificatePDF, cert: CertificatePrint) -> None:
    size = cert.qr_size
    with Image.open(io.BytesIO(cert.qr_png)) as image:
        if image.width % cert.qr_modules:
            raise ValueError("qr_modules does not match the QR image")
    details = (
        ("issuer", cert.issuer_name),
        ("uscc", cert.issuer_uscc),
        ("responsible", cert.responsible_person),
        ("handler", cert.handler),
        ("contact", cert.contact),
    )
    block_height = size + 7
    if pdf.will_page_break(block_height):
        pdf.add_page()
    top = pdf.get_y()
    label_width = 50 if cert.lang == "en" else 34
    text_width = pdf.w - 2 * PAGE_MARGIN - size - 4
    pdf.set_font(_FAMILY, size=10.5)
    for key, value in details:
        pdf.set_x(PAGE_MARGIN)
        pdf.set_text_color(*_MUTED)
        pdf.cell(label_width, 7, pdf.label(key))
        pdf.set_text_color(*_INK)
        pdf.multi_cell(
            text_width - label_width,
            7,
            value,
            wrapmode=WrapMode.CHAR,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    text_bottom = pdf.get_y()
    qr_x = pdf.w - PAGE_MARGIN - size
    pdf.image(
        io.BytesIO(cert.qr_png),
        x=qr_x,
        y=top,
        w=size,
        h=size,
        link=cert.verify_url,
        alt_text=pdf.words["qr_alt"],
    )
    pdf.set_xy(qr_x, top + size)
    pdf.set_font(_FAMILY, size=9)
    pdf.cell(size, 5, pdf.words["scan"], align=Align.C)
    pdf.set_y(max(text_bottom, top + size + 5) + 3)


def _seal_and_signatures(pdf: _CertificatePDF) -> None:
    """An empty bordered box for the seal and two lines to sign on, for the printed copy."""
    if pdf.will_page_break(SEAL_BOX + 4):
        pdf.add_page()
    top = pdf.get_y()
    box_x = pdf.w - PAGE_MARGIN - SEAL_BOX
    pdf.set_draw_color(*_MUTED)
    pdf.set_line_width(0.3)
    pdf.rect(box_x, top, SEAL_BOX, SEAL_BOX)
    pdf.set_xy(box_x, top + 2)
    pdf.set_font(_FAMILY, size=9)
    pdf.set_text_color(*_MUTED)
    pdf.cell(SEAL_BOX, 5, pdf.words["seal"], align=Align.C)
    line_end = box_x - 8
    for index, key in enumerate(("sign_responsible", "sign_handler")):
        y = top + 10 + index * 18
        pdf.set_xy(PAGE_MARGIN, y)
        pdf.set_text_color(*_MUTED)
        pdf.set_font(_FAMILY, size=10.5)
        label = pdf.label(key)
        width = pdf.get_string_width(label) + 2
        pdf.cell(width, 7, label)
        pdf.set_draw_color(*_INK)
        pdf.line(PAGE_MARGIN + width, y + 6.5, line_end, y + 6.5)
    pdf.set_text_color(*_INK)
    pdf.set_draw_color(*_INK)
    pdf.set_y(top + SEAL_BOX + 3)


def _hint(pdf: _CertificatePDF, cert: CertificatePrint) -> None:
    pdf.set_text_color(*_MUTED)
    pdf.line_text(cert.verification_hint, size=8.5, height=4.8)
    pdf.set_text_color(*_INK)

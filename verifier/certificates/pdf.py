"""Render a volunteer service certificate (志愿服务记录证明) as an A4 PDF in Chinese.

Chinese text is set in WenQuanYi Micro Hei (Apache License 2.0), which the PyPI package
``paperang-p2-fonts-cjk`` installs; fpdf2 embeds only the glyphs a certificate uses. It is a
TrueType font: fpdf2's CFF (OpenType) embedding, as with Noto Sans SC, produces a PDF whose text
pdfminer cannot extract, and a certificate's text must be copyable and searchable.
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

from fpdf import FPDF
from fpdf.enums import Align, TextMode, WrapMode, XPos, YPos
from fpdf.fonts import FontFace

__all__ = ["ActivityRow", "CertificatePrint", "font_path", "render_certificate_pdf"]

FONT_PACKAGE = "paperang_p2_fonts_cjk"
FONT_FILE = "fonts/wqy-microhei.ttc"
_FAMILY = "wqy"

PAGE_MARGIN = 22.0  # mm
QR_SIZE = 40.0  # mm: version 15 then prints at about 0.47 mm per module
_INK = (20, 20, 20)
_ACCENT = (150, 20, 20)
_MUTED = (90, 90, 90)
_VISIBLE_ID_CHARS = 8


class ActivityRow(NamedTuple):
    """One line of the certificate's table: what was done, when, for how many hours."""

    activity: str
    period: str
    hours: str


@dataclass(frozen=True, kw_only=True)
class CertificatePrint:
    """Everything printed on a certificate; personal fields arrive already masked."""

    number: str
    issue_date: date
    volunteer_name: str
    id_type: str
    id_number: str
    volunteer_number: str
    total_hours: str
    rows: tuple[ActivityRow, ...]
    issuer_name: str
    issuer_uscc: str
    responsible_person: str
    handler: str
    contact: str
    verify_url: str
    qr_png: bytes = field(repr=False)
    verification_hint: str
    title: str = "志愿服务记录证明"
    statement: str = "兹证明下列志愿者在本单位参加志愿服务。经核对本单位的志愿服务记录，情况如下："

    def __post_init__(self) -> None:
        # A certificate is shown to third parties: refuse anything that is not masked.
        if "*" not in self.volunteer_name:
            raise ValueError("volunteer_name must be masked (e.g. 张*)")
        visible = re.sub(r"[*\s]", "", self.id_number)
        if "*" not in self.id_number or len(visible) > _VISIBLE_ID_CHARS:
            raise ValueError(
                f"id_number must be masked, with at most {_VISIBLE_ID_CHARS} characters shown"
            )
        object.__setattr__(self, "rows", tuple(ActivityRow(*row) for row in self.rows))


@cache
def font_path() -> Path:
    """Return the path of the CJK font file shipped by the font package (a dependency)."""
    font = resources.files(FONT_PACKAGE).joinpath(FONT_FILE)
    with resources.as_file(font) as path:
        if not path.is_file():
            raise RuntimeError(f"the Chinese font file {FONT_FILE} is missing from {FONT_PACKAGE}")
        return Path(path)


def _chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


class _CertificatePDF(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.set_margins(PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN)
        self.set_auto_page_break(auto=True, margin=PAGE_MARGIN)
        self.add_font(_FAMILY, fname=str(font_path()), collection_font_number=0)
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
        self.cell(0, 5, f"{self.footer_text}    第 {self.page_no()} 页 / 共 {{nb}} 页", align="C")
        self.set_text_color(*_INK)

    def line_text(self, text: str, *, size: float, height: float, align: str = "L") -> None:
        self.set_font(_FAMILY, size=size)
        self.multi_cell(
            0,
            height,
            text,
            align=align,
            wrapmode=WrapMode.CHAR,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )


def render_certificate_pdf(cert: CertificatePrint) -> bytes:
    """Render a certificate as A4 PDF bytes, with its QR code linking to verify_url."""
    pdf = _CertificatePDF()
    pdf.set_title(f"{cert.title} {cert.number}")
    pdf.set_author(cert.issuer_name)
    pdf.set_subject(cert.title)
    pdf.set_lang("zh-CN")
    pdf.footer_text = f"证明编号 {cert.number}"
    pdf.add_page()

    _title(pdf, cert)
    _statement(pdf, cert)
    _activities(pdf, cert)
    _issuer_and_qr(pdf, cert)
    return bytes(pdf.output())


def _title(pdf: _CertificatePDF, cert: CertificatePrint) -> None:
    pdf.set_y(PAGE_MARGIN + 6)
    pdf.set_text_color(*_ACCENT)
    pdf.set_font(_FAMILY, size=26)
    # The font has no bold face; stroking the glyph outlines gives the title its weight.
    pdf.set_line_width(0.35)
    pdf.set_draw_color(*_ACCENT)
    with pdf.local_context(text_mode=TextMode.FILL_STROKE):
        pdf.cell(0, 14, cert.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(*_INK)
    pdf.set_text_color(*_INK)
    pdf.ln(3)
    pdf.set_font(_FAMILY, size=10.5)
    pdf.set_text_color(*_MUTED)
    half = (pdf.w - 2 * PAGE_MARGIN) / 2
    pdf.cell(half, 7, f"证明编号：{cert.number}")
    pdf.cell(half, 7, f"出具日期：{_chinese_date(cert.issue_date)}", align="R")
    pdf.ln(9)
    pdf.set_text_color(*_INK)
    pdf.set_draw_color(*_ACCENT)
    pdf.line(PAGE_MARGIN, pdf.get_y(), pdf.w - PAGE_MARGIN, pdf.get_y())
    pdf.set_draw_color(*_INK)
    pdf.ln(6)


def _statement(pdf: _CertificatePDF, cert: CertificatePrint) -> None:
    pdf.line_text(
        cert.statement,
        size=12,
        height=8,
    )
    pdf.ln(2)
    half = (pdf.w - 2 * PAGE_MARGIN) / 2
    fields = (
        (("姓名", cert.volunteer_name), ("志愿者编号", cert.volunteer_number)),
        (("证件类型", cert.id_type), ("证件号码", cert.id_number)),
    )
    for pair in fields:
        for label, value in pair:
            pdf.set_font(_FAMILY, size=11)
            pdf.set_text_color(*_MUTED)
            pdf.cell(24, 8, f"{label}：")
            pdf.set_text_color(*_INK)
            pdf.set_font(_FAMILY, size=12)
            pdf.cell(half - 24, 8, value)
        pdf.ln(8)
    pdf.set_font(_FAMILY, size=11)
    pdf.set_text_color(*_MUTED)
    pdf.cell(38, 10, "累计志愿服务时长：")
    pdf.set_text_color(*_ACCENT)
    pdf.set_font(_FAMILY, size=16)
    pdf.cell(0, 10, f"{cert.total_hours} 小时", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*_INK)
    pdf.ln(4)


def _activities(pdf: _CertificatePDF, cert: CertificatePrint) -> None:
    pdf.set_font(_FAMILY, size=10.5)
    headings = FontFace(emphasis="", fill_color=(242, 236, 236))
    with pdf.table(
        col_widths=(52, 30, 18),
        headings_style=headings,
        line_height=7,
        text_align=("LEFT", "CENTER", "RIGHT"),
        wrapmode=WrapMode.CHAR,
        padding=1.5,
    ) as table:
        table.row(("服务项目", "服务时间", "时长（小时）"))
        for row in cert.rows:
            table.row(row)
        table.row(("合计", "", cert.total_hours))
    pdf.ln(8)


def _issuer_and_qr(pdf: _CertificatePDF, cert: CertificatePrint) -> None:
    block_height = QR_SIZE + 22
    if pdf.will_page_break(block_height):
        pdf.add_page()
    top = pdf.get_y()
    text_width = pdf.w - 2 * PAGE_MARGIN - QR_SIZE - 4
    details = (
        ("出具单位（盖章）", cert.issuer_name),
        ("统一社会信用代码", cert.issuer_uscc),
        ("负责人", cert.responsible_person),
        ("经办人", cert.handler),
        ("联系方式", cert.contact),
    )
    pdf.set_font(_FAMILY, size=10.5)
    for label, value in details:
        pdf.set_x(PAGE_MARGIN)
        pdf.set_text_color(*_MUTED)
        pdf.cell(35, 8, f"{label}：")
        pdf.set_text_color(*_INK)
        pdf.multi_cell(
            text_width - 35, 8, value, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
    qr_x = pdf.w - PAGE_MARGIN - QR_SIZE
    pdf.image(
        io.BytesIO(cert.qr_png),
        x=qr_x,
        y=top,
        w=QR_SIZE,
        h=QR_SIZE,
        link=cert.verify_url,
        alt_text="核验二维码",
    )
    pdf.set_xy(qr_x - 5, top + QR_SIZE + 1)
    pdf.set_font(_FAMILY, size=9)
    pdf.cell(QR_SIZE + 10, 5, "扫码核验真伪", align=Align.C)
    pdf.set_y(max(pdf.get_y() + 8, top + block_height - 12))
    pdf.set_text_color(*_MUTED)
    pdf.line_text(cert.verification_hint, size=9, height=5.5)
    pdf.set_text_color(*_INK)

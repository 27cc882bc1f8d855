"""The A4 certificate PDF: Chinese text that can be read back, and a QR code that scans."""

from __future__ import annotations

import dataclasses
import io
from datetime import date

import pypdfium2
import pytest
from pypdf import PdfReader

from verifier.certificates.pdf import (
    ActivityRow,
    CertificatePrint,
    font_path,
    render_certificate_pdf,
)
from verifier.certificates.qr import decode_qr, render_qr_png

VERIFY_URL = (
    "https://verify.example.gov.cn/v/eyJhbGciOiJFZERTQSIsImtpZCI6IjEyMyIsInR5cCI6InZzYytqd3QifQ"
    ".eyJqdGkiOiJBQkNEIn0.c2lnbmF0dXJl"
)
ISSUER = "北京市朝阳区阳光社区志愿服务协会志愿者工作站"


def make_certificate(**changes) -> CertificatePrint:
    values = dict(
        number="7K3Q-M9XA-2BHD-PW4R-E",
        issue_date=date(2026, 1, 5),
        volunteer_name="张*",
        id_type="居民身份证",
        id_number="110***********002X",
        volunteer_number="11010520250001234",
        total_hours="123.50",
        rows=(
            ("社区垃圾分类宣传与入户指导", "2025-03-01 至 2025-06-30", "48.00"),
            ("敬老院陪伴服务", "2025-07-05 至 2025-09-28", "35.50"),
            ("“情暖冬日”社区关爱老人志愿服务活动", "2025-10-01 至 2025-12-31", "40.00"),
        ),
        issuer_name=ISSUER,
        issuer_uscc="51110105MJ0123456X",
        responsible_person="李明",
        handler="王芳",
        contact="010-65001234",
        verify_url=VERIFY_URL,
        qr_png=render_qr_png(VERIFY_URL),
        verification_hint="扫描二维码，或访问 https://verify.example.gov.cn/verify 核验。",
    )
    values.update(changes)
    return CertificatePrint(**values)


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    return render_certificate_pdf(make_certificate())


def page_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def rasterise(pdf: bytes, dpi: int = 150) -> list:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [page.render(scale=dpi / 72).to_pil() for page in document]
    finally:
        document.close()


def test_pdf_is_one_a4_page(pdf_bytes):
    assert pdf_bytes.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf_bytes))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert round(float(box.width) / 72 * 25.4) == 210
    assert round(float(box.height) / 72 * 25.4) == 297


def test_text_holds_the_chinese_title_number_issuer_and_hours(pdf_bytes):
    text = page_text(pdf_bytes)
    for expected in (
        "志愿服务记录证明",
        "7K3Q-M9XA-2BHD-PW4R-E",
        ISSUER,
        "51110105MJ0123456X",
        "123.50 小时",
        "张*",
        "110***********002X",
        "11010520250001234",
        "敬老院陪伴服务",
        "负责人",
        "李明",
        "经办人",
        "王芳",
        "010-65001234",
        "2026年1月5日",
    ):
        assert expected in text, expected


def test_metadata_names_the_certificate(pdf_bytes):
    metadata = PdfReader(io.BytesIO(pdf_bytes)).metadata
    assert metadata.title == "志愿服务记录证明 7K3Q-M9XA-2BHD-PW4R-E"
    assert metadata.author == ISSUER


def test_chinese_font_is_embedded_as_a_subset(pdf_bytes):
    reader = PdfReader(io.BytesIO(pdf_bytes))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    (font,) = (entry.get_object() for entry in fonts.values())
    descendant = font["/DescendantFonts"][0].get_object()
    assert "WenQuanYi" in str(descendant["/BaseFont"])
    assert "/FontFile2" in descendant["/FontDescriptor"].get_object()
    # Subsetting keeps the file small although the font file is 5 MB.
    assert len(pdf_bytes) < 200_000
    assert font_path().stat().st_size > 1_000_000


def test_qr_code_decodes_from_the_rendered_page(pdf_bytes):
    (page,) = rasterise(pdf_bytes)
    page.save(io.BytesIO(), format="PNG")  # a real raster, as a printer or screen shows it
    assert decode_qr(page) == [VERIFY_URL]


def test_rendered_page_shows_ink_where_the_title_is(pdf_bytes):
    (page,) = rasterise(pdf_bytes, dpi=72)
    title_band = page.convert("RGB").crop((150, 60, 450, 120))
    reds = [p for p in title_band.get_flattened_data() if p[0] > 100 and p[1] < 80 and p[2] < 80]
    assert len(reds) > 200


def test_qr_links_to_the_verification_url(pdf_bytes):
    reader = PdfReader(io.BytesIO(pdf_bytes))
    links = [
        annotation.get_object()["/A"]["/URI"]
        for annotation in reader.pages[0].get("/Annots", [])
        if annotation.get_object().get("/Subtype") == "/Link"
    ]
    assert links == [VERIFY_URL]


def test_many_rows_flow_onto_more_pages_and_keep_the_qr():
    rows = tuple(
        ActivityRow(f"社区志愿服务活动第{index}期", "2025-01-01 至 2025-01-31", "1.00")
        for index in range(1, 61)
    )
    pdf = render_certificate_pdf(make_certificate(rows=rows, total_hours="60.00"))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    text = page_text(pdf)
    assert "社区志愿服务活动第60期" in text
    assert "第 2 页" in text
    pages = rasterise(pdf)
    assert [decode_qr(page) for page in pages].count([VERIFY_URL]) == 1


def test_long_names_wrap_instead_of_running_off_the_page():
    long_issuer = "某某省某某市某某区某某街道某某社区党群服务中心新时代文明实践站志愿服务队"
    pdf = render_certificate_pdf(make_certificate(issuer_name=long_issuer))
    text = page_text(pdf).replace("\n", "")
    assert long_issuer in text


def test_rows_become_activity_rows():
    cert = make_certificate()
    assert all(isinstance(row, ActivityRow) for row in cert.rows)
    assert cert.rows[1].hours == "35.50"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cert.number = "X"  # type: ignore[misc]


@pytest.mark.parametrize(
    "changes",
    [
        {"id_number": "11010119900307002X"},
        {"id_number": "1101011990****002X"},
        {"volunteer_name": "张三"},
    ],
)
def test_unmasked_personal_data_is_refused(changes):
    with pytest.raises(ValueError, match="masked"):
        make_certificate(**changes)

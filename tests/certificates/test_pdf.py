"""The A4 certificate PDF: Chinese text that can be read back, and a QR code that scans."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import date

import pypdfium2
import pytest
from PIL.Image import Image as PilImage
from pypdf import PdfReader
from pypdf.generic import ContentStream

from verifier.certificates.pdf import (
    MODULE_MM,
    CertificatePrint,
    RecordLine,
    font_path,
    render_certificate_pdf,
    undrawable,
)
from verifier.certificates.qr import (
    MAX_QR_VERSION,
    QUIET_ZONE_MODULES,
    decode_qr,
    measure_qr,
    render_qr_png,
)

VERIFY_URL = (
    "https://verify.example.gov.cn/v/eyJhbGciOiJFZERTQSIsImtpZCI6IjEyMyIsInR5cCI6InZzYytqd3QifQ"
    ".eyJqdGkiOiJBQkNEIn0.c2lnbmF0dXJl"
)
ISSUER = "北京市朝阳区阳光社区志愿服务协会志愿者工作站"


def qr_modules(url: str) -> int:
    return measure_qr(url).modules + 2 * QUIET_ZONE_MODULES


def make_certificate(**changes) -> CertificatePrint:
    url = changes.pop("verify_url", VERIFY_URL)
    values = dict(
        number="7K3Q-M9XA-2BHD-PW4R-E",
        issue_date=date(2026, 1, 5),
        holder_copy=False,
        volunteer_name="张*",
        id_type="居民身份证",
        id_number="110***********002X",
        volunteer_number="11010520250001234",
        total_hours="123.50",
        lines=(
            ("2025-03-01", "阳光社区活动中心", "社区垃圾分类宣传：入户指导", "48.00"),
            ("2025-07-05", "朝阳区第一敬老院", "敬老院陪伴服务", "35.50"),
            ("2025-10-01", "阳光社区", "“情暖冬日”社区关爱老人志愿服务活动", "40.00"),
        ),
        issuer_name=ISSUER,
        issuer_uscc="51110105MJ0123456X",
        responsible_person="李明",
        handler="王芳",
        contact="010-65001234",
        verify_url=url,
        qr_png=render_qr_png(url),
        qr_modules=qr_modules(url),
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
        "朝阳区第一敬老院",
        "2025-07-05",
        "社区垃圾分类宣传：入户指导",
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
    lines = tuple(
        RecordLine("2025-01-01", "阳光社区", f"社区志愿服务活动第{index}期", "1.00")
        for index in range(1, 61)
    )
    pdf = render_certificate_pdf(make_certificate(lines=lines, total_hours="60.00"))
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


def test_lines_become_record_lines():
    cert = make_certificate()
    assert all(isinstance(line, RecordLine) for line in cert.lines)
    assert cert.lines[1].hours == "35.50"
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
def test_unmasked_personal_data_is_refused_on_the_public_form(changes):
    with pytest.raises(ValueError, match="masked"):
        make_certificate(**changes)


@pytest.mark.parametrize(
    "id_number", ["11010119900307002X", "1101011990****002X", "1101011990*******X"]
)
def test_the_holder_copy_still_masks_the_middle_of_the_id_number(id_number):
    with pytest.raises(ValueError, match="masked"):
        make_certificate(holder_copy=True, volunteer_name="张三", id_number=id_number)


def holder_copy(**changes) -> bytes:
    values = {"holder_copy": True, "volunteer_name": "张三丰", "id_number": "110101********002X"}
    return render_certificate_pdf(make_certificate(**{**values, **changes}))


def test_the_holder_copy_prints_the_full_name_and_the_middle_masked_id():
    text = page_text(holder_copy())
    assert "张三丰" in text and "张*" not in text
    assert "110101********002X" in text
    assert "持证人联" in text


def test_the_public_form_says_it_is_masked(pdf_bytes):
    text = page_text(pdf_bytes)
    assert "公开版" in text and "持证人联" not in text


def test_both_forms_have_a_seal_box_and_two_signature_lines(pdf_bytes):
    for document in (pdf_bytes, holder_copy()):
        text = page_text(document)
        for label in ("盖章处", "负责人签字", "经办人签字"):
            assert label in text, label
        # the seal box is an empty bordered square about 42 mm wide: find it among the rectangles
        content = (
            PdfReader(io.BytesIO(document)).pages[0].get_contents().get_data().decode("latin-1")
        )
        squares = [
            (float(w), float(h))
            for w, h in re.findall(r"[\d.]+ [\d.]+ ([\d.]+) (-?[\d.]+) re", content)
            if abs(abs(float(h)) - float(w)) < 0.1 and float(w) > 100  # points
        ]
        assert any(abs(w / 72 * 25.4 - 42) < 0.5 for w, _h in squares)


def test_english_version_on_request():
    text = page_text(holder_copy(lang="en", id_type="Resident Identity Card"))
    for expected in (
        "Certificate of Volunteer Service",
        "Holder's copy",
        "Date of issue: 5 January 2026",
        "Person in charge",
        "Handler",
        "Seal",
        "Signature of the person in charge",
        "Signature of the handler",
        "Scan to verify",
        "Resident Identity Card",
        "张三丰",  # names are printed as registered
        "123.50 hours",
    ):
        assert expected in text, expected
    assert "盖章处" not in text
    assert PdfReader(io.BytesIO(holder_copy(lang="en"))).metadata.title.startswith("Certificate")


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="lang"):
        make_certificate(lang="fr")


def placed_images(pdf: bytes) -> list[tuple[float, PilImage]]:
    """Return, per image drawn on the first page, its printed width (mm) and its pixels."""
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    xobjects = page["/Resources"]["/XObject"]
    placed: list[tuple[float, PilImage]] = []
    matrix = None
    for operands, operator in ContentStream(page.get_contents(), page.pdf).operations:
        if operator == b"cm":
            matrix = [float(x) for x in operands]
        elif operator == b"Do" and matrix is not None:
            xobject = xobjects[operands[0]].get_object()
            if xobject["/Subtype"] == "/Image":
                width_mm = matrix[0] / 72 * 25.4  # no rotation: a is the width in points
                placed.append((width_mm, xobject.decode_as_image()))
    return placed


def module_pixels(image: PilImage) -> float:
    """Measure a QR module in pixels: the top-left finder pattern's top edge is 7 modules."""
    grey = image.convert("L")
    width, height = grey.size
    for y in range(height):
        row = [grey.getpixel((x, y)) < 128 for x in range(width)]
        if any(row):
            start = row.index(True)
            end = start
            while end < width and row[end]:
                end += 1
            return (end - start) / 7
    raise AssertionError("no dark pixel in the QR image")


def printed_module_mm(pdf: bytes, url: str) -> float:
    ((width_mm, image),) = placed_images(pdf)
    assert decode_qr(image) == [url]  # it is the certificate's QR code, read by a real decoder
    return width_mm / image.width * module_pixels(image)


def url_of_version(version: int) -> str:
    base = "https://verify.example.gov.cn/v/"
    for length in range(300, 2000, 5):
        url = base + "A" * length
        if measure_qr(url).version == version:
            return url
    raise AssertionError(version)


@pytest.mark.parametrize("version", [15, 18, MAX_QR_VERSION])
def test_the_qr_code_prints_at_least_half_a_millimetre_per_module(version):
    url = url_of_version(version)
    pdf = render_certificate_pdf(make_certificate(verify_url=url))
    module = printed_module_mm(pdf, url)
    assert module >= 0.5
    assert module == pytest.approx(MODULE_MM, abs=0.01) or module > MODULE_MM
    (page,) = rasterise(pdf)
    assert decode_qr(page) == [url]


def test_the_typical_certificate_qr_is_measured_too(pdf_bytes):
    assert printed_module_mm(pdf_bytes, VERIFY_URL) >= 0.5


@pytest.mark.parametrize(("text", "missing"), [("刘䶮", "䶮"), ("𠮷野家", "𠮷"), ("张三丰", "")])
def test_the_font_names_what_it_cannot_draw(text, missing):
    assert undrawable(text) == missing

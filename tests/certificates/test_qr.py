"""QR codes: size limits at level M, and a real decoder reading back exactly what was encoded."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from verifier.certificates.qr import (
    MAX_QR_VERSION,
    QRCodeTooLarge,
    UnreadableImage,
    decode_qr,
    measure_qr,
    render_qr_png,
)
from verifier.crypto import signing

BASE_URL = "https://verify.example.gov.cn"

# The claims issue 3 lists for the token, with realistic values.
FULL_CLAIMS = {
    "jti": "ABCD-EFGH-JKMN-PQRS-T",
    "iss": BASE_URL,
    "iat": 1767225600,
    "hours": "123.50",
    "period": {"from": "2025-01-01", "to": "2025-12-31"},
    "issuer": {
        "name": "北京市朝阳区阳光社区志愿服务协会志愿者工作站",
        "uscc": "51110105MJ0123456X",
    },
    "volunteer": {"name": "张*", "number": "11010520250001234"},
}
# What still fits version 15 at level M: short names, no iss (the URL's origin), no issuer name
# (found from the USCC), no masked name.
FITTING_CLAIMS = {
    "jti": "ABCDEFGHJKMNPQRST",
    "iat": 1767225600,
    "h": "123.50",
    "p": "20250101-20251231",
    "oc": "51110105MJ0123456X",
    "vno": "11010520250001234",
}


@pytest.fixture(scope="module")
def key():
    return signing.generate_private_key()


def verify_url(key, claims) -> str:
    kid = signing.jwk_thumbprint(key.public_key())
    return f"{BASE_URL}/v/{signing.sign_compact_jws(claims, key, kid)}"


def read_all(png: bytes):
    with Image.open(io.BytesIO(png)) as image:
        # QR codes only: a column of modules inside a QR code occasionally also reads as an
        # EAN-13 (about 1 certificate in 80), which is not what a phone's QR scanner looks for
        found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    # the same symbol can be reported twice (found at two scales): keep one per text
    return list({barcode.text: barcode for barcode in found}.values())


def test_full_claims_token_fits_the_printed_limit_and_decodes(key):
    url = verify_url(key, FULL_CLAIMS)
    token = url.rsplit("/", 1)[1]
    assert 600 <= len(token) <= 700
    layout = measure_qr(url)
    # Measured: a 631-character token, 663 bytes of URL, version 20 (97 modules) at level M.
    assert layout.data_bytes == len(url)
    assert 15 < layout.version <= MAX_QR_VERSION
    (barcode,) = read_all(render_qr_png(url))
    assert barcode.text == url
    assert barcode.ec_level == "M"


def test_an_absurdly_long_issuer_name_is_refused_not_printed_unreadably(key):
    claims = {**FULL_CLAIMS, "issuer": {**FULL_CLAIMS["issuer"], "name": "志愿服务" * 40}}
    url = verify_url(key, claims)
    layout = measure_qr(url)
    assert layout.version > MAX_QR_VERSION
    with pytest.raises(QRCodeTooLarge) as caught:
        render_qr_png(url)
    assert caught.value.version == layout.version
    assert caught.value.data_bytes == len(url)
    assert f"version {layout.version}" in str(caught.value)


def test_full_claims_url_decodes_exactly_when_allowed_a_larger_version(key):
    url = verify_url(key, FULL_CLAIMS)
    png = render_qr_png(url, max_version=40)
    assert decode_qr(png) == [url]


def test_compact_claims_fit_version_15_and_decode_exactly(key):
    url = verify_url(key, FITTING_CLAIMS)
    layout = measure_qr(url)
    assert layout.version <= MAX_QR_VERSION
    assert layout.modules == 17 + 4 * layout.version
    png = render_qr_png(url)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert decode_qr(png) == [url]
    (barcode,) = read_all(png)
    assert barcode.ec_level == "M"
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    token = decode_qr(png)[0].rsplit("/", 1)[1]
    lookup = {signing.jwk_thumbprint(key.public_key()): key.public_key()}.get
    assert signing.verify_compact_jws(token, lookup).payload == FITTING_CLAIMS


def test_png_has_a_quiet_zone_and_square_modules(key):
    url = verify_url(key, FITTING_CLAIMS)
    png = render_qr_png(url, box_size=4)
    with Image.open(io.BytesIO(png)) as image:
        modules = measure_qr(url).modules
        assert image.size == ((modules + 8) * 4, (modules + 8) * 4)
        grey = image.convert("L")
        border = [grey.getpixel((x, 0)) for x in range(grey.width)]
        assert set(border) == {255}


def test_decode_reads_a_path_a_photo_like_image_and_transparency(tmp_path, key):
    url = verify_url(key, FITTING_CLAIMS)
    png = render_qr_png(url)
    path = tmp_path / "qr.png"
    path.write_bytes(png)
    assert decode_qr(path) == [url]
    assert decode_qr(str(path)) == [url]
    with Image.open(io.BytesIO(png)) as image:
        # Scaled down, turned and saved as JPEG, as a phone photo of the page would be.
        photo = image.convert("RGB").resize((500, 500)).rotate(90)
        buffer = io.BytesIO()
        photo.save(buffer, format="JPEG", quality=70)
        assert decode_qr(buffer.getvalue()) == [url]
        # Black modules on a transparent background.
        transparent = image.convert("L").point(lambda v: 0 if v < 128 else 255)
        rgba = Image.new("RGBA", image.size, (0, 0, 0, 0))
        rgba.putalpha(transparent.point(lambda v: 255 - v))
        assert decode_qr(rgba) == [url]


def test_image_without_a_qr_code_gives_an_empty_list():
    buffer = io.BytesIO()
    Image.new("L", (200, 200), 255).save(buffer, format="PNG")
    assert decode_qr(buffer.getvalue()) == []


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 20])
def test_bytes_that_are_not_an_image_are_refused(data):
    with pytest.raises(UnreadableImage):
        decode_qr(data)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(UnreadableImage):
        decode_qr(tmp_path / "missing.png")


def test_data_beyond_version_40_is_refused():
    with pytest.raises(QRCodeTooLarge, match="more than version 40"):
        render_qr_png("x" * 5000)

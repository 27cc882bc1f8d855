"""Render a verification URL as a QR code PNG, and read QR codes back from images.

Error correction is level M (about 15% of codewords recoverable): a printed certificate suffers
little damage (a fold, a stamp edge), and Q or H would make the code much denser.

Size. The URL is `{BASE_URL}/v/{token}`, and the token is a compact JWS whose header alone (alg,
typ and the 43-character RFC 7638 kid) takes about 100 characters and whose Ed25519 signature
takes 86. With the claims a verifier needs offline (number, iss, iat, hours, period, the issuer's
name and USCC, the masked name and the volunteer number) a typical URL is 500-560 bytes, which
needs version 17-19 at level M; version 15 at level M holds only 412 bytes. We therefore allow up
to version 22 (779 bytes at M, enough for an issuer name of about 60 Chinese characters), as
SMART Health Cards do. The PDF prints each module 0.52 mm wide whatever the version (pdf.MODULE_MM):
a version-22 code is 105 modules plus the 8-module quiet zone, so 58.8 mm; phone cameras read
modules of 0.5 mm and more reliably from paper.
"""

from __future__ import annotations

import importlib.util
import io
import os
from dataclasses import dataclass
from typing import Any

import qrcode
from PIL import Image, UnidentifiedImageError
from qrcode.constants import ERROR_CORRECT_M
from qrcode.exceptions import DataOverflowError

__all__ = [
    "ERROR_CORRECTION",
    "MAX_QR_VERSION",
    "QRCodeTooLarge",
    "QRReaderMissing",
    "QRLayout",
    "UnreadableImage",
    "decode_qr",
    "measure_qr",
    "render_qr_png",
]

ERROR_CORRECTION = "M"
MAX_QR_VERSION = 22
# A photo from a 50-megapixel phone camera; a small file that claims more is a decompression bomb.
MAX_DECODE_PIXELS = 64_000_000
QUIET_ZONE_MODULES = 4
_LARGEST_VERSION = 40


class QRCodeTooLarge(ValueError):
    """The data needs a larger QR code than a printed certificate can carry."""

    def __init__(self, *, version: int | None, data_bytes: int, max_version: int) -> None:
        needed = f"version {version}" if version else f"more than version {_LARGEST_VERSION}"
        super().__init__(
            f"{data_bytes} bytes need a QR code of {needed} at level {ERROR_CORRECTION}; "
            f"the limit is version {max_version}"
        )
        self.version = version
        self.data_bytes = data_bytes
        self.max_version = max_version


class UnreadableImage(ValueError):
    """The bytes or file are not an image that can be searched for QR codes."""


class QRReaderMissing(RuntimeError):
    """Reading QR codes from images needs zxing-cpp, an optional dependency (the `qr` extra)."""


INSTALL_QR_READER = "pip install 'verifier[qr]' (or: pip install 'zxing-cpp>=2.2')"


def _zxing() -> Any:
    """Return the zxing-cpp module, imported only when an image is read."""
    if importlib.util.find_spec("zxingcpp") is None:
        raise QRReaderMissing(
            f"reading QR codes from images needs zxing-cpp, which is not installed: "
            f"{INSTALL_QR_READER}"
        )
    import zxingcpp

    return zxingcpp


@dataclass(frozen=True)
class QRLayout:
    """The size of the QR code a piece of data needs at level M."""

    version: int
    modules: int
    data_bytes: int


def _build(data: str, max_version: int) -> qrcode.QRCode[Any]:
    encoded_length = len(data.encode("utf-8"))
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE_MODULES)
    code.add_data(data)
    try:
        code.make(fit=True)
    except (DataOverflowError, ValueError):
        # qrcode signals data beyond version 40 either way, depending on where fitting stops.
        raise QRCodeTooLarge(
            version=None, data_bytes=encoded_length, max_version=max_version
        ) from None
    if code.version > max_version:
        raise QRCodeTooLarge(
            version=code.version, data_bytes=encoded_length, max_version=max_version
        )
    return code


def measure_qr(data: str) -> QRLayout:
    """Return the QR version and module count that the data needs at level M."""
    code = _build(data, _LARGEST_VERSION)
    return QRLayout(code.version, code.modules_count, len(data.encode("utf-8")))


# Data up to this size always fits version 22 at level M in byte mode (capacity 779 bytes).
_ALWAYS_FITS_BYTES = 700


def fits(data: str, max_version: int = MAX_QR_VERSION) -> bool:
    """Tell whether the data fits a QR code of at most max_version at level M."""
    if max_version == 22 and len(data.encode("utf-8")) <= _ALWAYS_FITS_BYTES:
        return True
    try:
        _build(data, max_version)
    except QRCodeTooLarge:
        return False
    return True


def render_qr_png(url: str, *, box_size: int = 10, max_version: int = MAX_QR_VERSION) -> bytes:
    """Render a URL as a black-on-white QR code PNG; raise QRCodeTooLarge past max_version."""
    code = _build(url, max_version)
    code.box_size = box_size
    image = code.make_image()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def decode_qr(image: bytes | str | os.PathLike[str] | Image.Image) -> list[str]:
    """Return the text of every QR code found in an image (PNG, JPEG, a photo ...).

    Raises QRReaderMissing when zxing-cpp (the `qr` extra) is not installed.
    """
    _zxing()
    if isinstance(image, Image.Image):
        return _read(image)
    source = io.BytesIO(image) if isinstance(image, bytes | bytearray) else image
    try:
        with Image.open(source) as opened:
            # the header gives the size: refuse a decompression bomb before decoding it
            width, height = opened.size
            if width * height > MAX_DECODE_PIXELS:
                raise UnreadableImage(
                    f"the image is {width} x {height} pixels, more than the "
                    f"{MAX_DECODE_PIXELS // 1_000_000} million read for a QR code"
                )
            opened.load()
            return _read(opened)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise UnreadableImage(f"not a readable image: {exc}") from exc


def _read(image: Image.Image) -> list[str]:
    # zxing-cpp reads 8-bit grey or RGB; transparency is flattened onto white first, since a
    # transparent background would otherwise turn black.
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    if image.mode not in ("L", "RGB"):
        image = image.convert("L")
    zxingcpp = _zxing()
    qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    results = zxingcpp.read_barcodes(image, formats=qr_only)
    # zxing-cpp may find one symbol twice (at two scales); report each text once, in order.
    return list(dict.fromkeys(result.text for result in results if result.valid))

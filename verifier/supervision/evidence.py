"""Evidence files: what an upload really is (by its first bytes), its size and its digest."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import IO

from flask_babel import gettext as _

from verifier.errors import PayloadTooLarge, ValidationError

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 10
# (magic bytes at offset 0, content type, usual extension); the name a client sends proves nothing
SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)


@dataclass(frozen=True)
class EvidenceFile:
    """An uploaded file, checked: its type from its content, its size and SHA-256."""

    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def sniff_type(head: bytes) -> str | None:
    """Return the content type that a file's first bytes show, if it is one we accept."""
    for magic, content_type, _ext in SIGNATURES:
        if head.startswith(magic):
            return content_type
    return None


def extension_for(content_type: str) -> str:
    return next(ext for _magic, ctype, ext in SIGNATURES if ctype == content_type)


def safe_filename(name: str, content_type: str) -> str:
    """Name a checked file: the sender's readable stem (Chinese allowed), no path or control
    characters, and the extension of its checked type, never the one the sender gave.

    A PNG sent as `photo.html` is kept as `photo.png`, so whoever downloads and opens it gets
    an image viewer, not a browser running what the sender hid in it.
    """
    name = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", name)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cf", "Cc", "Co", "Cn"))
    stem = name.strip(" .").split(".", 1)[0].strip(" .")[:150]
    return f"{stem or 'evidence'}{extension_for(content_type)}"


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


def read_evidence(stream: IO[bytes], filename: str, max_bytes: int) -> EvidenceFile:
    """Read one upload; refuse it when too large, empty, or not a PDF, JPEG or PNG."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            _(
                "evidence file %(name)s is larger than the limit of %(limit)s",
                name=filename,
                limit=human_size(max_bytes),
            )
        )
    if not data:
        raise ValidationError(
            _("evidence file %(name)s is empty", name=filename), field="evidence", rule="empty"
        )
    content_type = sniff_type(data[:16])
    if content_type is None:
        raise ValidationError(
            _(
                "evidence file %(name)s is not a PDF, JPEG or PNG file (its content was checked, "
                "not its name)",
                name=filename,
            ),
            field="evidence",
            rule="file_type",
        )
    return EvidenceFile(safe_filename(filename, content_type), content_type, data)

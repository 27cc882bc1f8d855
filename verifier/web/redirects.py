"""Where a `next` parameter may send the browser: only to a path on this site."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_local_target(target: str | None) -> str | None:
    """Return target when it is a path on this site, else None.

    Browsers read a backslash as a slash and drop tabs and newlines, so `/\\evil.example` and
    `/\\t/evil.example` lead off-site as surely as `//evil.example`: refuse them all, and any
    control character or whitespace.
    """
    if not target or not target.startswith("/"):
        return None
    if "\\" in target or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    if target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target

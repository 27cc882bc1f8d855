"""Refuse, before anything reads them, request fields that no field of ours may hold."""

from __future__ import annotations

from flask import Flask, request
from flask_babel import gettext as _

from verifier.errors import BadRequest


def refuse_nul_characters() -> None:
    """A NUL (U+0000) in a page's query string or form field is a 400 naming it.

    No field of ours may hold one (the text rules refuse control characters), and PostgreSQL
    refuses it in any text parameter, even in a search, which would otherwise be a 500. The API
    checks its query strings and bodies with its schemas (422 naming the field and the rule);
    multipart uploads are left to their views, which check their sizes and fields themselves.
    """
    if request.path.startswith("/api/"):
        return
    fields = list(request.args.items(multi=True))
    if request.mimetype == "application/x-www-form-urlencoded":
        fields += list(request.form.items(multi=True))
    for name, value in fields:
        if "\x00" in name or "\x00" in value:
            raise BadRequest(
                _(
                    "%(field)s contains a NUL character (U+0000), which no field may hold",
                    field=name.replace("\x00", "")[:50] or "?",
                )
            )


def register(app: Flask) -> None:
    app.before_request(refuse_nul_characters)

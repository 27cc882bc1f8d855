"""Real-browser tests: the Chromium they drive, and a real app served over HTTP.

Playwright for Python drives the system's Chromium (Debian's /usr/bin/chromium, or the path in
VERIFIER_TEST_CHROMIUM): Playwright's own browser download is not used. A test marked `browser`
is skipped, with the reason, when either is missing (tests/conftest.py).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

CHROMIUM_ENV = "VERIFIER_TEST_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox"]  # no user namespaces for the sandbox in containers and CI


def chromium_path() -> str:
    """The Chromium executable the browser tests launch."""
    return os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "needs Playwright for Python: pip install -e '.[test]'"
    path = Path(chromium_path())
    if not (path.is_file() and os.access(path, os.X_OK)):
        return f"needs Chromium at {path} (install chromium, or set {CHROMIUM_ENV})"
    return None


@contextmanager
def served(build: Callable[[str], Flask]) -> Iterator[tuple[Flask, str]]:
    """Serve the app `build(base_url)` makes on a free 127.0.0.1 port; yield it and its address.

    The port is taken first (port 0: the system picks a free one, so parallel workers never
    meet), then the app is built with its BASE_URL set to the address it is really served at.
    """
    holder: dict[str, Any] = {}

    def dispatch(environ: Any, start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, dispatch, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    try:
        holder["app"] = app = build(base_url)
    except BaseException:
        server.server_close()
        raise
    thread = threading.Thread(target=server.serve_forever, name="live-app", daemon=True)
    thread.start()
    try:
        yield app, base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.extensions["verifier.db"].engine.dispose()

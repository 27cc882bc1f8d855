"""Gunicorn's settings for verifier; gunicorn reads this file from the working directory.

`gunicorn -w 4 wsgi:app` started from the project directory runs the checks below before any
worker starts. (With `-c another-file.py`, set VERIFIER_WEB_WORKERS yourself.)
"""

import os
import sys


def on_starting(server):
    """Tell the app how many workers serve it, and refuse to start with settings that break."""
    # The workers inherit this; the settings check refuses per-process rate limits with several.
    os.environ["VERIFIER_WEB_WORKERS"] = str(server.cfg.workers)
    from verifier.config import ConfigError, load_settings

    try:
        load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)  # noqa: T201
        sys.exit(2)

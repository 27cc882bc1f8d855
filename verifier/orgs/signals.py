"""What organisations tell the features above them (blinker signals; see docs/architecture.md)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent while an organisation's page is drawn. Sender: the organisation; keywords: session, actor.
# Each receiver returns a dict of more values for the page's template (the features above
# fill their part).
organisation_page = _signals.signal("organisation-page")

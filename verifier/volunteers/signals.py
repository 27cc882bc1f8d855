"""What volunteers tell the features above them (blinker signals; see docs/architecture.md)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent while a volunteer's page is drawn. Sender: the volunteer; keywords: session, actor.
# Each receiver returns a dict of more values for the page's template (the features above
# fill their part).
volunteer_page = _signals.signal("volunteer-page")

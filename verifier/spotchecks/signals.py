"""What spot checks tell the features above them (blinker signals; see docs/architecture.md)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent once a day by the scheduler (its job "flag-overdue-cases"), in that job's transaction.
# Sender: the app; keywords: session, now. Supervision flags its overdue cases.
overdue_check = _signals.signal("spotchecks-overdue-check")

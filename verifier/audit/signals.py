"""What the audit chain tells the features above it (blinker signals; see docs/architecture.md)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent after entries were appended and flushed, inside the appending transaction (which holds
# the chain lock). Sender: the last entry appended; keyword: session.
entries_appended = _signals.signal("audit-entries-appended")

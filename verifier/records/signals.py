"""What service records tell the features above them (blinker signals; see docs/architecture.md)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent when a record was corrected or voided, after its new revision is written, inside the
# writing transaction (the volunteer's row lock is held). Sender: the record; keywords: session,
# actor (the user who changed it). Certificates over the record are superseded by a receiver.
record_changed = _signals.signal("record-changed")

# Sent when a record was created, after its first revision (and its audit entry, when the
# caller audits) is written, inside the writing transaction. Sender: the record; keywords:
# session, actor (the user who entered it, or None for the command line). The volunteer's
# receipt is written by a receiver.
record_created = _signals.signal("record-created")

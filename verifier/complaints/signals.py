"""What complaints and requests tell the features above them (blinker signals; see
docs/architecture.md)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent when an organisation answered a correction request (resolved or rejected), after the
# answer and its audit entry are written, inside the answering transaction. Sender: the
# CorrectionRequest; keywords: session, actor. A volunteer's dispute is answered to the
# volunteer by a receiver (verifier/portal).
correction_answered = _signals.signal("correction-answered")

"""How the audit log's checks react to the features below them."""

from __future__ import annotations

from verifier.audit.signals import entries_appended
from verifier.integrity.checkpoints import maybe_checkpoint


def connect() -> None:
    """Sign a checkpoint when enough entries were appended (VERIFIER_AUDIT_CHECKPOINT_EVERY)."""
    entries_appended.connect(maybe_checkpoint)

"""The codes of spot checks: campaign statuses and origins, and the kinds of sampled item.

Pure (no database): the draw, which writes item kinds into the published manifest, uses them too.
"""

from __future__ import annotations

from enum import StrEnum


class CampaignStatus(StrEnum):
    """frozen: population fixed and committed to; drawn: seed fixed and sample drawn."""

    FROZEN = "frozen"
    DRAWN = "drawn"


class CampaignOrigin(StrEnum):
    MANUAL = "manual"
    SCHEDULED = "scheduled"


class ItemKind(StrEnum):
    """What a population or sample item is: an organisation ("org:12") or a record ("rec:345")."""

    ORGANISATION = "organisation"
    RECORD = "record"

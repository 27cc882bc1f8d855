"""Star levels (星级) of a volunteer from their counted hours: a pure rule others can reimplement.

The rule: given five increasing thresholds in hours (VERIFIER_STAR_THRESHOLDS, by default
100, 300, 600, 1000 and 1500), the level is the number of thresholds the counted time reaches,
0 to 5. A threshold of h hours is reached when the counted minutes are at least h × 60 (exact
decimal arithmetic: 100 hours is 6000 minutes, 6000 reaches it, 5999 does not). The counted
minutes are the sum of the minutes of the volunteer's active records that they do not dispute
(an open dispute takes its record out until the organisation answers); voided records never
count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


def threshold_minutes(hours: Decimal | int) -> Decimal:
    return Decimal(hours) * 60


def star_level(counted_minutes: int, thresholds_hours: Sequence[Decimal | int]) -> int:
    """Return the star level (0-5): how many thresholds the counted minutes reach."""
    return sum(1 for hours in thresholds_hours if counted_minutes >= threshold_minutes(hours))


@dataclass(frozen=True)
class StarProgress:
    """Where a volunteer stands: their level, and how far the next one is."""

    level: int
    counted_minutes: int
    next_level: int | None  # None at the top level
    next_threshold_hours: Decimal | None
    minutes_to_next: int | None  # whole minutes still to serve (rounded up)
    percent: int  # 0-100: the way from the current level's threshold to the next one's


def star_progress(counted_minutes: int, thresholds_hours: Sequence[Decimal | int]) -> StarProgress:
    """Return the level and the progress towards the next level."""
    level = star_level(counted_minutes, thresholds_hours)
    if level >= len(thresholds_hours):
        return StarProgress(level, counted_minutes, None, None, None, 100)
    target = threshold_minutes(thresholds_hours[level])
    start = threshold_minutes(thresholds_hours[level - 1]) if level else Decimal(0)
    done = (Decimal(counted_minutes) - start) / (target - start)
    return StarProgress(
        level=level,
        counted_minutes=counted_minutes,
        next_level=level + 1,
        next_threshold_hours=Decimal(thresholds_hours[level]),
        minutes_to_next=math.ceil(target - counted_minutes),
        percent=max(0, min(99, int(done * 100))),
    )

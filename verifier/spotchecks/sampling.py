"""The seeded draw: a sample nobody can steer and anyone can replay (docs/spotchecks.md).

Rivest's "consistent sampler", as election risk-limiting audits use it: every item gets a
pseudo-random number from SHA-256 of the public seed and its id, and the sample is the items with
the smallest numbers. Pure functions, no database; docs/spotchecks.md states the same rule for an
outsider, with a worked example that tests/spotchecks/test_sampling.py checks.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _

from verifier.errors import ValidationError

# u = (H + 0.5) / 2^256 = (2H + 1) / 2^257: strictly inside (0, 1), so ln(u) is always finite.
_TWO_257 = 2**257


@dataclass(frozen=True)
class PopulationItem:
    """One member of a frozen population: its id exactly as the manifest lists it."""

    id: str
    stratum: str = ""
    weight: float = 1.0


def population_hash(ids: Iterable[str]) -> str:
    """Return the SHA-256 hex of the ids sorted by code point and joined by newlines."""
    return hashlib.sha256("\n".join(sorted(ids)).encode("utf-8")).hexdigest()


def item_hash(seed: str, item_id: str) -> int:
    """Return H: SHA-256 of the UTF-8 bytes of `{seed},{id}` read as a big-endian integer."""
    digest = hashlib.sha256(f"{seed},{item_id}".encode()).digest()
    return int.from_bytes(digest, "big")


def item_u(seed: str, item_id: str) -> float:
    """Return u = (H + 0.5) / 2^256 as the correctly rounded double, in (0, 1)."""
    # int / int in Python is correctly rounded, so this is exact to the last bit on any machine.
    return (2 * item_hash(seed, item_id) + 1) / _TWO_257


def _key(seed: str, item: PopulationItem, weighted: bool) -> float:
    u = item_u(seed, item.id)
    return -math.log(u) / item.weight if weighted else u


def _check_items(items: Sequence[PopulationItem], weighted: bool) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ValidationError(
                _("item %(id)s appears twice in the population", id=item.id),
                field="population",
                rule="unique_ids",
            )
        seen.add(item.id)
        if weighted and not (isinstance(item.weight, int | float) and 0 < item.weight < math.inf):
            raise ValidationError(
                _("item %(id)s has weight %(w)s; weights must be greater than 0",
                  id=item.id, w=item.weight),
                field="weight",
                rule="weight_positive",
            )  # fmt: skip


def _check_count(n: int, field: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValidationError(
            _("the sample size must be a whole number of at least 0"),
            field=field,
            rule="sample_size",
        )
    return n


def _smallest(
    seed: str, items: Iterable[PopulationItem], n: int, weighted: bool
) -> list[tuple[float, str]]:
    # the same as sorted(...)[:n], in O(N log n) rather than O(N log N)
    return heapq.nsmallest(n, ((_key(seed, item, weighted), item.id) for item in items))


def draw(
    seed: str,
    items: Sequence[PopulationItem],
    n: int | Mapping[str, int],
    *,
    weighted: bool,
) -> list[str]:
    """Draw the sample's ids: the n items with the smallest key, per stratum when n is a mapping.

    The key is u (uniform) or -ln(u)/weight (weighted, Efraimidis–Spirakis); ties go to the
    smaller id; n above the population takes all of it. With a mapping {stratum: n}, each stratum
    is drawn by the same rule (strata the mapping leaves out give nothing) and the result is
    ordered by stratum, then key. Without one, strata are ignored and the result is ordered by key.
    """
    _check_items(items, weighted)
    if not isinstance(n, Mapping):
        return [
            item_id for _key_, item_id in _smallest(seed, items, _check_count(n, "n"), weighted)
        ]
    by_stratum: dict[str, list[PopulationItem]] = {}
    for item in items:
        by_stratum.setdefault(item.stratum, []).append(item)
    sample: list[str] = []
    for stratum in sorted(n):
        count = _check_count(n[stratum], f"n.{stratum}")
        chosen = _smallest(seed, by_stratum.get(stratum, []), count, weighted)
        sample.extend(item_id for _key_, item_id in chosen)
    return sample


def statistical_sample_size(confidence: float, tolerable_rate: float) -> int:
    """Return n = ceil(ln(1 - C) / ln(1 - p)): enough to see one deviation at rate p with C.

    Attribute sampling with zero expected deviations: if the true rate were p or more, a sample
    of n would show none with probability (1 - p)^n <= 1 - C. 95% and 5% give 59.
    """
    if not 0 < confidence < 1:
        raise ValidationError(
            _("confidence must be between 0 and 1 (e.g. 0.95)"),
            field="confidence",
            rule="open_unit_interval",
        )
    if not 0 < tolerable_rate < 1:
        raise ValidationError(
            _("the tolerable deviation rate must be between 0 and 1 (e.g. 0.05)"),
            field="tolerable_rate",
            rule="open_unit_interval",
        )
    exact = math.log(1 - confidence) / math.log(1 - tolerable_rate)
    # 1e-9 absorbs rounding so that a ratio that is a whole number in exact arithmetic (e.g.
    # C = 0.75, p = 0.5 gives 2) is not pushed up to the next integer by float error.
    return max(1, math.ceil(exact - 1e-9))


def draw_inspectors(
    seed: str,
    inspectors: Sequence[str],
    k: int,
    *,
    exclude: set[str],
    load: Mapping[str, int],
) -> list[str]:
    """Draw k inspector ids (e.g. "inspector:12"): no excluded one, least loaded first.

    Candidates are the inspectors not in `exclude` (declared conflicts, 回避); they are ordered
    by (current load, u of the id under the seed, id) and the first k are taken. Fewer than k
    candidates give all of them; the caller decides whether that is enough.
    """
    _check_count(k, "k")
    candidates = sorted(
        {i for i in inspectors if i not in exclude},
        key=lambda i: (load.get(i, 0), item_u(seed, i), i),
    )
    return candidates[:k]

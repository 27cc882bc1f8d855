"""The seeded draw: reproducible, as documented, matching an independent reimplementation, fair."""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from pathlib import Path

import pytest

from verifier.errors import ValidationError
from verifier.spotchecks.sampling import (
    PopulationItem,
    draw,
    draw_inspectors,
    item_hash,
    item_u,
    population_hash,
    statistical_sample_size,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "spotchecks.md"


# --- an independent reimplementation, from docs/spotchecks.md alone (hashlib and math only) ---


def ref_u(seed: str, item_id: str) -> float:
    digest = hashlib.sha256((seed + "," + item_id).encode("utf-8")).digest()
    h = int(digest.hex(), 16)
    # the double nearest (2H + 1) / 2^257, built from the top 53 bits with round-half-even
    numerator = 2 * h + 1
    shift = numerator.bit_length() - 53
    mantissa, rest = numerator >> shift, numerator & ((1 << shift) - 1)
    half = 1 << (shift - 1)
    if rest > half or (rest == half and mantissa & 1):
        mantissa += 1
    return math.ldexp(mantissa, shift - 257)


def ref_draw(seed, items, n, weighted):
    """items: (id, stratum, weight) triples; n: int or {stratum: n}."""

    def key(item):
        u = ref_u(seed, item[0])
        return (-math.log(u) / item[2] if weighted else u, item[0].encode("utf-8"))

    if isinstance(n, int):
        return [i[0] for i in sorted(items, key=key)[:n]]
    out = []
    for stratum in sorted(n, key=lambda s: s.encode("utf-8")):
        members = [i for i in items if i[1] == stratum]
        out += [i[0] for i in sorted(members, key=key)[: n[stratum]]]
    return out


def ref_population_hash(ids):
    ordered = sorted(ids, key=lambda s: s.encode("utf-8"))  # UTF-8 bytes order = code points
    return hashlib.sha256("\n".join(ordered).encode("utf-8")).hexdigest()


def population(size: int, strata: int = 1) -> list[PopulationItem]:
    return [
        PopulationItem(f"rec:{i}", stratum=f"org:{i % strata}", weight=1 + (i * 37) % 11)
        for i in range(1, size + 1)
    ]


def as_triples(items):
    return [(i.id, i.stratum, i.weight) for i in items]


# --- the documented worked example ---


def test_worked_example_in_the_docs_is_what_the_code_computes():
    text = DOC.read_text(encoding="utf-8")
    rows = re.findall(r"^\| (rec:\d) \| `([0-9a-f]{64})` \| ([0-9.]+) \| ([0-9.]+) \|$", text, re.M)
    assert [r[0] for r in rows] == ["rec:1", "rec:2", "rec:3", "rec:4", "rec:5"]
    for item_id, h_hex, u_text, minus_ln in rows:
        assert item_hash("example-seed", item_id) == int(h_hex, 16)
        assert repr(item_u("example-seed", item_id)) == u_text
        assert repr(-math.log(item_u("example-seed", item_id))) == minus_ln
    ids = [r[0] for r in rows]
    assert draw("example-seed", [PopulationItem(i) for i in ids], 2, weighted=False) == [
        "rec:4",
        "rec:3",
    ]
    weighted = [PopulationItem(i, weight=n) for n, i in enumerate(ids, start=1)]
    assert draw("example-seed", weighted, 2, weighted=True) == ["rec:5", "rec:4"]
    assert population_hash(ids) in text
    assert "**`rec:4`, `rec:3`**" in text and "**`rec:5`, `rec:4`**" in text


def test_item_hash_reads_the_digest_big_endian():
    digest = hashlib.sha256(b"s,x").digest()
    assert item_hash("s", "x") == int.from_bytes(digest, "big")
    assert item_hash("s", "x") != int.from_bytes(digest, "little")
    # the seed is used exactly as written
    assert item_hash("s ", "x") != item_hash("s", "x")


def test_u_is_strictly_inside_zero_and_one_and_correctly_rounded():
    for i in range(2000):
        u = item_u("edge", f"id:{i}")
        assert 0 < u < 1
        assert u == ref_u("edge", f"id:{i}")


# --- reproducible and matching the independent reimplementation ---


def test_same_seed_and_population_give_the_same_sample_in_any_input_order():
    items = population(300)
    first = draw("seed-1", items, 25, weighted=False)
    assert draw("seed-1", list(reversed(items)), 25, weighted=False) == first
    assert draw("seed-1", items, 25, weighted=False) == first
    assert draw("seed-2", items, 25, weighted=False) != first
    assert len(set(first)) == 25


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", ["0", "dice 31415926535897932384", "种子-🎲"])
def test_draw_matches_an_independent_reimplementation(seed, weighted):
    items = population(500)
    assert draw(seed, items, 40, weighted=weighted) == ref_draw(
        seed, as_triples(items), 40, weighted
    )


@pytest.mark.parametrize("weighted", [False, True])
def test_stratified_draw_matches_an_independent_reimplementation(weighted):
    items = population(600, strata=7)
    sizes = {f"org:{s}": s + 1 for s in range(7)}
    sizes["org:3"] = 1000  # more than the stratum holds: all of it
    sample = draw("strata", items, sizes, weighted=weighted)
    assert sample == ref_draw("strata", as_triples(items), sizes, weighted)
    per_stratum = Counter(int(i.split(":")[1]) % 7 for i in sample)
    assert per_stratum[3] == sum(1 for i in items if i.stratum == "org:3")
    assert all(per_stratum[s] == s + 1 for s in range(7) if s != 3)
    # strata come out in order, each in key order
    strata = [next(i.stratum for i in items if i.id == x) for x in sample]
    assert strata == sorted(strata)


def test_strata_left_out_of_the_table_give_nothing():
    items = population(60, strata=3)
    sample = draw("s", items, {"org:1": 4}, weighted=False)
    assert len(sample) == 4
    assert all(next(i.stratum for i in items if i.id == x) == "org:1" for x in sample)


def test_population_hash_sorts_by_code_point():
    ids = ["rec:10", "rec:9", "组织:1", "\U0001f600", "\uff5e", "Rec:1"]
    assert population_hash(ids) == ref_population_hash(ids)
    assert population_hash(reversed(ids)) == population_hash(ids)
    expected = hashlib.sha256(b"a\nb").hexdigest()
    assert population_hash(["b", "a"]) == expected


def test_n_larger_than_population_takes_all_and_zero_takes_none():
    items = population(8)
    assert sorted(draw("s", items, 100, weighted=False)) == sorted(i.id for i in items)
    assert draw("s", items, 0, weighted=True) == []
    assert draw("s", [], 5, weighted=False) == []


@pytest.mark.parametrize("bad", [0, -1.5, float("nan"), float("inf")])
def test_weights_that_are_not_positive_are_refused(bad):
    items = [PopulationItem("a"), PopulationItem("b", weight=bad)]
    with pytest.raises(ValidationError) as caught:
        draw("s", items, 1, weighted=True)
    assert caught.value.first.field == "weight"
    assert caught.value.first.rule == "weight_positive"
    # a uniform draw does not look at weights
    assert len(draw("s", items, 1, weighted=False)) == 1


def test_duplicate_ids_and_negative_sizes_are_refused():
    with pytest.raises(ValidationError) as caught:
        draw("s", [PopulationItem("a"), PopulationItem("a")], 1, weighted=False)
    assert caught.value.first.rule == "unique_ids"
    with pytest.raises(ValidationError) as caught:
        draw("s", [PopulationItem("a")], -1, weighted=False)
    assert caught.value.first.rule == "sample_size"


# --- fairness over many seeds (deterministic seeds: the test is stable) ---


def test_uniform_draws_include_each_item_with_probability_n_over_n():
    items = [PopulationItem(f"rec:{i}") for i in range(20)]
    draws, n = 4000, 5
    counts = Counter()
    for s in range(draws):
        counts.update(draw(f"uniform-{s}", items, n, weighted=False))
    p = n / len(items)
    sigma = math.sqrt(draws * p * (1 - p))
    for item in items:
        assert abs(counts[item.id] - draws * p) < 4 * sigma, (item.id, counts[item.id])
    assert sum(counts.values()) == draws * n


def test_hour_weighted_draws_of_one_follow_the_hours():
    minutes = {"rec:a": 60, "rec:b": 120, "rec:c": 180, "rec:d": 480}
    items = [PopulationItem(i, weight=m) for i, m in minutes.items()]
    draws = 8000
    counts = Counter(draw(f"hours-{s}", items, 1, weighted=True)[0] for s in range(draws))
    total = sum(minutes.values())
    chi_square = 0.0
    for item_id, m in minutes.items():
        expected = draws * m / total
        sigma = math.sqrt(draws * (m / total) * (1 - m / total))
        assert abs(counts[item_id] - expected) < 4 * sigma, (item_id, counts[item_id], expected)
        chi_square += (counts[item_id] - expected) ** 2 / expected
    # 3 degrees of freedom: P(chi² > 21.1) = 0.0001
    assert chi_square < 21.1
    # and clearly not uniform: the 8-hour record is drawn far more often than the 1-hour one
    assert counts["rec:d"] > 5 * counts["rec:a"]


# --- statistical sample size ---


def test_statistical_sample_size():
    assert statistical_sample_size(0.95, 0.05) == 59
    assert statistical_sample_size(0.99, 0.01) == 459
    assert statistical_sample_size(0.75, 0.5) == 2  # exactly 2: not pushed to 3 by rounding
    assert statistical_sample_size(0.90, 0.10) == 22
    for confidence, rate in ((0.95, 0.05), (0.99, 0.02), (0.9, 0.03)):
        n = statistical_sample_size(confidence, rate)
        assert (1 - rate) ** n <= 1 - confidence < (1 - rate) ** (n - 1)


@pytest.mark.parametrize(("confidence", "rate", "field"), [
    (1.0, 0.05, "confidence"), (0, 0.05, "confidence"), (0.95, 0, "tolerable_rate"),
    (0.95, 1.2, "tolerable_rate"),
])  # fmt: skip
def test_statistical_sample_size_refuses_rates_outside_zero_and_one(confidence, rate, field):
    with pytest.raises(ValidationError) as caught:
        statistical_sample_size(confidence, rate)
    assert caught.value.first.field == field


# --- inspectors ---

INSPECTORS = [f"inspector:{i}" for i in range(1, 8)]


def test_inspector_draw_as_documented():
    chosen = draw_inspectors(
        "example-seed",
        ["inspector:1", "inspector:2", "inspector:3", "inspector:4"],
        2,
        exclude={"inspector:2"},
        load={"inspector:1": 1},
    )
    assert chosen == ["inspector:4", "inspector:3"]
    assert "**`inspector:4`, `inspector:3`**" in DOC.read_text(encoding="utf-8")


def test_inspector_draw_never_returns_a_conflicted_inspector():
    for s in range(500):
        exclude = {INSPECTORS[s % 7], INSPECTORS[(s * 3) % 7]}
        chosen = draw_inspectors(f"c-{s}", INSPECTORS, 3, exclude=exclude, load={})
        assert len(chosen) == 3 and len(set(chosen)) == 3
        assert not exclude & set(chosen)
    # fewer candidates than asked for: all of them, never an excluded one
    assert draw_inspectors("x", INSPECTORS[:3], 3, exclude={INSPECTORS[0]}, load={}) == sorted(
        INSPECTORS[1:3], key=lambda i: item_u("x", i)
    )


def test_inspector_draw_balances_load_over_a_campaign():
    load: Counter[str] = Counter()
    for org in range(40):
        chosen = draw_inspectors(f"campaign/org:{org}", INSPECTORS, 2, exclude=set(), load=load)
        load.update(chosen)
    assert sum(load.values()) == 80
    assert max(load.values()) - min(load.values()) <= 1
    # with one inspector conflicted with every third organisation the others still stay even
    load = Counter()
    for org in range(42):
        exclude = {"inspector:1"} if org % 3 == 0 else set()
        chosen = draw_inspectors(f"c/org:{org}", INSPECTORS, 2, exclude=exclude, load=load)
        assert not exclude & set(chosen)
        load.update(chosen)
    assert max(load.values()) - min(load.values()) <= 1


def test_inspector_draw_among_equally_loaded_depends_on_the_seed():
    firsts = {
        draw_inspectors(f"s-{s}", INSPECTORS, 1, exclude=set(), load={})[0] for s in range(200)
    }
    assert firsts == set(INSPECTORS)

"""A campaign's whole draw from its manifest alone: seed, sizes, stages, inspectors, the replay.

Pure functions over plain data (the manifest's JSON), no database: the campaign service draws with
them, and `verifier spotcheck replay` recomputes a draw with them from a manifest file. The rules
are stated for outsiders in docs/spotchecks.md ("Campaigns: stages, derived seeds, inspectors"
and "The seed: a commitment, then the ceremony").
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from verifier.spotchecks.sampling import (
    PopulationItem,
    draw,
    draw_inspectors,
    item_u,
    population_hash,
    statistical_sample_size,
)
from verifier.spotchecks.states import ItemKind

# Format 2: the seed is derived from a committed server secret and the ceremony input.
MANIFEST_FORMAT = "verifier-spotcheck-manifest/2"
# Format 1 (campaigns drawn before commitments existed): the seed is used as written.
MANIFEST_FORMAT_V1 = "verifier-spotcheck-manifest/1"
# A ceremony input: letters and digits only, so that "{secret}\n{input}" reads one way. (Format 1
# used it as the seed itself, where "{seed},{id}" and "{seed}/org:12" had to read one way.)
CEREMONY_INPUT_PATTERN = re.compile(r"[0-9A-Za-z]{20,128}")
# The ceremony input of a campaign whose seed nobody typed (the server secret alone decides).
NO_CEREMONY = ""


def commitment_of(server_secret: str) -> str:
    """Return the commitment to a server secret: SHA-256 hex of its UTF-8 text."""
    return hashlib.sha256(server_secret.encode("utf-8")).hexdigest()


def campaign_seed(server_secret: str, ceremony_input: str) -> str:
    """Return the campaign seed: SHA-256 hex of UTF-8(server_secret + "\n" + ceremony_input)."""
    return hashlib.sha256(f"{server_secret}\n{ceremony_input}".encode()).hexdigest()


def sample_size(rule: Mapping[str, Any], population: int) -> int:
    """Return how many to draw from a population of this size under a size rule."""
    mode = rule["mode"]
    if mode == "fixed":
        n = int(rule["count"])
    elif mode == "rate":
        # the rate as the decimal it was written as (0.05 is 1/20 exactly), so ceil is exact
        n = math.ceil(Fraction(str(rule["rate"])) * population)
        n = max(n, int(rule.get("minimum") or 0))
        if rule.get("maximum") is not None:
            n = min(n, int(rule["maximum"]))
    elif mode == "statistical":
        n = statistical_sample_size(float(rule["confidence"]), float(rule["tolerable_rate"]))
    else:
        raise ValueError(f"unknown sample size mode {mode!r}")
    return max(0, min(n, population))


def stage_two_seed(seed: str, organisation: str) -> str:
    """Return the seed of the draw of records within one organisation ("org:12")."""
    return f"{seed}/{organisation}"


def inspector_seed(seed: str, organisation: str) -> str:
    """Return the seed of the draw of inspectors for one organisation."""
    return f"{seed}/inspectors/{organisation}"


def item_key(seed: str, item: PopulationItem, weighted: bool) -> float:
    """Return an item's sort key: u, or -ln(u)/w when weighted (as sampling.draw orders them)."""
    u = item_u(seed, item.id)
    return -math.log(u) / item.weight if weighted else u


def _item(row: Mapping[str, Any]) -> PopulationItem:
    return PopulationItem(row["id"], row.get("stratum", ""), float(row.get("weight", 1.0)))


def _entry(
    seed: str, item: PopulationItem, kind: str, stage: int, weighted: bool
) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": kind,
        "stratum": item.stratum,
        "stage": stage,
        "forced": False,
        "key": item_key(seed, item, weighted),
    }


def compute_sample(
    seed: str, parameters: Mapping[str, Any], population: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Draw the sample, in draw order, from the seed, the parameters and the population.

    Stage 1 is the main draw: organisations (two_stage) or records (records unit; per
    organisation when stratified), over the items that are not always included. Then the
    always-included organisations, in id order. Then, for each organisation of stage 1 (two_stage)
    and each always-included one, in that order, its records drawn with the derived seed.
    """
    weighted = parameters["weighting"] != "uniform"
    two_stage = parameters["unit"] == "two_stage"
    organisations = [row for row in population if row["kind"] == ItemKind.ORGANISATION]
    forced = sorted(row["id"] for row in organisations if row.get("forced"))
    forced_set = set(forced)
    records_by_org: dict[str, list[PopulationItem]] = {}
    for row in population:
        if row["kind"] == ItemKind.RECORD:
            records_by_org.setdefault(row["stratum"], []).append(_item(row))

    sample: list[dict[str, Any]] = []
    drawn_orgs: list[str] = []
    if two_stage:
        items = [_item(row) for row in organisations if not row.get("forced")]
        by_id = {item.id: item for item in items}
        n = sample_size(parameters["sample_size"], len(items))
        drawn_orgs = draw(seed, items, n, weighted=weighted)
        sample += [_entry(seed, by_id[i], ItemKind.ORGANISATION, 1, weighted) for i in drawn_orgs]
    else:
        items = [
            item
            for org, records in records_by_org.items()
            if org not in forced_set
            for item in records
        ]
        by_id = {item.id: item for item in items}
        size: int | dict[str, int]
        if parameters.get("stratify_by_organisation"):
            counts: dict[str, int] = {}
            for item in items:
                counts[item.stratum] = counts.get(item.stratum, 0) + 1
            size = {s: sample_size(parameters["sample_size"], c) for s, c in counts.items()}
        else:
            size = sample_size(parameters["sample_size"], len(items))
        chosen = draw(seed, items, size, weighted=weighted)
        sample += [_entry(seed, by_id[i], ItemKind.RECORD, 1, weighted) for i in chosen]
    rows = {row["id"]: row for row in organisations}
    for org in forced:
        entry = {"id": org, "kind": ItemKind.ORGANISATION, "stratum": rows[org].get("stratum", "")}
        sample.append({**entry, "stage": 1, "forced": True, "key": None})
    per_org = parameters.get("records_per_organisation")
    for org in [*drawn_orgs, *forced]:
        records = records_by_org.get(org, [])
        if not records or per_org is None:
            continue
        org_seed = stage_two_seed(seed, org)
        by_id = {item.id: item for item in records}
        n = sample_size(per_org, len(records))
        for record_id in draw(org_seed, records, n, weighted=weighted):
            sample.append(_entry(org_seed, by_id[record_id], ItemKind.RECORD, 2, weighted))
    return sample


def organisations_in_order(sample: Iterable[Mapping[str, Any]]) -> list[str]:
    """Return the organisations a sample touches ("org:12"), in order of first appearance."""
    seen: dict[str, None] = {}
    for entry in sample:
        org = entry["id"] if entry["kind"] == ItemKind.ORGANISATION else entry["stratum"]
        seen.setdefault(org, None)
    return list(seen)


def compute_inspector_draw(
    seed: str,
    organisations: Sequence[str],
    inspectors: Sequence[str],
    conflicts: Mapping[str, Iterable[str]],
    initial_load: Mapping[str, int],
    k: int,
) -> list[dict[str, Any]]:
    """Draw k inspectors per organisation in order, excluding conflicts, the least loaded first.

    Each organisation's draw sees the loads left by the draws before it (one more for each
    inspector assigned).
    """
    load = {i: int(initial_load.get(i, 0)) for i in inspectors}
    known = set(inspectors)
    result = []
    for org in organisations:
        excluded = sorted(set(conflicts.get(org, ())) & known)
        chosen = draw_inspectors(
            inspector_seed(seed, org), inspectors, k, exclude=set(excluded), load=load
        )
        result.append({"organisation": org, "excluded": excluded, "assigned": chosen})
        for inspector in chosen:
            load[inspector] += 1
    return result


@dataclass(frozen=True)
class ReplayResult:
    ok: bool
    difference: str = ""
    sample_size: int = 0


def _first_difference(name: str, recorded: list[Any], recomputed: list[Any]) -> str:
    for position, (a, b) in enumerate(zip(recorded, recomputed, strict=False), start=1):
        if a != b:
            return f"{name} position {position}: the manifest has {a}, the replay gives {b}"
    if len(recorded) != len(recomputed):
        return (
            f"{name}: the manifest lists {len(recorded)} entries, the replay gives "
            f"{len(recomputed)}"
        )
    return ""


def _check_seed_derivation(manifest: Mapping[str, Any]) -> str:
    """Return what is wrong with a format-2 manifest's commitment and seed, or ""."""
    commitment = manifest["commitment"]
    secret = manifest.get("server_secret")
    if not isinstance(secret, str):
        return "server_secret: the manifest reveals no server secret, so the seed cannot be checked"
    if commitment_of(secret) != commitment:
        return (
            f"commitment: the manifest's server_secret hashes to {commitment_of(secret)}, not to "
            f"the commitment {commitment} published when the population was frozen"
        )
    ceremony_input = manifest.get("ceremony_input")
    if not isinstance(ceremony_input, str):
        return 'ceremony_input: the manifest has no ceremony input ("" when none was typed)'
    derived = campaign_seed(secret, ceremony_input)
    if manifest["seed"] != derived:
        return (
            f"seed: the manifest has {manifest['seed']}, but SHA-256 of server_secret and "
            f"ceremony_input gives {derived}"
        )
    return ""


def replay(manifest: Mapping[str, Any]) -> ReplayResult:
    """Recompute a campaign's draw from its manifest and name the first difference, if any.

    Format 2 first checks that the revealed server secret matches the commitment and that the
    seed derives from it and the ceremony input; format 1 takes the seed as written.
    """
    kind = manifest.get("format")
    if kind not in (MANIFEST_FORMAT, MANIFEST_FORMAT_V1):
        return ReplayResult(
            False,
            f"format: {kind!r} is not a manifest format this replay knows "
            f"({MANIFEST_FORMAT_V1}, {MANIFEST_FORMAT})",
        )
    if kind == MANIFEST_FORMAT_V1:
        carried = [k for k in ("commitment", "server_secret", "ceremony_input") if manifest.get(k)]
        if carried:
            return ReplayResult(
                False,
                f"format: the manifest says {MANIFEST_FORMAT_V1} but carries "
                f"{', '.join(carried)} of {MANIFEST_FORMAT}: it was relabelled, and format 1 "
                "would skip the commitment check",
            )
    population = manifest["population"]
    ids = [row["id"] for row in population]
    if len(set(ids)) != len(ids):
        return ReplayResult(False, "population: an id appears twice")
    digest = population_hash(ids)
    if digest != manifest["population_hash"]:
        return ReplayResult(
            False,
            f"population_hash: the manifest has {manifest['population_hash']}, the population's "
            f"ids hash to {digest}",
        )
    if manifest.get("population_size") is not None and manifest["population_size"] != len(
        population
    ):
        return ReplayResult(
            False,
            f"population_size: the manifest says {manifest['population_size']}, its population "
            f"lists {len(population)}",
        )
    seed = manifest.get("seed")
    if not seed:
        return ReplayResult(False, "seed: no seed is fixed yet, so there is no draw to replay")
    if kind == MANIFEST_FORMAT:
        difference = _check_seed_derivation(manifest)
        if difference:
            return ReplayResult(False, difference)
    sample = compute_sample(seed, manifest["parameters"], population)
    recorded = [f"{e['id']} (stage {e['stage']})" for e in manifest["sample"]]
    recomputed = [f"{e['id']} (stage {e['stage']})" for e in sample]
    difference = _first_difference("sample", recorded, recomputed)
    if difference:
        return ReplayResult(False, difference)
    inspectors = manifest["inspector_draw"]
    organisations = [entry["organisation"] for entry in inspectors["organisations"]]
    if organisations != organisations_in_order(sample):
        return ReplayResult(
            False, "inspector_draw: the organisations are not those of the sample, in order"
        )
    redrawn = compute_inspector_draw(
        seed,
        organisations,
        inspectors["inspectors"],
        {e["organisation"]: e["excluded"] for e in inspectors["organisations"]},
        inspectors["initial_load"],
        int(inspectors["k"]),
    )
    difference = _first_difference(
        "inspector_draw",
        [f"{e['organisation']} -> {e['assigned']}" for e in inspectors["organisations"]],
        [f"{e['organisation']} -> {e['assigned']}" for e in redrawn],
    )
    if difference:
        return ReplayResult(False, difference)
    return ReplayResult(True, sample_size=len(sample))

"""House-numbering engine benchmark: 10,000 entrances on 500 roads.

The roads are generated deterministically (seeded): polylines of 200–2000 m with 3–8 vertices and
moderate turns, starting at an EPSG:4547-like point around (500 000, 3 290 000) ± 30 km; each has
20 entrances at a random chainage, 5–40 m to the left or right of the road.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Sequence

import numpy as np
from shapely.geometry import LineString, Point

from bench.runner import Case
from geo_mz.addresses.numbering import Entrance, NumberingRules, number_roads_bulk

N_ROADS = 500
PER_ROAD = 20

Road = tuple[str, LineString, Sequence[Entrance]]


def _road(rng: random.Random, index: int) -> Road:
    length = rng.uniform(200, 2000)
    n_segments = rng.randint(3, 8) - 1
    weights = np.array([rng.uniform(0.5, 1.5) for _ in range(n_segments)])
    steps = weights / weights.sum() * length
    headings = rng.uniform(0, 2 * math.pi) + np.cumsum([rng.uniform(-0.6, 0.6) for _ in range(n_segments)])
    start = np.array([500_000 + rng.uniform(-30_000, 30_000), 3_290_000 + rng.uniform(-30_000, 30_000)])
    deltas = np.column_stack([steps * np.cos(headings), steps * np.sin(headings)])
    coords = np.vstack([start, start + np.cumsum(deltas, axis=0)])

    cum = np.concatenate([[0.0], np.cumsum(steps)])
    entrances = []
    for k in range(PER_ROAD):
        t = rng.uniform(0, length)
        seg = min(int(np.searchsorted(cum, t, side="right")) - 1, n_segments - 1)
        ux, uy = deltas[seg] / steps[seg]
        x, y = coords[seg] + (t - cum[seg]) * np.array([ux, uy])
        offset = rng.uniform(5, 40) * rng.choice((-1, 1))
        entrances.append(Entrance(f"r{index}e{k}", float(x - uy * offset), float(y + ux * offset)))
    return f"r{index}", LineString(coords), entrances


@functools.cache
def synthetic_roads(n: int = N_ROADS, seed: int = 20240601) -> tuple[Road, ...]:
    rng = random.Random(seed)
    return tuple(_road(rng, i) for i in range(n))


def naive_numbering(roads: Sequence[Road]) -> dict[str, int]:
    """What a straightforward implementation does: per entrance, shapely ``project`` for the
    chainage and ``interpolate`` for the foot and the local tangent (side from the cross product),
    then sequential odd/even numbers per side in chainage order."""
    out: dict[str, int] = {}
    for _, line, entrances in roads:
        placed = []
        for e in entrances:
            p = Point(e.x, e.y)
            c = line.project(p)
            foot = line.interpolate(c)
            ahead, behind = line.interpolate(min(c + 0.5, line.length)), line.interpolate(max(c - 0.5, 0.0))
            cross = (ahead.x - behind.x) * (p.y - foot.y) - (ahead.y - behind.y) * (p.x - foot.x)
            placed.append((c, e.key, -1 if cross > 0 else 1))
        last = {1: -1, -1: 0}
        for _, key, side in sorted(placed):
            last[side] += 2
            out[key] = last[side]
    return out


def case_bulk() -> Case:
    roads = synthetic_roads()
    rules = NumberingRules()
    return Case(
        f"门牌编号 {N_ROADS * PER_ROAD:,} entrances / {N_ROADS} roads",
        lambda: number_roads_bulk(roads, rules),  # default rules: beijing, spacing 20 m
        lambda: naive_numbering(roads),
        "per-point shapely project/interpolate loop + sequential numbers",
        repeat=5,
    )


def cases() -> list[Case]:
    return [case_bulk()]

"""Boundary-line derivation benchmark: all county lines of a province-sized set.

Issue target: derive all lines of ~100 polygons with ~100k vertices in ≤ 10 s.

**Generated data** (:func:`province`, deterministic, numpy seed 20240601): 100 random seeds in a
400 × 300 km box at (300 000 … 700 000, 3 150 000 … 3 450 000), an EPSG:4547-like metre CRS; their
Voronoi cells clipped to the box form a gap-free tessellation (about 260 adjoining pairs).  Every
cell's ring is densified independently (``shapely.segmentize``) to about 100 000 vertices in total
(a vertex every ~140 m), and every inserted vertex is moved by 1–2 m in a random direction, with
its own random numbers per cell.  The Voronoi corners stay exact.  So neighbours share every edge
only within a few metres and never vertex for vertex: their boundaries cross each other along
every edge, leaving thousands of sliver gaps and overlaps, like real data digitised twice.

**Target**: ``derive_lines`` over all cells at the default 5 m tolerance: the lines *and* the
issue report (topology check, slivers, gaps).
**Reference**: the naive approach, a Python loop over all pairs i < j with
``a.boundary.intersection(b.boundary)`` (exact boundary intersection).  It is fast because GEOS
rejects disjoint envelopes at once, but on such data it is also wrong: with unmatched vertices the
exact intersection is mostly points, not the shared edges, and there is no report.
"""

from __future__ import annotations

import functools

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon, box
from shapely.geometry.base import BaseGeometry

from bench.runner import Case
from geo_mz.boundaries.derive import derive_lines

N_CELLS = 100
N_VERTICES = 100_000
FRAME = (300_000.0, 3_150_000.0, 700_000.0, 3_450_000.0)


@functools.cache
def province(n: int = N_CELLS, vertices: int = N_VERTICES, seed: int = 20240601) -> dict[str, BaseGeometry]:
    """``n`` jittered Voronoi cells (code → Polygon) with about ``vertices`` vertices in total."""
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = FRAME
    seeds = np.column_stack([rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)])
    frame = box(*FRAME)
    cells = [
        c.intersection(frame) for c in shapely.voronoi_polygons(MultiPoint(seeds), extend_to=frame).geoms
    ]
    step = sum(c.length for c in cells) / vertices
    out: dict[str, BaseGeometry] = {}
    for k, cell in enumerate(cells):
        corners = {tuple(p) for p in shapely.get_coordinates(cell.exterior)}
        xy = shapely.get_coordinates(shapely.segmentize(cell.exterior, step))[:-1]
        inserted = np.array([tuple(p) not in corners for p in xy])
        radius = rng.uniform(1.0, 2.0, len(xy))
        angle = rng.uniform(0.0, 2 * np.pi, len(xy))
        jitter = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]) * inserted[:, None]
        out[f"42{k:04d}"] = Polygon(xy + jitter)
    return out


def naive_lines(polygons: dict[str, BaseGeometry]) -> dict[tuple[str, str], BaseGeometry]:
    """All-pairs loop of exact boundary intersections (the reference)."""
    items = sorted(polygons.items())
    out = {}
    for i, (code_a, a) in enumerate(items):
        for code_b, b in items[i + 1 :]:
            shared = a.boundary.intersection(b.boundary)
            if not shared.is_empty:
                out[(code_a, code_b)] = shared
    return out


def case_province() -> Case:
    polygons = province()
    n_vertices = int(sum(shapely.get_num_coordinates(np.asarray(list(polygons.values()), dtype=object))))
    return Case(
        f"界线推导 derive {len(polygons)} polygons / {n_vertices // 1000}k vertices (lines + report)",
        lambda: derive_lines(polygons),
        lambda: naive_lines(polygons),
        "all-pairs Python loop of exact a.boundary ∩ b.boundary",
        repeat=3,
    )


def cases() -> list[Case]:
    return [case_province()]

"""Coverage engine (覆盖分析): who is reached by which facility, and where coverage is missing.

Pure module: numpy, scipy and shapely 2 only, no Django (DESIGN §1).  The services layer loads
demand points, facilities and roads from the database, calls these functions and stores the
result with :data:`ENGINE_VERSION` for run provenance.

**CRS and units.**  Every coordinate is in one *projected* CRS in metres (x east, y north), e.g.
EPSG:4547.  Radii, cut-offs, buffers and snap distances are metres; areas are m².  Inputs that look
like longitude/latitude degrees are refused (:class:`CoverageInputError` ``looks_like_degrees``).

**Inputs are arrays, not ORM objects:** demand points ``(n, 2)`` with weights (all residents,
people aged 60+, households …), facilities ``(m, 2)`` with a radius per facility (or one for all)
and a capacity.  Results are frozen dataclasses holding read-only numpy arrays.

This module holds:

* input checks and :class:`CoverageInputError` (Chinese and English messages);
* **straight-line coverage** (:func:`straight_coverage`): a demand point *i* is reached by facility
  *j* when ``sqrt(dx² + dy²) <= radius_j`` (computed exactly in float64, so ties at the radius
  count as covered); counted with a uniform grid over the demand points, where grid cells lying
  wholly inside a facility's disk are counted per cell and only cells cut by the circle are tested
  point by point (no n·m matrix); the nearest facility from the pairs within the typical
  facility spacing, and from a ``cKDTree`` for the points with no facility that close;
* within-radius pairs (:func:`straight_pairs`, :class:`DistancePairs`) for 2SFCA and
  location-allocation;
* **what-if** (:class:`CoverageIndex`): the change in coverage when sites are added or closed,
  answered from the prepared grid in milliseconds;
* **2SFCA** capacity-to-demand ratios (:func:`two_step_fca`);
* **aggregation** per division (:func:`aggregate`) and unit coverage rates
  (:func:`unit_coverage_rate`, :func:`units_reached`);
* **uncovered areas** as polygons (:func:`uncovered_polygons`, :func:`network_uncovered_polygons`);
* **cemetery siting exclusions** (:class:`ExclusionLayer`, :func:`apply_exclusions`).

Road-network coverage lives in :mod:`geo_mz.coverage.network` and location-allocation (MCLP, LSCP)
in :mod:`geo_mz.coverage.allocation`; their public names are also importable from this module.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import scipy.sparse as sp
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

__all__ = [
    "ENGINE_VERSION",
    "MAX_RADIUS_M",
    "WALKING_SPEED_M_PER_MIN",
    "Aggregation",
    "CoverageIndex",
    "CoverageInputError",
    "DistancePairs",
    "ExclusionLayer",
    "ExclusionResult",
    "StraightCoverage",
    "TwoStepFCA",
    "UncoveredArea",
    "UnitCoverage",
    "WhatIf",
    "aggregate",
    "apply_exclusions",
    "gaussian_decay",
    "network_uncovered_polygons",
    "points_outside",
    "straight_coverage",
    "straight_pairs",
    "two_step_fca",
    "uncovered_polygons",
    "unit_coverage_rate",
    "units_reached",
    "walking_minutes_to_m",
]

#: Stored with every run (DESIGN: "engine version" in the run's provenance).  Bump it whenever a
#: result for the same inputs can change.
ENGINE_VERSION: Final = "1"

#: Walking speed of the living-circle norms (GB 50180-2018): 15 minutes ≈ 900 m.
WALKING_SPEED_M_PER_MIN: Final = 60.0

#: Radii / cut-offs above this are refused as absurd (a county is < 200 km across).
MAX_RADIUS_M: Final = 200_000.0

#: A point set whose every coordinate falls in this box (lon 73–136 °E, lat 3–54 °N) is taken to be
#: longitude/latitude degrees, not projected metres (EPSG:4547 x ≈ 500 000, y ≈ 3 300 000).
_DEGREE_BOX: Final = (73.0, 3.0, 136.0, 54.0)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


# --------------------------------------------------------------------------- errors and checks


class CoverageInputError(ValueError):
    """Invalid input to the coverage engine.

    ``code`` is a stable key (``empty``, ``shape``, ``length_mismatch``, ``not_finite``,
    ``looks_like_degrees``, ``radius``, ``weight``, ``parameter`` …); ``message_zh`` and
    ``message_en`` say what is wrong and with which argument.  ``str(error)`` holds both.
    """

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh}（{message_en}）")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en

    def __reduce__(self) -> tuple[type[CoverageInputError], tuple[str, str, str]]:
        return (CoverageInputError, (self.code, self.message_zh, self.message_en))


def _readonly(*arrays: np.ndarray) -> None:
    """Freeze arrays the engine created itself (never a caller's array: inputs are copied)."""
    for a in arrays:
        a.setflags(write=False)


def walking_minutes_to_m(minutes: float, speed_m_per_min: float = WALKING_SPEED_M_PER_MIN) -> float:
    """Walking cut-off in metres for a time norm (5-, 10-, 15-minute circles at 60 m/min)."""
    return check_distance("minutes", minutes, positive=True) * check_distance(
        "speed_m_per_min", speed_m_per_min, positive=True
    )


def check_xy(name: str, xy: ArrayLike, *, allow_empty: bool = True) -> FloatArray:
    """``xy`` as a C-contiguous float64 ``(n, 2)`` array of projected metres, checked.

    A single point ``(x, y)`` is accepted as ``(1, 2)``.  Raises :class:`CoverageInputError` for a
    wrong shape, NaN/inf, an empty set when ``allow_empty`` is false, or coordinates that all look
    like longitude/latitude degrees in China.
    """
    try:
        arr = np.array(xy, dtype=np.float64)  # a copy: results may freeze it
    except (TypeError, ValueError) as exc:
        raise CoverageInputError(
            "shape", f"{name} 不是数值坐标数组：{exc}", f"{name} is not a numeric coordinate array: {exc}"
        ) from exc
    if arr.ndim == 1 and arr.shape[0] == 2:
        arr = arr.reshape(1, 2)
    if arr.ndim == 2 and arr.shape[0] == 0:
        arr = arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise CoverageInputError(
            "shape",
            f"{name} 应为 (n, 2) 的坐标数组（x, y，米），实际形状 {arr.shape}",
            f"{name} must be an (n, 2) array of x, y metres, got shape {arr.shape}",
        )
    if arr.shape[0] == 0 and not allow_empty:
        raise CoverageInputError("empty", f"{name} 为空", f"{name} is empty")
    if not np.isfinite(arr).all():
        bad = ~np.isfinite(arr).all(axis=1)
        first = int(np.flatnonzero(bad)[0])
        raise CoverageInputError(
            "not_finite",
            f"{name} 含 {int(bad.sum())} 个无效坐标（NaN 或无穷），第一个是第 {first} 个",
            f"{name} has {int(bad.sum())} non-finite coordinates (NaN or inf), first at index {first}",
        )
    if arr.shape[0]:
        (xmin, ymin), (xmax, ymax) = _bounds(arr)
        lo_x, lo_y, hi_x, hi_y = _DEGREE_BOX
        straight = lo_x <= xmin and xmax <= hi_x and lo_y <= ymin and ymax <= hi_y
        swapped = lo_x <= ymin and ymax <= hi_x and lo_y <= xmin and xmax <= hi_y
        if straight or swapped:
            raise CoverageInputError(
                "looks_like_degrees",
                f"{name} 的坐标像经纬度（度），覆盖分析需要投影坐标（米，如 EPSG:4547），请先投影",
                f"{name} looks like longitude/latitude degrees; the coverage engine needs projected "
                "metres (e.g. EPSG:4547): project first",
            )
    return np.ascontiguousarray(arr)


def check_weights(name: str, weights: ArrayLike | None, n: int) -> FloatArray:
    """Non-negative finite float64 weights of length ``n`` (``None`` = all ones)."""
    if weights is None:
        return np.ones(n)
    w = np.array(weights, dtype=np.float64)
    if w.ndim == 0:
        w = np.full(n, float(w))
    _check_length(name, w, n)
    if not np.isfinite(w).all():
        raise CoverageInputError(
            "weight",
            f"{name} 含缺失或无效值（NaN/无穷）",
            f"{name} has missing or non-finite values (NaN/inf)",
        )
    if (w < 0).any():
        first = int(np.flatnonzero(w < 0)[0])
        raise CoverageInputError(
            "weight",
            f"{name} 含负值（第 {first} 个为 {w[first]}）",
            f"{name} has negative values (index {first} is {w[first]})",
        )
    return w


def check_radius(name: str, radius_m: ArrayLike, n: int) -> FloatArray:
    """Radius per item (a scalar is broadcast): finite, > 0 and <= :data:`MAX_RADIUS_M` metres."""
    r = np.array(radius_m, dtype=np.float64)
    if r.ndim == 0:
        r = np.full(n, float(r))
    _check_length(name, r, n)
    if r.size and not np.isfinite(r).all():
        raise CoverageInputError("radius", f"{name} 含无效值（NaN/无穷）", f"{name} has NaN/inf values")
    if r.size and (r <= 0).any():
        raise CoverageInputError(
            "radius",
            f"{name} 必须大于 0 米（最小值 {r.min()}）",
            f"{name} must be > 0 m (minimum is {r.min()})",
        )
    if r.size and (r > MAX_RADIUS_M).any():
        raise CoverageInputError(
            "radius",
            f"{name} 不合理：{r.max():.0f} 米 > {MAX_RADIUS_M:.0f} 米（单位应为米）",
            f"{name} is absurd: {r.max():.0f} m > {MAX_RADIUS_M:.0f} m (units are metres)",
        )
    return np.ascontiguousarray(r)


def check_distance(name: str, value: float, *, positive: bool = False) -> float:
    """A finite scalar distance in metres, >= 0 (or > 0 when ``positive``)."""
    ok = (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
        and (float(value) > 0 if positive else float(value) >= 0)
    )
    if not ok:
        need_zh, need_en = ("正数", "a positive number") if positive else ("非负数", "a non-negative number")
        raise CoverageInputError(
            "parameter",
            f"参数 {name} 无效：{value!r}（应为{need_zh}，单位米）",
            f"parameter {name} is invalid: {value!r} (must be {need_en} of metres)",
        )
    return float(value)


def _bounds(xy: FloatArray) -> tuple[tuple[float, float], tuple[float, float]]:
    """((xmin, ymin), (xmax, ymax)); per column, much faster than ``min(axis=0)`` on (n, 2)."""
    x, y = xy[:, 0], xy[:, 1]
    return (float(x.min()), float(y.min())), (float(x.max()), float(y.max()))


def _check_length(name: str, arr: np.ndarray, n: int) -> None:
    if arr.ndim != 1 or arr.shape[0] != n:
        raise CoverageInputError(
            "length_mismatch",
            f"{name} 的长度 {arr.shape[0] if arr.ndim else 1} 与点数 {n} 不一致",
            f"{name} has length {arr.shape[0] if arr.ndim else 1}, expected {n}",
        )


# --------------------------------------------------------------------------- ragged helpers


def _ragged(counts: IntArray) -> tuple[IntArray, IntArray]:
    """For ``counts = [2, 0, 3]``: owners ``[0, 0, 2, 2, 2]`` and offsets ``[0, 1, 0, 1, 2]``."""
    counts = counts.astype(np.int64, copy=False)
    total = int(counts.sum())
    owner = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    offset = np.arange(total, dtype=np.int64) - starts[owner]
    return owner, offset


def _distance(dx: FloatArray, dy: FloatArray) -> FloatArray:
    """The one distance formula of the engine (so coverage, pairs and nearest agree on ties)."""
    return np.sqrt(dx * dx + dy * dy)


# --------------------------------------------------------------------------- the demand grid


@dataclass(frozen=True, eq=False)
class _Grid:
    """Demand points bucketed in a uniform grid, sorted row-major by cell.

    ``start[c] : start[c + 1]`` are the positions (in sorted order) of the points in cell ``c``;
    ``order[pos]`` maps back to the input index.  ``margin`` (metres) absorbs float rounding in the
    cell assignment: a cell is called *full* only if it is inside the disk with this margin, and
    *touched* cells are widened by it, so the grid never changes an exact result.
    """

    x0: float
    y0: float
    size: float
    nx: int
    ny: int
    order: IntArray
    xs: FloatArray
    ys: FloatArray
    cell: IntArray
    start: IntArray
    margin: float

    @classmethod
    def build(cls, xy: FloatArray, typical_radius_m: float) -> _Grid:
        n = xy.shape[0]
        if n == 0:
            empty_f, empty_i = np.empty(0), np.empty(0, dtype=np.int64)
            return cls(0.0, 0.0, 1.0, 1, 1, empty_i, empty_f, empty_f, empty_i, np.zeros(2, np.int64), 1e-6)
        lo, hi = (np.array(v) for v in _bounds(xy))
        w, h = float(hi[0] - lo[0]), float(hi[1] - lo[1])
        scale = float(max(np.abs(lo).max(), np.abs(hi).max()))
        margin = max(1e-6, 1e-9 * scale)
        # About one point per cell balances rows against points tested (see disk_rows); never
        # much smaller than a radius/64, never more cells than ~4n.
        size = max(math.sqrt(w * h / n) if w * h > 0 else max(w, h) / n, typical_radius_m / 64, 1e-3)
        while (math.floor(w / size) + 1) * (math.floor(h / size) + 1) > max(4 * n, 4096):
            size *= 1.5
        nx, ny = math.floor(w / size) + 1, math.floor(h / size) + 1
        ix = np.minimum(((xy[:, 0] - lo[0]) / size).astype(np.int64), nx - 1)
        iy = np.minimum(((xy[:, 1] - lo[1]) / size).astype(np.int64), ny - 1)
        cell = iy * nx + ix
        if nx * ny < 2**31:
            cell = cell.astype(np.int32)  # sorts faster
        order = np.argsort(cell)  # introsort: deterministic; the order within a cell does not matter
        cell_sorted = cell[order]
        start = np.zeros(nx * ny + 1, dtype=np.int64)
        np.cumsum(np.bincount(cell_sorted, minlength=nx * ny), out=start[1:])
        return cls(
            float(lo[0]),
            float(lo[1]),
            float(size),
            nx,
            ny,
            order,
            np.ascontiguousarray(xy[order, 0]),
            np.ascontiguousarray(xy[order, 1]),
            cell_sorted,
            start,
            margin,
        )

    def disk_rows(
        self, fx: FloatArray, fy: FloatArray, r: FloatArray
    ) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray, IntArray]:
        """Per (disk, grid row) it touches: disk index, row, touched columns ``[a, b]`` and
        wholly-inside columns ``[fa, fb]`` (empty when ``fa > fb``), all clipped to the grid."""
        s, m = self.size, self.margin
        row_lo = np.floor((fy - r - m - self.y0) / s).astype(np.int64)
        row_hi = np.floor((fy + r + m - self.y0) / s).astype(np.int64)
        row_lo = np.maximum(row_lo, 0)
        row_hi = np.minimum(row_hi, self.ny - 1)
        n_rows = np.maximum(row_hi - row_lo + 1, 0)
        disk, k = _ragged(n_rows)
        row = row_lo[disk] + k
        cx, cy, rr = fx[disk], fy[disk], r[disk]
        band_lo = self.y0 + row * s
        band_hi = band_lo + s
        dy_near = np.maximum(np.maximum(band_lo - cy, cy - band_hi), 0.0)
        dy_far = np.maximum(np.abs(band_lo - cy), np.abs(band_hi - cy)) + m
        r_out = rr + m
        h_touch = np.sqrt(np.maximum(r_out * r_out - dy_near * dy_near, 0.0))
        r_in = rr - m
        full_sq = r_in * r_in - dy_far * dy_far
        h_full = np.where(full_sq > 0, np.sqrt(np.maximum(full_sq, 0.0)), -np.inf)
        last = self.nx - 1
        a = np.clip(np.floor((cx - h_touch - self.x0) / s), 0, last).astype(np.int64)
        b = np.clip(np.floor((cx + h_touch - self.x0) / s), -1, last).astype(np.int64)
        b = np.where(cx + h_touch < self.x0, -1, b)  # the disk ends left of the grid
        a = np.where(cx - h_touch > self.x0 + self.nx * s, self.nx, a)
        with np.errstate(invalid="ignore"):
            fa = np.ceil((cx - h_full + m - self.x0) / s)
            fb = np.floor((cx + h_full - m - self.x0) / s) - 1
        has_full = np.isfinite(h_full)
        fa = np.where(has_full, np.clip(fa, 0, self.nx), self.nx).astype(np.int64)
        fb = np.where(has_full, np.clip(fb, -1, last), -1).astype(np.int64)
        fa = np.maximum(fa, a)
        fb = np.minimum(fb, b)
        return disk, row, a, b, fa, fb

    def span_points(self, row: IntArray, c_lo: IntArray, c_hi: IntArray) -> tuple[IntArray, IntArray]:
        """Sorted positions of the points in cells ``row, c_lo..c_hi`` (per span), with span owners."""
        ok = c_hi >= c_lo
        idx = np.flatnonzero(ok)
        base = row[idx] * self.nx
        p0 = self.start[base + c_lo[idx]]
        p1 = self.start[base + c_hi[idx] + 1]
        owner, offset = _ragged(p1 - p0)
        return idx[owner], p0[owner] + offset

    def disk_pairs(
        self, fx: FloatArray, fy: FloatArray, r: FloatArray, facility_base: int = 0
    ) -> tuple[IntArray, IntArray, FloatArray]:
        """All (facility, demand, distance) with distance <= r, facility indices from ``facility_base``."""
        disk, row, a, b, _, _ = self.disk_rows(fx, fy, r)
        span, pos = self.span_points(row, a, b)
        fac = disk[span]
        d = _distance(self.xs[pos] - fx[fac], self.ys[pos] - fy[fac])
        hit = d <= r[fac]
        return fac[hit] + facility_base, self.order[pos[hit]], d[hit]


def _chunks_by_rows(fy: FloatArray, r: FloatArray, size: float, budget: int) -> Iterable[slice]:
    """Slices of facilities whose disks span at most ~``budget`` grid rows together."""
    rows = np.cumsum(2 * r / size + 2)
    start = 0
    total = rows.shape[0]
    while start < total:
        base = rows[start - 1] if start else 0.0
        stop = int(np.searchsorted(rows, base + budget, side="right"))
        stop = max(stop, start + 1)
        yield slice(start, min(stop, total))
        start = stop


def _grid_counts(grid: _Grid, fxy: FloatArray, r: FloatArray) -> NDArray[np.int32]:
    """Number of disks containing each demand point (in input order), exactly."""
    n = grid.order.shape[0]
    counts_sorted = np.zeros(n, dtype=np.int32)
    if n == 0 or fxy.shape[0] == 0:
        return counts_sorted
    width = grid.nx + 1
    diff = np.zeros(grid.ny * width, dtype=np.int32)
    for chunk in _chunks_by_rows(fxy[:, 1], r, grid.size, 400_000):
        fx, fy, rr = fxy[chunk, 0], fxy[chunk, 1], r[chunk]
        disk, row, a, b, fa, fb = grid.disk_rows(fx, fy, rr)
        full = fa <= fb
        # Whole cells inside the disk: +1 on a difference array along the row, summed at the end.
        flat_row = row[full] * width
        diff += np.bincount(flat_row + fa[full], minlength=diff.size).astype(np.int32)
        diff -= np.bincount(flat_row + fb[full] + 1, minlength=diff.size).astype(np.int32)
        # Cells cut by the circle: left of the full run (or the whole touched run) and right of it.
        left_hi = np.where(full, fa - 1, b)
        right_lo = np.where(full, fb + 1, b + 1)
        rows2 = np.concatenate([row, row])
        lo2 = np.concatenate([a, right_lo])
        hi2 = np.concatenate([left_hi, b])
        disk2 = np.concatenate([disk, disk])
        span, pos = grid.span_points(rows2, lo2, hi2)
        fac = disk2[span]
        d = _distance(grid.xs[pos] - fx[fac], grid.ys[pos] - fy[fac])
        counts_sorted += np.bincount(pos[d <= rr[fac]], minlength=n).astype(np.int32)
    per_cell = np.cumsum(diff.reshape(grid.ny, width), axis=1, dtype=np.int32)[:, : grid.nx].ravel()
    counts_sorted += per_cell[grid.cell]
    counts = np.empty_like(counts_sorted)
    counts[grid.order] = counts_sorted
    return counts


# --------------------------------------------------------------------------- straight-line coverage


@dataclass(frozen=True, eq=False)
class StraightCoverage:
    """Straight-line (Euclidean, projected metres) coverage of demand points by facilities.

    Attributes:
        covered: reached by at least one facility (distance <= that facility's radius).
        n_reaching: number of facilities reaching the point.
        nearest_facility: index of the nearest facility (whatever its radius), -1 without facilities.
        nearest_distance_m: distance to it (inf without facilities).
        radius_m: the radius used per facility.
    """

    covered: BoolArray
    n_reaching: NDArray[np.int32]
    nearest_facility: IntArray
    nearest_distance_m: FloatArray
    radius_m: FloatArray
    engine_version: str = ENGINE_VERSION

    def covered_weight(self, weights: ArrayLike) -> float:
        """Sum of the weights of the covered points."""
        w = check_weights("weights", weights, self.covered.shape[0])
        return float(w[self.covered].sum())


def _nearest(grid: _Grid, facilities: FloatArray) -> tuple[IntArray, FloatArray]:
    """Nearest facility per demand point (input order), exactly.

    All (facility, point) pairs within ``r0`` (the typical facility spacing) come from the grid,
    the minimum per point is the nearest for every point with a facility that close (~96 % of
    points for evenly spread facilities); the rest ask a KD-tree of the facilities.
    """
    n, m = grid.order.shape[0], facilities.shape[0]
    idx = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    if m == 0 or n == 0:
        return idx, dist
    area = (grid.nx * grid.size) * (grid.ny * grid.size)
    r0 = np.full(m, max(math.sqrt(area / m), grid.size))
    for chunk in _chunks_by_rows(facilities[:, 1], r0, grid.size, 400_000):
        fac, pts, d = grid.disk_pairs(facilities[chunk, 0], facilities[chunk, 1], r0[chunk], chunk.start)
        np.minimum.at(dist, pts, d)
        best = d == dist[pts]  # dist only decreases: the last writer per point is a nearest one
        idx[pts[best]] = fac[best]
    far = np.flatnonzero(idx < 0)
    if far.size:
        # Same rule as above: the minimum of _distance, exact ties to the highest index (the tree
        # alone would break ties by its own order, and differently for a subset of facilities).
        pts = np.ascontiguousarray(_xy_of(grid, far))
        tree = cKDTree(facilities)
        k = min(4, m)
        kd_d, near = tree.query(pts, k=k, workers=-1)
        kd_d, near = kd_d.reshape(-1, k), near.reshape(-1, k).astype(np.int64)
        d = _distance(pts[:, :1] - facilities[near, 0], pts[:, 1:] - facilities[near, 1])
        dmin = d.min(axis=1)
        idx[far] = np.where(d == dmin[:, None], near, -1).max(axis=1)
        dist[far] = dmin
        redo = np.flatnonzero(~(kd_d[:, -1] > dmin * (1 + 1e-9) + 1e-9)) if k < m else np.empty(0, np.int64)
        if redo.size:  # k facilities (nearly) tie: look at every facility at the minimum
            lists = tree.query_ball_point(pts[redo], dmin[redo] * (1 + 1e-9) + 1e-9)
            lens = np.fromiter((len(x) for x in lists), dtype=np.int64, count=redo.size)
            cand = np.fromiter((j for x in lists for j in x), dtype=np.int64, count=int(lens.sum()))
            own = np.repeat(np.arange(redo.size), lens)
            dd = _distance(pts[redo[own], 0] - facilities[cand, 0], pts[redo[own], 1] - facilities[cand, 1])
            best = np.full(redo.size, np.inf)
            np.minimum.at(best, own, dd)
            top = np.full(redo.size, -1, dtype=np.int64)
            at_min = dd == best[own]
            np.maximum.at(top, own[at_min], cand[at_min])
            idx[far[redo]], dist[far[redo]] = top, best
    return idx, dist


def _xy_of(grid: _Grid, points: IntArray) -> FloatArray:
    """Coordinates of demand points (input indices) from the grid's sorted copies."""
    pos = np.empty(grid.order.shape[0], dtype=np.int64)
    pos[grid.order] = np.arange(grid.order.shape[0])
    return np.column_stack([grid.xs[pos[points]], grid.ys[pos[points]]])


def straight_coverage(demand_xy: ArrayLike, facility_xy: ArrayLike, radius_m: ArrayLike) -> StraightCoverage:
    """Straight-line coverage: covered flag, facilities reaching each point, nearest facility.

    Args:
        demand_xy: ``(n, 2)`` demand points, projected metres.
        facility_xy: ``(m, 2)`` facilities (may be empty: nothing is covered).
        radius_m: service radius, one for all or one per facility, metres (> 0).

    A point at exactly the radius is covered.  Memory is O(n + m + grid), never O(n·m).
    """
    demand = check_xy("demand_xy", demand_xy)
    fac = check_xy("facility_xy", facility_xy)
    r = check_radius("radius_m", radius_m, fac.shape[0])
    typical = float(np.median(r)) if r.size else 1.0
    grid = _Grid.build(demand, typical)
    counts = _grid_counts(grid, fac, r)
    nearest, dist = _nearest(grid, fac)
    covered = counts > 0
    _readonly(covered, counts, nearest, dist, r)
    return StraightCoverage(covered, counts, nearest, dist, r)


# --------------------------------------------------------------------------- distance pairs


@dataclass(frozen=True, eq=False)
class DistancePairs:
    """Sparse (demand, facility, distance) triples, e.g. all pairs within a radius or cut-off.

    Kept as triples (not a scipy matrix) so that zero distances survive (a demand point standing at
    a facility); :meth:`coverage_matrix` builds the boolean matrix the allocation code uses.
    """

    demand: IntArray
    facility: IntArray
    distance_m: FloatArray
    n_demand: int
    n_facility: int

    def __post_init__(self) -> None:
        for name in ("demand", "facility", "distance_m"):
            view = np.asarray(getattr(self, name)).view()  # read-only view; the caller's array stays writable
            view.setflags(write=False)
            object.__setattr__(self, name, view)

    @classmethod
    def from_arrays(
        cls, demand: ArrayLike, facility: ArrayLike, distance_m: ArrayLike, n_demand: int, n_facility: int
    ) -> DistancePairs:
        i = np.asarray(demand, dtype=np.int64).ravel()
        j = np.asarray(facility, dtype=np.int64).ravel()
        d = np.asarray(distance_m, dtype=np.float64).ravel()
        if not (i.shape == j.shape == d.shape):
            raise CoverageInputError(
                "length_mismatch",
                "距离对的三个数组长度不一致",
                "the demand, facility and distance arrays of the pairs differ in length",
            )
        if i.size and (i.min() < 0 or i.max() >= n_demand or j.min() < 0 or j.max() >= n_facility):
            raise CoverageInputError("shape", "距离对的下标越界", "pair index out of range")
        if d.size and (not np.isfinite(d).all() or (d < 0).any()):
            raise CoverageInputError(
                "parameter", "距离对含负值或无效值", "pair distances must be finite and >= 0"
            )
        return cls(i, j, d, int(n_demand), int(n_facility))

    @classmethod
    def from_dense(cls, distance_m: ArrayLike) -> DistancePairs:
        """Pairs from a dense ``(n_demand, n_facility)`` matrix; inf (or NaN) means unreachable."""
        d = np.asarray(distance_m, dtype=np.float64)
        if d.ndim != 2:
            raise CoverageInputError("shape", "距离矩阵应为二维", "the distance matrix must be 2-D")
        i, j = np.nonzero(np.isfinite(d))
        return cls.from_arrays(i, j, d[i, j], d.shape[0], d.shape[1])

    @classmethod
    def from_sparse(cls, distance_m: Any) -> DistancePairs:
        """Pairs from a scipy sparse ``(n_demand, n_facility)`` matrix: every *stored* entry is a
        pair, explicit zeros included (a demand point standing at a facility)."""
        coo = sp.coo_array(distance_m)
        return cls.from_arrays(coo.row, coo.col, coo.data, coo.shape[0], coo.shape[1])

    def within(self, limit_m: ArrayLike) -> DistancePairs:
        """The pairs with distance <= limit (a scalar or one limit per facility)."""
        lim = np.asarray(limit_m, dtype=np.float64)
        keep = self.distance_m <= (lim if lim.ndim == 0 else lim[self.facility])
        return DistancePairs(
            self.demand[keep], self.facility[keep], self.distance_m[keep], self.n_demand, self.n_facility
        )

    def coverage_matrix(self, limit_m: ArrayLike | None = None) -> sp.csr_array:
        """Boolean ``(n_facility, n_demand)`` CSR matrix: facility j covers demand i."""
        pairs = self if limit_m is None else self.within(limit_m)
        data = np.ones(pairs.demand.shape[0], dtype=bool)
        m = sp.csr_array((data, (pairs.facility, pairs.demand)), shape=(self.n_facility, self.n_demand))
        m.sum_duplicates()
        return m


def straight_pairs(demand_xy: ArrayLike, facility_xy: ArrayLike, radius_m: ArrayLike) -> DistancePairs:
    """All (demand, facility) pairs with straight-line distance <= the facility's radius."""
    demand = check_xy("demand_xy", demand_xy)
    fac = check_xy("facility_xy", facility_xy)
    r = check_radius("radius_m", radius_m, fac.shape[0])
    grid = _Grid.build(demand, float(np.median(r)) if r.size else 1.0)
    parts_f, parts_i, parts_d = [], [], []
    for chunk in _chunks_by_rows(fac[:, 1], r, grid.size, 200_000):
        f, i, d = grid.disk_pairs(fac[chunk, 0], fac[chunk, 1], r[chunk], chunk.start)
        parts_f.append(f)
        parts_i.append(i)
        parts_d.append(d)
    if not parts_f:
        parts_f, parts_i, parts_d = [np.empty(0, np.int64)], [np.empty(0, np.int64)], [np.empty(0)]
    return DistancePairs(
        np.concatenate(parts_i),
        np.concatenate(parts_f),
        np.concatenate(parts_d),
        demand.shape[0],
        fac.shape[0],
    )


def as_pairs(distances: DistancePairs | ArrayLike | Any) -> DistancePairs:
    """:class:`DistancePairs` from pairs, a dense matrix (inf = unreachable) or a scipy sparse matrix."""
    if isinstance(distances, DistancePairs):
        return distances
    if sp.issparse(distances):
        return DistancePairs.from_sparse(distances)
    return DistancePairs.from_dense(distances)


# --------------------------------------------------------------------------- what-if


@dataclass(frozen=True, eq=False)
class WhatIf:
    """Change in coverage when sites are added and/or closed (from :meth:`CoverageIndex.what_if`).

    ``newly_covered`` / ``newly_uncovered`` are demand indices; weights are in the index's units.
    """

    added_weight: float
    lost_weight: float
    covered_weight_before: float
    covered_weight_after: float
    total_weight: float
    newly_covered: IntArray
    newly_uncovered: IntArray
    runtime_s: float

    @property
    def net_weight(self) -> float:
        return self.added_weight - self.lost_weight

    @property
    def share_after(self) -> float:
        return self.covered_weight_after / self.total_weight if self.total_weight else math.nan


class CoverageIndex:
    """Straight-line coverage prepared for fast "what if I put one here" questions.

    Building it runs :func:`straight_coverage` once and keeps the demand grid and the count of
    facilities reaching every point; :meth:`what_if` then only looks at the points inside the
    added or closed disks (milliseconds on a million points).  The index itself never changes.
    """

    def __init__(
        self,
        demand_xy: ArrayLike,
        weights: ArrayLike | None,
        facility_xy: ArrayLike,
        radius_m: ArrayLike,
    ) -> None:
        self.demand_xy = check_xy("demand_xy", demand_xy)
        self.weights = check_weights("weights", weights, self.demand_xy.shape[0])
        self.facility_xy = check_xy("facility_xy", facility_xy)
        self.radius_m = check_radius("radius_m", radius_m, self.facility_xy.shape[0])
        typical = float(np.median(self.radius_m)) if self.radius_m.size else 1000.0
        self._grid = _Grid.build(self.demand_xy, typical)
        self.counts = _grid_counts(self._grid, self.facility_xy, self.radius_m)
        nearest, dist = _nearest(self._grid, self.facility_xy)
        covered = self.counts > 0
        _readonly(self.demand_xy, self.weights, self.facility_xy, self.radius_m, self.counts, covered)
        self.coverage = StraightCoverage(covered, self.counts, nearest, dist, self.radius_m)
        self.total_weight = float(self.weights.sum())
        self.covered_weight = float(self.weights[covered].sum())

    def what_if(
        self,
        add_xy: ArrayLike | None = None,
        add_radius_m: ArrayLike | None = None,
        close: Sequence[int] | IntArray = (),
    ) -> WhatIf:
        """Coverage change from adding sites at ``add_xy`` (radius per site or one) and closing the
        existing facilities with indices ``close``."""
        t0 = time.perf_counter()
        add = check_xy("add_xy", np.empty((0, 2)) if add_xy is None else add_xy)
        if add.shape[0] and add_radius_m is None:
            raise CoverageInputError(
                "radius", "新增设施需要服务半径 add_radius_m", "add_radius_m is required"
            )
        add_r = check_radius("add_radius_m", 1.0 if add_radius_m is None else add_radius_m, add.shape[0])
        close_idx = np.unique(np.asarray(close, dtype=np.int64))
        if close_idx.size and (close_idx.min() < 0 or close_idx.max() >= self.facility_xy.shape[0]):
            raise CoverageInputError(
                "unknown_facility",
                f"要关闭的设施下标不存在：{close_idx[(close_idx < 0) | (close_idx >= self.facility_xy.shape[0])].tolist()}",
                "a facility to close does not exist (index out of range)",
            )
        xs = np.concatenate([add[:, 0], self.facility_xy[close_idx, 0]])
        ys = np.concatenate([add[:, 1], self.facility_xy[close_idx, 1]])
        rs = np.concatenate([add_r, self.radius_m[close_idx]])
        sign = np.concatenate([np.ones(add.shape[0], np.int64), -np.ones(close_idx.shape[0], np.int64)])
        fac, pts, _ = self._grid.disk_pairs(xs, ys, rs)
        touched, inverse = np.unique(pts, return_inverse=True)
        delta = np.bincount(inverse, weights=sign[fac], minlength=touched.shape[0]).astype(np.int64)
        before = self.counts[touched]
        after = before + delta
        gained = touched[(before == 0) & (after > 0)]
        lost = touched[(before > 0) & (after <= 0)]
        added_w = float(self.weights[gained].sum())
        lost_w = float(self.weights[lost].sum())
        _readonly(gained, lost)
        return WhatIf(
            added_w,
            lost_w,
            self.covered_weight,
            self.covered_weight + added_w - lost_w,
            self.total_weight,
            gained,
            lost,
            time.perf_counter() - t0,
        )


# --------------------------------------------------------------------------- 2SFCA


def gaussian_decay(distance_m: FloatArray, catchment_m: FloatArray) -> FloatArray:
    """Gaussian distance decay of Ga2SFCA (Dai 2010): 1 at the facility, 0 at the catchment edge."""
    e = math.exp(-0.5)
    return (np.exp(-0.5 * (distance_m / catchment_m) ** 2) - e) / (1.0 - e)


@dataclass(frozen=True, eq=False)
class TwoStepFCA:
    """Two-step floating catchment area result.

    Attributes:
        ratio: R_j = capacity_j / Σ_i demand_i·W(d_ij) over the catchment (capacity per unit of
            demand, e.g. beds per person aged 60+; ×1000 for "per 1,000").  0 for a facility
            without demand in its catchment (flagged in ``facility_without_demand``).
        accessibility: A_i = Σ_j R_j·W(d_ij) over the facilities whose catchment holds i.
        demand_in_catchment: Σ_i demand_i·W(d_ij) per facility.
        facility_without_demand: no (weighted) demand in the catchment.
        demand_without_facility: no facility's catchment holds the point (A_i = 0).
    """

    ratio: FloatArray
    accessibility: FloatArray
    demand_in_catchment: FloatArray
    facility_without_demand: BoolArray
    demand_without_facility: BoolArray
    decay: str
    engine_version: str = ENGINE_VERSION


def two_step_fca(
    distances: DistancePairs | ArrayLike | Any,
    demand_weight: ArrayLike,
    capacity: ArrayLike,
    catchment_m: ArrayLike,
    decay: str | Callable[[FloatArray, FloatArray], FloatArray] | None = None,
) -> TwoStepFCA:
    """Capacity-aware accessibility by the two-step floating catchment area method (2SFCA).

    Step 1: every facility j divides its capacity S_j by the demand within its catchment,
    ``R_j = S_j / Σ_{d_ij <= d0_j} P_i·W(d_ij)``.  Step 2: every demand point sums the ratios of the
    facilities it can reach, ``A_i = Σ_{d_ij <= d0_j} R_j·W(d_ij)``.  So Σ_i P_i·A_i equals the total
    capacity of the facilities that have demand.

    Args:
        distances: :class:`DistancePairs`, a dense ``(n_demand, n_facility)`` matrix with inf for
            unreachable, or a scipy sparse matrix whose stored entries are the pairs.
        demand_weight: P_i (people, people 60+, households …), >= 0.
        capacity: S_j (beds, places …), >= 0.
        catchment_m: d0, one or per facility, metres.
        decay: None (W = 1 in the catchment, the classic 2SFCA), ``"gaussian"``
            (:func:`gaussian_decay`) or a function ``W(distance_m, catchment_m)``.
    """
    pairs = as_pairs(distances)
    p = check_weights("demand_weight", demand_weight, pairs.n_demand)
    s = check_weights("capacity", capacity, pairs.n_facility)
    d0 = check_radius("catchment_m", catchment_m, pairs.n_facility)
    inside = pairs.within(d0)
    i, j, d = inside.demand, inside.facility, inside.distance_m
    if decay is None:
        w = np.ones_like(d)
        decay_name = "none"
    elif decay == "gaussian":
        w = gaussian_decay(d, d0[j])
        decay_name = "gaussian"
    elif callable(decay):
        w = np.asarray(decay(d, d0[j]), dtype=np.float64)
        decay_name = getattr(decay, "__name__", "custom")
    else:
        raise CoverageInputError(
            "parameter", f"未知的距离衰减函数：{decay!r}（可选 None、gaussian）", f"unknown decay {decay!r}"
        )
    demand_in = np.bincount(j, weights=p[i] * w, minlength=pairs.n_facility)
    no_demand = demand_in <= 0
    ratio = np.divide(s, demand_in, out=np.zeros(pairs.n_facility), where=~no_demand)
    access = np.bincount(i, weights=ratio[j] * w, minlength=pairs.n_demand)
    reached = np.zeros(pairs.n_demand, dtype=bool)
    reached[i] = True
    no_fac = ~reached
    _readonly(ratio, access, demand_in, no_demand, no_fac)
    return TwoStepFCA(ratio, access, demand_in, no_demand, no_fac, decay_name)


# --------------------------------------------------------------------------- aggregation


@dataclass(frozen=True, eq=False)
class Aggregation:
    """Covered / uncovered demand per label (e.g. division code), labels sorted ascending.

    ``share`` is covered / total (NaN where the total weight is 0).
    """

    labels: np.ndarray
    covered_weight: FloatArray
    total_weight: FloatArray
    uncovered_weight: FloatArray
    share: FloatArray
    n_points: IntArray
    n_covered: IntArray

    def as_rows(self) -> list[dict[str, Any]]:
        """One dict per label (JSON-friendly, for reports and run storage)."""
        return [
            {
                "label": lab.item() if hasattr(lab, "item") else lab,
                "covered_weight": float(c),
                "total_weight": float(t),
                "uncovered_weight": float(u),
                "share": None if math.isnan(s) else float(s),
                "n_points": int(n),
                "n_covered": int(k),
            }
            for lab, c, t, u, s, n, k in zip(
                self.labels,
                self.covered_weight,
                self.total_weight,
                self.uncovered_weight,
                self.share,
                self.n_points,
                self.n_covered,
                strict=True,
            )
        ]


def aggregate(labels: ArrayLike, weights: ArrayLike | None, covered: ArrayLike) -> Aggregation:
    """Covered weight, total, share and uncovered weight per label (division code of each point).

    Integer labels (12-digit division codes as int64) are fastest; strings work too.  Hierarchical
    roll-ups (village → township → county) are the caller's: aggregate with the truncated code.
    """
    lab = np.asarray(labels)
    cov = np.asarray(covered)
    n = lab.shape[0] if lab.ndim == 1 else -1
    if lab.ndim != 1:
        raise CoverageInputError("shape", "labels 应为一维数组", "labels must be 1-D")
    _check_length("covered", cov, n)
    if cov.dtype != bool:
        raise CoverageInputError("shape", "covered 应为布尔数组", "covered must be a boolean array")
    w = check_weights("weights", weights, n)
    uniq, inv = np.unique(lab, return_inverse=True)
    k = uniq.shape[0]
    total = np.bincount(inv, weights=w, minlength=k)
    cov_w = np.bincount(inv, weights=np.where(cov, w, 0.0), minlength=k)
    n_pts = np.bincount(inv, minlength=k).astype(np.int64)
    n_cov = np.bincount(inv, weights=cov.astype(np.float64), minlength=k).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, cov_w / np.where(total > 0, total, 1.0), np.nan)
    out = Aggregation(uniq, cov_w, total, total - cov_w, share, n_pts, n_cov)
    _readonly(out.labels, cov_w, total, out.uncovered_weight, share, n_pts, n_cov)
    return out


@dataclass(frozen=True)
class UnitCoverage:
    """Share of units (communities, townships …) that have a site: the reports' "coverage rate".

    ``units_without_site`` lists the units to name in the report (sorted); ``unknown_units`` are ids
    that were given as having a site but are not among all units (a data error to show).
    """

    n_units: int
    n_with_site: int
    rate: float
    units_without_site: tuple[Any, ...]
    unknown_units: tuple[Any, ...]


def unit_coverage_rate(unit_ids_with_site: Iterable[Any], all_unit_ids: Iterable[Any]) -> UnitCoverage:
    """Coverage rate = units with >= 1 site / all units.

    E.g. the share of urban communities with an elderly-care site within the norm radius (ids from
    :func:`units_reached`), or the townships with a public cemetery (ids of the cemeteries'
    townships).  The rate of an empty unit list is NaN.
    """
    all_ids = list(dict.fromkeys(all_unit_ids))
    with_site = set(unit_ids_with_site)
    all_set = set(all_ids)
    n_with = len(with_site & all_set)
    missing = tuple(sorted((u for u in all_ids if u not in with_site), key=str))
    unknown = tuple(sorted(with_site - all_set, key=str))
    rate = n_with / len(all_ids) if all_ids else math.nan
    return UnitCoverage(len(all_ids), n_with, rate, missing, unknown)


def units_reached(labels: ArrayLike, covered: ArrayLike) -> np.ndarray:
    """Sorted unique labels having at least one covered point (e.g. communities whose centre point
    is within a site's radius)."""
    lab = np.asarray(labels)
    cov = np.asarray(covered, dtype=bool)
    _check_length("covered", cov, lab.shape[0])
    return np.unique(lab[cov])


# --------------------------------------------------------------------------- uncovered polygons


@dataclass(frozen=True)
class UncoveredArea:
    """The part of the study area outside every service area (for the map)."""

    geometry: BaseGeometry
    area_m2: float
    study_area_m2: float

    @property
    def share(self) -> float:
        return self.area_m2 / self.study_area_m2 if self.study_area_m2 else math.nan


def _check_area(study_area: BaseGeometry) -> BaseGeometry:
    if not isinstance(study_area, BaseGeometry) or study_area.is_empty:
        raise CoverageInputError("empty", "研究区范围为空", "the study area is empty")
    if shapely.get_type_id(study_area) not in (3, 6):
        raise CoverageInputError(
            "shape", "研究区应为面（Polygon）", "the study area must be a (Multi)Polygon"
        )
    if not study_area.is_valid:
        study_area = shapely.make_valid(study_area)
    return study_area


def uncovered_polygons(
    study_area: BaseGeometry, facility_xy: ArrayLike, radius_m: ArrayLike, *, quad_segs: int = 16
) -> UncoveredArea:
    """Study area minus the union of the facilities' straight-line disks.

    The disks are polygons with ``4·quad_segs`` vertices inscribed in the circle, so the uncovered
    area is overstated by at most ``1 − cos(π / (4·quad_segs))`` of a radius (0.05 % at 16).
    """
    area = _check_area(study_area)
    fac = check_xy("facility_xy", facility_xy)
    r = check_radius("radius_m", radius_m, fac.shape[0])
    if fac.shape[0] == 0:
        return UncoveredArea(area, float(area.area), float(area.area))
    disks = shapely.buffer(shapely.points(fac), r, quad_segs=quad_segs)
    hit = shapely.intersects(disks, area)
    union = shapely.union_all(disks[hit])
    rest = shapely.difference(area, union)
    return UncoveredArea(rest, float(rest.area), float(area.area))


def network_uncovered_polygons(
    study_area: BaseGeometry, service_lines: Sequence[BaseGeometry] | Any, walk_offset_m: float
) -> UncoveredArea:
    """Study area minus the reachable road lines buffered by ``walk_offset_m`` (the distance
    people walk off the road to a door); use with :func:`network.service_area_lines`."""
    area = _check_area(study_area)
    offset = check_distance("walk_offset_m", walk_offset_m, positive=True)
    lines = np.asarray(getattr(service_lines, "lines", service_lines), dtype=object)
    if lines.size == 0:
        return UncoveredArea(area, float(area.area), float(area.area))
    union = shapely.union_all(shapely.buffer(lines, offset, quad_segs=8))
    rest = shapely.difference(area, union)
    return UncoveredArea(rest, float(rest.area), float(area.area))


def points_outside(area: BaseGeometry, xy: ArrayLike) -> BoolArray:
    """Mask of the points not inside or on ``area`` (e.g. facilities or demand outside the county)."""
    pts = check_xy("xy", xy)
    region = _check_area(area)
    shapely.prepare(region)
    return ~shapely.covers(region, shapely.points(pts))


# --------------------------------------------------------------------------- siting exclusions


@dataclass(frozen=True, eq=False)
class ExclusionLayer:
    """A siting constraint as data: no site inside ``geometries`` or closer than ``buffer_m``.

    Examples: 水源保护区 (polygons, buffer 0), 铁路 / 高速公路 (lines, 500 m), 居民点 (dwelling points,
    the minimum distance from houses).  ``name`` appears in the rejection reasons.
    """

    name: str
    geometries: Any
    buffer_m: float = 0.0

    def __post_init__(self) -> None:
        if not self.name:
            raise CoverageInputError("parameter", "排除图层需要名称", "an exclusion layer needs a name")
        check_distance("buffer_m", self.buffer_m)
        geoms = np.asarray(self.geometries, dtype=object).ravel()
        if geoms.size and not all(isinstance(g, BaseGeometry) for g in geoms):
            raise CoverageInputError(
                "shape",
                f"排除图层 {self.name} 的要素必须是几何对象",
                f"exclusion layer {self.name}: features must be geometries",
            )
        object.__setattr__(self, "geometries", geoms)


@dataclass(frozen=True, eq=False)
class ExclusionResult:
    """Which candidates respect every exclusion layer.

    ``distance_m[c, l]`` is the distance from candidate c to layer l where it violates the layer,
    inf where it does not; ``reasons[c]`` is the Chinese reason list ("距铁路 120 m < 500 m；…"),
    empty for allowed candidates; ``reasons_en`` the same in English.
    """

    allowed: BoolArray
    distance_m: FloatArray
    layer_names: tuple[str, ...]
    reasons: tuple[str, ...]
    reasons_en: tuple[str, ...]


def apply_exclusions(candidate_xy: ArrayLike, layers: Sequence[ExclusionLayer]) -> ExclusionResult:
    """Test candidate sites against exclusion layers.

    A candidate violates a layer when it lies inside or on one of its geometries, or is closer than
    ``buffer_m`` to one (distance < buffer; exactly at the buffer distance is allowed).
    """
    cand = check_xy("candidate_xy", candidate_xy)
    n = cand.shape[0]
    pts = shapely.points(cand)
    dist = np.full((n, len(layers)), np.inf)
    for col, layer in enumerate(layers):
        if layer.geometries.size == 0 or n == 0:
            continue
        tree = shapely.STRtree(layer.geometries)
        reach = max(layer.buffer_m, 1e-9)
        (pi, _), dd = tree.query_nearest(pts, max_distance=reach, return_distance=True, all_matches=False)
        bad = (dd < layer.buffer_m) | (dd == 0)
        dist[pi[bad], col] = dd[bad]
    allowed = ~np.isfinite(dist).any(axis=1)
    names = tuple(layer.name for layer in layers)
    zh: list[str] = []
    en: list[str] = []
    for c in range(n):
        parts_zh, parts_en = [], []
        for col in np.flatnonzero(np.isfinite(dist[c])):
            d, layer = dist[c, col], layers[col]
            if d == 0:
                parts_zh.append(f"位于{layer.name}范围内")
                parts_en.append(f"inside {layer.name}")
            else:
                parts_zh.append(f"距{layer.name} {d:.0f} m < {layer.buffer_m:.0f} m")
                parts_en.append(f"{d:.0f} m from {layer.name} < {layer.buffer_m:.0f} m")
        zh.append("；".join(parts_zh))
        en.append("; ".join(parts_en))
    _readonly(allowed, dist)
    return ExclusionResult(allowed, dist, names, tuple(zh), tuple(en))


# --------------------------------------------------------------------------- re-exports

_LAZY: Final = {
    "RoadGraph": "network",
    "Snap": "network",
    "NetworkCoverage": "network",
    "ServiceArea": "network",
    "network_coverage": "network",
    "network_pairs": "network",
    "service_area_lines": "network",
    "MCLPResult": "allocation",
    "LSCPResult": "allocation",
    "mclp": "allocation",
    "lscp": "allocation",
    "coverage_matrix": "allocation",
}


def __getattr__(name: str) -> Any:
    """Network and allocation names, importable from here too (loaded on first use)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"geo_mz.coverage.{module}"), name)

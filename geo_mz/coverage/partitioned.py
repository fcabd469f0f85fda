"""Coverage partitioned by division on Dask (分区覆盖分析): the same results as one process.

Pure module: numpy, pandas, scipy, dask and the coverage engines, no Django (DESIGN §1, §7 "keep the
coverage engine partitionable by division").  Coordinates, radii and cut-offs are projected metres
(e.g. EPSG:4547), exactly as in :mod:`geo_mz.coverage.engine` and :mod:`geo_mz.coverage.network`.

**How it runs.**  :func:`partition_divisions` puts whole divisions (township codes: a division is
never split) into ``npartitions`` groups of about the same number of demand points, by recursive
coordinate bisection of the divisions' centroids, so each group is spatially compact.  One Dask
task per group computes the coverage of that group's points with the ordinary engine and returns
per-point arrays, which are put back in the input order.  A task receives only the facilities that
can matter for its points (below); the full facility arrays and the road graph go to each worker
once (``client.scatter``), and a task carries only its points and the indices of its facilities.
With ``client=None`` the tasks run on Dask's local threaded scheduler (one machine); with a
``distributed.Client`` they run on its cluster (a ``LocalCluster``, or ``python -m dask scheduler``
/ ``python -m dask worker`` started from the project directory on machines with the same environment
and code: the scheduler and the workers import this module to unpickle the tasks).

**Which facilities a task gets.**  With ``B`` the bounding box of the group's points:

* *reaching* (straight mode): facilities whose distance to ``B`` is <= their radius.  A facility
  farther from the box than its radius reaches none of the points in it.
* *nearest* (straight mode): ``B`` is cut into up to 32 × 32 cells; for an occupied cell with centre
  ``c``, half-diagonal ``h`` and nearest facility at ``d_c`` from ``c``, every point of the cell has
  a facility within ``h + d_c``, so its nearest facility is within ``d_c + 2h`` of ``c``.  The task
  gets the union of those facilities.
* *network mode*: network distance >= straight distance (the snap walks and the road path are
  never shorter than the straight line), so the reaching facilities are within their cut-off of
  ``B`` (plus both snap walks when ``count_snap`` is off).  But network distances also depend on
  where the edges are split: every snapped demand point and facility becomes a node, and a path's
  length is the float sum of its pieces (measured: without the points of the other partitions,
  ~2 % of the network distances differ in the last bits).  A path of length <= cut-off_j from
  facility j lies within cut-off_j of it (+ its snap walk without ``count_snap``), and a point
  splits an edge only within ``max_snap_m`` of where it stands.  So the task also gets, as a
  *halo*, every demand point and facility within ``cut-off_j + max_snap_m`` (``+ 2·max_snap_m``
  without ``count_snap``) of a reaching facility j: the same split points on every path that can
  count, hence the same pieces and the same float sums as in one process.  Halo results are
  dropped.  One placed facility per connected road component is added too, so that "no route"
  (:data:`network.NO_ROUTE`) means the same as in one process; one not already in the task's set
  lies outside the halo, so it neither reaches the group's points nor splits an edge that counts.
  (The network result has no nearest facility: that would need every facility in every task.)

Every bound is widened by :data:`SLACK_M`.  Extra facilities never change a result: counts only
include facilities within their radius, and the nearest is a minimum.

**Why the results are bit-identical.**  Every per-point result depends only on that point and the
facilities (and, on the network, the road pieces) that can reach it or be nearest to it, never on
the other demand points:

* ``covered`` / ``n_reaching`` are the engine's own exact counts: a point is reached by facility j
  when ``sqrt(dx*dx + dy*dy) <= radius_j`` in float64, the same operation on the same float64
  values in every partition (the engine's grid only decides which pairs to test, with a margin
  that never changes an exact result).  The network counts are the engine's, on the same pieces.
* ``nearest_distance_m`` is the minimum of that same distance formula (:func:`engine._distance`)
  over the candidate facilities, which include every facility that can be nearest.
* ``nearest_facility`` is the facility at that minimum distance, **ties going to the highest
  global facility index** — the rule of the engine's grid pass, where the last (highest) facility
  at the minimum wins.  Facility subsets keep the global order and indices are mapped back to
  global ones, so a tie resolves the same in every partition.  (The single-process engine sends
  points with no facility within the typical spacing to a ``cKDTree`` query instead, which
  breaks exact ties between equidistant facilities by tree order, not by index: only there can a
  single-process ``nearest_facility`` differ from this module's, and only for exact ties.)

A partition's scheduler (threads, processes, remote machines) does not enter any of this: the
tasks are pure functions of their inputs.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import dask
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from geo_mz.coverage import network
from geo_mz.coverage.engine import (
    ENGINE_VERSION,
    CoverageInputError,
    _distance,
    _readonly,
    check_distance,
    check_radius,
    check_xy,
    straight_coverage,
)

__all__ = [
    "MODES",
    "SLACK_M",
    "PartitionedCoverage",
    "Partitioning",
    "partition_divisions",
    "partitioned_coverage",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

MODES: Final = ("straight", "network")

#: Every facility / halo bound is widened by this many metres: a superset never changes a result,
#: and it absorbs any float rounding in the bounds themselves.
SLACK_M: Final = 1.0

#: Nearest candidates asked of the KD-tree per point before checking for ties beyond them (2: a
#: second one at the same distance sends the point to the exact check of every tied facility).
_K_NEAREST: Final = 2


# --------------------------------------------------------------------------- partitioning


@dataclass(frozen=True, eq=False)
class Partitioning:
    """Whole divisions grouped into partitions.

    Attributes:
        labels: the distinct division labels (sorted when they can be).
        label_partition: partition of each label.
        point_label: index into ``labels`` of each point.
        point_partition: partition of each point.
        n_points: points per partition.
    """

    labels: np.ndarray
    label_partition: IntArray
    point_label: IntArray
    point_partition: IntArray
    n_points: IntArray

    @property
    def npartitions(self) -> int:
        return int(self.n_points.shape[0])

    def groups(self) -> list[list[Any]]:
        """The labels of each partition."""
        out: list[list[Any]] = [[] for _ in range(self.npartitions)]
        for lab, p in zip(self.labels.tolist(), self.label_partition.tolist(), strict=True):
            out[p].append(lab)
        return out


def _factorize(labels: np.ndarray) -> tuple[IntArray, np.ndarray]:
    try:
        codes, uniq = pd.factorize(labels, sort=True, use_na_sentinel=False)
    except TypeError:  # labels of mixed types cannot be sorted: first appearance
        codes, uniq = pd.factorize(labels, sort=False, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniq)


def _check_npartitions(npartitions: int) -> int:
    if isinstance(npartitions, bool) or not isinstance(npartitions, int | np.integer) or npartitions < 1:
        raise CoverageInputError(
            "parameter",
            f"分区数 npartitions 应为正整数：{npartitions!r}",
            f"npartitions must be a positive integer, got {npartitions!r}",
        )
    return int(npartitions)


def _check_labels(labels: ArrayLike, n: int) -> np.ndarray:
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != n:
        got = lab.shape[0] if lab.ndim == 1 else f"形状 {lab.shape}"
        got_en = lab.shape[0] if lab.ndim == 1 else f"shape {lab.shape}"
        raise CoverageInputError(
            "length_mismatch",
            f"区划标签 labels 的长度 {got} 与需求点数 {n} 不一致（每个需求点一个区划代码）",
            f"labels has length {got_en}, expected {n} (one division code per demand point)",
        )
    return lab


def partition_divisions(labels: ArrayLike, xy: ArrayLike, npartitions: int) -> Partitioning:
    """Group whole divisions into at most ``npartitions`` partitions of similar point counts.

    Recursive coordinate bisection: the divisions' centroids (mean of their points) are sorted
    along the wider axis and cut where the point counts are closest to the share of partitions on
    each side; each side is split again.  Deterministic (ties in a coordinate by label order).
    Fewer divisions than partitions give one partition per division.
    """
    pts = check_xy("xy", xy)
    n_req = _check_npartitions(npartitions)
    lab = _check_labels(labels, pts.shape[0])
    point_label, uniq = _factorize(lab)
    n_lab = uniq.shape[0]
    count = np.bincount(point_label, minlength=n_lab).astype(np.int64)
    cx = np.bincount(point_label, weights=pts[:, 0], minlength=n_lab) / np.maximum(count, 1)
    cy = np.bincount(point_label, weights=pts[:, 1], minlength=n_lab) / np.maximum(count, 1)
    centre = np.column_stack([cx, cy])

    def bisect(ids: IntArray, k: int) -> list[IntArray]:
        if k <= 1 or ids.shape[0] <= 1:
            return [ids]
        if ids.shape[0] <= k:
            return [ids[i : i + 1] for i in range(ids.shape[0])]
        c = centre[ids]
        axis = 0 if np.ptp(c[:, 0]) >= np.ptp(c[:, 1]) else 1
        order = ids[np.lexsort((ids, c[:, axis]))]
        k_left = k // 2
        cum = np.cumsum(count[order])
        target = cum[-1] * k_left / k
        first = int(np.searchsorted(cum, target)) + 1  # fewest divisions reaching the target
        cut = min((first - 1, first), key=lambda c_: abs((cum[c_ - 1] if c_ else 0) - target))
        cut = int(np.clip(cut, k_left, order.shape[0] - (k - k_left)))
        return bisect(order[:cut], k_left) + bisect(order[cut:], k - k_left)

    groups = bisect(np.arange(n_lab, dtype=np.int64), n_req) if n_lab else []
    label_partition = np.empty(n_lab, dtype=np.int64)
    for p, ids in enumerate(groups):
        label_partition[ids] = p
    point_partition = label_partition[point_label] if n_lab else np.empty(0, dtype=np.int64)
    n_points = np.bincount(point_partition, minlength=len(groups)).astype(np.int64)
    _readonly(label_partition, point_label, point_partition, n_points)
    return Partitioning(uniq, label_partition, point_label, point_partition, n_points)


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class PartitionedCoverage:
    """Coverage computed partition by partition, in the input order of the demand points.

    Attributes:
        covered, n_reaching: as :class:`engine.StraightCoverage` / :class:`network.NetworkCoverage`.
        nearest_facility, nearest_distance_m: straight mode only (None on the network): the global
            index of the nearest facility (ties: the highest index), -1 / inf without facilities.
        status, facility_snapped: network mode only (None for straight lines).
        partitioning: which division went to which partition.
        partition_facilities: facilities sent to each partition's task.
        partition_halo: network mode: halo demand points sent along with each partition.
        scheduler: ``"threads"`` or the address of the distributed scheduler.
    """

    covered: BoolArray
    n_reaching: NDArray[np.int32]
    nearest_facility: IntArray | None
    nearest_distance_m: FloatArray | None
    status: NDArray[np.int8] | None
    facility_snapped: BoolArray | None
    mode: str
    partitioning: Partitioning
    partition_facilities: IntArray
    partition_halo: IntArray
    scheduler: str
    engine_version: str = ENGINE_VERSION

    @property
    def npartitions(self) -> int:
        return self.partitioning.npartitions


# --------------------------------------------------------------------------- tasks


@dataclass(frozen=True, eq=False)
class _Shared:
    """Sent to each worker once: all facilities and (network) the road graph."""

    mode: str
    facility_xy: FloatArray
    radius_m: FloatArray
    graph: network.RoadGraph | None = None
    count_snap: bool = True
    max_snap_m: float = network.DEFAULT_MAX_SNAP_M


@dataclass(frozen=True, eq=False)
class _Payload:
    """One partition: its points (then the halo points), and global facility indices (ascending)."""

    index: int
    xy: FloatArray
    n_own: int
    reach: IntArray
    near: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


def _nearest(
    points: FloatArray, facility_xy: FloatArray, candidates: IntArray
) -> tuple[IntArray, FloatArray]:
    """Nearest facility (global index) and distance per point among ``candidates`` (ascending
    global indices): the minimum of :func:`engine._distance`, ties to the highest index."""
    n = points.shape[0]
    idx = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    if n == 0 or candidates.shape[0] == 0:
        return idx, dist
    cxy = facility_xy[candidates]
    tree = cKDTree(cxy)
    k = min(_K_NEAREST, candidates.shape[0])
    # queried in row-major order of a 256 × 256 grid (about twice as fast as scattered points; the
    # answer for a point does not depend on the order)
    lo, span = points.min(axis=0), np.maximum(np.ptp(points, axis=0), 1e-6)
    cell = np.minimum((points - lo) / span * 256, 255).astype(np.int64)
    order = np.argsort(cell[:, 1] * 256 + cell[:, 0], kind="stable")
    kd_d, kd_i = np.empty((n, k)), np.empty((n, k), dtype=np.int64)
    found_d, found_i = tree.query(points[order], k=k)
    kd_d[order], kd_i[order] = found_d.reshape(n, k), found_i.reshape(n, k)
    d = _distance(points[:, :1] - cxy[kd_i, 0], points[:, 1:] - cxy[kd_i, 1])
    dmin = d.min(axis=1)
    idx[:] = np.where(d == dmin[:, None], candidates[kd_i], -1).max(axis=1)
    dist[:] = dmin
    if k < candidates.shape[0]:
        # Facilities not among the k have a tree distance >= the k-th; when that is (nearly) the
        # minimum, more facilities may tie: ask for all within the minimum and decide exactly.
        redo = np.flatnonzero(~(kd_d[:, -1] > dmin * (1 + 1e-9) + 1e-9))
        if redo.size:
            lists = tree.query_ball_point(points[redo], dmin[redo] * (1 + 1e-9) + 1e-9)
            lens = np.fromiter((len(x) for x in lists), dtype=np.int64, count=redo.size)
            near = np.fromiter((j for x in lists for j in x), dtype=np.int64, count=int(lens.sum()))
            own = np.repeat(np.arange(redo.size), lens)
            dd = _distance(points[redo[own], 0] - cxy[near, 0], points[redo[own], 1] - cxy[near, 1])
            best = np.full(redo.size, np.inf)
            np.minimum.at(best, own, dd)
            at_min = dd == best[own]
            top = np.full(redo.size, -1, dtype=np.int64)
            np.maximum.at(top, own[at_min], candidates[near[at_min]])
            idx[redo], dist[redo] = top, best
    return idx, dist


def _run_partition(payload: _Payload, shared: _Shared) -> dict[str, np.ndarray]:
    """The Dask task: coverage of one partition's points (the first ``n_own`` rows)."""
    own = payload.n_own
    if shared.mode == "straight":
        res = straight_coverage(payload.xy, shared.facility_xy[payload.reach], shared.radius_m[payload.reach])
        nearest, dist = _nearest(payload.xy, shared.facility_xy, payload.near)
        return {
            "covered": res.covered,
            "n_reaching": res.n_reaching,
            "nearest_facility": nearest,
            "nearest_distance_m": dist,
        }
    assert shared.graph is not None
    res_n = network.network_coverage(
        shared.graph,
        payload.xy,
        shared.facility_xy[payload.reach],
        shared.radius_m[payload.reach],
        count_snap=shared.count_snap,
        max_snap_m=shared.max_snap_m,
    )
    return {
        "covered": res_n.covered[:own],
        "n_reaching": res_n.n_reaching[:own],
        "status": res_n.status[:own],
    }


# --------------------------------------------------------------------------- planning


def _box_distance(fxy: FloatArray, box: tuple[float, float, float, float]) -> FloatArray:
    """Distance from each facility to the box (0 inside)."""
    x0, y0, x1, y1 = box
    fx, fy = fxy[:, 0], fxy[:, 1]
    dx = np.maximum(np.maximum(x0 - fx, fx - x1), 0.0)
    dy = np.maximum(np.maximum(y0 - fy, fy - y1), 0.0)
    return np.hypot(dx, dy)


def _nearest_candidates(
    tree: cKDTree, own: FloatArray, box: tuple[float, float, float, float], cells: int = 32
) -> IntArray:
    """Every facility that can be the nearest of a point in ``own``, from the occupied cells of a
    grid over ``box`` (see the module docstring)."""
    x0, y0, x1, y1 = box
    w, h = max(x1 - x0, 1e-6) / cells, max(y1 - y0, 1e-6) / cells
    ix = np.clip(((own[:, 0] - x0) / w).astype(np.int64), 0, cells - 1)
    iy = np.clip(((own[:, 1] - y0) / h).astype(np.int64), 0, cells - 1)
    occupied = np.unique(iy * cells + ix)
    centre = np.column_stack([x0 + (occupied % cells + 0.5) * w, y0 + (occupied // cells + 0.5) * h])
    half_diagonal = math.hypot(w, h) / 2 + SLACK_M  # the slack covers points rounded into a cell
    d_c, _ = tree.query(centre, k=1)
    lists = tree.query_ball_point(centre, d_c + 2 * half_diagonal + SLACK_M)
    return np.unique(np.fromiter((j for x in lists for j in x), dtype=np.int64))


def _in_box(xy: FloatArray, box: tuple[float, float, float, float], pad: float) -> BoolArray:
    x0, y0, x1, y1 = box
    x, y = xy[:, 0], xy[:, 1]
    return (x >= x0 - pad) & (x <= x1 + pad) & (y >= y0 - pad) & (y <= y1 + pad)


def _components_representatives(
    graph: network.RoadGraph, facility_xy: FloatArray, max_snap_m: float
) -> tuple[BoolArray, IntArray]:
    """Facilities placed on the network, and the lowest-index placed facility of each component."""
    snap = graph.snap(facility_xy, max_snap_m)
    placed = np.flatnonzero(snap.ok)
    comp = graph.edge_component[snap.edge[placed]]
    _, first = np.unique(comp, return_index=True)
    return np.asarray(snap.ok, dtype=bool).copy(), np.sort(placed[first])


def _halo(
    xy: FloatArray, candidates: IntArray, fac: FloatArray, radius_m: FloatArray, box: tuple[float, ...]
) -> IntArray:
    """The entries of ``candidates`` (indices into ``xy``) within ``radius_m[j]`` of some facility
    ``fac[j]``: a box pre-filter, then the engine's exact straight-line test."""
    if candidates.shape[0] == 0 or fac.shape[0] == 0:
        return np.empty(0, dtype=np.int64)
    near_box = candidates[_in_box(xy[candidates], box, float(radius_m.max()) * 2)]
    hit = straight_coverage(xy[near_box], fac, radius_m).covered
    return near_box[hit]


def _plan(
    demand: FloatArray,
    parts: Partitioning,
    fac: FloatArray,
    radius: FloatArray,
    mode: str,
    *,
    count_snap: bool,
    max_snap_m: float,
    representatives: IntArray,
) -> list[_Payload]:
    """One payload per partition: its points (+ the halo), and the facilities its task needs."""
    order = np.argsort(parts.point_partition, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(parts.n_points)])
    # network: a reaching facility is within cutoff (+ both snap walks when they are not counted) of
    # a point; the paths it reaches them by lie within cutoff (+ its snap walk) of it, and a point
    # or facility split an edge there only if it is within max_snap_m of that
    reach_extra = 0.0 if mode == "straight" or count_snap else 2 * max_snap_m
    halo_extra = (1 if count_snap else 2) * max_snap_m + SLACK_M
    all_fac = np.arange(fac.shape[0], dtype=np.int64)
    tree = cKDTree(fac) if mode == "straight" and fac.shape[0] else None
    payloads: list[_Payload] = []
    for p in range(parts.npartitions):
        idx = order[bounds[p] : bounds[p + 1]]
        own = demand[idx]
        box = (
            float(own[:, 0].min()),
            float(own[:, 1].min()),
            float(own[:, 0].max()),
            float(own[:, 1].max()),
        )
        reach = np.flatnonzero(_box_distance(fac, box) <= radius + reach_extra + SLACK_M)
        if mode == "straight":
            near = _nearest_candidates(tree, own, box) if tree is not None else np.empty(0, np.int64)
            payloads.append(_Payload(p, own, idx.shape[0], reach, near))
            continue
        others = np.concatenate([order[: bounds[p]], order[bounds[p + 1] :]])
        halo_r = radius[reach] + halo_extra
        halo = np.sort(_halo(demand, others, fac[reach], halo_r, box))
        splitting = _halo(fac, all_fac, fac[reach], halo_r, box)
        task_fac = np.union1d(np.union1d(reach, splitting), representatives).astype(np.int64)
        xy = np.ascontiguousarray(np.vstack([own, demand[halo]]))
        payloads.append(_Payload(p, xy, idx.shape[0], task_fac))
    return payloads


def _compute(
    payloads: list[_Payload], shared: _Shared, client: Any | None
) -> tuple[list[dict[str, np.ndarray]], str]:
    """Run one task per payload on Dask: the threaded scheduler, or the client's cluster with the
    shared object scattered once and the payloads spread over the workers."""
    token = uuid.uuid4().hex[:12]
    task: Callable[..., Any] = dask.delayed(_run_partition, pure=False)
    if client is None:
        tasks = [task(p, shared, dask_key_name=f"coverage-partition-{p.index}-{token}") for p in payloads]
        return list(dask.compute(*tasks, scheduler="threads")), "threads"
    shared_f = client.scatter(shared, hash=False)
    payload_fs = client.scatter(payloads, hash=False)
    futures = [
        client.submit(_run_partition, pf, shared_f, key=f"coverage-partition-{p.index}-{token}", pure=False)
        for p, pf in zip(payloads, payload_fs, strict=True)
    ]
    try:
        results = client.gather(futures)
    finally:
        client.cancel([*futures, *payload_fs, shared_f])
    return list(results), str(client.scheduler.address)


# --------------------------------------------------------------------------- entry point


def partitioned_coverage(
    demand_xy: ArrayLike,
    labels: ArrayLike,
    facility_xy: ArrayLike,
    radius_m: ArrayLike,
    *,
    npartitions: int = 4,
    client: Any | None = None,
    mode: str = "straight",
    graph: network.RoadGraph | None = None,
    count_snap: bool = True,
    max_snap_m: float = network.DEFAULT_MAX_SNAP_M,
) -> PartitionedCoverage:
    """Coverage of demand points by facilities, one Dask task per group of whole divisions.

    Args:
        demand_xy: ``(n, 2)`` demand points, projected metres.
        labels: division label (e.g. township code) per demand point; a division is never split.
        facility_xy: ``(m, 2)`` facilities (may be empty).
        radius_m: radius (straight) or network cut-off, one or per facility, metres.
        npartitions: number of partitions asked for (fewer when there are fewer divisions).
        client: a ``distributed.Client``; None runs the tasks on Dask's threaded scheduler.
        mode: ``"straight"`` (:func:`engine.straight_coverage`) or ``"network"``
            (:func:`network.network_coverage` on ``graph``, with ``count_snap`` and ``max_snap_m``).

    Returns:
        :class:`PartitionedCoverage`, in the input order, bit-identical to the single-process
        engine (see the module docstring for why, and for the one documented exception: exact
        nearest-facility ties that the single-process engine resolves through its KD-tree).
    """
    if mode not in MODES:
        raise CoverageInputError(
            "parameter",
            f"距离方式 mode 应为 straight（直线）或 network（路网）：{mode!r}",
            f"mode must be straight or network, got {mode!r}",
        )
    demand = check_xy("demand_xy", demand_xy)
    fac = check_xy("facility_xy", facility_xy)
    radius = check_radius("radius_m", radius_m, fac.shape[0])
    n_req = _check_npartitions(npartitions)
    lab = _check_labels(labels, demand.shape[0])
    max_snap = check_distance("max_snap_m", max_snap_m)
    if not isinstance(count_snap, bool):
        raise CoverageInputError("parameter", "count_snap 应为 true 或 false", "count_snap must be a bool")
    if mode == "network" and not isinstance(graph, network.RoadGraph):
        raise CoverageInputError(
            "parameter", "路网模式需要路网 graph（RoadGraph）", "network mode needs graph (a RoadGraph)"
        )

    parts = partition_divisions(lab, demand, n_req)
    n = demand.shape[0]
    snapped: BoolArray | None = None
    representatives = np.empty(0, dtype=np.int64)
    if mode == "network":
        assert graph is not None
        snapped, representatives = _components_representatives(graph, fac, max_snap)
    payloads = _plan(
        demand,
        parts,
        fac,
        radius,
        mode,
        count_snap=count_snap,
        max_snap_m=max_snap,
        representatives=representatives,
    )
    shared = _Shared(mode, fac, radius, graph if mode == "network" else None, count_snap, max_snap)
    results, scheduler = _compute(payloads, shared, client) if payloads else ([], "threads")

    covered = np.zeros(n, dtype=bool)
    counts = np.zeros(n, dtype=np.int32)
    nearest = np.full(n, -1, dtype=np.int64) if mode == "straight" else None
    dist = np.full(n, np.inf) if mode == "straight" else None
    status = np.full(n, network.NOT_COVERED, dtype=np.int8) if mode == "network" else None
    order = np.argsort(parts.point_partition, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(parts.n_points)])
    for p, res in enumerate(results):
        idx = order[bounds[p] : bounds[p + 1]]
        covered[idx] = res["covered"]
        counts[idx] = res["n_reaching"]
        if nearest is not None and dist is not None:
            nearest[idx] = res["nearest_facility"]
            dist[idx] = res["nearest_distance_m"]
        if status is not None:
            status[idx] = res["status"]
    n_fac = np.array([np.union1d(p.reach, p.near).shape[0] for p in payloads], dtype=np.int64)
    halo = np.array([p.xy.shape[0] - p.n_own for p in payloads], dtype=np.int64)
    for a in (covered, counts, nearest, dist, status, snapped, n_fac, halo):
        if a is not None:
            _readonly(a)
    return PartitionedCoverage(
        covered, counts, nearest, dist, status, snapped, mode, parts, n_fac, halo, scheduler
    )

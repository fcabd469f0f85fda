"""Road-network coverage (路网覆盖): shortest walking/driving distance along road centre-lines.

Pure module: numpy, scipy and shapely 2 only, no Django (DESIGN §1).  Coordinates, lengths,
cut-offs and snap distances are projected metres (e.g. EPSG:4547).

**Graph.**  :meth:`RoadGraph.from_lines` builds an undirected graph from road centre-lines: line
ends closer than ``snap_tolerance_m`` become one node (optionally also interior vertices shared by
two lines), every piece of line between two nodes is an edge weighted by its length, and the edge
geometry is kept (oriented from ``edge_u`` to ``edge_v``) to interpolate positions along it.
One-way restrictions and speeds are ignored: distances are walking distances in metres.

**Snapping.**  Demand points and facilities are put on the nearest point of the nearest edge
(:meth:`RoadGraph.snap`: exact, through a ``cKDTree`` of short edge pieces).  The snap distance
(the walk from the door to the road) is added to the network distance when ``count_snap=True``;
points farther than ``max_snap_m`` from every road are not placed and are reported as unreachable
(``UNSNAPPED``).

**Distances.**  Snapped points split their edges, so a point is reached through both ends of its
edge and a point on the same edge as a facility by the direct distance along the edge.  A
facility is a virtual source joined to its road position by its snap distance.  Nearest facility:
one multi-source ``scipy.sparse.csgraph.dijkstra(..., min_only=True)``.  Facilities reaching each
point (counts, pairs for 2SFCA and location-allocation): one Dijkstra per facility with
``limit=cutoff``, each on the sub-graph within ``cutoff`` (straight line) of the facility — exact,
because an edge is never shorter than the straight line between its ends.

**Service areas** (:func:`service_area_lines`) are the reachable parts of the edges, partially
reached edges cut at the remaining distance from either end (and around a facility on the edge).

**Disconnected networks** are not dropped silently: a point whose network part holds no facility
gets status ``NO_ROUTE`` and ``nearest_distance_m = inf``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
import scipy.sparse as sp
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

from geo_mz.coverage.engine import (
    ENGINE_VERSION,
    CoverageInputError,
    DistancePairs,
    _distance,
    _ragged,
    _readonly,
    check_distance,
    check_radius,
    check_xy,
)

__all__ = [
    "COVERED",
    "NOT_COVERED",
    "NO_ROUTE",
    "STATUS_LABELS",
    "UNSNAPPED",
    "NetworkCoverage",
    "RoadGraph",
    "ServiceArea",
    "Snap",
    "network_coverage",
    "network_pairs",
    "service_area_lines",
]

#: Demand status codes of :class:`NetworkCoverage`.
COVERED: Final = 0
NOT_COVERED: Final = 1  # on the network, but every facility is beyond its cut-off
NO_ROUTE: Final = 2  # on a part of the network without any facility (disconnected)
UNSNAPPED: Final = 3  # farther than max_snap_m from every road

STATUS_LABELS: Final = {
    COVERED: ("覆盖", "covered"),
    NOT_COVERED: ("未覆盖（超出服务距离）", "not covered (beyond the cut-off)"),
    NO_ROUTE: ("不可达（路网不连通）", "unreachable (no route: disconnected network)"),
    UNSNAPPED: ("不可达（距道路过远）", "unreachable (too far from any road)"),
}

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Default maximum distance from a point to the road it is snapped to, metres.
DEFAULT_MAX_SNAP_M: Final = 500.0


# --------------------------------------------------------------------------- graph


@dataclass(frozen=True, eq=False)
class Snap:
    """Points placed on the nearest road edge.

    ``edge`` is -1 and ``ok`` false for points farther than ``max_snap_m``; ``offset_m`` is the
    distance along the edge from its ``edge_u`` end; ``xy`` the position on the road;
    ``distance_m`` the straight distance from the point to it (inf when not snapped).
    """

    edge: IntArray
    offset_m: FloatArray
    distance_m: FloatArray
    xy: FloatArray
    ok: BoolArray


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """Undirected road graph (metres).  Build it with :meth:`from_lines`.

    Attributes:
        node_xy: ``(N, 2)`` node coordinates.
        edge_u, edge_v: end nodes per edge; the geometry runs from ``edge_u`` to ``edge_v``.
        edge_length_m: geometry length per edge (> 0).
        edge_geometry: LineString per edge (object array).
        edge_line: index of the input line each edge comes from.
    """

    node_xy: FloatArray
    edge_u: IntArray
    edge_v: IntArray
    edge_length_m: FloatArray
    edge_geometry: NDArray[np.object_]
    edge_line: IntArray

    @property
    def n_nodes(self) -> int:
        return int(self.node_xy.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.edge_u.shape[0])

    @classmethod
    def from_lines(
        cls,
        lines: Sequence[BaseGeometry | ArrayLike] | NDArray[np.object_],
        *,
        snap_tolerance_m: float = 0.5,
        walkable: ArrayLike | None = None,
        split_at_shared_vertices: bool = False,
    ) -> RoadGraph:
        """Graph from road centre-lines (LineStrings, MultiLineStrings or ``(k, 2)`` coordinate arrays).

        Args:
            lines: the road lines, projected metres.
            snap_tolerance_m: line ends (and shared vertices) closer than this are one node.
            walkable: optional flag per line; lines flagged False (e.g. expressways) are left out.
            split_at_shared_vertices: also make a node where an interior vertex of a line meets a
                vertex of another line (networks digitised as long polylines crossing at shared
                vertices).  Lines that cross without a shared vertex (bridges, overpasses) are
                never joined.
        """
        tol = check_distance("snap_tolerance_m", snap_tolerance_m)
        geoms = np.empty(len(lines), dtype=object)
        for k, line in enumerate(lines):
            geoms[k] = line if isinstance(line, BaseGeometry) else LineString(check_xy("lines", line))
        if walkable is not None:
            keep = np.asarray(walkable, dtype=bool)
            if keep.shape != geoms.shape:
                raise CoverageInputError(
                    "length_mismatch",
                    f"walkable 的长度 {keep.shape[0]} 与道路数 {geoms.shape[0]} 不一致",
                    f"walkable has length {keep.shape[0]}, expected {geoms.shape[0]}",
                )
        else:
            keep = np.ones(geoms.shape[0], dtype=bool)
        line_ids = np.flatnonzero(keep)
        parts, part_src = shapely.get_parts(geoms[line_ids], return_index=True)
        part_src = line_ids[part_src]
        if parts.size and not np.isin(shapely.get_type_id(parts), (1, 2)).all():
            raise CoverageInputError("shape", "道路必须是线要素", "roads must be line geometries")
        parts = shapely.force_2d(parts)
        coords, owner = shapely.get_coordinates(parts, return_index=True)
        if coords.shape[0]:
            check_xy("lines", coords)
        n_vert = np.bincount(owner, minlength=parts.shape[0])
        good = n_vert >= 2
        if not good.all():
            sel = good[owner]
            coords, owner = coords[sel], owner[sel]
            remap = np.cumsum(good) - 1
            owner = remap[owner]
            part_src = part_src[good]
            n_vert = n_vert[good]
        if coords.shape[0] == 0:
            raise CoverageInputError("empty", "路网为空（没有可用的道路线）", "the road network is empty")
        first = np.concatenate([[0], np.cumsum(n_vert)[:-1]])
        last = first + n_vert - 1
        is_end = np.zeros(coords.shape[0], dtype=bool)
        is_end[first] = True
        is_end[last] = True

        # Cluster candidate node vertices within the tolerance (transitively).
        cand = np.arange(coords.shape[0]) if split_at_shared_vertices else np.flatnonzero(is_end)
        cluster = _clusters(coords[cand], tol)
        n_cl = int(cluster.max()) + 1
        members = np.bincount(cluster, minlength=n_cl)
        node_flag = np.zeros(coords.shape[0], dtype=bool)
        node_flag[cand] = is_end[cand] | (members[cluster] >= 2)
        cl_of_vertex = np.full(coords.shape[0], -1, dtype=np.int64)
        cl_of_vertex[cand] = cluster
        used = np.unique(cl_of_vertex[node_flag])
        node_id_of_cluster = np.full(n_cl, -1, dtype=np.int64)
        node_id_of_cluster[used] = np.arange(used.shape[0])
        sums = np.zeros((n_cl, 2))
        np.add.at(sums, cluster, coords[cand])
        node_xy = (sums / members[:, None])[used]

        # Edges: runs of vertices between consecutive node vertices of the same part.
        nv = np.flatnonzero(node_flag)
        same_part = owner[nv[:-1]] == owner[nv[1:]]
        e_from = nv[:-1][same_part]
        e_to = nv[1:][same_part]
        u = node_id_of_cluster[cl_of_vertex[e_from]]
        v = node_id_of_cluster[cl_of_vertex[e_to]]
        eid, off = _ragged(e_to - e_from + 1)
        vidx = e_from[eid] + off
        ecoords = coords[vidx].copy()
        starts = np.concatenate([[0], np.cumsum(e_to - e_from + 1)[:-1]])
        ends = starts + (e_to - e_from)
        ecoords[starts] = node_xy[u]
        ecoords[ends] = node_xy[v]
        egeom = shapely.linestrings(ecoords, indices=eid)
        length = shapely.length(egeom)
        ok = length > 0
        edge_line = part_src[owner[e_from]]
        return cls(
            *_frozen(node_xy, u[ok], v[ok], length[ok]),
            _frozen_obj(egeom[ok]),
            *_frozen(edge_line[ok]),
        )

    @cached_property
    def node_component(self) -> IntArray:
        """Connected-component label per node."""
        _, labels = connected_components(self.csgraph(), directed=False)
        out = labels.astype(np.int64)
        _readonly(out)
        return out

    @property
    def n_components(self) -> int:
        return int(self.node_component.max()) + 1 if self.n_nodes else 0

    @cached_property
    def edge_component(self) -> IntArray:
        out = self.node_component[self.edge_u]
        _readonly(out)
        return out

    def csgraph(self) -> sp.csr_array:
        """Symmetric ``(N, N)`` CSR adjacency (shortest parallel edge; loops left out)."""
        return _adjacency(self.edge_u, self.edge_v, self.edge_length_m, self.n_nodes)

    @cached_property
    def _pieces(self) -> _Pieces:
        return _Pieces.build(self.edge_geometry, self.edge_length_m)

    def snap(self, xy: ArrayLike, max_snap_m: float = DEFAULT_MAX_SNAP_M) -> Snap:
        """Place points on the nearest point of the nearest edge (ties: the lowest edge index).

        Exact: the edges are cut into pieces of at most ``_PIECE_M`` metres; a ``cKDTree`` of the
        piece midpoints gives candidates, and a point is settled when no farther midpoint can hide
        a nearer piece (else all pieces within reach are checked).
        """
        pts_xy = check_xy("xy", xy)
        limit = check_distance("max_snap_m", max_snap_m)
        n = pts_xy.shape[0]
        edge = np.full(n, -1, dtype=np.int64)
        offset = np.zeros(n)
        dist = np.full(n, np.inf)
        on_road = np.full((n, 2), np.nan)
        if n:
            pi, ei, t, foot, d = self._pieces.nearest(pts_xy, limit)
            edge[pi], offset[pi], dist[pi], on_road[pi] = ei, t, d, foot
        ok = edge >= 0
        _readonly(edge, offset, dist, on_road, ok)
        return Snap(edge, offset, dist, on_road, ok)


#: Edges are cut into pieces of at most this length for snapping (smaller: tighter search bound).
_PIECE_M: Final = 25.0


@dataclass(frozen=True, eq=False)
class _Pieces:
    """Straight pieces of all edges (<= ``_PIECE_M`` long) with a KD-tree of their midpoints."""

    ax: FloatArray  # piece start x, y
    ay: FloatArray
    dx: FloatArray  # piece vector
    dy: FloatArray
    sq: FloatArray  # squared length
    edge: IntArray
    offset0: FloatArray  # distance along the edge at the piece start
    half: float  # the largest half-length
    tree: cKDTree

    @classmethod
    def build(cls, geoms: NDArray[np.object_], edge_length: FloatArray) -> _Pieces:
        coords, owner = shapely.get_coordinates(geoms, return_index=True)
        same = owner[1:] == owner[:-1]
        a, b, e = coords[:-1][same], coords[1:][same], owner[:-1][same]
        seg = _distance(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
        cum = np.cumsum(seg)
        first = np.ones(e.shape[0], dtype=bool)
        first[1:] = e[1:] != e[:-1]
        base = np.maximum.accumulate(np.where(first, cum - seg, 0.0))
        start = cum - seg - base  # offset of each segment start along its edge
        # the float sums may differ from GEOS's length by an ulp: keep offsets within the edge
        start = np.minimum(start, edge_length[e])
        k = np.maximum(np.ceil(seg / _PIECE_M).astype(np.int64), 1)
        owner_seg, q = _ragged(k)
        f0 = (q / k[owner_seg])[:, None]
        f1 = ((q + 1) / k[owner_seg])[:, None]
        pa = a[owner_seg] + f0 * (b - a)[owner_seg]
        pb = a[owner_seg] + f1 * (b - a)[owner_seg]
        off0 = start[owner_seg] + f0[:, 0] * seg[owner_seg]
        half = float((seg / k).max()) / 2 if seg.size else 0.0
        d = pb - pa
        return cls(
            np.ascontiguousarray(pa[:, 0]),
            np.ascontiguousarray(pa[:, 1]),
            np.ascontiguousarray(d[:, 0]),
            np.ascontiguousarray(d[:, 1]),
            (d * d).sum(axis=1),
            e[owner_seg],
            off0,
            half,
            cKDTree((pa + pb) / 2),
        )

    def _param(self, px: FloatArray, py: FloatArray, piece: IntArray) -> tuple[FloatArray, FloatArray]:
        """Position t (0–1) of the foot on each piece and the distance to it."""
        ax, ay, dx, dy, sq = self.ax[piece], self.ay[piece], self.dx[piece], self.dy[piece], self.sq[piece]
        ux, uy = px - ax, py - ay
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(sq > 0, (ux * dx + uy * dy) / sq, 0.0)
        np.clip(t, 0.0, 1.0, out=t)
        return t, _distance(ux - t * dx, uy - t * dy)

    def _locate(self, piece: IntArray, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Foot (x, y) and offset along the edge."""
        foot = np.column_stack([self.ax[piece] + t * self.dx[piece], self.ay[piece] + t * self.dy[piece]])
        return foot, self.offset0[piece] + t * np.sqrt(self.sq[piece])

    def nearest(
        self, xy: FloatArray, limit: float
    ) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
        """(point, edge, offset, foot, distance) for the points within ``limit`` of an edge."""
        n = xy.shape[0]
        k = min(8, self.edge.shape[0])
        r, cand = self.tree.query(xy, k=k, workers=-1)
        r, cand = r.reshape(n, k), cand.reshape(n, k)
        t, d = self._param(xy[:, :1], xy[:, 1:], cand)
        # nearest candidate; among equally near ones the lowest edge index
        rows = np.arange(n)
        best_d = d.min(axis=1)
        edge_if_best = np.where(d == best_d[:, None], self.edge[cand], np.iinfo(np.int64).max)
        col = edge_if_best.argmin(axis=1)
        best, best_t = cand[rows, col], t[rows, col]
        # settled: every other midpoint is too far to hide a nearer piece; hopeless: beyond reach
        settled = (r[:, -1] > best_d + self.half) | (k == self.edge.shape[0])
        hopeless = r[:, 0] - self.half > limit
        redo = np.flatnonzero(~settled & ~hopeless)
        if redo.size:
            reach = np.minimum(best_d[redo], limit) + self.half + 1e-9
            lists = self.tree.query_ball_point(xy[redo], reach, workers=-1)
            lens = np.fromiter((len(x) for x in lists), dtype=np.int64, count=redo.size)
            near = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=int(lens.sum()))
            own = np.repeat(np.arange(redo.size), lens)
            tt, dd = self._param(xy[redo, 0][own], xy[redo, 1][own], near)
            order = np.lexsort((self.edge[near], dd, own))
            first = np.ones(order.shape[0], dtype=bool)
            first[1:] = own[order][1:] != own[order][:-1]
            pick = order[first]
            i = redo[own[pick]]
            better = (dd[pick] < best_d[i]) | (
                (dd[pick] == best_d[i]) & (self.edge[near[pick]] < self.edge[best[i]])
            )
            i, pick = i[better], pick[better]
            best[i], best_d[i], best_t[i] = near[pick], dd[pick], tt[pick]
        ok = np.flatnonzero(best_d <= limit)
        foot, offset = self._locate(best[ok], best_t[ok])
        return ok, self.edge[best[ok]], offset, foot, best_d[ok]


def _frozen(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    out = tuple(np.ascontiguousarray(a) for a in arrays)
    _readonly(*out)
    return out


def _frozen_obj(a: np.ndarray) -> np.ndarray:
    out = np.asarray(a, dtype=object)
    out.setflags(write=False)
    return out


def _clusters(xy: FloatArray, tol: float) -> IntArray:
    """Cluster label per point: points within ``tol`` (transitively) share a label; labels are
    numbered in order of first appearance."""
    if xy.shape[0] == 0:
        return np.empty(0, dtype=np.int64)
    if tol > 0:
        pairs = cKDTree(xy).query_pairs(tol, output_type="ndarray")
        g = sp.coo_array(
            (np.ones(pairs.shape[0]), (pairs[:, 0], pairs[:, 1])), shape=(xy.shape[0], xy.shape[0])
        )
        _, labels = connected_components(g, directed=False)
    else:
        _, labels = np.unique(xy, axis=0, return_inverse=True)
        labels = labels.ravel()
    # renumber by first appearance for determinism
    _, first_idx, inv = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first_idx.shape[0], dtype=np.int64)
    rank[np.argsort(first_idx, kind="stable")] = np.arange(first_idx.shape[0])
    return rank[inv.ravel()]


def _adjacency(u: IntArray, v: IntArray, w: FloatArray, n: int) -> sp.csr_array:
    """Symmetric CSR with the minimum weight per node pair (explicit zeros kept, loops dropped)."""
    keep = u != v
    a = np.concatenate([u[keep], v[keep]])
    b = np.concatenate([v[keep], u[keep]])
    ww = np.concatenate([w[keep], w[keep]])
    return _directed(a, b, ww, n)


def _directed(a: IntArray, b: IntArray, w: FloatArray, n: int) -> sp.csr_array:
    """Directed CSR keeping the minimum weight of duplicate arcs (scipy would add them)."""
    key = a * n + b
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.ones(key.shape[0], dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    w = np.minimum.reduceat(w[order], starts) if starts.size else w[order]
    a, b = a[order][starts], b[order][starts]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    # built directly (not from COO) so that zero weights stay explicit edges
    return sp.csr_array((w, b.astype(np.int32 if n < 2**31 else np.int64), indptr), shape=(n, n))


# --------------------------------------------------------------------------- split graph


@dataclass(frozen=True, eq=False)
class _Split:
    """The road graph with snapped points inserted as nodes (edges split at them)."""

    graph: sp.csr_array
    node_xy: FloatArray
    point_node: list[IntArray]  # per point set: node per point, -1 when not snapped


def _split(base: RoadGraph, snaps: Sequence[Snap]) -> _Split:
    edge = np.concatenate([s.edge for s in snaps])
    off = np.concatenate([s.offset_m for s in snaps])
    xy = np.concatenate([s.xy for s in snaps])
    sizes = [s.edge.shape[0] for s in snaps]
    node = np.full(edge.shape[0], -1, dtype=np.int64)
    ok = edge >= 0
    e_ok = edge[ok]
    length = base.edge_length_m[e_ok]
    t = off[ok]
    n_ok = np.flatnonzero(ok)
    at_u = t <= 0
    at_v = t >= length
    node[n_ok[at_u]] = base.edge_u[e_ok[at_u]]
    node[n_ok[at_v & ~at_u]] = base.edge_v[e_ok[at_v & ~at_u]]
    inner = ~at_u & ~at_v
    idx = n_ok[inner]
    ie, it = e_ok[inner], t[inner]
    order = np.lexsort((it, ie))
    idx, ie, it = idx[order], ie[order], it[order]
    new = np.ones(ie.shape[0], dtype=bool)
    new[1:] = (ie[1:] != ie[:-1]) | (it[1:] != it[:-1])
    new_id = base.n_nodes + np.cumsum(new) - 1
    node[idx] = new_id
    ue, ut, uid = ie[new], it[new], new_id[new]
    node_xy = np.vstack([base.node_xy, xy[idx[new]]])
    n_total = node_xy.shape[0]
    # chains u -> p1 -> ... -> pk -> v along each split edge
    first_on_edge = np.ones(ue.shape[0], dtype=bool)
    first_on_edge[1:] = ue[1:] != ue[:-1]
    last_on_edge = np.ones(ue.shape[0], dtype=bool)
    last_on_edge[:-1] = ue[1:] != ue[:-1]
    prev_node = np.where(first_on_edge, base.edge_u[ue], np.roll(uid, 1))
    prev_t = np.where(first_on_edge, 0.0, np.roll(ut, 1))
    a = [prev_node, uid[last_on_edge]]
    b = [uid, base.edge_v[ue[last_on_edge]]]
    w = [ut - prev_t, base.edge_length_m[ue[last_on_edge]] - ut[last_on_edge]]
    untouched = np.ones(base.n_edges, dtype=bool)
    untouched[ue] = False
    a.append(base.edge_u[untouched])
    b.append(base.edge_v[untouched])
    w.append(base.edge_length_m[untouched])
    g = _adjacency(np.concatenate(a), np.concatenate(b), np.concatenate(w), n_total)
    point_node = np.split(node, np.cumsum(sizes)[:-1])
    return _Split(g, node_xy, point_node)


def _with_sources(
    g: sp.csr_array, node_xy: FloatArray, at_node: IntArray, weight: FloatArray, at_xy: FloatArray
) -> tuple[sp.csr_array, FloatArray, IntArray]:
    """Append one virtual source node per entry, with a single arc (weight) to ``at_node``; the
    new rows go at the end, so the CSR arrays are only extended."""
    n = g.shape[0]
    k = at_node.shape[0]
    indptr = np.concatenate([g.indptr.astype(np.int64), g.indptr[-1] + np.arange(1, k + 1)])
    indices = np.concatenate([g.indices.astype(np.int64), at_node])
    data = np.concatenate([g.data, weight])
    out = sp.csr_array((data, indices, indptr), shape=(n + k, n + k))
    return out, np.vstack([node_xy, at_xy]), n + np.arange(k)


def _reach(
    g: sp.csr_array,
    node_xy: FloatArray,
    sources: IntArray,
    limit: FloatArray,
    target_node: IntArray,
    target_extra: FloatArray,
    *,
    budget: int = 4_000_000,
) -> tuple[IntArray, IntArray, FloatArray]:
    """All (source k, target t, distance) with ``dist(sources[k], target_node[t]) + target_extra[t]
    <= limit[k]``: one Dijkstra per source on the sub-graph within ``limit`` of it."""
    n = g.shape[0]
    valid = np.flatnonzero(target_node >= 0)
    t_order = valid[np.argsort(target_node[valid], kind="stable")]
    node_start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(target_node[valid], minlength=n), out=node_start[1:])
    if sources.shape[0] == 0 or valid.shape[0] == 0:
        e = np.empty(0, dtype=np.int64)
        return e, e, np.empty(0)
    sxy = node_xy[sources]
    # Sources grouped by square tiles of twice the largest limit: the nodes a group can reach lie
    # in its tile and the 8 around it, found through the nodes sorted by tile.
    tile = max(2.0 * float(limit.max()), 1.0)
    origin = np.minimum(node_xy.min(axis=0), sxy.min(axis=0))
    n_kx = int((max(node_xy[:, 0].max(), sxy[:, 0].max()) - origin[0]) // tile) + 3
    kx = ((sxy[:, 0] - origin[0]) // tile).astype(np.int64) + 1
    ky = ((sxy[:, 1] - origin[1]) // tile).astype(np.int64) + 1
    src_key = ky * n_kx + kx
    order = np.argsort(src_key, kind="stable")
    brk = np.flatnonzero(np.diff(src_key[order])) + 1
    node_key = (((node_xy[:, 1] - origin[1]) // tile).astype(np.int64) + 1) * n_kx + (
        ((node_xy[:, 0] - origin[0]) // tile).astype(np.int64) + 1
    )
    node_order = np.argsort(node_key, kind="stable")
    node_key_sorted = node_key[node_order]
    margin = 1e-6 + 1e-9 * float(np.abs(node_xy).max())
    local = np.full(n, -1, dtype=np.int64)
    out_s, out_t, out_d = [], [], []
    for group in np.split(order, brk):
        lim = float(limit[group].max())
        lo = sxy[group].min(axis=0) - lim - margin
        hi = sxy[group].max(axis=0) + lim + margin
        k0 = int(src_key[group[0]])
        rows = [k0 - n_kx - 1, k0 - 1, k0 + n_kx - 1]  # first key of the 3 tiles in each row
        ranges = [np.searchsorted(node_key_sorted, (r0, r0 + 3)) for r0 in rows]
        near = node_order[np.concatenate([np.arange(a, b) for a, b in ranges])]
        xy = node_xy[near]
        sel = np.sort(
            near[(xy[:, 0] >= lo[0]) & (xy[:, 0] <= hi[0]) & (xy[:, 1] >= lo[1]) & (xy[:, 1] <= hi[1])]
        )
        sub = g[sel][:, sel]
        local[sel] = np.arange(sel.shape[0])
        step = max(1, budget // max(sel.shape[0], 1))
        for c0 in range(0, group.shape[0], step):
            chunk = group[c0 : c0 + step]
            dist = dijkstra(sub, directed=True, indices=local[sources[chunk]], limit=lim)
            r, c = np.nonzero(dist <= lim)
            gnode = sel[c]
            cnt = node_start[gnode + 1] - node_start[gnode]
            own, off = _ragged(cnt)
            tgt = t_order[node_start[gnode[own]] + off]
            src = chunk[r[own]]
            d = dist[r[own], c[own]] + target_extra[tgt]
            keep = d <= limit[src]
            out_s.append(src[keep])
            out_t.append(tgt[keep])
            out_d.append(d[keep])
        local[sel] = -1
    return np.concatenate(out_s), np.concatenate(out_t), np.concatenate(out_d)


# --------------------------------------------------------------------------- network coverage


@dataclass(frozen=True, eq=False)
class NetworkCoverage:
    """Road-network coverage of demand points.

    Attributes:
        covered: reached by at least one facility within its cut-off.
        n_reaching: number of facilities reaching the point.
        nearest_facility / nearest_distance_m: nearest by network distance (any distance), -1 / inf
            when no facility can be reached at all.
        status: :data:`COVERED`, :data:`NOT_COVERED`, :data:`NO_ROUTE` or :data:`UNSNAPPED`.
        snap_distance_m / facility_snap_distance_m: straight distance to the road (inf: not snapped).
        facility_snapped: facilities placed on the network (the others are reported, not used).
        cutoff_m: cut-off per facility.
        pairs: all (demand, facility) pairs within the cut-off, with ``return_pairs=True``.
    """

    covered: BoolArray
    n_reaching: NDArray[np.int32]
    nearest_facility: IntArray
    nearest_distance_m: FloatArray
    status: NDArray[np.int8]
    snap_distance_m: FloatArray
    facility_snap_distance_m: FloatArray
    facility_snapped: BoolArray
    cutoff_m: FloatArray
    count_snap: bool
    pairs: DistancePairs | None
    engine_version: str = ENGINE_VERSION

    @property
    def unreachable(self) -> IntArray:
        """Demand points with no route to any facility (disconnected or not on the network)."""
        return np.flatnonzero(self.status >= NO_ROUTE)


def _prepare(
    graph: RoadGraph,
    demand_xy: ArrayLike,
    facility_xy: ArrayLike,
    cutoff_m: ArrayLike,
    count_snap: bool,
    max_snap_m: float,
) -> tuple[FloatArray, FloatArray, FloatArray, Snap, Snap, _Split]:
    if not isinstance(graph, RoadGraph):
        raise CoverageInputError("parameter", "graph 必须是 RoadGraph", "graph must be a RoadGraph")
    demand = check_xy("demand_xy", demand_xy)
    fac = check_xy("facility_xy", facility_xy)
    cutoff = check_radius("cutoff_m", cutoff_m, fac.shape[0])
    check_distance("max_snap_m", max_snap_m)
    if not isinstance(count_snap, bool):
        raise CoverageInputError("parameter", "count_snap 应为 true 或 false", "count_snap must be a bool")
    ds = graph.snap(demand, max_snap_m)
    fs = graph.snap(fac, max_snap_m)
    split = _split(graph, [ds, fs])
    return demand, fac, cutoff, ds, fs, split


def network_coverage(
    graph: RoadGraph,
    demand_xy: ArrayLike,
    facility_xy: ArrayLike,
    cutoff_m: ArrayLike,
    *,
    count_snap: bool = True,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    return_pairs: bool = False,
) -> NetworkCoverage:
    """Coverage along the road network within ``cutoff_m`` (one or per facility, metres).

    The distance from facility j to demand point i is ``snap_j + path + snap_i`` (snap terms only
    with ``count_snap``); i is covered by j when it is <= ``cutoff_m[j]`` (ties covered).
    """
    demand, fac, cutoff, ds, fs, split = _prepare(
        graph, demand_xy, facility_xy, cutoff_m, count_snap, max_snap_m
    )
    n, m = demand.shape[0], fac.shape[0]
    d_node, f_node = split.point_node
    s_i = np.where(ds.ok, ds.distance_m if count_snap else 0.0, np.inf)
    s_f = np.where(fs.ok, fs.distance_m if count_snap else 0.0, np.inf)
    placed = np.flatnonzero(fs.ok)
    g, node_xy, virt = _with_sources(split.graph, split.node_xy, f_node[placed], s_f[placed], fs.xy[placed])

    nearest = np.full(n, -1, dtype=np.int64)
    nearest_d = np.full(n, np.inf)
    if placed.size and n:
        dist, _, src = dijkstra(g, directed=True, indices=virt, min_only=True, return_predecessors=True)
        on = np.flatnonzero(ds.ok)
        dn = dist[d_node[on]]
        reach = np.isfinite(dn)
        nearest_d[on[reach]] = dn[reach] + s_i[on[reach]]
        nearest[on[reach]] = placed[src[d_node[on[reach]]] - split.node_xy.shape[0]]

    k, t, d = _reach(g, node_xy, virt, cutoff[placed], d_node, np.where(ds.ok, s_i, 0.0))
    fac_idx = placed[k]
    counts = np.bincount(t, minlength=n).astype(np.int32)
    covered = counts > 0
    status = np.full(n, NOT_COVERED, dtype=np.int8)
    status[~np.isfinite(nearest_d)] = NO_ROUTE
    status[~ds.ok] = UNSNAPPED
    status[covered] = COVERED
    pairs = DistancePairs(t, fac_idx, d, n, m) if return_pairs else None
    snap_d = ds.distance_m.copy()
    fsnap_d = fs.distance_m.copy()
    _readonly(covered, counts, nearest, nearest_d, status, snap_d, fsnap_d, cutoff)
    return NetworkCoverage(
        covered, counts, nearest, nearest_d, status, snap_d, fsnap_d, fs.ok, cutoff, count_snap, pairs
    )


def network_pairs(
    graph: RoadGraph,
    demand_xy: ArrayLike,
    facility_xy: ArrayLike,
    cutoff_m: ArrayLike,
    *,
    count_snap: bool = True,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> DistancePairs:
    """All (demand, facility or candidate, network distance) pairs within the cut-off."""
    demand, fac, cutoff, ds, fs, split = _prepare(
        graph, demand_xy, facility_xy, cutoff_m, count_snap, max_snap_m
    )
    d_node, f_node = split.point_node
    s_i = np.where(ds.ok, ds.distance_m if count_snap else 0.0, 0.0)
    s_f = fs.distance_m if count_snap else np.zeros(fac.shape[0])
    placed = np.flatnonzero(fs.ok)
    g, node_xy, virt = _with_sources(split.graph, split.node_xy, f_node[placed], s_f[placed], fs.xy[placed])
    k, t, d = _reach(g, node_xy, virt, cutoff[placed], d_node, s_i)
    return DistancePairs(t, placed[k], d, demand.shape[0], fac.shape[0])


# --------------------------------------------------------------------------- service areas


@dataclass(frozen=True, eq=False)
class ServiceArea:
    """The reachable parts of the road network.

    One row per reachable piece: ``lines`` (LineString), ``edge`` (index into the graph's edges),
    ``start_m`` / ``end_m`` (offsets along the edge from ``edge_u``) and ``full`` (the whole edge).
    """

    lines: NDArray[np.object_]
    edge: IntArray
    start_m: FloatArray
    end_m: FloatArray
    full: BoolArray
    cutoff_m: FloatArray
    facility_snapped: BoolArray
    engine_version: str = ENGINE_VERSION

    @property
    def length_m(self) -> float:
        return float((self.end_m - self.start_m).sum())


def _merge(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def service_area_lines(
    graph: RoadGraph,
    facility_xy: ArrayLike,
    cutoff_m: ArrayLike,
    *,
    count_snap: bool = True,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> ServiceArea:
    """Road pieces within ``cutoff_m`` (one or per facility) of any facility along the network.

    An edge whose ends are reached with remaining distances ``r_u`` and ``r_v`` is reachable on
    ``[0, r_u]`` and ``[L − r_v, L]`` (the whole edge when they meet); an edge carrying a facility is
    also reachable within its remaining distance on both sides of it.  Pieces of zero length (an
    end reached with nothing left) are left out.
    """
    if not isinstance(graph, RoadGraph):
        raise CoverageInputError("parameter", "graph 必须是 RoadGraph", "graph must be a RoadGraph")
    fac = check_xy("facility_xy", facility_xy)
    cutoff = check_radius("cutoff_m", cutoff_m, fac.shape[0])
    fs = graph.snap(fac, max_snap_m)
    placed = np.flatnonzero(fs.ok)
    empty = ServiceArea(
        _frozen_obj(np.empty(0, dtype=object)),
        *_frozen(np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0, bool), cutoff, fs.ok),
    )
    if placed.size == 0:
        return empty
    big = float(cutoff[placed].max())
    s_f = fs.distance_m[placed] if count_snap else np.zeros(placed.size)
    shift = big - cutoff[placed]  # per-facility cut-offs as one cut-off: start later by the difference
    e, t = fs.edge[placed], fs.offset_m[placed]
    length = graph.edge_length_m
    n = graph.n_nodes
    k = placed.size
    base = graph.csgraph().tocoo()
    a = np.concatenate([base.row.astype(np.int64), n + np.arange(k), n + np.arange(k)])
    b = np.concatenate([base.col.astype(np.int64), graph.edge_u[e], graph.edge_v[e]])
    w = np.concatenate([base.data, s_f + shift + t, s_f + shift + (length[e] - t)])
    g = _directed(a, b, w, n + k)
    dist = dijkstra(g, directed=True, indices=n + np.arange(k), min_only=True, limit=big)[:n]
    rem = big - dist  # -inf where not reached
    ru = rem[graph.edge_u]
    rv = rem[graph.edge_v]
    lo_end = np.where(np.isfinite(ru), np.minimum(ru, length), -1.0)  # reachable [0, lo_end]
    hi_start = np.where(np.isfinite(rv), np.maximum(length - rv, 0.0), length + 1.0)  # [hi_start, L]
    rows: list[tuple[int, float, float]] = []
    own = np.zeros(graph.n_edges, dtype=bool)
    own[e] = True
    simple = np.flatnonzero(~own & (np.isfinite(ru) | np.isfinite(rv)))
    whole = simple[lo_end[simple] >= hi_start[simple]]
    parts = simple[lo_end[simple] < hi_start[simple]]
    rows.extend((int(x), 0.0, float(length[x])) for x in whole)
    for x in parts:
        if lo_end[x] > 0:
            rows.append((int(x), 0.0, float(lo_end[x])))
        if hi_start[x] < length[x]:
            rows.append((int(x), float(hi_start[x]), float(length[x])))
    radius_on_edge = cutoff[placed] - s_f
    for x in np.flatnonzero(own):
        spans = []
        if lo_end[x] > 0:
            spans.append((0.0, float(lo_end[x])))
        if hi_start[x] < length[x]:
            spans.append((float(hi_start[x]), float(length[x])))
        for q in np.flatnonzero(e == x):
            if radius_on_edge[q] >= 0:
                spans.append(
                    (max(0.0, t[q] - radius_on_edge[q]), min(float(length[x]), t[q] + radius_on_edge[q]))
                )
        rows.extend((int(x), s0, s1) for s0, s1 in _merge(spans) if s1 > s0)
    if not rows:
        return empty
    rows.sort()
    edge = np.array([r[0] for r in rows], dtype=np.int64)
    start = np.array([r[1] for r in rows])
    end = np.array([r[2] for r in rows])
    full = (start <= 0) & (end >= length[edge])
    lines = np.empty(edge.shape[0], dtype=object)
    lines[full] = graph.edge_geometry[edge[full]]
    for q in np.flatnonzero(~full):
        lines[q] = substring(graph.edge_geometry[edge[q]], start[q], end[q])
    return ServiceArea(_frozen_obj(lines), *_frozen(edge, start, end, full, cutoff, fs.ok))

"""Synthetic road network of the demo county 赤壁市 (Hubei, 421281): segments, named roads, signs.

Pure module: no Django import. It reads the synthetic townships and villages written by
``gis_data.generate`` (``gis_data/demo/chibi_townships.geojson``, ``chibi_villages.geojson``) and
writes, next to them, the SYNTHETIC road layers (合成数据, not real roads):

* ``chibi_road_segments.geojson`` - the noded network: LineString edges that meet only at shared
  end vertices (identical coordinates), properties ``segment_id``, ``road_id`` (null when
  unnamed), ``road_class``, ``width_m``, ``township_code``, ``synthetic``;
* ``chibi_roads.geojson`` - one MultiLineString per named road, street or alley, with its name
  history (``names``: oldest first, the last one current), ``division_codes``, start/end;
* ``chibi_road_signs.geojson`` - 49 road signs (路牌) and 66 alley signs (巷牌) near road ends
  and junctions; a few still show a road's former name;
* the road entries (``files`` and ``counts``) of ``manifest.json``.

Run ``python -m gis_data.roads [--seed N] [--dir DIR]`` from the repository root after
``python -m gis_data.generate`` (which also builds the roads, so both commands give the same
files). The output is byte-identical for the same seed and inputs.

Method (all geometry work in EPSG:4547 metres, seeded ``numpy`` generators, no iteration over
unordered containers):

1. built-up patches: the communities of the five urban units (街道, 工业园, 开发区) are buffered,
   closed and clipped to those units; the largest patch is the city centre;
2. each patch gets a perturbed grid aligned with its long axis: main roads (主干路), secondary
   roads (次干路) and branch roads (支路, some only between two major roads); the outlying
   patches are linked to the centre by connector roads;
3. each rural town (镇/乡) gets a small cross of streets around its seat (the medoid of its
   communities, else of its villages); farms use their seat point;
4. highways (公路) join the city and the seats: a minimum spanning tree over neighbouring
   townships plus the radials from the city and a few shortcuts, as seeded wiggly polylines
   kept inside the county;
5. every village outside the built-up patches is joined to the nearest point of the network so
   far (nearest first) by an unnamed village road (公路, 4.5-6.5 m);
6. named and unnamed alleys (巷道) are added off the urban streets, each one segment that touches
   nothing but its street(s);
7. all lines are noded together (and split at township boundaries), overshooting stubs are
   pruned, and the network is checked to be planar and connected; names, name histories
   (批复文号, renames) and signs are assigned last.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import shapely
from pypinyin import lazy_pinyin
from shapely.geometry import LineString, MultiLineString, Point, shape
from shapely.ops import substring

from gis_data.generate import (
    DEMO_DIR,
    MANIFEST_FILE,
    SEED,
    TOWNSHIP_LAYOUT,
    TOWNSHIPS_FILE,
    URBAN_CLASSES,
    VILLAGES_FILE,
    _as_polygons,
    _coords,
    _rng,
    _sha256,
    layer_main,
    quantize,
    to_geo,
    to_metric,
)

ROADS_VERSION = "1.0.0"
SEGMENTS_FILE = "chibi_road_segments.geojson"
ROADS_FILE = "chibi_roads.geojson"
SIGNS_FILE = "chibi_road_signs.geojson"
ROAD_FILES = (SEGMENTS_FILE, ROADS_FILE, SIGNS_FILE)

MAIN, SECONDARY, BRANCH, ALLEY, HIGHWAY = "主干路", "次干路", "支路", "巷道", "公路"
ROAD_CLASSES = (MAIN, SECONDARY, BRANCH, ALLEY, HIGHWAY)
CLASS_RANK = {c: k for k, c in enumerate(ROAD_CLASSES)}
WIDTHS = {
    MAIN: (40.0, 45.0, 50.0, 60.0),
    SECONDARY: (20.0, 24.0, 26.0, 30.0),
    BRANCH: (12.0, 14.0, 15.0, 16.0),
    ALLEY: (4.0, 5.0, 6.0, 7.0, 8.0),
    HIGHWAY: (7.0, 7.5, 8.5, 9.0, 10.0, 12.0),
}
TOWN_MAIN_WIDTHS = (20.0, 22.0, 24.0)
VILLAGE_ROAD_WIDTHS = (4.5, 5.0, 5.5, 6.0, 6.5)

N_UNNAMED_ALLEYS = 38
N_NAMED_ALLEYS = 64
N_ROAD_SIGNS = 49
N_ALLEY_SIGNS = 66
N_OLD_TEXT_SIGNS = 5
RENAMED_SHARE = 0.12
APPROVING_BODY = "赤壁市人民政府"
DECISION_FORMAT = "赤政函〔{year}〕{number}号"
ALLEY_MIN_M, ALLEY_MAX_M = 60.0, 400.0

# geometry parameters (metres)
BUILT_RADIUS_M = 720.0  # built-up area around each urban community
BUILT_CLOSING_M = 450.0
# 蒲圻街道 (old town) and 赤马港街道 (new town) form one contiguous city centre: the hull of their
# communities is built up as well
CITY_CORE_UNITS = ("421281001", "421281002")
CITY_CORE_BUFFER_M = 350.0
PATCH_MARGIN_M = 60.0  # patches stay this far inside the urban units
MIN_PATCH_KM2 = 0.8
NODE_TOL_M = 1.5  # intersection points closer than this are one node
STUB_M = 6.0  # dangling pieces shorter than this (overshoots) are pruned
OVERSHOOT_M = 3.0
RADIAL_DETOUR = 1.35  # a city-town radial is added where the tree is this much longer
SHORTCUT_DETOUR = 1.5
MAX_SHORTCUTS = 4

# seeded random streams (the township generator uses 2, 3, 4)
_S_GRID, _S_CONNECT, _S_TOWN, _S_HIGHWAY, _S_VILLAGE, _S_ALLEY, _S_NAMES, _S_DATES, _S_SIGNS = range(50, 59)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Township:
    code: str
    name: str
    cls: str
    geo: object
    metric: object


@dataclass(frozen=True)
class _Village:
    code: str
    name: str
    kind: str
    parent: str
    xy: tuple[float, float]


def _read_inputs(townships_fc: dict, villages_fc: dict) -> tuple[list[_Township], list[_Village]]:
    towns = []
    for f in sorted(townships_fc["features"], key=lambda f: f["properties"]["code"]):
        p = f["properties"]
        geo = shape(f["geometry"])
        towns.append(_Township(p["code"], p["name"], TOWNSHIP_LAYOUT[p["code"]][3], geo, to_metric(geo)))
    villages = []
    for f in sorted(villages_fc["features"], key=lambda f: f["properties"]["code"]):
        p = f["properties"]
        pt = to_metric(shape(f["geometry"]))
        villages.append(_Village(p["code"], p["name"], p["kind"], p["parent_code"], (pt.x, pt.y)))
    return towns, villages


def short_place_name(name: str) -> str:
    """和尚岭社区居委会 -> 和尚岭社区, 金潭村委会 -> 金潭村 (for 起止点 descriptions)."""
    for suffix, repl in (
        ("社区居民委员会", "社区"),
        ("社区居委会", "社区"),
        ("居委会", "社区"),
        ("村委会", "村"),
    ):
        if name.endswith(suffix):
            return name[: -len(suffix)] + repl
    return name


# --------------------------------------------------------------------------------------------
# Geometry helpers
# --------------------------------------------------------------------------------------------


def _unit_vec(v: np.ndarray) -> np.ndarray:
    return v / float(np.hypot(v[0], v[1]))


def _wiggles(
    a: np.ndarray,
    b: np.ndarray,
    rng: np.random.Generator,
    step: float,
    harmonics: Sequence[tuple[float, float]],
    scales: Sequence[float] = (1.0, 0.6, 0.3, 0.0),
) -> list[np.ndarray]:
    """Candidate polylines from a to b, displaced sideways by seeded sines (decreasing amplitude).

    The random draws do not depend on which candidate is used later, so the stream stays in step.
    """
    length = float(np.hypot(*(b - a)))
    n = max(2, int(math.ceil(length / step)) + 1)
    t = np.linspace(0.0, 1.0, n)
    pts = a[None, :] + t[:, None] * (b - a)[None, :]
    normal = np.array([-(b - a)[1], (b - a)[0]]) / length
    disp = np.zeros(n)
    for wavelength, amp in harmonics:
        amp *= rng.uniform(0.6, 1.0)
        phase = rng.uniform(0.0, 2 * math.pi)
        disp += amp * np.sin(2 * math.pi * t * length / wavelength + phase)
    disp *= np.sin(math.pi * t)
    out = []
    for s in scales:
        moved = pts + np.outer(disp * s, normal)
        moved[0], moved[-1] = a, b
        out.append(moved)
    return out


def _extend(coords: np.ndarray, start: float = 0.0, end: float = 0.0) -> np.ndarray:
    """Prolong a polyline straight by ``start`` metres before its first and ``end`` after its last vertex."""
    c = np.array(coords, dtype=float)
    if start:
        c = np.vstack([c[0] - start * _unit_vec(c[1] - c[0]), c])
    if end:
        c = np.vstack([c, c[-1] + end * _unit_vec(c[-1] - c[-2])])
    return c


def _line_parts(geom) -> list[LineString]:
    if geom.is_empty:
        return []
    if geom.geom_type == "LineString":
        return [geom]
    return [g for g in getattr(geom, "geoms", []) if g.geom_type == "LineString" and not g.is_empty]


def _points_of(geom) -> list[tuple[float, float]]:
    """Points of an intersection result; raises if two lines overlap along a stretch."""
    if geom.is_empty:
        return []
    if geom.geom_type == "Point":
        return [(geom.x, geom.y)]
    if geom.geom_type in ("LineString", "LinearRing"):
        raise ValueError("overlap")
    out: list[tuple[float, float]] = []
    for g in geom.geoms:
        out.extend(_points_of(g))
    return out


def _crossings(line: LineString, others: Sequence[LineString]) -> int | None:
    """Number of intersection points of ``line`` with ``others`` (None if it overlaps one)."""
    n = 0
    for o in others:
        try:
            n += len(_points_of(shapely.intersection(line, o)))
        except ValueError:
            return None
    return n


class _Nodes:
    """Node registry: points closer than ``tol`` are the same node (first come, first kept)."""

    def __init__(self, tol: float) -> None:
        self.tol = tol
        self.xy: list[tuple[float, float]] = []
        self.cells: dict[tuple[int, int], list[int]] = {}

    def get(self, p) -> int:
        x, y = float(p[0]), float(p[1])
        cx, cy = math.floor(x / self.tol), math.floor(y / self.tol)
        best, best_d = -1, self.tol
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for k in self.cells.get((cx + dx, cy + dy), ()):
                    d = math.hypot(self.xy[k][0] - x, self.xy[k][1] - y)
                    if d < best_d:
                        best, best_d = k, d
        if best >= 0:
            return best
        self.xy.append((x, y))
        self.cells.setdefault((cx, cy), []).append(len(self.xy) - 1)
        return len(self.xy) - 1


@dataclass
class _Line:
    """A polyline (metres) before noding; ``units`` maps chainage ranges to road units (-1 = none)."""

    coords: np.ndarray
    road_class: str
    width: float
    source: str  # grid | connector | town | highway | village | alley
    units: list[tuple[float, int]] = field(default_factory=lambda: [(0.0, -1)])
    patch: int = -1
    alive: bool = True

    @cached_property
    def geom(self) -> LineString:
        return LineString(self.coords)

    def unit_at(self, chainage: float) -> int:
        unit = self.units[0][1]
        for start, u in self.units:
            if chainage >= start:
                unit = u
        return unit


@dataclass
class _Piece:
    line: int
    d0: float
    d1: float
    a: int
    b: int
    coords: np.ndarray

    @property
    def length(self) -> float:
        return float(np.sum(np.hypot(*np.diff(self.coords, axis=0).T)))


def _node(lines: Sequence[_Line], boundary=None) -> tuple[list[_Piece], _Nodes, list[set[int]]]:
    """Split every line at its intersections with the others (and with ``boundary``).

    Returns the pieces (in line order, then chainage), the node registry and the set of boundary
    nodes. Intersections closer than NODE_TOL_M are merged into one node.
    """
    geoms = [LineString(ln.coords) for ln in lines]
    nodes = _Nodes(NODE_TOL_M)
    stops: list[list[int]] = [[] for _ in lines]
    for i, g in enumerate(geoms):
        stops[i] += [nodes.get(g.coords[0]), nodes.get(g.coords[-1])]
    tree = shapely.STRtree(geoms)
    qa, qb = tree.query(geoms, predicate="intersects")
    pairs = sorted({(int(min(a, b)), int(max(a, b))) for a, b in zip(qa, qb, strict=True) if a != b})
    for i, j in pairs:
        try:
            pts = _points_of(shapely.intersection(geoms[i], geoms[j]))
        except ValueError as exc:
            raise RuntimeError(f"lines {i} ({lines[i].source}) and {j} ({lines[j].source}) overlap") from exc
        for p in pts:
            n = nodes.get(p)
            stops[i].append(n)
            stops[j].append(n)
    boundary_nodes: set[int] = set()
    if boundary is not None:
        for i, g in enumerate(geoms):
            inter = shapely.intersection(g, boundary)
            pts = []
            for part in getattr(inter, "geoms", [inter]):
                if part.is_empty:
                    continue
                if part.geom_type == "Point":
                    pts.append((part.x, part.y))
                else:  # a stretch along a boundary: node its ends
                    pts += [part.coords[0], part.coords[-1]]
            for p in pts:
                n = nodes.get(p)
                stops[i].append(n)
                boundary_nodes.add(n)
    pieces: list[_Piece] = []
    for i, g in enumerate(geoms):
        c = lines[i].coords
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(c, axis=0).T))])
        ordered = sorted({(g.project(Point(nodes.xy[n])), n) for n in stops[i]})
        seen: set[int] = set()
        order = []
        for d, n in ordered:
            if n not in seen:
                seen.add(n)
                order.append((d, n))
        for (da, na), (db, nb) in zip(order, order[1:], strict=False):
            inner = c[(cum > da + 0.5) & (cum < db - 0.5)]
            coords = np.vstack([np.array(nodes.xy[na]), inner.reshape(-1, 2), np.array(nodes.xy[nb])])
            pieces.append(_Piece(i, float(da), float(db), na, nb, coords))
    return pieces, nodes, [boundary_nodes]


def _prune_stubs(pieces: list[_Piece]) -> list[_Piece]:
    """Drop dangling pieces shorter than STUB_M (the deliberate overshoots at T-junctions)."""
    alive = [True] * len(pieces)
    changed = True
    while changed:
        changed = False
        deg: dict[int, int] = {}
        for k, p in enumerate(pieces):
            if alive[k]:
                deg[p.a] = deg.get(p.a, 0) + 1
                deg[p.b] = deg.get(p.b, 0) + 1
        for k, p in enumerate(pieces):
            if alive[k] and p.length < STUB_M and (deg[p.a] == 1 or deg[p.b] == 1):
                alive[k] = False
                changed = True
    return [p for p, ok in zip(pieces, alive, strict=True) if ok]


def _components(pieces: Sequence[_Piece]) -> list[int]:
    """Component label (the smallest node id in it) of each piece."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pieces:
        ra, rb = find(p.a), find(p.b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [find(p.a) for p in pieces]


def _main_component(pieces: list[_Piece]) -> tuple[list[_Piece], list[_Piece]]:
    labels = _components(pieces)
    size: dict[int, float] = {}
    for p, lab in zip(pieces, labels, strict=True):
        size[lab] = size.get(lab, 0.0) + p.length
    best = min(size, key=lambda lab: (-size[lab], lab))
    keep = [p for p, lab in zip(pieces, labels, strict=True) if lab == best]
    drop = [p for p, lab in zip(pieces, labels, strict=True) if lab != best]
    return keep, drop


# --------------------------------------------------------------------------------------------
# Network geometry
# --------------------------------------------------------------------------------------------


@dataclass
class _Unit:
    """A named-road candidate: a chainage range of one line."""

    id: int
    source: str  # grid | connector | town-main | town-cross | alley
    road_class: str
    width: float
    role: str  # "central", the urban unit code of an outlying patch, "connector:<code>", "town:<code>"
    line: int
    d0: float
    d1: float
    orient: str = ""  # "EW" | "NS" (by the chord of the unit)
    name: str | None = None
    alive: bool = True
    meta: dict = field(default_factory=dict)


class _Network:
    """Builds the lines (metres) of the synthetic network; see the module docstring for the steps."""

    def __init__(self, towns: list[_Township], villages: list[_Village], seed: int) -> None:
        self.towns = towns
        self.by_code = {t.code: t for t in towns}
        self.villages = villages
        self.seed = seed
        self.county = shapely.union_all([t.metric for t in towns])
        self.boundary = shapely.union_all([t.metric.boundary for t in towns])
        self.urban_codes = [t.code for t in towns if t.cls in URBAN_CLASSES]
        self.urban = shapely.union_all([self.by_code[c].metric for c in self.urban_codes])
        self.lines: list[_Line] = []
        self.units: list[_Unit] = []
        self.patches: list = []
        self.patch_roles: list[str] = []
        self.ports: list[list[tuple[float, float]]] = []
        self.seats: dict[str, np.ndarray] = {}
        self.town_ports: dict[str, list[np.ndarray]] = {}
        self.report: dict[str, int] = {}
        self.township_tree = shapely.STRtree([t.metric for t in towns])

    # -- helpers ---------------------------------------------------------------------------

    def add_line(self, coords, road_class: str, width: float, source: str, patch: int = -1) -> int:
        self.lines.append(
            _Line(np.asarray(coords, dtype=float), road_class, float(width), source, patch=patch)
        )
        return len(self.lines) - 1

    def add_unit(self, line: int, source: str, role: str, d0: float = 0.0, d1: float | None = None) -> int:
        ln = self.lines[line]
        d1 = ln.geom.length if d1 is None else d1
        a, b = ln.geom.interpolate(d0), ln.geom.interpolate(d1)
        orient = "EW" if abs(b.x - a.x) >= abs(b.y - a.y) else "NS"
        u = _Unit(len(self.units), source, ln.road_class, ln.width, role, line, d0, d1, orient)
        self.units.append(u)
        if d0 == 0.0:
            ln.units = [(0.0, u.id)]
        else:
            ln.units = [*ln.units, (d0, u.id)]
        return u.id

    def township_of(self, p) -> str:
        pt = Point(p)
        for k in sorted(int(i) for i in self.township_tree.query(pt)):
            if self.towns[k].metric.covers(pt):
                return self.towns[k].code
        return min(self.towns, key=lambda t: (t.metric.distance(pt), t.code)).code

    def in_patch(self, geom, margin: float = 25.0) -> bool:
        return any(shapely.intersection(geom, p.buffer(-margin)).length > 1.0 for p in self.patches)

    # -- 1. built-up patches ---------------------------------------------------------------

    def build_patches(self) -> None:
        codes = set(self.urban_codes)
        comm = [v for v in self.villages if v.kind == "community" and v.parent in codes]
        blob = shapely.union_all([Point(v.xy).buffer(BUILT_RADIUS_M, quad_segs=16) for v in comm])
        core = shapely.MultiPoint([v.xy for v in comm if v.parent in CITY_CORE_UNITS]).convex_hull
        blob = shapely.union(blob, core.buffer(CITY_CORE_BUFFER_M, quad_segs=16))
        blob = blob.buffer(BUILT_CLOSING_M, quad_segs=8).buffer(-BUILT_CLOSING_M, quad_segs=8)
        blob = shapely.intersection(blob, self.urban.buffer(-PATCH_MARGIN_M))
        parts = [p.simplify(5.0) for p in _as_polygons(blob) if p.area > MIN_PATCH_KM2 * 1e6]
        parts.sort(key=lambda p: (-round(p.area), round(p.centroid.x)))
        self.patches = parts
        for k, p in enumerate(parts):
            if k == 0:
                self.patch_roles.append("central")
                continue
            inside = sorted(v.parent for v in comm if p.covers(Point(v.xy)))
            self.patch_roles.append(max(sorted(set(inside)), key=inside.count) if inside else f"patch{k}")

    # -- 2. street grids -------------------------------------------------------------------

    def build_grids(self) -> None:
        for pid, patch in enumerate(self.patches):
            self._grid(pid, patch, _rng(self.seed, _S_GRID, pid))
        self.ports = []
        for pid, patch in enumerate(self.patches):
            ports = []
            for ln in self.lines:
                if ln.patch == pid and ln.source == "grid" and ln.road_class in (MAIN, SECONDARY):
                    for end in (ln.coords[0], ln.coords[-1]):
                        if patch.exterior.distance(Point(end)) < 3.0:
                            ports.append((float(end[0]), float(end[1])))
            self.ports.append(ports)

    def _grid(self, pid: int, patch, rng: np.random.Generator) -> None:
        central = pid == 0
        rect = np.asarray(patch.minimum_rotated_rectangle.exterior.coords)[:4]
        e0, e1 = rect[1] - rect[0], rect[2] - rect[1]
        long = e0 if np.hypot(*e0) >= np.hypot(*e1) else e1
        theta = math.atan2(long[1], long[0])
        if theta <= -math.pi / 2:
            theta += math.pi
        elif theta > math.pi / 2:
            theta -= math.pi
        theta += rng.normal(0.0, math.radians(4.0))
        centre = np.array(patch.centroid.coords[0])
        eu = np.array([math.cos(theta), math.sin(theta)])
        ev = np.array([-math.sin(theta), math.cos(theta)])
        ring = np.asarray(patch.exterior.coords) - centre
        ext = {"u": (float((ring @ eu).min()), float((ring @ eu).max()))}
        ext["v"] = (float((ring @ ev).min()), float((ring @ ev).max()))

        def cls_of(axis: str, k: int) -> str:
            if central:
                main_every, sec_every = (4, 2) if axis == "u" else (6, 3)
                if k % main_every == 0:
                    return MAIN
                return SECONDARY if k % sec_every == 0 else BRANCH
            return SECONDARY if k % 3 == 0 else BRANCH

        # axis "u": lines of constant v running along u (the long axis); axis "v": across it
        specs = []
        for axis, spacing in (("u", (270.0, 360.0)), ("v", (300.0, 400.0))):
            lo, hi = ext["v"] if axis == "u" else ext["u"]
            olo, ohi = ext[axis]
            for k, pos in _positions(lo, hi, rng, spacing):
                along = np.arange(olo - 100.0, ohi + 100.0 + 1e-9, 100.0)
                amp, lam, ph = (
                    rng.uniform(5.0, 25.0),
                    rng.uniform(1500.0, 4000.0),
                    rng.uniform(0, 2 * math.pi),
                )
                half = max(abs(olo), abs(ohi), 1.0)
                slope = rng.uniform(-1.0, 1.0) * 20.0 / half
                off = pos + amp * np.sin(2 * math.pi * along / lam + ph) + slope * along
                if axis == "u":
                    world = centre + np.outer(along, eu) + np.outer(off, ev)
                else:
                    world = centre + np.outer(off, eu) + np.outer(along, ev)
                specs.append((axis, k, cls_of(axis, k), LineString(world)))

        major: dict[str, list[LineString]] = {"u": [], "v": []}
        for axis, _k, cls, full in specs:
            if cls == BRANCH:
                continue
            for part in _line_parts(shapely.intersection(full, patch)):
                if part.length >= 150.0:
                    major[axis].append(part)
                    self.add_line(np.asarray(part.coords), cls, rng.choice(WIDTHS[cls]), "grid", pid)
        for axis, _k, cls, full in specs:
            if cls != BRANCH:
                continue
            other = major["v" if axis == "u" else "u"]
            for part in _line_parts(shapely.intersection(full, patch)):
                stops = sorted(
                    part.project(Point(p)) for o in other for p in _points_of(shapely.intersection(part, o))
                )
                stops = [0.0, *[s for s in stops if 5.0 < s < part.length - 5.0], part.length]
                if rng.random() < 0.35 or len(stops) <= 2:
                    i, j = 0, len(stops) - 1
                else:
                    choices = [(a, b) for a in range(len(stops)) for b in range(a + 1, len(stops))]
                    choices = [(a, b) for a, b in choices if stops[b] - stops[a] >= 400.0]
                    if not choices:
                        continue
                    i, j = choices[int(rng.integers(len(choices)))]
                d0 = stops[i] - (OVERSHOOT_M if i > 0 else 0.0)
                d1 = stops[j] + (OVERSHOOT_M if j < len(stops) - 1 else 0.0)
                piece = substring(part, d0, d1)
                if piece.length >= 150.0:
                    self.add_line(np.asarray(piece.coords), BRANCH, rng.choice(WIDTHS[BRANCH]), "grid", pid)

        # units: one per line, long non-main lines split at a main crossing near the middle
        role = self.patch_roles[pid]
        mains = [ln.geom for ln in self.lines if ln.patch == pid and ln.road_class == MAIN]
        for idx, ln in enumerate(self.lines):
            if ln.patch != pid or ln.source != "grid":
                continue
            g = ln.geom
            if ln.road_class == BRANCH and g.length < 250.0:
                continue  # short connector: stays unnamed
            cut = None
            if ln.road_class != MAIN and g.length > 4500.0:
                cands = sorted(
                    (abs(d - g.length / 2), d)
                    for m in mains
                    for p in _points_of(shapely.intersection(g, m))
                    for d in [g.project(Point(p))]
                    if 1200.0 < d < g.length - 1200.0
                )
                cut = cands[0][1] if cands else None
            if cut is None:
                self.add_unit(idx, "grid", role)
            else:
                self.add_unit(idx, "grid", role, 0.0, cut)
                self.add_unit(idx, "grid", role, cut, g.length)

    # -- 3. connectors between the patches ----------------------------------------------------

    def build_connectors(self) -> None:
        rng = _rng(self.seed, _S_CONNECT)
        inner = self.county.buffer(-50.0)
        for pid in range(1, len(self.patches)):
            role = self.patch_roles[pid]
            cls = SECONDARY if role == "421281003" else MAIN
            pairs = sorted((math.dist(a, b), a, b) for a in self.ports[0] for b in self.ports[pid])
            chosen = None
            for _, a, b in pairs[:60]:
                s = LineString([a, b])
                if inner.covers(s) and not self.in_patch(s):
                    chosen = (np.array(a), np.array(b))
                    break
            if chosen is None:
                self.report["connectors_missing"] = self.report.get("connectors_missing", 0) + 1
                continue
            a, b = chosen
            length = float(np.hypot(*(b - a)))
            others = [ln.geom for ln in self.lines]
            for cand in _wiggles(
                a, b, rng, 80.0, [(2500.0, min(0.03 * length, 60.0)), (800.0, min(0.01 * length, 15.0))]
            ):
                g = LineString(cand)
                if (
                    g.is_simple
                    and inner.covers(g)
                    and not self.in_patch(g)
                    and _crossings(g, others) is not None
                ):
                    break
            idx = self.add_line(cand, cls, rng.choice(WIDTHS[cls]), "connector")
            self.add_unit(idx, "connector", f"connector:{role}")

    # -- 4. seats and town streets --------------------------------------------------------------

    def build_seats(self) -> None:
        for t in self.towns:
            vs = [v for v in self.villages if v.parent == t.code]
            cand = [v for v in vs if v.kind == "community"] or vs
            if not cand:
                rp = t.metric.representative_point()
                self.seats[t.code] = np.array([rp.x, rp.y])
                continue
            pts = np.array([v.xy for v in cand])
            dist = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1]).sum(axis=1)
            self.seats[t.code] = pts[int(np.argmin(dist))]

    def build_town_streets(self) -> None:
        city = np.array(self.patches[0].centroid.coords[0])
        for t in self.towns:
            if t.cls != "town":
                if t.cls not in URBAN_CLASSES:
                    self.town_ports[t.code] = [self.seats[t.code]]
                continue
            rng = _rng(self.seed, _S_TOWN, int(t.code[-3:]))
            seat = self.seats[t.code]
            ang = math.atan2(*(city - seat)[::-1]) + rng.normal(0.0, math.radians(12.0))
            e = np.array([math.cos(ang), math.sin(ang)])
            n = np.array([-e[1], e[0]])
            region = t.metric.buffer(-100.0)
            n_comm = sum(1 for v in self.villages if v.parent == t.code and v.kind == "community")
            streets = [
                ("town-main", seat, e, rng.uniform(450.0, 700.0), rng.uniform(450.0, 700.0)),
                ("town-cross", seat, n, rng.uniform(250.0, 450.0), rng.uniform(250.0, 450.0)),
            ]
            if n_comm >= 3:
                off = float(rng.choice([-1.0, 1.0])) * rng.uniform(250.0, 350.0)
                streets.append(
                    ("town-cross", seat + off * e, n, rng.uniform(200.0, 350.0), rng.uniform(200.0, 350.0))
                )
            ports = []
            for kind, origin, direction, back, fwd in streets:
                along = np.linspace(-back, fwd, max(3, int((back + fwd) / 50.0)))
                amp, lam, ph = rng.uniform(3.0, 10.0), rng.uniform(600.0, 1200.0), rng.uniform(0, 2 * math.pi)
                side = amp * (np.sin(2 * math.pi * along / lam + ph) - math.sin(ph))
                normal = np.array([-direction[1], direction[0]])
                g = LineString(origin + np.outer(along, direction) + np.outer(side, normal))
                parts = _line_parts(shapely.intersection(g, region))
                if not parts:
                    continue
                part = min(parts, key=lambda p: (p.distance(Point(seat)), p.length))
                if part.length < 200.0:
                    continue
                cls = SECONDARY if kind == "town-main" else BRANCH
                width = rng.choice(TOWN_MAIN_WIDTHS) if kind == "town-main" else rng.choice(WIDTHS[BRANCH])
                idx = self.add_line(np.asarray(part.coords), cls, width, "town")
                self.add_unit(idx, kind, f"town:{t.code}")
                for end in (part.coords[0], part.coords[-1]):
                    if math.dist(end, seat) > 50.0:
                        ports.append(np.array(end))
            self.town_ports[t.code] = ports or [seat]

    # -- 5. highways -----------------------------------------------------------------------

    def build_highways(self) -> None:
        rng = _rng(self.seed, _S_HIGHWAY)
        inner = self.county.buffer(-120.0)
        rural = [t.code for t in self.towns if t.cls not in URBAN_CLASSES]
        names = ["city", *rural]
        polys = {"city": self.urban, **{c: self.by_code[c].metric for c in rural}}
        ports = {
            "city": [np.array(p) for ps in self.ports for p in ps],
            **{c: self.town_ports[c] for c in rural},
        }
        towns = {t.code for t in self.towns if t.cls == "town"}
        cands = []
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                adjacent = shapely.intersection(polys[a].boundary, polys[b].buffer(1.0)).length >= 300.0
                if not adjacent and not (a == "city" and b in towns):
                    continue
                pairs = sorted(
                    (math.dist(pa, pb), ka, kb)
                    for ka, pa in enumerate(ports[a])
                    for kb, pb in enumerate(ports[b])
                )
                for d, ka, kb in pairs[:20]:
                    s = LineString([ports[a][ka], ports[b][kb]])
                    if inner.covers(s) and not self.in_patch(s, 30.0):
                        cands.append((round(d, 3), a, b, ports[a][ka], ports[b][kb], adjacent))
                        break
        cands.sort(key=lambda c: (c[0], c[1], c[2]))
        # minimum spanning tree (Kruskal) over neighbouring townships, then radials from the city
        # where the tree makes a long detour, then a few shortcuts between neighbours
        parent = {n: n for n in names}

        def find(x: str) -> str:
            while parent[x] != x:
                x = parent[x]
            return x

        chosen: list[int] = []
        for k, c in enumerate(cands):
            if not c[5]:
                continue
            ra, rb = find(c[1]), find(c[2])
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
                chosen.append(k)
        if len({find(n) for n in names}) != 1:
            raise RuntimeError("highway graph is not connected")
        for k, c in enumerate(cands):
            detour = _graph_distance([cands[i] for i in chosen], c[1], c[2])
            if c[1] == "city" and k not in chosen and detour > RADIAL_DETOUR * c[0]:
                chosen.append(k)
        straight = [LineString([cands[k][3], cands[k][4]]) for k in chosen]
        shortcuts = 0
        for k, c in enumerate(cands):
            if k in chosen or not c[5] or shortcuts >= MAX_SHORTCUTS:
                continue
            if _graph_distance([cands[i] for i in chosen], c[1], c[2]) < SHORTCUT_DETOUR * c[0]:
                continue
            s = LineString([c[3], c[4]])
            ends = [Point(c[3]), Point(c[4])]
            if all(_touch_only_at(s, o, ends) for o in straight):
                chosen.append(k)
                straight.append(s)
                shortcuts += 1

        accepted: list[LineString] = []
        for k in chosen:
            c = cands[k]
            a, b = c[3], c[4]
            length = float(np.hypot(*(b - a)))
            base = _crossings(LineString([a, b]), accepted)
            harm = [
                (6000.0, min(0.05 * length, 500.0)),
                (2200.0, min(0.03 * length, 200.0)),
                (700.0, min(0.012 * length, 50.0)),
            ]
            radial = "city" in (c[1], c[2])
            width = rng.choice(WIDTHS[HIGHWAY][3:] if radial else WIDTHS[HIGHWAY][:4])
            for cand in _wiggles(a, b, rng, 120.0, harm):
                g = LineString(cand)
                if not (g.is_simple and inner.covers(g)) or self.in_patch(g, 30.0):
                    continue
                n = _crossings(g, accepted)
                if n is not None and base is not None and n <= base:
                    break
            accepted.append(LineString(cand))
            self.add_line(cand, HIGHWAY, width, "highway")
        self.report["highway_edges"] = len(chosen)

    # -- 6. village roads --------------------------------------------------------------------

    def build_village_roads(self) -> None:
        rng = _rng(self.seed, _S_VILLAGE)
        inner = self.county.buffer(-10.0)
        todo = [v for v in self.villages if not any(p.covers(Point(v.xy)) for p in self.patches)]
        failed = 0
        while todo:
            geoms = [ln.geom for ln in self.lines]
            tree = shapely.STRtree(geoms)
            pts = shapely.points([v.xy for v in todo])
            (qi, qj), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
            order = sorted(range(len(qi)), key=lambda k: (round(float(dist[k]), 3), int(qi[k])))
            k = order[0]
            v = todo.pop(int(qi[k]))
            if dist[k] < 60.0:
                continue
            vp = np.array(v.xy)
            near = sorted(
                (round(float(geoms[j].distance(Point(vp))), 3), int(j))
                for j in tree.query(Point(vp).buffer(float(dist[k]) * 1.6 + 50.0))
            )
            done = False
            for _, j in near[:6]:
                g = geoms[j]
                t = g.interpolate(g.project(Point(vp)))
                tp = np.array([t.x, t.y])
                ends = [np.array(g.coords[0]), np.array(g.coords[-1])]
                at_end = [e for e in ends if math.dist(e, tp) < 0.5]
                if at_end:
                    tp = at_end[0]
                length = float(np.hypot(*(tp - vp)))
                harm = [(1500.0, min(0.04 * length, 120.0)), (500.0, min(0.015 * length, 25.0))]
                for cand in _wiggles(vp, tp, rng, 80.0, harm):
                    core = LineString(cand)
                    if not (core.is_simple and inner.covers(core)) or self.in_patch(core, 5.0):
                        continue
                    hits = [
                        p
                        for jj in tree.query(core)
                        for p in _points_or_none(shapely.intersection(core, geoms[int(jj)]))
                    ]
                    if all(math.dist(p, tp) < NODE_TOL_M for p in hits) and None not in hits:
                        coords = cand if at_end else _extend(cand, end=OVERSHOOT_M)
                        self.add_line(coords, HIGHWAY, rng.choice(VILLAGE_ROAD_WIDTHS), "village")
                        done = True
                        break
                if done:
                    break
            if not done:
                failed += 1
        self.report["villages_unconnected"] = failed

    # -- pass-1 noding: drop lines that are not connected to the network -------------------------

    def drop_disconnected(self) -> None:
        pieces, _, _ = _node(self.lines)
        pieces = _prune_stubs(pieces)
        keep, drop = _main_component(pieces)
        alive_lines = {p.line for p in keep}
        for i, ln in enumerate(self.lines):
            ln.alive = i in alive_lines
        self.report["dropped_lines"] = sum(1 for ln in self.lines if not ln.alive)
        for u in self.units:
            u.alive = self.lines[u.line].alive


def _positions(lo: float, hi: float, rng: np.random.Generator, spacing: tuple[float, float]):
    """(index, offset) of grid lines across [lo, hi], index 0 near the centre."""
    first = rng.uniform(-40.0, 40.0)
    out = [(0, first)]
    for sign in (1, -1):
        p, k = first, 0
        while True:
            p += sign * rng.uniform(*spacing)
            k += sign
            if not lo + 80.0 < p < hi - 80.0:
                break
            out.append((k, p))
    return sorted(out, key=lambda t: t[1])


def _points_or_none(geom) -> list:
    try:
        return _points_of(geom)
    except ValueError:
        return [None]


def _touch_only_at(s: LineString, o: LineString, ends: Sequence[Point]) -> bool:
    try:
        pts = _points_of(shapely.intersection(s, o))
    except ValueError:
        return False
    return all(min(Point(p).distance(e) for e in ends) < 1.0 for p in pts)


def _graph_distance(edges, a: str, b: str) -> float:
    adj: dict[str, list[tuple[float, str]]] = {}
    for c in edges:
        adj.setdefault(c[1], []).append((c[0], c[2]))
        adj.setdefault(c[2], []).append((c[0], c[1]))
    best = {a: 0.0}
    todo = [(0.0, a)]
    while todo:
        todo.sort()
        d, x = todo.pop(0)
        if x == b:
            return d
        if d > best.get(x, math.inf):
            continue
        for w, y in sorted(adj.get(x, [])):
            if d + w < best.get(y, math.inf):
                best[y] = d + w
                todo.append((d + w, y))
    return math.inf


# --------------------------------------------------------------------------------------------
# Name catalogue (plausible names for 赤壁市; meanings 含义 are synthetic but in the usual style)
# --------------------------------------------------------------------------------------------

GENERICS = ("大道", "大街", "路", "街", "巷")  # longest first where one ends another
KIND_OF_GENERIC = {"大道": "road", "路": "road", "大街": "street", "街": "street", "巷": "alley"}
NUMERALS = "一二三四五六七八九十"

FIXED_MEANINGS = {
    "赤壁大道": "以市名命名。赤壁因东汉建安十三年（208年）孙刘联军大破曹军的赤壁之战而闻名，1998年蒲圻市更名为赤壁市。",
    "金鸾大道": "以赤壁古战场金鸾山命名，山上有凤雏庵，相传为庞统读书处。",
    "河北大道": "因位于陆水河北岸而得名。",
    "沿河大道": "沿陆水河岸修建，故名。",
    "蒲纺大道": "因通往蒲纺工业园（原蒲圻纺织总厂）而得名。",
    "发展大道": "取开发区加快发展之意命名。",
    "中山路": "为纪念孙中山先生而命名，是老城区的主要街道。",
    "人民路": "取“人民城市为人民”之意命名。",
    "蒲圻路": "以赤壁市旧称“蒲圻”命名，保留千年县名的历史记忆；蒲圻因湖泊多生蒲草而得名。",
    "赤马港路": "以赤马港地名命名，相传三国时东吴在此屯兵饮马。",
    "北站路": "因通往武广高速铁路赤壁北站而得名。",
    "陆水湖路": "因通往陆水湖风景区而得名。",
    "温泉路": "因沿线有温泉出露而得名。",
    "北门街": "因位于老城北门一带、靠近北街社区而得名。",
    "西门街": "因位于老城西门一带、靠近西街社区而得名。",
    "营里巷": "以营里社区命名，相传古时为驻军营地。",
    "龙翔巷": "以龙翔山社区命名，取“龙翔凤舞”的吉祥寓意。",
    "汪家巷": "因靠近汪家堡，早年汪姓人家聚居于此而得名。",
    "木田巷": "以木田畈地名命名，旧时巷旁多为水田。",
    "鲫鱼桥巷": "以鲫鱼桥地名命名。",
    "大田巷": "以大田畈地名命名。",
    "凤雏大街": "以赤壁古战场金鸾山凤雏庵命名，庞统号凤雏。",
}

# 大道 (main roads, >= 40 m) beyond the fixed ones
MAIN_POOL = (
    ("南屏大道", "以赤壁古战场南屏山命名。"),
    ("三国大道", "取赤壁三国文化之意命名。"),
    ("新城大道", "因贯穿城区新区而得名。"),
    ("兴业大道", "取兴业富民之意命名。"),
    ("荆楚大道", "以湖北古称“荆楚”命名，寓意城市开阔大气。"),
    ("华夏大道", "取华夏复兴之意命名。"),
)

# 路 (secondary and branch roads, 12-40 m)
ROAD_POOL = (
    ("银杏路", "以银杏树命名，沿线种植银杏行道树。"),
    ("樟树路", "以香樟命名，香樟为本地常见行道树。"),
    ("枫林路", "因沿线枫树成林而得名。"),
    ("玉兰路", "以玉兰花命名，寓意纯洁美好。"),
    ("紫薇路", "以紫薇花命名，寓意城市花繁似锦。"),
    ("海棠路", "以海棠花命名，寓意和美吉祥。"),
    ("杜鹃路", "以杜鹃花命名，杜鹃为本地山区常见花卉。"),
    ("松柏路", "以松柏命名，寓意四季常青、坚韧不拔。"),
    ("翠竹路", "因沿线竹林青翠而得名。"),
    ("梅园路", "因附近原有梅园而得名。"),
    ("茶花路", "以山茶花命名，寓意城市四季花香。"),
    ("芙蓉路", "以芙蓉花命名，寓意美丽繁荣。"),
    ("石榴路", "以石榴命名，寓意团结和睦。"),
    ("荷花路", "因附近池塘遍植荷花而得名。"),
    ("周郎路", "以东吴名将周瑜（人称周郎）命名，纪念赤壁之战。"),
    ("卧龙路", "以诸葛亮（号卧龙）命名，纪念孙刘联军赤壁破曹。"),
    ("翼江路", "以赤壁古战场翼江亭命名。"),
    ("拜风路", "以赤壁古战场拜风台命名，相传诸葛亮在此借东风。"),
    ("东吴路", "以三国东吴命名，纪念赤壁之战的历史。"),
    ("茶源路", "取赤壁羊楼洞为“万里茶道”源头之意命名。"),
    ("学府路", "因沿线学校集中而得名。"),
    ("文化路", "因沿线有文化馆、图书馆等文化设施而得名。"),
    ("体育路", "因通往市体育场而得名。"),
    ("商贸路", "因沿线商贸市场集中而得名。"),
    ("科技路", "取科技兴市之意命名。"),
    ("工业路", "因沿线工厂企业集中而得名。"),
    ("康宁路", "因沿线有医院，取健康安宁之意命名。"),
    ("育才路", "因沿线有学校，取培育人才之意命名。"),
    ("园林路", "因沿线绿地公园集中而得名。"),
    ("迎宾路", "为进入城区的主要通道，取喜迎宾客之意命名。"),
    ("公园路", "因通往城市公园而得名。"),
    ("物流路", "因沿线物流仓储企业集中而得名。"),
    ("创业路", "取艰苦创业、开拓进取之意命名。"),
    ("兴盛路", "取兴旺昌盛之意命名。"),
    ("富民路", "取富民强市之意命名。"),
    ("振兴路", "取振兴发展之意命名。"),
    ("幸福路", "寓意居民生活幸福美满。"),
    ("复兴路", "取民族复兴之意命名。"),
    ("光华路", "取光明华美之意命名。"),
    ("朝阳路", "寓意如旭日东升、朝气蓬勃。"),
    ("春晖路", "取“谁言寸草心，报得三春晖”诗意命名。"),
    ("锦绣路", "取锦绣前程之意命名。"),
    ("瑞祥路", "取祥瑞吉利之意命名。"),
    ("康乐路", "寓意居民健康快乐。"),
    ("长青路", "取万古长青之意命名。"),
    ("怡和路", "取和乐安宁之意命名。"),
    ("永丰路", "取年年丰收之意命名。"),
    ("和谐路", "取社会和谐之意命名。"),
    ("惠民路", "取惠及于民之意命名。"),
    ("青山路", "因面向青山而得名。"),
    ("西山路", "因位于城区西侧山岗而得名。"),
    ("龙泉路", "因附近有泉水，取龙泉吉名命名。"),
    ("南湖路", "因靠近城南湖塘而得名。"),
    ("湖光路", "因临近湖面、湖光山色而得名。"),
    ("清风路", "取清风徐来之意命名。"),
    ("明珠路", "寓意城市如明珠般璀璨。"),
    ("银湖路", "因临近湖塘，取银波荡漾之意命名。"),
    ("青年路", "因共青团员义务劳动修建而得名。"),
)

# 街 (streets); town main streets are "<town>大街"
STREET_POOL = (
    ("兴隆街", "取生意兴隆之意命名。"),
    ("新民街", "取新民向上之意命名。"),
    ("永兴街", "取永远兴旺之意命名。"),
    ("繁荣街", "寓意集镇商贸繁荣。"),
    ("民主街", "取人民民主之意命名。"),
    ("和平街", "取和平安宁之意命名。"),
    ("迎春街", "取迎接春天、万象更新之意命名。"),
    ("吉庆街", "取吉祥喜庆之意命名。"),
    ("丰收街", "寓意农业年年丰收。"),
    ("聚福街", "寓意福气汇聚。"),
    ("长寿街", "寓意居民健康长寿。"),
    ("利民街", "取便民利民之意命名。"),
    ("太和街", "取太平祥和之意命名。"),
    ("安乐街", "寓意安居乐业。"),
    ("向荣街", "取欣欣向荣之意命名。"),
    ("鸿运街", "寓意鸿运当头。"),
    ("集贤街", "取招贤纳才之意命名。"),
    ("同德街", "取同心同德之意命名。"),
    ("文昌街", "以旧时文昌阁命名。"),
    ("富康街", "寓意富裕安康。"),
)

# roads named after the community (village code) they pass; used where a street is near it
COMMUNITY_ROADS = (
    ("421281001006", "铁山路", "以铁山社区所在的铁山地名命名。"),
    ("421281001014", "望山路", "以望山社区命名，取登高望山之意。"),
    ("421281001010", "华舟路", "以华舟社区命名，华舟为当地老企业名称。"),
    ("421281001011", "炭素路", "因沿线原有炭素厂而得名。"),
    ("421281001005", "金鸡山路", "以金鸡山地名命名。"),
    ("421281001009", "凤凰山路", "以凤凰山地名命名。"),
    ("421281001007", "斋公岭路", "以斋公岭地名命名。"),
    ("421281002002", "砂子岭路", "以砂子岭地名命名。"),
    ("421281002008", "黄龙路", "以黄龙社区命名。"),
    ("421281002010", "大桥路", "因靠近陆水河大桥而得名。"),
    ("421281400001", "桂花路", "以蒲纺桂花树社区命名，寓意花香满城。"),
    ("421281400003", "桃花路", "以蒲纺桃花坪社区命名。"),
    ("421281400002", "六米桥路", "以蒲纺六米桥社区命名。"),
    ("421281003003", "青泉路", "以青泉社区命名，取泉水清澈之意。"),
    ("421281003002", "锁石路", "以锁石岭地名命名。"),
)

SURNAMES = "李刘陈周黄胡徐邓张吴彭熊雷丁魏杨叶蔡何夏宋廖龚郑游饶甘柯"
ALLEY_POOL = (
    ("福寿巷", "取福寿双全之意命名。"),
    ("吉祥巷", "取吉祥如意之意命名。"),
    ("太平巷", "取太平安宁之意命名。"),
    ("平安巷", "寓意居民出入平安。"),
    ("安居巷", "取安居乐业之意命名。"),
    ("和顺巷", "取家和事顺之意命名。"),
    ("瑞丰巷", "取瑞雪兆丰年之意命名。"),
    ("长乐巷", "取长久安乐之意命名。"),
    ("德馨巷", "取“惟吾德馨”之意命名。"),
    ("仁和巷", "取仁爱和睦之意命名。"),
    ("积善巷", "取“积善之家必有余庆”之意命名。"),
    ("同心巷", "取邻里同心之意命名。"),
    ("如意巷", "取称心如意之意命名。"),
    ("书香巷", "因旧时巷内有私塾、书香传家而得名。"),
    ("竹园巷", "因巷旁原有竹园而得名。"),
    ("梧桐巷", "因巷口有老梧桐树而得名。"),
    ("柏树巷", "因巷内有古柏而得名。"),
    ("槐树巷", "因巷口有老槐树而得名。"),
    ("石板巷", "因旧时巷道铺青石板而得名。"),
    ("古井巷", "因巷内有古井而得名。"),
    ("粮站巷", "因巷内原有粮站而得名。"),
    ("茶亭巷", "因巷口旧有供行人歇脚的茶亭而得名。"),
    ("书院巷", "因旧时巷内有书院而得名。"),
    ("文庙巷", "因靠近旧时文庙而得名。"),
    ("铁匠巷", "因旧时巷内铁匠铺集中而得名。"),
    ("染坊巷", "因旧时巷内有染坊而得名。"),
    ("米市巷", "因旧时为米市所在而得名。"),
    ("花园巷", "因巷旁原有私家花园而得名。"),
    ("油坊巷", "因旧时巷内有榨油坊而得名。"),
    ("当铺巷", "因旧时巷口有当铺而得名。"),
)
COMMUNITY_ALLEYS = (
    ("421281002001", "营里巷"),
    ("421281002009", "龙翔巷"),
    ("421281002012", "汪家巷"),
    ("421281002007", "木田巷"),
    ("421281001004", "鲫鱼桥巷"),
    ("421281001013", "大田巷"),
)
# numbered alleys off a named road: 北站一巷, 北站二巷 ...
ALLEY_SERIES = (("北站路", 3), ("人民路", 3), ("赤马港路", 2))

# former names (renamed roads); fixed pairs first
FIXED_RENAMES = {"金鸾大道": ("建设路", 2012), "北站路": ("车站路", 2010), "陆水湖路": ("水电路", 2008)}
OLD_MEANINGS = {
    "建设路": "取社会主义建设之意命名。",
    "车站路": "因通往蒲圻火车站而得名。",
    "水电路": "因通往陆水水利枢纽（水电站）而得名。",
}
OLD_ROAD_POOL = (
    ("解放路", "为纪念1949年解放而命名。"),
    ("东风路", "取“东风浩荡”之意，带有20世纪60年代的时代印记。"),
    ("胜利路", "为纪念抗战胜利而命名。"),
    ("跃进路", "带有20世纪50年代末的时代印记。"),
    ("向阳路", "取向阳而生之意命名。"),
    ("工农路", "取工农联盟之意命名。"),
    ("前进路", "取奋勇前进之意命名。"),
    ("友谊路", "取团结友谊之意命名。"),
    ("新华路", "取新中国之意命名。"),
    ("光明路", "取光明前途之意命名。"),
    ("卫东路", "带有20世纪60年代的时代印记。"),
    ("红星路", "取红星闪耀之意命名。"),
    ("五一路", "以国际劳动节命名。"),
    ("八一路", "以建军节命名。"),
    ("城关路", "因位于原蒲圻县城关镇而得名。"),
    ("劳动路", "取劳动光荣之意命名。"),
    ("交通路", "因沿线有交通运输单位而得名。"),
    ("红光路", "取红光普照之意，带有20世纪70年代的时代印记。"),
    ("工人路", "因沿线工厂职工宿舍集中而得名。"),
    ("化工路", "因沿线原有化工厂而得名。"),
    ("农机路", "因沿线原有农机厂而得名。"),
    ("机械路", "因沿线原有机械厂而得名。"),
    ("粮食路", "因沿线原有粮食局、粮库而得名。"),
    ("团结路", "取团结奋进之意命名。"),
    ("红旗路", "取红旗飘扬之意命名。"),
    ("先锋路", "取争当先锋之意命名。"),
)
OLD_STREET_POOL = (
    ("正街", "旧时集镇正中的主街。"),
    ("横街", "因与正街相交、横贯集镇而得名。"),
    ("后街", "因位于正街之后而得名。"),
    ("新街", "因新辟街道而得名。"),
    ("上街", "因位于集镇上首而得名。"),
    ("下街", "因位于集镇下首而得名。"),
    ("前街", "因位于集镇前部而得名。"),
)
OLD_ALLEY_POOL = (
    ("东升巷", "取旭日东升之意命名。"),
    ("红花巷", "因巷内原有红花而得名。"),
    ("卫星巷", "带有20世纪50年代的时代印记。"),
    ("前卫巷", "取走在前列之意命名。"),
    ("红梅巷", "因巷口原有红梅而得名。"),
    ("东红巷", "带有20世纪60年代的时代印记。"),
)

# naming batches (批复): year -> earliest batch index by area
BATCH_YEARS = (1999, 2001, 2003, 2005, 2007, 2009, 2011, 2013, 2015, 2017, 2019, 2021)


def split_name(name: str) -> tuple[str, str]:
    """(专名 specific, 通名 generic): 北站一巷 -> (北站一, 巷), 凤雏大街 -> (凤雏, 大街)."""
    for g in GENERICS:
        if name.endswith(g) and len(name) > len(g):
            return name[: -len(g)], g
    raise ValueError(f"no generic in {name!r}")


def name_key(name: str) -> str:
    """Toneless pinyin of the specific: two names with the same key are homophones (同音)."""
    return "".join(lazy_pinyin(split_name(name)[0]))


# --------------------------------------------------------------------------------------------
# Naming the streets
# --------------------------------------------------------------------------------------------


def _sel(
    role: str | None = None,
    classes: Sequence[str] | None = None,
    orient: str | None = None,
    township: str | None = None,
    sources: Sequence[str] = ("grid",),
) -> Callable[[_Unit], bool]:
    def pred(u: _Unit) -> bool:
        return (
            u.source in sources
            and (role is None or u.role == role)
            and (classes is None or u.road_class in classes)
            and (orient is None or u.orient == orient)
            and (township is None or u.meta["township"] == township)
        )

    return pred


def _town_specific(t: _Township) -> str:
    return "凤雏" if t.name == "赤壁镇" else t.name.removesuffix("镇").removesuffix("乡")


class _Namer:
    def __init__(self, net: _Network) -> None:
        self.net = net
        self.units = [u for u in net.units if u.alive]
        for u in self.units:
            self.measure(u)
        self.village_xy = {v.code: np.array(v.xy) for v in net.villages}

    def measure(self, u: _Unit) -> None:
        g = substring(self.net.lines[u.line].geom, u.d0, u.d1)
        mid = g.interpolate(0.5, normalized=True)
        u.meta.update(length=g.length, mid=np.array([mid.x, mid.y]), township=self.net.township_of(mid))

    def free(self, pred: Callable[[_Unit], bool]) -> list[_Unit]:
        return [u for u in self.units if u.name is None and pred(u)]

    @staticmethod
    def nearest(cands: list[_Unit], xy: np.ndarray) -> _Unit | None:
        if not cands:
            return None
        return min(cands, key=lambda u: (round(float(np.hypot(*(u.meta["mid"] - xy))), 3), u.id))

    @staticmethod
    def give(u: _Unit | None, name: str, meaning: str, required: bool = True) -> None:
        if u is None:
            if required:
                raise RuntimeError(f"no road for the required name {name}")
            return
        u.name = name
        u.meta["meaning"] = meaning

    def pick(
        self, name: str, preds: Sequence[Callable[[_Unit], bool]], xy: np.ndarray, meaning: str = ""
    ) -> None:
        """Give ``name`` to the free unit nearest ``xy`` of the first predicate that has one; the last
        resort is any urban road of a class that fits the generic (大道: main roads)."""
        classes = (MAIN,) if name.endswith("大道") else (SECONDARY, BRANCH)
        for pred in [*preds, _sel(None, classes, sources=("grid", "connector"))]:
            u = self.nearest(self.free(pred), xy)
            if u is not None:
                self.give(u, name, meaning or FIXED_MEANINGS[name])
                return
        raise RuntimeError(f"no road for the required name {name}")

    def name_streets(self, rng: np.random.Generator) -> None:
        vxy = self.village_xy
        city = np.array(self.net.patches[0].centroid.coords[0])
        old_town = np.mean(
            [v.xy for v in self.net.villages if v.parent == "421281001" and v.kind == "community"], axis=0
        )
        central_main = _sel("central", (MAIN,))
        ew = sorted(self.free(_sel("central", (MAIN,), "EW")), key=lambda u: (float(u.meta["mid"][1]), u.id))
        south = ew[0] if len(ew) >= 2 else None  # 沿河大道: the southernmost east-west main road
        self.give(
            south or self.nearest(self.free(central_main), city), "沿河大道", FIXED_MEANINGS["沿河大道"]
        )
        self.pick("赤壁大道", [_sel("central", (MAIN,), "EW")], city)
        self.pick("金鸾大道", [_sel("central", (MAIN,), "NS"), central_main], city)
        self.pick("河北大道", [central_main], vxy["421281002004"])
        for role, name in (("421281400", "蒲纺大道"), ("421281404", "发展大道")):
            patch = self.net.patch_roles.index(role) if role in self.net.patch_roles else 0
            anchor = np.array(self.net.patches[patch].centroid.coords[0])
            self.pick(
                name, [_sel(f"connector:{role}", (MAIN,), sources=("connector",)), central_main], anchor
            )
        minor = (SECONDARY, BRANCH)
        self.pick(
            "陆水湖路",
            [_sel("connector:421281003", sources=("connector",)), _sel("421281003", minor)],
            vxy["421281003002"],
        )
        for name, orient in (("中山路", "EW"), ("人民路", "NS")):
            self.pick(
                name,
                [
                    _sel("central", (SECONDARY,), orient, "421281001"),
                    _sel("central", minor, orient, "421281001"),
                    _sel("central", minor),
                ],
                old_town,
            )
        self.pick(
            "蒲圻路",
            [_sel("central", minor, township="421281001"), _sel("central", minor)],
            vxy["421281001003"],
        )
        for name, code in (("赤马港路", "421281002003"), ("北站路", "421281002011")):
            self.pick(
                name,
                [
                    _sel("central", (SECONDARY,), township="421281002"),
                    _sel("central", minor, township="421281002"),
                ],
                vxy[code],
            )
        self.pick("温泉路", [_sel("421281003", minor), _sel(None, minor)], vxy["421281003001"])

        # roads named after the community they pass (only where one is close)
        for code, name, meaning in COMMUNITY_ROADS:
            cands = [
                u
                for u in self.free(_sel(None, minor))
                if float(np.hypot(*(u.meta["mid"] - vxy[code]))) < 700.0 and u.meta["length"] >= 300.0
            ]
            self.give(self.nearest(cands, vxy[code]), name, meaning, required=False)
        # old-town streets by the 北街 / 西街 communities
        for code, name in (("421281001002", "北门街"), ("421281001003", "西门街")):
            cands = [
                u
                for u in self.free(_sel("central", (BRANCH,)))
                if np.hypot(*(u.meta["mid"] - vxy[code])) < 900.0
            ]
            self.give(self.nearest(cands, vxy[code]), name, FIXED_MEANINGS[name], required=False)
        # development zone: numbered 经 (north-south) and 纬 (east-west) roads
        for orient, word, axis in (("NS", "经", 0), ("EW", "纬", 1)):
            cands = sorted(
                self.free(_sel("421281404", minor, orient)), key=lambda u: (float(u.meta["mid"][axis]), u.id)
            )
            for k, u in enumerate(cands[: len(NUMERALS)]):
                direction = "南北" if orient == "NS" else "东西"
                self.give(
                    u,
                    f"{word}{NUMERALS[k]}路",
                    f"开发区道路按经纬编号，{direction}向道路称“{word}路”，此为第{NUMERALS[k]}条{word}路。",
                )
                u.meta["series"] = "经纬"
        # the rest from the pools, in a seeded order
        for pool, pred in (
            (MAIN_POOL, central_main),
            (ROAD_POOL, _sel(None, minor, sources=("grid", "connector"))),
        ):
            order = [pool[int(k)] for k in rng.permutation(len(pool))]
            for u in self.free(pred):
                if order:
                    self.give(u, *order.pop(0))
        streets = [STREET_POOL[int(k)] for k in rng.permutation(len(STREET_POOL))]
        for u in self.units:
            if u.name is not None or not u.source.startswith("town"):
                continue
            town = self.net.by_code[u.role.split(":")[1]]
            if u.source == "town-main":
                spec = _town_specific(town)
                meaning = FIXED_MEANINGS.get(f"{spec}大街", f"以所在的{town.name}命名，为集镇主街。")
                self.give(u, f"{spec}大街", meaning)
            elif streets:
                self.give(u, *streets.pop(0))
        self.net.report["unnamed_units"] = sum(1 for u in self.units if u.name is None)


# --------------------------------------------------------------------------------------------
# Alleys
# --------------------------------------------------------------------------------------------

NAMED_ALLEY_WEIGHT = {
    "421281001": 4.0,
    "421281002": 3.0,
    "421281400": 1.5,
    "421281003": 1.0,
    "421281404": 0.5,
}
UNNAMED_ALLEY_WEIGHT = {
    "421281002": 3.0,
    "421281003": 2.0,
    "421281404": 2.0,
    "421281400": 1.5,
    "421281001": 1.0,
}
ALLEY_PARENT_CLASS_WEIGHT = {MAIN: 0.3, SECONDARY: 1.0, BRANCH: 1.5}


class _Alleys:
    def __init__(self, net: _Network, rng: np.random.Generator) -> None:
        self.net = net
        self.rng = rng
        self.ids = [i for i, ln in enumerate(net.lines) if ln.alive]
        self.geoms = {i: net.lines[i].geom for i in self.ids}
        self.tree = shapely.STRtree([self.geoms[i] for i in self.ids])
        self.cores: list[LineString] = []
        self.parents = [i for i in self.ids if net.lines[i].source == "grid"]
        self.parent_town = [
            net.township_of(self.geoms[i].interpolate(0.5, normalized=True)) for i in self.parents
        ]

    def near(self, geom, dist: float) -> list[int]:
        return [self.ids[int(j)] for j in sorted(self.tree.query(geom.buffer(dist)))]

    def attempt(self, parent: int, d: float, side: float, through_ok: bool):
        """One alley candidate off line ``parent`` at chainage ``d`` (None if it does not fit)."""
        rng = self.rng
        jitter, through_draw, length_draw = rng.normal(0.0, math.radians(6.0)), rng.random(), rng.random()
        g = self.geoms[parent]
        if not 30.0 <= d <= g.length - 30.0:
            return None
        p = np.array(g.interpolate(d).coords[0])
        tan = _unit_vec(
            np.array(g.interpolate(d + 5.0).coords[0]) - np.array(g.interpolate(d - 5.0).coords[0])
        )
        c, s = math.cos(jitter), math.sin(jitter)
        nrm = side * np.array([-tan[1], tan[0]])
        nrm = np.array([c * nrm[0] - s * nrm[1], s * nrm[0] + c * nrm[1]])
        pt = Point(p)
        if any(self.geoms[i].distance(pt) < 30.0 for i in self.near(pt, 30.0) if i != parent):
            return None
        ray = LineString([p + 0.5 * nrm, p + 420.0 * nrm])
        hits = []
        for i in self.near(ray, 0.0):
            for q in _points_or_none(shapely.intersection(ray, self.geoms[i])):
                if q is None:
                    return None
                hits.append((math.dist(q, p), i))
        for core in self.cores:
            for q in _points_or_none(shapely.intersection(ray, core)):
                hits.append((math.inf if q is None else math.dist(q, p), -1))
        dist, hit = min(hits) if hits else (math.inf, -1)
        if dist < 85.0:
            return None
        through = through_ok and dist <= ALLEY_MAX_M and hit >= 0 and through_draw < 0.4
        through = through and self.net.lines[hit].source == "grid"
        if through:
            length = dist
            coords = np.array([p - OVERSHOOT_M * nrm, p + (dist + OVERSHOOT_M) * nrm])
        else:
            hi = min(300.0, dist - 25.0)
            if hi < ALLEY_MIN_M + 5.0:
                return None
            length = ALLEY_MIN_M + 5.0 + length_draw * (hi - ALLEY_MIN_M - 5.0)
            coords = np.array([p - OVERSHOOT_M * nrm, p + length * nrm])
        core = LineString([p, p + length * nrm])
        body = substring(core, 8.0, length - (8.0 if through else 0.0))
        skip = {parent, hit}
        if any(self.geoms[i].distance(body) < 12.0 for i in self.near(body, 12.0) if i not in skip):
            return None
        if any(a.distance(core) < 25.0 for a in self.cores):
            return None
        if not self.net.patches[self.net.lines[parent].patch].buffer(2.0).covers(core):
            return None
        code = self.net.township_of(core.interpolate(0.5, normalized=True))
        if code not in self.net.urban_codes or not self.net.by_code[code].metric.buffer(-3.0).covers(core):
            return None
        return coords, core, code

    def accept(self, found, named: bool, parent: int) -> int:
        coords, core, code = found
        self.cores.append(core)
        idx = self.net.add_line(
            coords, ALLEY, self.rng.choice(WIDTHS[ALLEY]), "alley", self.net.lines[parent].patch
        )
        if named:
            uid = self.net.add_unit(idx, "alley", f"alley:{code}")
            self.net.units[uid].meta.update(parent=parent, township=code, length=core.length)
        return idx

    def weighted_parent(self, weights: dict[str, float]) -> int:
        w = np.array(
            [
                weights.get(code, 0.0)
                * ALLEY_PARENT_CLASS_WEIGHT[self.net.lines[i].road_class]
                * self.geoms[i].length
                for i, code in zip(self.parents, self.parent_town, strict=True)
            ]
        )
        return self.parents[int(self.rng.choice(len(self.parents), p=w / w.sum()))]

    def build(self, namer: _Namer) -> None:
        net, rng = self.net, self.rng
        by_name = {u.name: u for u in net.units if u.alive and u.name}
        named_units: list[_Unit] = []
        # numbered alleys off 北站路, 人民路, 赤马港路
        for road, count in ALLEY_SERIES:
            u = by_name[road]
            found_here = []
            for _ in range(600):
                if len(found_here) == count:
                    break
                d = rng.uniform(u.d0 + 30.0, u.d1 - 30.0)
                found = self.attempt(u.line, d, float(rng.choice([-1.0, 1.0])), True)
                if found is not None:
                    found_here.append((d, self.accept(found, True, u.line)))
            if len(found_here) < count:
                raise RuntimeError(f"could not place the alleys of {road}")
            spec = split_name(road)[0]
            for k, (_, idx) in enumerate(sorted(found_here)):
                unit = net.units[net.lines[idx].units[0][1]]
                unit.name = f"{spec}{NUMERALS[k]}巷"
                unit.meta["series"] = road
                unit.meta["meaning"] = f"位于{road}一侧，自{road}起点起依次编号，为第{NUMERALS[k]}条巷。"
                named_units.append(unit)
        # alleys named after their community
        for code, name in COMMUNITY_ALLEYS:
            anchor = namer.village_xy[code]
            near = sorted(
                (round(self.geoms[i].distance(Point(anchor)), 3), i)
                for i in self.parents
                if self.geoms[i].distance(Point(anchor)) < 500.0
            )
            idx = None
            for _ in range(600):
                if not near:
                    break
                parent = near[int(rng.integers(len(near)))][1]
                d = self.geoms[parent].project(Point(anchor)) + rng.normal(0.0, 120.0)
                found = self.attempt(parent, d, float(rng.choice([-1.0, 1.0])), True)
                if found is not None:
                    idx = self.accept(found, True, parent)
                    break
            if idx is None:
                raise RuntimeError(f"could not place {name}")
            unit = net.units[net.lines[idx].units[0][1]]
            unit.name, unit.meta["meaning"] = name, FIXED_MEANINGS[name]
            named_units.append(unit)
        # other named alleys, names from the pool in a seeded order
        pool = [(f"{s}家巷", f"因早年{s}姓人家聚居于此而得名。") for s in SURNAMES] + list(ALLEY_POOL)
        pool = [pool[int(k)] for k in rng.permutation(len(pool))]
        for _ in range(20000):
            if len(named_units) >= N_NAMED_ALLEYS:
                break
            parent = self.weighted_parent(NAMED_ALLEY_WEIGHT)
            d = rng.uniform(0.0, self.geoms[parent].length)
            found = self.attempt(parent, d, float(rng.choice([-1.0, 1.0])), True)
            if found is not None:
                idx = self.accept(found, True, parent)
                unit = net.units[net.lines[idx].units[0][1]]
                unit.name, unit.meta["meaning"] = pool.pop(0)
                named_units.append(unit)
        if len(named_units) != N_NAMED_ALLEYS:
            raise RuntimeError("could not place the named alleys")
        # unnamed alleys: dead-end spurs (one segment each)
        unnamed = 0
        for _ in range(20000):
            if unnamed >= N_UNNAMED_ALLEYS:
                break
            parent = self.weighted_parent(UNNAMED_ALLEY_WEIGHT)
            d = rng.uniform(0.0, self.geoms[parent].length)
            found = self.attempt(parent, d, float(rng.choice([-1.0, 1.0])), False)
            if found is not None:
                self.accept(found, False, parent)
                unnamed += 1
        if unnamed != N_UNNAMED_ALLEYS:
            raise RuntimeError("could not place the unnamed alleys")


# --------------------------------------------------------------------------------------------
# Assembly: segments, roads with name histories, signs
# --------------------------------------------------------------------------------------------

KIND_ORDER = {"road": 0, "street": 1, "alley": 2}
SIGN_CONDITIONS = ("完好", "破损", "缺失")
DATA_END = dt.date(2023, 6, 30)  # the 2023 division codes are as of this date


@dataclass
class RoadNetwork:
    """The synthetic road layers (lon/lat EPSG:4490 shapely geometries) and their counts."""

    seed: int
    segments: list[dict]  # {"properties": {...}, "geometry": LineString}
    roads: list[dict]  # {"properties": {...}, "geometry": MultiLineString}
    signs: list[dict]  # {"properties": {...}, "geometry": Point}
    counts: dict[str, int]
    report: dict[str, int]


def _random_date(rng: np.random.Generator, lo: dt.date, hi: dt.date) -> dt.date:
    if hi <= lo:
        return lo
    return lo + dt.timedelta(days=int(rng.integers(0, (hi - lo).days + 1)))


def _add_years(d: dt.date, years: int) -> dt.date:
    return d.replace(year=d.year + years, day=min(d.day, 28))


class _Assembler:
    def __init__(self, net: _Network) -> None:
        self.net = net

    # -- final noding ------------------------------------------------------------------------

    def node(self) -> None:
        net = self.net
        ids = [i for i, ln in enumerate(net.lines) if ln.alive]
        lines = [net.lines[i] for i in ids]
        pieces, nodes, (boundary_nodes,) = _node(lines, net.boundary)
        pieces = _prune_stubs(pieces)
        keep, drop = _main_component(pieces)
        if drop:
            raise RuntimeError(f"{len(drop)} segments are not connected to the network")
        for p in keep:
            p.line = ids[p.line]
        self.pieces = keep
        self.nodes = nodes
        self.boundary_nodes = boundary_nodes
        # lon/lat: shared nodes are transformed once, so touching segments share exact coordinates
        node_geo = quantize(shapely.get_coordinates(to_geo(shapely.points(np.array(nodes.xy)))))
        geo = to_geo(np.array([LineString(p.coords) for p in keep], dtype=object))
        self.geo: list[LineString] = []
        for p, g in zip(keep, geo, strict=True):
            c = quantize(shapely.get_coordinates(g))
            c[0], c[-1] = node_geo[p.a], node_geo[p.b]
            c = c[np.concatenate([[True], np.any(np.diff(c, axis=0) != 0, axis=1)])]
            if len(c) < 2:
                raise RuntimeError("degenerate segment after rounding")
            self.geo.append(LineString(c))
        self.node_geo = node_geo
        # township of each segment: the one containing its midpoint (lon/lat)
        polys = [t.geo for t in net.towns]
        tree = shapely.STRtree(polys)
        mids = shapely.line_interpolate_point(np.array(self.geo, dtype=object), 0.5, normalized=True)
        self.township: list[str] = []
        for m in mids:
            cands = sorted(int(k) for k in tree.query(m))
            code = next((net.towns[k].code for k in cands if polys[k].covers(m)), None)
            if code is None:
                code = min(net.towns, key=lambda t: (t.geo.distance(m), t.code)).code
            self.township.append(code)
        self.unit_of = [net.lines[p.line].unit_at((p.d0 + p.d1) / 2) for p in keep]
        alley_pieces: dict[int, int] = {}
        for p in keep:
            if net.lines[p.line].source == "alley":
                alley_pieces[p.line] = alley_pieces.get(p.line, 0) + 1
        if any(n != 1 for n in alley_pieces.values()):
            raise RuntimeError("an alley was split into several segments")

    # -- roads ---------------------------------------------------------------------------------

    def roads(self) -> None:
        net = self.net
        named = [u for u in net.units if u.alive and u.name]
        pieces_of: dict[int, list[int]] = {}
        for k, uid in enumerate(self.unit_of):
            if uid >= 0 and net.units[uid].name:
                pieces_of.setdefault(uid, []).append(k)
        named = [u for u in named if u.id in pieces_of]
        for u in named:
            u.meta["kind"] = KIND_OF_GENERIC[split_name(u.name)[1]]
        named.sort(key=lambda u: (KIND_ORDER[u.meta["kind"]], CLASS_RANK[u.road_class], u.id))
        self.named = named
        self.road_id = {u.id: f"R{k + 1:04d}" for k, u in enumerate(named)}
        self.pieces_of = pieces_of
        # named units meeting at each node
        at_node: dict[int, list[int]] = {}
        for k, uid in enumerate(self.unit_of):
            if uid in self.road_id:
                for n in (self.pieces[k].a, self.pieces[k].b):
                    if uid not in at_node.setdefault(n, []):
                        at_node[n].append(uid)
        self.at_node = at_node
        vill_xy = np.array([v.xy for v in net.villages])
        for u in named:
            ks = sorted(pieces_of[u.id], key=lambda k: self.pieces[k].d0)
            parts: list[list] = []
            for k in ks:
                c = [tuple(xy) for xy in self.geo[k].coords]
                if parts and parts[-1][-1] == c[0]:
                    parts[-1].extend(c[1:])
                else:
                    parts.append(c)
            u.meta["geom"] = MultiLineString(parts)
            u.meta["pieces"] = ks
            u.meta["divisions"] = sorted({self.township[k] for k in ks})
            ends = (self.pieces[ks[0]].a, self.pieces[ks[-1]].b)
            descs = []
            for n in ends:
                others = [o for o in at_node.get(n, []) if o != u.id]
                if others:
                    best = min(others, key=lambda o: (CLASS_RANK[net.units[o].road_class], self.road_id[o]))
                    descs.append(net.units[best].name)
                else:
                    xy = np.array(self.nodes.xy[n])
                    dist = np.hypot(vill_xy[:, 0] - xy[0], vill_xy[:, 1] - xy[1])
                    k = int(np.argmin(dist))
                    place = short_place_name(net.villages[k].name)
                    if dist[k] > 150.0:
                        place += _bearing_word(xy - vill_xy[k]) + "侧"
                    descs.append(place)
            u.meta["start_desc"], u.meta["end_desc"] = f"起于{descs[0]}", f"止于{descs[1]}"

    # -- name histories --------------------------------------------------------------------------

    def histories(self) -> None:
        net = self.net
        rng = _rng(net.seed, _S_DATES)
        batches = []
        used: dict[int, set[int]] = {}
        for year in BATCH_YEARS:
            day = dt.date(year, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
            number = int(rng.integers(3, 80))
            used.setdefault(year, set()).add(number)
            batches.append((day, DECISION_FORMAT.format(year=year, number=number)))

        def decision(day: dt.date) -> str:
            while True:
                number = int(rng.integers(80, 200))
                if number not in used.setdefault(day.year, set()):
                    used[day.year].add(number)
                    return DECISION_FORMAT.format(year=day.year, number=number)

        def era(u: _Unit) -> int:
            town = u.meta["divisions"][0]
            if u.source == "alley":
                return {"421281001": 0, "421281002": 1}.get(town, 3)
            if u.source == "town-main":
                return 1
            if u.source == "town-cross":
                return 2
            if u.role == "421281404" or u.role == "connector:421281404":
                return 5
            if u.role in ("421281003", "connector:421281003"):
                return 3
            if (
                u.role == "central"
                and "421281002" in u.meta["divisions"]
                and "421281001" not in u.meta["divisions"]
            ):
                return 1
            return 0

        # which roads were renamed (fixed ones first, then a seeded weighted choice)
        n_renamed = round(RENAMED_SHARE * len(self.named))
        renamed = [u for u in self.named if u.name in FIXED_RENAMES]
        cands = [u for u in self.named if u.name not in FIXED_MEANINGS and u.name[-2:-1] not in NUMERALS]
        weights = np.array([1.0 if u.meta["kind"] == "alley" else 3.0 for u in cands])
        pick = rng.choice(len(cands), size=n_renamed - len(renamed), replace=False, p=weights / weights.sum())
        renamed += [cands[int(k)] for k in sorted(pick)]
        renamed_ids = {u.id for u in renamed}
        old_pools = {
            "road": [OLD_ROAD_POOL[int(k)] for k in rng.permutation(len(OLD_ROAD_POOL))],
            "street": [OLD_STREET_POOL[int(k)] for k in rng.permutation(len(OLD_STREET_POOL))],
            "alley": [OLD_ALLEY_POOL[int(k)] for k in rng.permutation(len(OLD_ALLEY_POOL))],
        }
        self.renamed_ids = renamed_ids
        # a numbered series (北站一巷, 北站二巷 ...; 经一路 ...) was approved in one batch
        group_first: dict[object, int] = {}
        for u in self.named:
            key = u.meta.get("series", u.id)
            offset = int(rng.integers(0, 3))
            group_first[key] = min(group_first.get(key, len(batches)), era(u) + offset)
        for u in self.named:
            first = min(group_first[u.meta.get("series", u.id)], len(batches) - 1)
            if u.id in renamed_ids:
                first = min(first, BATCH_YEARS.index(2011))
            approved, number = batches[first]
            spec, gen = split_name(u.name)
            current = {
                "name": u.name,
                "specific": spec,
                "generic": gen,
                "approved_on": approved,
                "decision_number": number,
                "approving_body": APPROVING_BODY,
                "retired_on": None,
                "meaning": u.meta["meaning"],
            }
            if u.id not in renamed_ids:
                u.meta["names"] = [current]
                continue
            if u.name in FIXED_RENAMES:
                old, year = FIXED_RENAMES[u.name]
                old_meaning = OLD_MEANINGS[old]
                renamed_on = _random_date(rng, dt.date(year, 1, 1), dt.date(year, 12, 28))
            else:
                old, old_meaning = old_pools[u.meta["kind"]].pop(0)
                lo = max(_add_years(approved, 3), dt.date(2010, 1, 1))
                renamed_on = _random_date(rng, lo, DATA_END)
            ospec, ogen = split_name(old)
            u.meta["names"] = [
                {
                    "name": old,
                    "specific": ospec,
                    "generic": ogen,
                    "approved_on": approved,
                    "decision_number": number,
                    "approving_body": APPROVING_BODY,
                    "retired_on": renamed_on,
                    "meaning": old_meaning,
                },
                {**current, "approved_on": renamed_on, "decision_number": decision(renamed_on)},
            ]
        check_names(
            [u.name for u in self.named],
            [h["name"] for u in self.named for h in u.meta["names"][:-1]],
        )

    # -- signs -------------------------------------------------------------------------------------

    def _sign_point(
        self, u: _Unit, node: int, rng: np.random.Generator, along: tuple[float, float], off: float
    ):
        """A point ``along`` metres into road ``u`` from ``node``, ``off`` metres to one side."""
        k = next(k for k in u.meta["pieces"] if node in (self.pieces[k].a, self.pieces[k].b))
        piece = self.pieces[k]
        g = LineString(piece.coords if piece.a == node else piece.coords[::-1])
        s = min(rng.uniform(*along), g.length / 2)
        q = np.array(g.interpolate(s).coords[0])
        r = np.array(g.interpolate(min(s + 2.0, g.length)).coords[0]) - np.array(
            g.interpolate(max(s - 2.0, 0)).coords[0]
        )
        t = _unit_vec(r)
        side = float(rng.choice([-1.0, 1.0]))
        xy = q + side * off * np.array([-t[1], t[0]])
        return quantize_geom_point(to_geo(Point(xy)))

    def signs(self) -> list[dict]:
        net = self.net
        rng = _rng(net.seed, _S_SIGNS)
        roads = [u for u in self.named if u.meta["kind"] != "alley"]
        alleys = [u for u in self.named if u.meta["kind"] == "alley"]

        def spots(u: _Unit) -> list[int]:
            ks = u.meta["pieces"]
            nodes = [self.pieces[ks[0]].a, self.pieces[ks[-1]].b]
            for k in ks:
                for n in (self.pieces[k].a, self.pieces[k].b):
                    if n not in nodes and len(self.at_node.get(n, [])) > 1:
                        nodes.append(n)
            return nodes

        chosen: list[tuple[_Unit, int, bool]] = []  # (road, node, shows the old name)
        old_text = sorted(
            (u for u in roads if u.id in self.renamed_ids and u.meta["names"][0]["retired_on"].year >= 2010),
            key=lambda u: self.road_id[u.id],
        )
        if len(old_text) < N_OLD_TEXT_SIGNS:
            raise RuntimeError("not enough renamed roads for the outdated signs")
        for k in sorted(rng.choice(len(old_text), size=N_OLD_TEXT_SIGNS, replace=False)):
            u = old_text[int(k)]
            nodes = spots(u)
            chosen.append((u, nodes[int(rng.integers(len(nodes)))], True))
        weight = {MAIN: 3.0, SECONDARY: 2.5, BRANCH: 1.2}
        cands = [(u, n) for u in roads for n in spots(u)]
        w = np.array([weight[u.road_class] * (1.5 if u.source == "grid" else 1.0) for u, _ in cands])
        per_road: dict[int, int] = {}
        for u, _, _ in chosen:
            per_road[u.id] = per_road.get(u.id, 0) + 1
        taken = {(u.id, n) for u, n, _ in chosen}
        while len(chosen) < N_ROAD_SIGNS:
            k = int(rng.choice(len(cands), p=w / w.sum()))
            u, n = cands[k]
            w[k] = 0.0
            if (u.id, n) in taken or per_road.get(u.id, 0) >= 3:
                continue
            taken.add((u.id, n))
            per_road[u.id] = per_road.get(u.id, 0) + 1
            chosen.append((u, n, False))
        chosen.sort(key=lambda c: (self.road_id[c[0].id], c[1]))

        out = []
        for u, n, old in chosen:
            names = u.meta["names"]
            shown = names[0] if old else names[-1]
            if old:
                lo = _add_years(shown["approved_on"], 1)
                day = _random_date(rng, lo, shown["retired_on"] - dt.timedelta(days=60))
                condition = SIGN_CONDITIONS[int(rng.choice(3, p=[0.4, 0.5, 0.1]))]
            else:
                day = self._install_day(rng, shown["approved_on"])
                condition = SIGN_CONDITIONS[int(rng.choice(3, p=[0.84, 0.11, 0.05]))]
            geom = self._sign_point(u, n, rng, (12.0, 25.0), min(u.width / 2 + 1.5, 9.0))
            out.append(self._sign("路牌", u, shown["name"], day, condition, geom))

        extra = sorted(alleys, key=lambda u: (-u.meta["geom"].length, self.road_id[u.id]))[
            : N_ALLEY_SIGNS - len(alleys)
        ]
        extra_ids = {u.id for u in extra}
        if len(alleys) + len(extra) != N_ALLEY_SIGNS:
            raise RuntimeError("alley sign count mismatch")
        for u in alleys:
            ks = u.meta["pieces"]
            ends = [self.pieces[ks[0]].a] + ([self.pieces[ks[-1]].b] if u.id in extra_ids else [])
            for n in ends:
                shown = u.meta["names"][-1]
                day = self._install_day(rng, shown["approved_on"])
                condition = SIGN_CONDITIONS[int(rng.choice(3, p=[0.84, 0.11, 0.05]))]
                geom = self._sign_point(u, n, rng, (5.0, 12.0), min(u.width / 2 + 1.0, 5.0))
                out.append(self._sign("巷牌", u, shown["name"], day, condition, geom))
        for k, f in enumerate(out):
            f["properties"]["sign_id"] = f"P{k + 1:03d}"
        return out

    @staticmethod
    def _install_day(rng: np.random.Generator, approved: dt.date) -> dt.date:
        if rng.random() < 0.85:
            return _random_date(rng, max(dt.date(2023, 3, 1), approved), dt.date(2023, 11, 30))
        return _random_date(
            rng, max(dt.date(2015, 1, 1), approved + dt.timedelta(days=30)), dt.date(2022, 12, 31)
        )

    def _sign(self, sign_type: str, u: _Unit, text: str, day: dt.date, condition: str, geom) -> dict:
        return {
            "properties": {
                "sign_id": "",
                "sign_type": sign_type,
                "road_id": self.road_id[u.id],
                "text": text,
                "installed_on": day.isoformat(),
                "condition": condition,
                "synthetic": True,
            },
            "geometry": geom,
        }

    # -- features ------------------------------------------------------------------------------------

    def features(self) -> tuple[list[dict], list[dict]]:
        net = self.net
        order = sorted(
            range(len(self.pieces)),
            key=lambda k: (
                self.road_id.get(self.unit_of[k], "~"),
                self.pieces[k].line,
                self.pieces[k].d0,
            ),
        )
        segments = []
        for n, k in enumerate(order):
            ln = net.lines[self.pieces[k].line]
            segments.append(
                {
                    "properties": {
                        "segment_id": f"S{n + 1:05d}",
                        "road_id": self.road_id.get(self.unit_of[k]),
                        "road_class": ln.road_class,
                        "width_m": ln.width,
                        "township_code": self.township[k],
                        "synthetic": True,
                    },
                    "geometry": self.geo[k],
                }
            )
        roads = []
        for u in self.named:
            names = [
                {
                    **h,
                    "approved_on": h["approved_on"].isoformat(),
                    "retired_on": h["retired_on"] and h["retired_on"].isoformat(),
                }
                for h in u.meta["names"]
            ]
            roads.append(
                {
                    "properties": {
                        "road_id": self.road_id[u.id],
                        "kind": u.meta["kind"],
                        "road_class": u.road_class,
                        "width_m": u.width,
                        "division_codes": u.meta["divisions"],
                        "start_desc": u.meta["start_desc"],
                        "end_desc": u.meta["end_desc"],
                        "names": names,
                        "synthetic": True,
                    },
                    "geometry": u.meta["geom"],
                }
            )
        return segments, roads


def _bearing_word(v: np.ndarray) -> str:
    """东/东北/北/... for a direction vector (x east, y north)."""
    words = ("东", "东北", "北", "西北", "西", "西南", "南", "东南")
    return words[round(math.degrees(math.atan2(v[1], v[0])) / 45.0) % 8]


def quantize_geom_point(p: Point) -> Point:
    x, y = quantize([p.x, p.y])
    return Point(float(x), float(y))


def check_names(current: Sequence[str], former: Sequence[str] = ()) -> None:
    """No duplicate names and no homophones (same toneless pinyin of the specific) among all names."""
    seen: dict[str, str] = {}
    for name in [*current, *former]:
        key = name_key(name)
        if key in seen:
            raise RuntimeError(f"{name} duplicates or sounds like {seen[key]}")
        seen[key] = name


# --------------------------------------------------------------------------------------------
# Build / write
# --------------------------------------------------------------------------------------------


def read_demo_inputs(demo_dir: Path = DEMO_DIR) -> tuple[dict, dict]:
    """The township and village FeatureCollections written by ``gis_data.generate``."""
    demo_dir = Path(demo_dir)
    return (
        json.loads((demo_dir / TOWNSHIPS_FILE).read_text(encoding="utf-8")),
        json.loads((demo_dir / VILLAGES_FILE).read_text(encoding="utf-8")),
    )


def build_roads(
    townships_fc: dict | None = None,
    villages_fc: dict | None = None,
    seed: int = SEED,
    demo_dir: Path = DEMO_DIR,
) -> RoadNetwork:
    """Build the synthetic road layers (deterministic for the same inputs and seed).

    ``townships_fc`` / ``villages_fc`` are the parsed GeoJSON of the demo townships and villages;
    when omitted they are read from ``demo_dir``.
    """
    if townships_fc is None or villages_fc is None:
        townships_fc, villages_fc = read_demo_inputs(demo_dir)
    towns, villages = _read_inputs(townships_fc, villages_fc)
    net = _Network(towns, villages, seed)
    net.build_patches()
    net.build_grids()
    net.build_connectors()
    net.build_seats()
    net.build_town_streets()
    net.build_highways()
    net.build_village_roads()
    net.drop_disconnected()
    namer = _Namer(net)
    namer.name_streets(_rng(seed, _S_NAMES))
    _Alleys(net, _rng(seed, _S_ALLEY)).build(namer)

    asm = _Assembler(net)
    asm.node()
    asm.roads()
    asm.histories()
    signs = asm.signs()
    segments, roads = asm.features()
    counts = {
        "road_segments": len(segments),
        "roads": len(roads),
        "renamed_roads": sum(1 for r in roads if len(r["properties"]["names"]) > 1),
        "unnamed_alleys": sum(
            1
            for s in segments
            if s["properties"]["road_class"] == ALLEY and s["properties"]["road_id"] is None
        ),
        "road_signs": sum(1 for s in signs if s["properties"]["sign_type"] == "路牌"),
        "alley_signs": sum(1 for s in signs if s["properties"]["sign_type"] == "巷牌"),
    }
    if (counts["unnamed_alleys"], counts["road_signs"], counts["alley_signs"]) != (
        N_UNNAMED_ALLEYS,
        N_ROAD_SIGNS,
        N_ALLEY_SIGNS,
    ):
        raise RuntimeError(f"unexpected counts {counts}")
    return RoadNetwork(seed, segments, roads, signs, counts, dict(sorted(net.report.items())))


def feature_collection_text(name: str, features: Sequence[dict]) -> str:
    """GeoJSON text in the format of ``gis_data.generate``: one feature per line, sorted keys."""
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}
    head = json.dumps(
        {"crs": crs, "name": name, "type": "FeatureCollection"}, ensure_ascii=False, sort_keys=True
    )
    lines = [
        json.dumps(
            {"type": "Feature", "properties": f["properties"], "geometry": _coords(f["geometry"])},
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )
        for f in features
    ]
    return head[:-1] + ', "features": [\n' + ",\n".join(lines) + "\n]}\n"


def road_blobs(network: RoadNetwork) -> dict[str, bytes]:
    """The bytes of the three road files."""
    return {
        SEGMENTS_FILE: feature_collection_text("chibi_road_segments", network.segments).encode("utf-8"),
        ROADS_FILE: feature_collection_text("chibi_roads", network.roads).encode("utf-8"),
        SIGNS_FILE: feature_collection_text("chibi_road_signs", network.signs).encode("utf-8"),
    }


def add_to_manifest(manifest: dict, blobs: dict[str, bytes], counts: dict[str, int]) -> dict:
    """The manifest with the road files' SHA-256 under "files" and their counts under "counts"."""
    out = dict(manifest)
    out["files"] = dict(
        sorted({**manifest.get("files", {}), **{k: _sha256(v) for k, v in blobs.items()}}.items())
    )
    out["counts"] = dict(sorted({**manifest.get("counts", {}), **counts}.items()))
    return out


def manifest_text(manifest: dict) -> str:
    return json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def write_roads(network: RoadNetwork, out_dir: Path = DEMO_DIR) -> dict[str, str]:
    """Write the road files to ``out_dir`` and add them to its manifest; returns ``{file: sha256}``."""
    out_dir = Path(out_dir)
    manifest_path = out_dir / MANIFEST_FILE
    if not manifest_path.exists():
        raise FileNotFoundError(f"{manifest_path} missing: run python -m gis_data.generate first")
    blobs = road_blobs(network)
    manifest = add_to_manifest(json.loads(manifest_path.read_text(encoding="utf-8")), blobs, network.counts)
    blobs[MANIFEST_FILE] = manifest_text(manifest).encode("utf-8")
    for name, data in blobs.items():
        (out_dir / name).write_bytes(data)
    return {name: _sha256(data) for name, data in sorted(blobs.items())}


def main(argv: Sequence[str] | None = None) -> int:
    return layer_main("python -m gis_data.roads", __doc__.splitlines()[0], build_roads, write_roads, argv)


if __name__ == "__main__":
    raise SystemExit(main())

"""Derive administrative boundary lines (行政区域界线) from adjoining division polygons.

Pure module: shapely 2 + numpy only, no Django (DOMAIN §3: "a line is the shared edge of the two
polygons. Real data has slivers and gaps, so derivation needs a tolerance and a report").

**CRS and units.**  All input geometries are in one *projected* CRS whose unit is the metre (the
caller projects EPSG:4490 → EPSG:4547).  Every length is in metres, every area in m², every returned
geometry in the input CRS.  Input that obviously is longitude/latitude degrees (every coordinate
within ±180/±90 and a bounding box smaller than 10 units) raises :class:`DerivationError`.

**Shared edge (the line).**  Divisions are compared by code (string comparison); for a pair the
division with the smaller code is ``A`` and its boundary carries the line geometry.

1. Candidate pairs come from an :class:`shapely.STRtree` query with ``dwithin`` ``tolerance_m``
   (no all-pairs loop).
2. The raw shared edge is ``A.boundary ∩ B.buffer(tolerance_m)`` (vectorised over all pairs): the
   part of A's boundary within the tolerance of B.  Vertices need not match; gaps and overlaps
   narrower than the tolerance are bridged.  The pieces are joined with :func:`shapely.line_merge`.
3. *End trimming.*  Near a junction A's boundary turns away from B, and the buffer keeps a "stub"
   of up to about ``tolerance_m / sin(angle)`` of A's boundary that is near B only because B's
   corner is near (two 5 m stubs are 1 % of a 1 km edge).  Walking inward from each end of an open
   piece over a window of ``3 * tolerance_m`` (at most half the piece), the distance to B is sampled
   every ``tolerance_m / 20``; the end is cut where that distance stops falling at a slope of at
   least 0.5 (an angle of 30° between A's boundary and B), and snapped to A's vertex (the corner) if
   one lies within a sample step of the cut.  Ends where the two boundaries part gently (slope
   < 0.5, e.g. a widening river) and closed rings (enclaves) are kept as they are.
4. Pieces shorter than ``min_length_m`` are dropped.  A pair whose remaining total length is not
   more than ``2 * tolerance_m`` is not a line (divisions that meet only at a corner, tri-junctions).

``length_m`` is the length of the resulting geometry (which follows A's boundary, so its zig-zags
where vertices do not match count too).

**Issues** (:class:`DerivationIssue`, one report for the whole set):

``"invalid"``, ``"overlap"``, ``"gap"`` from :func:`geo_mz.divisions.topology.check_siblings` run
with the same tolerance (default ``min_area_m2``): an invalid input is reported and repaired with
:func:`shapely.make_valid` (polygonal parts kept; empty or non-areal inputs are skipped); an
``overlap`` is a piece of ``A ∩ B`` at least ``tolerance_m`` wide and larger than
``DEFAULT_MIN_AREA_FACTOR * tolerance_m²``; a ``gap`` is a likewise significant hole in the union
of all polygons that is not an enclave.  In addition this module reports

``"gap"`` (open)
    a significant piece of ``closing(shells) − shells`` near at least two divisions, where
    ``shells`` are the parts of the union of all polygons without their holes and ``closing`` is
    ``buffer(+tolerance_m).buffer(−tolerance_m)``: a gap narrower than ``2 * tolerance_m`` that is
    open to the outside of the set (topology only sees enclosed gaps).  Such a piece counts only
    if at least two divisions each run along its outline for more than ``2 * tolerance_m``; this
    drops the small fillets the closing adds where a line meets a concave corner of the outer
    boundary (a few m² at 5 m), which are not gaps.
``"sliver"``
    the gap and overlap pieces that the checks above ignore because they are narrower than
    ``tolerance_m`` or too small: pieces of ``A ∩ B`` for candidate pairs, holes of the union, and
    pieces of the closing above (same contact rule), each with an area of at least 0.01 m² and
    near (``dwithin`` ``tolerance_m``) at least two divisions.  They are aggregated into one issue per set of
    nearby codes and per sort (overlap or gap): ``area_m2`` is the total, ``geometry`` the
    MultiPolygon of the pieces, ``location`` a point on the largest piece, and the message gives
    the count.  Jittered data yields many tiny pieces; one issue per pair keeps the report readable.

Issues are sorted by (kind, codes, −area).  The report costs more than the lines: the topology
check and the sliver search each build the union of all polygons.  Messages are "中文 / English" and use division names
when ``names`` is given to :func:`derive_lines`, the codes otherwise.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

from geo_mz.divisions.topology import DEFAULT_MIN_AREA_FACTOR, TopologyIssue, check_siblings

__all__ = [
    "DEFAULT_MAX_TOLERANCE_M",
    "DEFAULT_MIN_LENGTH_M",
    "DEFAULT_TOLERANCE_M",
    "Derivation",
    "DerivationError",
    "DerivationIssue",
    "DerivedLine",
    "LineDiff",
    "derive_lines",
    "derive_pair",
    "diff_lines",
    "line_code",
    "line_name",
    "short_name",
]

DEFAULT_TOLERANCE_M: Final[float] = 5.0
DEFAULT_MIN_LENGTH_M: Final[float] = 1.0
DEFAULT_MAX_TOLERANCE_M: Final[float] = 500.0

#: A pair is a line only if its shared length exceeds this multiple of the tolerance.
MIN_LINE_FACTOR: Final[float] = 2.0
#: Sliver pieces smaller than this (m²) are floating-point noise and not reported.
NOISE_AREA_M2: Final[float] = 0.01

_TRIM_WINDOW_FACTOR: Final[float] = 3.0  # trimming looks at most 3 * tolerance into a piece
_TRIM_SAMPLES_PER_TOL: Final[int] = 20  # sample step = tolerance / 20
_TRIM_SLOPE: Final[float] = 0.5  # distance to B must fall at least 0.5 m per m walked (30°)


class DerivationError(ValueError):
    """Bad input or parameters for a derivation; the message is "中文 / English"."""


@dataclass(frozen=True)
class DerivedLine:
    """The shared edge of two divisions.

    Attributes:
        code_a: the smaller division code (string comparison).
        code_b: the larger division code.
        geometry: the merged shared edge (on ``code_a``'s boundary), input CRS.
        length_m: length of ``geometry`` in metres.
        pieces: number of parts of ``geometry`` (1 for a continuous line).
    """

    code_a: str
    code_b: str
    geometry: MultiLineString
    length_m: float
    pieces: int


@dataclass(frozen=True)
class DerivationIssue:
    """One problem found while deriving (see the module docstring for the kinds).

    ``location`` is a point on the problem piece; ``Point(nan, nan)`` if unknown (an empty input),
    as topology's ``(nan, nan)``, so ``location.x``/``.y`` always work.
    """

    kind: str  # "sliver" | "gap" | "overlap" | "invalid"
    codes: tuple[str, ...]
    area_m2: float
    location: Point
    geometry: BaseGeometry
    message: str


@dataclass(frozen=True)
class Derivation:
    """Result of :func:`derive_lines`: lines sorted by ``(code_a, code_b)`` and the issue report."""

    lines: list[DerivedLine]
    issues: list[DerivationIssue] = field(default_factory=list)

    def lines_for(self, code: str) -> list[DerivedLine]:
        """The lines of which ``code`` is one side, in ``(code_a, code_b)`` order."""
        return [ln for ln in self.lines if code in (ln.code_a, ln.code_b)]


@dataclass(frozen=True)
class LineDiff:
    """How a derived line compares with the stored one (see :func:`diff_lines`)."""

    code_a: str
    code_b: str
    status: str  # "added" | "removed" | "changed" | "unchanged"
    stored_length_m: float | None
    derived_length_m: float | None
    hausdorff_m: float | None


# --------------------------------------------------------------------------- names and codes

#: Suffixes stripped by :func:`short_name`, longest first.
_SUFFIXES: Final[tuple[str, ...]] = (
    "特别行政区",
    "街道办事处",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "民族乡",
    "民族镇",
    "办事处",
    "街道",
    "苏木",
    "林区",
    "地区",
    "省",
    "市",
    "县",
    "区",
    "旗",
    "镇",
    "乡",
)
#: Ethnic groups (族 omitted) that precede 自治县/民族乡 etc. and are not part of the short name.
_ETHNIC_NAMES: Final[str] = (
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 "
    "东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 "
    "俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺 各"
)
_ETHNIC: Final[tuple[str, ...]] = tuple(sorted(_ETHNIC_NAMES.split(), key=len, reverse=True))


def short_name(name: str) -> str:
    """The short name used in line names: the name without its administrative suffix.

    ``"赤壁市"→"赤壁"``, ``"咸安区"→"咸安"``, ``"嘉鱼县"→"嘉鱼"``, ``"赤马港街道"→"赤马港"``,
    ``"官塘驿镇"→"官塘驿"``, ``"长阳土家族自治县"→"长阳"`` (ethnic groups before 自治/民族 suffixes
    are dropped too).  Never empty: if stripping would leave nothing, the name is returned as is.
    """
    name = name.strip()
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            base = name[: -len(suffix)]
            if suffix.startswith(("自治", "民族")) or suffix in ("乡", "镇"):
                base = _strip_ethnic(base)
            return base
    return name


def _strip_ethnic(base: str) -> str:
    stripped = base
    while stripped.endswith("族"):
        for group in _ETHNIC:
            word = group + "族"
            if stripped.endswith(word) and len(stripped) > len(word):
                stripped = stripped[: -len(word)]
                break
        else:
            break
    return stripped or base


def line_code(code_a: str, code_b: str) -> str:
    """Line code ``"<smaller>-<larger>"`` (string comparison of the division codes)."""
    lo, hi = sorted((code_a, code_b))
    return f"{lo}-{hi}"


def line_name(short_a: str, code_a: str, short_b: str, code_b: str, *, order: str = "code") -> str:
    """Line name: the two short names + ``线`` (DOMAIN §3).

    ``order="code"`` (default) puts the division with the smaller code first
    (嘉鱼 421221 + 赤壁 421281 → ``"嘉鱼赤壁线"``); ``order="reverse"`` the larger code first.
    """
    if order not in ("code", "reverse"):
        raise ValueError(f"未知的命名顺序 {order!r}（应为 'code' 或 'reverse'）/ unknown order {order!r}")
    first, second = (short_a, short_b) if code_a <= code_b else (short_b, short_a)
    if order == "reverse":
        first, second = second, first
    return f"{first}{second}线"


# --------------------------------------------------------------------------- validation helpers


def _check_tolerance(tolerance_m: float, max_tolerance_m: float) -> float:
    try:
        tol = float(tolerance_m)
    except (TypeError, ValueError):
        raise DerivationError(f"容差必须是数字 / tolerance must be a number, got {tolerance_m!r}") from None
    if not (math.isfinite(tol) and tol > 0):
        raise DerivationError(f"容差必须大于 0 / tolerance must be > 0 (got {tolerance_m!r} m)")
    if tol > max_tolerance_m:
        raise DerivationError(
            f"容差 {tol:g} m 过大（上限 {max_tolerance_m:g} m）/ "
            f"tolerance {tol:g} m is too large (maximum {max_tolerance_m:g} m)"
        )
    return tol


def _check_metres(geoms: Sequence[BaseGeometry]) -> None:
    """Raise if the geometries look like longitude/latitude degrees."""
    if not geoms:
        return
    xmin, ymin, xmax, ymax = shapely.total_bounds(np.asarray(geoms, dtype=object))
    if not all(map(math.isfinite, (xmin, ymin, xmax, ymax))):
        return
    if (
        xmin >= -180
        and xmax <= 180
        and ymin >= -90
        and ymax <= 90
        and (xmax - xmin) < 10
        and (ymax - ymin) < 10
    ):
        raise DerivationError(
            f"坐标看起来是经纬度（范围 {xmin:.4f}–{xmax:.4f}, {ymin:.4f}–{ymax:.4f}），"
            "请先投影到以米为单位的坐标系（如 EPSG:4547）/ "
            "coordinates look like longitude/latitude degrees; project them to a metre CRS "
            "(e.g. EPSG:4547) first"
        )


def _polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    """The usable (valid, 2D, polygonal) part of ``geom``, or None (same repair as topology)."""
    if not isinstance(geom, BaseGeometry):
        raise TypeError(f"expected a shapely geometry, got {type(geom).__name__}")
    if geom.is_empty:
        return None
    flat = shapely.force_2d(geom)
    if isinstance(flat, Polygon | MultiPolygon) and flat.is_valid:
        return flat
    parts = [p for p in shapely.get_parts(shapely.make_valid(flat)) if isinstance(p, Polygon | MultiPolygon)]
    parts = [q for p in parts for q in shapely.get_parts(p) if not q.is_empty]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


# --------------------------------------------------------------------------- line derivation


def _line_parts(geom: BaseGeometry) -> list[LineString]:
    """Non-empty LineStrings in ``geom`` (points of the intersection are dropped)."""
    out = []
    for part in shapely.get_parts(geom):
        if isinstance(part, LineString) and not part.is_empty and part.length > 0:
            out.append(LineString(part.coords))
        elif isinstance(part, MultiLineString):
            out.extend(_line_parts(part))
    return out


def _merge(lines: Sequence[LineString]) -> list[LineString]:
    if len(lines) <= 1:
        return list(lines)
    return _line_parts(shapely.line_merge(MultiLineString(lines)))


def _trim_length(line: LineString, b: BaseGeometry, tol: float, from_end: bool) -> float:
    """How much of ``line`` to cut at its start (or end): the stub that runs away from ``b``."""
    length = line.length
    window = min(_TRIM_WINDOW_FACTOR * tol, length / 2)
    step = tol / _TRIM_SAMPLES_PER_TOL
    n = int(window // step) + 1
    if n < 2:
        return 0.0
    t = np.arange(n) * step  # distance walked inward from the end
    pos = length - t if from_end else t
    pts = shapely.line_interpolate_point(line, pos)
    # Distance to b only needs b near the window: clip it (much cheaper than the whole polygon).
    xmin, ymin, xmax, ymax = shapely.total_bounds(pts)
    pad = 2 * tol + step
    local = shapely.clip_by_rect(b, xmin - pad, ymin - pad, xmax + pad, ymax + pad)
    d = shapely.distance(pts, local) if not local.is_empty else np.full(n, np.inf)
    if not np.all(np.isfinite(d)):
        return 0.0
    falling = (d[:-1] - d[1:]) / step >= _TRIM_SLOPE
    if not falling[0]:
        return 0.0
    k = int(np.argmin(falling)) if not falling.all() else n - 1
    cut = float(t[k])
    # Snap to A's vertex (the corner) when one lies within a sample step of the cut.
    coords = np.asarray(line.coords)
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(coords, axis=0).T))])
    vt = (length - cum) if from_end else cum
    near = np.abs(vt - cut) <= step
    if near.any():
        cut = float(vt[near][np.argmin(np.abs(vt[near] - cut))])
    return cut


def _trim(line: LineString, b: BaseGeometry, tol: float) -> LineString | None:
    if line.is_closed:
        return line
    start = _trim_length(line, b, tol, from_end=False)
    end = _trim_length(line, b, tol, from_end=True)
    if start == 0 and end == 0:
        return line
    length = line.length
    if start + end >= length:
        return None
    piece = substring(line, start, length - end)
    return piece if isinstance(piece, LineString) and piece.length > 0 else None


def _shared_edge(
    raw: BaseGeometry, b: BaseGeometry, tol: float, min_length_m: float
) -> tuple[list[LineString], float]:
    """Trimmed, merged pieces of the raw shared edge and their total length (before the 2×tol rule)."""
    pieces = []
    for part in _merge(_line_parts(raw)):
        trimmed = _trim(part, b, tol)
        if trimmed is not None:
            pieces.append(trimmed)
    pieces = [p for p in _merge(pieces) if p.length >= min_length_m]
    return pieces, float(sum(p.length for p in pieces))


def _make_line(code_a: str, code_b: str, pieces: list[LineString], length: float) -> DerivedLine:
    return DerivedLine(
        code_a=code_a,
        code_b=code_b,
        geometry=MultiLineString(pieces),
        length_m=length,
        pieces=len(pieces),
    )


# --------------------------------------------------------------------------- issues


def _label(code: str, names: Mapping[str, str] | None) -> str:
    return names.get(code, code) if names else code


_NO_POINT: Final = Point(math.nan, math.nan)


def _point(geom: BaseGeometry) -> Point:
    return _NO_POINT if geom.is_empty else geom.representative_point()


def _from_topology(issue: TopologyIssue, names: Mapping[str, str] | None) -> DerivationIssue:
    x, y = issue.location
    location = Point(x, y) if math.isfinite(x) and math.isfinite(y) else _NO_POINT
    labels = "/".join(_label(c, names) for c in issue.codes)
    codes_en = ", ".join(issue.codes)
    area = issue.area_m2
    if issue.kind == "overlap":
        message = f"{labels} 之间重叠 {area:.1f} m² / overlap of {area:.1f} m² between {codes_en}"
    elif issue.kind == "gap":
        where = f"{labels} 之间" if len(issue.codes) >= 2 else (f"{labels} 旁" if issue.codes else "")
        message = f"{where}缝隙 {area:.1f} m² / gap of {area:.1f} m² near {codes_en or 'no division'}"
    else:
        message = issue.message
    return DerivationIssue(issue.kind, issue.codes, area, location, issue.geometry, message)


def _significant(pieces: np.ndarray, tol: float, min_area: float) -> np.ndarray:
    """Same rule as topology: area > min_area and at least ``tol`` wide somewhere."""
    sig = shapely.area(pieces) > min_area
    if sig.any():
        idx = np.flatnonzero(sig)
        sig[idx] = ~shapely.is_empty(shapely.buffer(pieces[idx], -tol / 2))
    return sig


def _near(tree: shapely.STRtree, pieces: np.ndarray, tol: float) -> list[list[int]]:
    """For each piece, the indices of the polygons within ``tol`` of it (ascending = code order)."""
    near: list[list[int]] = [[] for _ in range(len(pieces))]
    if len(pieces):
        p_idx, g_idx = tree.query(pieces, predicate="dwithin", distance=tol)
        for p, g in zip(p_idx.tolist(), g_idx.tolist(), strict=True):
            near[p].append(g)
    return [sorted(n) for n in near]


def _sliver_issues(
    groups: Mapping[tuple[str, tuple[str, ...]], list[BaseGeometry]],
    tol: float,
    names: Mapping[str, str] | None,
) -> list[DerivationIssue]:
    issues = []
    for (sort, codes), pieces in groups.items():
        areas = shapely.area(np.asarray(pieces, dtype=object))
        total = float(areas.sum())
        largest = pieces[int(np.argmax(areas))]
        geometry = shapely.multipolygons(np.asarray(pieces, dtype=object))
        labels = "/".join(_label(c, names) for c in codes)
        zh, en = ("重叠", "overlap") if sort == "overlap" else ("缝隙", "gap")
        message = (
            f"{labels} 之间细碎{zh} {len(pieces)} 处，共 {total:.1f} m²（窄于容差 {tol:g} m 或面积过小）/ "
            f"{len(pieces)} sliver {en}(s) of {total:.1f} m² in total between {', '.join(codes)} "
            f"(narrower than the {tol:g} m tolerance or too small)"
        )
        issues.append(DerivationIssue("sliver", codes, total, _point(largest), geometry, message))
    return issues


def _open_gap_issue(
    piece: BaseGeometry, codes: tuple[str, ...], names: Mapping[str, str] | None
) -> DerivationIssue:
    area = float(piece.area)
    labels = "/".join(_label(c, names) for c in codes)
    message = (
        f"{labels} 之间缝隙 {area:.1f} m²（通向外侧）/ gap of {area:.1f} m² between "
        f"{', '.join(codes)} (open to the outside)"
    )
    return DerivationIssue("gap", codes, area, _point(piece), piece, message)


def _between(piece: Polygon, near_idx: Sequence[int], arr: np.ndarray, tol: float) -> bool:
    """True if at least two polygons each run along ``piece`` for more than ``2 * tol``.

    Separates a real open gap (a strip between two divisions) from the fillet that the closing
    adds where a line meets a concave corner of the outer boundary (contact about ``tol`` each).
    """
    xmin, ymin, xmax, ymax = piece.bounds
    eps = tol / 100
    ring = piece.exterior
    touching = 0
    for g in near_idx:
        local = shapely.clip_by_rect(arr[g], xmin - tol, ymin - tol, xmax + tol, ymax + tol)
        if local.is_empty:
            continue
        contact = shapely.intersection(ring, shapely.buffer(shapely.boundary(local), eps)).length
        if contact > MIN_LINE_FACTOR * tol:
            touching += 1
    return touching >= 2


def _extra_issues(
    codes: Sequence[str],
    arr: np.ndarray,
    tree: shapely.STRtree,
    left: np.ndarray,
    right: np.ndarray,
    tol: float,
    names: Mapping[str, str] | None,
) -> list[DerivationIssue]:
    """Slivers (overlap and gap) and open gaps; see the module docstring."""
    min_area = DEFAULT_MIN_AREA_FACTOR * tol**2
    groups: dict[tuple[str, tuple[str, ...]], list[BaseGeometry]] = defaultdict(list)
    issues: list[DerivationIssue] = []

    # Overlap slivers: pieces of A ∩ B for candidate pairs whose interiors share an area.
    if left.size:
        area_pairs = shapely.relate_pattern(arr[left], arr[right], "2********")
        li, ri = left[area_pairs], right[area_pairs]
        inters = shapely.intersection(arr[li], arr[ri])
        for i, j, inter in zip(li.tolist(), ri.tolist(), inters, strict=True):
            parts = np.asarray([p for p in shapely.get_parts(inter) if isinstance(p, Polygon)], dtype=object)
            if not len(parts):
                continue
            keep = (shapely.area(parts) >= NOISE_AREA_M2) & ~_significant(parts, tol, min_area)
            if keep.any():
                groups[("overlap", (codes[i], codes[j]))].extend(parts[keep].tolist())

    # Gaps: holes of the union (enclosed) and the closing of the shells (open to the outside).
    union = shapely.union_all(arr)
    polys = np.asarray([p for p in shapely.get_parts(union) if isinstance(p, Polygon)], dtype=object)
    n_holes = shapely.get_num_interior_rings(polys)
    holes = shapely.polygons(
        shapely.get_interior_ring(np.repeat(polys, n_holes), np.concatenate([np.arange(n) for n in n_holes]))
        if n_holes.sum()
        else np.zeros(0, dtype=object)
    )
    if len(holes):
        # Parts of the union inside a hole (enclaves) are not gap.
        h_idx, g_idx = tree.query(holes, predicate="contains_properly")
        for h in np.unique(h_idx).tolist():
            holes[h] = holes[h].difference(shapely.union_all(arr[g_idx[h_idx == h]]))
        holes = np.asarray(
            [q for h in holes for q in shapely.get_parts(h) if isinstance(q, Polygon)], dtype=object
        )
    shells = shapely.union_all(shapely.polygons(shapely.get_exterior_ring(polys)))
    closing = shapely.buffer(shapely.buffer(shells, tol), -tol)
    open_gaps = np.asarray(
        [p for p in shapely.get_parts(closing.difference(shells)) if isinstance(p, Polygon)],
        dtype=object,
    )
    for pieces, is_open in ((holes, False), (open_gaps, True)):
        if not len(pieces):
            continue
        pieces = pieces[shapely.area(pieces) >= NOISE_AREA_M2]
        if not len(pieces):
            continue
        sig = _significant(pieces, tol, min_area)
        for piece, significant, near_idx in zip(pieces, sig, _near(tree, pieces, tol), strict=True):
            if len(near_idx) < 2:
                continue  # not between divisions (a notch of one polygon or of the outer boundary)
            if is_open and not _between(piece, near_idx, arr, tol):
                continue  # a fillet of the closing where a line meets the outer boundary
            near = tuple(codes[g] for g in near_idx)
            if not significant:
                groups[("gap", near)].append(piece)
            elif is_open:
                issues.append(_open_gap_issue(piece, near, names))
            # significant enclosed holes: reported (or judged enclaves) by topology

    issues.extend(_sliver_issues(groups, tol, names))
    return issues


def _sort_issues(issues: Iterable[DerivationIssue]) -> list[DerivationIssue]:
    def key(i: DerivationIssue) -> tuple[str, tuple[str, ...], float, float, float]:
        x, y = i.location.x, i.location.y
        x, y = (x, y) if math.isfinite(x) and math.isfinite(y) else (math.inf, math.inf)
        return (i.kind, i.codes, -i.area_m2, x, y)

    return sorted(issues, key=key)


# --------------------------------------------------------------------------- public API


def derive_lines(
    polygons: Mapping[str, BaseGeometry],
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    min_length_m: float = DEFAULT_MIN_LENGTH_M,
    max_tolerance_m: float = DEFAULT_MAX_TOLERANCE_M,
    names: Mapping[str, str] | None = None,
) -> Derivation:
    """Derive every boundary line between the given divisions and report slivers, gaps, overlaps.

    Args:
        polygons: division code → (Multi)Polygon in one projected metre CRS.
        tolerance_m: how far apart (m) two boundaries may be and still count as shared; also the
            sliver width.  Must be in ``(0, max_tolerance_m]``.
        min_length_m: pieces of a line shorter than this (m) are dropped.
        max_tolerance_m: upper limit for ``tolerance_m``.
        names: optional code → display name for the issue messages.

    Returns:
        :class:`Derivation` with lines sorted by ``(code_a, code_b)`` and sorted issues.

    Raises:
        DerivationError: bad tolerance or degree coordinates.
    """
    tol = _check_tolerance(tolerance_m, max_tolerance_m)
    codes: list[str] = []
    geoms: list[BaseGeometry] = []
    for code in sorted(polygons):
        usable = _polygonal(polygons[code])
        if usable is not None:
            codes.append(code)
            geoms.append(usable)
    _check_metres(geoms)

    issues = [_from_topology(i, names) for i in check_siblings(polygons, tolerance_m=tol)]
    arr = np.asarray(geoms, dtype=object)
    tree = shapely.STRtree(arr)
    if len(arr) >= 2:
        left, right = tree.query(arr, predicate="dwithin", distance=tol)
        keep = left < right  # codes are sorted, so codes[left] < codes[right]
        left, right = left[keep], right[keep]
        order = np.lexsort((right, left))
        left, right = left[order], right[order]
    else:
        left = right = np.zeros(0, dtype=np.intp)

    lines: list[DerivedLine] = []
    if left.size:
        boundaries, buffers = shapely.boundary(arr), shapely.buffer(arr, tol)
        raw = shapely.intersection(boundaries[left], buffers[right])
        for i, j, r in zip(left.tolist(), right.tolist(), raw, strict=True):
            pieces, length = _shared_edge(r, arr[j], tol, min_length_m)
            if length > MIN_LINE_FACTOR * tol:
                lines.append(_make_line(codes[i], codes[j], pieces, length))
    if len(arr):
        issues.extend(_extra_issues(codes, arr, tree, left, right, tol, names))
    return Derivation(lines=lines, issues=_sort_issues(issues))


def derive_pair(
    a: BaseGeometry,
    b: BaseGeometry,
    code_a: str,
    code_b: str,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    min_length_m: float = DEFAULT_MIN_LENGTH_M,
    max_tolerance_m: float = DEFAULT_MAX_TOLERANCE_M,
) -> DerivedLine:
    """The shared edge of two divisions (same method as :func:`derive_lines`, no issue report).

    The codes may come in any order; the result has ``code_a < code_b`` and follows the boundary
    of the division with the smaller code.  Invalid polygons are repaired with ``make_valid``.

    Raises:
        DerivationError: bad tolerance, degree coordinates, equal codes, an empty or non-areal
            geometry, divisions farther apart than the tolerance, or a shared edge not longer
            than ``2 * tolerance_m`` (they meet only at a point).
    """
    tol = _check_tolerance(tolerance_m, max_tolerance_m)
    if code_a == code_b:
        raise DerivationError(f"两区划代码相同（{code_a}）/ both divisions have the code {code_a}")
    if code_b < code_a:
        a, b, code_a, code_b = b, a, code_b, code_a
    ga, gb = _polygonal(a), _polygonal(b)
    for code, g in ((code_a, ga), (code_b, gb)):
        if g is None:
            raise DerivationError(
                f"{code} 的几何为空或不是面 / the geometry of {code} is empty or not a polygon"
            )
    if ga is None or gb is None:  # pragma: no cover - raised above; narrows the types
        raise AssertionError
    _check_metres([ga, gb])
    distance = float(ga.distance(gb))
    if distance > tol:
        raise DerivationError(
            f"两区划不相邻（最近距离 {distance:.1f} m > 容差 {tol:g} m）/ "
            f"the divisions do not touch (nearest distance {distance:.1f} m > tolerance {tol:g} m)"
        )
    raw = ga.boundary.intersection(gb.buffer(tol))
    pieces, length = _shared_edge(raw, gb, tol, min_length_m)
    if length <= MIN_LINE_FACTOR * tol:
        raise DerivationError(
            f"两区划仅在一点相接（共边 {length:.1f} m ≤ {MIN_LINE_FACTOR:g}×容差 {tol:g} m）/ "
            f"the divisions meet only at a point (shared edge {length:.1f} m ≤ "
            f"{MIN_LINE_FACTOR:g} × tolerance {tol:g} m)"
        )
    return _make_line(code_a, code_b, pieces, length)


def diff_lines(
    stored: Mapping[tuple[str, str], BaseGeometry],
    derived: Derivation,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> list[LineDiff]:
    """Compare stored lines (keyed by the pair of division codes, any order) with a derivation.

    Status: ``"added"`` (derived only), ``"removed"`` (stored only), ``"changed"`` when the
    Hausdorff distance between stored and derived geometry exceeds ``tolerance_m`` (or the stored
    geometry is empty; then ``hausdorff_m`` is None), ``"unchanged"`` otherwise.  The Hausdorff
    distance is GEOS's discrete one: from every vertex of each line to the other line, both ways.
    Sorted by ``(code_a, code_b)``.
    """
    tol = float(tolerance_m)
    if not (math.isfinite(tol) and tol > 0):
        raise DerivationError(f"容差必须大于 0 / tolerance must be > 0 (got {tolerance_m!r} m)")
    old: dict[tuple[str, str], BaseGeometry] = {}
    for (x, y), geom in stored.items():
        key = (min(x, y), max(x, y))
        if key in old:
            raise DerivationError(f"界线 {line_code(*key)} 重复 / duplicate stored line {line_code(*key)}")
        old[key] = geom
    new = {(ln.code_a, ln.code_b): ln for ln in derived.lines}
    out = []
    for key in sorted(old.keys() | new.keys()):
        g_old, ln = old.get(key), new.get(key)
        if ln is None:
            out.append(LineDiff(*key, "removed", float(g_old.length) if g_old else None, None, None))
        elif g_old is None:
            out.append(LineDiff(*key, "added", None, ln.length_m, None))
        elif g_old.is_empty:
            out.append(LineDiff(*key, "changed", 0.0, ln.length_m, None))
        else:
            h = float(shapely.hausdorff_distance(g_old, ln.geometry))
            status = "changed" if h > tol else "unchanged"
            out.append(LineDiff(*key, status, float(g_old.length), ln.length_m, h))
    return out

"""Topology checks between sibling division polygons and of children against their parent.

Pure module: shapely 2 + numpy only, no Django.

**CRS and units.**  All input geometries must be in one *projected* CRS whose
unit is the metre (the caller projects, e.g. from EPSG:4490 to the CGCS2000
3-degree Gauss-Krüger zone EPSG:4547).  Every length (``tolerance_m``) is in
metres, every area (``area_m2``, ``min_area_m2``) in square metres, and every
returned location/geometry is in the input CRS.  Nothing here reprojects or
checks the CRS; feeding longitude/latitude degrees gives meaningless results.

**Tolerance.**  Boundaries digitised independently never match exactly, so
tiny differences are ignored:

* a problem piece whose width is below ``tolerance_m`` is a *sliver* and is not
  reported; the test is ``piece.buffer(-tolerance_m / 2).is_empty``;
* a problem piece whose area is ``<= min_area_m2`` is not reported; the default
  is ``DEFAULT_MIN_AREA_FACTOR * tolerance_m ** 2`` (10 m² for the default 1 m
  tolerance);
* a child counts as outside its parent only where it extends beyond
  ``parent.buffer(tolerance_m)``.

**Issue kinds** (:class:`TopologyIssue.kind`):

``"invalid"``
    an input geometry is empty, not a (Multi)Polygon, or not OGC-valid
    (reason from :func:`shapely.validation.explain_validity`).  It is then
    repaired with :func:`shapely.make_valid` (polygonal parts kept) and the
    remaining checks use the repaired geometry; empty/non-areal inputs are
    left out of the remaining checks.
``"overlap"``
    the polygonal intersection of two siblings, one issue per connected piece.
``"gap"``
    an area covered by no sibling: with a parent, the parent minus the union
    of the children; without a parent, interior holes of the union of the
    siblings that are not (within tolerance) holes of an individual sibling
    (such holes are intentional enclaves of a foreign division).  Without a
    parent, gaps open to the outside of the union cannot be detected.
``"outside_parent"``
    a part of a child outside its parent.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import shapely
from shapely.geometry import GeometryCollection, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

__all__ = [
    "DEFAULT_MIN_AREA_FACTOR",
    "IssueKind",
    "TopologyIssue",
    "check_children_in_parent",
    "check_partition",
    "check_siblings",
]

IssueKind = Literal["overlap", "gap", "outside_parent", "invalid"]

#: Default ``min_area_m2`` is ``DEFAULT_MIN_AREA_FACTOR * tolerance_m ** 2`` (m²).
DEFAULT_MIN_AREA_FACTOR: Final[float] = 10.0

_KIND_ZH: Final[dict[str, str]] = {
    "overlap": "重叠",
    "gap": "缝隙",
    "outside_parent": "超出上级",
    "invalid": "几何无效",
}


@dataclass(frozen=True)
class TopologyIssue:
    """One topology problem.

    Attributes:
        kind: ``"overlap"``, ``"gap"``, ``"outside_parent"`` or ``"invalid"``.
        codes: division codes involved, sorted, except ``outside_parent`` which
            is ``(child_code, parent_code)``.  For a gap: the siblings within
            ``tolerance_m`` of it (may be empty).  For ``invalid``: the code of
            the bad geometry (empty tuple for an unnamed parent).
        area_m2: area of the problem piece in m² (for ``invalid``: area of the
            repaired geometry).
        location: a point ``(x, y)`` on the problem piece, input CRS (metres).
            For ``invalid`` it is the location reported by GEOS when it gives
            one; ``(nan, nan)`` for an empty geometry.
        geometry: the problem piece in the input CRS (for ``invalid``: the
            original input geometry).
        message: Chinese, then `` / ``, then English, with the codes and area.
    """

    kind: IssueKind
    codes: tuple[str, ...]
    area_m2: float
    location: tuple[float, float]
    geometry: BaseGeometry
    message: str


# --------------------------------------------------------------------------- helpers


def _polygon_parts(geom: BaseGeometry) -> list[Polygon]:
    """Non-empty polygons contained in ``geom`` (any geometry type)."""
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon | GeometryCollection):
        out: list[Polygon] = []
        for sub in geom.geoms:
            out.extend(_polygon_parts(sub))
        return out
    return []


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygonal part of ``geom`` as a Polygon/MultiPolygon (possibly empty)."""
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = _polygon_parts(geom)
    if not parts:
        return Polygon()
    if len(parts) == 1:
        return parts[0]
    return shapely.union_all(parts)


def _point_of(geom: BaseGeometry) -> tuple[float, float]:
    if geom.is_empty:
        return (math.nan, math.nan)
    pt = geom.representative_point()
    return (float(pt.x), float(pt.y))


def _is_sliver(piece: BaseGeometry, tolerance_m: float) -> bool:
    """True if ``piece`` is narrower than ``tolerance_m`` everywhere."""
    return tolerance_m > 0 and piece.buffer(-tolerance_m / 2).is_empty


def _significant(piece: BaseGeometry, tolerance_m: float, min_area_m2: float) -> bool:
    return piece.area > min_area_m2 and not _is_sliver(piece, tolerance_m)


def _fmt(area: float) -> str:
    return f"{area:.1f}"


def _resolve_params(tolerance_m: float, min_area_m2: float | None) -> tuple[float, float]:
    if not (math.isfinite(tolerance_m) and tolerance_m >= 0):
        raise ValueError(f"tolerance_m must be a finite number >= 0 (metres), got {tolerance_m!r}")
    if min_area_m2 is None:
        min_area_m2 = DEFAULT_MIN_AREA_FACTOR * tolerance_m**2
    if not (math.isfinite(min_area_m2) and min_area_m2 >= 0):
        raise ValueError(f"min_area_m2 must be a finite number >= 0 (m²), got {min_area_m2!r}")
    return float(tolerance_m), float(min_area_m2)


_GEOS_LOCATION_RE: Final = re.compile(r"\[\s*(-?[0-9.eE+-]+)\s+(-?[0-9.eE+-]+)")


def _prepare_one(code: str | None, geom: BaseGeometry) -> tuple[BaseGeometry | None, TopologyIssue | None]:
    """Return (usable polygonal geometry or None, "invalid" issue or None)."""
    if not isinstance(geom, BaseGeometry):
        raise TypeError(f"geometry for {code!r} must be a shapely geometry, got {type(geom).__name__}")
    label = code if code is not None else "上级区域"
    label_en = code if code is not None else "parent"
    codes: tuple[str, ...] = (code,) if code is not None else ()
    if geom.is_empty:
        return None, TopologyIssue(
            kind="invalid",
            codes=codes,
            area_m2=0.0,
            location=(math.nan, math.nan),
            geometry=geom,
            message=f"{label} 几何无效：几何为空 / invalid geometry of {label_en}: empty geometry",
        )
    flat = shapely.force_2d(geom)
    if not isinstance(flat, Polygon | MultiPolygon):
        usable = _polygonal(shapely.make_valid(flat))
        reason_zh = f"几何类型 {geom.geom_type} 不是面（Polygon/MultiPolygon）"
        reason_en = f"geometry type {geom.geom_type} is not Polygon/MultiPolygon"
        return (usable if not usable.is_empty else None), TopologyIssue(
            kind="invalid",
            codes=codes,
            area_m2=float(usable.area),
            location=_point_of(usable if not usable.is_empty else flat),
            geometry=geom,
            message=f"{label} 几何无效：{reason_zh} / invalid geometry of {label_en}: {reason_en}",
        )
    if flat.is_valid:
        return flat, None
    reason = explain_validity(flat)
    usable = _polygonal(shapely.make_valid(flat))
    location = _point_of(flat.envelope)
    match = _GEOS_LOCATION_RE.search(reason)
    if match:
        with contextlib.suppress(ValueError):  # unparsable GEOS location: keep the fallback
            location = (float(match.group(1)), float(match.group(2)))
    return (usable if not usable.is_empty else None), TopologyIssue(
        kind="invalid",
        codes=codes,
        area_m2=float(usable.area),
        location=location,
        geometry=geom,
        message=f"{label} 几何无效：{reason} / invalid geometry of {label_en}: {reason}",
    )


def _prepare(
    polygons: Mapping[str, BaseGeometry],
) -> tuple[list[str], list[BaseGeometry], list[TopologyIssue]]:
    """Validate/repair all inputs; return codes and usable geometries (same order) and issues."""
    codes: list[str] = []
    geoms: list[BaseGeometry] = []
    issues: list[TopologyIssue] = []
    for code in sorted(polygons):
        usable, issue = _prepare_one(code, polygons[code])
        if issue is not None:
            issues.append(issue)
        if usable is not None:
            codes.append(code)
            geoms.append(usable)
    return codes, geoms, issues


def _sort(issues: Iterable[TopologyIssue]) -> list[TopologyIssue]:
    def key(issue: TopologyIssue) -> tuple[str, tuple[str, ...], float, float, float]:
        x, y = issue.location
        return (
            issue.kind,
            issue.codes,
            -issue.area_m2,
            x if not math.isnan(x) else math.inf,
            y if not math.isnan(y) else math.inf,
        )

    return sorted(issues, key=key)


def _near_codes(
    tree: shapely.STRtree, codes: Sequence[str], geom: BaseGeometry, tolerance_m: float
) -> tuple[str, ...]:
    if tolerance_m > 0:
        idx = tree.query(geom, predicate="dwithin", distance=tolerance_m)
    else:
        idx = tree.query(geom, predicate="intersects")
    return tuple(sorted(codes[int(i)] for i in idx))


# --------------------------------------------------------------------------- checks


def _overlaps(
    codes: Sequence[str],
    geoms: Sequence[BaseGeometry],
    tree: shapely.STRtree,
    tolerance_m: float,
    min_area_m2: float,
) -> list[TopologyIssue]:
    if len(geoms) < 2:
        return []
    arr = np.asarray(geoms, dtype=object)
    left, right = tree.query(arr, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if left.size == 0:
        return []
    # Only pairs whose interiors share an area; skips neighbours that merely touch.
    area_pairs = shapely.relate_pattern(arr[left], arr[right], "2********")
    left, right = left[area_pairs], right[area_pairs]
    if left.size == 0:
        return []
    intersections = shapely.intersection(arr[left], arr[right])
    issues: list[TopologyIssue] = []
    for i, j, inter in zip(left, right, intersections, strict=True):
        a, b = sorted((codes[int(i)], codes[int(j)]))
        for piece in _polygon_parts(inter):
            if not _significant(piece, tolerance_m, min_area_m2):
                continue
            area = float(piece.area)
            issues.append(
                TopologyIssue(
                    kind="overlap",
                    codes=(a, b),
                    area_m2=area,
                    location=_point_of(piece),
                    geometry=piece,
                    message=f"{a} 与 {b} 重叠 {_fmt(area)} 平方米 / overlap of {_fmt(area)} m² between {a} and {b}",
                )
            )
    return issues


def _gap_issue(piece: Polygon, near: tuple[str, ...]) -> TopologyIssue:
    area = float(piece.area)
    if len(near) >= 2:
        message = f"{'、'.join(near)} 之间存在缝隙 {_fmt(area)} 平方米 / gap of {_fmt(area)} m² between {', '.join(near)}"
    elif len(near) == 1:
        message = (
            f"{near[0]} 旁存在未被任何区划覆盖的缝隙 {_fmt(area)} 平方米 / "
            f"gap of {_fmt(area)} m² next to {near[0]} not covered by any division"
        )
    else:
        message = f"存在未被任何区划覆盖的缝隙 {_fmt(area)} 平方米 / gap of {_fmt(area)} m² not covered by any division"
    return TopologyIssue(
        kind="gap", codes=near, area_m2=area, location=_point_of(piece), geometry=piece, message=message
    )


def _gaps_in_parent(
    parent: BaseGeometry,
    codes: Sequence[str],
    geoms: Sequence[BaseGeometry],
    tree: shapely.STRtree,
    tolerance_m: float,
    min_area_m2: float,
) -> list[TopologyIssue]:
    union = shapely.union_all(np.asarray(geoms, dtype=object)) if geoms else Polygon()
    uncovered = parent.difference(union)
    return [
        _gap_issue(piece, _near_codes(tree, codes, piece, tolerance_m))
        for piece in _polygon_parts(uncovered)
        if _significant(piece, tolerance_m, min_area_m2)
    ]


def _holes_of(geom: BaseGeometry) -> list[Polygon]:
    return [Polygon(ring) for part in _polygon_parts(geom) for ring in part.interiors]


def _interior_gaps(
    codes: Sequence[str],
    geoms: Sequence[BaseGeometry],
    tree: shapely.STRtree,
    tolerance_m: float,
    min_area_m2: float,
) -> list[TopologyIssue]:
    if not geoms:
        return []
    union = shapely.union_all(np.asarray(geoms, dtype=object))
    index = {code: i for i, code in enumerate(codes)}
    issues: list[TopologyIssue] = []
    for hole in _holes_of(union):
        # Siblings lying inside the hole (enclaves) are separate parts of the
        # union; what they leave uncovered is the candidate gap.
        inside = tree.query(hole, predicate="contains")
        region = (
            hole.difference(shapely.union_all(np.asarray(geoms, dtype=object)[inside]))
            if inside.size
            else hole
        )
        pieces = [p for p in _polygon_parts(region) if _significant(p, tolerance_m, min_area_m2)]
        if not pieces:
            continue
        near = _near_codes(tree, codes, region, tolerance_m)
        # A hole that (within tolerance) is also a hole of one sibling is an
        # intentional enclave of some other division, not a gap.
        intentional = False
        for code in near:
            for own_hole in _holes_of(geoms[index[code]]):
                diff = region.symmetric_difference(own_hole)
                if not any(_significant(p, tolerance_m, min_area_m2) for p in _polygon_parts(diff)):
                    intentional = True
                    break
            if intentional:
                break
        if not intentional:
            issues.extend(_gap_issue(piece, _near_codes(tree, codes, piece, tolerance_m)) for piece in pieces)
    return issues


def _outside_parent(
    parent_code: str,
    parent: BaseGeometry,
    codes: Sequence[str],
    geoms: Sequence[BaseGeometry],
    tolerance_m: float,
    min_area_m2: float,
) -> list[TopologyIssue]:
    allowed = parent.buffer(tolerance_m) if tolerance_m > 0 else parent
    shapely.prepare(allowed)
    issues: list[TopologyIssue] = []
    for code, child in zip(codes, geoms, strict=True):
        if allowed.covers(child):
            continue
        for piece in _polygon_parts(child.difference(parent)):
            # Detection uses the tolerance buffer; the reported piece and area
            # are the exact part of the child outside the parent.
            beyond = piece.difference(allowed)
            if beyond.is_empty or beyond.area <= min_area_m2:
                continue
            area = float(piece.area)
            issues.append(
                TopologyIssue(
                    kind="outside_parent",
                    codes=(code, parent_code),
                    area_m2=area,
                    location=_point_of(piece),
                    geometry=piece,
                    message=(
                        f"{code} 超出上级 {parent_code} 范围 {_fmt(area)} 平方米 / "
                        f"{code} extends {_fmt(area)} m² outside parent {parent_code}"
                    ),
                )
            )
    return issues


def _run(
    polygons: Mapping[str, BaseGeometry],
    *,
    parent: BaseGeometry | None,
    parent_code: str | None,
    tolerance_m: float,
    min_area_m2: float | None,
    siblings: bool,
    outside: bool,
) -> list[TopologyIssue]:
    tol, min_area = _resolve_params(tolerance_m, min_area_m2)
    codes, geoms, issues = _prepare(polygons)
    usable_parent: BaseGeometry | None = None
    if parent is not None:
        usable_parent, parent_issue = _prepare_one(parent_code, parent)
        if parent_issue is not None:
            issues.append(parent_issue)
    tree = shapely.STRtree(np.asarray(geoms, dtype=object))
    if siblings:
        issues.extend(_overlaps(codes, geoms, tree, tol, min_area))
        if parent is None:
            issues.extend(_interior_gaps(codes, geoms, tree, tol, min_area))
        elif usable_parent is not None:
            issues.extend(_gaps_in_parent(usable_parent, codes, geoms, tree, tol, min_area))
    if outside and usable_parent is not None:
        issues.extend(_outside_parent(parent_code or "", usable_parent, codes, geoms, tol, min_area))
    return _sort(issues)


def check_siblings(
    polygons: Mapping[str, BaseGeometry],
    *,
    tolerance_m: float = 1.0,
    min_area_m2: float | None = None,
    parent: BaseGeometry | None = None,
    parent_code: str | None = None,
) -> list[TopologyIssue]:
    """Check sibling divisions for invalid geometries, overlaps and gaps.

    Args:
        polygons: division code → (Multi)Polygon, projected CRS in metres.
        tolerance_m: width (m) below which overlap/gap pieces are ignored as slivers.
        min_area_m2: pieces with area (m²) ``<=`` this are ignored; default
            ``DEFAULT_MIN_AREA_FACTOR * tolerance_m ** 2``.
        parent: optional area the siblings should cover (same CRS).  If given,
            gaps are ``parent`` minus the union of the siblings; otherwise gaps
            are holes inside the union of the siblings (see module docstring).
            Children sticking out of ``parent`` are *not* reported here; use
            :func:`check_partition` for that.
        parent_code: optional code of ``parent``, used only to label an
            ``invalid`` issue for the parent geometry.

    Returns:
        Issues of kinds ``invalid``, ``overlap`` and ``gap``, sorted by
        (kind, codes, -area).  Overlap candidates are found with an STRtree, so
        the cost is about O(n log n) for n polygons plus the cost of the
        intersections of actually overlapping pairs.
    """
    return _run(
        polygons,
        parent=parent,
        parent_code=parent_code,
        tolerance_m=tolerance_m,
        min_area_m2=min_area_m2,
        siblings=True,
        outside=False,
    )


def check_children_in_parent(
    parent_code: str,
    parent: BaseGeometry,
    children: Mapping[str, BaseGeometry],
    *,
    tolerance_m: float = 1.0,
    min_area_m2: float | None = None,
) -> list[TopologyIssue]:
    """Check that each child lies inside its parent.

    A child is reported (kind ``outside_parent``, codes ``(child, parent_code)``)
    for each part of ``child - parent`` that extends beyond
    ``parent.buffer(tolerance_m)`` by more than ``min_area_m2``; the reported
    geometry/area is the exact part of the child outside the parent.  Invalid
    inputs (children or parent) are reported as ``invalid``.  All geometries
    in one projected CRS in metres; areas in m².
    """
    return _run(
        children,
        parent=parent,
        parent_code=parent_code,
        tolerance_m=tolerance_m,
        min_area_m2=min_area_m2,
        siblings=False,
        outside=True,
    )


def check_partition(
    parent_code: str,
    parent: BaseGeometry,
    children: Mapping[str, BaseGeometry],
    *,
    tolerance_m: float = 1.0,
    min_area_m2: float | None = None,
) -> list[TopologyIssue]:
    """Check that ``children`` exactly partition ``parent`` (no overlap, no gap, nothing outside).

    Equivalent to :func:`check_siblings` with ``parent`` plus
    :func:`check_children_in_parent`, with each invalid geometry reported
    once.  All geometries in one projected CRS in metres; areas in m².
    """
    return _run(
        children,
        parent=parent,
        parent_code=parent_code,
        tolerance_m=tolerance_m,
        min_area_m2=min_area_m2,
        siblings=True,
        outside=True,
    )

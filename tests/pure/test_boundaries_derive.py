"""Tests for geo_mz.boundaries.derive (pure: shapely + numpy, no Django, no database).

Synthetic fixtures are metres in an EPSG:4547-like CRS near (500 000, 3 300 000) (around 赤壁), so
floating-point behaviour is that of real data.  The acceptance test uses the real Tianditu county
polygons of 赤壁市 and its neighbours from /work/shared/data, projected EPSG:4490 → EPSG:4547.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Point, Polygon, box, shape
from shapely.geometry.base import BaseGeometry

from geo_mz.boundaries.derive import (
    Derivation,
    DerivationError,
    DerivedLine,
    derive_lines,
    derive_pair,
    diff_lines,
    line_code,
    line_name,
    short_name,
)
from geo_mz.core.crs import transform_geometry

X0, Y0 = 500_000.0, 3_300_000.0
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CHIBI = "421281"


def sq(i: float, j: float, size: float = 1000.0) -> Polygon:
    """Square cell (i, j) of a grid of ``size``-metre cells anchored at (X0, Y0)."""
    return box(X0 + i * size, Y0 + j * size, X0 + (i + 1) * size, Y0 + (j + 1) * size)


def pair_lengths(result: Derivation) -> dict[tuple[str, str], float]:
    return {(ln.code_a, ln.code_b): ln.length_m for ln in result.lines}


# --------------------------------------------------------------------------- real data


def independent_shared_length(a: BaseGeometry, b: BaseGeometry, tol: float, step: float = 2.0) -> float:
    """Shared-edge length by sampling, independent of the module's intersection/merge/trim path.

    A's boundary is cut into segments of at most ``step`` metres (shapely.segmentize, then every
    consecutive vertex pair is one segment, numpy); a segment counts as shared if its midpoint is
    within ``tol`` of B (shapely.dwithin).  The result is the sum of the counted segment lengths.
    It includes the short stubs at the junctions (≤ about ``tol`` per end), which is far below 1 %
    of a county line of several km.
    """
    total = 0.0
    for ring in shapely.get_parts(a.boundary):
        xy = shapely.get_coordinates(shapely.segmentize(ring, step))
        seg = np.hypot(*np.diff(xy, axis=0).T)
        mid = shapely.points((xy[:-1] + xy[1:]) / 2)
        total += float(seg[shapely.dwithin(mid, b, tol)].sum())
    return total


@pytest.fixture(scope="module")
def chibi_region() -> tuple[dict[str, BaseGeometry], dict[str, str]]:
    data = json.loads((DATA / "chibi_region_counties.geojson").read_text(encoding="utf-8"))
    polygons, names = {}, {}
    for feature in data["features"]:
        props = feature["properties"]
        polygons[props["adcode"]] = transform_geometry(shape(feature["geometry"]), 4490, 4547)
        names[props["adcode"]] = props["short_name"]
    return polygons, names


@pytest.fixture(scope="module")
def chibi_derivation(chibi_region: tuple[dict[str, BaseGeometry], dict[str, str]]) -> Derivation:
    polygons, names = chibi_region
    return derive_lines(polygons, tolerance_m=5.0, names=names)


def test_real_chibi_has_exactly_five_named_lines(chibi_region, chibi_derivation) -> None:
    _, names = chibi_region
    lines = chibi_derivation.lines_for(CHIBI)
    assert len(lines) == 5
    got = {
        line_name(short_name(names[ln.code_a]), ln.code_a, short_name(names[ln.code_b]), ln.code_b)
        for ln in lines
    }
    assert got == {"嘉鱼赤壁线", "崇阳赤壁线", "咸安赤壁线", "洪湖赤壁线", "赤壁临湘线"}
    assert all(ln.pieces == 1 for ln in lines)


def test_real_chibi_lengths_match_independent_measurement(chibi_region, chibi_derivation) -> None:
    polygons, _ = chibi_region
    for ln in chibi_derivation.lines_for(CHIBI):
        expected = independent_shared_length(polygons[ln.code_a], polygons[ln.code_b], 5.0)
        assert ln.length_m == pytest.approx(expected, rel=0.01), (ln.code_a, ln.code_b)
        assert ln.length_m == pytest.approx(ln.geometry.length)
        assert ln.length_m > 5_000  # county lines are kilometres long


def test_real_lines_lie_on_both_polygons(chibi_region, chibi_derivation) -> None:
    polygons, _ = chibi_region
    assert len(chibi_derivation.lines) == 14  # all pairs among the 8 counties
    for ln in chibi_derivation.lines:
        assert isinstance(ln.geometry, MultiLineString)
        assert ln.code_a < ln.code_b
        # the line follows code_a's boundary and stays within the tolerance of code_b
        vertices = shapely.points(shapely.get_coordinates(ln.geometry))
        assert shapely.distance(vertices, polygons[ln.code_a].boundary).max() < 1e-6
        assert shapely.distance(vertices, polygons[ln.code_b]).max() <= 5.0 + 1e-6
    keys = [(ln.code_a, ln.code_b) for ln in chibi_derivation.lines]
    assert keys == sorted(keys)


def test_real_data_has_no_overlaps_or_gaps(chibi_derivation) -> None:
    # The data's README: neighbouring polygons share edges without overlaps.
    assert [i for i in chibi_derivation.issues if i.kind in ("overlap", "gap", "invalid")] == []


# --------------------------------------------------------------------------- synthetic lines


def test_two_squares_sharing_an_edge_exact_length() -> None:
    result = derive_lines({"421221": sq(0, 0), "421281": sq(1, 0)})
    (ln,) = result.lines
    assert (ln.code_a, ln.code_b) == ("421221", "421281")
    assert ln.length_m == pytest.approx(1000.0, abs=1e-6)
    assert ln.pieces == 1
    edge = LineString([(X0 + 1000, Y0), (X0 + 1000, Y0 + 1000)])
    assert shapely.hausdorff_distance(ln.geometry, edge) < 1e-6
    assert result.issues == []


def test_partial_edge_is_trimmed_at_the_corners() -> None:
    # B is taller than A: A's whole right edge is shared, A's top/bottom edges run away from B.
    b = box(X0 + 1000, Y0 - 500, X0 + 2000, Y0 + 1500)
    ln = derive_pair(sq(0, 0), b, "a", "b")
    assert ln.length_m == pytest.approx(1000.0, abs=1e-6)


def test_gap_of_half_a_metre_is_bridged_and_reported_as_sliver() -> None:
    a = sq(0, 0)
    b = box(X0 + 1000.5, Y0, X0 + 2000.5, Y0 + 1000)
    result = derive_lines({"421221": a, "421281": b})
    (ln,) = result.lines
    assert ln.length_m == pytest.approx(1000.0, abs=1e-6)  # cut at A's corners
    (issue,) = result.issues
    assert issue.kind == "sliver"
    assert issue.codes == ("421221", "421281")
    assert issue.area_m2 == pytest.approx(500.0, rel=0.01)
    assert box(X0 + 1000, Y0, X0 + 1000.5, Y0 + 1000).buffer(1e-6).contains(issue.location)
    assert "缝隙" in issue.message and "421221" in issue.message


def _jittered_edge(x: float, step: float, amp: float, rng: np.random.Generator) -> np.ndarray:
    ys = np.append(np.arange(0.0, 1000.0, step), 1000.0)
    xs = x + rng.uniform(-amp, amp, len(ys))
    return np.column_stack([X0 + xs, Y0 + ys])


def test_jittered_vertices_with_gap_still_found_within_one_percent() -> None:
    rng = np.random.default_rng(7)
    right_of_a = _jittered_edge(1000.0, 20.0, 0.5, rng)  # bottom → top
    left_of_b = _jittered_edge(1000.5, 17.0, 0.5, rng)
    a = Polygon([(X0, Y0), *right_of_a, (X0, Y0 + 1000)])
    b = Polygon([*left_of_b[::-1], (X0 + 2000, Y0), (X0 + 2000, Y0 + 1000)][::-1])
    assert a.is_valid and b.is_valid
    result = derive_lines({"1": a, "2": b}, tolerance_m=5.0)
    (ln,) = result.lines
    assert ln.length_m == pytest.approx(1000.0, rel=0.01)
    assert ln.pieces == 1
    assert all(i.kind == "sliver" for i in result.issues) and result.issues
    assert derive_pair(b, a, "2", "1").length_m == pytest.approx(ln.length_m)


def test_corner_touching_squares_are_not_a_line() -> None:
    polygons = {"a": sq(0, 0), "b": sq(1, 1)}
    assert derive_lines(polygons).lines == []
    with pytest.raises(DerivationError, match="一点"):
        derive_pair(polygons["a"], polygons["b"], "a", "b")


def test_short_shared_edge_needs_more_than_twice_the_tolerance() -> None:
    a, b = sq(0, 0), box(X0 + 1000, Y0 + 992, X0 + 2000, Y0 + 1992)  # 8 m in common
    assert derive_lines({"a": a, "b": b}, tolerance_m=5.0).lines == []
    (ln,) = derive_lines({"a": a, "b": b}, tolerance_m=1.0).lines
    assert ln.length_m == pytest.approx(8.0, abs=1e-6)


def test_disjoint_divisions_raise_with_the_distance() -> None:
    a, b = sq(0, 0), box(X0 + 2234.5, Y0, X0 + 3000, Y0 + 1000)
    with pytest.raises(DerivationError, match=r"最近距离 1234\.5 m > 容差 5 m") as exc:
        derive_pair(a, b, "421221", "421281")
    assert "do not touch" in str(exc.value)
    assert derive_lines({"a": a, "b": b}).lines == []


def test_tri_junction_gives_three_lines_and_none_spurious() -> None:
    polygons = {
        "a": box(X0, Y0, X0 + 1000, Y0 + 2000),
        "b": box(X0 + 1000, Y0 + 1000, X0 + 2000, Y0 + 2000),
        "c": box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000),
    }
    lengths = pair_lengths(derive_lines(polygons))
    assert lengths == pytest.approx({("a", "b"): 1000.0, ("a", "c"): 1000.0, ("b", "c"): 1000.0}, abs=1e-6)


def test_y_junction_at_120_degrees() -> None:
    r = 1000.0
    v = [(X0 + r * math.cos(math.radians(60 * k)), Y0 + r * math.sin(math.radians(60 * k))) for k in range(6)]
    o = (X0, Y0)
    polygons = {
        "a": Polygon([o, v[0], v[1], v[2]]),
        "b": Polygon([o, v[2], v[3], v[4]]),
        "c": Polygon([o, v[4], v[5], v[0]]),
    }
    result = derive_lines(polygons)
    assert pair_lengths(result) == pytest.approx({("a", "b"): r, ("a", "c"): r, ("b", "c"): r}, abs=1e-6)
    assert result.issues == []


def test_four_way_junction_has_no_diagonal_lines() -> None:
    polygons = {"1": sq(0, 0), "2": sq(1, 0), "3": sq(0, 1), "4": sq(1, 1)}
    result = derive_lines(polygons)
    assert sorted(pair_lengths(result)) == [("1", "2"), ("1", "3"), ("2", "4"), ("3", "4")]
    assert [ln.code_b for ln in result.lines_for("1")] == ["2", "3"]


def test_enclave_line_is_a_closed_ring() -> None:
    outer = Polygon(sq(0, 0, 3000).exterior.coords, [sq(1, 1).exterior.coords])
    (ln,) = derive_lines({"421281": outer, "421281100": sq(1, 1)}).lines
    assert ln.length_m == pytest.approx(4000.0, abs=1e-6)
    assert ln.pieces == 1 and ln.geometry.geoms[0].is_closed


# --------------------------------------------------------------------------- issues


def _with_bump() -> dict[str, BaseGeometry]:
    # B pokes 4 m × 5 m = 20 m² into A.
    bump = box(X0 + 996, Y0 + 500, X0 + 1000, Y0 + 505)
    return {"421221": sq(0, 0), "421281": sq(1, 0).union(bump)}


def test_overlap_of_20_m2_is_reported_with_area_and_location() -> None:
    result = derive_lines(_with_bump(), tolerance_m=1.0)
    (ln,) = result.lines
    assert ln.length_m == pytest.approx(1000.0, abs=1e-6)
    (issue,) = result.issues
    assert issue.kind == "overlap"
    assert issue.codes == ("421221", "421281")
    assert issue.area_m2 == pytest.approx(20.0)
    assert box(X0 + 996, Y0 + 500, X0 + 1000, Y0 + 505).contains(issue.location)
    assert "重叠 20.0 m²" in issue.message


def test_narrow_overlap_is_a_sliver_at_the_default_tolerance() -> None:
    (issue,) = derive_lines(_with_bump(), tolerance_m=5.0).issues
    assert issue.kind == "sliver"  # 4 m wide < 5 m tolerance: topology ignores it, we still report it
    assert issue.area_m2 == pytest.approx(20.0)
    assert box(X0 + 996, Y0 + 500, X0 + 1000, Y0 + 505).contains(issue.location)
    assert "重叠" in issue.message


def test_open_gap_wider_than_tolerance_is_reported_without_a_line() -> None:
    result = derive_lines({"a": sq(0, 0), "b": box(X0 + 1008, Y0, X0 + 2008, Y0 + 1000)}, tolerance_m=5.0)
    assert result.lines == []
    (issue,) = result.issues
    assert issue.kind == "gap" and issue.codes == ("a", "b")
    assert issue.area_m2 == pytest.approx(8000.0, rel=0.01)


def test_enclosed_gap_comes_from_topology_with_names() -> None:
    polygons = {f"4212{i}{j}": sq(i, j) for i in range(3) for j in range(3) if (i, j) != (1, 1)}
    names = {code: f"{code}镇" for code in polygons}
    result = derive_lines(polygons, names=names)
    gaps = [i for i in result.issues if i.kind == "gap"]
    assert len(gaps) == 1 and gaps[0].area_m2 == pytest.approx(1e6)
    assert "421201镇" in gaps[0].message
    assert len(result.lines) == 8  # the ring of 8 squares, no diagonal lines


def test_invalid_and_non_polygonal_inputs_are_reported_and_handled() -> None:
    bowtie = Polygon([(X0 - 1000, Y0), (X0, Y0 + 1000), (X0, Y0), (X0 - 1000, Y0 + 1000)])
    line = LineString([(X0, Y0), (X0 + 1, Y0)])
    polygons = {"a": sq(0, 0), "b": sq(1, 0), "c": bowtie, "d": line, "e": Polygon()}
    result = derive_lines(polygons)
    invalid = {i.codes[0]: i for i in result.issues if i.kind == "invalid"}
    assert set(invalid) == {"c", "d", "e"}
    assert "Self-intersection" in invalid["c"].message
    assert math.isnan(invalid["e"].location.x) and math.isnan(invalid["e"].location.y)
    # The repaired bow-tie is two triangles; one of them shares a's 1 km west edge.
    assert pair_lengths(result) == pytest.approx({("a", "b"): 1000.0, ("a", "c"): 1000.0})


# --------------------------------------------------------------------------- validation


def test_degree_input_raises() -> None:
    a, b = box(113.9, 29.7, 114.0, 29.8), box(114.0, 29.7, 114.1, 29.8)
    with pytest.raises(DerivationError, match="经纬度"):
        derive_lines({"a": a, "b": b})
    with pytest.raises(DerivationError, match="EPSG:4547"):
        derive_pair(a, b, "a", "b")


@pytest.mark.parametrize("tol", [0.0, -1.0, math.nan, math.inf])
def test_non_positive_tolerance_raises(tol: float) -> None:
    with pytest.raises(DerivationError, match="容差必须大于 0 / tolerance must be > 0"):
        derive_lines({"a": sq(0, 0), "b": sq(1, 0)}, tolerance_m=tol)


def test_too_large_tolerance_raises() -> None:
    with pytest.raises(DerivationError, match=r"容差 1e\+06 m 过大（上限 500 m）"):
        derive_lines({"a": sq(0, 0), "b": sq(1, 0)}, tolerance_m=1e6)
    with pytest.raises(DerivationError, match="上限 2000 m"):
        derive_pair(sq(0, 0), sq(1, 0), "a", "b", tolerance_m=5000, max_tolerance_m=2000)
    # At the upper limit a 1 km edge is too short (≤ 2 × 500 m); a 5 km edge is a line.
    assert derive_lines({"a": sq(0, 0), "b": sq(1, 0)}, tolerance_m=500).lines == []
    (ln,) = derive_lines({"a": sq(0, 0, 5000), "b": sq(1, 0, 5000)}, tolerance_m=500).lines
    assert ln.length_m == pytest.approx(5000.0, abs=1e-6)


def test_derive_pair_orders_codes_and_rejects_equal_codes() -> None:
    ln = derive_pair(sq(1, 0), sq(0, 0), "421281", "421221")
    assert isinstance(ln, DerivedLine)
    assert (ln.code_a, ln.code_b) == ("421221", "421281")
    with pytest.raises(DerivationError):
        derive_pair(sq(1, 0), sq(0, 0), "x", "x")
    with pytest.raises(DerivationError):
        derive_pair(Polygon(), sq(0, 0), "x", "y")


def test_empty_and_single_inputs() -> None:
    assert derive_lines({}) == Derivation(lines=[], issues=[])
    assert derive_lines({"a": sq(0, 0)}).lines == []


# --------------------------------------------------------------------------- diff


def test_diff_lines_statuses() -> None:
    derived = derive_lines({"a": sq(0, 0), "b": sq(1, 0), "c": sq(0, 1)})
    ab = derived.lines[0].geometry
    assert [(ln.code_a, ln.code_b) for ln in derived.lines] == [("a", "b"), ("a", "c")]
    moved = LineString([(X0 + 1000, Y0), (X0 + 1050, Y0 + 500), (X0 + 1000, Y0 + 1000)])
    stored = {("b", "a"): ab, ("x", "y"): LineString([(0, 0), (1, 0)])}
    out = {(d.code_a, d.code_b): d for d in diff_lines(stored, derived)}
    assert out[("a", "b")].status == "unchanged" and out[("a", "b")].hausdorff_m == pytest.approx(0.0)
    assert out[("a", "c")].status == "added" and out[("a", "c")].stored_length_m is None
    assert out[("x", "y")].status == "removed" and out[("x", "y")].derived_length_m is None
    assert list(out) == [("a", "b"), ("a", "c"), ("x", "y")]

    changed = diff_lines({("a", "b"): moved}, derived)[0]
    assert changed.status == "changed"
    assert changed.hausdorff_m == pytest.approx(50.0)
    assert changed.derived_length_m == pytest.approx(1000.0)
    assert diff_lines({("a", "b"): moved}, derived, tolerance_m=60)[0].status == "unchanged"
    with pytest.raises(DerivationError):
        diff_lines({("a", "b"): ab, ("b", "a"): ab}, derived)


# --------------------------------------------------------------------------- names


def test_line_name_orders() -> None:
    assert line_name("嘉鱼", "421221", "赤壁", "421281") == "嘉鱼赤壁线"
    assert line_name("赤壁", "421281", "嘉鱼", "421221") == "嘉鱼赤壁线"
    assert line_name("赤壁", "421281", "临湘", "430682") == "赤壁临湘线"
    assert line_name("赤壁", "421281", "临湘", "430682", order="reverse") == "临湘赤壁线"
    with pytest.raises(ValueError):
        line_name("赤壁", "421281", "临湘", "430682", order="alpha")
    assert line_code("430682", "421281") == "421281-430682"


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("赤马港街道", "赤马港"),
        ("官塘驿镇", "官塘驿"),
        ("赤壁市", "赤壁"),
        ("咸安区", "咸安"),
        ("嘉鱼县", "嘉鱼"),
        ("神农架林区", "神农架"),
        ("长阳土家族自治县", "长阳"),
        ("恩施土家族苗族自治州", "恩施"),
        ("广西壮族自治区", "广西"),
        ("湖北省", "湖北"),
        ("黄柏山回族乡", "黄柏山"),
        ("车埠镇", "车埠"),
        ("X县", "X"),
        ("县", "县"),
        ("赤壁", "赤壁"),
    ],
)
def test_short_name(name: str, short: str) -> None:
    assert short_name(name) == short


def test_point_location_type() -> None:
    (issue,) = derive_lines(_with_bump()).issues
    assert isinstance(issue.location, Point)

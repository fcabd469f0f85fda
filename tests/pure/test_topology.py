"""Tests for geo_mz.divisions.topology (pure: shapely only, no Django, no database).

Coordinates are metres in an EPSG:4547-like projected CRS (CGCS2000 3-degree
Gauss-Krüger, central meridian 114°E): the fixtures sit near
(500 000, 3 300 000), i.e. around 赤壁 in Hubei, so floating-point behaviour is
that of real data rather than of coordinates near the origin.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import affinity
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from geo_mz.divisions.topology import (
    DEFAULT_MIN_AREA_FACTOR,
    TopologyIssue,
    check_children_in_parent,
    check_partition,
    check_siblings,
)

X0, Y0 = 500_000.0, 3_300_000.0
REL = 1e-6
REPO_ROOT = Path(__file__).resolve().parents[2]


def sq(i: float, j: float, size: float = 1000.0) -> Polygon:
    """Square cell (i, j) of a grid of ``size``-metre cells anchored at (X0, Y0)."""
    return box(X0 + i * size, Y0 + j * size, X0 + (i + 1) * size, Y0 + (j + 1) * size)


def grid(n: int, m: int, size: float = 1000.0) -> dict[str, BaseGeometry]:
    return {f"421281{i * m + j + 1:03d}": sq(i, j, size) for i in range(n) for j in range(m)}


def kinds(issues: list[TopologyIssue]) -> list[str]:
    return [issue.kind for issue in issues]


# --------------------------------------------------------------------------- exact partitions


def test_exact_grid_partition_has_no_issues() -> None:
    children = grid(3, 3)
    parent = box(X0, Y0, X0 + 3000, Y0 + 3000)
    assert check_partition("421281", parent, children) == []
    assert check_siblings(children) == []
    assert check_siblings(children, parent=parent) == []
    assert check_children_in_parent("421281", parent, children) == []


def test_multipolygon_children_partition() -> None:
    parent = box(X0, Y0, X0 + 3000, Y0 + 1000)
    children = {
        "421281001": shapely.MultiPolygon([sq(0, 0), sq(2, 0)]),  # two detached parts
        "421281002": sq(1, 0),
    }
    assert check_partition("421281", parent, children) == []


def test_empty_input() -> None:
    assert check_siblings({}) == []
    parent = box(X0, Y0, X0 + 100, Y0 + 100)
    (gap,) = check_partition("421281", parent, {})
    assert gap.kind == "gap"
    assert gap.codes == ()
    assert gap.area_m2 == pytest.approx(10_000, rel=REL)


# --------------------------------------------------------------------------- overlap + gap


def test_shifted_child_gives_overlap_and_gap() -> None:
    children = grid(3, 3)
    centre = "421281005"  # cell (1, 1)
    children[centre] = affinity.translate(children[centre], xoff=50.0)
    parent = box(X0, Y0, X0 + 3000, Y0 + 3000)

    issues = check_partition("421281", parent, children)
    assert kinds(issues) == ["gap", "overlap"]
    gap, overlap = issues

    # overlap with the right neighbour (cell (2, 1)): 50 m x 1000 m
    assert overlap.codes == ("421281005", "421281008")
    assert overlap.area_m2 == pytest.approx(50_000, rel=REL)
    assert overlap.geometry.area == pytest.approx(overlap.area_m2, rel=REL)
    assert overlap.geometry.symmetric_difference(box(X0 + 2000, Y0 + 1000, X0 + 2050, Y0 + 2000)).area < 1e-3
    assert overlap.geometry.contains(Point(overlap.location))
    assert "421281005 与 421281008 重叠 50000.0 平方米" in overlap.message
    assert "overlap of 50000.0 m² between 421281005 and 421281008" in overlap.message
    assert overlap.message.index("重叠") < overlap.message.index("overlap")

    # gap left behind: 50 m x 1000 m, touching the centre cell, its left,
    # top and bottom neighbours and (at corners) the two left-hand corner cells
    assert gap.area_m2 == pytest.approx(50_000, rel=REL)
    assert gap.geometry.symmetric_difference(box(X0 + 1000, Y0 + 1000, X0 + 1050, Y0 + 2000)).area < 1e-3
    assert gap.codes == ("421281001", "421281002", "421281003", "421281004", "421281005", "421281006")
    assert gap.geometry.contains(Point(gap.location))
    assert "缝隙 50000.0 平方米" in gap.message and "gap of 50000.0 m²" in gap.message

    # without the parent: the gap is an interior hole of the union → same result
    assert [(i.kind, i.codes, round(i.area_m2, 3)) for i in check_siblings(children)] == [
        (i.kind, i.codes, round(i.area_m2, 3)) for i in issues
    ]
    # only the containment check: nothing sticks out
    assert check_children_in_parent("421281", parent, children) == []


def test_overlap_pieces_reported_separately() -> None:
    a = box(X0, Y0, X0 + 1000, Y0 + 1000)
    # b overlaps a in two disjoint 100 x 100 squares
    b = shapely.union_all(
        [box(X0 + 900, Y0, X0 + 2000, Y0 + 100), box(X0 + 900, Y0 + 900, X0 + 2000, Y0 + 1000)]
    )
    issues = check_siblings({"b": b, "a": a})
    assert kinds(issues) == ["overlap", "overlap"]
    assert all(i.codes == ("a", "b") for i in issues)
    assert [i.area_m2 for i in issues] == pytest.approx([10_000, 10_000], rel=REL)


def test_duplicate_child_overlaps_completely() -> None:
    issues = check_siblings({"421281001": sq(0, 0), "421281002": sq(0, 0)})
    assert len(issues) == 1
    assert issues[0].kind == "overlap"
    assert issues[0].area_m2 == pytest.approx(1_000_000, rel=REL)


def test_contained_child_overlap() -> None:
    big = sq(0, 0)
    small = box(X0 + 100, Y0 + 100, X0 + 200, Y0 + 300)
    (issue,) = check_siblings({"big": big, "small": small})
    assert issue.kind == "overlap"
    assert issue.area_m2 == pytest.approx(20_000, rel=REL)


def test_min_area_filters() -> None:
    children = grid(2, 1)
    children["421281001"] = affinity.translate(children["421281001"], xoff=10.0)  # 10 x 1000 overlap
    assert kinds(check_siblings(children)) == ["overlap"]
    assert check_siblings(children, min_area_m2=10_000) == []
    assert kinds(check_siblings(children, min_area_m2=9_999)) == ["overlap"]


# --------------------------------------------------------------------------- tolerance / slivers


@pytest.mark.parametrize("kind", ["gap", "overlap"])
def test_sliver_within_tolerance_is_ignored(kind: str) -> None:
    dx = 0.3 if kind == "gap" else -0.3
    parent = box(X0, Y0, X0 + 2000, Y0 + 1000)
    children = {
        "421281001": box(X0, Y0, X0 + 1000, Y0 + 1000),
        "421281002": box(X0 + 1000 + dx, Y0, X0 + 2000, Y0 + 1000),
    }
    assert check_partition("421281", parent, children, tolerance_m=1.0) == []
    assert check_siblings(children, parent=parent, tolerance_m=1.0) == []

    issues = check_partition("421281", parent, children, tolerance_m=0.1)
    assert kinds(issues) == [kind]
    (issue,) = issues
    assert issue.area_m2 == pytest.approx(300.0, rel=REL)  # 0.3 m x 1000 m
    assert issue.codes == ("421281001", "421281002")


def test_sliver_default_min_area() -> None:
    assert DEFAULT_MIN_AREA_FACTOR == 10.0
    # a 5 m x 5 m square gap (25 m²) is wide enough but small:
    # reported with tolerance 1 m (min area 10 m²), not with 2 m (min area 40 m²)
    parent = box(X0, Y0, X0 + 100, Y0 + 100)
    children = {"a": parent.difference(box(X0 + 10, Y0 + 10, X0 + 15, Y0 + 15))}
    # without a parent the hole is intentional (it is a hole of "a" itself)
    assert check_siblings(children) == []
    assert kinds(check_partition("p", parent, children, tolerance_m=1.0)) == ["gap"]
    assert check_partition("p", parent, children, tolerance_m=2.0) == []


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        check_siblings({}, tolerance_m=-1)
    with pytest.raises(ValueError):
        check_siblings({}, tolerance_m=math.nan)
    with pytest.raises(ValueError):
        check_siblings({}, min_area_m2=-5)
    with pytest.raises(TypeError):
        check_siblings({"a": "POLYGON ((0 0, 1 0, 1 1, 0 0))"})  # type: ignore[dict-item]


def test_zero_tolerance_reports_everything() -> None:
    parent = box(X0, Y0, X0 + 2000, Y0 + 1000)
    children = {
        "a": box(X0, Y0, X0 + 1000, Y0 + 1000),
        "b": box(X0 + 1000.001, Y0, X0 + 2000, Y0 + 1000),
    }
    (gap,) = check_partition("p", parent, children, tolerance_m=0.0)
    assert gap.area_m2 == pytest.approx(1.0, rel=1e-3)


# --------------------------------------------------------------------------- outside parent


def test_child_sticking_out_of_parent() -> None:
    parent = box(X0, Y0, X0 + 2000, Y0 + 1000)
    children = {
        "421281001": box(X0, Y0, X0 + 1000, Y0 + 1000),
        "421281002": box(X0 + 1000, Y0, X0 + 2000, Y0 + 1100),  # 100 m too far north
    }
    issues = check_children_in_parent("421281", parent, children)
    assert kinds(issues) == ["outside_parent"]
    (issue,) = issues
    assert issue.codes == ("421281002", "421281")
    assert issue.area_m2 == pytest.approx(100_000, rel=REL)
    assert issue.geometry.symmetric_difference(box(X0 + 1000, Y0 + 1000, X0 + 2000, Y0 + 1100)).area < 1e-3
    assert issue.geometry.contains(Point(issue.location))
    assert "421281002 超出上级 421281 范围 100000.0 平方米" in issue.message
    assert "outside parent 421281" in issue.message

    # the partition check reports the same thing and nothing else
    partition = check_partition("421281", parent, children)
    assert [(i.kind, i.codes, i.area_m2) for i in partition] == [(i.kind, i.codes, i.area_m2) for i in issues]
    # the sibling check does not look outside the parent
    assert check_siblings(children, parent=parent) == []


def test_outside_within_tolerance_is_ignored() -> None:
    parent = box(X0, Y0, X0 + 1000, Y0 + 1000)
    child = box(X0, Y0, X0 + 1000, Y0 + 1000.8)  # 0.8 m over the edge
    assert check_children_in_parent("p", parent, {"c": child}, tolerance_m=1.0) == []
    (issue,) = check_children_in_parent("p", parent, {"c": child}, tolerance_m=0.1)
    assert issue.area_m2 == pytest.approx(800.0, rel=REL)


def test_child_completely_outside() -> None:
    parent = sq(0, 0)
    (issue,) = check_children_in_parent("p", parent, {"c": sq(5, 5)})
    assert issue.kind == "outside_parent"
    assert issue.area_m2 == pytest.approx(1_000_000, rel=REL)


# --------------------------------------------------------------------------- invalid input


def bowtie(x: float = X0, y: float = Y0, size: float = 10.0) -> Polygon:
    return Polygon([(x, y), (x + size, y + size), (x + size, y), (x, y + size)])


def test_self_intersecting_bowtie_is_invalid() -> None:
    bad = bowtie()
    assert not bad.is_valid
    issues = check_siblings({"421281001": bad})
    assert kinds(issues) == ["invalid"]
    (issue,) = issues
    assert issue.codes == ("421281001",)
    assert issue.location == pytest.approx((X0 + 5, Y0 + 5))
    assert issue.area_m2 == pytest.approx(50.0, rel=REL)  # two 25 m² triangles after repair
    assert issue.geometry is bad
    assert "Self-intersection" in issue.message
    assert issue.message.startswith("421281001 几何无效")
    assert "invalid geometry of 421281001" in issue.message


def test_invalid_geometry_is_repaired_for_the_other_checks() -> None:
    # repaired bowtie = left + right triangles; the top and bottom triangles
    # of the parent square are then uncovered (25 m² each)
    parent = box(X0, Y0, X0 + 10, Y0 + 10)
    issues = check_partition("p", parent, {"c": bowtie()})
    assert kinds(issues) == ["gap", "gap", "invalid"]
    assert [i.area_m2 for i in issues[:2]] == pytest.approx([25.0, 25.0], rel=REL)
    # overlapping a valid sibling is still found through the repaired geometry
    issues = check_siblings({"c": bowtie(), "d": box(X0, Y0, X0 + 2, Y0 + 10)})
    assert kinds(issues) == ["invalid", "overlap"]
    assert issues[1].area_m2 == pytest.approx(16.0, rel=REL)  # left triangle ∩ 2 m strip: 20 - 4 m²


def test_invalid_parent_is_reported() -> None:
    issues = check_children_in_parent("421281", bowtie(size=1000), {"a": sq(0, 0)})
    assert issues[0].kind == "invalid"
    assert issues[0].codes == ("421281",)
    issues = check_siblings({"a": sq(0, 0)}, parent=bowtie(size=1000))
    assert [i.codes for i in issues if i.kind == "invalid"] == [()]


def test_empty_and_non_polygonal_inputs() -> None:
    issues = check_partition(
        "p",
        sq(0, 0),
        {
            "a": sq(0, 0),
            "empty": Polygon(),
            "line": LineString([(X0, Y0), (X0 + 10, Y0 + 10)]),
        },
    )
    assert [(i.kind, i.codes) for i in issues] == [("invalid", ("empty",)), ("invalid", ("line",))]
    assert math.isnan(issues[0].location[0])
    assert "empty geometry" in issues[0].message
    assert "LineString" in issues[1].message


def test_issue_is_frozen() -> None:
    (issue,) = check_siblings({"a": bowtie()})
    with pytest.raises(dataclasses.FrozenInstanceError):
        issue.area_m2 = 0.0  # type: ignore[misc]


# --------------------------------------------------------------------------- holes without parent


def test_hole_between_siblings_is_a_gap_but_own_hole_is_not() -> None:
    ring = box(X0, Y0, X0 + 3000, Y0 + 3000).difference(sq(1, 1))
    west = ring.intersection(box(X0, Y0, X0 + 1500, Y0 + 3000))
    east = ring.intersection(box(X0 + 1500, Y0, X0 + 3000, Y0 + 3000))
    (gap,) = check_siblings({"w": west, "e": east})
    assert gap.kind == "gap"
    assert gap.codes == ("e", "w")
    assert gap.area_m2 == pytest.approx(1_000_000, rel=REL)

    # the same hole inside a single sibling is an intentional enclave
    assert check_siblings({"ring": ring, "next": sq(3, 0)}) == []

    # an enclave sibling that does not fill its hole leaves a real gap
    enclave = box(X0 + 1100, Y0 + 1100, X0 + 1900, Y0 + 1900)
    (gap,) = check_siblings({"ring": ring, "enclave": enclave})
    assert gap.kind == "gap"
    assert gap.codes == ("enclave", "ring")
    assert gap.area_m2 == pytest.approx(1_000_000 - 640_000, rel=REL)


def test_sorted_deterministically() -> None:
    children = grid(3, 3)
    children["421281005"] = affinity.translate(children["421281005"], xoff=50.0)
    children["421281001"] = bowtie(X0 + 5000, Y0 + 5000)
    parent = box(X0, Y0, X0 + 3000, Y0 + 3000)
    forward = check_partition("421281", parent, children)
    backward = check_partition("421281", parent, dict(reversed(list(children.items()))))
    assert [(i.kind, i.codes, i.area_m2) for i in forward] == [(i.kind, i.codes, i.area_m2) for i in backward]
    keys = [(i.kind, i.codes, -i.area_m2) for i in forward]
    assert keys == sorted(keys)
    assert set(kinds(forward)) == {"gap", "overlap", "outside_parent", "invalid"}


def test_many_cells_scale() -> None:
    # 40 x 40 grid with one overlap: must stay fast (STRtree, not all pairs)
    children = grid(40, 40, size=100.0)
    children["421281001"] = box(X0, Y0, X0 + 150, Y0 + 100)
    parent = box(X0, Y0, X0 + 4000, Y0 + 4000)
    issues = check_partition("421281", parent, children)
    assert [(i.kind, round(i.area_m2, 6)) for i in issues] == [("overlap", 5000.0)]


# --------------------------------------------------------------------------- properties

RECT_W, RECT_H = 10_000.0, 8_000.0
RECT = box(X0, Y0, X0 + RECT_W, Y0 + RECT_H)

# Seeds on a 100 m lattice with ±20 m jitter: any two seeds are >= 60 m apart
# and >= 30 m from the rectangle's edge, so every Voronoi cell contains a disc
# of radius 30 m: never a sliver, never below the default minimum area.
seed_points = st.lists(
    st.tuples(
        st.integers(0, int(RECT_W // 100) - 1),
        st.integers(0, int(RECT_H // 100) - 1),
        st.floats(-20, 20, allow_nan=False),
        st.floats(-20, 20, allow_nan=False),
    ),
    min_size=2,
    max_size=40,
    unique_by=lambda t: (t[0], t[1]),
)


def voronoi_partition(seeds: list[tuple[int, int, float, float]]) -> dict[str, BaseGeometry]:
    points = MultiPoint([(X0 + 50 + 100 * i + dx, Y0 + 50 + 100 * j + dy) for i, j, dx, dy in seeds])
    cells = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=RECT))
    clipped = [cell.intersection(RECT) for cell in cells]
    assert len(clipped) == len(seeds)
    return {f"421281{k + 1:03d}": cell for k, cell in enumerate(clipped)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seeds=seed_points)
def test_voronoi_partition_has_no_issues(seeds: list[tuple[int, int, float, float]]) -> None:
    children = voronoi_partition(seeds)
    assert sum(c.area for c in children.values()) == pytest.approx(RECT.area, rel=1e-9)
    assert check_partition("421281", RECT, children) == []
    assert check_siblings(children) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seeds=seed_points, data=st.data())
def test_removed_voronoi_cell_is_exactly_the_gap(
    seeds: list[tuple[int, int, float, float]], data: st.DataObject
) -> None:
    children = voronoi_partition(seeds)
    removed_code = data.draw(st.sampled_from(sorted(children)))
    removed = children.pop(removed_code)

    issues = check_partition("421281", RECT, children)
    assert issues, "removing a cell must leave a gap"
    assert set(kinds(issues)) == {"gap"}
    assert sum(i.area_m2 for i in issues) == pytest.approx(removed.area, rel=REL)
    neighbours = {code for code, cell in children.items() if cell.distance(removed) <= 1.0}
    assert set().union(*(i.codes for i in issues)) == neighbours
    assert all(removed.buffer(1e-6).contains(i.geometry) for i in issues)

    # without the parent, only a cell enclosed by other cells is a detectable hole
    interior = check_siblings(children)
    edge_distance = removed.distance(RECT.exterior)
    if edge_distance > 1.0:
        assert len(interior) == 1
        assert interior[0].kind == "gap"
        assert interior[0].area_m2 == pytest.approx(removed.area, rel=REL)
    elif edge_distance < 1e-6:
        assert interior == []


# --------------------------------------------------------------------------- purity


def test_pure_modules_do_not_import_django() -> None:
    code = (
        "import sys\n"
        "import geo_mz.divisions.topology, geo_mz.divisions.codes\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(','.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"django imported: {result.stdout} {result.stderr}"

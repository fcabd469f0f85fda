"""Tests for the pure coverage engine (geo_mz.coverage.engine / network / allocation): no Django.

Coordinates are EPSG:4547-like metres around (X0, Y0) = (500 000, 3 290 000).  Hand-checkable cases
use integer coordinates, so distances such as 300 (from 180² + 240²) are exact and ties at the
radius are real ties; brute-force references are written independently (dense numpy matrices,
a heapq Dijkstra over the input lines, itertools over all site sets).
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString, Point, Polygon, box

from geo_mz.coverage import engine
from geo_mz.coverage.allocation import coverage_matrix, lscp, mclp
from geo_mz.coverage.engine import (
    ENGINE_VERSION,
    CoverageIndex,
    CoverageInputError,
    DistancePairs,
    ExclusionLayer,
    aggregate,
    apply_exclusions,
    gaussian_decay,
    points_outside,
    straight_coverage,
    straight_pairs,
    two_step_fca,
    uncovered_polygons,
    unit_coverage_rate,
    units_reached,
)
from geo_mz.coverage.network import (
    COVERED,
    NO_ROUTE,
    NOT_COVERED,
    UNSNAPPED,
    RoadGraph,
    network_coverage,
    network_pairs,
    service_area_lines,
)

X0, Y0 = 500_000.0, 3_290_000.0
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def at(*points: tuple[float, float]) -> np.ndarray:
    """Points given relative to (X0, Y0)."""
    return np.array(points, dtype=float).reshape(-1, 2) + [X0, Y0]


def brute_counts(demand: np.ndarray, fac: np.ndarray, radius: np.ndarray) -> np.ndarray:
    d = np.sqrt(((demand[:, None, :] - fac[None, :, :]) ** 2).sum(-1))
    return (d <= np.broadcast_to(radius, (fac.shape[0],))[None, :]).sum(axis=1)


# --------------------------------------------------------------------------- straight-line


def test_straight_coverage_hand_example_with_ties_at_the_radius() -> None:
    # given a site at the origin with radius 300 m and one at (1000, 0) with 100 m
    fac = at((0, 0), (1000, 0))
    demand = at((300, 0), (180, 240), (301, 0), (900, 0), (650, 0))
    # when
    cov = straight_coverage(demand, fac, [300.0, 100.0])
    # then 300 and 180/240 (= 300 exactly) are covered, 301 is not; 900 is covered by the second site
    assert cov.covered.tolist() == [True, True, False, True, False]
    assert cov.n_reaching.tolist() == [1, 1, 0, 1, 0]
    assert cov.nearest_facility.tolist() == [0, 0, 0, 1, 1]
    assert cov.nearest_distance_m.tolist() == [300.0, 300.0, 301.0, 100.0, 350.0]
    assert cov.engine_version == ENGINE_VERSION == "1"


def test_straight_coverage_counts_overlapping_sites() -> None:
    fac = at((0, 0), (100, 0), (50, 0))
    cov = straight_coverage(at((50, 0), (-60, 0), (500, 500)), fac, 60.0)
    assert cov.n_reaching.tolist() == [3, 1, 0]


@pytest.mark.parametrize("seed", range(6))
def test_straight_coverage_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = rng.integers(1, 400), rng.integers(1, 60)
    # integer coordinates and radii: many exact ties at the radius
    demand = rng.integers(0, 3000, (n, 2)).astype(float) + [X0, Y0]
    fac = rng.integers(0, 3000, (m, 2)).astype(float) + [X0, Y0]
    radius = rng.integers(1, 900, m).astype(float)
    cov = straight_coverage(demand, fac, radius)
    expected = brute_counts(demand, fac, radius)
    assert cov.n_reaching.tolist() == expected.tolist()
    d = np.sqrt(((demand[:, None, :] - fac[None, :, :]) ** 2).sum(-1))
    assert np.array_equal(cov.nearest_distance_m, d.min(axis=1))
    assert np.array_equal(d[np.arange(n), cov.nearest_facility], d.min(axis=1))  # ties: any of them
    pairs = straight_pairs(demand, fac, radius)
    got = sorted(zip(pairs.demand.tolist(), pairs.facility.tolist(), strict=True))
    want = sorted(zip(*np.nonzero(d <= radius[None, :]), strict=True))
    assert got == [(int(i), int(j)) for i, j in want]


def test_straight_coverage_clustered_points_and_big_radii() -> None:
    rng = np.random.default_rng(9)
    centres = rng.uniform(0, 20_000, (8, 2))
    demand = (centres[rng.integers(0, 8, 3000)] + rng.normal(0, 150, (3000, 2))) + [X0, Y0]
    fac = rng.uniform(-5000, 25_000, (40, 2)) + [X0, Y0]  # some far outside the demand's extent
    radius = rng.uniform(50, 6000, 40)
    assert (
        straight_coverage(demand, fac, radius).n_reaching.tolist()
        == brute_counts(demand, fac, radius).tolist()
    )


coords = st.integers(0, 2000).map(float)
point_lists = st.lists(st.tuples(coords, coords), min_size=1, max_size=40)


@FAST
@given(demand=point_lists, fac=point_lists, radius=st.integers(1, 800).map(float))
def test_covered_iff_nearest_within_radius(demand, fac, radius) -> None:
    cov = straight_coverage(at(*demand), at(*fac), radius)
    assert np.array_equal(cov.covered, cov.nearest_distance_m <= radius)
    assert cov.n_reaching.tolist() == brute_counts(at(*demand), at(*fac), np.array([radius])).tolist()


@FAST
@given(demand=point_lists, fac=point_lists, extra=st.tuples(coords, coords), radius=st.integers(1, 800))
def test_adding_a_facility_never_decreases_coverage(demand, fac, extra, radius) -> None:
    before = straight_coverage(at(*demand), at(*fac), float(radius))
    after = straight_coverage(at(*demand), at(*fac, extra), float(radius))
    assert (after.n_reaching >= before.n_reaching).all()
    assert (after.covered | ~before.covered).all()


def test_straight_coverage_without_facilities_or_demand() -> None:
    cov = straight_coverage(at((0, 0), (5, 5)), np.empty((0, 2)), 100.0)
    assert not cov.covered.any() and cov.nearest_facility.tolist() == [-1, -1]
    assert np.isinf(cov.nearest_distance_m).all()
    assert straight_coverage(np.empty((0, 2)), at((0, 0)), 100.0).covered.shape == (0,)


def test_walking_minutes() -> None:
    assert engine.walking_minutes_to_m(15) == 900.0 and engine.walking_minutes_to_m(5, 50) == 250.0
    with pytest.raises(CoverageInputError):
        engine.walking_minutes_to_m(-1)


def test_results_are_frozen_and_read_only() -> None:
    cov = straight_coverage(at((0, 0)), at((0, 0)), 10.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cov.covered = np.array([False])  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        cov.covered[0] = False


@pytest.mark.parametrize(
    ("demand", "fac", "radius", "code"),
    [
        (at((0, 0)), at((0, 0)), -5.0, "radius"),
        (at((0, 0)), at((0, 0)), 0.0, "radius"),
        (at((0, 0)), at((0, 0)), 5e6, "radius"),
        (at((0, 0)), at((0, 0)), math.nan, "radius"),
        (at((0, 0)), at((0, 0), (1, 1)), [5.0, 5.0, 5.0], "length_mismatch"),
        (np.array([[X0, math.nan]]), at((0, 0)), 5.0, "not_finite"),
        (np.array([[114.1, 29.7], [114.2, 29.8]]), at((0, 0)), 5.0, "looks_like_degrees"),
        (at((0, 0)), np.array([[29.7, 114.1]]), 5.0, "looks_like_degrees"),
        (np.zeros((3, 3)), at((0, 0)), 5.0, "shape"),
        (["a", "b"], at((0, 0)), 5.0, "shape"),
    ],
)
def test_bad_straight_inputs_raise_bilingual_errors(demand, fac, radius, code) -> None:
    with pytest.raises(CoverageInputError) as info:
        straight_coverage(demand, fac, radius)
    err = info.value
    assert err.code == code
    assert err.message_zh and err.message_en and err.message_zh in str(err) and err.message_en in str(err)


# --------------------------------------------------------------------------- what-if


def test_what_if_equals_recomputation() -> None:
    rng = np.random.default_rng(4)
    demand = rng.uniform(0, 5000, (2000, 2)) + [X0, Y0]
    weights = rng.integers(0, 30, 2000).astype(float)
    fac = rng.uniform(0, 5000, (12, 2)) + [X0, Y0]
    radius = rng.uniform(300, 900, 12)
    index = CoverageIndex(demand, weights, fac, radius)
    # when one site is added and two are closed
    new = at((2500, 2500))
    result = index.what_if(new, 700.0, close=[3, 7])
    # then the change equals a full recomputation
    keep = np.setdiff1d(np.arange(12), [3, 7])
    after = straight_coverage(
        np.vstack([demand]), np.vstack([fac[keep], new]), np.concatenate([radius[keep], [700.0]])
    )
    before = straight_coverage(demand, fac, radius)
    assert result.covered_weight_after == pytest.approx(weights[after.covered].sum())
    assert result.added_weight == pytest.approx(weights[after.covered & ~before.covered].sum())
    assert result.lost_weight == pytest.approx(weights[before.covered & ~after.covered].sum())
    assert set(result.newly_covered.tolist()) == set(np.flatnonzero(after.covered & ~before.covered).tolist())
    assert result.net_weight == pytest.approx(result.covered_weight_after - result.covered_weight_before)
    assert 0 < result.share_after <= 1
    with pytest.raises(CoverageInputError) as info:
        index.what_if(close=[99])
    assert info.value.code == "unknown_facility"
    with pytest.raises(CoverageInputError):
        index.what_if(new)  # a radius is needed


# --------------------------------------------------------------------------- aggregation


def test_aggregate_per_division() -> None:
    labels = np.array([421281001, 421281002, 421281001, 421281003, 421281002])
    agg = aggregate(labels, [10, 20, 30, 0, 5], np.array([True, False, False, True, True]))
    assert agg.labels.tolist() == [421281001, 421281002, 421281003]
    assert agg.covered_weight.tolist() == [10, 5, 0]
    assert agg.total_weight.tolist() == [40, 25, 0]
    assert agg.uncovered_weight.tolist() == [30, 20, 0]
    assert agg.share[:2].tolist() == [0.25, 0.2] and math.isnan(agg.share[2])
    assert agg.n_points.tolist() == [2, 2, 1] and agg.n_covered.tolist() == [1, 1, 1]
    rows = agg.as_rows()
    assert rows[2] == {
        "label": 421281003,
        "covered_weight": 0.0,
        "total_weight": 0.0,
        "uncovered_weight": 0.0,
        "share": None,
        "n_points": 1,
        "n_covered": 1,
    }
    assert aggregate(["营里社区", "北站社区"], None, np.array([True, False])).labels.tolist() == [
        "北站社区",
        "营里社区",
    ]
    with pytest.raises(CoverageInputError):
        aggregate(labels, [1, 2, 3, 4, -1], np.ones(5, bool))
    with pytest.raises(CoverageInputError):
        aggregate(labels, [1, 2, 3, 4, math.nan], np.ones(5, bool))
    with pytest.raises(CoverageInputError):
        aggregate(labels, None, np.ones(4, bool))


def test_unit_coverage_rates() -> None:
    # townships with a public cemetery
    towns = ["赤马港街道", "官塘驿镇", "赤壁镇", "新店镇"]
    rate = unit_coverage_rate(["官塘驿镇", "赤壁镇", "官塘驿镇", "不存在镇"], towns)
    assert (rate.n_units, rate.n_with_site, rate.rate) == (4, 2, 0.5)
    assert rate.units_without_site == ("新店镇", "赤马港街道")
    assert rate.unknown_units == ("不存在镇",)
    assert math.isnan(unit_coverage_rate([], []).rate)
    # communities whose centre is within a site's radius
    cov = straight_coverage(at((0, 0), (2000, 0), (50, 0)), at((0, 0)), 700.0)
    reached = units_reached(["营里", "北站", "营里"], cov.covered)
    assert reached.tolist() == ["营里"]
    assert unit_coverage_rate(reached, ["营里", "北站"]).rate == 0.5


# --------------------------------------------------------------------------- 2SFCA


def test_two_step_fca_hand_computed() -> None:
    # A (10 beds) reaches P1 (100) and P2 (50); B (6 beds) reaches P2 and P3 (30)
    dense = np.array([[100.0, np.inf], [200.0, 300.0], [np.inf, 100.0]])
    res = two_step_fca(dense, [100, 50, 30], [10, 6], 500.0)
    assert res.ratio == pytest.approx([10 / 150, 6 / 80])
    assert res.accessibility == pytest.approx([10 / 150, 10 / 150 + 6 / 80, 6 / 80])
    assert res.demand_in_catchment.tolist() == [150, 80]
    assert res.decay == "none" and not res.facility_without_demand.any()
    # the catchment narrows the pairs: with 250 m, B no longer reaches P2
    narrow = two_step_fca(dense, [100, 50, 30], [10, 6], [500.0, 250.0])
    assert narrow.ratio == pytest.approx([10 / 150, 6 / 30])


def test_two_step_fca_input_forms_agree_and_keep_zero_distances() -> None:
    dense = np.array([[0.0, np.inf], [200.0, 300.0], [np.inf, 0.0]])
    sparse = sp.csr_array(([0.0, 200.0, 300.0, 0.0], ([0, 1, 1, 2], [0, 0, 1, 1])), shape=(3, 2))
    pairs = DistancePairs.from_arrays([0, 1, 1, 2], [0, 0, 1, 1], [0, 200, 300, 0], 3, 2)
    results = [two_step_fca(x, [100, 50, 30], [10, 6], 500.0) for x in (dense, sparse, pairs)]
    for r in results[1:]:
        assert r.accessibility == pytest.approx(results[0].accessibility)
    assert results[0].ratio == pytest.approx([10 / 150, 6 / 80])


def test_two_step_fca_flags_facilities_without_demand_and_unserved_points() -> None:
    dense = np.array([[100.0, np.inf], [np.inf, np.inf]])
    res = two_step_fca(dense, [10, 5], [4, 7], 500.0)
    assert res.facility_without_demand.tolist() == [False, True]
    assert res.ratio.tolist() == [0.4, 0.0]
    assert res.demand_without_facility.tolist() == [False, True]
    with pytest.raises(CoverageInputError):
        two_step_fca(dense, [10, 5], [4, 7], 500.0, decay="cubic")
    with pytest.raises(CoverageInputError):
        two_step_fca(dense, [10, -5], [4, 7], 500.0)


def test_gaussian_decay_ends() -> None:
    assert gaussian_decay(np.array([0.0, 500.0]), np.array([500.0, 500.0])) == pytest.approx([1.0, 0.0])


@FAST
@given(
    n=st.integers(1, 30),
    m=st.integers(1, 8),
    seed=st.integers(0, 10_000),
    decay=st.sampled_from([None, "gaussian"]),
)
def test_two_step_fca_conserves_capacity(n, m, seed, decay) -> None:
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 3000, (n, 2)) + [X0, Y0]
    fac = rng.uniform(0, 3000, (m, 2)) + [X0, Y0]
    pop = rng.integers(0, 100, n).astype(float)
    cap = rng.uniform(1, 50, m)
    res = two_step_fca(straight_pairs(demand, fac, 1500.0), pop, cap, 1500.0, decay=decay)
    served = ~res.facility_without_demand
    assert res.ratio[served] * res.demand_in_catchment[served] == pytest.approx(cap[served])
    assert float(pop @ res.accessibility) == pytest.approx(float(cap[served].sum()))


# --------------------------------------------------------------------------- uncovered polygons


def test_uncovered_polygons_area() -> None:
    area = box(X0, Y0, X0 + 1000, Y0 + 1000)
    out = uncovered_polygons(area, at((500, 500)), 100.0, quad_segs=64)
    assert out.area_m2 == pytest.approx(1e6 - math.pi * 100**2, rel=1e-4)
    assert out.share == pytest.approx(out.area_m2 / 1e6)
    assert not out.geometry.contains(Point(X0 + 500, Y0 + 500))
    # a disk reaching over the edge only removes its part inside the area
    edge = uncovered_polygons(area, at((0, 0)), 100.0, quad_segs=64)
    assert edge.area_m2 == pytest.approx(1e6 - math.pi * 100**2 / 4, rel=1e-4)
    assert uncovered_polygons(area, np.empty((0, 2)), 10.0).area_m2 == 1e6
    with pytest.raises(CoverageInputError):
        uncovered_polygons(Polygon(), at((0, 0)), 10.0)


def test_points_outside() -> None:
    area = box(X0, Y0, X0 + 100, Y0 + 100)
    assert points_outside(area, at((50, 50), (100, 100), (150, 50))).tolist() == [False, False, True]


# --------------------------------------------------------------------------- exclusions


def test_exclusion_layers_reject_with_reasons() -> None:
    railway = ExclusionLayer("铁路", [LineString(at((0, 0), (5000, 0)))], 500.0)
    water = ExclusionLayer("水源保护区", [box(X0 + 2000, Y0 + 1000, X0 + 3000, Y0 + 2000)], 0.0)
    dwellings = ExclusionLayer("居民点", [Point(X0 + 4000, Y0 + 1500)], 300.0)
    cand = at((1000, 120), (2500, 1500), (4000, 1700), (1000, 1000), (1000, 500))
    res = apply_exclusions(cand, [railway, water, dwellings])
    assert res.allowed.tolist() == [False, False, False, True, True]  # exactly 500 m is allowed
    assert res.reasons[0] == "距铁路 120 m < 500 m"
    assert res.reasons[1] == "位于水源保护区范围内"
    assert res.reasons[2] == "距居民点 200 m < 300 m"
    assert res.reasons[3] == "" and res.reasons_en[0] == "120 m from 铁路 < 500 m"
    assert res.distance_m[0, 0] == pytest.approx(120.0) and np.isinf(res.distance_m[3]).all()
    assert res.layer_names == ("铁路", "水源保护区", "居民点")
    both = apply_exclusions(
        at((2500, 300)), [railway, ExclusionLayer("高速", [LineString(at((2400, -99), (2400, 999)))], 200)]
    )
    assert both.reasons[0] == "距铁路 300 m < 500 m；距高速 100 m < 200 m"
    with pytest.raises(CoverageInputError):
        ExclusionLayer("铁路", [LineString(at((0, 0), (1, 0)))], -1.0)
    with pytest.raises(CoverageInputError):
        ExclusionLayer("", [], 1.0)


# --------------------------------------------------------------------------- road network


def grid_lines(n: int = 6, step: float = 100.0, river_y: float | None = None, bridge_x: float | None = None):
    """An n × n grid of single-edge lines; vertical edges crossing ``river_y`` only at ``bridge_x``."""
    lines = []
    for j in range(n):
        for i in range(n - 1):
            lines.append(LineString(at((i * step, j * step), ((i + 1) * step, j * step))))
    for i in range(n):
        for j in range(n - 1):
            y0, y1 = j * step, (j + 1) * step
            if river_y is not None and y0 < river_y < y1 and i * step != bridge_x:
                continue
            lines.append(LineString(at((i * step, y0), (i * step, y1))))
    return lines


@pytest.fixture(scope="module")
def river_town() -> RoadGraph:
    # 6 × 6 grid (0..500 m), a river between y = 200 and 300 crossed by one bridge at x = 400
    return RoadGraph.from_lines(grid_lines(river_y=250.0, bridge_x=400.0))


def test_network_distance_differs_from_straight_line_across_a_river(river_town: RoadGraph) -> None:
    assert (river_town.n_nodes, river_town.n_edges, river_town.n_components) == (36, 55, 1)
    fac = at((0, 200))
    demand = at((0, 300), (50, 310), (400, 250), (0, 100))
    net = network_coverage(river_town, demand, fac, 860.0)
    # over the bridge: 400 east + 100 north + 400 west = 900 (straight line: 100)
    assert net.nearest_distance_m.tolist() == [900.0, 860.0, 450.0, 100.0]
    assert net.status.tolist() == [NOT_COVERED, COVERED, COVERED, COVERED]  # 860 = the cut-off: covered
    assert net.n_reaching.tolist() == [0, 1, 1, 1]
    straight = straight_coverage(demand, fac, 860.0)
    assert straight.covered.all() and straight.nearest_distance_m[0] == 100.0


def test_snap_distance_counted_or_not(river_town: RoadGraph) -> None:
    # the site (-20, 200) snaps to the node (0, 200) at 20 m; the home (225, 30) to (200, 30) at 25 m
    demand, fac = at((225, 30)), at((-20, 200))
    with_snap = network_coverage(river_town, demand, fac, 1000.0)
    without = network_coverage(river_town, demand, fac, 1000.0, count_snap=False)
    assert with_snap.snap_distance_m.tolist() == [25.0]
    assert with_snap.facility_snap_distance_m.tolist() == [20.0]
    assert without.nearest_distance_m.tolist() == [200.0 + 170.0]
    assert with_snap.nearest_distance_m.tolist() == [20.0 + 370.0 + 25.0]
    # the snap distance alone can exceed the cut-off
    assert network_coverage(river_town, demand, fac, 400.0).covered.tolist() == [False]
    assert network_coverage(river_town, demand, fac, 400.0, count_snap=False).covered.tolist() == [True]


def test_points_on_the_same_edge_use_the_direct_distance(river_town: RoadGraph) -> None:
    # facility and demand both on the edge (100, 0)-(200, 0)
    net = network_coverage(river_town, at((130, 0), (190, 5)), at((170, 0)), 50.0)
    assert net.nearest_distance_m.tolist() == [40.0, 25.0]
    assert net.covered.tolist() == [True, True]
    # and a point past a node is reached through it: (100, 10) on x = 100 → 70 + 10 along
    far = network_coverage(river_town, at((100, 10)), at((170, 0)), 80.0)
    assert far.nearest_distance_m.tolist() == [80.0]


def test_unsnapped_and_disconnected_points_are_reported() -> None:
    # two separate squares of road 1 km apart
    lines = [
        LineString(at((0, 0), (100, 0), (100, 100), (0, 100), (0, 0))),
        LineString(at((1000, 0), (1100, 0))),
    ]
    graph = RoadGraph.from_lines(lines)
    assert graph.n_components == 2
    net = network_coverage(
        graph,
        at((50, 10), (1050, 5), (500, 500)),
        at((0, 0), (3000, 3000)),
        1000.0,
        max_snap_m=100.0,
    )
    assert net.status.tolist() == [COVERED, NO_ROUTE, UNSNAPPED]
    assert net.facility_snapped.tolist() == [True, False]
    assert np.isinf(net.facility_snap_distance_m[1])
    assert net.unreachable.tolist() == [1, 2]
    assert net.nearest_facility.tolist() == [0, -1, -1]


def test_partial_edge_reach_lengths_are_exact(river_town: RoadGraph) -> None:
    area = service_area_lines(river_town, at((0, 200)), 150.0)
    pieces = sorted(
        (tuple(np.round(np.array(line.coords) - [X0, Y0], 9).ravel().tolist())) for line in area.lines
    )
    assert pieces == sorted(
        [
            (0.0, 200.0, 100.0, 200.0),  # whole edge east
            (100.0, 200.0, 150.0, 200.0),  # 50 m further east
            (100.0, 150.0, 100.0, 200.0),  # 50 m south from (100, 200), geometry runs north
            (0.0, 100.0, 0.0, 200.0),  # whole edge south
            (0.0, 50.0, 0.0, 100.0),  # 50 m further south
            (0.0, 100.0, 50.0, 100.0),  # 50 m east from (0, 100)
        ]
    )
    assert area.length_m == pytest.approx(400.0)
    assert area.full.sum() == 2


def test_service_area_around_a_facility_in_mid_edge_with_per_facility_cutoffs(river_town: RoadGraph) -> None:
    # site A in the middle of (100, 0)-(200, 0) with 30 m; site B 10 m off the node (500, 500) with 60 m
    area = service_area_lines(river_town, at((150, 0), (510, 500)), [30.0, 60.0])
    got = {
        (int(e), round(s, 9), round(t, 9))
        for e, s, t in zip(area.edge, area.start_m, area.end_m, strict=True)
    }
    on_a = [e for e, s, t in got if (s, t) == (20.0, 80.0)]
    assert len(on_a) == 1
    near_b = sorted(t - s for e, s, t in got if (s, t) != (20.0, 80.0))
    assert near_b == [50.0, 50.0]  # 60 − 10 m snap along both edges at the corner
    assert area.length_m == pytest.approx(60.0 + 100.0)
    no_snap = service_area_lines(river_town, at((510, 500)), 60.0, count_snap=False)
    assert no_snap.length_m == pytest.approx(120.0)


def test_service_area_agrees_with_point_coverage(river_town: RoadGraph) -> None:
    rng = np.random.default_rng(5)
    fac = at((0, 200), (330, 480))
    area = service_area_lines(river_town, fac, 260.0, count_snap=False)
    reach = shapely.union_all(area.lines)
    on_road = []
    for e in rng.integers(0, river_town.n_edges, 200):
        line = river_town.edge_geometry[e]
        on_road.append(line.interpolate(rng.uniform(0, line.length)).coords[0])
    pts = np.array(on_road)
    net = network_coverage(river_town, pts, fac, 260.0, count_snap=False)
    inside = shapely.dwithin(reach, shapely.points(pts), 1e-6)
    assert np.array_equal(net.covered, inside)


# ---- independent network brute force: heapq Dijkstra over the input lines


def _brute_network(
    lines: list[LineString], demand: np.ndarray, fac: np.ndarray, count_snap: bool = True
) -> np.ndarray:
    """(n, m) network distances: snap to the nearest line (lowest index on ties), then the shortest
    of the direct distance along a shared line and the routes through the lines' end points."""
    ends = {}
    adj: dict[int, list[tuple[int, float]]] = {}
    for line in lines:
        for p in (line.coords[0], line.coords[-1]):
            ends.setdefault(p, len(ends))
    for line in lines:
        a, b = ends[line.coords[0]], ends[line.coords[-1]]
        adj.setdefault(a, []).append((b, line.length))
        adj.setdefault(b, []).append((a, line.length))

    def dijkstra_from(src: dict[int, float]) -> dict[int, float]:
        dist = dict(src)
        heap = [(d, v) for v, d in src.items()]
        heapq.heapify(heap)
        while heap:
            d, v = heapq.heappop(heap)
            if d > dist.get(v, math.inf):
                continue
            for w, length in adj.get(v, []):
                nd = d + length
                if nd < dist.get(w, math.inf):
                    dist[w] = nd
                    heapq.heappush(heap, (nd, w))
        return dist

    def snap(p: np.ndarray) -> tuple[int, float, float]:
        pt = Point(p)
        ds = [line.distance(pt) for line in lines]
        k = int(np.argmin(ds))
        return k, lines[k].project(pt), ds[k]

    out = np.full((demand.shape[0], fac.shape[0]), np.inf)
    snaps_d = [snap(p) for p in demand]
    for j, q in enumerate(fac):
        kf, tf, sf = snap(q)
        lf = lines[kf]
        src: dict[int, float] = {}
        for node, d in ((ends[lf.coords[0]], tf), (ends[lf.coords[-1]], lf.length - tf)):
            src[node] = min(src.get(node, math.inf), d)
        dist = dijkstra_from(src)
        for i, (ki, ti, si) in enumerate(snaps_d):
            li = lines[ki]
            best = min(
                dist.get(ends[li.coords[0]], math.inf) + ti,
                dist.get(ends[li.coords[-1]], math.inf) + li.length - ti,
            )
            if ki == kf:
                best = min(best, abs(ti - tf))
            out[i, j] = best + ((si + sf) if count_snap else 0.0)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_network_coverage_matches_brute_force_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lines = grid_lines(5, 100.0, river_y=150.0, bridge_x=float(rng.integers(0, 5) * 100))
    # drop a few edges so some routes detour and a corner may be cut off
    keep = rng.random(len(lines)) > 0.15
    lines = [line for line, k in zip(lines, keep, strict=True) if k]
    graph = RoadGraph.from_lines(lines)
    # points exactly on roads at integer offsets (exact sums, ties) and some off-road points
    on_road = []
    for k in rng.integers(0, len(lines), 25):
        (x0, y0), (x1, y1) = lines[k].coords
        t = rng.integers(0, 101) / 100
        on_road.append((x0 + t * (x1 - x0), y0 + t * (y1 - y0)))
    off_road = rng.uniform(0, 400, (10, 2)) + [X0, Y0]
    demand = np.vstack([np.array(on_road), off_road])
    fac = np.vstack([np.array(on_road[:4]), rng.uniform(0, 400, (2, 2)) + [X0, Y0]])
    expected = _brute_network(lines, demand, fac)
    finite = expected[np.isfinite(expected)]
    cutoff = float(np.median(finite)) if finite.size else 100.0  # an exact pair distance: a tie
    net = network_coverage(graph, demand, fac, cutoff, return_pairs=True)
    assert np.allclose(net.nearest_distance_m, expected.min(axis=1), rtol=0, atol=1e-9)
    assert net.n_reaching.tolist() == (expected <= cutoff + 1e-9).sum(axis=1).tolist()
    got = np.full_like(expected, np.inf)
    got[net.pairs.demand, net.pairs.facility] = net.pairs.distance_m
    assert np.allclose(np.where(expected <= cutoff + 1e-9, expected, np.inf), got, atol=1e-9)
    # the dedicated pairs function returns the same pairs
    pairs = network_pairs(graph, demand, fac, cutoff)
    assert sorted(zip(pairs.demand.tolist(), pairs.facility.tolist(), strict=True)) == sorted(
        zip(net.pairs.demand.tolist(), net.pairs.facility.tolist(), strict=True)
    )


@FAST
@given(seed=st.integers(0, 10_000), count_snap=st.booleans())
def test_network_distance_is_at_least_the_straight_line(seed, count_snap) -> None:
    rng = np.random.default_rng(seed)
    lines = grid_lines(4, 150.0)
    graph = RoadGraph.from_lines(lines)
    demand = rng.uniform(-50, 500, (15, 2)) + [X0, Y0]
    fac = rng.uniform(-50, 500, (3, 2)) + [X0, Y0]
    net = network_coverage(graph, demand, fac, 2000.0, count_snap=count_snap, return_pairs=True)
    straight = np.sqrt(((demand[net.pairs.demand] - fac[net.pairs.facility]) ** 2).sum(-1))
    slack = (
        0.0
        if count_snap
        else net.snap_distance_m[net.pairs.demand] + net.facility_snap_distance_m[net.pairs.facility]
    )
    assert (net.pairs.distance_m >= straight - slack - 1e-7).all()
    assert (net.status == COVERED).all()


def test_road_graph_from_lines_options() -> None:
    # ends 0.3 m apart join within the tolerance, not with 0.1 m
    lines = [LineString(at((0, 0), (100, 0))), LineString(at((100.3, 0), (200, 0)))]
    assert RoadGraph.from_lines(lines, snap_tolerance_m=0.5).n_components == 1
    assert RoadGraph.from_lines(lines, snap_tolerance_m=0.1).n_components == 2
    # a cross digitised as two long lines sharing their middle vertex
    cross = [
        LineString(at((0, 100), (100, 100), (200, 100))),
        LineString(at((100, 0), (100, 100), (100, 200))),
    ]
    assert RoadGraph.from_lines(cross).n_components == 2
    joined = RoadGraph.from_lines(cross, split_at_shared_vertices=True)
    assert (joined.n_components, joined.n_edges, joined.n_nodes) == (1, 4, 5)
    assert joined.edge_line.tolist() == [0, 0, 1, 1]
    # an overpass (crossing without a shared vertex) is not joined
    bridge = [LineString(at((0, 100), (200, 100))), LineString(at((100, 0), (100, 200)))]
    assert RoadGraph.from_lines(bridge, split_at_shared_vertices=True).n_components == 2
    # walkable flags, MultiLineStrings, coordinate arrays
    multi = MultiLineString([[(X0, Y0), (X0 + 50, Y0)], [(X0 + 50, Y0), (X0 + 50, Y0 + 50)]])
    graph = RoadGraph.from_lines(
        [multi, at((0, 0), (0, 80)), at((0, 80), (0, 90))], walkable=[True, True, False]
    )
    assert graph.n_edges == 3 and graph.edge_length_m.sum() == pytest.approx(180.0)
    for bad, code in (
        ([], "empty"),
        ([Point(X0, Y0)], "shape"),
        ([LineString([(114.0, 29.0), (114.1, 29.1)])], "looks_like_degrees"),
    ):
        with pytest.raises(CoverageInputError) as info:
            RoadGraph.from_lines(bad)
        assert info.value.code == code
    with pytest.raises(CoverageInputError):
        RoadGraph.from_lines(lines, walkable=[True])


def test_network_bad_inputs(river_town: RoadGraph) -> None:
    with pytest.raises(CoverageInputError):
        network_coverage(river_town, at((0, 0)), at((0, 0)), 0.0)
    with pytest.raises(CoverageInputError):
        network_coverage(river_town, at((0, 0)), at((0, 0)), 100.0, max_snap_m=-1)
    with pytest.raises(CoverageInputError):
        network_coverage("roads", at((0, 0)), at((0, 0)), 100.0)  # type: ignore[arg-type]
    empty = network_coverage(river_town, at((0, 0)), np.empty((0, 2)), 100.0)
    assert empty.status.tolist() == [NO_ROUTE]


def test_names_are_importable_from_the_engine_module() -> None:
    assert engine.RoadGraph is RoadGraph and engine.mclp is mclp
    with pytest.raises(AttributeError):
        _ = engine.no_such_name


# --------------------------------------------------------------------------- location-allocation


def _instance(seed: int, n: int = 120, c: int = 10, radius: float = 900.0):
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 4000, (n, 2)) + [X0, Y0]
    cand = rng.uniform(0, 4000, (c, 2)) + [X0, Y0]
    weights = rng.integers(1, 60, n).astype(float)
    existing = straight_coverage(demand, at((rng.uniform(0, 4000), rng.uniform(0, 4000))), 700.0).covered
    return straight_pairs(demand, cand, radius), weights, existing


def _brute_mclp(a: np.ndarray, w: np.ndarray, existing: np.ndarray, k: int, allowed: np.ndarray) -> float:
    best = -1.0
    for sites in itertools.combinations(np.flatnonzero(allowed).tolist(), k):
        best = max(best, float(w[a[list(sites)].any(axis=0) | existing].sum()))
    return best


@pytest.mark.parametrize("seed", range(5))
def test_mclp_exact_matches_brute_force_and_heuristic_is_close(seed: int) -> None:
    pairs, w, existing = _instance(seed)
    a = coverage_matrix(pairs).toarray()
    allowed = np.ones(10, dtype=bool)
    allowed[seed % 10] = False
    for k in (1, 2, 4):
        best = _brute_mclp(a, w, existing, k, allowed)
        exact = mclp(pairs, w, k, existing_covered=existing, allowed=allowed, method="exact")
        heur = mclp(pairs, w, k, existing_covered=existing, allowed=allowed)
        greedy = mclp(pairs, w, k, existing_covered=existing, allowed=allowed, method="greedy")
        assert exact.covered_weight == best and exact.status == "optimal"
        assert exact.mip_gap is not None and exact.mip_gap <= 1e-6
        assert heur.covered_weight >= 0.95 * best
        assert heur.covered_weight >= greedy.covered_weight == heur.greedy_weight
        assert allowed[heur.chosen].all() and allowed[exact.chosen].all()
        assert len(set(heur.chosen.tolist())) == k


@FAST
@given(seed=st.integers(0, 10_000), k=st.integers(1, 5))
def test_mclp_heuristic_never_worse_than_greedy(seed, k) -> None:
    pairs, w, existing = _instance(seed, n=150, c=25, radius=700.0)
    heur = mclp(pairs, w, k, existing_covered=existing)
    greedy = mclp(pairs, w, k, existing_covered=existing, method="greedy")
    assert heur.covered_weight >= greedy.covered_weight
    assert heur.status == "local_optimum"


def test_mclp_ranked_sites_add_up_to_the_recomputed_coverage() -> None:
    # acceptance: 5 new day-care sites, ranked; their added coverage equals a recomputation
    rng = np.random.default_rng(11)
    demand = rng.uniform(0, 6000, (800, 2)) + [X0, Y0]
    older = rng.integers(0, 40, 800).astype(float)
    existing_sites = rng.uniform(0, 6000, (3, 2)) + [X0, Y0]
    cand = rng.uniform(0, 6000, (60, 2)) + [X0, Y0]
    before = straight_coverage(demand, existing_sites, 700.0)
    res = mclp(straight_pairs(demand, cand, 700.0), older, 5, existing_covered=before.covered)
    after = straight_coverage(demand, np.vstack([existing_sites, cand[res.chosen]]), 700.0)
    assert res.chosen.shape == (5,)
    assert res.covered_weight == pytest.approx(older[after.covered].sum())
    assert res.existing_weight == pytest.approx(older[before.covered].sum())
    assert res.marginal_weight.sum() == pytest.approx(res.added_weight)
    assert (np.diff(res.marginal_weight) <= 1e-9).all()  # ranked: biggest addition first
    assert res.share == pytest.approx(res.covered_weight / older.sum())
    assert (res.exclusive_weight <= res.marginal_weight + 1e-9).all()
    assert res.engine_version == ENGINE_VERSION and res.runtime_s >= 0


def test_mclp_with_network_coverage_matrix(river_town: RoadGraph) -> None:
    demand = at((0, 300), (50, 300), (0, 400), (500, 0), (450, 0))
    cand = at((0, 200), (0, 350), (500, 50))
    pairs = network_pairs(river_town, demand, cand, 120.0)
    res = mclp(pairs, [10, 10, 10, 1, 1], 1)
    assert res.chosen.tolist() == [1] and res.covered_weight == 30.0  # (0, 200) is across the river


def test_mclp_bad_inputs() -> None:
    pairs, w, existing = _instance(0)
    for kwargs, code in (
        ({"k": 11}, "k_too_large"),
        ({"k": 0}, "parameter"),
        ({"k": 2, "allowed": np.zeros(10, bool)}, "empty"),
        ({"k": 9, "allowed": np.arange(10) < 5}, "k_too_large"),
        ({"k": 2, "method": "annealing"}, "parameter"),
        ({"k": 2, "existing_covered": np.zeros(3, bool)}, "length_mismatch"),
    ):
        with pytest.raises(CoverageInputError) as info:
            mclp(pairs, w, **kwargs)
        assert info.value.code == code
    with pytest.raises(CoverageInputError) as info:
        mclp(sp.csr_array((0, 5), dtype=bool), None, 1)
    assert info.value.code == "empty"


def _brute_lscp(a: np.ndarray, need: np.ndarray) -> int:
    for k in range(1, a.shape[0] + 1):
        for sites in itertools.combinations(range(a.shape[0]), k):
            if a[list(sites)].any(axis=0)[need].all():
                return k
    return 0


@pytest.mark.parametrize("seed", range(5))
def test_lscp_heuristic_and_exact(seed: int) -> None:
    pairs, w, existing = _instance(seed, n=80, c=9, radius=1200.0)
    a = coverage_matrix(pairs).toarray()
    coverable = a.any(axis=0)
    need = coverable & ~existing
    heur = lscp(pairs, weights=w, existing_covered=existing)
    exact = lscp(pairs, weights=w, existing_covered=existing, method="exact")
    assert exact.n_sites == _brute_lscp(a, need) and exact.status == "optimal"
    assert heur.n_sites >= exact.n_sites and heur.n_sites <= heur.greedy_n_sites
    for res in (heur, exact):
        assert a[res.chosen].any(axis=0)[need].all()
        assert res.uncoverable.tolist() == np.flatnonzero(~coverable & ~existing).tolist()
        assert res.uncoverable_weight == pytest.approx(w[res.uncoverable].sum())
        assert res.covered_weight + res.uncoverable_weight == pytest.approx(w.sum())
    # redundancy removal: every chosen site covers something no other chosen site does
    cnt = a[heur.chosen][:, need].sum(axis=0)
    for j in heur.chosen:
        assert (a[j][need] & (cnt == 1)).any()


def test_lscp_nothing_to_cover() -> None:
    pairs, w, _ = _instance(1, n=30, c=4)
    res = lscp(pairs, existing_covered=np.ones(30, bool))
    assert res.n_sites == 0 and res.uncoverable.size == 0


def test_snap_matches_shapely_nearest_distance() -> None:
    # curved multi-vertex roads and points near, between and far from them (all search paths)
    rng = np.random.default_rng(21)
    lines = []
    for _ in range(40):
        start = rng.uniform(0, 3000, 2)
        steps = rng.normal(0, 90, (rng.integers(2, 7), 2))
        lines.append(LineString(np.vstack([start, start + np.cumsum(steps, axis=0)]) + [X0, Y0]))
    graph = RoadGraph.from_lines(lines)
    pts = np.vstack([rng.uniform(-500, 3500, (400, 2)), rng.uniform(-3000, -2000, (5, 2))]) + [X0, Y0]
    snap = graph.snap(pts, max_snap_m=800.0)
    geoms = graph.edge_geometry
    want = np.array([min(g.distance(Point(p)) for g in geoms) for p in pts])
    ok = want <= 800.0
    assert np.array_equal(snap.ok, ok)
    assert np.allclose(snap.distance_m[ok], want[ok], atol=1e-6)
    # the offset locates the foot on its edge
    on = np.array(
        [geoms[e].interpolate(t).coords[0] for e, t in zip(snap.edge[ok], snap.offset_m[ok], strict=True)]
    )
    assert np.allclose(on, snap.xy[ok], atol=1e-6)
    assert np.isinf(snap.distance_m[~ok]).all() and (snap.edge[~ok] == -1).all()


def test_callers_arrays_stay_writable() -> None:
    demand, fac, radius, weights = at((0, 0), (10, 0)), at((0, 0)), np.array([5.0]), np.array([1.0, 2.0])
    straight_coverage(demand, fac, radius)
    CoverageIndex(demand, weights, fac, radius)
    DistancePairs(np.array([0]), np.array([0]), np.array([0.0]), 2, 1)
    for a in (demand, fac, radius, weights):
        a[0] = a[0]  # still writable

"""Partitioned coverage on Dask (geo_mz.coverage.partitioned) against the single-process engines.

Every comparison is bitwise: boolean and integer arrays with ``np.array_equal``, distances through
their ``uint64`` bit patterns.  The Dask runs use the threaded scheduler and a real
``distributed.LocalCluster`` with two worker processes (started once for the module).

Coordinates are EPSG:4547-like metres around (X0, Y0) = (500 000, 3 290 000); hand-made ties use
integer offsets so that distances such as 500 (from 300² + 400²) are exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import shapely

from geo_mz.coverage.engine import CoverageInputError, _distance, straight_coverage
from geo_mz.coverage.network import NO_ROUTE, UNSNAPPED, RoadGraph, network_coverage
from geo_mz.coverage.partitioned import partition_divisions, partitioned_coverage

X0, Y0 = 500_000.0, 3_290_000.0
N_LABELS = 12  # 4 × 3 blocks of 5 km


@pytest.fixture(scope="module")
def cluster_client() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(params=["threads", "distributed"])
def client(request: pytest.FixtureRequest) -> Any:
    return None if request.param == "threads" else request.getfixturevalue("cluster_client")


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)


def township(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A 12-digit township-like code per point, from 4 × 3 blocks of 5 km."""
    bx = np.clip(((x - X0) // 5000).astype(int), 0, 3)
    by = np.clip(((y - Y0) // 5000).astype(int), 0, 2)
    return np.array([f"421281{100 + b:03d}000" for b in bx * 3 + by], dtype=object)


def county(seed: int, n: int = 20_000, m: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Clustered and spread points over 20 km × 15 km, facilities with radii 200–1,500 m, plus
    points exactly at a radius and points equidistant from two or three facilities."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 1, (40, 2)) * [20_000, 15_000]
    near = centres[rng.integers(0, 40, n // 2)] + rng.normal(0, 250, (n // 2, 2))
    spread = rng.uniform(0, 1, (n - n // 2, 2)) * [20_000, 15_000]
    demand = np.clip(np.vstack([near, spread]), 0, [19_999, 14_999]) + [X0, Y0]
    fac = rng.uniform(0, 1, (m, 2)) * [20_000, 15_000] + [X0, Y0]
    radius = rng.uniform(200, 1500, m)
    # exact cases at integer positions: a facility with radius 500 and points at 500 m (covered) and
    # 501 m; two facilities 600 m apart with points on their bisector; a triple at one position
    extra_fac, extra_r, extra_pts = [], [], []
    for k, (cx, cy) in enumerate(rng.integers(1000, 14_000, (12, 2)).astype(float)):
        base = np.array([X0 + cx, Y0 + cy])
        extra_fac += [base, base + [600, 0], base + [0, 3000], base + [0, 3000], base + [0, 3000]]
        extra_r += [500.0, 500.0, 300.0 + k, 400.0, 350.0]
        extra_pts += [
            base + [300, 400],
            base + [-400, -300],
            base + [0, 501],
            base + [300, 0],  # 300 m from both: a tie
            base + [300, 400],
            base + [300, -400],  # 500 m from both
            base + [120, 3160],  # 200 m from the triple
        ]
    fac = np.vstack([fac, extra_fac])
    radius = np.concatenate([radius, extra_r])
    # shuffle the facility order so that ties do not always favour the last rows
    perm = rng.permutation(fac.shape[0])
    fac, radius = fac[perm], radius[perm]
    demand = np.vstack([demand, extra_pts])
    return demand, township(demand[:, 0], demand[:, 1]), fac, radius


def brute_nearest(demand: np.ndarray, fac: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest facility (ties: highest index), its distance, and the number of tied facilities."""
    d = _distance(demand[:, None, 0] - fac[None, :, 0], demand[:, None, 1] - fac[None, :, 1])
    dmin = d.min(axis=1)
    tied = d == dmin[:, None]
    idx = np.where(tied, np.arange(fac.shape[0]), -1).max(axis=1)
    return idx, dmin, tied.sum(axis=1)


def assert_same_straight(expected: Any, got: Any, demand: np.ndarray, fac: np.ndarray) -> None:
    """Flags, counts, nearest facility and nearest distance, bit for bit (exact ties: highest index,
    in the grid pass and the KD-tree pass alike), and the nearest facility is the brute-force one."""
    assert np.array_equal(expected.covered, got.covered)
    assert np.array_equal(expected.n_reaching, got.n_reaching)
    assert got.n_reaching.dtype == expected.n_reaching.dtype
    assert np.array_equal(bits(expected.nearest_distance_m), bits(got.nearest_distance_m))
    assert np.array_equal(expected.nearest_facility, got.nearest_facility)
    if fac.shape[0]:
        idx, _, _ = brute_nearest(demand, fac)
        assert np.array_equal(got.nearest_facility, idx)
    else:
        assert (got.nearest_facility == -1).all()


# --------------------------------------------------------------------------- straight lines


@pytest.mark.parametrize("seed", [1, 2])
def test_four_partitions_give_bit_identical_straight_coverage(seed: int, client: Any) -> None:
    # given seeded points in 12 townships, facilities with varied radii, exact radius hits and ties
    demand, labels, fac, radius = county(seed)
    single = straight_coverage(demand, fac, radius)
    # when the same analysis runs on Dask in 4 partitions
    part = partitioned_coverage(demand, labels, fac, radius, npartitions=4, client=client)
    # then every flag, count, nearest facility and distance is bit for bit the same
    assert part.npartitions == 4
    assert_same_straight(single, part, demand, fac)
    assert part.scheduler == ("threads" if client is None else client.scheduler.address)
    # and the hand-made points exactly at a radius (500 m) or 200 m from a triple are covered
    assert single.covered[-84:].reshape(12, 7)[:, [0, 1, 4, 5, 6]].all()
    assert part.covered.sum() > 0.3 * demand.shape[0] and not part.covered.all()


def test_each_task_receives_only_the_facilities_it_can_need() -> None:
    demand, labels, fac, radius = county(3)
    part = partitioned_coverage(demand, labels, fac, radius, npartitions=4)
    assert (part.partition_facilities < fac.shape[0]).all()
    assert part.partition_halo.tolist() == [0, 0, 0, 0]


def test_nearest_ties_go_to_the_highest_facility_index() -> None:
    # given a point 300 m from two facilities and 200 m from three facilities at one position
    fac = np.array([[X0, Y0], [X0 + 600, Y0], [X0, Y0 + 3000], [X0, Y0 + 3000], [X0, Y0 + 3000]])
    demand = np.array([[X0 + 300, Y0], [X0 + 120, Y0 + 3160], [X0 + 10, Y0 + 10]])
    labels = ["a", "b", "c"]
    # when computed per partition (each point alone in its partition)
    part = partitioned_coverage(demand, labels, fac, 250.0, npartitions=3)
    single = straight_coverage(demand, fac, 250.0)
    # then the highest index wins each tie, as in the engine
    assert part.nearest_facility.tolist() == [1, 4, 0]
    assert_same_straight(single, part, demand, fac)


def test_far_ties_follow_the_index_rule_and_differ_from_the_engine_only_in_ties() -> None:
    # given facilities in triplets at identical positions, far apart, and points mostly farther from
    # any facility than the typical spacing (the engine answers those from its KD-tree)
    rng = np.random.default_rng(7)
    fac = np.repeat(rng.uniform(0, 50_000, (40, 2)) + [X0, Y0], 3, axis=0)
    demand = rng.uniform(0, 50_000, (4000, 2)) + [X0, Y0]
    labels = ((demand[:, 0] - X0) // 12_500).astype(int) * 4 + ((demand[:, 1] - Y0) // 12_500).astype(int)
    # when partitioned
    part = partitioned_coverage(demand, labels, fac, 500.0, npartitions=4)
    single = straight_coverage(demand, fac, 500.0)
    # then the partitioned nearest is the brute-force one (ties: highest index), and everything else
    # is the engine's bit for bit (the engine's index differs only at these exact ties)
    idx, dmin, _ = brute_nearest(demand, fac)
    assert np.array_equal(part.nearest_facility, idx)
    assert np.array_equal(bits(part.nearest_distance_m), bits(dmin))
    assert_same_straight(single, part, demand, fac)


# --------------------------------------------------------------------------- edge cases


def test_one_label_and_more_partitions_than_labels(client: Any) -> None:
    demand, labels, fac, radius = county(4, n=4000, m=120)
    single = straight_coverage(demand, fac, radius)
    one = partitioned_coverage(
        demand, np.zeros(demand.shape[0], int), fac, radius, npartitions=4, client=client
    )
    assert one.npartitions == 1
    assert_same_straight(single, one, demand, fac)
    many = partitioned_coverage(demand, labels, fac, radius, npartitions=50, client=client)
    assert many.npartitions == N_LABELS
    assert_same_straight(single, many, demand, fac)


def test_without_facilities_nothing_is_covered(client: Any) -> None:
    demand, labels, _, _ = county(5, n=2000)
    part = partitioned_coverage(demand, labels, np.empty((0, 2)), 1000.0, npartitions=4, client=client)
    assert_same_straight(straight_coverage(demand, np.empty((0, 2)), 1000.0), part, demand, np.empty((0, 2)))
    assert not part.covered.any() and (part.nearest_facility == -1).all()
    assert np.isinf(part.nearest_distance_m).all()


def test_a_township_far_from_every_facility() -> None:
    # given one township 60 km east of the others, out of reach of every facility
    demand, labels, fac, radius = county(6, n=4000, m=100)
    rng = np.random.default_rng(6)
    far = rng.uniform(0, 3000, (500, 2)) + [X0 + 60_000, Y0]
    demand = np.vstack([demand, far])
    labels = np.concatenate([labels, np.full(500, "421281999000", dtype=object)])
    part = partitioned_coverage(demand, labels, fac, radius, npartitions=4)
    single = straight_coverage(demand, fac, radius)
    assert_same_straight(single, part, demand, fac)
    assert not part.covered[-500:].any() and (part.nearest_distance_m[-500:] > 30_000).all()


def test_empty_demand() -> None:
    part = partitioned_coverage(np.empty((0, 2)), [], [[X0, Y0]], 500.0)
    assert part.covered.shape == (0,) and part.npartitions == 0


@pytest.mark.parametrize(
    ("kwargs", "code", "words"),
    [
        ({"labels": ["a", "b"]}, "length_mismatch", "labels has length 2, expected 3"),
        ({"labels": [["a"], ["b"], ["c"]]}, "length_mismatch", "labels has length shape"),
        ({"npartitions": 0}, "parameter", "npartitions must be a positive integer"),
        ({"npartitions": 2.5}, "parameter", "npartitions"),
        ({"radius_m": [100.0, 200.0]}, "length_mismatch", "radius_m has length 2"),
        ({"mode": "crow"}, "parameter", "mode must be straight or network"),
        ({"mode": "network"}, "parameter", "network mode needs graph"),
    ],
)
def test_bad_input_raises_a_clear_bilingual_value_error(
    kwargs: dict[str, Any], code: str, words: str
) -> None:
    args: dict[str, Any] = {
        "demand_xy": [[X0, Y0], [X0 + 10, Y0], [X0 + 20, Y0]],
        "labels": ["a", "a", "b"],
        "facility_xy": [[X0, Y0]],
        "radius_m": 100.0,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=words) as info:
        partitioned_coverage(**args)
    assert isinstance(info.value, CoverageInputError) and info.value.code == code
    assert info.value.message_zh


# --------------------------------------------------------------------------- partitioning


def test_partitions_are_whole_balanced_and_deterministic() -> None:
    demand, labels, _, _ = county(8)
    parts = partition_divisions(labels, demand, 4)
    # no division is split: every label's points are in one partition
    for lab in np.unique(labels):
        assert np.unique(parts.point_partition[labels == lab]).shape[0] == 1
    assert sorted(sum(parts.groups(), [])) == sorted(set(labels.tolist()))
    assert parts.n_points.sum() == demand.shape[0] and parts.n_points.min() > 0
    assert parts.n_points.max() / parts.n_points.min() < 2.5
    again = partition_divisions(labels, demand, 4)
    assert np.array_equal(parts.point_partition, again.point_partition)


# --------------------------------------------------------------------------- road network


def jittered_grid(seed: int, size: int = 40, step: float = 100.0) -> tuple[RoadGraph, np.ndarray]:
    """A size × size street grid with jittered nodes and a bent middle vertex on every edge (so the
    lengths are not round numbers), plus a separate 3 × 3 grid 2 km to the east (an island)."""
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(size), np.arange(size))
    nodes = np.stack([gx.ravel() * step, gy.ravel() * step], axis=1) + rng.uniform(-20, 20, (size * size, 2))
    idx = np.arange(size * size).reshape(size, size)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    mid = (nodes[u] + nodes[v]) / 2 + rng.uniform(-8, 8, (u.shape[0], 2))
    coords = np.stack([nodes[u], mid, nodes[v]], axis=1).reshape(-1, 2) + [X0, Y0]
    lines = list(shapely.linestrings(coords, indices=np.repeat(np.arange(u.shape[0]), 3)))
    ox = X0 + size * step + 2000
    for k in range(3):
        lines.append(shapely.LineString([(ox, Y0 + k * 100), (ox + 200, Y0 + k * 100)]))
        lines.append(shapely.LineString([(ox + k * 100, Y0), (ox + k * 100, Y0 + 200)]))
    extent = np.array([size * step, size * step])
    return RoadGraph.from_lines(lines), extent


def network_case(seed: int) -> tuple[RoadGraph, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    graph, extent = jittered_grid(seed)
    rng = np.random.default_rng(seed + 100)
    demand = rng.uniform(0, 1, (6000, 2)) * (extent + 700) - 350
    demand = np.vstack([demand, [[extent[0] + 2100, 50], [extent[0] + 2150, 150]]]) + [X0, Y0]
    fac = rng.uniform(0, 1, (60, 2)) * extent + [X0, Y0]
    cutoff = rng.uniform(250, 900, 60)
    labels = (
        np.clip(((demand[:, 0] - X0) // 1100).astype(int), 0, 3) * 3
        + np.clip(((demand[:, 1] - Y0) // 1400).astype(int), 0, 2)
    ).astype(np.int64) + 421281_100_000
    return graph, demand, labels, fac, cutoff


def test_network_partitions_give_identical_flags_counts_and_status(client: Any) -> None:
    # given a jittered street grid, an island without facilities, points off the roads
    graph, demand, labels, fac, cutoff = network_case(11)
    single = network_coverage(graph, demand, fac, cutoff)
    # when partitioned on Dask
    part = partitioned_coverage(
        demand, labels, fac, cutoff, npartitions=4, client=client, mode="network", graph=graph
    )
    # then flags, counts and status are identical
    assert part.npartitions == 4
    assert np.array_equal(single.covered, part.covered)
    assert np.array_equal(single.n_reaching, part.n_reaching)
    assert np.array_equal(single.status, part.status)
    assert np.array_equal(single.facility_snapped, part.facility_snapped)
    assert (part.status == UNSNAPPED).any() and (part.status == NO_ROUTE).any()
    assert part.covered.any() and not part.covered.all()
    assert part.nearest_facility is None and part.nearest_distance_m is None
    # and the halo carried the points of other partitions that can split the same roads
    assert (part.partition_halo > 0).all()


def test_network_partitions_without_counting_snap_walks() -> None:
    graph, demand, labels, fac, cutoff = network_case(12)
    single = network_coverage(graph, demand, fac, cutoff, count_snap=False, max_snap_m=120.0)
    part = partitioned_coverage(
        demand,
        labels,
        fac,
        cutoff,
        npartitions=4,
        mode="network",
        graph=graph,
        count_snap=False,
        max_snap_m=120.0,
    )
    assert np.array_equal(single.covered, part.covered)
    assert np.array_equal(single.n_reaching, part.n_reaching)
    assert np.array_equal(single.status, part.status)

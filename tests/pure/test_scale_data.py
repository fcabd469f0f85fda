"""The scale data set generator (gis_data/scale.py): exact counts, reproducibility, valid layout."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import box

from gis_data import scale

COUNTY = shapely.Polygon([(0, 0), (6000, 0), (6000, 4000), (3000, 5000), (0, 4000)])
TOWNS = [
    scale.Township("421281001", box(0, 0, 3000, 5000).intersection(COUNTY)),
    scale.Township("421281002", box(3000, 0, 6000, 5000).intersection(COUNTY)),
]


def _gen(seed: int = 1, **kw):
    counts = {"n_addresses": 5003, "n_names": 900, "n_facilities": 37, "n_edges": 801} | kw
    return scale.scale_generate(COUNTY, TOWNS, ["ylzx", "gm"], seed=seed, **counts)


def test_given_counts_when_generated_then_exactly_those_counts():
    data = _gen()
    assert data.edge_xy.shape == (801, 4)
    assert data.address_xy.shape == (5003, 2)
    assert len(data.road_names) + len(data.village_names) == 900
    assert data.facility_xy.shape == (37, 2)
    assert len(set(data.road_names) | set(data.village_names)) == 900  # all names unique


def test_given_same_seed_then_identical_and_other_seed_differs():
    assert _gen(7).digest() == _gen(7).digest()
    assert _gen(7).digest() != _gen(8).digest()


def test_edges_and_points_lie_in_the_county():
    data = _gen()
    for xs, ys in ((data.edge_xy[:, 0], data.edge_xy[:, 1]), (data.edge_xy[:, 2], data.edge_xy[:, 3])):
        assert shapely.contains_xy(COUNTY, xs, ys).all()
    assert shapely.contains_xy(COUNTY, data.facility_xy[:, 0], data.facility_xy[:, 1]).all()
    assert shapely.contains_xy(COUNTY, data.village_xy[:, 0], data.village_xy[:, 1]).all()


def test_roads_are_runs_of_connected_edges_of_at_most_four():
    data = _gen()
    roads, counts = np.unique(data.edge_road, return_counts=True)
    assert counts.max() <= scale.EDGES_PER_ROAD
    assert (np.diff(data.edge_road) >= 0).all() and roads[-1] == len(data.road_names) - 1
    same = data.edge_road[1:] == data.edge_road[:-1]
    # consecutive edges of one road touch: end of one is the start of the next
    gap = np.hypot(data.edge_xy[1:, 0] - data.edge_xy[:-1, 2], data.edge_xy[1:, 1] - data.edge_xy[:-1, 3])
    assert np.allclose(gap[same], 0)


def test_house_numbers_odd_left_even_right_unique_and_increasing_along_the_road():
    data = _gen()
    left = data.address_side < 0
    assert (data.address_number[left] % 2 == 1).all() and (data.address_number[~left] % 2 == 0).all()
    keys = set(zip(data.address_road.tolist(), data.address_number.tolist(), strict=True))
    assert len(keys) == data.address_xy.shape[0]
    for road in range(5):
        for side in (-1, 1):
            sel = (data.address_road == road) & (data.address_side == side)
            order = np.argsort(data.address_chainage[sel])
            assert (np.diff(data.address_number[sel][order]) == 2).all()


def test_entrances_are_eight_metres_off_their_road_on_the_stated_side():
    data = _gen()
    e = data.edge_xy
    lines = shapely.linestrings(np.stack([e[:, :2], e[:, 2:]], axis=1))
    roads = [shapely.line_merge(shapely.union_all(lines[data.edge_road == r])) for r in range(20)]
    for i in np.flatnonzero(data.address_road < 20)[:200]:
        line = roads[data.address_road[i]]
        d = line.distance(shapely.Point(data.address_xy[i]))
        assert d == pytest.approx(scale.ENTRANCE_OFFSET_M, abs=1e-6)


def test_township_assignment_uses_the_containing_polygon():
    data = _gen()
    mid = (data.road_xy[:, :2] + data.road_xy[:, 2:]) / 2
    assert ((mid[:, 0] < 3000) == (data.road_township == 0)).all()


def test_bad_counts_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="positive"):
        _gen(n_edges=0)
    with pytest.raises(ValueError, match="names"):
        _gen(n_names=10)

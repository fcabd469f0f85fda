"""The incremental what-if demand index (geo_mz/coverage/demand_index.py), without a database.

Given villages and address rows, when addresses are added, moved and retired and the index is
updated in place, then every what-if answer equals, bit for bit, the one of an index built fresh
from the final rows, and both agree with a brute-force computation of the demand model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo_mz.coverage import demand_index as di

X0, Y0 = 480_000.0, 3_270_000.0


def _villages(rng: np.random.Generator, n: int = 12) -> di.Villages:
    xy = rng.uniform(0, 8_000, (n, 2)) + [X0, Y0]
    return di.Villages(
        codes=tuple(f"4212810{i:05d}" for i in range(n)),
        township=tuple("421281001" if i % 2 else "421281002" for i in range(n)),
        xy=xy,
        population={
            "all": rng.integers(0, 3_000, n).astype(float),
            "older": rng.integers(0, 600, n).astype(float),
        },
    )


def _rows(rng: np.random.Generator, villages: di.Villages, n: int):
    """Address rows (x, y, division code, level): village and township addresses, some stacked."""
    xy = rng.uniform(0, 8_000, (n, 2)) + [X0, Y0]
    xy[: n // 10] = xy[n // 10 : 2 * (n // 10)]  # rooms sharing an entrance
    xy[: n // 20, 0] += 0.001  # a millimetre apart: the same demand point
    level = np.where(rng.random(n) < 0.3, "township", "village").astype(object)
    code = np.array([villages.codes[i] for i in rng.integers(0, len(villages), n)], dtype=object)
    code[level == "township"] = np.where(
        rng.random(int((level == "township").sum())) < 0.5, "421281001", "421281002"
    )
    code[rng.random(n) < 0.02] = "421281999999"  # a division outside the villages: not demand
    return xy, code, level


def _fresh(villages, xy, code, level) -> di.DemandIndex:
    return di.DemandIndex(villages, di.location_keys(xy), villages.assign(xy, code, level), cell_m=700.0)


def _apply(index: di.DemandIndex, villages, rows_before, rows_after) -> None:
    """What coverage.whatif does with the change feed: re-read the rows at every touched key."""
    touched = np.unique(np.concatenate([di.location_keys(rows_before[0]), di.location_keys(rows_after[0])]))
    xy, code, level = rows_after
    keys = di.location_keys(xy)
    here = np.isin(keys, touched)
    index.set_points(
        touched, di.key_states(touched, keys[here], villages.assign(xy[here], code[here], level[here]))
    )


def _answers(index: di.DemandIndex, sites: np.ndarray, group: str = "all"):
    return [index.what_if("day_care", group, x, y, r) for x, y, r in sites.tolist()]


def _brute_force(villages, xy, code, level, fac_xy, fac_r, site):
    """The demand model written out the slow way (services._build_demand's rules)."""
    v = villages.assign(xy, code, level)
    keys = di.location_keys(xy)
    points: dict[int, int] = {}
    for k, vi in zip(keys.tolist(), v.tolist(), strict=True):
        if vi >= 0:
            points[k] = min(vi, points.get(k, vi))
    pxy = di.key_xy(np.array(sorted(points), dtype=np.int64))
    pv = np.array([points[k] for k in sorted(points)], dtype=np.int64)
    n = np.bincount(pv, minlength=len(villages))
    pop = villages.population["all"]
    dxy = np.vstack([pxy, villages.xy[n == 0]])
    dv = np.concatenate([pv, np.flatnonzero(n == 0)])
    w = pop[dv] / np.maximum(n[dv], 1)
    reached = np.zeros(dxy.shape[0], int)
    for (fx, fy), r in zip(fac_xy, fac_r, strict=True):
        reached += np.hypot(dxy[:, 0] - fx, dxy[:, 1] - fy) <= r
    new = np.hypot(dxy[:, 0] - site[0], dxy[:, 1] - site[1]) <= site[2]
    return float(w[(reached == 0) & new].sum()), float(w[reached > 0].sum()), float(w.sum())


def _scenario(seed: int):
    rng = np.random.default_rng(seed)
    villages = _villages(rng)
    rows = _rows(rng, villages, 3_000)
    fac_xy = rng.uniform(0, 8_000, (15, 2)) + [X0, Y0]
    fac_r = rng.uniform(300, 1_500, 15)
    sites = np.column_stack([rng.uniform(0, 8_000, (40, 2)) + [X0, Y0], rng.uniform(100, 3_000, 40)])
    return rng, villages, rows, fac_xy, fac_r, sites


def _edit(rng, rows, n_add=200, n_move=150, n_retire=300, villages=None):
    """Add new addresses, move some, retire others (removed from the active rows)."""
    xy, code, level = (a.copy() for a in rows)
    move = rng.choice(xy.shape[0], n_move, replace=False)
    xy[move] += rng.normal(0, 200, (n_move, 2))
    keep = np.ones(xy.shape[0], bool)
    keep[rng.choice(xy.shape[0], n_retire, replace=False)] = False
    add_xy = rng.uniform(0, 8_000, (n_add, 2)) + [X0, Y0]
    add_xy[:20] = xy[:20]  # new rooms at existing entrances
    add_code = np.array([villages.codes[i] for i in rng.integers(0, len(villages), n_add)], dtype=object)
    add_level = np.array(["village"] * n_add, dtype=object)
    return (
        np.vstack([xy[keep], add_xy]),
        np.concatenate([code[keep], add_code]),
        np.concatenate([level[keep], add_level]),
    )


def test_given_edits_when_applied_in_place_then_answers_equal_a_fresh_build_bit_for_bit():
    rng, villages, rows, fac_xy, fac_r, sites = _scenario(1)
    index = _fresh(villages, *rows)
    index.add_layer("day_care", fac_xy, fac_r)
    after = rows
    for _ in range(3):  # several rounds, each re-reading the touched keys
        before, after = after, _edit(rng, after, villages=villages)
        _apply(index, villages, before, after)
    fresh = _fresh(villages, *after)
    fresh.add_layer("day_care", fac_xy, fac_r)
    assert np.array_equal(index.keys(), fresh.keys())
    assert np.array_equal(index.n_points, fresh.n_points)
    for group in ("all", "older"):
        for a, b in zip(_answers(index, sites, group), _answers(fresh, sites, group), strict=True):
            assert (a.added_weight, a.covered_weight_before, a.total_weight, a.newly_covered_points) == (
                b.added_weight,
                b.covered_weight_before,
                b.total_weight,
                b.newly_covered_points,
            )


def test_given_rows_then_answers_match_the_brute_force_demand_model():
    _, villages, rows, fac_xy, fac_r, sites = _scenario(2)
    index = _fresh(villages, *rows)
    index.add_layer("day_care", fac_xy, fac_r)
    for site, answer in zip(sites.tolist(), _answers(index, sites), strict=True):
        added, before, total = _brute_force(villages, *rows, fac_xy, fac_r, site)
        assert answer.added_weight == pytest.approx(added, rel=1e-9, abs=1e-6)
        assert answer.covered_weight_before == pytest.approx(before, rel=1e-9)
        assert answer.total_weight == pytest.approx(total, rel=1e-9)


def test_reapplying_a_change_changes_nothing_and_retiring_everything_leaves_village_points():
    _, villages, rows, fac_xy, fac_r, sites = _scenario(3)
    index = _fresh(villages, *rows)
    index.add_layer("day_care", fac_xy, fac_r)
    empty = (rows[0][:0], rows[1][:0], rows[2][:0])
    _apply(index, villages, rows, empty)
    assert index.size == 0
    assert index.set_points(di.location_keys(rows[0]), np.full(rows[0].shape[0], -1)) == 0  # idempotent
    only_villages = _fresh(villages, *empty)
    only_villages.add_layer("day_care", fac_xy, fac_r)
    for a, b in zip(_answers(index, sites), _answers(only_villages, sites), strict=True):
        assert a.added_weight == b.added_weight and a.covered_weight_before == b.covered_weight_before
    assert _answers(index, sites)[0].total_weight == villages.population["all"].sum()


def test_many_appended_points_are_folded_into_the_grid(monkeypatch):
    monkeypatch.setattr(di, "REGRID_AFTER", 50)
    rng, villages, rows, fac_xy, fac_r, sites = _scenario(4)
    index = _fresh(villages, *rows)
    index.add_layer("day_care", fac_xy, fac_r)
    after = _edit(rng, rows, n_add=400, n_move=0, n_retire=0, villages=villages)
    _apply(index, villages, rows, after)
    assert index._n_grid == index._n  # regridded: no brute-force tail left
    fresh = _fresh(villages, *after)
    fresh.add_layer("day_care", fac_xy, fac_r)
    assert [a.added_weight for a in _answers(index, sites)] == [
        b.added_weight for b in _answers(fresh, sites)
    ]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), radius=st.floats(50, 5_000))
def test_property_incremental_equals_fresh(seed, radius):
    rng = np.random.default_rng(seed)
    villages = _villages(rng, 5)
    rows = _rows(rng, villages, 300)
    after = _edit(rng, rows, n_add=30, n_move=20, n_retire=40, villages=villages)
    fac_xy = rng.uniform(0, 8_000, (4, 2)) + [X0, Y0]
    index = _fresh(villages, *rows)
    index.add_layer("l", fac_xy, radius)
    _apply(index, villages, rows, after)
    fresh = _fresh(villages, *after)
    fresh.add_layer("l", fac_xy, radius)
    for x, y in (rng.uniform(0, 8_000, (10, 2)) + [X0, Y0]).tolist():
        a, b = index.what_if("l", "all", x, y, radius), fresh.what_if("l", "all", x, y, radius)
        assert (a.added_weight, a.covered_weight_before, a.newly_covered_points) == (
            b.added_weight,
            b.covered_weight_before,
            b.newly_covered_points,
        )


def test_negative_coordinates_are_refused():
    with pytest.raises(ValueError):
        di.location_keys([[-1.0, 5.0]])

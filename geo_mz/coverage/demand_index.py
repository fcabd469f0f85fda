"""Incremental demand index for the coverage what-if ("what if I put one here").

Pure module: numpy only, no Django (DESIGN §1).  :mod:`geo_mz.coverage.whatif` feeds it from the
database and keeps it current from the address change feed.

**Demand model** (the same rules as ``coverage.services.demand_points``):

* every *village-level unit* (村/社区) with a representative point holds its population (all
  residents, people aged 60+, households);
* the demand points are the distinct entrance locations of the active addresses, each belonging to
  a village: an address on a village division belongs to it, an address on a township division to
  the nearest village point of that township (ties: the lower village index); other addresses are
  not demand;
* a village's population is spread evenly over its demand points; a village without any sits at
  its representative point.

**Locations** are keyed to the centimetre: ``kx = round(x·100)``, ``ky = round(y·100)`` (numpy's
round-half-to-even).  A demand point lies *at* its key (``kx/100, ky/100``), so addresses less than
a centimetre apart are one point (rooms share their entrance).  Several villages at one key (two
divisions claiming the same entrance): the lowest village index wins, whatever the history.

**CRS and units.**  One projected CRS in metres (x east, y north), e.g. EPSG:4547, with
non-negative coordinates (Gauss-Krüger with its false easting); radii are metres.  A point is
reached by a facility when ``hypot(px - fx, py - fy) <= r`` in float64.

**Incremental.**  :meth:`DemandIndex.set_points` sets the state of some keys (a village, or none),
idempotently: re-applying a change that was already applied changes nothing, so the feed may be
read with overlap.  Removed points keep their slot (dead, reusable); new keys are appended and
checked by brute force until :meth:`DemandIndex.regrid` folds them into the grid.  Every figure a
what-if reports is computed from integer state per village (points, covered points, newly covered
points) and summed in village order, so an index that went through any sequence of changes gives
**bit-for-bit** the same answer as one built fresh from the final addresses.

**Cost.**  Build O(n log n) (one sort of the grid cells); a what-if looks at the grid cells its
disk touches plus the appended points, O(points in the disk + appended + villages); a facility
layer costs one disk query per facility.  Memory ≈ 33 bytes per point (the key is the location) plus 4 per point and facility layer: about
37 MB for a million entrances with one layer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "KEY_SCALE",
    "DemandIndex",
    "FacilityLayer",
    "Villages",
    "WhatIfAnswer",
    "key_states",
    "key_xy",
    "location_keys",
    "points_from_contributors",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Keys per metre: locations are keyed to the centimetre.
KEY_SCALE: Final = 100.0
_SHIFT: Final = 32
_MASK: Final = (1 << _SHIFT) - 1
#: Appended points above this are folded into the grid on the next :meth:`DemandIndex.regrid`.
REGRID_AFTER: Final = 50_000


def location_keys(xy: ArrayLike) -> IntArray:
    """One int64 key per point: ``round(x·100) << 32 | round(y·100)`` (x < 21,474 km, 0 ≤ y < 42,949 km)."""
    a = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    k = np.round(a * KEY_SCALE)
    if k.size and (k.min() < 0 or k[:, 1].max() > _MASK or k[:, 0].max() >= 2**31):
        raise ValueError("coordinates must be non-negative projected metres (Gauss-Krüger)")
    kx = k[:, 0].astype(np.int64)
    ky = k[:, 1].astype(np.int64)
    return (kx << _SHIFT) | ky


def key_xy(keys: ArrayLike) -> FloatArray:
    """The location (metres) a key stands for."""
    k = np.asarray(keys, dtype=np.int64)
    return np.column_stack([(k >> _SHIFT) / KEY_SCALE, (k & _MASK) / KEY_SCALE]).reshape(-1, 2)


def points_from_contributors(keys: ArrayLike, village: ArrayLike) -> tuple[IntArray, IntArray]:
    """Distinct keys with a village (``village >= 0``), each with the lowest village among its rows.

    Returns ``(keys, village)`` sorted by key."""
    k = np.asarray(keys, dtype=np.int64)
    v = np.asarray(village, dtype=np.int64)
    ok = v >= 0
    k, v = k[ok], v[ok]
    order = np.lexsort((v, k))
    k, v = k[order], v[order]
    first = np.ones(k.shape[0], dtype=bool)
    first[1:] = k[1:] != k[:-1]
    return k[first], v[first]


def key_states(changed: ArrayLike, keys: ArrayLike, village: ArrayLike) -> IntArray:
    """The village each ``changed`` key should now have, from the current rows at those keys
    (``keys``/``village``, as for :func:`points_from_contributors`); -1 where none is left."""
    ch = np.asarray(changed, dtype=np.int64).reshape(-1)
    k, v = points_from_contributors(keys, village)
    i = np.clip(np.searchsorted(k, ch), 0, max(k.shape[0] - 1, 0))
    found = (k.shape[0] > 0) & (k[i] == ch) if k.shape[0] else np.zeros(ch.shape[0], bool)
    return np.where(found, v[i] if k.shape[0] else -1, -1).astype(np.int64)


@dataclass(frozen=True, eq=False)
class Villages:
    """Village-level units: representative points (metres), township of each, population per group.

    ``codes[i]`` is the division code of village ``i``; ``township[i]`` the code of its township.
    ``population`` maps a demand group (``all``, ``older``, ``households``) to one value per village.
    """

    codes: tuple[str, ...]
    township: tuple[str, ...]
    xy: FloatArray
    population: Mapping[str, FloatArray]
    _by_code: dict[str, int] = field(init=False, repr=False)
    _by_township: dict[str, IntArray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_code", {c: i for i, c in enumerate(self.codes)})
        groups: dict[str, list[int]] = {}
        for i, t in enumerate(self.township):
            groups.setdefault(t, []).append(i)
        object.__setattr__(self, "_by_township", {t: np.array(ix, np.int64) for t, ix in groups.items()})

    def __len__(self) -> int:
        return len(self.codes)

    def assign(self, xy: ArrayLike, division_codes: ArrayLike, levels: ArrayLike) -> IntArray:
        """The village of each address (-1: not demand), by the rules in the module docstring."""
        a = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        codes = np.asarray(division_codes, dtype=object)
        lv = np.asarray(levels, dtype=object)
        out = np.full(a.shape[0], -1, dtype=np.int64)
        if not a.shape[0]:
            return out
        uniq, inverse = np.unique(codes.astype(str), return_inverse=True)
        inverse = inverse.reshape(-1)
        village_of_code = np.array([self._by_code.get(c, -1) for c in uniq], dtype=np.int64)
        is_village = lv == "village"
        out[is_village] = village_of_code[inverse[is_village]]
        is_township = lv == "township"
        for u in np.unique(inverse[is_township]):
            candidates = self._by_township.get(str(uniq[u]))
            if candidates is None:
                continue
            rows = np.flatnonzero(is_township & (inverse == u))
            for chunk in np.array_split(rows, max(1, rows.size // 100_000 + 1)):
                d2 = (a[chunk, None, 0] - self.xy[None, candidates, 0]) ** 2 + (
                    a[chunk, None, 1] - self.xy[None, candidates, 1]
                ) ** 2
                out[chunk] = candidates[np.argmin(d2, axis=1)]
        return out


@dataclass(frozen=True, eq=False)
class WhatIfAnswer:
    """Coverage change from one added site; weights in the group's units (people, households)."""

    added_weight: float
    covered_weight_before: float
    total_weight: float
    newly_covered_points: int
    runtime_s: float

    @property
    def covered_weight_after(self) -> float:
        return self.covered_weight_before + self.added_weight

    @property
    def share_after(self) -> float:
        return self.covered_weight_after / self.total_weight if self.total_weight else float("nan")


@dataclass(eq=False)
class FacilityLayer:
    """Existing facilities of one analysis (a type, a radius rule) counted at every slot.

    ``counts[slot]``: facilities reaching the slot's location (kept for dead slots too, so a revived
    key needs no recount); ``village_counts``: the same for village representative points;
    ``covered[v]``: live demand points of village ``v`` reached by at least one facility."""

    xy: FloatArray
    radius_m: FloatArray
    counts: NDArray[np.int32]
    village_counts: NDArray[np.int32]
    covered: IntArray


class DemandIndex:
    """Demand points on a uniform grid, with facility layers, updated in place (see module docstring).

    Not thread-safe: the caller serialises :meth:`set_points`, :meth:`add_layer` and
    :meth:`what_if` (``coverage.whatif`` holds a lock).
    """

    def __init__(
        self, villages: Villages, keys: ArrayLike, village: ArrayLike, cell_m: float = 1000.0
    ) -> None:
        k, v = points_from_contributors(keys, village)
        self.villages = villages
        self.cell_m = float(cell_m)
        n = k.shape[0]
        self._keys = k.copy()
        self._village = v.astype(np.int32)  # the location is the key: no coordinates stored
        self._alive = np.ones(n, dtype=bool)
        self._n = n
        self._slot_of_extra: dict[int, int] = {}
        self.n_points = np.bincount(v, minlength=len(villages)).astype(np.int64)
        self.layers: dict[object, FacilityLayer] = {}
        self._village_xy = np.asarray(villages.xy, dtype=np.float64).reshape(-1, 2)
        self.regrid()

    # ------------------------------------------------------------------ state

    @property
    def size(self) -> int:
        """Live demand points (address locations, not counting village representative points)."""
        return int(self.n_points.sum())

    def keys(self) -> IntArray:
        """Keys of the live points, sorted."""
        return np.sort(self._keys[: self._n][self._alive[: self._n]])

    @property
    def appended(self) -> int:
        """Slots outside the grid (checked by brute force on every query)."""
        return self._n - self._n_grid

    def regrid(self) -> None:
        """Rebuild the grid over every slot (O(n log n)); appended slots are then in the grid."""
        xy = key_xy(self._keys[: self._n])
        self._x0 = float(xy[:, 0].min()) if self._n else 0.0
        self._y0 = float(xy[:, 1].min()) if self._n else 0.0
        nx = int((xy[:, 0].max() - self._x0) // self.cell_m) + 1 if self._n else 1
        ny = int((xy[:, 1].max() - self._y0) // self.cell_m) + 1 if self._n else 1
        self._nx, self._ny = nx, ny
        cell = self._cell_of(xy)
        self._order = np.argsort(cell, kind="stable").astype(np.int32)
        self._cells = cell[self._order].astype(np.int32 if nx * ny < 2**31 else np.int64)
        self._n_grid = self._n
        self._sorted_keys_order = np.argsort(self._keys[: self._n], kind="stable").astype(np.int32)
        self._sorted_keys = self._keys[: self._n][self._sorted_keys_order]
        self._slot_of_extra = {}

    def _cell_of(self, xy: FloatArray) -> IntArray:
        cx = ((xy[:, 0] - self._x0) // self.cell_m).astype(np.int64)
        cy = ((xy[:, 1] - self._y0) // self.cell_m).astype(np.int64)
        return cy * self._nx + cx

    def _slot(self, key: int) -> int:
        i = int(np.searchsorted(self._sorted_keys, key))
        if i < self._sorted_keys.shape[0] and self._sorted_keys[i] == key:
            return int(self._sorted_keys_order[i])
        return self._slot_of_extra.get(key, -1)

    def _grow(self, need: int) -> None:
        if need <= self._keys.shape[0]:
            return
        cap = max(need, int(self._keys.shape[0] * 1.25) + 1024)
        self._keys = np.resize(self._keys, cap)
        self._village = np.resize(self._village, cap)
        self._alive = np.resize(self._alive, cap)
        self._alive[self._n :] = False
        for layer in self.layers.values():
            layer.counts = np.resize(layer.counts, cap)

    def set_points(self, keys: ArrayLike, village: ArrayLike) -> int:
        """Set the demand at each key: its village, or -1 for no point there.  Idempotent.

        Returns how many keys changed state."""
        ks = np.asarray(keys, dtype=np.int64).reshape(-1)
        vs = np.asarray(village, dtype=np.int64).reshape(-1)
        changed = 0
        for key, v in zip(ks.tolist(), vs.tolist(), strict=True):
            slot = self._slot(key)
            old = int(self._village[slot]) if slot >= 0 and self._alive[slot] else -1
            if old == v:
                continue
            changed += 1
            if old >= 0:
                self._count_point(slot, old, -1)
            if v < 0:
                self._alive[slot] = False
                continue
            if slot < 0:
                slot = self._append(key)
            self._village[slot] = v
            self._alive[slot] = True
            self._count_point(slot, v, +1)
        if self._n - self._n_grid > REGRID_AFTER:
            self.regrid()
        return changed

    def _append(self, key: int) -> int:
        self._grow(self._n + 1)
        slot = self._n
        self._n += 1
        self._keys[slot] = key
        self._slot_of_extra[key] = slot
        for layer in self.layers.values():
            layer.counts[slot] = _reach_count(key_xy(np.array([key])), layer.xy, layer.radius_m)[0]
        return slot

    def _count_point(self, slot: int, v: int, sign: int) -> None:
        self.n_points[v] += sign
        for layer in self.layers.values():
            if layer.counts[slot] > 0:
                layer.covered[v] += sign

    # ------------------------------------------------------------------ queries

    def _in_disk(self, x: float, y: float, r: float) -> IntArray:
        """Live slots within ``r`` metres of (x, y)."""
        parts: list[IntArray] = []
        if self._n_grid:
            cx0 = max(int((x - r - self._x0) // self.cell_m), 0)
            cx1 = min(int((x + r - self._x0) // self.cell_m), self._nx - 1)
            cy0 = max(int((y - r - self._y0) // self.cell_m), 0)
            cy1 = min(int((y + r - self._y0) // self.cell_m), self._ny - 1)
            if cx0 <= cx1 and cy0 <= cy1:
                rows = np.arange(cy0, cy1 + 1, dtype=np.int64) * self._nx
                lo = np.searchsorted(self._cells, rows + cx0, "left")
                hi = np.searchsorted(self._cells, rows + cx1, "right")
                parts.extend(self._order[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True) if b > a)
        if self._n > self._n_grid:
            parts.append(np.arange(self._n_grid, self._n, dtype=np.int32))
        if not parts:
            return np.empty(0, np.int64)
        cand = np.concatenate(parts)
        cand = cand[self._alive[cand]]
        p = key_xy(self._keys[cand])
        return cand[np.hypot(p[:, 0] - x, p[:, 1] - y) <= r]

    def add_layer(self, name: object, facility_xy: ArrayLike, radius_m: ArrayLike) -> FacilityLayer:
        """Count the facilities reaching every slot and village point, and keep them as ``name``."""
        fxy = np.asarray(facility_xy, dtype=np.float64).reshape(-1, 2)
        fr = np.broadcast_to(np.asarray(radius_m, dtype=np.float64), (fxy.shape[0],)).copy()
        counts = np.zeros(self._keys.shape[0], dtype=np.int32)
        alive = self._alive.copy()
        self._alive[: self._n] = True  # count dead slots too (a revived key needs no recount)
        try:
            for (x, y), r in zip(fxy.tolist(), fr.tolist(), strict=True):
                counts[self._in_disk(x, y, r)] += 1
        finally:
            self._alive = alive
        village_counts = _reach_count(self._village_xy, fxy, fr)
        live = np.flatnonzero(self._alive[: self._n] & (counts[: self._n] > 0))
        covered = np.bincount(self._village[live], minlength=len(self.villages)).astype(np.int64)
        layer = FacilityLayer(fxy, fr, counts, village_counts, covered)
        self.layers[name] = layer
        return layer

    def what_if(self, layer_name: object, group: str, x: float, y: float, radius_m: float) -> WhatIfAnswer:
        """Demand a new site at (x, y) with ``radius_m`` would add to the layer's coverage."""
        t0 = time.perf_counter()
        layer = self.layers[layer_name]
        pop = np.asarray(self.villages.population[group], dtype=np.float64)
        n_villages = len(self.villages)
        in_disk = self._in_disk(x, y, radius_m)
        gained = in_disk[layer.counts[in_disk] == 0]
        gained_per_village = np.bincount(self._village[gained], minlength=n_villages)
        has_points = self.n_points > 0
        rep = ~has_points & (layer.village_counts == 0)
        rep_gained = rep & (np.hypot(self._village_xy[:, 0] - x, self._village_xy[:, 1] - y) <= radius_m)
        per_point = pop / np.maximum(self.n_points, 1)
        added = np.where(has_points, gained_per_village * per_point, rep_gained * pop)
        before = np.where(has_points, layer.covered * per_point, (layer.village_counts > 0) * pop)
        return WhatIfAnswer(
            added_weight=float(added.sum()),
            covered_weight_before=float(before.sum()),
            total_weight=float(pop.sum()),
            newly_covered_points=int(gained.shape[0] + rep_gained.sum()),
            runtime_s=time.perf_counter() - t0,
        )


def _reach_count(points: FloatArray, facility_xy: FloatArray, radius_m: FloatArray) -> NDArray[np.int32]:
    """Facilities reaching each point, brute force (the same predicate as the grid query)."""
    out = np.zeros(points.shape[0], dtype=np.int32)
    for (x, y), r in zip(facility_xy.tolist(), radius_m.tolist(), strict=True):
        out += np.hypot(points[:, 0] - x, points[:, 1] - y) <= r
    return out

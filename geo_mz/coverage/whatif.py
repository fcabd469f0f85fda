"""The interactive what-if ("what if I put one here"): the demand a new site would add, answered from
a prepared :class:`~geo_mz.coverage.demand_index.DemandIndex` while the planner waits.

**Keeping the index current without blocking a request.**

* *Version check.*  Each call reads the data versions of the ``addresses``, ``facilities`` and
  ``divisions`` tile layers from the change log (``core_tile_change``, a few-row index scan, about a
  millisecond) together with the database snapshot, in one statement.  Same versions: the cached
  index answers as is (no row counting).
* *Address edits.*  The address change feed (``coverage_demand_change``, migration 0004) lists the
  locations every writing statement touched; the index re-reads the addresses at the locations whose
  transaction it has not seen (``pg_visible_in_snapshot``) and updates those points in place.  An
  edit of a few addresses costs a few milliseconds.  More than :data:`MAX_INLINE_LOCATIONS` changed
  locations (a bulk import), a TRUNCATE, or a change of divisions (village populations and points)
  start a full rebuild in a background thread; requests meanwhile keep answering from the previous
  index and say so (``stale: true`` with the ``demand_version`` they used).
* *Facilities.*  A facility layer (one type and radius rule) is recounted when the facilities'
  version changes: one disk query per facility, milliseconds.
* *A fresh process.*  The first call starts the build in a background thread and raises
  :class:`WhatIfNotReady`; the API answers 202 "正在准备分析索引" with ``Retry-After`` and the map
  page retries by itself, so the planner sees "正在准备…" for the length of the build, once per
  worker (the coverage run page starts the build when it is opened, usually before the first
  click).  We chose this over an approximate or slow fallback: every number a planner sees is the
  exact what-if, and it is never late by more than the retry interval.
  ``GEO_MZ_WHATIF_BACKGROUND=0`` builds in the request instead (tests, single-user installs).

Results equal those of an index built fresh from the same data, bit for bit (see demand_index).
The demand model is ``services.demand_points``' with entrance locations keyed to the centimetre.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection

from geo_mz.core import crs
from geo_mz.coverage import demand_index as di
from geo_mz.coverage.services import MAX_RADIUS_M, facility_set
from geo_mz.divisions.selectors import located_villages
from geo_mz.facilities.models import DemandGroup, FacilityType

log = logging.getLogger(__name__)

#: Changed locations above this are not applied in the request: a background rebuild takes over.
MAX_INLINE_LOCATIONS: Final = 5_000
#: Seconds a client should wait before asking again while the index is being prepared.
RETRY_AFTER_S: Final = 3
#: Change-feed rows older than this are purged by a full build; an index this old is rebuilt.
FEED_KEEP_S: Final = 24 * 3600
#: The grid cell of the index (metres): about the radius of a community facility.
CELL_M: Final = 1000.0
_VERSION_LAYERS: Final = ("addresses", "facilities", "divisions")
_POPULATION: Final = {"all": "population", "older": "population_60_plus", "households": "households"}


class WhatIfNotReady(Exception):
    """The index is being prepared in the background; ask again after ``retry_after_s`` seconds."""

    def __init__(self, retry_after_s: int = RETRY_AFTER_S) -> None:
        super().__init__("正在准备分析索引，请稍候")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class _Now:
    snapshot: str
    versions: dict[str, int]
    own_xid: str | None


@dataclass(eq=False)
class _State:
    index: di.DemandIndex
    snapshot: str
    versions: dict[str, int]
    built_at: float
    own_xid: str | None  # an uncommitted transaction whose writes the index has seen (tests)
    layers: dict[tuple[str, float | None], int] = field(default_factory=dict)  # → facilities version


_lock = threading.RLock()
_state: _State | None = None
_builder: threading.Thread | None = None


def _background() -> bool:
    return bool(getattr(settings, "GEO_MZ_WHATIF_BACKGROUND", True))


# --------------------------------------------------------------------------- database reads


def _now() -> _Now:
    """Snapshot, layer versions and own transaction id, from one statement (one snapshot)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned()::text, "
            + ", ".join(
                f"(SELECT COALESCE(sum(weight), 0)::bigint FROM core_tile_change WHERE layer = '{name}')"
                for name in _VERSION_LAYERS
            )
        )
        snapshot, own_xid, *versions = cursor.fetchone()
    return _Now(snapshot, dict(zip(_VERSION_LAYERS, map(int, versions), strict=True)), own_xid)


def _villages() -> di.Villages:
    county = settings.GEO_MZ_COUNTY_CODE
    villages = located_villages(county)
    if not villages:
        raise ValidationError({"demand": "本县没有带位置的村级区划，无法构建需求点 / no located villages"})
    return di.Villages(
        codes=tuple(v.code for v in villages),
        township=tuple(v.parent.code if v.parent_id else "" for v in villages),
        xy=np.array([(v.point.x, v.point.y) for v in villages], dtype=np.float64),
        population={
            g: np.array([getattr(v, attr) or 0 for v in villages], dtype=np.float64)
            for g, attr in _POPULATION.items()
        },
    )


_ROWS_SQL = """
SELECT DISTINCT ST_X(a.point), ST_Y(a.point), d.code, d.level
FROM addresses_address a {join} JOIN divisions_division d ON d.id = a.division_id
WHERE a.status = 'active' AND d.code LIKE %(county)s
"""


def _rows(join: str = "", **params: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (entrance, division) rows of the county's active addresses: xy, codes, levels."""
    with connection.cursor() as cursor:
        cursor.execute(_ROWS_SQL.format(join=join), {"county": settings.GEO_MZ_COUNTY_CODE + "%", **params})
        rows = cursor.fetchall()
    if not rows:
        return np.empty((0, 2)), np.empty(0, object), np.empty(0, object)
    xs, ys, codes, levels = zip(*rows, strict=True)
    return (
        np.column_stack([np.array(xs, np.float64), np.array(ys, np.float64)]),
        np.array(codes, dtype=object),
        np.array(levels, dtype=object),
    )


def _changed_locations(snapshot: str) -> np.ndarray | None:
    """Locations (x, y) touched by transactions not visible in ``snapshot`` (and by our own open
    transaction); ``None`` when a TRUNCATE (or an unbounded change) asks for a full rebuild."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT x, y FROM coverage_demand_change WHERE xid >= pg_snapshot_xmin(%(s)s::pg_snapshot) "
            "AND NOT pg_visible_in_snapshot(xid, %(s)s::pg_snapshot) "
            "UNION SELECT x, y FROM coverage_demand_change WHERE xid = pg_current_xact_id_if_assigned() "
            "LIMIT %(limit)s",
            {"s": snapshot, "limit": MAX_INLINE_LOCATIONS + 1},
        )
        rows = cursor.fetchall()
    if len(rows) > MAX_INLINE_LOCATIONS or any(x is None for x, _ in rows):
        return None
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


def _aborted(xid: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_xact_status(%s::xid8)", [xid])
        return cursor.fetchone()[0] == "aborted"


# --------------------------------------------------------------------------- build and refresh


def _layer_add(state: _State, key: tuple[str, float | None], facilities_version: int) -> None:
    fs = facility_set([key[0]], radius_m=key[1])
    state.index.add_layer(key, fs.xy, fs.radius)
    state.layers[key] = facilities_version


def _build(layer_keys: list[tuple[str, float | None]]) -> _State:
    """A full build: snapshot first, then the rows (changes after the snapshot are re-read later)."""
    now = _now()
    villages = _villages()
    xy, codes, levels = _rows()
    index = di.DemandIndex(villages, di.location_keys(xy), villages.assign(xy, codes, levels), CELL_M)
    state = _State(index, now.snapshot, now.versions, time.time(), now.own_xid)
    for key in layer_keys:
        _layer_add(state, key, now.versions["facilities"])
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM coverage_demand_change WHERE changed_at < now() - make_interval(secs => %s)",
            [FEED_KEEP_S],
        )
    return state


def _build_in_background(layer_keys: list[tuple[str, float | None]]) -> None:
    global _state, _builder
    try:
        state = _build(layer_keys)
        with _lock:
            old = _state
            if old is not None:
                for key in old.layers:  # layers first asked for during the build
                    if key not in state.layers:
                        _layer_add(state, key, state.versions["facilities"])
            _state = state
    except Exception:
        log.exception("what-if index build failed")
    finally:
        connection.close()  # this thread's own connection
        with _lock:
            _builder = None


def _start_build(layer_keys: list[tuple[str, float | None]]) -> None:
    global _builder
    with _lock:
        if _builder is None:
            _builder = threading.Thread(
                target=_build_in_background, args=(layer_keys,), name="whatif-index", daemon=True
            )
            _builder.start()


def _refresh(state: _State, now: _Now) -> bool:
    """Apply the address changes since the state's snapshot in place; False: too many, rebuild."""
    touched = _changed_locations(state.snapshot)
    if touched is None:
        return False
    if touched.shape[0]:
        keys = np.unique(di.location_keys(touched))
        centres = di.key_xy(keys)
        # one GiST probe per location (a box of ±1 cm around the key's centre)
        xy, codes, levels = _rows(
            "JOIN unnest(%(x)s::float8[], %(y)s::float8[]) AS k(x, y) ON a.point && ST_MakeEnvelope("
            f"k.x - 0.01, k.y - 0.01, k.x + 0.01, k.y + 0.01, {int(settings.GEO_MZ_SRID)})",
            x=centres[:, 0].tolist(),
            y=centres[:, 1].tolist(),
        )
        row_keys = di.location_keys(xy)
        here = np.isin(row_keys, keys)
        villages = state.index.villages
        state.index.set_points(
            keys, di.key_states(keys, row_keys[here], villages.assign(xy[here], codes[here], levels[here]))
        )
    state.snapshot = now.snapshot
    state.versions = {**state.versions, "addresses": now.versions["addresses"]}
    state.own_xid = now.own_xid or state.own_xid
    return True


def warm_up() -> None:
    """Start preparing the index in the background if this process has none (never blocks)."""
    if _state is None and _background():
        _start_build([])


def reset() -> None:
    """Forget this process's index (tests; the next call prepares it again)."""
    global _state
    with _lock:
        _state = None


def _ready_state(key: tuple[str, float | None]) -> tuple[_State, bool]:
    """The index to answer from, current if that takes no long work, and whether it is stale."""
    global _state
    now = _now()
    state = _state
    if state is not None and (
        any(now.versions[name] < state.versions[name] for name in ("addresses", "divisions"))
        or (state.own_xid and state.own_xid != now.own_xid and _aborted(state.own_xid))
    ):
        # it had seen writes that were rolled back (versions only grow once committed)
        state = _state = None
    if state is None:
        if _background():
            _start_build([key])
            raise WhatIfNotReady()
        state = _state = _build([key])
    rebuild = (
        state.versions["divisions"] != now.versions["divisions"]
        or time.time() - state.built_at > FEED_KEEP_S * 0.8
        or (state.versions["addresses"] != now.versions["addresses"] and not _refresh(state, now))
    )
    if rebuild:
        if _background():
            _start_build(list(state.layers))
        else:
            state = _state = _build(list({**state.layers, key: 0}))
    elif state.index.appended > di.REGRID_AFTER // 2 and _background():
        _start_build(list(state.layers))  # compact before an inline regrid would be needed
    if state.layers.get(key) != now.versions["facilities"]:
        _layer_add(state, key, now.versions["facilities"])
    stale = any(state.versions[name] != now.versions[name] for name in ("addresses", "divisions"))
    return state, stale


# --------------------------------------------------------------------------- the service


def what_if(
    type_code: str, lon: float, lat: float, *, group: str | None = None, radius_m: float | None = None
) -> dict[str, Any]:
    """The demand a new site of ``type_code`` at lon/lat (EPSG:4490/4326) would add, straight-line.

    ``radius_m``: the new site's radius and that of every existing site (default: each type's/site's
    own radius).  Raises :class:`WhatIfNotReady` while this process prepares its index."""
    ftype = FacilityType.objects.filter(code=type_code).first()
    if ftype is None:
        raise ValidationError({"type": f"未知设施类型 {type_code}"})
    group = group or ftype.demand_group
    if group not in DemandGroup.values:
        raise ValidationError({"group": f"未知服务对象 {group} / unknown demand group"})
    try:
        crs.check_lonlat(lon, lat)
    except crs.CoordinateError as exc:
        raise ValidationError({"point": str(exc)}) from exc
    radius = float(radius_m or ftype.radius_m or 1000)
    if not 0 < radius <= MAX_RADIUS_M:
        raise ValidationError({"radius_m": "服务半径超出范围 / radius out of range"})
    x, y = crs.lonlat_to_projected(lon, lat, settings.GEO_MZ_SRID)
    key = (type_code, float(radius_m) if radius_m else None)
    with _lock:
        state, stale = _ready_state(key)
        res = state.index.what_if(key, {"villagers": "all"}.get(group, group), float(x), float(y), radius)
        demand_version = state.versions["addresses"]
    return {
        "added_weight": round(res.added_weight, 1),
        "covered_before": round(res.covered_weight_before, 1),
        "covered_after": round(res.covered_weight_after, 1),
        "total_weight": round(res.total_weight, 1),
        "share_after": round(res.share_after, 4),
        "newly_covered_points": res.newly_covered_points,
        "radius_m": radius,
        "runtime_ms": round(res.runtime_s * 1000, 2),
        "demand_version": demand_version,
        "stale": stale,
    }

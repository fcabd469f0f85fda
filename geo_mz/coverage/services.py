"""Coverage services: demand points from the database, facility arrays (with a scenario applied), runs
stored with their provenance, site suggestions (MCLP / LSCP), and the dashboard indicators (the
interactive what-if is in whatif.py). The computation is in the pure engine (engine.py, network.py, allocation.py)."""

from __future__ import annotations

import datetime as dt
import functools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Q, Sum

from geo_mz.core import crs
from geo_mz.core.permissions import require_edit
from geo_mz.coverage import allocation, engine, network
from geo_mz.coverage.models import ChangeAction, CoverageRun, RunKind, Scenario
from geo_mz.divisions.models import Division, Level
from geo_mz.divisions.selectors import located_villages
from geo_mz.facilities.models import DemandGroup, Facility, FacilityStatus, FacilityType, IndicatorGroup

APP = "coverage"
MAX_RADIUS_M = 50_000
MODES = ("straight", "network")
NETWORK_WALK_OFFSET_M = 100.0
URBAN_TOWNSHIP_WORDS = ("街道",)
COMMUNITY_WORDS = ("社区", "居委会")


def _guard(user, codes) -> None:
    if user is not None:
        require_edit(user, APP, codes)


def _lonlat(x, y) -> tuple[float, float]:
    lon, lat = crs.projected_to_lonlat(x, y, settings.GEO_MZ_SRID)
    return float(lon), float(lat)


def is_community(division: Division) -> bool:
    """Urban community (社区/居委会) vs. village (村委会): by the official name, the only signal the
    statistical code list carries."""
    return any(w in division.name for w in COMMUNITY_WORDS)


# ---------------------------------------------------------------------------------------------------
# Demand
# ---------------------------------------------------------------------------------------------------


@dataclass
class Demand:
    """Weighted demand points. `village` is the village-level unit each point belongs to (index into
    `villages`), whose population is spread evenly over its address points when it has any, else
    sits at its representative point."""

    xy: np.ndarray
    weights: dict[str, np.ndarray]
    village: np.ndarray
    villages: list[Division]
    source_counts: dict[str, int]
    reconciliation: list[dict[str, Any]] = field(default_factory=list)

    def weight(self, group: str) -> np.ndarray:
        key = {"villagers": "all"}.get(group, group)
        return self.weights[key]

    def township_codes(self) -> np.ndarray:
        return np.array([v.parent.code if v.parent_id else "" for v in self.villages], dtype=object)[
            self.village
        ]


def _version_of(qs, *fields) -> dict[str, Any]:
    agg = qs.aggregate(n=Count("pk"), last=Max(fields[0]) if fields else Count("pk"))
    return {
        "count": agg["n"],
        "last": agg["last"].isoformat() if hasattr(agg["last"], "isoformat") else agg["last"],
    }


def input_versions() -> dict[str, Any]:
    from geo_mz.addresses.models import Address
    from geo_mz.placenames.models import RoadSegment

    county = settings.GEO_MZ_COUNTY_CODE
    return {
        "facilities": _version_of(Facility.objects.filter(division__code__startswith=county), "updated_at"),
        "divisions": _version_of(Division.objects.filter(code__startswith=county), "updated_at"),
        "addresses": _version_of(Address.objects.filter(status="active"), "updated_at"),
        "road_segments": _version_of(RoadSegment.objects.all(), "updated_at"),
    }


def _cache_key() -> str:
    v = input_versions()
    return repr(sorted((k, d["count"], d["last"]) for k, d in v.items()))


@functools.lru_cache(maxsize=4)
def _demand_cached(key: str) -> Demand:
    return _build_demand()


def demand_points() -> Demand:
    return _demand_cached(_cache_key())


def _build_demand() -> Demand:
    from scipy.spatial import cKDTree

    from geo_mz.addresses.models import Address

    county = settings.GEO_MZ_COUNTY_CODE
    villages = located_villages(county)
    if not villages:
        raise ValidationError({"demand": "本县没有带位置的村级区划，无法构建需求点 / no located villages"})
    vxy = np.array([(v.point.x, v.point.y) for v in villages])
    v_township = np.array([v.parent.code for v in villages], dtype=object)
    # Entrance-level address points (one per distinct location), each assigned to the nearest village
    # point of its own township (rural numbers carry their village directly).
    rows = list(
        Address.objects.filter(status="active", division__code__startswith=county)
        .values_list("point", "division__code", "division__level")
        .distinct()
    )
    a_xy = np.array([(p.x, p.y) for p, _, _ in rows]) if rows else np.empty((0, 2))
    a_village = np.full(len(rows), -1, dtype=np.int64)
    index = {v.code: i for i, v in enumerate(villages)}
    for i, (_, code, level) in enumerate(rows):
        if level == Level.VILLAGE and code in index:
            a_village[i] = index[code]
    for township in {code for _, code, level in rows if level == Level.TOWNSHIP}:
        in_t = np.flatnonzero(v_township == township)
        mask = np.array([code == township for _, code, _ in rows]) & (a_village < 0)
        if in_t.size and mask.any():
            _, nearest = cKDTree(vxy[in_t]).query(a_xy[mask])
            a_village[np.flatnonzero(mask)] = in_t[nearest]
    a_xy, a_village = a_xy[a_village >= 0], a_village[a_village >= 0]
    # Unique points only (rooms share their entrance).
    if a_xy.size:
        _, keep = np.unique(np.round(a_xy, 2), axis=0, return_index=True)
        keep.sort()
        a_xy, a_village = a_xy[keep], a_village[keep]
    per_village = np.bincount(a_village, minlength=len(villages))
    use_point = per_village == 0
    xy = np.vstack([a_xy, vxy[use_point]])
    village = np.concatenate([a_village, np.flatnonzero(use_point)])
    share = 1.0 / np.where(per_village > 0, per_village, 1)[village]
    weights = {}
    for key, attr in (("all", "population"), ("older", "population_60_plus"), ("households", "households")):
        values = np.array([getattr(v, attr) or 0 for v in villages], dtype=float)
        weights[key] = values[village] * share
    reconciliation = _reconcile(villages, weights["all"], village)
    return Demand(
        xy=xy,
        weights=weights,
        village=village,
        villages=villages,
        source_counts={
            "address_points": int(a_xy.shape[0]),
            "villages_with_addresses": int((per_village > 0).sum()),
            "village_points": int(use_point.sum()),
        },
        reconciliation=reconciliation,
    )


def _reconcile(villages: list[Division], weights: np.ndarray, village: np.ndarray) -> list[dict[str, Any]]:
    """Demand per township against the township's recorded population."""
    per_village = np.bincount(village, weights=weights, minlength=len(villages))
    totals: dict[str, float] = {}
    for v, w in zip(villages, per_village, strict=True):
        totals[v.parent.code] = totals.get(v.parent.code, 0.0) + float(w)
    out = []
    for t in Division.objects.filter(code__in=list(totals)).order_by("code"):
        out.append(
            {
                "code": t.code,
                "name": t.name,
                "demand": round(totals[t.code]),
                "population": t.population,
                "difference": None if t.population is None else round(totals[t.code] - t.population),
            }
        )
    return out


# ---------------------------------------------------------------------------------------------------
# Facilities (with a scenario applied)
# ---------------------------------------------------------------------------------------------------


@dataclass
class FacilitySet:
    xy: np.ndarray
    radius: np.ndarray
    capacity: np.ndarray
    codes: list[str]
    names: list[str]
    types: list[str]


def _capacity(f: Facility) -> float:
    return float(f.beds or f.places or f.plots_total or 0)


def facility_set(
    type_codes: list[str], *, radius_m: float | None = None, scenario: Scenario | None = None
) -> FacilitySet:
    types = list(FacilityType.objects.filter(code__in=type_codes))
    missing = set(type_codes) - {t.code for t in types}
    if missing or not type_codes:
        raise ValidationError(
            {"types": f"未知设施类型 {'、'.join(sorted(missing)) or '（未选择）'} / unknown facility type"}
        )
    if radius_m is not None and not 0 < radius_m <= MAX_RADIUS_M:
        raise ValidationError({"radius_m": f"服务半径应在 0–{MAX_RADIUS_M} 米之间 / radius out of range"})
    qs = (
        Facility.objects.filter(type__in=types, status=FacilityStatus.OPERATING)
        .select_related("type")
        .order_by("code")
    )
    rows = {f.code: f for f in qs}
    xy = {c: (f.point.x, f.point.y) for c, f in rows.items()}
    extra: list[tuple[str, str, str, tuple[float, float], float, float]] = []
    if scenario is not None:
        for ch in scenario.changes.select_related("facility", "type").order_by("id"):
            if ch.action in (ChangeAction.MOVE, ChangeAction.CLOSE):
                if ch.facility is None:
                    raise ValidationError(
                        {
                            "scenario": f"方案“{scenario.name}”引用的设施 {ch.facility_code} 已被删除 / a referenced facility was deleted"
                        }
                    )
                if ch.facility.code not in rows:
                    continue  # another type, or not operating: nothing to change for this analysis
                if ch.action == ChangeAction.CLOSE:
                    rows.pop(ch.facility.code)
                else:
                    xy[ch.facility.code] = (ch.point.x, ch.point.y)
            elif ch.type and ch.type.code in type_codes:
                r = ch.radius_m or ch.type.radius_m or 1000
                extra.append(
                    (
                        f"S{ch.pk}",
                        ch.name or f"方案新增{ch.type.name}",
                        ch.type.code,
                        (ch.point.x, ch.point.y),
                        r,
                        ch.capacity or 0,
                    )
                )
    codes = list(rows)
    radius = [radius_m or rows[c].effective_radius_m or 1000 for c in codes]
    out = FacilitySet(
        xy=np.array([xy[c] for c in codes] + [e[3] for e in extra], dtype=float).reshape(-1, 2),
        radius=np.array(radius + [radius_m or e[4] for e in extra], dtype=float),
        capacity=np.array([_capacity(rows[c]) for c in codes] + [e[5] for e in extra], dtype=float),
        codes=codes + [e[0] for e in extra],
        names=[rows[c].name for c in codes] + [e[1] for e in extra],
        types=[rows[c].type.code for c in codes] + [e[2] for e in extra],
    )
    return out


@functools.lru_cache(maxsize=2)
def _graph_cached(key: str) -> network.RoadGraph:
    from geo_mz.placenames.models import RoadSegment

    lines = [
        shapely.from_wkb(bytes(g.wkb))
        for g in RoadSegment.objects.values_list("geom", flat=True)
        if g is not None
    ]
    if not lines:
        raise ValidationError({"mode": "没有道路中心线，无法做路网分析 / no road centre-lines"})
    return network.RoadGraph.from_lines(lines)


def road_graph() -> network.RoadGraph:
    return _graph_cached(_cache_key())


# ---------------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------------


def _check_params(mode: str, group: str) -> None:
    if mode not in MODES:
        raise ValidationError({"mode": "距离方式应为 straight（直线）或 network（路网）/ mode"})
    if group not in DemandGroup.values:
        raise ValidationError({"group": f"未知服务对象 {group} / unknown demand group"})


def _coverage(demand: Demand, fs: FacilitySet, mode: str):
    if fs.xy.shape[0] == 0:
        covered = np.zeros(demand.xy.shape[0], dtype=bool)
        return covered, np.zeros(demand.xy.shape[0], dtype=np.int32), {"unreachable": 0}
    if mode == "straight":
        res = engine.straight_coverage(demand.xy, fs.xy, fs.radius)
        return res.covered, res.n_reaching, {"unreachable": 0}
    res = network.network_coverage(road_graph(), demand.xy, fs.xy, fs.radius)
    unreachable = int(np.isin(res.status, [network.NO_ROUTE, network.UNSNAPPED]).sum())
    return (
        res.covered,
        res.n_reaching,
        {"unreachable": unreachable, "facilities_unsnapped": int((~res.facility_snapped).sum())},
    )


# ---------------------------------------------------------------------------------------------------
# Dask: the coverage flags partitioned by township (pure part: partitioned.py)
# ---------------------------------------------------------------------------------------------------

DASK_CONNECT_TIMEOUT_S = 10
_DASK_CLIENTS: dict[str, Any] = {}


def dask_scheduler_setting() -> str:
    """GEO_MZ_DASK_SCHEDULER (e.g. tcp://10.0.0.5:8786), or "" when coverage runs in-process."""
    return str(getattr(settings, "GEO_MZ_DASK_SCHEDULER", "") or "").strip()


def dask_client(address: str) -> Any:
    """A distributed Client of the scheduler at `address`, kept for this process (a web worker
    connects once, not per request)."""
    client = _DASK_CLIENTS.get(address)
    if client is not None and client.status == "running":
        return client
    from distributed import Client

    try:
        client = Client(address, timeout=f"{DASK_CONNECT_TIMEOUT_S}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ValidationError(
            {
                "dask": f"无法连接 Dask 调度器 {address}：{exc} / cannot connect to the Dask scheduler {address}"
            }
        ) from exc
    _DASK_CLIENTS[address] = client
    return client


def dask_clients_close(address: str | None = None) -> None:
    """Close the kept client of `address` (all of them when None), e.g. before its cluster stops."""
    for key in [address] if address is not None else list(_DASK_CLIENTS):
        client = _DASK_CLIENTS.pop(key, None)
        if client is not None:
            client.close()


def _dask_target(partitions: int | None, dask_scheduler: str | None) -> tuple[int, Any] | None:
    """(partitions, client or None for Dask's threads) when the run goes to Dask, else None.

    Dask is used when `partitions` >= 1 is given, or when a scheduler is configured and `partitions`
    is None (then one partition per worker thread of the cluster); `partitions=0` forces one
    process."""
    if partitions is not None and (
        isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 0
    ):
        raise ValidationError(
            {"partitions": "分区数应为非负整数 / partitions must be a non-negative integer"}
        )
    if partitions == 0:
        return None
    address = (dask_scheduler if dask_scheduler is not None else dask_scheduler_setting()).strip()
    if partitions is None and not address:
        return None
    client = dask_client(address) if address else None
    if partitions is None:
        partitions = max(1, sum(client.nthreads().values()))
    return partitions, client


def _coverage_dask(demand: Demand, fs: FacilitySet, mode: str, partitions: int, client: Any):
    """`_coverage` on Dask: the demand split by township into `partitions` groups (whole townships).
    Returns the same three values plus what ran where (for the run's parameters)."""
    from geo_mz.coverage import partitioned

    if fs.xy.shape[0] == 0:
        covered, counts, extra = _coverage(demand, fs, mode)
        return covered, counts, extra, {"partitions": 0, "requested": partitions, "scheduler": None}
    res = partitioned.partitioned_coverage(
        demand.xy,
        demand.township_codes(),
        fs.xy,
        fs.radius,
        npartitions=partitions,
        client=client,
        mode=mode,
        graph=road_graph() if mode == "network" else None,
    )
    if mode == "straight":
        extra: dict[str, int] = {"unreachable": 0}
    else:
        assert res.status is not None and res.facility_snapped is not None
        extra = {
            "unreachable": int(np.isin(res.status, [network.NO_ROUTE, network.UNSNAPPED]).sum()),
            "facilities_unsnapped": int((~res.facility_snapped).sum()),
        }
    info = {
        "partitions": res.npartitions,
        "requested": partitions,
        "scheduler": res.scheduler,
        "points": res.partitioning.n_points.tolist(),
        "facilities": res.partition_facilities.tolist(),
        "halo_points": res.partition_halo.tolist(),
        "townships": res.partitioning.groups(),
    }
    return res.covered, res.n_reaching, extra, info


def _county_polygon():
    county = Division.objects.get(code=settings.GEO_MZ_COUNTY_CODE)
    return shapely.from_wkb(bytes(county.geom.wkb))


def _geojson_lonlat(geom) -> dict | None:
    if geom is None or geom.is_empty:
        return None
    g = crs.transform_geometry(shapely.simplify(geom, 20), settings.GEO_MZ_SRID, crs.CGCS2000)
    return shapely.geometry.mapping(shapely.set_precision(g, 1e-6))


def coverage_compute(
    type_codes: list[str],
    *,
    mode: str = "straight",
    group: str = DemandGroup.OLDER,
    radius_m: float | None = None,
    scenario: Scenario | None = None,
    partitions: int | None = None,
    dask_scheduler: str | None = None,
) -> dict[str, Any]:
    """Run the coverage analysis and return its results (nothing stored).

    With `partitions` (>= 1), or with GEO_MZ_DASK_SCHEDULER set, the covered flags are computed on
    Dask, partitioned by township (`partitioned.partitioned_coverage`; bit-identical to one process):
    on the scheduler `dask_scheduler` (default: the setting), or on Dask's local threads when there
    is none. `partitions=0` forces one process. `result["dask"]` says what ran where (None: one
    process)."""
    _check_params(mode, group)
    target = _dask_target(partitions, dask_scheduler)
    demand = demand_points()
    fs = facility_set(type_codes, radius_m=radius_m, scenario=scenario)
    w = demand.weight(group)
    t0 = time.perf_counter()
    dask_info = None
    if target is None:
        covered, counts, extra = _coverage(demand, fs, mode)
    else:
        covered, counts, extra, dask_info = _coverage_dask(demand, fs, mode, *target)
    agg = engine.aggregate(demand.township_codes(), w, covered)
    reached = engine.units_reached(demand.village, covered)
    runtime = (time.perf_counter() - t0) * 1000
    names = {d.code: d.name for d in Division.objects.filter(code__in=list(agg.labels))}
    divisions = [
        {**row, "name": names.get(row["label"], row["label"]), "code": row.pop("label")}
        for row in agg.as_rows()
    ]
    accessibility = _accessibility(demand, fs, w, mode, agg)
    for row in divisions:
        row["capacity_per_1000"] = accessibility.get(row["code"])
    village_codes = [v.code for v in demand.villages]
    reached_codes = {village_codes[i] for i in np.asarray(reached).tolist()} if reached is not None else set()
    uncovered = None
    if mode == "straight" and fs.xy.shape[0]:
        ua = engine.uncovered_polygons(_county_polygon(), fs.xy, fs.radius)
        uncovered = _geojson_lonlat(ua.geometry)
    elif fs.xy.shape[0]:
        # Network mode: the reachable road pieces (partial edges included), widened by the distance
        # people walk from the road to a door; the rest of the county is uncovered.
        area = network.service_area_lines(road_graph(), fs.xy, fs.radius)
        ua = engine.network_uncovered_polygons(_county_polygon(), area, NETWORK_WALK_OFFSET_M)
        uncovered = _geojson_lonlat(ua.geometry)
    total, cov = float(w.sum()), float(w[covered].sum())
    return {
        "summary": {
            "total_weight": round(total, 1),
            "covered_weight": round(cov, 1),
            "uncovered_weight": round(total - cov, 1),
            "share": round(cov / total, 4) if total else None,
            "facilities": int(fs.xy.shape[0]),
            "demand_points": int(demand.xy.shape[0]),
            "villages_reached": len(reached_codes),
            "villages": len(village_codes),
            "demand_source": demand.source_counts,
            **extra,
        },
        "divisions": divisions,
        "villages_uncovered": sorted(set(village_codes) - reached_codes),
        "uncovered": uncovered,
        "runtime_ms": runtime,
        "covered": covered,
        "counts": counts,
        "dask": dask_info,
    }


def _accessibility(demand: Demand, fs: FacilitySet, w: np.ndarray, mode: str, agg) -> dict[str, float | None]:
    """2SFCA: capacity (beds, places) per 1,000 people of the demand group that each township's
    residents can reach, as the demand-weighted mean of A_i. Empty when the facilities carry no
    capacity."""
    if fs.xy.shape[0] == 0 or not (fs.capacity > 0).any():
        return {}
    if mode == "straight":
        pairs = engine.straight_pairs(demand.xy, fs.xy, fs.radius)
    else:
        pairs = network.network_pairs(road_graph(), demand.xy, fs.xy, fs.radius)
    res = engine.two_step_fca(pairs, w, fs.capacity, fs.radius)
    codes = demand.township_codes()
    out: dict[str, float | None] = {}
    for code in agg.labels.tolist():
        m = codes == code
        total = float(w[m].sum())
        out[code] = round(float((res.accessibility[m] * w[m]).sum()) / total * 1000, 2) if total else None
    return out


def coverage_run(
    type_codes: list[str],
    *,
    mode: str = "straight",
    group: str = DemandGroup.OLDER,
    radius_m: float | None = None,
    scenario: Scenario | None = None,
    label: str = "",
    user=None,
    partitions: int | None = None,
    dask_scheduler: str | None = None,
) -> CoverageRun:
    """Run and store the analysis with its parameters and input versions (a run on Dask also
    records its partitions and scheduler under parameters["dask"])."""
    if user is not None:
        from geo_mz.core.permissions import require_role

        require_role(user, APP)
    result = coverage_compute(
        type_codes,
        mode=mode,
        group=group,
        radius_m=radius_m,
        scenario=scenario,
        partitions=partitions,
        dask_scheduler=dask_scheduler,
    )
    parameters: dict[str, Any] = {
        "types": type_codes,
        "mode": mode,
        "group": group,
        "radius_m": radius_m,
        "scenario": scenario.pk if scenario else None,
    }
    if result["dask"] is not None:
        parameters["dask"] = {
            k: result["dask"][k] for k in ("partitions", "requested", "scheduler", "points")
        }
    return CoverageRun.objects.create(
        kind=RunKind.COVERAGE,
        label=label or f"{'、'.join(type_codes)} {mode}",
        parameters=parameters,
        input_versions=input_versions(),
        engine_version=engine.ENGINE_VERSION,
        scenario=scenario,
        runtime_ms=result["runtime_ms"],
        summary={**result["summary"], "villages_uncovered": result["villages_uncovered"]},
        divisions=result["divisions"],
        uncovered=result["uncovered"],
        created_by=user if user is not None and user.is_authenticated else None,
    )


def scenario_compare(
    scenario: Scenario,
    type_codes: list[str],
    *,
    mode: str = "straight",
    group: str = DemandGroup.OLDER,
    radius_m: float | None = None,
) -> dict[str, Any]:
    """Baseline and scenario side by side: totals and per-division shares."""
    base = coverage_compute(type_codes, mode=mode, group=group, radius_m=radius_m)
    alt = coverage_compute(type_codes, mode=mode, group=group, radius_m=radius_m, scenario=scenario)
    alt_rows = {r["code"]: r for r in alt["divisions"]}
    return {
        "baseline": base["summary"],
        "scenario": alt["summary"],
        "gain_weight": round(alt["summary"]["covered_weight"] - base["summary"]["covered_weight"], 1),
        "divisions": [
            {
                "code": r["code"],
                "name": r["name"],
                "baseline_share": r["share"],
                "scenario_share": alt_rows.get(r["code"], {}).get("share"),
            }
            for r in base["divisions"]
        ],
    }


# ---------------------------------------------------------------------------------------------------
# Site suggestion
# ---------------------------------------------------------------------------------------------------


def candidate_points(
    kind: str, *, points: list[tuple[float, float]] | None = None, spacing_m: float = 2000.0
):
    """Candidates: every village/community point, a regular grid over the county, or points the
    planner gives (lon/lat). Returns (xy, labels)."""
    if kind == "villages":
        vs = list(
            Division.objects.filter(
                level=Level.VILLAGE, code__startswith=settings.GEO_MZ_COUNTY_CODE, point__isnull=False
            ).order_by("code")
        )
        return np.array([(v.point.x, v.point.y) for v in vs], dtype=float).reshape(-1, 2), [
            v.name for v in vs
        ]
    if kind == "grid":
        if not 200 <= spacing_m <= 20_000:
            raise ValidationError({"spacing_m": "网格间距应在 200–20000 米 / spacing out of range"})
        poly = _county_polygon()
        x0, y0, x1, y1 = poly.bounds
        gx, gy = np.meshgrid(np.arange(x0, x1, spacing_m), np.arange(y0, y1, spacing_m))
        xy = np.column_stack([gx.ravel(), gy.ravel()])
        inside = shapely.contains_xy(poly, xy[:, 0], xy[:, 1])
        xy = xy[inside]
        return xy, [f"网格点{i + 1}" for i in range(xy.shape[0])]
    if kind == "points":
        if not points:
            raise ValidationError({"candidates": "候选点为空 / the candidate set is empty"})
        out = []
        for i, (lon, lat) in enumerate(points, start=1):
            try:
                crs.check_lonlat(lon, lat)
            except crs.CoordinateError as exc:
                raise ValidationError({"candidates": f"第 {i} 个候选点：{exc}"}) from exc
            out.append(crs.lonlat_to_projected(lon, lat, settings.GEO_MZ_SRID))
        return np.array(out, dtype=float), [f"候选点{i}" for i in range(1, len(out) + 1)]
    raise ValidationError({"candidates": "候选点应为 villages、grid 或 points / unknown candidate kind"})


CEMETERY_TYPES = ("cemetery_urban", "cemetery_rural", "cemetery_village", "funeral_home")


def exclusion_layers(type_code: str) -> list[engine.ExclusionLayer]:
    """The active exclusion zones that apply to a facility type (by default: funeral facilities)."""
    from geo_mz.coverage.models import ExclusionZone

    out: dict[tuple[str, float], list] = {}
    for z in ExclusionZone.objects.filter(active=True):
        applies = z.applies_to or list(CEMETERY_TYPES)
        if type_code in applies:
            out.setdefault((z.get_kind_display() if not z.name else z.name, z.buffer_m), []).append(
                shapely.from_wkb(bytes(z.geom.wkb))
            )
    return [engine.ExclusionLayer(name, geoms, buffer_m) for (name, buffer_m), geoms in out.items()]


def suggest_sites(
    type_code: str,
    k: int,
    *,
    candidates: str = "villages",
    points=None,
    spacing_m: float = 2000.0,
    mode: str = "straight",
    group: str | None = None,
    radius_m: float | None = None,
    method: str = "heuristic",
    minimal: bool = False,
    user=None,
) -> CoverageRun:
    """MCLP (k new sites, existing ones fixed) or, with `minimal`, LSCP (fewest sites to cover all
    coverable demand), ranked by the demand each site adds."""
    if user is not None:
        from geo_mz.core.permissions import require_role

        require_role(user, APP)
    ftype = FacilityType.objects.filter(code=type_code).first()
    if ftype is None:
        raise ValidationError({"types": f"未知设施类型 {type_code}"})
    group = group or ftype.demand_group
    _check_params(mode, group)
    radius = float(radius_m or ftype.radius_m or 1000)
    if not 0 < radius <= MAX_RADIUS_M:
        raise ValidationError({"radius_m": f"服务半径应在 0–{MAX_RADIUS_M} 米之间 / radius out of range"})
    cxy, labels = candidate_points(candidates, points=points, spacing_m=spacing_m)
    if cxy.shape[0] == 0:
        raise ValidationError({"candidates": "候选点为空 / the candidate set is empty"})
    layers = exclusion_layers(type_code)
    excl = engine.apply_exclusions(cxy, layers) if layers else None
    allowed = excl.allowed if excl is not None else None
    if allowed is not None and not allowed.any():
        raise ValidationError({"candidates": "全部候选点都位于选址排除区内 / every candidate is excluded"})
    if allowed is not None and not minimal and int(k) > int(allowed.sum()):
        raise ValidationError(
            {
                "k": f"k 超过可用候选点数 {int(allowed.sum())}（其余位于排除区）/ k exceeds the allowed candidates"
            }
        )
    if not minimal and not 1 <= int(k) <= cxy.shape[0]:
        raise ValidationError({"k": f"k 应在 1–{cxy.shape[0]}（候选点数）之间 / k exceeds the candidates"})
    demand = demand_points()
    w = demand.weight(group)
    fs = facility_set([type_code], radius_m=radius_m)
    t0 = time.perf_counter()
    existing, _, _ = _coverage(demand, fs, mode)
    if mode == "straight":
        pairs = engine.straight_pairs(demand.xy, cxy, radius)
    else:
        pairs = network.network_pairs(road_graph(), demand.xy, cxy, radius)
    if minimal:
        res = allocation.lscp(pairs, weights=w, existing_covered=existing, allowed=allowed, method=method)
        chosen, marginal = res.chosen, res.marginal_weight
        summary = {
            "n_sites": res.n_sites,
            "uncoverable_weight": round(res.uncoverable_weight, 1),
            "status": res.status,
        }
    else:
        res = allocation.mclp(pairs, w, int(k), existing_covered=existing, allowed=allowed, method=method)
        chosen, marginal = res.chosen, res.marginal_weight
        summary = {
            "added_weight": round(res.added_weight, 1),
            "existing_weight": round(res.existing_weight, 1),
            "covered_weight": round(res.covered_weight, 1),
            "status": res.status,
            "mip_gap": res.mip_gap,
        }
    runtime = (time.perf_counter() - t0) * 1000
    suggestions = []
    for rank, (c, gain) in enumerate(
        zip(np.asarray(chosen).tolist(), np.asarray(marginal).tolist(), strict=True), start=1
    ):
        lon, lat = _lonlat(cxy[c, 0], cxy[c, 1])
        suggestions.append(
            {
                "rank": rank,
                "candidate": int(c),
                "label": labels[c],
                "lon": round(lon, 7),
                "lat": round(lat, 7),
                "added_weight": round(gain, 1),
            }
        )
    total = float(w.sum())
    return CoverageRun.objects.create(
        kind=RunKind.LSCP if minimal else RunKind.MCLP,
        label=f"{ftype.name} {'最少设施' if minimal else f'新增 {k} 处'}",
        parameters={
            "type": type_code,
            "k": None if minimal else int(k),
            "candidates": candidates,
            "spacing_m": spacing_m,
            "mode": mode,
            "group": group,
            "radius_m": radius,
            "method": method,
        },
        input_versions=input_versions(),
        engine_version=engine.ENGINE_VERSION,
        runtime_ms=runtime,
        summary={
            **summary,
            "total_weight": round(total, 1),
            "existing_covered_weight": round(float(w[existing].sum()), 1),
            "candidates": int(cxy.shape[0]),
            "excluded": []
            if excl is None
            else [
                {"label": labels[i], "reason": excl.reasons[i]}
                for i in np.flatnonzero(~excl.allowed)[:200].tolist()
            ],
            "excluded_count": 0 if excl is None else int((~excl.allowed).sum()),
            "runtime_s": round(res.runtime_s, 3),
        },
        suggestions=suggestions,
        created_by=user if user is not None and user.is_authenticated else None,
    )


# ---------------------------------------------------------------------------------------------------
# Indicators
# ---------------------------------------------------------------------------------------------------


@dataclass
class Indicator:
    key: str
    label: str
    value: float | None
    unit: str
    norm_text: str
    meets: bool | None
    note: str = ""


def _units_with_site(group: str, units: list[Division], radius_default: float) -> set[str]:
    """Village-level units with a site of the indicator group in them or within its radius of their
    representative point."""
    sites = list(
        Facility.objects.filter(type__indicator_group=group, status=FacilityStatus.OPERATING).select_related(
            "type", "division"
        )
    )
    with_site = {f.division.code for f in sites}
    if sites and units:
        fxy = np.array([(f.point.x, f.point.y) for f in sites])
        r = np.array([float(f.effective_radius_m or radius_default) for f in sites])
        uxy = np.array([(u.point.x, u.point.y) if u.point else (np.nan, np.nan) for u in units])
        ok = ~np.isnan(uxy[:, 0])
        if ok.any():
            cov = engine.straight_coverage(uxy[ok], fxy, r).covered
            with_site |= {
                u.code
                for u, c in zip([u for u, o in zip(units, ok, strict=True) if o], cov, strict=True)
                if c
            }
    return with_site


def indicators(within_code: str | None = None) -> dict[str, Any]:
    """The dashboard figures for the county (or one township), each against its norm."""
    code = within_code or settings.GEO_MZ_COUNTY_CODE
    area = Division.objects.get(code=code)
    facilities = Facility.objects.filter(division__code__startswith=code, status=FacilityStatus.OPERATING)
    inst = facilities.filter(type__indicator_group=IndicatorGroup.ELDERLY_INSTITUTION).aggregate(
        n=Count("pk"), beds=Sum("beds"), nursing=Sum("nursing_beds")
    )
    beds, nursing = inst["beds"] or 0, inst["nursing"] or 0
    older = area.population_60_plus
    out: list[Indicator] = []
    per_1000 = beds / older * 1000 if older else None
    out.append(Indicator("institutions", "养老机构（家）", inst["n"], "家", "", None))
    out.append(Indicator("beds", "养老机构床位（张）", beds, "张", "", None))
    out.append(
        Indicator(
            "beds_per_1000",
            "每千名老年人养老床位",
            None if per_1000 is None else round(per_1000, 1),
            "张/千人",
            "35–40 张",
            None if per_1000 is None else per_1000 >= 35,
            "" if older else "缺少60岁及以上人口数据",
        )
    )
    share = nursing / beds if beds else None
    out.append(
        Indicator(
            "nursing_share",
            "护理型床位占比",
            None if share is None else round(share, 4),
            "%",
            "≥ 55%（2025 年）",
            None if share is None else share >= 0.55,
        )
    )
    units = list(
        Division.objects.filter(level=Level.VILLAGE, code__startswith=code)
        .exclude(status="retired")
        .select_related("parent")
    )
    communities = [u for u in units if is_community(u)]
    rural = [u for u in units if not is_community(u)]
    urban_communities = [
        u for u in communities if any(w in (u.parent.name if u.parent else "") for w in URBAN_TOWNSHIP_WORDS)
    ]
    eld = _units_with_site(IndicatorGroup.URBAN_ELDERLY, urban_communities, 700)
    r = (
        len([u for u in urban_communities if u.code in eld]) / len(urban_communities)
        if urban_communities
        else None
    )
    out.append(
        Indicator(
            "urban_elderly_coverage",
            "城市社区养老服务设施覆盖率",
            None if r is None else round(r, 4),
            "%",
            "100%",
            None if r is None else r >= 1.0,
            f"{len(urban_communities)} 个城市社区（街道所辖社区）",
        )
    )
    aid = {
        f.division.code
        for f in facilities.filter(type__indicator_group=IndicatorGroup.RURAL_MUTUAL_AID).select_related(
            "division"
        )
    }
    r = len([u for u in rural if u.code in aid]) / len(rural) if rural else None
    out.append(
        Indicator(
            "rural_mutual_aid_coverage",
            "农村互助养老服务设施覆盖率（行政村）",
            None if r is None else round(r, 4),
            "%",
            "",
            None,
            f"{len(rural)} 个行政村",
        )
    )
    townships = list(
        Division.objects.filter(level=Level.TOWNSHIP, code__startswith=code)
        .exclude(status="retired")
        .order_by("code")
    )
    cem = set(
        facilities.filter(type__indicator_group=IndicatorGroup.CEMETERY).values_list(
            "division__parent__code", flat=True
        )
    ) | set(
        facilities.filter(
            type__indicator_group=IndicatorGroup.CEMETERY, division__level=Level.TOWNSHIP
        ).values_list("division__code", flat=True)
    )
    without = [t for t in townships if t.code not in cem]
    r = (len(townships) - len(without)) / len(townships) if townships else None
    out.append(
        Indicator(
            "townships_with_cemetery",
            "乡镇公益性公墓覆盖率",
            None if r is None else round(r, 4),
            "%",
            "乡镇全覆盖（2025 年）",
            None if r is None else not without,
            "未覆盖：" + "、".join(t.name for t in without) if without else "",
        )
    )
    cc = {
        f.division.code
        for f in facilities.filter(type__indicator_group=IndicatorGroup.COMMUNITY_CENTRE).select_related(
            "division"
        )
    }
    for key, label, group_units, target in (
        ("community_centre_urban", "城市社区综合服务设施覆盖率", communities, 1.0),
        ("community_centre_rural", "农村社区综合服务设施覆盖率", rural, 0.8),
    ):
        r = len([u for u in group_units if u.code in cc]) / len(group_units) if group_units else None
        out.append(
            Indicator(
                key,
                label,
                None if r is None else round(r, 4),
                "%",
                f"{'100%' if target == 1 else '≥ 80%'}（2025 年）",
                None if r is None else r >= target,
            )
        )
    by_type = list(
        Facility.objects.filter(division__code__startswith=code)
        .values("type__code", "type__name", "status")
        .annotate(n=Count("pk"), beds=Sum("beds"))
        .order_by("type__sort_order", "status")
    )
    return {
        "division": {
            "code": area.code,
            "name": area.name,
            "population": area.population,
            "population_60_plus": older,
        },
        "indicators": out,
        "by_type": by_type,
        "townships_without_cemetery": [{"code": t.code, "name": t.name} for t in without],
        "as_of": dt.date.today(),
    }


# Used by the facility import/registry views to show which divisions a planner may edit.
def facilities_within(code: str):
    return Facility.objects.filter(Q(division__code__startswith=code)).select_related("type", "division")


def scenario_create(name: str, description: str, changes: list[dict], *, user=None) -> Scenario:
    """A scenario of added, moved and closed facilities. Each change is checked: an addition needs a
    type and a position, a move or closure an existing facility (by code)."""
    from django.contrib.gis.geos import Point
    from django.db import transaction

    from geo_mz.coverage.models import ScenarioChange

    if user is not None:
        from geo_mz.core.permissions import require_role

        require_role(user, APP)
    if not name.strip():
        raise ValidationError({"name": "方案名称不能为空 / the name is required"})
    if not changes:
        raise ValidationError({"changes": "方案至少包含一项变更 / a scenario needs at least one change"})
    with transaction.atomic():
        scenario = Scenario.objects.create(
            name=name.strip(),
            description=description,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        for i, ch in enumerate(changes, start=1):
            action = ch.get("action")
            point = None
            if ch.get("lon") is not None and ch.get("lat") is not None:
                try:
                    crs.check_lonlat(ch["lon"], ch["lat"])
                except crs.CoordinateError as exc:
                    raise ValidationError({"changes": f"第 {i} 项：{exc}"}) from exc
                x, y = crs.lonlat_to_projected(ch["lon"], ch["lat"], settings.GEO_MZ_SRID)
                point = Point(float(x), float(y), srid=settings.GEO_MZ_SRID)
            facility = ftype = None
            if action == ChangeAction.ADD:
                ftype = FacilityType.objects.filter(code=ch.get("type")).first()
                if ftype is None or point is None:
                    raise ValidationError(
                        {"changes": f"第 {i} 项：新增设施须给出类型和位置 / type and position required"}
                    )
            elif action in (ChangeAction.MOVE, ChangeAction.CLOSE):
                facility = Facility.objects.filter(code=ch.get("facility")).first()
                if facility is None:
                    raise ValidationError(
                        {"changes": f"第 {i} 项：没有设施 {ch.get('facility')} / no such facility"}
                    )
                if action == ChangeAction.MOVE and point is None:
                    raise ValidationError(
                        {"changes": f"第 {i} 项：迁址须给出新位置 / the new position is required"}
                    )
            else:
                raise ValidationError({"changes": f"第 {i} 项：变更应为 add、move 或 close / unknown action"})
            ScenarioChange.objects.create(
                scenario=scenario, action=action, facility=facility, facility_code=facility.code if facility else "",
                type=ftype, name=ch.get("name", ""), point=point, capacity=ch.get("capacity"), radius_m=ch.get("radius_m"),
            )  # fmt: skip
    return scenario


def demo_exclusion_zones() -> int:
    """Synthetic siting constraints for the demo (labelled 合成): main roads (主干路/公路) with a 200 m
    buffer, dwellings (house-number points) with 300 m, and a drinking-water source protection area
    around the lake of 陆水湖街道. Idempotent; returns the zones created."""
    from django.contrib.gis.geos import GEOSGeometry

    from geo_mz.coverage.models import ExclusionKind, ExclusionZone
    from geo_mz.placenames.models import RoadSegment

    if ExclusionZone.objects.filter(synthetic=True).exists():
        return 0
    srid = settings.GEO_MZ_SRID

    def geos(geom) -> GEOSGeometry:
        return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=srid)

    created = 0
    roads = [
        shapely.from_wkb(bytes(g.wkb))
        for g in RoadSegment.objects.filter(road_class__in=["主干路", "公路"]).values_list("geom", flat=True)
    ]
    if roads:
        ExclusionZone.objects.create(name="主要道路两侧", kind=ExclusionKind.MAIN_ROAD, geom=geos(shapely.union_all(roads)), buffer_m=200,
                                     source="演示：道路中心线（主干路、公路）", synthetic=True)  # fmt: skip
        created += 1
    demand = demand_points()
    if demand.source_counts["address_points"]:
        pts = shapely.multipoints(demand.xy[: demand.source_counts["address_points"]])
        ExclusionZone.objects.create(name="居民点", kind=ExclusionKind.DWELLINGS, geom=geos(pts), buffer_m=300,
                                     source="演示：门牌地址点", synthetic=True)  # fmt: skip
        created += 1
    lake = Division.objects.filter(name__contains="陆水湖", level=Level.TOWNSHIP).first()
    if lake is not None and lake.point is not None:
        area = shapely.Point(lake.point.x, lake.point.y).buffer(1500)
        ExclusionZone.objects.create(name="陆水湖饮用水水源保护区（演示）", kind=ExclusionKind.WATER_SOURCE, geom=geos(area), buffer_m=0,
                                     source="合成演示范围，非官方划定", synthetic=True)  # fmt: skip
        created += 1
    return created

"""Coverage engine benchmarks (issue 6): straight-line, what-if, road network, location-allocation.

All data are synthetic and seeded (SEED), in EPSG:4547 metres inside a 40 km × 43 km county box
with its south-west corner at (480 000, 3 270 000), roughly where 赤壁市 lies:

* **demand**: 1,000,000 points, 70 % around 300 village/community centres (σ 300 m), 30 % spread
  evenly; weight 1–5 people; division = one of 16 township codes (4 × 4 blocks);
* **what-if**: 160 sites at centres with 700 m (about the county's elderly-care sites), one added;
* **facilities**: 10,000 points spread evenly with radii 300–2,000 m;
* **roads**: a jittered 224 × 224 grid at 100 m (99,904 edges, each with a bent middle vertex),
  100,000 demand points and 1,000 facilities on it, cut-off 1,000 m;
* **MCLP**: 20,000 demand × 2,000 candidates (k = 50, radius 1,200 m) and 100,000 × 5,000
  (k = 100, radius 1,000 m), clustered demand, 20 existing sites;
* **Dask**: the straight-line case in 4 partitions of whole townships on a ``distributed.LocalCluster``
  (2 worker processes × 1 thread, started on the first call) against the single-process engine;
  every flag, count and nearest distance is checked bit for bit once (stderr).

References run in the same process: PostGIS (the issue's ``EXISTS`` + ``ST_DWithin`` with the
largest radius + a distance filter, GiST-indexed), geopandas buffer + ``sjoin``, pgRouting
``pgr_drivingDistance``, a pure-Python heapq Dijkstra (networkx is not installed), and the exact
MILP (HiGHS via ``scipy.optimize.milp``).  The database references load their tables once
(UNLOGGED ``bench_cov_*`` tables, so PostgreSQL may use parallel workers) into ``DATABASE_URL``;
``python -m bench.bench_coverage --clean`` drops them.  Without a database those cases are skipped.
Objective gaps and result checks are printed to stderr.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import heapq
import io
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely

from bench.runner import Case
from geo_mz.coverage.allocation import mclp
from geo_mz.coverage.engine import (
    CoverageIndex,
    CoverageInputError,
    aggregate,
    straight_coverage,
    straight_pairs,
)
from geo_mz.coverage.network import RoadGraph, network_coverage
from geo_mz.coverage.partitioned import partitioned_coverage

SEED = 20240606
X0, Y0 = 480_000.0, 3_270_000.0
WIDTH, HEIGHT = 40_000.0, 43_000.0
N_DEMAND, N_FACILITIES = 1_000_000, 10_000
R_MIN, R_MAX = 300.0, 2000.0
GRID, STEP = 224, 100.0
N_NET_DEMAND, N_NET_FACILITIES, CUTOFF_M = 100_000, 1_000, 1000.0
DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://geo_mz:geo_mz@127.0.0.1:5432/geo_mz")


def _log(message: str) -> None:
    print(f"   {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data


@functools.cache
def county_centres() -> np.ndarray:
    """300 village / community centres (metres, EPSG:4547)."""
    return np.random.default_rng(SEED).uniform(0, 1, (300, 2)) * [WIDTH, HEIGHT] + [X0, Y0]


@functools.cache
def county() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(SEED + 5)
    centres = county_centres() - [X0, Y0]
    n_near = int(N_DEMAND * 0.7)
    near = centres[rng.integers(0, 300, n_near)] + rng.normal(0, 300, (n_near, 2))
    spread = rng.uniform(0, 1, (N_DEMAND - n_near, 2)) * [WIDTH, HEIGHT]
    xy = np.clip(np.vstack([near, spread]), 0, [WIDTH, HEIGHT])
    block = (np.minimum(xy[:, 0] // (WIDTH / 4), 3) * 4 + np.minimum(xy[:, 1] // (HEIGHT / 4), 3)).astype(
        np.int64
    )
    return {
        "demand": xy + [X0, Y0],
        "weight": rng.integers(1, 6, N_DEMAND).astype(float),
        "division": 421281_001_000 + block * 1000,
        "facility": rng.uniform(0, 1, (N_FACILITIES, 2)) * [WIDTH, HEIGHT] + [X0, Y0],
        "radius": rng.uniform(R_MIN, R_MAX, N_FACILITIES),
    }


@functools.cache
def road_grid() -> tuple[RoadGraph, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED + 1)
    gx, gy = np.meshgrid(np.arange(GRID), np.arange(GRID))
    nodes = np.stack([gx.ravel() * STEP, gy.ravel() * STEP], axis=1) + rng.uniform(-20, 20, (GRID * GRID, 2))
    nodes += [X0, Y0]
    idx = np.arange(GRID * GRID).reshape(GRID, GRID)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    mid = (nodes[u] + nodes[v]) / 2 + rng.uniform(-8, 8, (u.shape[0], 2))
    coords = np.stack([nodes[u], mid, nodes[v]], axis=1).reshape(-1, 2)
    lines = shapely.linestrings(coords, indices=np.repeat(np.arange(u.shape[0]), 3))
    graph = RoadGraph.from_lines(lines)
    lo, hi = nodes.min(axis=0), nodes.max(axis=0)
    demand = rng.uniform(lo, hi, (N_NET_DEMAND, 2))
    facility = rng.uniform(lo, hi, (N_NET_FACILITIES, 2))
    return graph, demand, facility, lines


def mclp_instance(
    n: int, c: int, side: float, radius: float, seed: int
) -> tuple[Any, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, side, (n // 60, 2))
    n_near = int(n * 0.7)
    near = centres[rng.integers(0, centres.shape[0], n_near)] + rng.normal(0, side / 40, (n_near, 2))
    demand = np.vstack([near, rng.uniform(0, side, (n - n_near, 2))]) + [X0, Y0]
    weight = rng.integers(1, 80, n).astype(float)
    cand = rng.uniform(0, side, (c, 2)) + [X0, Y0]
    existing = straight_coverage(demand, rng.uniform(0, side, (20, 2)) + [X0, Y0], radius).covered
    return straight_pairs(demand, cand, radius), weight, existing


# --------------------------------------------------------------------------- database


def _connect() -> Any | None:
    try:
        import psycopg

        conn = psycopg.connect(DATABASE_URL, autocommit=True)
        conn.execute("SELECT postgis_version()")
        return conn
    except Exception as exc:  # no server, no PostGIS: the database cases are skipped
        _log(f"PostGIS unavailable ({exc.__class__.__name__}: {exc}); database references skipped")
        return None


def _copy(conn: Any, table: str, columns: str, rows: np.ndarray, fmt: str) -> None:
    buf = io.StringIO()
    np.savetxt(buf, rows, fmt=fmt, delimiter="\t")
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write(buf.getvalue())


def _has_rows(conn: Any, table: str, n: int) -> bool:
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()[0]
    return bool(exists) and conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == n


def _fingerprint(*arrays: np.ndarray) -> str:
    """Short hash of the data, in the table names: changed data never meets a stale table."""
    digest = hashlib.sha1()
    for a in arrays:
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()[:10]


def _ensure_points(conn: Any) -> tuple[str, str]:
    data = county()
    tag = _fingerprint(data["demand"], data["weight"], data["division"], data["facility"], data["radius"])
    dem, fac = f"bench_cov_demand_{tag}", f"bench_cov_facility_{tag}"
    if not _has_rows(conn, dem, N_DEMAND):
        _log(f"loading {N_DEMAND:,} demand points into {dem} (once)")
        conn.execute(f"DROP TABLE IF EXISTS {dem}")
        conn.execute(
            f"CREATE UNLOGGED TABLE {dem} (id int, division bigint, weight float8, x float8, y float8)"
        )
        rows = np.column_stack([np.arange(N_DEMAND), data["division"], data["weight"], data["demand"]])
        _copy(conn, dem, "id, division, weight, x, y", rows, "%d\t%d\t%.1f\t%.3f\t%.3f")
        conn.execute(f"ALTER TABLE {dem} ADD COLUMN geom geometry(Point, 4547)")
        conn.execute(f"UPDATE {dem} SET geom = ST_SetSRID(ST_MakePoint(x, y), 4547)")
        conn.execute(f"ANALYZE {dem}")
    if not _has_rows(conn, fac, N_FACILITIES):
        conn.execute(f"DROP TABLE IF EXISTS {fac}")
        conn.execute(f"CREATE UNLOGGED TABLE {fac} (id int, radius_m float8, x float8, y float8)")
        rows = np.column_stack([np.arange(N_FACILITIES), data["radius"], data["facility"]])
        _copy(conn, fac, "id, radius_m, x, y", rows, "%d\t%.6f\t%.3f\t%.3f")
        conn.execute(f"ALTER TABLE {fac} ADD COLUMN geom geometry(Point, 4547)")
        conn.execute(f"UPDATE {fac} SET geom = ST_SetSRID(ST_MakePoint(x, y), 4547)")
        conn.execute(f"CREATE INDEX ON {fac} USING gist (geom)")
        conn.execute(f"ANALYZE {fac}")
    return dem, fac


def _ensure_edges(conn: Any, graph: RoadGraph) -> str:
    table = f"bench_cov_edges_{_fingerprint(graph.edge_u, graph.edge_v, graph.edge_length_m)}"
    if not _has_rows(conn, table, graph.n_edges):
        _log(f"loading {graph.n_edges:,} road edges into {table} (once)")
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(
            f"CREATE UNLOGGED TABLE {table} (id bigint, source bigint, target bigint, cost float8, reverse_cost float8)"
        )
        rows = np.column_stack(
            [
                np.arange(graph.n_edges) + 1,
                graph.edge_u + 1,
                graph.edge_v + 1,
                graph.edge_length_m,
                graph.edge_length_m,
            ]
        )
        _copy(conn, table, "id, source, target, cost, reverse_cost", rows, "%d\t%d\t%d\t%.9f\t%.9f")
        conn.execute(f"ANALYZE {table}")
    return table


def clean() -> None:
    conn = _connect()
    if conn is None:
        return
    names = conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'bench_cov_%'").fetchall()
    for (name,) in names:
        conn.execute(f"DROP TABLE {name}")
    _log(f"dropped {len(names)} bench_cov_* tables")


# --------------------------------------------------------------------------- straight-line


def _straight_ours() -> Callable[[], object]:
    data = county()

    def ours() -> object:
        cov = straight_coverage(data["demand"], data["facility"], data["radius"])
        return cov, aggregate(data["division"], data["weight"], cov.covered)

    return ours


def case_straight_vs_postgis() -> Case | None:
    conn = _connect()
    if conn is None:
        return None
    dem, fac = _ensure_points(conn)
    sql = f"""
        SELECT division, sum(weight) FILTER (WHERE covered), sum(weight), count(*) FILTER (WHERE covered)
        FROM (
            SELECT d.division, d.weight, EXISTS (
                SELECT 1 FROM {fac} f
                WHERE ST_DWithin(f.geom, d.geom, {R_MAX}) AND ST_Distance(f.geom, d.geom) <= f.radius_m
            ) AS covered
            FROM {dem} d
        ) s
        GROUP BY division ORDER BY division
    """
    ours = _straight_ours()
    checked: list[bool] = []

    def reference() -> object:
        rows = conn.execute(sql).fetchall()
        if not checked:
            agg = ours()[1]
            same = [int(r[3]) for r in rows] == agg.n_covered.tolist()
            _log(f"PostGIS vs engine, covered points per division: {'equal' if same else 'DIFFERENT'}")
            checked.append(same)
        return rows

    return Case(
        f"覆盖 straight {N_DEMAND:,} demand × {N_FACILITIES:,} sites (covered, count, nearest, per division)",
        ours,
        reference,
        "PostGIS EXISTS + ST_DWithin(max r) + distance filter, GiST (covered + per division only)",
        repeat=1,
    )


def case_straight_vs_geopandas() -> Case:
    import geopandas as gpd

    data = county()
    demand = gpd.GeoDataFrame(
        {"division": data["division"], "weight": data["weight"]},
        geometry=gpd.points_from_xy(data["demand"][:, 0], data["demand"][:, 1]),
        crs=4547,
    )
    sites = gpd.GeoDataFrame(
        {"radius_m": data["radius"]},
        geometry=gpd.points_from_xy(data["facility"][:, 0], data["facility"][:, 1]),
        crs=4547,
    )

    def reference() -> object:
        disks = sites.set_geometry(sites.buffer(sites["radius_m"]))
        joined = gpd.sjoin(demand, disks, predicate="within", how="inner")
        count = joined.index.value_counts().reindex(demand.index, fill_value=0)
        covered = count.to_numpy() > 0
        frame = demand[["division", "weight"]].assign(covered_weight=np.where(covered, demand["weight"], 0.0))
        return count, frame.groupby("division")[["covered_weight", "weight"]].sum()

    return Case(
        f"覆盖 straight {N_DEMAND:,} × {N_FACILITIES:,} (same as above)",
        _straight_ours(),
        reference,
        "geopandas buffer + sjoin(within) + groupby",
        repeat=2,
    )


def case_what_if() -> Case:
    # 160 elderly-care sites at village/community centres with the 700 m norm radius (赤壁市 has
    # 149 community sites + 12 institutions), so that part of the county is uncovered
    data = county()
    centres = county_centres()
    rng = np.random.default_rng(SEED + 4)
    order = rng.permutation(centres.shape[0])
    sites, site = centres[order[:160]], centres[order[160:161]]
    index = CoverageIndex(data["demand"], data["weight"], sites, 700.0)
    before = index.covered_weight

    def reference() -> float:
        cov = straight_coverage(data["demand"], np.vstack([sites, site]), 700.0)
        return float(data["weight"][cov.covered].sum()) - before

    result = index.what_if(site, 700.0)
    same = abs(result.net_weight - reference()) < 1e-6
    _log(
        f"what-if: 160 sites cover {index.covered_weight / index.total_weight:.1%}; one more adds "
        f"{result.added_weight:,.0f} people; equals a full recomputation: {same}"
    )
    return Case(
        f"覆盖 what-if: one added site, {N_DEMAND:,} points, 160 sites at 700 m",
        lambda: index.what_if(site, 700.0),
        reference,
        "full straight_coverage recomputation with the site",
        repeat=5,
    )


def case_straight_dask() -> Case:
    data = county()
    state: dict[str, Any] = {}

    def client() -> Any:
        if "client" not in state:
            import logging

            from distributed import Client, LocalCluster

            cluster = LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            )
            state["client"] = Client(cluster)
            atexit.register(lambda: (state["client"].close(), cluster.close()))
        return state["client"]

    def ours() -> object:
        res = partitioned_coverage(
            data["demand"], data["division"], data["facility"], data["radius"], npartitions=4, client=client()
        )
        if "checked" not in state:
            ref = straight_coverage(data["demand"], data["facility"], data["radius"])
            same = {
                name: bool(np.array_equal(getattr(ref, name), getattr(res, name)))
                for name in ("covered", "n_reaching", "nearest_facility")
            }
            same["nearest_distance_m"] = bool(
                np.array_equal(ref.nearest_distance_m.view(np.uint64), res.nearest_distance_m.view(np.uint64))
            )
            _log(
                f"Dask, 4 partitions (points {res.partitioning.n_points.tolist()}, facilities per task "
                f"{res.partition_facilities.tolist()}) vs one process, bit for bit: {same}"
            )
            state["checked"] = True
        return res

    return Case(
        f"覆盖 straight on Dask: 4 partitions by township, LocalCluster 2 workers × 1 thread, "
        f"{N_DEMAND:,} × {N_FACILITIES:,}",
        ours,
        lambda: straight_coverage(data["demand"], data["facility"], data["radius"]),
        "the single-process engine, straight_coverage (identical results)",
        repeat=3,
    )


# --------------------------------------------------------------------------- network


def _python_network_counts(
    graph: RoadGraph, d_snap: Any, f_snap: Any, cutoff: float
) -> Callable[[], np.ndarray]:
    """Per-facility heapq Dijkstra with a cut-off over the (unsplit) graph, then the demand points
    on edges at reached nodes (and on the facility's own edge), snap distances counted."""
    adj: list[list[tuple[int, float, int]]] = [[] for _ in range(graph.n_nodes)]
    for e, (a, b, length) in enumerate(
        zip(graph.edge_u.tolist(), graph.edge_v.tolist(), graph.edge_length_m.tolist(), strict=True)
    ):
        adj[a].append((b, length, e))
        adj[b].append((a, length, e))
    on_edge: dict[int, list[tuple[int, float, float]]] = {}
    for i in np.flatnonzero(d_snap.ok).tolist():
        on_edge.setdefault(int(d_snap.edge[i]), []).append(
            (i, float(d_snap.offset_m[i]), float(d_snap.distance_m[i]))
        )
    eu, ev, el = graph.edge_u.tolist(), graph.edge_v.tolist(), graph.edge_length_m.tolist()
    facs = [
        (int(f_snap.edge[j]), float(f_snap.offset_m[j]), float(f_snap.distance_m[j]))
        for j in np.flatnonzero(f_snap.ok).tolist()
    ]

    def run() -> np.ndarray:
        counts = np.zeros(d_snap.ok.shape[0], dtype=np.int64)
        for e0, t0, s0 in facs:
            dist: dict[int, float] = {}
            heap = [(s0 + t0, eu[e0]), (s0 + el[e0] - t0, ev[e0])]
            heapq.heapify(heap)
            while heap:
                d, x = heapq.heappop(heap)
                if d > cutoff or x in dist:
                    continue
                dist[x] = d
                for y, length, _ in adj[x]:
                    if y not in dist and d + length <= cutoff:
                        heapq.heappush(heap, (d + length, y))
            best: dict[int, float] = {}
            edges = {e for x in dist for _, _, e in adj[x]} | {e0}
            for e in edges:
                du, dv = dist.get(eu[e], float("inf")), dist.get(ev[e], float("inf"))
                for i, t, s in on_edge.get(e, ()):
                    d = min(du + t, dv + el[e] - t)
                    if e == e0:
                        d = min(d, s0 + abs(t - t0))
                    d += s
                    if d <= cutoff and d < best.get(i, float("inf")):
                        best[i] = d
            for i in best:
                counts[i] += 1
        return counts

    return run


def _network_case_parts() -> tuple[RoadGraph, np.ndarray, np.ndarray, Callable[[], Any]]:
    graph, demand, facility, _ = road_grid()
    graph.snap(demand[:1])  # build the snapping index once (part of preparing the graph)
    return graph, demand, facility, lambda: network_coverage(graph, demand, facility, CUTOFF_M)


def case_network_vs_pgrouting() -> Case | None:
    conn = _connect()
    if conn is None:
        return None
    graph, demand, facility, ours = _network_case_parts()
    table = _ensure_edges(conn, graph)
    f_snap = graph.snap(facility)
    near_end = np.where(
        f_snap.offset_m <= graph.edge_length_m[f_snap.edge] / 2,
        graph.edge_u[f_snap.edge],
        graph.edge_v[f_snap.edge],
    )
    starts = (near_end[f_snap.ok] + 1).tolist()
    sql = (
        "SELECT count(*), count(DISTINCT node) FROM pgr_drivingDistance("
        f"'SELECT id, source, target, cost, reverse_cost FROM {table}', %s::bigint[], %s, "
        "directed => false, equicost => false)"
    )
    return Case(
        f"覆盖 network {graph.n_edges:,} edges, {N_NET_DEMAND:,} demand × {N_NET_FACILITIES:,} sites, {CUTOFF_M:.0f} m",
        ours,
        lambda: conn.execute(sql, [starts, CUTOFF_M]).fetchall(),
        "pgRouting pgr_drivingDistance, 1,000 start nodes, per start (nodes only, no snapping)",
        repeat=3,
    )


def case_network_vs_python() -> Case:
    graph, demand, facility, ours = _network_case_parts()
    python = _python_network_counts(graph, graph.snap(demand), graph.snap(facility), CUTOFF_M)
    same = np.array_equal(python(), ours().n_reaching)
    _log(f"network: pure-Python counts equal the engine's for all {N_NET_DEMAND:,} points: {same}")
    return Case(
        f"覆盖 network {graph.n_edges:,} edges (same as above)",
        ours,
        python,
        "pure-Python heapq Dijkstra per site, snaps precomputed (networkx not installed)",
        repeat=3,
    )


# --------------------------------------------------------------------------- MCLP


def case_mclp_exact() -> Case:
    pairs, weight, existing = mclp_instance(20_000, 2_000, 30_000.0, 1200.0, SEED + 2)
    heuristic = functools.partial(mclp, pairs, weight, 50, existing_covered=existing)
    exact = functools.partial(
        mclp, pairs, weight, 50, existing_covered=existing, method="exact", time_limit_s=600
    )
    logged: list[bool] = []

    def reference() -> object:
        res = exact()
        if not logged:
            h = heuristic()
            gap = 1 - h.covered_weight / res.covered_weight
            _log(
                f"MCLP 20k×2k k=50: heuristic {h.covered_weight:,.0f} vs exact {res.covered_weight:,.0f} "
                f"({res.status}, MIP gap {res.mip_gap}): {gap:.3%} below the optimum; greedy {h.greedy_weight:,.0f}"
            )
            logged.append(True)
        return res

    return Case(
        "选址 MCLP 20,000 demand × 2,000 candidates, k = 50 (greedy + interchange)",
        heuristic,
        reference,
        "exact MILP, HiGHS via scipy.optimize.milp",
        repeat=3,
    )


def case_mclp_large() -> Case:
    pairs, weight, existing = mclp_instance(100_000, 5_000, 40_000.0, 1000.0, SEED + 3)
    heuristic = functools.partial(mclp, pairs, weight, 100, existing_covered=existing)
    exact = functools.partial(
        mclp, pairs, weight, 100, existing_covered=existing, method="exact", time_limit_s=30
    )
    logged: list[bool] = []

    def reference() -> object:
        try:
            res = exact()
        except CoverageInputError as exc:  # no incumbent within the time limit
            if not logged:
                _log(f"MCLP 100k×5k k=100: exact solver, 30 s: {exc.message_en}")
                logged.append(True)
            return None
        if not logged:
            h = heuristic()
            bound = f"{res.dual_bound:,.0f}" if res.dual_bound is not None else "n/a"
            _log(
                f"MCLP 100k×5k k=100: heuristic {h.covered_weight:,.0f} ({h.runtime_s:.2f} s); exact after 30 s: "
                f"{res.covered_weight:,.0f} ({res.status}, bound {bound}); the heuristic is "
                f"{h.covered_weight / res.covered_weight - 1:+.1%} on the exact incumbent"
            )
            logged.append(True)
        return res

    return Case(
        "选址 MCLP 100,000 demand × 5,000 candidates, k = 100",
        heuristic,
        reference,
        "exact MILP (HiGHS) stopped at 30 s",
        repeat=1,
    )


def cases() -> list[Case]:
    found = [
        case_straight_vs_postgis(),
        case_straight_vs_geopandas(),
        case_what_if(),
        case_straight_dask(),
        case_network_vs_pgrouting(),
        case_network_vs_python(),
        case_mclp_exact(),
        case_mclp_large(),
    ]
    return [c for c in found if c is not None]


if __name__ == "__main__":
    if "--clean" in sys.argv:
        clean()
    else:
        from bench.runner import run, table

        print(table([run(case) for case in cases()]))

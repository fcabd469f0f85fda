"""Mapbox vector tiles at /tiles/: one tile layer per public data layer, built by PostGIS.

Endpoints
---------
/tiles/                          the layers, each with its TileJSON URL
/tiles/{layer}.json              TileJSON 3.0.0 (tile URL template, zooms, lon/lat bounds, fields)
/tiles/{layer}/{z}/{x}/{y}.pbf   a tile (XYZ scheme, Web Mercator, extent 4096, buffer 64)

Layers: addresses (entrances, no personal data), facilities, boundary_lines, roads (segments with their
road's code, name and status), divisions (polygons, or the representative point of units without one).
The addresses layer (its tiles, TileJSON and its entry in the index) is for signed-in users (401
otherwise, `Cache-Control: private`) unless settings.GEO_MZ_ADDRESSES_PUBLIC is on (core/visibility.py).

How a tile is made
------------------
`ST_AsMVT` over `ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(z, x, y))`. Storage stays in
settings.GEO_MZ_SRID (metres); each source table has an *expression* GiST index on
`ST_Transform(geom, 3857)` (the migrations named *_tiles_index), and the tile query filters with that
same expression `&& ST_TileEnvelope(z, x, y, margin => 1/64)`, so the index is used (tests check with
EXPLAIN). We chose the expression index over a stored 3857 column: nothing for the ORM, the importers
or the history tables to keep in step. Its costs, measured: ~1 µs per row to transform the rows a tile
returns, and PROJ's set-up on the first transform of each database connection (~0.15 s), so serve
tiles with persistent connections (DJANGO_CONN_MAX_AGE, gunicorn workers). The margin matches the
64-unit buffer, so points and lines near a tile edge are drawn whole on both sides.

Dense points: clusters
----------------------
Below settings.GEO_MZ_TILE_CLUSTER_BELOW_ZOOM (default 14) the addresses layer is served as grid
clusters: each tile is cut into 64 × 64 cells; every occupied cell becomes one point at the mean
position of its members with a `count`. Cells never straddle tiles, so the counts in a tile add up to
exactly the addresses inside it. The clusters come from the table core_tile_grid, precomputed for all
zooms by `manage.py tiles_refresh` (one pass: the finest cells from the points, coarser ones by
halving cell indices), which holds one row per occupied cell, so a z8 tile over a county of a million
addresses reads a few thousand rows by B-tree instead of a million points. When the grid is missing
or older than the data, clusters are computed on the fly from the indexed points (exact, fine for
small layers); a stale grid of a large layer (> LIVE_CLUSTER_LIMIT points) is still served, marked
`X-Tile-Grid: stale`, until the next `tiles_refresh`. At or above the cluster zoom, a tile that the
grid says holds more than DENSE_TILE_POINTS addresses (a dense town centre at z14) is also served as
clusters, of the grid's finest cells; such tiles stay small and fast, and zooming in shows the points.
The response header `X-Tile-Source` says which: features | grid | grid-dense | live-clusters.

Versions, ETag and caching
--------------------------
Every table that feeds a layer has a statement-level trigger that appends to core_tile_change (see
core/migrations/0002_tile_change_log.py); a layer's version is the sum of its rows, visible when the
writer commits. The ETag is weak, a hash of layer + z/x/y + version (+ the grid's version when a grid
is served, and whether it holds features or clusters), so a revalidation is answered 304 without
building the tile. `Cache-Control: public, max-age=settings.GEO_MZ_TILE_MAX_AGE`. Bodies are gzipped
when the client accepts it. An empty tile is answered 204 No Content (with the same caching headers).
Bad z/x/y → 400 JSON; unknown layer → 404 JSON.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections, transaction
from django.http import HttpResponse, HttpResponseNotModified, JsonResponse
from django.urls import reverse
from django.utils.http import parse_etags
from django.views.decorators.http import require_safe

from geo_mz.core import jobs, visibility
from geo_mz.core.db import read_alias, read_pinned

EXTENT = 4096
BUFFER = 64
MARGIN = BUFFER / EXTENT
MAX_ZOOM = 22
# Clusters: cells per tile side (a power of two, so a cell of zoom z is two cells of zoom z + 1).
GRID_CELLS = 64
GRID_SHIFT = int(math.log2(GRID_CELLS))
# Half the Web Mercator world width (metres): ST_TileEnvelope's default bounds.
HALF_WORLD = 20037508.342789244
# A stale precomputed grid is served (instead of clustering on the fly) above this many points.
LIVE_CLUSTER_LIMIT = 200_000
# A tile at or above the cluster zoom holding more points than this (by the grid's count) is served
# as clusters of the grid's finest cells: 5,000 dots fill a 256-px tile, and encoding 30,000 costs
# ~300 ms (measured on a 1M-address county).
DENSE_TILE_POINTS = 5_000
# Reading a version folds the change log once a layer has more rows than this.
COMPACT_AFTER_ROWS = 1_000
# Bump when a layer's SQL or properties change: it is part of every ETag.
SCHEMA = "1"
CONTENT_TYPE = "application/vnd.mapbox-vector-tile"
_GZIP_RE = re.compile(r"\bgzip\b")


@dataclass(frozen=True)
class TileLayer:
    """One tile layer: SQL fragments over the storage tables (storage CRS in, Web Mercator out).

    `geom` is the geometry expression in the storage CRS; `ST_Transform(geom, 3857)` must be the
    expression of the layer's GiST index, and `where` must imply the index predicate, if any.
    """

    name: str
    title: str
    description: str
    table: str  # FROM clause of the base table, with its alias
    geom: str
    columns: str  # property columns (SQL select list)
    fields: dict[str, str]
    joins: str = ""
    where: str = ""
    id_column: str | None = None
    clustered: bool = False
    # House-number points: readable anonymously only with settings.GEO_MZ_ADDRESSES_PUBLIC.
    addresses: bool = False

    def filters(self, *extra: str) -> str:
        parts = [p for p in (*extra, self.where) if p]
        return " AND ".join(parts) if parts else "true"


LAYERS: dict[str, TileLayer] = {
    layer.name: layer
    for layer in (
        TileLayer(
            name="addresses",
            title="门牌",
            description="门牌（入口点，不含室号与个人信息）；低于聚合级别时为网格聚合点（count）",
            table="addresses_address a",
            geom="a.point",
            where="a.room = '' AND a.status <> 'retired'",
            columns="a.code, a.label, a.kind, a.status, a.number",
            id_column="a.id",
            addresses=True,
            fields={
                "code": "String: 门牌编码",
                "label": "String: 门牌（如 人民路15号）",
                "kind": "String: road | compound | rural",
                "status": "String: proposed | approved | active",
                "number": "Number: 门牌号",
                "count": "Number: 聚合的门牌数（仅低于聚合级别的瓦片）",
            },
            clustered=True,
        ),
        TileLayer(
            name="facilities",
            title="民政设施",
            description="民政设施（养老、殡葬、救助等）",
            table="facilities_facility f",
            joins="JOIN facilities_facilitytype ft ON ft.id = f.type_id",
            geom="f.point",
            columns="f.code, f.name, ft.code AS type, f.status, f.beds",
            id_column="f.id",
            fields={
                "code": "String: 设施编码",
                "name": "String: 名称",
                "type": "String: 设施类型代码",
                "status": "String: planned | under_construction | operating | closed",
                "beds": "Number: 床位数",
            },
        ),
        TileLayer(
            name="boundary_lines",
            title="行政区域界线",
            description="行政区域界线（现行及待定，不含已撤销）",
            table="boundaries_boundaryline b",
            geom="b.geom",
            where="b.status <> 'retired'",
            columns="b.code, b.name, b.level",
            id_column="b.id",
            fields={
                "code": "String: 界线编号",
                "name": "String: 界线名称",
                "level": "String: 界线级别",
            },
        ),
        TileLayer(
            name="roads",
            title="道路街巷",
            description="道路路段，附所属道路的编码、名称、状态；无名路段没有 code/name/status",
            table="placenames_roadsegment s",
            joins=(
                "LEFT JOIN placenames_namedfeature nf ON nf.id = s.feature_id "
                "LEFT JOIN LATERAL (SELECT pn.name FROM placenames_placename pn "
                "WHERE pn.feature_id = nf.id AND pn.status IN ('active', 'approved') "
                "ORDER BY pn.status = 'active' DESC, pn.id DESC LIMIT 1) cur ON true"
            ),
            geom="s.geom",
            columns=(
                "s.code AS segment, nf.code, cur.name, nf.status, "
                "COALESCE(NULLIF(s.road_class, ''), nf.road_class) AS road_class"
            ),
            id_column="s.id",
            fields={
                "segment": "String: 路段编码",
                "code": "String: 道路编码（无名路段无此属性）",
                "name": "String: 现行（或已批准）名称",
                "status": "String: 道路状态",
                "road_class": "String: 道路等级",
            },
        ),
        TileLayer(
            name="divisions",
            title="行政区划",
            description="行政区划：有边界面的为面，其余为代表点",
            table="divisions_division d",
            geom="COALESCE(d.geom, d.point)",
            where="d.status <> 'retired'",
            columns="d.code, d.name, d.level",
            id_column="d.id",
            fields={
                "code": "String: 区划代码",
                "name": "String: 名称",
                "level": "String: province | city | county | township | village",
            },
        ),
    )
}


# ---------------------------------------------------------------------------------------------------
# SQL: versions, tiles, clusters, bounds
# ---------------------------------------------------------------------------------------------------


def _envelope(margin: float = 0.0) -> str:
    if margin:
        return f"ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => {margin!r})"
    return "ST_TileEnvelope(%(z)s, %(x)s, %(y)s)"


def features_sql(layer: TileLayer) -> str:
    """One MVT layer of the features whose (Web Mercator) geometry meets the tile plus its buffer."""
    merc = f"ST_Transform({layer.geom}, 3857)"
    fid = f"{layer.id_column} AS fid, " if layer.id_column else ""
    mvt_id = ", 'fid'" if layer.id_column else ""
    return (
        f"SELECT ST_AsMVT(t.*, %(layer)s, {EXTENT}, 'geom'{mvt_id}) FROM ("
        f"SELECT {fid}ST_AsMVTGeom({merc}, {_envelope()}, {EXTENT}, {BUFFER}, true) AS geom, "
        f"{layer.columns} FROM {layer.table} {layer.joins} "
        f"WHERE {layer.filters(f'{merc} && {_envelope(MARGIN)}')}"
        ") AS t WHERE t.geom IS NOT NULL"
    )


def _cell_size(z: int) -> float:
    """Side of a cluster cell at zoom z, in Web Mercator metres."""
    return 2 * HALF_WORLD / (2**z * GRID_CELLS)


def live_clusters_sql(layer: TileLayer) -> str:
    """Clusters of one tile computed from the indexed points: one point per occupied cell, at the
    mean position of its members, with their `count`. Cells of side %(cell)s are assigned by
    floor((x + W) / cell), floor((W - y) / cell); a cell index shifted right by %(shift)s is the tile's
    x/y, so only this tile's cells are kept and the counts add up to the tile's points."""
    merc = f"ST_Transform({layer.geom}, 3857)"
    return (
        f"SELECT ST_AsMVT(t.*, %(layer)s, {EXTENT}, 'geom') FROM ("
        f"SELECT ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(c.sx / c.n, c.sy / c.n), 3857), {_envelope()}, "
        f"{EXTENT}, {BUFFER}, true) AS geom, c.n::integer AS count FROM ("
        f"SELECT floor((p.px + {HALF_WORLD!r}) / %(cell)s)::bigint AS cx, "
        f"floor(({HALF_WORLD!r} - p.py) / %(cell)s)::bigint AS cy, "
        "count(*) AS n, sum(p.px) AS sx, sum(p.py) AS sy FROM ("
        "SELECT ST_X(m.g) AS px, ST_Y(m.g) AS py FROM ("
        f"SELECT {merc} AS g FROM {layer.table} "
        f"WHERE {layer.filters(f'{merc} && {_envelope(MARGIN)}')} OFFSET 0"
        ") AS m) AS p GROUP BY 1, 2) AS c "
        "WHERE c.cx >> %(shift)s = %(x)s AND c.cy >> %(shift)s = %(y)s"
        ") AS t WHERE t.geom IS NOT NULL"
    )


# Clusters of a tile below the cluster zoom: the grid rows of that zoom and tile.
GRID_TILE_SQL = (
    f"SELECT ST_AsMVT(t.*, %(layer)s, {EXTENT}, 'geom') FROM ("
    f"SELECT ST_AsMVTGeom(g.geom, {_envelope()}, {EXTENT}, {BUFFER}, true) AS geom, g.n AS count "
    "FROM core_tile_grid g WHERE g.layer = %(layer)s AND g.z = %(z)s AND g.x = %(x)s AND g.y = %(y)s"
    ") AS t WHERE t.geom IS NOT NULL"
)

# Clusters of an over-full tile at or above the cluster zoom: the finest grid cells inside it (each
# finest cell lies wholly inside one tile up to GRID_SHIFT zooms deeper; its centroid tells which).
GRID_DENSE_SQL = (
    f"SELECT ST_AsMVT(t.*, %(layer)s, {EXTENT}, 'geom') FROM ("
    f"SELECT ST_AsMVTGeom(g.geom, {_envelope()}, {EXTENT}, {BUFFER}, true) AS geom, g.n AS count "
    "FROM core_tile_grid g WHERE g.layer = %(layer)s AND g.z = %(base)s "
    f"AND g.x = %(bx)s AND g.y = %(by)s AND g.geom && {_envelope()}"
    ") AS t WHERE t.geom IS NOT NULL"
)


def grid_build_sql(layer: TileLayer) -> str:
    """Rebuild a layer's grid for zooms 0 … base in one statement (one snapshot, so the stored version
    is exactly the data's): base cells from the points, then each coarser zoom by shifting indices."""
    merc = f"ST_Transform({layer.geom}, 3857)"
    return (
        "WITH v AS (SELECT COALESCE(sum(weight), 0)::bigint AS version "
        "FROM core_tile_change WHERE layer = %(layer)s), "
        f"m AS MATERIALIZED (SELECT {merc} AS g FROM {layer.table} WHERE {layer.filters()}), "
        "p AS (SELECT ST_X(g) AS px, ST_Y(g) AS py FROM m), "
        f"base AS (SELECT floor((px + {HALF_WORLD!r}) / %(cell)s)::bigint AS cx, "
        f"floor(({HALF_WORLD!r} - py) / %(cell)s)::bigint AS cy, "
        "count(*) AS n, sum(px) AS sx, sum(py) AS sy FROM p GROUP BY 1, 2), "
        "cells AS (SELECT z, cx >> (%(base)s - z) AS cx, cy >> (%(base)s - z) AS cy, "
        "sum(n) AS n, sum(sx) AS sx, sum(sy) AS sy "
        "FROM base CROSS JOIN generate_series(0, %(base)s) AS z GROUP BY 1, 2, 3), "
        "gone AS (DELETE FROM core_tile_grid WHERE layer = %(layer)s), "
        "ins AS (INSERT INTO core_tile_grid (layer, z, x, y, n, geom) "
        f"SELECT %(layer)s, z, (cx >> {GRID_SHIFT})::integer, (cy >> {GRID_SHIFT})::integer, n, "
        "ST_SetSRID(ST_MakePoint(sx / n, sy / n), 3857) FROM cells RETURNING z, n) "
        "INSERT INTO core_tile_grid_state (layer, version, config, points, cells, built_at) "
        "SELECT %(layer)s, v.version, %(config)s, "
        "(SELECT COALESCE(sum(n), 0) FROM ins WHERE z = 0), (SELECT count(*) FROM ins), now() FROM v "
        "ON CONFLICT (layer) DO UPDATE SET version = EXCLUDED.version, config = EXCLUDED.config, "
        "points = EXCLUDED.points, cells = EXCLUDED.cells, built_at = EXCLUDED.built_at "
        "RETURNING version, points, cells"
    )


def cluster_below_zoom() -> int:
    """settings.GEO_MZ_TILE_CLUSTER_BELOW_ZOOM, kept within 1 … MAX_ZOOM + 1 (23: always clusters)."""
    return max(1, min(MAX_ZOOM + 1, int(getattr(settings, "GEO_MZ_TILE_CLUSTER_BELOW_ZOOM", 14))))


def grid_config() -> str:
    """What a stored grid was built with; a grid built differently is not used."""
    return f"cells={GRID_CELLS};below={cluster_below_zoom()};schema={SCHEMA}"


def layer_version(name: str, using: str | None = None) -> int:
    """The layer's data version: committed writing statements on its tables so far. Folds the change
    log when it has grown (so reading the version stays a few-row index scan without a cron job).
    Read from `using`, by default core.db.read_alias() (the replica, when one serves tiles)."""
    with connections[using or read_alias()].cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(sum(weight), 0)::bigint, count(*) FROM core_tile_change WHERE layer = %s",
            [name],
        )
        version, rows = cursor.fetchone()
    if rows > COMPACT_AFTER_ROWS:
        changes_compact()
    return int(version)


@dataclass(frozen=True)
class TilePlan:
    """How a tile will be made, and the version its ETag stands for.

    source: features | grid (clusters of this zoom) | grid-dense (finest cells of an over-full tile)
    | live-clusters (computed from the points). `shape` (features or clusters) is part of the ETag,
    the source is not: grid and live clusters of the same data are the same picture."""

    source: str
    version: int
    grid_version: int | None = None  # set when a stale grid is served: part of the ETag
    grid_stale: bool = False

    @property
    def shape(self) -> str:
        return "features" if self.source == "features" else "clusters"

    @property
    def tag(self) -> str:
        tag = f"{self.version}/{self.shape}"
        return tag if self.grid_version is None else f"{tag}/{self.grid_version}"


def _dense_params(z: int, x: int, y: int) -> dict:
    base = cluster_below_zoom() - 1
    return {"base": base, "bx": x >> (z - base), "by": y >> (z - base)}


def tile_plan(layer: TileLayer, z: int, x: int = 0, y: int = 0) -> TilePlan:
    """Features, or clusters: below the cluster zoom, and for a tile that the grid says holds more than
    DENSE_TILE_POINTS points (a 256-px tile cannot show more distinctly, and encoding them costs
    hundreds of ms). Clusters come from a fresh grid, else (small layers) from the points, else from
    the stale grid (large layers)."""
    if not layer.clustered:
        return TilePlan("features", layer_version(layer.name))
    below = cluster_below_zoom()
    # Finest cells nest in tiles down to GRID_SHIFT zooms below the base zoom (below - 1).
    dense_check = below <= z <= below - 1 + GRID_SHIFT
    params = {"layer": layer.name, "config": grid_config(), "z": z, "x": x, "y": y}
    estimate_sql = "NULL"
    if dense_check:
        params |= _dense_params(z, x, y)
        estimate_sql = (
            "(SELECT COALESCE(sum(g.n), 0) FROM core_tile_grid g WHERE g.layer = %(layer)s "
            f"AND g.z = %(base)s AND g.x = %(bx)s AND g.y = %(by)s AND g.geom && {_envelope()})"
        )
    version = layer_version(layer.name)
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(
            f"SELECT s.version, s.points, CASE WHEN s.version IS NULL THEN NULL ELSE {estimate_sql} END "
            "FROM (SELECT 1) AS one "
            "LEFT JOIN core_tile_grid_state s ON s.layer = %(layer)s AND s.config = %(config)s",
            params,
        )
        grid_version, grid_points, estimate = cursor.fetchone()
    if z >= below:
        if estimate is None or estimate <= DENSE_TILE_POINTS:
            return TilePlan("features", version)
        source = "grid-dense"
    else:
        source = "grid"
    if grid_version is not None and grid_version == version:
        return TilePlan(source, version)
    if grid_version is not None and grid_points > LIVE_CLUSTER_LIMIT:
        return TilePlan(source, version, grid_version, grid_stale=True)
    return TilePlan("live-clusters", version)


class TileCache:
    """A per-process LRU of gzipped tiles, bounded in bytes (``GEO_MZ_TILE_CACHE_MB``, 0 = off).

    Keys are the tile's ETag, which already holds the layer's change-log version (and the grid's):
    any committed edit changes the key, so a cached tile is never stale and nothing is invalidated
    by hand. Each gunicorn worker keeps its own cache; a warm tile costs a dictionary lookup instead
    of an `ST_AsMVT` query and a gzip pass."""

    def __init__(self) -> None:
        import collections
        import threading

        self._items: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def budget() -> int:
        return int(getattr(settings, "GEO_MZ_TILE_CACHE_MB", 64)) * 2**20

    def get(self, key: str) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return body

    def put(self, key: str, body: bytes) -> None:
        budget = self.budget()
        if len(body) > budget // 8:  # never let one tile flush the cache
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = body
            self._bytes += len(body)
            while self._bytes > budget and self._items:
                _, old = self._items.popitem(last=False)
                self._bytes -= len(old)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
            self.hits = self.misses = 0


TILE_CACHE = TileCache()


def tile_gzip(layer: TileLayer, z: int, x: int, y: int, source: str, etag: str) -> bytes:
    """The tile gzipped (b"" when empty), from TILE_CACHE when present."""
    body = TILE_CACHE.get(etag)
    if body is None:
        data = tile_bytes(layer, z, x, y, source)
        body = gzip.compress(data, compresslevel=1, mtime=0) if data else b""
        TILE_CACHE.put(etag, body)
    return body


def tile_bytes(layer: TileLayer, z: int, x: int, y: int, source: str = "features") -> bytes:
    """The tile's MVT bytes (b"" when it holds nothing). z/x/y must already be valid."""
    params = {"layer": layer.name, "z": z, "x": x, "y": y, "cell": _cell_size(z), "shift": GRID_SHIFT}
    if source == "features":
        sql = features_sql(layer)
    elif source == "grid":
        sql = GRID_TILE_SQL
    elif source == "grid-dense":
        sql = GRID_DENSE_SQL
        params |= _dense_params(z, x, y)
    elif source == "live-clusters":
        sql = live_clusters_sql(layer)
        if z >= cluster_below_zoom():  # an over-full tile: the grid's finest cells, computed live
            base = cluster_below_zoom() - 1
            params |= {"cell": _cell_size(base), "shift": GRID_SHIFT - (z - base)}
    else:
        raise ValueError(f"unknown tile source {source!r}")
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


def grid_refresh(name: str = "addresses") -> dict:
    """Rebuild the precomputed clusters of a clustered layer (zooms 0 … cluster_below_zoom() - 1).

    Run after bulk imports (`manage.py tiles_refresh`); one statement, so the grid and the version it
    records are consistent; an advisory lock keeps concurrent refreshes of a layer in turn."""
    layer = LAYERS[name]
    if not layer.clustered:
        raise ValueError(f"layer {name!r} is not clustered")
    base = cluster_below_zoom() - 1
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"core_tile_grid:{name}"])
        cursor.execute(
            grid_build_sql(layer),
            {"layer": name, "cell": _cell_size(base), "base": base, "config": grid_config()},
        )
        version, points, cells = cursor.fetchone()
    return {
        "layer": name,
        "version": int(version),
        "points": int(points),
        "cells": int(cells),
        "seconds": round(time.perf_counter() - started, 3),
    }


def grid_state(name: str) -> dict | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT version, config, points, cells, built_at FROM core_tile_grid_state WHERE layer = %s",
            [name],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip(("version", "config", "points", "cells", "built_at"), row, strict=True))


@jobs.job_handler("tiles_refresh")
def tiles_refresh_job(ctx: jobs.JobContext) -> dict:
    """Background `tiles_refresh` of one clustered layer (queued after large imports)."""
    ctx.progress(
        0, None, f"重建聚合网格 / rebuilding the cluster grid of {ctx.job.params.get('layer', 'addresses')}"
    )
    result = grid_refresh(ctx.job.params.get("layer", "addresses"))
    changes_compact()
    return result


def changes_compact() -> int:
    """Fold each layer's change rows into one with the same total weight (so versions stay put).
    Rows committed meanwhile are not seen by the DELETE and stay. Returns the rows removed."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "WITH gone AS (DELETE FROM core_tile_change RETURNING layer, weight), "
            "kept AS (INSERT INTO core_tile_change (layer, weight) "
            "SELECT layer, sum(weight) FROM gone GROUP BY layer RETURNING layer) "
            "SELECT (SELECT count(*) FROM gone) - (SELECT count(*) FROM kept)"
        )
        return int(cursor.fetchone()[0])


def layer_bounds(layer: TileLayer, version: int) -> list[float]:
    """[west, south, east, north] in lon/lat (EPSG:4326) of the layer's data, cached per version."""
    key = f"geo_mz:tiles:bounds:{SCHEMA}:{layer.name}:{version}"
    bounds = cache.get(key)
    if bounds is None:
        srid = int(settings.GEO_MZ_SRID)
        with connections[read_alias()].cursor() as cursor:
            cursor.execute(
                "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT ST_Transform("
                f"ST_Segmentize(ST_SetSRID(ST_Extent({layer.geom})::geometry, {srid}), 500), 4326) AS b "
                f"FROM {layer.table} WHERE {layer.filters()}) AS q"
            )
            row = cursor.fetchone()
        if row is None or row[0] is None:
            bounds = [-180.0, -85.0511287798066, 180.0, 85.0511287798066]
        else:
            bounds = [round(float(v), 7) for v in row]
        cache.set(key, bounds, 3600)
    return bounds


# ---------------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------------


def _error(status: int, code: str, detail: str, field_name: str | None = None) -> JsonResponse:
    errors = {field_name: [detail]} if field_name else {}
    return JsonResponse(
        {"detail": detail, "errors": errors, "code": code},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def _unknown_layer(name: str) -> JsonResponse:
    return _error(404, "not_found", f"未知图层 / unknown layer: {name}（可选 / valid: {', '.join(LAYERS)}）")


def layer_readable(request, layer: TileLayer) -> bool:
    """The addresses layer follows settings.GEO_MZ_ADDRESSES_PUBLIC (core/visibility.py)."""
    return not layer.addresses or visibility.addresses_readable(request.user)


def _login_required(layer: TileLayer) -> JsonResponse:
    response = _error(
        401, "not_authenticated", f"图层 {layer.title} 需要登录 / layer {layer.name} needs a signed-in user"
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _etag(*parts: object) -> str:
    digest = hashlib.sha1("|".join(str(p) for p in (SCHEMA, *parts)).encode()).hexdigest()[:24]
    return f'W/"{digest}"'


def _etag_matches(request, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    tags = parse_etags(header)
    bare = etag.removeprefix("W/")
    return "*" in tags or any(t.removeprefix("W/") == bare for t in tags)


def _cache_headers(response: HttpResponse, etag: str, layer: TileLayer | None = None) -> HttpResponse:
    response["ETag"] = etag
    # A layer for signed-in users only must not be kept by shared caches (a proxy would hand it on).
    scope = (
        "private" if layer is not None and layer.addresses and not visibility.addresses_public() else "public"
    )
    response["Cache-Control"] = f"{scope}, max-age={int(settings.GEO_MZ_TILE_MAX_AGE)}"
    response["Vary"] = "Accept-Encoding, Cookie" if scope == "private" else "Accept-Encoding"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _check_zxy(z: str, x: str, y: str) -> tuple[int, int, int] | JsonResponse:
    zi, xi, yi = int(z), int(x), int(y)
    if not 0 <= zi <= MAX_ZOOM:
        return _error(400, "invalid", f"z 应在 0–{MAX_ZOOM} 之间 / z must be 0–{MAX_ZOOM}", "z")
    n = 2**zi
    for name, value in (("x", xi), ("y", yi)):
        if not 0 <= value < n:
            return _error(400, "invalid", f"{name} 应在 0–{n - 1} 之间（z={zi}） / {name} out of range", name)
    return zi, xi, yi


@require_safe
@read_pinned()
def tile(request, layer: str, z: str, x: str, y: str):
    spec = LAYERS.get(layer)
    if spec is None:
        return _unknown_layer(layer)
    if not layer_readable(request, spec):
        return _login_required(spec)
    checked = _check_zxy(z, x, y)
    if isinstance(checked, JsonResponse):
        return checked
    zi, xi, yi = checked
    started = time.perf_counter()
    plan = tile_plan(spec, zi, xi, yi)
    config = grid_config() if spec.clustered else ""
    etag = _etag(spec.name, zi, xi, yi, plan.tag, config)
    if _etag_matches(request, etag):
        return _cache_headers(HttpResponseNotModified(), etag, spec)
    body = tile_gzip(spec, zi, xi, yi, plan.source, etag)
    if not body:
        response = HttpResponse(status=204)
        del response["Content-Type"]
    elif _GZIP_RE.search(request.headers.get("Accept-Encoding", "")):
        response = HttpResponse(body, content_type=CONTENT_TYPE)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(gzip.decompress(body), content_type=CONTENT_TYPE)
    if body:
        response["Content-Length"] = str(len(response.content))
    response["X-Tile-Source"] = plan.source
    if plan.grid_stale:
        response["X-Tile-Grid"] = "stale"
    response["Server-Timing"] = f"tile;dur={(time.perf_counter() - started) * 1000:.1f}"
    return _cache_headers(response, etag, spec)


def _tiles_base(request) -> str:
    return request.build_absolute_uri(reverse("tiles-index"))


def tilejson_body(request, layer: TileLayer, version: int) -> dict:
    base = _tiles_base(request)
    west, south, east, north = layer_bounds(layer, version)
    fields = dict(layer.fields)
    below = cluster_below_zoom()
    return {
        "tilejson": "3.0.0",
        "name": layer.name,
        "description": layer.description,
        "version": "1.0.0",
        "attribution": "geo-mz 民政地理信息系统",
        "scheme": "xyz",
        "tiles": [f"{base}{layer.name}/{{z}}/{{x}}/{{y}}.pbf"],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": [west, south, east, north],
        "center": [round((west + east) / 2, 7), round((south + north) / 2, 7), 12],
        "vector_layers": [
            {
                "id": layer.name,
                "description": layer.description + (f"（z < {below} 为网格聚合）" if layer.clustered else ""),
                "fields": fields,
                "minzoom": 0,
                "maxzoom": MAX_ZOOM,
            }
        ],
        "geo_mz": {
            "srid_storage": int(settings.GEO_MZ_SRID),
            "extent": EXTENT,
            "buffer": BUFFER,
            "cluster_below_zoom": below if layer.clustered else None,
            "cluster_cells_per_tile": GRID_CELLS if layer.clustered else None,
            "dense_tile_points": DENSE_TILE_POINTS if layer.clustered else None,
            "empty_tile": "204 No Content",
        },
    }


@require_safe
@read_pinned()
def tilejson(request, layer: str):
    spec = LAYERS.get(layer)
    if spec is None:
        return _unknown_layer(layer)
    if not layer_readable(request, spec):
        return _login_required(spec)
    version = layer_version(spec.name)
    etag = _etag("tilejson", spec.name, version, cluster_below_zoom(), request.get_host())
    if _etag_matches(request, etag):
        return _cache_headers(HttpResponseNotModified(), etag, spec)
    response = JsonResponse(tilejson_body(request, spec, version), json_dumps_params={"ensure_ascii": False})
    return _cache_headers(response, etag, spec)


@require_safe
def index(request):
    base = _tiles_base(request)
    return JsonResponse(
        {
            "layers": [
                {
                    "id": layer.name,
                    "title": layer.title,
                    "tilejson": f"{base}{layer.name}.json",
                    "tiles": f"{base}{layer.name}/{{z}}/{{x}}/{{y}}.pbf",
                }
                for layer in LAYERS.values()
                if layer_readable(request, layer)
            ]
        },
        json_dumps_params={"ensure_ascii": False},
    )

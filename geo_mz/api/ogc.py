"""OGC API – Features (Part 1 Core, Part 2 CRS by reference) at /ogc/: read-only access for GIS clients
(QGIS, GDAL/ogr2ogr, OWSLib) to every public layer.

Collections are declared once in :data:`COLLECTIONS` as SQL over the domain tables. Items are built in
PostgreSQL (``json_build_object`` + ``ST_AsGeoJSON``) and streamed back as one string, so a page of
10,000 features never becomes 10,000 Python dicts.

CRS and axis order (DESIGN §2; OGC 18-058 Part 2):

* Storage is ``settings.GEO_MZ_SRID`` (a CGCS2000 Gauss-Krüger zone, metres). Geometries are transformed
  at the edge, per request.
* Without ``crs`` (or with CRS84) coordinates are longitude, latitude, as GeoJSON (RFC 7946) requires.
* With ``crs=EPSG:4326``, ``EPSG:4490`` or the storage CRS, coordinates follow the axis order of the CRS
  definition, as Part 2 requires: latitude, longitude for the two geographic CRSs and northing (X),
  easting (Y) for the Gauss-Krüger zone. ``bbox`` with ``bbox-crs`` follows the same rule. GDAL ≥ 3.7
  (the OAPIF driver's default ``SERVER_FEATURE_AXIS_ORDER=AUTHORITY_COMPLIANT``) and QGIS expect this;
  GDAL 3.6 never sends ``crs`` and gets CRS84.
* Degrees are written with 9 decimals (≈ 0.1 mm), metres with 4.

Paging: ``limit`` (default 100, larger values are clamped to 10,000) and ``offset``. ``next`` links also
carry ``after``, the last row's key, so deep pages are index range scans instead of ``OFFSET`` scans;
``numberMatched`` is an exact count on requests without ``after`` (the first page and explicit offsets)
when at most ``COUNT_LIMIT`` (100,000) features match; beyond that, and on ``after`` pages, it is left
out (the standard makes it optional), so a page of a million-row layer never waits for a full count.
Page queries run with JIT and parallel plans off: they are short index scans, for which PostgreSQL's
worker start-up and compilation cost more than they save (measured: 87 → 21 ms for a bbox count).

Permissions: the collections in ``settings.GEO_MZ_OGC_PUBLIC`` are anonymous, except ``addresses``, which
follows ``settings.GEO_MZ_ADDRESSES_PUBLIC`` like tiles, REST and exports; the others need a signed-in
user (session) or an API token (``Authorization: Token …``). Collections a request may not read are left
out of /collections and answer 401. Addresses never carry personal data.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import connections, transaction
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from pyproj import CRS
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from geo_mz.api.exceptions import json_exception_handler
from geo_mz.core import visibility
from geo_mz.core.db import read_alias

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
# numberMatched is counted up to this many features and left out above it.
COUNT_LIMIT = 100_000
# The collection of house-number points, public only with settings.GEO_MZ_ADDRESSES_PUBLIC.
ADDRESSES = "addresses"

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA_JSON = "application/schema+json"

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]

# Query parameters of /items other than property filters.
ITEMS_PARAMS = frozenset({"f", "limit", "offset", "after", "bbox", "bbox-crs", "crs", "datetime"})


# ---------------------------------------------------------------------------------------------------
# CRS
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputCrs:
    """A CRS the service speaks. `srid` is the PostGIS SRID to transform to; `north_first` means the
    CRS definition lists latitude/northing first, so coordinates are flipped on the way out and bbox
    values are read in that order."""

    uri: str
    srid: int
    north_first: bool
    geographic: bool

    @property
    def digits(self) -> int:
        return 9 if self.geographic else 4


def _north_first(srid: int) -> bool:
    return CRS.from_epsg(srid).axis_info[0].direction in ("north", "south")


@cache
def _supported(storage_srid: int) -> dict[str, OutputCrs]:
    out = {CRS84: OutputCrs(CRS84, 4326, north_first=False, geographic=True)}
    for srid in (4326, 4490, storage_srid):
        uri = EPSG_URI.format(srid)
        out[uri] = OutputCrs(uri, srid, north_first=_north_first(srid), geographic=srid in (4326, 4490))
    return out


def supported_crs() -> dict[str, OutputCrs]:
    """CRS URI → OutputCrs: CRS84, EPSG:4326, EPSG:4490 and the storage CRS, in that order."""
    return _supported(settings.GEO_MZ_SRID)


def storage_crs_uri() -> str:
    return EPSG_URI.format(settings.GEO_MZ_SRID)


_EPSG_RE = re.compile(r"(?:/def/crs/epsg/\d+(?:\.\d+)*/|epsg::|^epsg:)(\d+)$")


def crs_parse(value: str, param: str) -> OutputCrs:
    """A `crs`/`bbox-crs` value → OutputCrs. Takes the OGC URI, a safe CURIE ([EPSG:4490]), a URN or the
    short EPSG:4490 / OGC:CRS84 forms. 400 for anything else."""
    text = value.strip().strip("[]").lower()
    if text.endswith("crs84") and ("opengis.net/def/crs/ogc/" in text or text in ("ogc:crs84", "crs84")):
        return supported_crs()[CRS84]
    if text == "urn:ogc:def:crs:ogc:1.3:crs84":
        return supported_crs()[CRS84]
    m = _EPSG_RE.search(text)
    if m:
        found = supported_crs().get(EPSG_URI.format(int(m.group(1))))
        if found:
            return found
    raise serializers.ValidationError(
        {
            param: [
                f"不支持的坐标参考系 {value!r}，可选 / unsupported CRS {value!r}; use one of: "
                + ", ".join(supported_crs())
            ]
        }
    )


# ---------------------------------------------------------------------------------------------------
# Collections
# ---------------------------------------------------------------------------------------------------

TYPES = {"string", "integer", "number", "boolean", "date"}


@dataclass(frozen=True)
class Prop:
    """One feature property: its SQL expression, JSON type, title and, when queryable, how to filter.

    `filter_sql` (with one %s) replaces the default ``(<sql>) = %s``, e.g. to filter by a code through
    an indexed foreign key instead of a per-row subquery."""

    name: str
    sql: str
    type: str
    title: str
    queryable: bool = True
    filter_sql: str | None = None

    def __post_init__(self) -> None:
        assert self.type in TYPES, self.type


@dataclass(frozen=True)
class Collection:
    """A feature collection as SQL. `geom` is in the storage CRS; `key` orders pages (unique, indexed)
    and `fid` is the public feature id (the code where the domain has a unique one)."""

    id: str
    title: str
    description: str
    from_sql: str
    geom: str
    geometry_type: str
    key: str
    fid: str
    fid_is_int: bool
    props: tuple[Prop, ...]
    where: str = "TRUE"
    key_is_int: bool = True

    @property
    def queryables(self) -> dict[str, Prop]:
        return {p.name: p for p in self.props if p.queryable}


def _division_code(fk: str) -> str:
    return f"(SELECT code FROM divisions_division WHERE id = {fk})"


def _division_filter(fk: str) -> str:
    return f"{fk} = (SELECT id FROM divisions_division WHERE code = %s)"


def _division_prop(name: str, fk: str, label: str) -> Prop:
    """A division-code property read through a foreign key, filterable by code (uses the FK index)."""
    return Prop(name, _division_code(fk), "string", label, filter_sql=_division_filter(fk))


_DIVISION_PROPS = (
    Prop("code", "d.code", "string", "区划代码"),
    Prop("name", "d.name", "string", "名称"),
    Prop("level", "d.level", "string", "级别"),
    _division_prop("parent_code", "d.parent_id", "上级区划代码"),
    Prop("status", "d.status", "string", "状态"),
    Prop("population", "d.population", "integer", "常住人口"),
    Prop("population_60_plus", "d.population_60_plus", "integer", "60岁及以上人口"),
    Prop("households", "d.households", "integer", "户数"),
    Prop("area_km2", "round((ST_Area(d.geom) / 1e6)::numeric, 4)", "number", "面积（平方千米）", False),
    Prop("synthetic", "d.synthetic", "boolean", "合成数据"),
)

_LATEST_COVERAGE_RUN = (
    "(SELECT id FROM coverage_coveragerun WHERE kind = 'coverage' ORDER BY started_at DESC, id DESC LIMIT 1)"
)

COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            id="divisions",
            title="行政区划",
            description="省、市、县、乡、村各级行政区划。几何为边界面（MultiPolygon），尚无边界面的区划几何为空，"
            "其代表点见 division_points。/ Administrative divisions with their polygons (null where none is "
            "known yet; see division_points).",
            from_sql="divisions_division d",
            geom="d.geom",
            geometry_type="MultiPolygon",
            key="d.id",
            fid="d.code",
            fid_is_int=False,
            props=_DIVISION_PROPS,
        ),
        Collection(
            id="division_points",
            title="行政区划代表点",
            description="各级行政区划的代表点（标注点），含尚无边界面的村级区划。/ Representative points of "
            "every located division, villages included.",
            from_sql="divisions_division d",
            where="d.point IS NOT NULL",
            geom="d.point",
            geometry_type="Point",
            key="d.id",
            fid="d.code",
            fid_is_int=False,
            props=tuple(p for p in _DIVISION_PROPS if p.name != "area_km2"),
        ),
        Collection(
            id="roads",
            title="道路街巷",
            description="道路、街、巷等地名实体及其现行标准名称和罗马字母拼写。/ Named roads, streets and "
            "alleys with their current standard name.",
            from_sql="placenames_namedfeature f JOIN placenames_featurekind k ON k.id = f.kind_id "
            "LEFT JOIN placenames_placename n ON n.feature_id = f.id AND n.status = 'active'",
            # a road stored as a point (an old table import) cannot go into a MultiLineString layer:
            # GeoPackage/Shapefile exports of the whole layer failed on it
            where="k.is_road AND (f.geom IS NULL OR ST_Dimension(f.geom) = 1)",
            geom="ST_Multi(f.geom)",
            geometry_type="MultiLineString",
            key="f.id",
            fid="f.code",
            fid_is_int=False,
            props=(
                Prop("code", "f.code", "string", "编码"),
                Prop("name", "n.name", "string", "标准名称"),
                Prop("romanization", "n.romanization", "string", "罗马字母拼写"),
                Prop("kind", "k.code", "string", "类别"),
                Prop("kind_name", "k.name", "string", "类别名称", False),
                Prop("status", "f.status", "string", "状态"),
                Prop("road_class", "f.road_class", "string", "道路等级"),
                Prop("width_m", "f.width_m", "number", "宽度（米）", False),
                Prop("length_m", "round(f.length_m::numeric, 2)", "number", "长度（米）", False),
                _division_prop("division_code", "f.division_id", "所属区划代码"),
                Prop("synthetic", "f.synthetic", "boolean", "合成数据"),
            ),
        ),
        Collection(
            id="addresses",
            title="门牌",
            description="门牌（门口位置）。不含任何权利人信息。/ House numbers at their entrances; no "
            "personal data.",
            from_sql="addresses_address a",
            geom="a.point",
            geometry_type="Point",
            key="a.id",
            fid="a.code",
            fid_is_int=False,
            props=(
                Prop("code", "a.code", "string", "门牌编码"),
                Prop("full_text", "a.full_text", "string", "标准地址"),
                Prop("label", "a.label", "string", "门牌"),
                Prop("kind", "a.kind", "string", "类型"),
                Prop("status", "a.status", "string", "状态"),
                Prop("number", "a.number", "integer", "门牌号"),
                Prop("suffix", "a.suffix", "string", "附号"),
                _division_prop("division_code", "a.division_id", "所属区划代码"),
            ),
        ),
        Collection(
            id="boundary_lines",
            title="行政区域界线",
            description="行政区域界线（两侧区划、界线协议书编号）。/ Administrative boundary lines.",
            from_sql="boundaries_boundaryline l",
            geom="l.geom",
            geometry_type="MultiLineString",
            key="l.id",
            fid="l.id",
            fid_is_int=True,
            props=(
                Prop("code", "l.code", "string", "界线编号"),
                Prop("name", "l.name", "string", "界线名称"),
                Prop("level", "l.level", "string", "界线级别"),
                Prop("section", "l.section", "integer", "段号"),
                Prop("status", "l.status", "string", "状态"),
                _division_prop("division_a_code", "l.division_a_id", "甲方区划代码"),
                _division_prop("division_b_code", "l.division_b_id", "乙方区划代码"),
                Prop("length_m", "round(l.length_m::numeric, 2)", "number", "长度（米）", False),
                Prop("agreement_no", "l.agreement_no", "string", "界线协议书编号"),
                Prop("synthetic", "l.synthetic", "boolean", "合成数据"),
            ),
        ),
        Collection(
            id="boundary_markers",
            title="界桩",
            description="界桩及其状况；x_northing / y_easting 为高斯-克吕格坐标（X 北、Y 东，米）。/ Boundary "
            "markers; x_northing / y_easting are Gauss-Krüger metres as surveyors write them.",
            from_sql="boundaries_marker m",
            geom="m.point",
            geometry_type="Point",
            key="m.id",
            fid="m.id",
            fid_is_int=True,
            props=(
                Prop("number", "m.number", "string", "界桩编号"),
                Prop(
                    "line_code",
                    "(SELECT code FROM boundaries_boundaryline WHERE id = m.line_id)",
                    "string",
                    "界线编号",
                    filter_sql="m.line_id IN (SELECT id FROM boundaries_boundaryline WHERE code = %s)",
                ),
                Prop("seq", "m.seq", "integer", "序号", False),
                Prop("kind", "m.kind", "string", "界桩类型"),
                Prop("material", "m.material", "string", "材质"),
                Prop("status", "m.status", "string", "状态"),
                Prop("last_condition", "m.last_condition", "string", "最近状况"),
                Prop("last_inspected_on", "m.last_inspected_on", "date", "最近检查日期", False),
                Prop("needs_repair", "m.needs_repair", "boolean", "待修复"),
                Prop("x_northing", "round(ST_Y(m.point)::numeric, 3)", "number", "X（北，米）", False),
                Prop("y_easting", "round(ST_X(m.point)::numeric, 3)", "number", "Y（东，米）", False),
                Prop("elevation_m", "m.elevation_m", "number", "高程（米）", False),
                Prop("synthetic", "m.synthetic", "boolean", "合成数据"),
            ),
        ),
        Collection(
            id="facilities",
            title="民政设施",
            description="养老、殡葬、救助、社区等民政设施及其床位、服务能力。/ Civil-affairs facilities with "
            "their capacity.",
            from_sql="facilities_facility f JOIN facilities_facilitytype t ON t.id = f.type_id",
            geom="f.point",
            geometry_type="Point",
            key="f.id",
            fid="f.code",
            fid_is_int=False,
            props=(
                Prop("code", "f.code", "string", "设施编码"),
                Prop("name", "f.name", "string", "名称"),
                Prop("type", "t.code", "string", "类型"),
                Prop("type_name", "t.name", "string", "类型名称", False),
                Prop("status", "f.status", "string", "状态"),
                Prop("operator", "f.operator", "string", "举办性质"),
                Prop("beds", "f.beds", "integer", "床位数", False),
                Prop("nursing_beds", "f.nursing_beds", "integer", "护理型床位数", False),
                Prop("places", "f.places", "integer", "服务人数", False),
                _division_prop("division_code", "f.division_id", "所在区划代码"),
                Prop("synthetic", "f.synthetic", "boolean", "合成数据"),
            ),
        ),
        Collection(
            id="coverage",
            title="覆盖分析结果",
            description="最近一次覆盖分析（kind=coverage）各乡镇的覆盖率；无分析记录时为空。/ Township results "
            "of the latest stored coverage run; empty when there is none.",
            from_sql="coverage_coveragerun r CROSS JOIN LATERAL jsonb_array_elements(r.divisions) e "
            "LEFT JOIN divisions_division d ON d.code = e->>'code'",
            where=f"r.id = {_LATEST_COVERAGE_RUN}",
            geom="d.geom",
            geometry_type="MultiPolygon",
            key="(e->>'code')",
            fid="(e->>'code')",
            fid_is_int=False,
            key_is_int=False,
            props=(
                Prop("code", "e->>'code'", "string", "区划代码"),
                Prop("name", "coalesce(d.name, e->>'name')", "string", "名称", False),
                Prop("share", "(e->>'share')::float", "number", "覆盖率", False),
                Prop("covered", "(e->>'covered_weight')::float", "number", "覆盖人数", False),
                Prop("total", "(e->>'total_weight')::float", "number", "需求总数", False),
                Prop("uncovered", "(e->>'uncovered_weight')::float", "number", "未覆盖人数", False),
                Prop("capacity_per_1000", "(e->>'capacity_per_1000')::float", "number", "千人能力", False),
                Prop("run_id", "r.id", "integer", "分析记录", False),
                Prop("run_label", "r.label", "string", "分析名称", False),
                Prop("run_started_at", "r.started_at", "string", "分析时间", False),
            ),
        ),
    )
}


def public_collection_ids() -> set[str]:
    ids = set(settings.GEO_MZ_OGC_PUBLIC)
    unknown = ids - set(COLLECTIONS)
    if unknown:
        logger.warning("GEO_MZ_OGC_PUBLIC names unknown collections: %s", ", ".join(sorted(unknown)))
    # House-number points have one switch for tiles, REST, OGC and exports alike (core/visibility.py).
    ids.discard(ADDRESSES)
    if visibility.addresses_public():
        ids.add(ADDRESSES)
    return ids & set(COLLECTIONS)


def can_read(user, collection_id: str) -> bool:
    return collection_id in public_collection_ids() or bool(user and user.is_authenticated)


# ---------------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------------

# Geographic bboxes are clipped to this box before they are projected into the storage zone: the data
# of a deployment lies in China, and Gauss-Krüger formulas are meaningless half a world away.
_PROJECTABLE = (72.0, 0.0, 138.0, 56.0)


@dataclass
class Query:
    """A parsed items request: WHERE fragments with their parameters, the output CRS and paging."""

    collection: Collection
    out: OutputCrs
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after: int | str | None = None
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def where_sql(self, with_after: bool = True) -> tuple[str, list[Any]]:
        parts = [self.collection.where, *self.where]
        params = list(self.params)
        if with_after and self.after is not None:
            parts.append(f"{self.collection.key} > %s")
            params.append(self.after)
        return " AND ".join(f"({p})" for p in parts), params


def _geometry_sql(c: Collection, out: OutputCrs) -> str:
    g = c.geom if out.srid == settings.GEO_MZ_SRID else f"ST_Transform({c.geom}, {out.srid})"
    if out.north_first:
        g = f"ST_FlipCoordinates({g})"
    return f"ST_AsGeoJSON({g}, {out.digits}, 0)::json"


def _feature_sql(c: Collection, out: OutputCrs) -> str:
    props = ", ".join(f"'{p.name}', {p.sql}" for p in c.props)
    return (
        f"json_build_object('type', 'Feature', 'id', {c.fid}, 'geometry', {_geometry_sql(c, out)}, "
        f"'properties', json_build_object({props}))"
    )


def items_page(q: Query) -> tuple[int, int | str | None, str]:
    """(numberReturned, last key, the features as one JSON array body without brackets)."""
    c = q.collection
    where, params = q.where_sql()
    feature = _feature_sql(c, q.out)
    if q.after is not None or q.offset == 0:
        page = (
            f"SELECT {c.key} AS k, {feature} AS f FROM {c.from_sql} WHERE {where} ORDER BY {c.key} LIMIT %s"
        )
        args = [*params, q.limit]
    else:
        # PostgreSQL computes the select list of the rows OFFSET skips: find the page's keys first, then
        # build only those features.
        page = (
            f"WITH keys AS MATERIALIZED (SELECT {c.key} AS k FROM {c.from_sql} WHERE {where} "
            f"ORDER BY {c.key} LIMIT %s OFFSET %s) "
            f"SELECT {c.key} AS k, {feature} AS f FROM {c.from_sql} "
            f"WHERE {where} AND {c.key} IN (SELECT k FROM keys)"
        )
        args = [*params, q.limit, q.offset, *params]
    sql = (
        f"WITH page AS ({page}) "
        "SELECT count(*), max(k), coalesce(string_agg(f::text, ',' ORDER BY k), '') FROM page"
    )
    with connections[read_alias()].cursor() as cur:
        cur.execute(sql, args)
        returned, last_key, body = cur.fetchone()
    return returned, last_key, body


def items_count(q: Query) -> int | None:
    """The number of matching features, or None when more than COUNT_LIMIT match."""
    c = q.collection
    where, params = q.where_sql(with_after=False)
    with connections[read_alias()].cursor() as cur:
        cur.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {c.from_sql} WHERE {where} LIMIT %s) s",
            [*params, COUNT_LIMIT + 1],
        )
        n = cur.fetchone()[0]
    return n if n <= COUNT_LIMIT else None


@contextmanager
def short_queries():
    """A transaction whose queries run without JIT and parallel workers (see the module docstring)."""
    alias = read_alias()
    with transaction.atomic(using=alias), connections[alias].cursor() as cur:
        cur.execute("SET LOCAL jit = off")
        cur.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield


def item_json(c: Collection, feature_id: str, out: OutputCrs) -> str | None:
    if c.fid_is_int:
        try:
            value: int | str = int(feature_id)
        except ValueError:
            return None
    else:
        value = feature_id
    sql = f"SELECT {_feature_sql(c, out)}::text FROM {c.from_sql} WHERE ({c.where}) AND {c.fid} = %s LIMIT 1"
    with connections[read_alias()].cursor() as cur:
        cur.execute(sql, [value])
        row = cur.fetchone()
    return row[0] if row else None


def collection_extent(c: Collection) -> list[float] | None:
    """The CRS84 bbox of the collection: the storage-CRS extent (ST_Extent, one pass over the table),
    densified and transformed, rounded outwards to 1e-7°. None when the collection is empty."""
    srid = settings.GEO_MZ_SRID
    sql = (
        f"WITH e AS (SELECT ST_SetSRID(ST_Extent({c.geom})::geometry, {srid}) AS g FROM {c.from_sql} "
        f"WHERE {c.where}) "
        "SELECT ST_XMin(x), ST_YMin(x), ST_XMax(x), ST_YMax(x) FROM (SELECT ST_Extent(ST_Transform("
        "ST_Segmentize(g, greatest((ST_XMax(g) - ST_XMin(g) + ST_YMax(g) - ST_YMin(g)) / 200, 1)), 4326)) AS x "
        "FROM e WHERE g IS NOT NULL) s"
    )
    with connections[read_alias()].cursor() as cur:
        cur.execute(sql)
        row = cur.fetchone()
    if not row or row[0] is None:
        return None
    minx, miny, maxx, maxy = row
    return [
        math.floor(minx * 1e7) / 1e7,
        math.floor(miny * 1e7) / 1e7,
        math.ceil(maxx * 1e7) / 1e7,
        math.ceil(maxy * 1e7) / 1e7,
    ]


# ---------------------------------------------------------------------------------------------------
# Request parsing
# ---------------------------------------------------------------------------------------------------


def _bad(param: str, message: str) -> serializers.ValidationError:
    return serializers.ValidationError({param: [message]})


def _int_param(params, name: str, default: int, minimum: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad(name, f"{name} 须为整数 / {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise _bad(name, f"{name} 不能小于 {minimum} / {name} must be at least {minimum}, got {value}")
    return value


def bbox_filter(raw: str, bbox_crs: OutputCrs) -> tuple[str, list[Any]]:
    """`bbox` (4 or 6 numbers, in the axis order of `bbox-crs`) → an ST_Intersects condition against the
    storage geometry. Geographic boxes are densified before projection, so their curved edges in the
    Gauss-Krüger plane are followed to about a centimetre (boxes up to 2° across)."""
    from geo_mz.core import crs

    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        raise _bad(
            "bbox", f"bbox 须为 4 个以逗号分隔的数字 / bbox must be 4 comma-separated numbers: {raw!r}"
        ) from None
    if len(values) == 6:  # minx, miny, minz, maxx, maxy, maxz: heights are ignored
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise _bad(
            "bbox", f"bbox 须为 4 个以逗号分隔的数字 / bbox must be 4 comma-separated numbers: {raw!r}"
        )
    a1, b1, a2, b2 = values
    x1, y1, x2, y2 = (b1, a1, b2, a2) if bbox_crs.north_first else (a1, b1, a2, b2)
    order = "lat,lon" if bbox_crs.north_first else "lon,lat"
    if bbox_crs.geographic:
        errors = []
        for lon, lat in ((x1, y1), (x2, y2)):
            try:
                crs.check_lonlat(lon, lat)
            except crs.CoordinateError as exc:
                if exc.code != "outside_china":
                    errors.append(exc)
        # A corner of a continent-wide view may look swapped on its own; both looking swapped is a mistake.
        fatal = [e for e in errors if e.code != "swapped_lat_lon"] or (errors if len(errors) == 2 else [])
        if fatal:
            raise _bad(
                "bbox",
                f"bbox 坐标无效（{bbox_crs.uri} 的轴顺序为 {order}）/ invalid bbox for {bbox_crs.uri} "
                f"(axis order {order}): {fatal[0].message}",
            )
    if x1 > x2 or y1 > y2:
        raise _bad(
            "bbox",
            f"bbox 下限大于上限（轴顺序 {order}；不支持跨越180°经线）/ bbox lower corner exceeds the upper "
            f"corner (axis order {order}; boxes across the antimeridian are not supported): {raw!r}",
        )
    srid = settings.GEO_MZ_SRID
    if not bbox_crs.geographic:
        return "ST_Intersects({geom}, ST_MakeEnvelope(%s, %s, %s, %s, %s))", [x1, y1, x2, y2, srid]
    px1, py1, px2, py2 = _PROJECTABLE
    x1, y1, x2, y2 = max(x1, px1), max(y1, py1), min(x2, px2), min(y2, py2)
    if x1 > x2 or y1 > y2:
        return "FALSE", []
    # A parallel is curved in the Gauss-Krüger plane: a 0.01° chord strays ~1 cm from it, 0.05° ~0.3 m,
    # 1° ~100 m (measured at 20–45°N). Boxes wider than 2° get longer chords, 200 per pair of edges.
    step = max(0.01, ((x2 - x1) + (y2 - y1)) / 200)
    return (
        "ST_Intersects({geom}, ST_Transform(ST_Segmentize(ST_MakeEnvelope(%s, %s, %s, %s, %s), %s), %s))",
        [x1, y1, x2, y2, bbox_crs.srid, step, srid],
    )


def _filter_value(p: Prop, raw: str) -> Any:
    try:
        if p.type == "integer":
            return int(raw)
        if p.type == "number":
            return float(raw)
        if p.type == "boolean":
            lowered = raw.strip().lower()
            if lowered in ("true", "1", "t", "yes"):
                return True
            if lowered in ("false", "0", "f", "no"):
                return False
            raise ValueError(raw)
        if p.type == "date":
            return dt.date.fromisoformat(raw)
    except ValueError:
        raise _bad(p.name, f"{p.name} 须为 {p.type} / {p.name} must be a {p.type}, got {raw!r}") from None
    return raw


def _rfc3339(value: str) -> bool:
    try:
        return parse_datetime(value) is not None or parse_date(value) is not None
    except ValueError:
        return False


def datetime_check(raw: str) -> None:
    """Part 1 requires `datetime` (an RFC 3339 instant or interval, `..` for an open end) on every items
    operation. These collections declare no temporal extent, so a valid value filters nothing; a
    malformed one is a 400."""
    parts = raw.split("/")
    if len(parts) == 1:
        ok = _rfc3339(parts[0])
    elif len(parts) == 2:
        open_ends = [p in ("", "..") for p in parts]
        ok = not all(open_ends) and all(o or _rfc3339(p) for o, p in zip(open_ends, parts, strict=True))
    else:
        ok = False
    if not ok:
        raise _bad(
            "datetime",
            f"datetime 须为 RFC 3339 时刻或时段 / datetime must be an RFC 3339 instant or interval "
            f"(e.g. 2024-01-01T00:00:00Z or 2024-01-01/..), got {raw!r}",
        )


def items_query(c: Collection, params) -> Query:
    """Parse /items query parameters. 400 with the parameter's name for anything malformed or unknown."""
    unknown = sorted(set(params) - ITEMS_PARAMS - set(c.queryables))
    if unknown:
        allowed = ", ".join(sorted(ITEMS_PARAMS | set(c.queryables)))
        raise _bad(
            unknown[0],
            f"未知参数 {unknown[0]}，可用 / unknown parameter {unknown[0]!r}; this collection takes: {allowed}",
        )
    out = crs_parse(params["crs"], "crs") if params.get("crs") else supported_crs()[CRS84]
    q = Query(
        collection=c,
        out=out,
        limit=min(_int_param(params, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT),
        offset=_int_param(params, "offset", 0, 0),
    )
    if params.get("after"):
        q.after = _int_param(params, "after", 0, 0) if c.key_is_int else params["after"]
    if params.get("datetime"):
        datetime_check(params["datetime"])
    bbox_crs = crs_parse(params["bbox-crs"], "bbox-crs") if params.get("bbox-crs") else supported_crs()[CRS84]
    if params.get("bbox"):
        cond, cond_params = bbox_filter(params["bbox"], bbox_crs)
        q.where.append(cond.format(geom=c.geom))
        q.params.extend(cond_params)
    for name, p in c.queryables.items():
        if name in params:
            q.where.append(p.filter_sql or f"({p.sql}) = %s")
            q.params.append(_filter_value(p, params[name]))
    return q


# ---------------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------------


class _FirstRenderer(BaseContentNegotiation):
    """The views negotiate JSON / HTML themselves (f=…, Accept); DRF only renders errors, as JSON."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _ogc_exception_handler(exc, context):
    response = json_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict):
        # OGC's exception schema has `code` and `description`; the project's shape has `detail` and
        # `errors`. Give both.
        response.data["description"] = response.data.get("detail", "")
        if response.status_code == 400:
            response.data["code"] = "InvalidParameterValue"
    return response


def _wants_html(request) -> bool:
    f = request.query_params.get("f")
    if f:
        if f not in ("json", "html"):
            raise _bad("f", f"f 须为 json 或 html / f must be json or html, got {f!r}")
        return f == "html"
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "json" not in accept


def _json_response(body: Any, content_type: str = JSON, headers: dict | None = None) -> HttpResponse:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)
    return HttpResponse(text, content_type=f"{content_type}; charset=utf-8", headers=headers)


def _url(request, path: str, params: dict | None = None) -> str:
    url = request.build_absolute_uri(f"/ogc/{path}")
    return f"{url}?{urlencode(params)}" if params else url


def _link(href: str, rel: str, type_: str, title: str) -> dict:
    return {"href": href, "rel": rel, "type": type_, "title": title}


def _self_and_alternate(request, path: str, json_type: str = JSON, extra: dict | None = None) -> list:
    params = dict(extra or {})
    html = request.query_params.get("f") == "html" or _wants_html(request)
    json_link = _link(
        _url(request, path, {**params, "f": "json"}), "self" if not html else "alternate", json_type, "JSON"
    )
    html_link = _link(
        _url(request, path, {**params, "f": "html"}), "self" if html else "alternate", HTML, "HTML"
    )
    return [json_link, html_link] if not html else [html_link, json_link]


class OgcView(APIView):
    """Token first, so that an anonymous request for a protected collection gets 401 + WWW-Authenticate."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _FirstRenderer

    def get_exception_handler(self):
        return _ogc_exception_handler

    def collection(self, request, collection_id: str) -> Collection:
        c = COLLECTIONS.get(collection_id)
        if c is None:
            raise exceptions.NotFound(
                f"未知集合 {collection_id} / unknown collection {collection_id!r}; "
                f"see /ogc/collections ({', '.join(COLLECTIONS)})"
            )
        if not can_read(request.user, c.id):
            raise exceptions.NotAuthenticated(
                f"集合 {c.id} 需要登录或令牌 / collection {c.id!r} needs a signed-in user or an API token "
                "(Authorization: Token …; POST /api/auth/token/)"
            )
        return c

    def html(self, request, template: str, context: dict) -> HttpResponse:
        return render(request._request, f"ogc/{template}", context)


_F_PARAM = OpenApiParameter("f", str, enum=["json", "html"], description="输出格式 / output format")
_COLLECTION_PARAM = OpenApiParameter(
    "collection_id", str, OpenApiParameter.PATH, enum=list(COLLECTIONS), description="集合 / collection id"
)
_TAGS = ["OGC API – Features"]


class LandingView(OgcView):
    @extend_schema(
        operation_id="ogc_landing", tags=_TAGS, parameters=[_F_PARAM], responses={200: OpenApiTypes.OBJECT}
    )
    def get(self, request):
        """Landing page: links to the API definition, the conformance declaration and the collections."""
        links = [
            *_self_and_alternate(request, ""),
            _link(
                request.build_absolute_uri("/api/schema/?format=json"),
                "service-desc",
                OPENAPI_JSON,
                "OpenAPI",
            ),
            _link(
                request.build_absolute_uri("/api/docs/"), "service-doc", HTML, "接口文档 / API documentation"
            ),
            _link(_url(request, "conformance"), "conformance", JSON, "符合性声明 / conformance"),
            _link(
                _url(request, "conformance"),
                "http://www.opengis.net/def/rel/ogc/1.0/conformance",
                JSON,
                "符合性声明 / conformance",
            ),
            _link(_url(request, "collections"), "data", JSON, "数据集合 / collections"),
            _link(
                _url(request, "collections"),
                "http://www.opengis.net/def/rel/ogc/1.0/data",
                JSON,
                "数据集合 / collections",
            ),
        ]
        body = {
            "title": f"{settings.GEO_MZ_BUREAU_NAME} 民政地理信息 OGC API – Features",
            "description": "行政区划、道路街巷、门牌、界线界桩、民政设施与覆盖分析结果。坐标默认为经度、纬度"
            "（CRS84）；可用 crs 参数请求 EPSG:4326、EPSG:4490 或存储坐标系。/ Divisions, roads, house numbers, "
            "boundaries, facilities and coverage results.",
            "links": links,
        }
        if _wants_html(request):
            return self.html(request, "landing.html", {"doc": body})
        return _json_response(body)


class ConformanceView(OgcView):
    @extend_schema(
        operation_id="ogc_conformance",
        tags=_TAGS,
        parameters=[_F_PARAM],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        """The conformance classes this API implements."""
        body = {"conformsTo": CONFORMANCE}
        if _wants_html(request):
            return self.html(request, "conformance.html", {"doc": body})
        return _json_response(body)


def collection_doc(request, c: Collection) -> dict:
    path = f"collections/{c.id}"
    doc: dict[str, Any] = {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "links": [
            *_self_and_alternate(request, path),
            _link(_url(request, f"{path}/items", {"f": "json"}), "items", GEOJSON, f"{c.title} GeoJSON"),
            _link(_url(request, f"{path}/items", {"f": "html"}), "items", HTML, f"{c.title} HTML"),
            _link(_url(request, f"{path}/schema"), "describedby", SCHEMA_JSON, "属性结构 / schema"),
            # Relation types are case-insensitive (RFC 8288); GDAL's OAPIF driver up to 3.6 matches the
            # camel-case spelling only, and without the schema it types fields from the first page.
            _link(_url(request, f"{path}/schema"), "describedBy", SCHEMA_JSON, "属性结构 / schema"),
            _link(
                _url(request, f"{path}/queryables"),
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                SCHEMA_JSON,
                "可查询属性 / queryables",
            ),
        ],
    }
    extent = collection_extent(c)
    if extent:
        doc["extent"] = {"spatial": {"bbox": [extent], "crs": CRS84}}
    doc["crs"] = list(supported_crs())
    doc["storageCrs"] = storage_crs_uri()
    return doc


class CollectionsView(OgcView):
    @extend_schema(
        operation_id="ogc_collections",
        tags=_TAGS,
        parameters=[_F_PARAM],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        """The collections this request may read (anonymous requests see the public ones)."""
        readable = [c for c in COLLECTIONS.values() if can_read(request.user, c.id)]
        body = {
            "links": _self_and_alternate(request, "collections"),
            "collections": [collection_doc(request, c) for c in readable],
            "crs": list(supported_crs()),
        }
        if _wants_html(request):
            hidden = [c for c in COLLECTIONS.values() if c not in readable]
            return self.html(request, "collections.html", {"doc": body, "hidden": hidden})
        return _json_response(body)


class CollectionView(OgcView):
    @extend_schema(
        operation_id="ogc_collection",
        tags=_TAGS,
        parameters=[_COLLECTION_PARAM, _F_PARAM],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, collection_id: str):
        """One collection: extent (CRS84), supported CRSs, storage CRS, links."""
        c = self.collection(request, collection_id)
        doc = collection_doc(request, c)
        if _wants_html(request):
            return self.html(request, "collection.html", {"doc": doc, "c": c})
        return _json_response(doc)


def _json_schema_type(p: Prop) -> dict:
    if p.type == "date":
        return {"type": "string", "format": "date", "title": p.title}
    return {"type": p.type, "title": p.title}


class SchemaView(OgcView):
    @extend_schema(
        operation_id="ogc_schema",
        tags=_TAGS,
        parameters=[_COLLECTION_PARAM],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, collection_id: str):
        """JSON Schema of a feature (GeoJSON Feature with typed properties), for clients such as GDAL that
        fix field types from it instead of guessing from the first page."""
        c = self.collection(request, collection_id)
        body = {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$id": _url(request, f"collections/{c.id}/schema"),
            "title": c.title,
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"type": "integer" if c.fid_is_int else "string"},
                "geometry": {"title": c.geometry_type, "format": f"geometry-{c.geometry_type.lower()}"},
                "properties": {
                    "type": "object",
                    "properties": {p.name: _json_schema_type(p) for p in c.props},
                },
            },
        }
        return _json_response(body, SCHEMA_JSON)


class QueryablesView(OgcView):
    @extend_schema(
        operation_id="ogc_queryables",
        tags=_TAGS,
        parameters=[_COLLECTION_PARAM],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, collection_id: str):
        """Properties usable as `?name=value` filters on /items (equality)."""
        c = self.collection(request, collection_id)
        body = {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": _url(request, f"collections/{c.id}/queryables"),
            "type": "object",
            "title": c.title,
            "properties": {p.name: _json_schema_type(p) for p in c.queryables.values()},
        }
        return _json_response(body, SCHEMA_JSON)


def _content_crs(out: OutputCrs) -> dict:
    return {"Content-Crs": f"<{out.uri}>"}


class ItemsView(OgcView):
    """/collections/{id}/items. ogc_urls registers one subclass per collection, so the API definition
    lists each collection's property filters; this generic view answers unknown ids with 404."""

    def get(self, request, collection_id: str):
        c = self.collection(request, collection_id)
        html = _wants_html(request)
        params = {k: v for k, v in request.query_params.items()}
        q = items_query(c, params)
        with short_queries():
            returned, last_key, features = items_page(q)
            matched = items_count(q) if q.after is None else None
        path = f"collections/{c.id}/items"
        base = {k: v for k, v in params.items() if k not in ("f", "offset", "after")}
        links = _self_and_alternate(
            request, path, GEOJSON, {**base, "offset": q.offset} if q.offset else base
        )
        if q.after is not None:
            for link in links:  # self must reproduce this very page
                link["href"] += "&" + urlencode({"after": q.after})
        more = returned == q.limit and (matched is None or q.offset + returned < matched)
        fmt = "html" if html else "json"
        if more:
            nxt = {**base, "offset": q.offset + returned, "after": last_key, "f": fmt}
            links.append(_link(_url(request, path, nxt), "next", HTML if html else GEOJSON, "下一页 / next"))
        if q.offset > 0:
            prev = {**base, "offset": max(q.offset - q.limit, 0), "f": fmt}
            links.append(
                _link(_url(request, path, prev), "prev", HTML if html else GEOJSON, "上一页 / previous")
            )
        links.append(_link(_url(request, f"collections/{c.id}"), "collection", JSON, c.title))
        meta: dict[str, Any] = {"type": "FeatureCollection", "timeStamp": timezone.now().isoformat()}
        if matched is not None:
            meta["numberMatched"] = matched
        meta["numberReturned"] = returned
        meta["links"] = links
        if html:
            return self.html(
                request,
                "items.html",
                {
                    "c": c,
                    "meta": meta,
                    "features": json.loads(f"[{features}]"),
                    "out": q.out,
                    "offset": q.offset,
                    "next": next((lk["href"] for lk in links if lk["rel"] == "next"), None),
                    "prev": next((lk["href"] for lk in links if lk["rel"] == "prev"), None),
                },
            )
        head = json.dumps(meta, ensure_ascii=False)[:-1]
        return _json_response(f'{head},"features":[{features}]}}', GEOJSON, _content_crs(q.out))


class ItemView(OgcView):
    @extend_schema(
        operation_id="ogc_item",
        tags=_TAGS,
        parameters=[
            _COLLECTION_PARAM,
            OpenApiParameter("feature_id", str, OpenApiParameter.PATH, description="要素标识 / feature id"),
            _F_PARAM,
            OpenApiParameter("crs", str, description="输出坐标参考系 / output CRS (URI)"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, collection_id: str, feature_id: str):
        """One feature by id."""
        c = self.collection(request, collection_id)
        unknown = sorted(set(request.query_params) - {"f", "crs"})
        if unknown:
            raise _bad(unknown[0], f"未知参数 / unknown parameter {unknown[0]!r}; use f or crs")
        crs_value = request.query_params.get("crs")
        out = crs_parse(crs_value, "crs") if crs_value else supported_crs()[CRS84]
        with short_queries():
            text = item_json(c, feature_id, out)
        if text is None:
            raise exceptions.NotFound(
                f"集合 {c.id} 中没有要素 {feature_id} / no feature {feature_id!r} in {c.id}"
            )
        feature = json.loads(text)
        path = f"collections/{c.id}/items/{quote(feature_id, safe='')}"
        feature["links"] = [
            *_self_and_alternate(request, path, GEOJSON, {"crs": crs_value} if crs_value else None),
            _link(_url(request, f"collections/{c.id}"), "collection", JSON, c.title),
        ]
        if _wants_html(request):
            return self.html(request, "item.html", {"c": c, "feature": feature, "out": out})
        return _json_response(feature, GEOJSON, _content_crs(out))


_ITEMS_COMMON = [
    _F_PARAM,
    OpenApiParameter(
        "limit", int, description=f"每页要素数 / features per page (default {DEFAULT_LIMIT}, max {MAX_LIMIT})"
    ),
    OpenApiParameter("offset", int, description="跳过的要素数 / features to skip"),
    OpenApiParameter("after", str, description="翻页游标（取自 next 链接）/ paging cursor from next links"),
    OpenApiParameter(
        "bbox",
        str,
        description="minx,miny,maxx,maxy，按 bbox-crs 的轴顺序（默认 CRS84：经度,纬度）/ in the axis order "
        "of bbox-crs (default CRS84: lon,lat)",
    ),
    OpenApiParameter("bbox-crs", str, description="bbox 的坐标参考系 / CRS of bbox (URI)"),
    OpenApiParameter(
        "datetime",
        str,
        description="RFC 3339 时刻或时段；本服务各集合无时间范围，不作筛选 / accepted and validated; these "
        "collections have no temporal extent, so it filters nothing",
    ),
    OpenApiParameter(
        "crs",
        str,
        description="输出坐标参考系；EPSG:4326/4490 为纬度,经度 / output CRS; EPSG:4326/4490 are lat,lon",
    ),
]


_OPENAPI_TYPES = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "date": OpenApiTypes.DATE,
}


def items_view_for(c: Collection) -> type[ItemsView]:
    """An ItemsView subclass whose OpenAPI operation documents this collection's property filters."""
    params = [
        *_ITEMS_COMMON,
        *(
            OpenApiParameter(p.name, _OPENAPI_TYPES[p.type], description=p.title)
            for p in c.queryables.values()
        ),
    ]

    def get(self, request, collection_id: str = c.id):
        return ItemsView.get(self, request, collection_id)

    get.__doc__ = f"{c.title}：{c.description}"
    get = extend_schema(
        tags=_TAGS,
        operation_id=f"ogc_{c.id}_items",
        parameters=params,
        responses={(200, GEOJSON): OpenApiTypes.OBJECT},
    )(get)
    return type(f"{c.id.title().replace('_', '')}ItemsView", (ItemsView,), {"get": get})


ItemsView.get = extend_schema(exclude=True)(ItemsView.get)

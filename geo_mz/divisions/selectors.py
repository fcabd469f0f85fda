"""Read-side queries for divisions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
import shapely.geometry
from django.conf import settings
from django.contrib.gis.db.models.functions import Area, Transform
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.db import connection
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from geo_mz.core import crs
from geo_mz.divisions.models import Division, Level
from geo_mz.divisions.topology import check_partition, check_siblings


def division_exists(code: str) -> bool:
    """Whether a division with this code exists (any status): for validating codes users send."""
    return Division.objects.filter(code=code).exists()


def located_villages(county_code: str) -> list[Division]:
    """The county's villages that have a location, not retired, with their township, in code order:
    the demand points of coverage runs and of the what-if."""
    return list(
        Division.objects.filter(level=Level.VILLAGE, code__startswith=county_code, point__isnull=False)
        .exclude(status="retired")
        .select_related("parent")
        .order_by("code")
    )


def division_list(
    *,
    level: str | None = None,
    parent_code: str | None = None,
    within_code: str | None = None,
    bbox_lonlat: tuple[float, float, float, float] | None = None,
    include_retired: bool = False,
) -> QuerySet[Division]:
    """Divisions with lon/lat geometry (`geom_lonlat`, `point_lonlat`, EPSG:4326) and `area_m2`
    computed in the projected storage CRS."""
    qs = Division.objects.all()
    if not include_retired:
        qs = qs.active()
    if level:
        qs = qs.filter(level=level)
    if parent_code:
        qs = qs.filter(parent__code=parent_code)
    if within_code:
        qs = qs.within_code(within_code)
    if bbox_lonlat:
        bbox = bbox_to_storage(bbox_lonlat)
        qs = qs.filter(Q(geom__intersects=bbox) | Q(geom__isnull=True, point__intersects=bbox))
    return qs.annotate(
        parent_code=F("parent__code"),  # not select_related: that would fetch every parent's polygon
        geom_lonlat=Transform("geom", crs.WGS84),
        point_lonlat=Transform("point", crs.WGS84),
        area_m2=Area("geom"),
        # A correlated subquery, not Count(): GROUP BY over geometry columns is slow.
        children_count=Coalesce(
            Subquery(
                Division.objects.filter(parent=OuterRef("pk"))
                .order_by()
                .values("parent")
                .annotate(n=Count("*"))
                .values("n")
            ),
            0,
        ),
    )


def bbox_to_storage(bbox_lonlat: tuple[float, float, float, float]) -> Polygon:
    """A lon/lat bbox as a polygon in the storage CRS (densified so its edges follow the projection)."""
    minx, miny, maxx, maxy = bbox_lonlat
    poly = Polygon.from_bbox((minx, miny, maxx, maxy))
    poly.srid = crs.WGS84
    poly = poly.transform(settings.GEO_MZ_SRID, clone=True)
    return poly


def division_population_reconciliation(code: str) -> dict[str, int | None]:
    """Compare a division's own figures with the sum over its children (census consistency)."""
    division = Division.objects.get(code=code)
    sums = division.children.active().aggregate(
        population=Sum("population"),
        population_60_plus=Sum("population_60_plus"),
        households=Sum("households"),
    )
    return {
        "population": division.population,
        "children_population": sums["population"],
        "population_60_plus": division.population_60_plus,
        "children_population_60_plus": sums["population_60_plus"],
        "households": division.households,
        "children_households": sums["households"],
    }


def division_topology_check(
    code: str, *, tolerance_m: float = 1.0, min_area_m2: float | None = None
) -> list[dict]:
    """Gaps and overlaps between a division's children, and children outside it.

    Geometry is in the projected storage CRS, so tolerance and areas are metres and m². Each issue
    carries its location as lon/lat (EPSG:4326) and the problem area as GeoJSON in lon/lat.
    """
    parent = Division.objects.get(code=code)
    children = {
        c.code: shapely.from_wkb(bytes(c.geom.wkb))
        for c in parent.children.active().filter(geom__isnull=False).only("code", "geom")
    }
    if parent.geom is not None:
        issues = check_partition(
            code,
            shapely.from_wkb(bytes(parent.geom.wkb)),
            children,
            tolerance_m=tolerance_m,
            min_area_m2=min_area_m2,
        )
    else:
        issues = check_siblings(children, tolerance_m=tolerance_m, min_area_m2=min_area_m2)
    to_lonlat = crs.transformer(settings.GEO_MZ_SRID, crs.WGS84)
    result = []
    for issue in issues:
        lon, lat = to_lonlat.transform(*issue.location)
        area_lonlat = crs.transform_geometry(issue.geometry, settings.GEO_MZ_SRID, crs.WGS84)
        result.append(
            {
                "kind": issue.kind,
                "codes": list(issue.codes),
                "area_m2": round(issue.area_m2, 2),
                "location": [round(lon, 7), round(lat, 7)],
                "message": issue.message,
                "geometry": shapely.geometry.mapping(area_lonlat),
            }
        )
    return result


# ---------------------------------------------------------------------------------------------------
# Where does a geometry lie? (jurisdiction checks of every write that carries a location)
# ---------------------------------------------------------------------------------------------------

# Digitised roads and house points rarely meet a township boundary exactly: a road that ends at the
# boundary is often drawn a metre or two over it. A line counts as touching a division only when at
# least this many metres of it (or half its length, for very short lines) lie inside; a polygon only
# when it still reaches inside after shrinking it by this distance. Points are tested as they are (a
# point exactly on a shared edge touches both sides). Metres, in the projected storage CRS.
TOUCH_TOLERANCE_M = 5.0

# Division levels whose polygons are used. Villages are left out: most deployments have village
# points only, and a township-level answer is what jurisdictions are checked against.
_TOUCH_LEVELS = ("province", "city", "county", "township")


@dataclass(frozen=True, slots=True)
class TouchedDivision:
    """A division that a geometry lies in (in part). `name` is what users see; `code` what is checked."""

    code: str
    name: str
    level: str


# One row per (input geometry, division it intersects). `clear` says whether it lies inside by more
# than the tolerance; when no division of a level is clear for a geometry (a 3 m line split by the
# boundary), every intersecting one of that level counts, so nothing located escapes the check.
_TOUCH_SQL = """
WITH g AS (
    SELECT row_number() OVER () AS gid, src.geom, ST_Dimension(src.geom) AS dim
    FROM ({source}) AS src (geom)
    WHERE src.geom IS NOT NULL AND NOT ST_IsEmpty(src.geom)
),
cand AS (
    SELECT g.gid, d.code, d.name, d.level,
        CASE
            WHEN g.dim = 0 THEN true
            WHEN g.dim = 1 THEN
                ST_Length(ST_Intersection(d.geom, g.geom)) >= LEAST(%s, ST_Length(g.geom) / 2)
            ELSE ST_Intersects(d.geom, core.geom)
        END AS clear
    FROM g
    JOIN divisions_division d ON ST_DWithin(d.geom, g.geom, CASE WHEN g.dim = 0 THEN %s ELSE 0 END)
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN g.dim < 2 THEN NULL
            WHEN ST_IsEmpty(ST_Buffer(g.geom, -%s)) THEN ST_PointOnSurface(g.geom)
            ELSE ST_Buffer(g.geom, -%s)
        END AS geom
    ) AS core
    WHERE d.level = ANY(%s) AND d.status <> 'retired'
)
SELECT DISTINCT code, name, level FROM (
    SELECT cand.*, bool_or(clear) OVER (PARTITION BY gid, level) AS any_clear FROM cand
) AS c
WHERE clear OR NOT any_clear
ORDER BY code
"""


def _most_specific(rows: Iterable[TouchedDivision]) -> list[TouchedDivision]:
    """Drop a division when one of its descendants is touched too: 赤壁市 + 蒲圻街道 → 蒲圻街道, while
    a neighbouring county without township polygons stays as itself."""
    from geo_mz.core.jurisdiction import code_within

    rows = list(rows)
    return [d for d in rows if not any(o.code != d.code and code_within(o.code, d.code) for o in rows)]


def _touched(
    source_sql: str, source_params: Sequence[Any], tolerance_m: float, point_tolerance_m: float = 0.0
) -> list[TouchedDivision]:
    sql = _TOUCH_SQL.format(source=source_sql)
    params = [*source_params, tolerance_m, point_tolerance_m, tolerance_m, tolerance_m, list(_TOUCH_LEVELS)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [TouchedDivision(code, name, level) for code, name, level in cursor.fetchall()]
    return _most_specific(rows)


def divisions_touched(
    geoms: GEOSGeometry | Iterable[GEOSGeometry | None],
    *,
    tolerance_m: float = TOUCH_TOLERANCE_M,
    point_tolerance_m: float = 0.0,
) -> list[TouchedDivision]:
    """The most specific divisions (townships, or counties where no township polygon covers the place)
    that any of `geoms` lies in, by ST_Intersects against the division polygons (GiST-indexed) in the
    storage CRS. A line crossing two townships touches both; see TOUCH_TOLERANCE_M for the edges.
    Geometries in another SRID are transformed first. An empty list means: outside every division.
    `point_tolerance_m` > 0 makes a point touch every division within that distance (boundary markers,
    which stand on the line itself, touch both sides)."""
    if isinstance(geoms, GEOSGeometry):
        geoms = [geoms]
    blobs = []
    for geom in geoms:
        if geom is None:
            continue
        if geom.srid != settings.GEO_MZ_SRID:
            geom = geom.transform(settings.GEO_MZ_SRID, clone=True)
        blobs.append(bytes(geom.ewkb))
    if not blobs:
        return []
    return _touched(
        "SELECT ST_GeomFromEWKB(b) FROM unnest(%s::bytea[]) AS b", [blobs], tolerance_m, point_tolerance_m
    )


def divisions_touched_by_rows(
    queryset: QuerySet, field: str = "geom", *, tolerance_m: float = TOUCH_TOLERANCE_M
) -> list[TouchedDivision]:
    """Like divisions_touched, for the geometry column `field` of every row of `queryset`, without
    fetching the geometries (the queryset becomes a subquery): road segments, a road's addresses, …
    The column must be in the storage CRS (every geometry column of this project is)."""
    sql, params = queryset.order_by().values_list(field).query.sql_with_params()
    return _touched(sql, params, tolerance_m)

"""Read-side queries for divisions."""

from __future__ import annotations

import shapely
import shapely.geometry
from django.conf import settings
from django.contrib.gis.db.models.functions import Area, Transform
from django.contrib.gis.geos import Polygon
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from geo_mz.core import crs
from geo_mz.divisions.models import Division
from geo_mz.divisions.topology import check_partition, check_siblings


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

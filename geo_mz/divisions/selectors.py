"""Read-side queries for divisions."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db.models.functions import Area, Transform
from django.contrib.gis.geos import Polygon
from django.db.models import Count, Q, QuerySet, Sum

from geo_mz.core import crs
from geo_mz.divisions.models import Division


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
    qs = Division.objects.select_related("parent")
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
        geom_lonlat=Transform("geom", crs.WGS84),
        point_lonlat=Transform("point", crs.WGS84),
        area_m2=Area("geom"),
        children_count=Count("children"),
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
        population=Sum("population"), population_60_plus=Sum("population_60_plus"), households=Sum("households")
    )
    return {
        "population": division.population,
        "children_population": sums["population"],
        "population_60_plus": division.population_60_plus,
        "children_population_60_plus": sums["population_60_plus"],
        "households": division.households,
        "children_households": sums["households"],
    }

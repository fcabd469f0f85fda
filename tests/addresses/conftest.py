from __future__ import annotations

import datetime as dt

DAY0 = dt.date(2026, 3, 2)  # a Monday


def lonlat_to_point(lon: float, lat: float):
    from django.conf import settings
    from django.contrib.gis.geos import Point

    from geo_mz.core import crs

    x, y = crs.lonlat_to_projected(lon, lat, settings.GEO_MZ_SRID)
    return Point(float(x), float(y), srid=settings.GEO_MZ_SRID)


def offset_point(road, chainage_m: float, north_m: float):
    """A point `chainage_m` west of the road's east end and `north_m` north of it (EW test roads)."""
    from django.conf import settings
    from django.contrib.gis.geos import Point

    line = road.geom[0]
    east = max(line.coords, key=lambda c: c[0])
    return Point(east[0] - chainage_m, east[1] + north_m, srid=settings.GEO_MZ_SRID)

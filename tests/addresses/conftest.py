from __future__ import annotations

import datetime as dt

import pytest

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


@pytest.fixture
def ew_road(make_road):
    """A straight east–west road about 960 m long in 陆水湖街道 (no demo road within 300 m)."""
    return make_road("鹭栖路", ((113.945, 29.705), (113.955, 29.705)))


@pytest.fixture
def entrance(db):
    from geo_mz.addresses import services

    def _add(road, chainage_m: float, north_m: float, **kw):
        return services.entrance_add(
            kind="road", point=offset_point(road, chainage_m, north_m), feature=road, **kw
        )

    return _add

"""Jurisdiction from geometry for boundary markers: a user of either side may work on a line (as
before), and the marker's position must lie on that line's ground, in one of its two divisions (5 m
tolerance: markers stand on the line, tri-junction markers where three divisions meet)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied
from rest_framework.test import APIClient

from geo_mz.boundaries import services
from geo_mz.boundaries.models import BoundaryLine, Marker
from geo_mz.core import crs, roles

pytestmark = pytest.mark.django_db

PUQI, CHIMAGANG = "421281001", "421281002"


def _point(lon, lat) -> Point:
    return Point(*crs.lonlat_to_projected(lon, lat, settings.GEO_MZ_SRID), srid=settings.GEO_MZ_SRID)


@pytest.fixture
def puqi_line():
    """蒲圻赤马港线: the township line between 蒲圻街道 and 赤马港街道."""
    return BoundaryLine.objects.get(name="蒲圻赤马港线", status="active")


def test_township_team_places_a_marker_on_their_line_but_not_in_a_third_township(make_user, puqi_line):
    team = make_user(roles.BOUNDARY_TEAM, jurisdiction_code=PUQI)
    on_line = puqi_line.geom[0].interpolate_normalized(0.5)
    marker = services.marker_create(puqi_line.pk, point=on_line, user=team)
    assert marker.line_id == puqi_line.pk
    # a position in 陆水湖街道 (neither side of the line) is refused, by name
    before = Marker.objects.count()
    with pytest.raises(PermissionDenied) as refused:
        services.marker_create(puqi_line.pk, point=_point(113.945, 29.705), user=team)
    assert "陆水湖街道" in str(refused.value) and "421281003" not in str(refused.value)
    assert Marker.objects.count() == before
    # and so is resetting the marker there
    with pytest.raises(PermissionDenied, match="陆水湖街道"):
        services.marker_replace(marker.pk, point=_point(113.945, 29.705), user=team)


def test_marker_on_a_line_of_other_townships_is_refused(make_user):
    team = make_user(roles.BOUNDARY_TEAM, jurisdiction_code=PUQI)
    line = BoundaryLine.objects.get(name="赤马港陆水湖线", status="active")
    point = line.geom[0].interpolate_normalized(0.5)
    with pytest.raises(PermissionDenied):
        services.marker_create(line.pk, point=point, user=team)


def test_api_refuses_a_marker_off_the_lines_ground(make_user, puqi_line):
    client = APIClient()
    client.force_authenticate(make_user(roles.BOUNDARY_TEAM, jurisdiction_code=PUQI))
    response = client.post(
        "/api/boundary-markers/",
        {"line": puqi_line.pk, "lon": 113.945, "lat": 29.705},
        format="json",
    )
    assert response.status_code == 403, response.content
    assert "陆水湖街道" in response.json()["detail"]

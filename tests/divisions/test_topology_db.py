"""Topology checks over stored divisions (PostGIS geometry → pure engine → lon/lat report)."""

from __future__ import annotations

import pytest
import shapely
import shapely.affinity
from django.contrib.gis.geos import GEOSGeometry
from rest_framework.test import APIClient

from geo_mz.divisions.models import Division
from geo_mz.divisions.selectors import division_topology_check

pytestmark = pytest.mark.django_db


def test_demo_townships_partition_the_county_exactly():
    assert division_topology_check("421281") == []


def test_a_shifted_township_shows_overlap_gap_and_outside_parent():
    # Given 蒲圻街道 moved 200 m east
    township = Division.objects.get(code="421281001")
    moved = shapely.affinity.translate(shapely.from_wkb(bytes(township.geom.wkb)), xoff=200.0)
    township.geom = GEOSGeometry(memoryview(shapely.to_wkb(moved)), srid=township.geom.srid)
    township.save()

    issues = division_topology_check("421281", tolerance_m=1.0)
    kinds = {i["kind"] for i in issues}
    assert {"overlap", "gap"} <= kinds
    overlap = next(i for i in issues if i["kind"] == "overlap")
    assert "421281001" in overlap["codes"] and overlap["area_m2"] > 1000
    lon, lat = overlap["location"]
    assert 113.5 < lon < 114.3 and 29.4 < lat < 30.1
    assert "重叠" in overlap["message"]


def test_topology_endpoint_reports_json():
    body = APIClient().get("/api/divisions/421281/topology/", {"tolerance": "0.5"}).json()
    assert body == {"code": "421281", "tolerance_m": 0.5, "issues": []}
    bad = APIClient().get("/api/divisions/421281/topology/", {"tolerance": "abc"})
    assert bad.status_code == 400 and "tolerance" in bad.json()["errors"]

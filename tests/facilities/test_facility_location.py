"""Jurisdiction from geometry for facilities: where the point lies is checked on create, update and
move, whatever division the caller names. 蒲圻街道 421281001, 赤马港街道 421281002."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied

from geo_mz.core import crs, roles
from geo_mz.divisions.models import Division
from geo_mz.facilities import services
from geo_mz.facilities.models import Facility

pytestmark = pytest.mark.django_db

PUQI, CHIMAGANG = "421281001", "421281002"


def _point(lon, lat) -> Point:
    return Point(*crs.lonlat_to_projected(lon, lat, settings.GEO_MZ_SRID), srid=settings.GEO_MZ_SRID)


def _planner(make_user, code):
    return make_user(roles.PLANNER, jurisdiction_code=code)


def test_facility_in_another_township_is_refused_even_when_the_division_is_named(make_user):
    planner = _planner(make_user, PUQI)
    before = Facility.objects.count()
    with pytest.raises(PermissionDenied) as refused:
        services.facility_create(
            type_code="day_care",
            name="示例日间照料中心",
            point=_point(113.933, 29.7405),
            division=Division.objects.get(code=PUQI),
            user=planner,
        )
    assert "赤马港街道" in str(refused.value) and CHIMAGANG not in str(refused.value)
    assert Facility.objects.count() == before
    # inside the township it is created
    f = services.facility_create(
        type_code="day_care", name="蒲圻日间照料中心", point=_point(113.865, 29.7335), user=planner
    )
    assert f.division.code.startswith(PUQI)


def test_facility_cannot_be_moved_into_another_township(make_user):
    planner = _planner(make_user, PUQI)
    f = services.facility_create(
        type_code="day_care", name="蒲圻日间照料中心", point=_point(113.865, 29.7335), user=planner
    )
    with pytest.raises(PermissionDenied, match="赤马港街道"):
        services.facility_update(f.pk, user=planner, point=_point(113.933, 29.7405))
    f.refresh_from_db()
    assert f.division.code.startswith(PUQI)
    # a county planner may
    county = _planner(make_user, "421281")
    moved = services.facility_update(f.pk, user=county, point=_point(113.933, 29.7405))
    assert moved.division.code.startswith(CHIMAGANG)


def test_facility_recorded_under_the_wrong_township_cannot_be_edited_from_there(make_user):
    planner = _planner(make_user, PUQI)
    f = services.facility_create(
        type_code="day_care", name="错登设施", point=_point(113.933, 29.7405), user=None
    )
    Facility.objects.filter(pk=f.pk).update(division=Division.objects.get(code=PUQI))
    with pytest.raises(PermissionDenied, match="赤马港街道"):
        services.facility_update(f.pk, user=planner, name="改名")

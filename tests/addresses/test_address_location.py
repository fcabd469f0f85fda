"""Jurisdiction from geometry for house numbers: where the entrance lies is checked against the
officer's jurisdiction when it is captured, when a case is opened and on every step (issuing
included), whatever township or village the request names. 蒲圻街道 421281001, 赤马港街道 421281002."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied

from geo_mz.addresses import services
from geo_mz.addresses.models import Address, AddressCase
from geo_mz.core import crs, roles
from geo_mz.divisions.models import Division

pytestmark = pytest.mark.django_db

PUQI, CHIMAGANG, COUNTY = "421281001", "421281002", "421281"
DAY0 = dt.date(2026, 3, 2)


def _point(lon, lat) -> Point:
    return Point(*crs.lonlat_to_projected(lon, lat, settings.GEO_MZ_SRID), srid=settings.GEO_MZ_SRID)


IN_PUQI = (113.865, 29.7335)
IN_CHIMAGANG = (113.933, 29.7405)


def _officer(make_user, code):
    return make_user(roles.PLACENAME_OFFICER, jurisdiction_code=code)


def _village_of(code: str) -> Division:
    return Division.objects.filter(level="village", parent__code=code).order_by("code")[0]


def test_rural_entrance_naming_own_village_but_lying_elsewhere_is_refused(make_user):
    # Given a 蒲圻 officer who names a 蒲圻 village for a household drawn in 赤马港街道
    officer = _officer(make_user, PUQI)
    before = AddressCase.objects.count(), Address.objects.count()
    with pytest.raises(PermissionDenied) as refused:
        services.address_case_create(
            owner="张三",
            point=_point(*IN_CHIMAGANG),
            village=_village_of(PUQI),
            group="三组",
            today=DAY0,
            user=officer,
        )
    # Then it is refused by name, and nothing is written
    assert "赤马港街道" in str(refused.value) and CHIMAGANG not in str(refused.value)
    assert (AddressCase.objects.count(), Address.objects.count()) == before
    # while inside the township it is opened
    case = services.address_case_create(
        owner="张三",
        point=_point(*IN_PUQI),
        village=_village_of(PUQI),
        group="三组",
        today=DAY0,
        user=officer,
    )
    assert case.state == "application"


def test_case_whose_address_lies_elsewhere_cannot_be_advanced_or_issued(make_user):
    # Given a case on a rural household in 赤马港, recorded (wrongly) under a 蒲圻 village
    county = _officer(make_user, COUNTY)
    case = services.address_case_create(
        owner="李四",
        point=_point(*IN_CHIMAGANG),
        village=_village_of(PUQI),
        group="一组",
        today=DAY0,
        user=county,
    )
    assert case.division.code == PUQI
    puqi = _officer(make_user, PUQI)
    # Then the 蒲圻 officer can neither accept it nor, later, issue it
    with pytest.raises(PermissionDenied, match="赤马港街道"):
        services.address_case_transition(case.pk, "accept", user=puqi, today=DAY0)
    case = services.address_case_transition(case.pk, "accept", user=county, today=DAY0)
    case = services.address_case_transition(case.pk, "submit", user=county, today=DAY0)
    with pytest.raises(PermissionDenied, match="赤马港街道"):
        services.address_case_transition(case.pk, "issue", user=puqi, today=DAY0)
    case.refresh_from_db()
    assert case.state == "review" and not case.certificates.exists()


def test_road_numbering_commit_refuses_entrances_in_another_township(make_user, make_road):
    # Given a road in 蒲圻 with an entrance that lies in 赤马港 (captured by the county)
    road = make_road("蒲苇路", ((113.862, 29.733), (113.868, 29.734)))
    services.entrance_add(kind="road", point=_point(113.865, 29.7336), feature=road)
    Address.objects.filter(feature=road, status="proposed").update(point=_point(*IN_CHIMAGANG))
    officer = _officer(make_user, PUQI)
    with pytest.raises(PermissionDenied, match="赤马港街道"):
        services.road_numbering_commit(road.pk, today=DAY0, user=officer)
    assert not Address.objects.filter(feature=road, status="active").exists()


def test_api_refuses_an_entrance_in_another_township(make_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(_officer(make_user, PUQI))
    response = client.post(
        "/api/addresses/entrances/",
        {
            "kind": "rural",
            "lon": IN_CHIMAGANG[0],
            "lat": IN_CHIMAGANG[1],
            "village": _village_of(PUQI).code,
            "group": "二组",
        },
        format="json",
    )
    assert response.status_code == 403, response.content
    assert "赤马港街道" in response.json()["detail"]


def test_web_case_step_by_another_township_is_refused_with_the_township_name(client, make_user):
    county = _officer(make_user, COUNTY)
    case = services.address_case_create(
        owner="赵六",
        point=_point(*IN_CHIMAGANG),
        village=_village_of(PUQI),
        group="四组",
        today=DAY0,
        user=county,
    )
    client.force_login(_officer(make_user, PUQI))
    response = client.post(
        f"/addresses/cases/{case.pk}/", {"action": "accept", "expected_version": case.version}, follow=True
    )
    assert response.status_code == 200
    assert "赤马港街道" in response.content.decode()
    case.refresh_from_db()
    assert case.state == "application"

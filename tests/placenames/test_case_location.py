"""Jurisdiction from geometry for naming cases: where the items lie (geometry, segments, the feature
renamed) is checked against the officer's jurisdiction at creation and on every step, approval
included, in the service (so the API and the web pages obey too). Demo townships: 蒲圻街道 421281001,
赤马港街道 421281002."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.gis.geos import LineString
from django.core.exceptions import PermissionDenied
from rest_framework.test import APIClient

from geo_mz.core import crs, roles
from geo_mz.placenames import services
from geo_mz.placenames.models import NamedFeature, NamingCase, RoadSegment

pytestmark = pytest.mark.django_db

PUQI, CHIMAGANG, COUNTY = "421281001", "421281002", "421281"
IN_PUQI = ((113.862, 29.733), (113.868, 29.734))
IN_CHIMAGANG = ((113.930, 29.740), (113.936, 29.741))
ACROSS = ((113.895, 29.756), (113.910, 29.756))  # 蒲圻 → 赤马港
DAY0 = dt.date(2026, 3, 2)


def _line(lonlats) -> LineString:
    return LineString(
        [crs.lonlat_to_projected(x, y, settings.GEO_MZ_SRID) for x, y in lonlats], srid=settings.GEO_MZ_SRID
    )


def _officer(make_user, code):
    return make_user(roles.PLACENAME_OFFICER, jurisdiction_code=code)


def _case(user, *, division_code, lonlats=IN_CHIMAGANG, name="栖霞路", items=None):
    return services.naming_case_create(
        kind="new",
        division_code=division_code,
        title=f"{name}命名",
        applicant="街道办事处",
        items=items or [{"name": name, "kind": "road", "geom": _line(lonlats), "width_m": 20}],
        user=user,
        today=DAY0,
    )


def _to_submitted(case, user):
    services.naming_case_transition(case.pk, "accept", user=user, today=DAY0)
    services.naming_case_transition(
        case.pk, "start_notice", user=user, today=DAY0, payload={"notice_days": 7}
    )
    return services.naming_case_transition(case.pk, "submit", user=user, today=DAY0 + dt.timedelta(days=8))


def _approve(case, user):
    return services.naming_case_transition(
        case.pk,
        "approve",
        user=user,
        today=DAY0 + dt.timedelta(days=20),
        payload={
            "decision_number": "赤政函〔2026〕77号",
            "decided_on": DAY0 + dt.timedelta(days=20),
            "approving_body": "赤壁市人民政府",
        },
    )


def test_township_officer_cannot_name_a_road_in_another_township(make_user):
    # Given an officer of 蒲圻街道 who declares their own township for a road drawn in 赤马港街道
    officer = _officer(make_user, PUQI)
    before = NamingCase.objects.count()

    # When they open the case, it is refused, naming the township by its name (never its code)
    with pytest.raises(PermissionDenied) as refused:
        _case(officer, division_code=PUQI, lonlats=IN_CHIMAGANG)
    message = str(refused.value)
    assert "赤马港街道" in message and "蒲圻街道" in message and CHIMAGANG not in message
    # and nothing was written
    assert NamingCase.objects.count() == before


def test_township_officer_cannot_name_a_road_that_crosses_into_another_township(make_user):
    officer = _officer(make_user, PUQI)
    with pytest.raises(PermissionDenied, match="赤马港街道"):
        _case(officer, division_code=PUQI, lonlats=ACROSS, name="跨界路")
    # a county officer may
    county = _officer(make_user, COUNTY)
    case = _case(county, division_code=COUNTY, lonlats=ACROSS, name="跨界路")
    assert case.state == "application"


def test_township_officer_names_a_road_in_their_own_township_through_approval(make_user):
    officer = _officer(make_user, PUQI)
    case = _case(officer, division_code=PUQI, lonlats=IN_PUQI, name="蒲苇路")
    _to_submitted(case, officer)
    case = _approve(case, officer)
    feature = case.items.get().feature
    assert feature.status == "approved"
    assert list(feature.divisions.values_list("code", flat=True)) == [PUQI]
    # the feature was written by the approving officer, not by an anonymous system call
    assert feature.history.first().history_user == officer


def test_alley_segment_in_another_township_is_refused(make_user):
    officer = _officer(make_user, PUQI)
    segment = RoadSegment.objects.filter(feature__isnull=True, division__code=CHIMAGANG).order_by("code")[0]
    with pytest.raises(PermissionDenied, match="赤马港街道"):
        services.naming_case_create(
            kind="alley_batch",
            division_code=PUQI,
            title="无名巷命名",
            applicant="蒲圻街道办事处",
            items=[{"name": "青石巷", "kind": "alley", "segment_codes": [segment.code]}],
            user=officer,
            today=DAY0,
        )


def test_case_of_township_a_cannot_be_advanced_or_approved_by_a_township_b_officer(make_user):
    # Given a case a county officer opened for a road in 赤马港街道, declared (wrongly) as 蒲圻街道
    county = _officer(make_user, COUNTY)
    case = _case(county, division_code=PUQI, lonlats=IN_CHIMAGANG, name="栖凤路")
    puqi = _officer(make_user, PUQI)

    # Then the 蒲圻 officer can neither accept it
    with pytest.raises(PermissionDenied, match="赤马港街道"):
        services.naming_case_transition(case.pk, "accept", user=puqi, today=DAY0)
    # nor approve it once the county officer has submitted it; no feature is created
    _to_submitted(case, county)
    features_before = NamedFeature.objects.count()
    with pytest.raises(PermissionDenied, match="赤马港街道"):
        _approve(case, puqi)
    case.refresh_from_db()
    assert case.state == "submitted" and NamedFeature.objects.count() == features_before
    # while the county officer can
    assert _approve(case, county).state == "approved"


def test_rename_of_a_road_lying_in_another_township_is_refused(make_user, make_road):
    # a road drawn in 赤马港街道 but recorded (wrongly) under 蒲圻街道
    from geo_mz.divisions.models import Division

    road = make_road("旧城路", IN_CHIMAGANG)
    NamedFeature.objects.filter(pk=road.pk).update(division=Division.objects.get(code=PUQI))
    officer = _officer(make_user, PUQI)
    with pytest.raises(PermissionDenied, match="赤马港街道"):
        services.naming_case_create(
            kind="rename",
            division_code=PUQI,
            title="更名",
            applicant="蒲圻街道办事处",
            items=[{"name": "新城路", "kind": "road", "feature_code": road.code}],
            user=officer,
            today=DAY0,
        )


def test_api_refuses_a_case_in_another_township_with_403_and_names(make_user):
    client = APIClient()
    client.force_authenticate(_officer(make_user, PUQI))
    geometry = {"type": "LineString", "coordinates": [list(p) for p in IN_CHIMAGANG]}
    response = client.post(
        "/api/naming-cases/",
        {
            "kind": "new",
            "division_code": PUQI,
            "title": "栖霞路命名",
            "applicant": "蒲圻街道办事处",
            "items": [{"name": "栖霞路", "kind": "road", "geometry": geometry, "width_m": 20}],
        },
        format="json",
    )
    assert response.status_code == 403, response.content
    assert "赤马港街道" in response.json()["detail"] and CHIMAGANG not in response.json()["detail"]
    # inside their own township it is created
    geometry["coordinates"] = [list(p) for p in IN_PUQI]
    ok = client.post(
        "/api/naming-cases/",
        {
            "kind": "new",
            "division_code": PUQI,
            "title": "蒲苇路命名",
            "applicant": "蒲圻街道办事处",
            "items": [{"name": "蒲苇路", "kind": "road", "geometry": geometry, "width_m": 20}],
        },
        format="json",
    )
    assert ok.status_code == 201, ok.content


def test_web_transition_by_another_township_is_refused_with_the_township_name(client, make_user):
    county = _officer(make_user, COUNTY)
    case = _case(county, division_code=PUQI, lonlats=IN_CHIMAGANG, name="栖云路")
    client.force_login(_officer(make_user, PUQI))
    response = client.post(
        f"/placenames/cases/{case.pk}/",
        {"op": "transition", "action": "accept", "expected_version": case.version},
        follow=True,
    )
    assert response.status_code == 200
    assert "赤马港街道" in response.content.decode()
    case.refresh_from_db()
    assert case.state == "application"

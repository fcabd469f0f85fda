"""/api/placenames/ and /api/naming-cases/ over HTTP (session/token auth, JSON errors, 409s)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from geo_mz.core import roles

pytestmark = pytest.mark.django_db

LINE = {"type": "LineString", "coordinates": [[113.930, 29.740], [113.936, 29.741]]}


@pytest.fixture
def officer_client(make_user):
    client = APIClient()
    client.force_authenticate(make_user(roles.PLACENAME_OFFICER))
    return client


def test_check_reports_homophone_with_location_and_romanization(client, make_road):
    make_road("中山路", ((113.90, 29.72), (113.91, 29.72)))
    response = client.post(
        "/api/placenames/check/",
        {"name": "钟山路", "division_code": "421281002", "geometry": LINE},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["romanization"] == "Zhongshan Lu"
    homophone = next(f for f in body["findings"] if f["rule_id"].startswith("homophone"))
    assert homophone["conflicts"][0]["name"] == "中山路" and homophone["conflicts"][0]["lon"] > 113


def test_check_flags_exaggerated_words_and_bad_coordinates(client):
    body = client.post(
        "/api/placenames/check/",
        {"name": "国际大道", "division_code": "421281"},
        content_type="application/json",
    ).json()
    assert any(f["rule_id"] == "forbidden.exaggerated" for f in body["findings"])
    swapped = client.post(
        "/api/placenames/check/",
        {"name": "东湖路", "division_code": "421281", "lon": 29.7, "lat": 113.9},
        content_type="application/json",
    )
    assert swapped.status_code == 400 and "geometry" in swapped.json()["errors"]


def test_romanize_endpoint(client):
    body = client.get("/api/placenames/romanize/", {"name": "朝阳门内南小街"}).json()
    assert body["romanization"] == "Chaoyangmennei Nanxiaojie"
    assert (
        client.get(
            "/api/placenames/romanize/", {"name": "十里堡", "kind": "village", "reading": "shi li pu"}
        ).json()["romanization"]
        == "Shilipu"
    )


def test_case_through_the_api_with_409_on_out_of_order_and_stale(officer_client):
    created = officer_client.post(
        "/api/naming-cases/",
        {
            "kind": "new",
            "division_code": "421281002",
            "title": "栖霞路命名",
            "applicant": "赤马港街道办事处",
            "items": [{"name": "栖霞路", "kind": "road", "geometry": LINE, "width_m": 24}],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    case = created.json()
    assert case["state"] == "application" and case["items"][0]["romanization"] == "Qixia Lu"
    url = f"/api/naming-cases/{case['id']}/transition/"
    out_of_order = officer_client.post(url, {"action": "approve"}, format="json")
    assert out_of_order.status_code == 409 and "不能执行" in out_of_order.json()["detail"]
    ok = officer_client.post(url, {"action": "accept", "expected_version": case["version"]}, format="json")
    assert ok.status_code == 200 and ok.json()["state"] == "review"
    stale = officer_client.post(
        url, {"action": "start_notice", "expected_version": case["version"]}, format="json"
    )
    assert stale.status_code == 409 and stale.json()["code"] == "stale"
    queue = officer_client.get("/api/naming-cases/").json()["results"]
    assert any(entry["id"] == case["id"] for entry in queue)


def test_case_creation_errors_name_the_item_and_field(officer_client):
    from geo_mz.placenames.models import NamingCase

    before = NamingCase.objects.count()
    response = officer_client.post(
        "/api/naming-cases/",
        {
            "kind": "new",
            "division_code": "421281002",
            "title": "批量",
            "applicant": "x",
            "items": [{"name": "青柳路", "geometry": LINE}, {"name": "大道", "geometry": LINE}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert "items[2].name" in response.json()["errors"]
    assert NamingCase.objects.count() == before


def test_anonymous_cannot_create_cases(client):
    response = client.post("/api/naming-cases/", {}, content_type="application/json")
    assert response.status_code in (401, 403)


def test_search_features_signs_and_exports(client, make_road):
    road = make_road("中山路")
    results = client.get("/api/placenames/search/", {"q": "zsl"}).json()["results"]
    assert any(r["name"] == "中山路" and r["feature_code"] == road.code for r in results)
    feature = client.get(f"/api/placenames/features/{road.code}/").json()
    assert feature["geometry"]["type"] == "MultiLineString" and feature["properties"]["name"] == "中山路"
    assert feature["properties"]["history"][0]["decision_number"].startswith("测试批文")
    fc = client.get("/api/placenames/features/", {"roads": "1", "status": "active"}).json()
    assert any(f["id"] == road.code for f in fc["features"])
    assert client.get("/api/placenames/signs/").status_code == 200
    assert "counts" in client.get("/api/placenames/signs/report/").json()
    xlsx = client.get("/api/placenames/gazetteer.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    csv = client.get("/api/placenames/gazetteer.csv")
    assert csv.content.startswith("\ufeff".encode()) and "中山路".encode() in csv.content
    pdf = client.get("/api/placenames/gazetteer.pdf")
    assert pdf.content.startswith(b"%PDF")


def test_openapi_schema_lists_place_name_endpoints(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/placenames/check/", "/api/naming-cases/{id}/transition/", "/api/placenames/search/"):
        assert path in schema["paths"]

"""/api/divisions/: GeoJSON in lon/lat, filters, errors as JSON, imports over HTTP."""

from __future__ import annotations

import geopandas as gpd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from geo_mz.core import roles
from geo_mz.divisions.models import Division

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def test_list_is_geojson_in_lonlat_filtered_by_level_and_parent(api):
    response = api.get("/api/divisions/", {"level": "township", "parent": "421281"})
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 19
    first = body["features"][0]
    assert first["geometry"]["type"] == "MultiPolygon"
    lon, lat = first["geometry"]["coordinates"][0][0][0]
    assert 113.4 < lon < 114.3 and 29.4 < lat < 30.1
    assert first["properties"]["synthetic"] is True
    assert first["properties"]["parent_code"] == "421281"
    assert first["id"].startswith("421281") and len(first["id"]) == 9


def test_county_area_reported_matches_source_within_half_a_percent(api):
    source = gpd.read_file("gis_data/source/chibi_region_counties.geojson")
    expected_km2 = source[source.adcode.astype(str) == "421281"].to_crs(4547).area.iloc[0] / 1e6
    body = api.get("/api/divisions/421281/").json()
    assert body["properties"]["name"] == "赤壁市"
    assert abs(body["properties"]["area_km2"] - expected_km2) / expected_km2 < 0.005
    assert body["properties"]["population"] == 470355


def test_villages_are_points_with_population(api):
    body = api.get("/api/divisions/", {"level": "village", "within": "421281"}).json()
    assert len(body["features"]) == 190
    assert {f["geometry"]["type"] for f in body["features"]} == {"Point"}
    assert sum(f["properties"]["population"] for f in body["features"]) == 470355


def test_bbox_filter_selects_by_lonlat_extent(api):
    # A small box around the urban area holds a few villages, not all 190.
    body = api.get("/api/divisions/", {"level": "village", "bbox": "113.85,29.68,113.95,29.76"}).json()
    assert 0 < len(body["features"]) < 190
    for f in body["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert 113.85 <= lon <= 113.95 and 29.68 <= lat <= 29.76


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bbox": "29.7,113.9"}, "bbox"),
        ({"bbox": "29.68,113.85,29.76,113.95"}, "bbox"),
        ({"level": "town"}, "level"),
    ],
)
def test_bad_query_parameters_give_field_level_json_errors(api, params, field):
    response = api.get("/api/divisions/", params)
    assert response.status_code == 400
    body = response.json()
    assert field in body["errors"] and body["errors"][field][0]


def test_unknown_code_is_json_404(api):
    response = api.get("/api/divisions/421281777/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_import_requires_authentication(api):
    upload = SimpleUploadedFile("codes.csv", b"code,name,level,parent_code\n", content_type="text/csv")
    response = api.post("/api/divisions/import/", {"kind": "codes", "file": upload}, format="multipart")
    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_import_over_api_with_token_dry_run_then_commit(api, make_user):
    user = make_user(roles.ADMIN)
    token = Token.objects.create(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    content = "code,name,level,parent_code\n421281999,测试镇,township,421281\n".encode()

    dry = api.post(
        "/api/divisions/import/",
        {"kind": "codes", "file": SimpleUploadedFile("c.csv", content), "dry_run": "true"},
        format="multipart",
    )
    assert dry.status_code == 200, dry.json()
    assert dry.json()["counts"]["create"] == 1 and dry.json()["committed"] is False
    assert not Division.objects.filter(code="421281999").exists()

    real = api.post(
        "/api/divisions/import/",
        {"kind": "codes", "file": SimpleUploadedFile("c.csv", content), "dry_run": "false"},
        format="multipart",
    )
    assert real.status_code == 200 and real.json()["committed"] is True
    assert Division.objects.get(code="421281999").history.first().history_user == user


def test_failed_api_import_returns_400_with_row_report(api, make_user):
    api.force_authenticate(make_user(roles.ADMIN))
    content = "code,name,level,parent_code\n42128199X,坏,township,421281\n".encode()
    response = api.post(
        "/api/divisions/import/",
        {"kind": "codes", "file": SimpleUploadedFile("c.csv", content), "dry_run": "false"},
        format="multipart",
    )
    assert response.status_code == 400
    rows = response.json()["rows"]
    assert rows[0]["row"] == 2 and rows[0]["errors"][0]["field"] == "code"


def test_import_outside_jurisdiction_is_403_json(api, make_user):
    api.force_authenticate(make_user(roles.ADMIN, jurisdiction_code="421202"))
    content = "code,name,level,parent_code\n421281999,测试镇,township,421281\n".encode()
    response = api.post(
        "/api/divisions/import/",
        {"kind": "codes", "file": SimpleUploadedFile("c.csv", content), "dry_run": "false"},
        format="multipart",
    )
    assert response.status_code == 403
    assert "421281999" in response.json()["detail"]


def test_openapi_schema_and_docs(api):
    schema = api.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    assert "/api/divisions/" in schema.json()["paths"]
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def test_token_endpoint_issues_a_token(api, make_user):
    user = make_user(roles.VIEWER)
    response = api.post("/api/auth/token/", {"username": user.username, "password": "pw-Test-12345"})
    assert response.status_code == 200 and response.json()["token"]

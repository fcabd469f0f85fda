"""Bad input is the client's error: 400 with a field message or 404, never a 500 (issue 14)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from geo_mz.core import roles


@pytest.fixture
def admin_client(make_user):
    client = APIClient()
    client.force_authenticate(make_user(roles.ADMIN))
    return client


def test_fuzzy_address_search_finds_a_misspelt_road(admin_client):
    # given the demo address 沿河大道16号, when the road is typed with a wrong character (和 for 河)
    body = admin_client.get("/api/addresses/search/", {"q": "沿和大道16号"}).json()
    # then the real address is found (the trigram lookup needs django.contrib.postgres)
    assert [r["properties"]["full_text"] for r in body["results"]][:1] == ["赤壁市陆水湖街道沿河大道16号"]
    assert admin_client.get("/api/addresses/search/", {"q": "abc"}).status_code == 200


def test_name_search_finds_a_misspelt_name(db):
    client = APIClient()
    for query in ("新成大道", "xinchengdadao"):
        body = client.get("/api/placenames/search/", {"q": query}).json()
        assert "新城大道" in [r["name"] for r in body["results"]], query


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/naming-cases/x/"),
        ("get", "/api/naming-cases/0/"),
        ("post", "/api/inspections/0/correct/"),
        ("post", "/api/inspections/x/correct/"),
        ("patch", "/api/facilities/0/"),
        ("get", "/api/coverage/runs/%24%C3%AC/"),
        ("get", "/api/boundary-lines/99999999999999999/markers.xlsx/"),
    ],
)
def test_unknown_or_ill_formed_ids_are_404_in_json(admin_client, method, url):
    response = getattr(admin_client, method)(url, {}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("url", "query", "field"),
    [
        ("/api/addresses/", {"limit": "x"}, "limit"),
        ("/api/addresses/search/", {"q": "沿河大道", "limit": "-5"}, "limit"),
        ("/api/boundaries/schedule/", {"year": "x"}, "year"),
        ("/api/boundary-markers/", {"line": "x"}, "line"),
        ("/api/coverage/what-if/", {"lon": "113.9", "lat": "29.7", "radius_m": "x"}, "radius_m"),
        ("/api/coverage/what-if/", {"lon": "nan", "lat": "29.7"}, "lon"),
        ("/api/coverage/indicators/", {"within": "x"}, "within"),
        ("/api/divisions/", {"within": "999999"}, "within"),
        ("/api/placenames/signs/report/", {"radius": "inf"}, "radius"),
    ],
)
def test_ill_formed_parameters_are_400_with_a_field_message(admin_client, url, query, field):
    response = admin_client.get(url, query)
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == "invalid" and body["errors"][field] and body["detail"].startswith(field)


@pytest.mark.parametrize(
    ("path", "kwargs", "field"),
    [
        ("/api/placenames/search/?q=a%00b", {}, "q"),
        ("/api/boundary-lines/1%00/", {}, "path"),
    ],
)
def test_nul_bytes_in_path_and_query_are_refused(path, kwargs, field):
    response = APIClient().get(path, **kwargs)
    assert response.status_code == 400
    assert response.json()["errors"] == {field: ["不能包含空字符（NUL）"]}


def test_nul_bytes_in_a_json_body_are_refused(admin_client):
    response = admin_client.post(
        "/api/placenames/check/", '{"name": "a\\u0000b"}', content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["errors"] == {"body": ["不能包含空字符（NUL）"]}
    escaped = admin_client.post(
        "/api/placenames/check/", '{"name": "a\\\\u0000b"}', content_type="application/json"
    )
    # an escaped backslash followed by "u0000" is text, not NUL: the name rules judge it instead
    assert escaped.json().get("errors") != {"body": ["不能包含空字符（NUL）"]}


def test_schema_documents_errors_integer_ids_and_file_types():
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/facilities/{id}/"]["patch"]
    assert operation["parameters"][0]["schema"]["type"] == "integer"
    assert operation["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    report = schema["paths"]["/api/coverage/runs/{id}/report.pdf/"]["get"]["responses"]["200"]
    assert list(report["content"]) == ["application/pdf"]


def test_a_road_row_with_a_point_is_refused_and_point_roads_break_no_report(
    make_user, admin_client, tmp_path
):
    from django.conf import settings
    from django.contrib.gis.geos import Point

    from geo_mz.placenames import importers, selectors, services
    from geo_mz.placenames.models import FeatureKind

    # given a names table whose road row has only 经度/纬度
    path = tmp_path / "names.csv"
    path.write_text(
        "标准名称,类别,所属行政区划代码,经度,纬度\n鹭新路,道路,421281001,113.9,29.7\n", encoding="utf-8"
    )
    report = importers.placenames_import_table(path, dry_run=True, user=make_user(roles.ADMIN))
    # then the row is refused, naming row, field and reason
    row = report.rows[0]
    assert row.row == 2 and not report.ok
    assert any(e.field == "经度/纬度" and "线要素" in e.message for e in row.errors), row.errors
    # and a road already stored as a point (from an older import) no longer breaks the sign report
    services.feature_kinds_ensure()
    feature = services.feature_create(
        kind=FeatureKind.objects.get(code="road"),
        geom=Point(500000, 3290000, srid=settings.GEO_MZ_SRID),
        code="PT00001",
        status="active",
    )
    services.name_register(feature, name="点状路", decision=None, valid_from=None)
    assert all(i.feature_code != "PT00001" for i in selectors.sign_report())
    assert APIClient().get("/api/placenames/signs/report/").status_code == 200
    # and the roads layer (OGC items, streamed export) leaves it out instead of failing
    items = APIClient().get("/ogc/collections/roads/items", {"code": "PT00001", "f": "json"})
    assert items.status_code == 200 and items.json()["features"] == []
    export = admin_client.get("/api/exports/roads.geojson")
    assert export.status_code == 200 and b"PT00001" not in b"".join(export.streaming_content)

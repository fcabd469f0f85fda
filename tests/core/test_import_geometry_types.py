"""Every importer that reads geometries from files enforces its layer's geometry type (issue 14).

A feature of the wrong type, or an empty or missing geometry, is that row's error on the field
几何 with the reason in Chinese ("应为点要素，收到 LineString"), nothing is written, and nothing
raises: never a 500 or a database error. One helper decides (core.importing.geometry_of_kind);
these tests go through each importer's service, and through the API for facilities and addresses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from geo_mz.core import roles
from geo_mz.core.importing import GEOMETRY_FIELD, RowResult, geometry_of_kind
from tests.factories import feature, geojson_file

LON, LAT = 113.905, 29.722  # inside the demo county (赤壁市), township 421281001
POINT = {"type": "Point", "coordinates": [LON, LAT]}
LINE = {"type": "LineString", "coordinates": [[LON, LAT], [LON + 0.002, LAT + 0.001]]}
POLYGON = {
    "type": "Polygon",
    "coordinates": [[[LON, LAT], [LON + 0.01, LAT], [LON + 0.01, LAT + 0.01], [LON, LAT + 0.01], [LON, LAT]]],
}
MULTIPOINT_1 = {"type": "MultiPoint", "coordinates": [[LON, LAT]]}
MULTIPOINT_2 = {"type": "MultiPoint", "coordinates": [[LON, LAT], [LON + 0.001, LAT]]}

# (geometry, the words the row's message must hold)
NOT_A_POINT = {
    "line": (LINE, "应为点要素，收到 LineString"),
    "polygon": (POLYGON, "应为点要素，收到 Polygon"),
    "multipoint of two": (MULTIPOINT_2, "应为点要素，收到 MultiPoint"),
    "null": (None, "缺少几何，应为点要素"),
}
NOT_A_LINE = {
    "point": (POINT, "应为线要素，收到 Point"),
    "polygon": (POLYGON, "应为线要素，收到 Polygon"),
    "null": (None, "缺少几何，应为线要素"),
}


def geometry_errors(report, row: int) -> list[str]:
    [result] = [r for r in report.rows if r.row == row]
    return [e.message for e in result.errors if e.field == GEOMETRY_FIELD]


# ---------------------------------------------------------------------------------------------------
# The helper (pure)
# ---------------------------------------------------------------------------------------------------


def test_the_helper_accepts_the_kind_a_one_point_multipoint_and_refuses_the_rest():
    import shapely

    row = RowResult(row=7)
    assert geometry_of_kind(row, shapely.from_wkt("POINT (1 2)"), "point").wkt == "POINT (1 2)"
    assert geometry_of_kind(row, shapely.from_wkt("MULTIPOINT ((1 2))"), "point").wkt == "POINT (1 2)"
    assert geometry_of_kind(row, shapely.from_wkt("MULTILINESTRING ((0 0, 1 1))"), "line") is not None
    assert not row.errors
    for wkt in ("LINESTRING (0 0, 1 1)", "POINT EMPTY", "MULTIPOINT ((1 2), (3 4))"):
        assert geometry_of_kind(row, shapely.from_wkt(wkt), "point") is None
    assert geometry_of_kind(row, None, "polygon", "point") is None
    assert [(e.field, e.message) for e in row.errors] == [
        ("几何", "应为点要素，收到 LineString / must be a point, got LineString"),
        ("几何", "几何为空，应为点要素 / empty geometry: must be a point"),
        ("几何", "应为点要素，收到 MultiPoint / must be a point, got MultiPoint"),
        ("几何", "缺少几何，应为面要素或点要素 / missing geometry: must be a polygon or a point"),
    ]


# ---------------------------------------------------------------------------------------------------
# Facilities (points): service and API
# ---------------------------------------------------------------------------------------------------


def facility_file(path: Path, geometry: dict | None) -> Path:
    return geojson_file(
        path,
        [
            feature(POINT, 设施编码="G9001", 名称="几何测试养老院", 类型="养老机构"),
            feature(MULTIPOINT_1, 设施编码="G9002", 名称="几何测试二院", 类型="养老机构"),
            feature(geometry, 设施编码="G9003", 名称="几何测试三院", 类型="养老机构"),
        ],
    )


@pytest.mark.parametrize("case", list(NOT_A_POINT))
def test_facility_import_refuses_a_feature_that_is_not_a_point(case, make_user, tmp_path):
    from geo_mz.facilities import services
    from geo_mz.facilities.models import Facility

    geometry, words = NOT_A_POINT[case]
    before = Facility.objects.count()
    report = services.facilities_import(
        facility_file(tmp_path / "f.geojson", geometry), dry_run=False, user=make_user(roles.ADMIN)
    )
    assert not report.ok and not report.committed
    assert [r.row for r in report.error_rows] == [3], report.as_text()
    assert any(words in m for m in geometry_errors(report, 3)), report.as_text()
    assert Facility.objects.count() == before


def test_facility_import_api_reports_a_line_as_a_row_error_not_a_500(make_user, tmp_path):
    from geo_mz.facilities.models import Facility

    client = APIClient()
    client.force_authenticate(make_user(roles.PLANNER))
    body = facility_file(tmp_path / "f.geojson", LINE).read_bytes()
    before = Facility.objects.count()
    response = client.post(
        "/api/facilities/import/",
        {"file": SimpleUploadedFile("f.geojson", body), "dry_run": False},
        format="multipart",
    )
    assert response.status_code == 400, response.content
    rows = {r["row"]: r["errors"] for r in response.json()["rows"] if r["errors"]}
    assert rows == {
        3: [
            {
                "field": "几何",
                "message": "应为点要素，收到 LineString / must be a point, got LineString",
                "value": None,
            }
        ]
    }
    assert Facility.objects.count() == before


# ---------------------------------------------------------------------------------------------------
# Addresses (points): row by row and bulk, GeoPackage; and the API
# ---------------------------------------------------------------------------------------------------


def address_layer(path: Path, road, geometries: list) -> Path:
    import geopandas as gpd
    import shapely

    from geo_mz.addresses import services

    name = services._feature_name(road)
    shapes = [None if g is None else shapely.geometry.shape(g) for g in geometries]
    frame = gpd.GeoDataFrame(
        {
            "类型": ["道路"] * len(shapes),
            "道路/小区": [name] * len(shapes),
            "门牌号": [str(2 * i + 1) for i in range(len(shapes))],
        },
        geometry=shapes,
        crs="EPSG:4490",
    )
    frame.to_file(path, layer="addresses", driver="GPKG")
    return path


@pytest.mark.parametrize("bulk", [False, True], ids=["row-by-row", "bulk"])
@pytest.mark.parametrize("case", list(NOT_A_POINT))
def test_address_import_refuses_a_feature_that_is_not_a_point(case, bulk, make_road, tmp_path):
    from geo_mz.addresses import importers
    from geo_mz.addresses.models import Address

    road = make_road("几何测试路", ((LON, LAT), (LON + 0.004, LAT)))
    near = {"type": "Point", "coordinates": [LON + 0.001, LAT + 0.0001]}
    near_multi = {"type": "MultiPoint", "coordinates": [[LON + 0.002, LAT + 0.0001]]}
    geometry, words = NOT_A_POINT[case]
    path = address_layer(tmp_path / "a.gpkg", road, [near, near_multi, geometry])
    before = Address.objects.count()
    report = importers.addresses_import(path, dry_run=False, bulk=bulk)
    assert not report.ok and not report.committed
    assert [r.row for r in report.error_rows] == [3], report.as_text()
    assert any(words in m for m in geometry_errors(report, 3)), report.as_text()
    assert Address.objects.count() == before
    # and without the bad row the one-point MultiPoint is accepted as a point
    ok = address_layer(tmp_path / "ok.gpkg", road, [near, near_multi])
    assert importers.addresses_import(ok, dry_run=True, bulk=bulk).ok


def test_address_import_api_reports_a_polygon_as_a_row_error(make_user, make_road, tmp_path):
    road = make_road("几何接口路", ((LON, LAT), (LON + 0.004, LAT)))
    body = address_layer(tmp_path / "a.gpkg", road, [POLYGON]).read_bytes()
    client = APIClient()
    client.force_authenticate(make_user(roles.ADMIN))
    response = client.post(
        "/api/addresses/import/",
        {"file": SimpleUploadedFile("a.gpkg", body), "dry_run": True},
        format="multipart",
    )
    assert response.status_code in (200, 400), response.content
    [row] = [r for r in response.json()["rows"] if r["errors"]]
    assert row["row"] == 1 and row["errors"][0]["field"] == "几何"
    assert row["errors"][0]["message"].startswith("应为点要素，收到 Polygon")


# ---------------------------------------------------------------------------------------------------
# Division geometries (polygons or representative points)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "geometry, words",
    [
        (LINE, "应为面要素或点要素，收到 LineString"),
        (MULTIPOINT_2, "应为面要素或点要素，收到 MultiPoint"),
        (None, "缺少几何，应为面要素或点要素"),
    ],
    ids=["line", "multipoint of two", "null"],
)
def test_division_import_refuses_a_feature_that_is_neither_polygon_nor_point(geometry, words, db, tmp_path):
    from geo_mz.divisions.models import Division
    from geo_mz.divisions.services import divisions_import_geometries

    path = geojson_file(
        tmp_path / "d.geojson",
        [
            feature(POLYGON, code="421281997", name="面测试镇"),
            feature(MULTIPOINT_1, code="421281997001", name="点测试村"),
            feature(geometry, code="421281996", name="坏几何镇"),
        ],
    )
    before = Division.objects.count()
    report = divisions_import_geometries(path, dry_run=False)
    assert not report.ok and not report.committed
    assert [r.row for r in report.error_rows] == [3], report.as_text()
    assert any(words in m for m in geometry_errors(report, 3)), report.as_text()
    assert Division.objects.count() == before


# ---------------------------------------------------------------------------------------------------
# Road network (roads and segments: lines; signs: points)
# ---------------------------------------------------------------------------------------------------


def network_files(tmp_path: Path, *, road=LINE, segment=LINE, sign=POINT) -> tuple[Path, Path, Path]:
    names = [
        {
            "name": "几何测试大道",
            "approved_on": "2001-01-01",
            "decision_number": "测试〔2001〕1号",
            "approving_body": "赤壁市人民政府",
        }
    ]
    roads = geojson_file(
        tmp_path / "roads.geojson",
        [feature(road, road_id="RG001", kind="road", division_codes=["421281001"], names=names)],
    )
    segments = geojson_file(
        tmp_path / "segments.geojson",
        [feature(segment, segment_id="SG00001", road_id="RG001", township_code="421281001")],
    )
    signs = geojson_file(
        tmp_path / "signs.geojson",
        [feature(sign, sign_id="PG001", road_id="RG001", text="几何测试大道")],
    )
    return segments, roads, signs


def network_snapshot() -> tuple[int, int, int]:
    from geo_mz.placenames.models import NamedFeature, RoadSegment, RoadSign

    return NamedFeature.objects.count(), RoadSegment.objects.count(), RoadSign.objects.count()


@pytest.mark.parametrize(
    "layer, geometry, words",
    [(layer, g, w) for layer in ("road", "segment") for g, w in NOT_A_LINE.values()]
    + [("sign", g, w) for g, w in NOT_A_POINT.values()],
    ids=[f"{layer}-{case}" for layer in ("road", "segment") for case in NOT_A_LINE]
    + [f"sign-{case}" for case in NOT_A_POINT],
)
def test_road_network_import_refuses_features_of_the_wrong_type(layer, geometry, words, db, tmp_path):
    from geo_mz.placenames.importers import road_network_import

    segments, roads, signs = network_files(tmp_path, **{layer: geometry})
    before = network_snapshot()
    report = road_network_import(segments, roads, signs, dry_run=False)
    assert not report.ok and not report.committed
    # (a refused road also leaves its segment and sign with an unknown road_id)
    [bad] = [r for r in report.rows if any(e.field == GEOMETRY_FIELD for e in r.errors)]
    assert bad.code == {"road": "RG001", "segment": "SG00001", "sign": "PG001"}[layer]
    assert bad.row == 1 and any(words in e.message for e in bad.errors), report.as_text()
    assert network_snapshot() == before


def test_a_good_road_network_still_imports(db, tmp_path):
    from geo_mz.placenames.importers import road_network_import

    report = road_network_import(*network_files(tmp_path), dry_run=True)
    assert report.ok, report.as_text()
    assert report.counts()["create"] == 3


def test_a_multilinestring_segment_is_refused_as_not_one_edge(db, tmp_path):
    from geo_mz.placenames.importers import road_network_import

    multi = {"type": "MultiLineString", "coordinates": [LINE["coordinates"]]}
    segments, roads, signs = network_files(tmp_path, segment=multi)
    report = road_network_import(segments, roads, signs, dry_run=True)
    [bad] = report.error_rows
    assert bad.code == "SG00001" and "路段应为单条线" in bad.errors[0].message


def test_a_feature_with_no_properties_or_an_unreadable_geometry_is_a_row_error(db, tmp_path):
    from geo_mz.placenames.importers import road_network_import

    segments, roads, signs = network_files(tmp_path)
    data = json.loads(segments.read_text("utf-8"))
    data["features"].append({"type": "Feature", "properties": None, "geometry": {"type": "Bogus"}})
    segments.write_text(json.dumps(data), "utf-8")
    report = road_network_import(segments, roads, signs, dry_run=True)
    [bad] = report.error_rows
    assert bad.row == 2 and bad.code == "" and any(e.field == "几何" for e in bad.errors), report.as_text()


# ---------------------------------------------------------------------------------------------------
# Old data: a road stored as a point breaks no tile
# ---------------------------------------------------------------------------------------------------


def test_a_road_stored_as_a_point_breaks_no_roads_tile(db):
    import math

    from django.conf import settings
    from django.contrib.gis.geos import LineString, Point

    from geo_mz.core import crs
    from geo_mz.divisions.models import Division
    from geo_mz.placenames import services
    from geo_mz.placenames.models import FeatureKind, RoadSegment

    # given a road stored as a point (an old table import) with a segment linked to it
    services.feature_kinds_ensure()
    x, y = crs.lonlat_to_projected(LON, LAT, settings.GEO_MZ_SRID)
    road = services.feature_create(
        kind=FeatureKind.objects.get(code="road"),
        geom=Point(x, y, srid=settings.GEO_MZ_SRID),
        code="PT00002",
        status="active",
    )
    services.name_register(road, name="点状旧路", decision=None, valid_from=None)
    RoadSegment.objects.create(
        code="SPT0001",
        geom=LineString((x, y), (x + 50, y + 20), srid=settings.GEO_MZ_SRID),
        feature=road,
        division=Division.objects.get(code="421281001"),
        length_m=53.85,
    )
    # when the roads tile over it is drawn
    z = 14
    tx = int((LON + 180) / 360 * 2**z)
    ty = int((1 - math.asinh(math.tan(math.radians(LAT))) / math.pi) / 2 * 2**z)
    response = APIClient().get(f"/tiles/roads/{z}/{tx}/{ty}.pbf")
    # then it is served (the tile layer draws segments, which are lines by their column type)
    assert response.status_code == 200 and b"SPT0001" in response.content

"""OGC API – Features (/ogc/) over HTTP: structure, paging, filters, CRS and axis order, permissions, HTML,
and real clients (GDAL's ogrinfo/ogr2ogr from Debian, pyogrio's bundled GDAL, OWSLib) against a live
server."""

from __future__ import annotations

import re
import shutil
import subprocess
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import shapely
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from geo_mz.core import crs
from geo_mz.divisions.models import Division
from geo_mz.facilities.models import Facility
from tests.browser.conftest import demo_county  # noqa: F401

pytestmark = pytest.mark.django_db

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"
PUBLIC = {
    "divisions",
    "division_points",
    "roads",
    "boundary_lines",
    "boundary_markers",
    "facilities",
    "coverage",
}


def _lonlat(point) -> tuple[float, float]:
    return crs.projected_to_lonlat(point.x, point.y, settings.GEO_MZ_SRID)


def _facility_lonlats() -> dict[str, tuple[float, float]]:
    return {code: _lonlat(p) for code, p in Facility.objects.values_list("code", "point")}


def _href(links, rel) -> str | None:
    return next((lk["href"] for lk in links if lk["rel"] == rel), None)


# ---------------------------------------------------------------------------------------------------
# Landing page, conformance, collections
# ---------------------------------------------------------------------------------------------------


def test_landing_page_links_and_conformance():
    c = APIClient()
    r = c.get("/ogc/")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/json")
    links = r.json()["links"]
    rels = {lk["rel"] for lk in links}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    assert _href(links, "service-desc").endswith("/api/schema/?format=json")
    assert _href(links, "data").endswith("/ogc/collections")

    conforms = c.get(urlsplit(_href(links, "conformance")).path).json()["conformsTo"]
    for cls in ("core", "oas30", "html", "geojson"):
        assert f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{cls}" in conforms
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conforms


def test_collections_list_public_layers_with_crs_and_extent():
    body = APIClient().get("/ogc/collections").json()
    by_id = {c["id"]: c for c in body["collections"]}
    assert set(by_id) == PUBLIC  # addresses need a user: not listed anonymously
    expected_crs = [CRS84, EPSG.format(4326), EPSG.format(4490), EPSG.format(settings.GEO_MZ_SRID)]
    for c in by_id.values():
        assert c["itemType"] == "feature"
        assert c["crs"] == expected_crs
        assert c["storageCrs"] == EPSG.format(settings.GEO_MZ_SRID)
        assert any(lk["rel"] == "items" and lk["type"] == "application/geo+json" for lk in c["links"])
    assert "extent" not in by_id["coverage"]  # no coverage run stored in the demo

    # The CRS84 extent covers every facility. It is the storage-CRS box transformed, so its corners may
    # reach a little (≪ 1 km) beyond the data.
    minx, miny, maxx, maxy = by_id["facilities"]["extent"]["spatial"]["bbox"][0]
    lons, lats = np.array(list(_facility_lonlats().values())).T
    assert minx <= lons.min() < minx + 0.01 and maxx - 0.01 < lons.max() <= maxx
    assert miny <= lats.min() < miny + 0.01 and maxy - 0.01 < lats.max() <= maxy


def test_single_collection_and_unknown_collection():
    c = APIClient()
    doc = c.get("/ogc/collections/roads").json()
    assert doc["id"] == "roads" and doc["title"] == "道路街巷"
    assert {"self", "items", "describedby"} <= {lk["rel"] for lk in doc["links"]}
    r = c.get("/ogc/collections/nowhere")
    assert r.status_code == 404 and "nowhere" in r.json()["description"]
    assert c.get("/ogc/collections/nowhere/items").status_code == 404


def test_schema_and_queryables_are_typed():
    c = APIClient()
    schema = c.get("/ogc/collections/facilities/schema")
    assert schema["Content-Type"].startswith("application/schema+json")
    props = schema.json()["properties"]["properties"]["properties"]
    assert props["beds"]["type"] == "integer" and props["name"]["type"] == "string"
    queryables = c.get("/ogc/collections/facilities/queryables").json()["properties"]
    assert "type" in queryables and "beds" not in queryables


def test_openapi_document_lists_each_collection_with_its_filters():
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    items = schema["paths"]["/ogc/collections/facilities/items"]["get"]
    names = {p["name"] for p in items["parameters"]}
    assert {"bbox", "bbox-crs", "crs", "limit", "offset", "type", "status"} <= names
    assert "/ogc/collections/{collection_id}/items/{feature_id}" in schema["paths"]


# ---------------------------------------------------------------------------------------------------
# Items: structure, paging
# ---------------------------------------------------------------------------------------------------


def test_items_are_geojson_in_lonlat_with_counts_and_links():
    r = APIClient().get("/ogc/collections/facilities/items", {"limit": 5})
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/geo+json")
    assert r["Content-Crs"] == f"<{CRS84}>"
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    assert fc["numberMatched"] == Facility.objects.count() and fc["numberReturned"] == 5
    assert {"self", "alternate", "next", "collection"} <= {lk["rel"] for lk in fc["links"]}
    expected = _facility_lonlats()
    for f in fc["features"]:
        assert f["type"] == "Feature" and f["geometry"]["type"] == "Point"
        assert f["id"] == f["properties"]["code"]
        assert {"type", "name", "status", "beds", "nursing_beds", "places"} <= set(f["properties"])
        lon, lat = f["geometry"]["coordinates"]
        assert abs(lon - expected[f["id"]][0]) < 1e-7 and abs(lat - expected[f["id"]][1]) < 1e-7


def test_next_links_walk_every_feature_once_and_offsets_agree():
    c = APIClient()
    url, pages, ids = "/ogc/collections/facilities/items?limit=100", 0, []
    while url:
        fc = c.get(url).json()
        pages += 1
        ids += [f["id"] for f in fc["features"]]
        if pages > 1:
            assert "numberMatched" not in fc  # cursor pages skip the count
        nxt = _href(fc["links"], "next")
        url = urlsplit(nxt).path + "?" + urlsplit(nxt).query if nxt else None
    assert len(ids) == len(set(ids)) == Facility.objects.count()
    assert pages == -(-len(ids) // 100)

    # Plain offset paging (no cursor) returns the same page as the cursor walk, with a prev link.
    page3 = c.get("/ogc/collections/facilities/items", {"limit": 100, "offset": 200}).json()
    assert [f["id"] for f in page3["features"]] == ids[200:300]
    prev = parse_qs(urlsplit(_href(page3["links"], "prev")).query)
    assert prev["offset"] == ["100"] and "after" not in prev


def test_number_matched_is_left_out_above_the_count_limit(monkeypatch):
    from geo_mz.api import ogc

    monkeypatch.setattr(ogc, "COUNT_LIMIT", 100)
    c = APIClient()
    big = c.get("/ogc/collections/facilities/items", {"limit": 10}).json()
    assert "numberMatched" not in big and big["numberReturned"] == 10
    assert _href(big["links"], "next")
    small = c.get("/ogc/collections/facilities/items", {"limit": 10, "type": "elderly_institution"}).json()
    assert small["numberMatched"] == 12


def test_limit_is_clamped_and_bad_paging_is_refused():
    c = APIClient()
    fc = c.get("/ogc/collections/divisions/items", {"limit": 50_000}).json()
    assert fc["numberReturned"] == fc["numberMatched"] == Division.objects.count()
    for params in ({"limit": 0}, {"limit": "ten"}, {"offset": -1}, {"after": "x"}):
        r = c.get("/ogc/collections/divisions/items", params)
        assert r.status_code == 400, params
        name = next(iter(params))
        assert name in r.json()["errors"] and r.json()["code"] == "InvalidParameterValue"


# ---------------------------------------------------------------------------------------------------
# bbox, property filters
# ---------------------------------------------------------------------------------------------------

BOX = (113.80, 29.65, 113.95, 29.80)  # lon/lat around 赤壁 town centre


def _ids(client, url, params) -> set[str]:
    r = client.get(url, {**params, "limit": 10_000})
    assert r.status_code == 200, r.content
    return {f["id"] for f in r.json()["features"]}


def test_bbox_in_crs84_and_in_authority_axis_order():
    c = APIClient()
    x1, y1, x2, y2 = BOX
    expected = {
        code for code, (lon, lat) in _facility_lonlats().items() if x1 <= lon <= x2 and y1 <= lat <= y2
    }
    assert 0 < len(expected) < Facility.objects.count()
    url = "/ogc/collections/facilities/items"
    assert _ids(c, url, {"bbox": f"{x1},{y1},{x2},{y2}"}) == expected
    # EPSG:4326 / 4490 boxes are latitude first (Part 2: the CRS's axis order).
    for srid in (4326, 4490):
        assert _ids(c, url, {"bbox": f"{y1},{x1},{y2},{x2}", "bbox-crs": EPSG.format(srid)}) == expected
    # The storage CRS (EPSG:4547) is northing (X) first, like Chinese surveyors write it.
    pts = dict(Facility.objects.values_list("code", "point"))
    e1, n1 = crs.lonlat_to_projected(113.85, 29.70, settings.GEO_MZ_SRID)
    e2, n2 = crs.lonlat_to_projected(113.90, 29.75, settings.GEO_MZ_SRID)
    in_metres = {code for code, p in pts.items() if e1 <= p.x <= e2 and n1 <= p.y <= n2}
    assert in_metres
    bbox = f"{n1},{e1},{n2},{e2}"
    assert _ids(c, url, {"bbox": bbox, "bbox-crs": f"EPSG:{settings.GEO_MZ_SRID}"}) == in_metres
    # Six numbers (with heights) are accepted; a box far from China is simply empty; the world is all.
    assert _ids(c, url, {"bbox": f"{x1},{y1},0,{x2},{y2},100"}) == expected
    assert _ids(c, url, {"bbox": "0,40,10,50"}) == set()
    assert len(_ids(c, url, {"bbox": "-180,-90,180,90"})) == Facility.objects.count()


def test_bad_bbox_is_refused_with_the_axis_order_explained():
    c = APIClient()
    url = "/ogc/collections/facilities/items"
    cases = {
        "1,2,3": "4 comma-separated numbers",
        "a,b,c,d": "4 comma-separated numbers",
        "113.9,29.8,113.8,29.7": "lower corner",
        "29.65,113.80,29.80,113.95": "axis order lon,lat",  # lat,lon sent as CRS84
        "113,29,200,30": "axis order lon,lat",
    }
    for bbox, message in cases.items():
        r = c.get(url, {"bbox": bbox})
        assert r.status_code == 400, bbox
        assert message in r.json()["errors"]["bbox"][0], (bbox, r.json())
    r = c.get(url, {"bbox": "113.8,29.65,113.95,29.8", "bbox-crs": EPSG.format(4326)})
    assert r.status_code == 400 and "axis order lat,lon" in r.json()["errors"]["bbox"][0]


def test_property_filters_on_queryables():
    c = APIClient()
    elderly = c.get("/ogc/collections/facilities/items", {"type": "elderly_institution"}).json()
    assert elderly["numberMatched"] == Facility.objects.filter(type__code="elderly_institution").count() == 12
    assert sum(f["properties"]["beds"] for f in elderly["features"]) == 2623
    towns = c.get("/ogc/collections/divisions/items", {"level": "township", "parent_code": "421281"}).json()
    assert towns["numberMatched"] == Division.objects.filter(level="township", parent__code="421281").count()
    assert all(f["geometry"]["type"] == "MultiPolygon" for f in towns["features"])
    real = c.get("/ogc/collections/divisions/items", {"synthetic": "false", "level": "county"}).json()
    assert real["numberMatched"] == Division.objects.filter(synthetic=False, level="county").count() > 0
    # Filters combine with paging: next links keep them.
    page = c.get("/ogc/collections/facilities/items", {"type": "elderly_institution", "limit": 5}).json()
    assert parse_qs(urlsplit(_href(page["links"], "next")).query)["type"] == ["elderly_institution"]

    r = c.get("/ogc/collections/facilities/items", {"beds": "100"})  # not a queryable
    assert r.status_code == 400 and "beds" in r.json()["errors"]
    r = c.get("/ogc/collections/boundary_lines/items", {"section": "one"})
    assert r.status_code == 400 and "integer" in r.json()["errors"]["section"][0]
    r = c.get("/ogc/collections/roads/items", {"synthetic": "maybe"})
    assert r.status_code == 400 and "boolean" in r.json()["errors"]["synthetic"][0]


def test_roads_carry_the_current_name_and_romanization():
    fc = APIClient().get("/ogc/collections/roads/items", {"name": "沿河大道"}).json()
    assert fc["numberMatched"] == 1
    road = fc["features"][0]
    assert road["properties"]["romanization"] == "Yanhe Dadao"
    assert road["geometry"]["type"] == "MultiLineString"
    assert {"status", "road_class", "width_m"} <= set(road["properties"])


# ---------------------------------------------------------------------------------------------------
# CRS and axis order
# ---------------------------------------------------------------------------------------------------


def test_crs_parameter_sets_content_crs_and_axis_order():
    c = APIClient()
    f0 = Facility.objects.order_by("pk").first()
    lon, lat = _lonlat(f0.point)
    url = f"/ogc/collections/facilities/items/{f0.code}"

    def coords(crs_value=None):
        r = c.get(url, {"crs": crs_value} if crs_value else {})
        assert r.status_code == 200, r.content
        return r["Content-Crs"], r.json()["geometry"]["coordinates"]

    assert coords() == (f"<{CRS84}>", pytest.approx([lon, lat], abs=1e-9))
    assert coords(CRS84) == (f"<{CRS84}>", pytest.approx([lon, lat], abs=1e-9))
    for srid in (4326, 4490):  # latitude first, as EPSG defines these CRSs
        assert coords(EPSG.format(srid)) == (f"<{EPSG.format(srid)}>", pytest.approx([lat, lon], abs=1e-9))
        assert coords(f"EPSG:{srid}")[1] == pytest.approx([lat, lon], abs=1e-9)
    storage = EPSG.format(settings.GEO_MZ_SRID)  # northing (X), easting (Y)
    assert coords(storage) == (f"<{storage}>", pytest.approx([f0.point.y, f0.point.x], abs=1e-3))

    fc = c.get("/ogc/collections/facilities/items", {"crs": EPSG.format(4490), "limit": 3})
    assert fc["Content-Crs"] == f"<{EPSG.format(4490)}>"
    first = fc.json()["features"][0]["geometry"]["coordinates"]
    assert 29 < first[0] < 30.5 and 113 < first[1] < 115  # lat, lon


def test_polygons_and_lines_transform_every_vertex():
    c = APIClient()
    town = Division.objects.filter(level="township").order_by("code").first()
    body = c.get(f"/ogc/collections/divisions/items/{town.code}").json()
    got = np.array(shapely.get_coordinates(shapely.geometry.shape(body["geometry"])))
    xy = np.array(town.geom.coords[0][0])
    lon, lat = crs.projected_to_lonlat(xy[:, 0], xy[:, 1], settings.GEO_MZ_SRID)
    assert np.abs(got[: len(lon)] - np.c_[lon, lat]).max() < 1e-7
    flipped = c.get(f"/ogc/collections/divisions/items/{town.code}", {"crs": "EPSG:4490"}).json()
    assert flipped["geometry"]["coordinates"][0][0][0] == pytest.approx([lat[0], lon[0]], abs=1e-9)


def test_unsupported_crs_is_refused():
    c = APIClient()
    r = c.get("/ogc/collections/facilities/items", {"crs": "EPSG:3857"})
    assert r.status_code == 400 and "unsupported CRS" in r.json()["errors"]["crs"][0]
    assert CRS84 in r.json()["errors"]["crs"][0]
    r = c.get("/ogc/collections/facilities/items", {"bbox-crs": "EPSG:9999", "bbox": "1,2,3,4"})
    assert r.status_code == 400 and "bbox-crs" in r.json()["errors"]
    assert c.get("/ogc/collections/facilities/items", {"f": "xml"}).status_code == 400
    assert c.get("/ogc/collections/facilities/items", {"sortby": "name"}).status_code == 400
    # `datetime` is part of Core: checked, and (no collection has a temporal extent) filters nothing.
    everything = c.get("/ogc/collections/facilities/items", {"datetime": "2024-01-01T00:00:00Z/.."})
    assert everything.json()["numberMatched"] == Facility.objects.count()
    r = c.get("/ogc/collections/facilities/items", {"datetime": "last week"})
    assert r.status_code == 400 and "RFC 3339" in r.json()["errors"]["datetime"][0]


# ---------------------------------------------------------------------------------------------------
# Single items, permissions
# ---------------------------------------------------------------------------------------------------


def test_single_item_and_missing_items():
    c = APIClient()
    f = c.get("/ogc/collections/facilities/items/F0001").json()
    assert f["id"] == "F0001" and f["properties"]["name"]
    assert {"self", "collection"} <= {lk["rel"] for lk in f["links"]}
    marker = c.get("/ogc/collections/boundary_markers/items?limit=1").json()["features"][0]
    assert isinstance(marker["id"], int)
    one = c.get(f"/ogc/collections/boundary_markers/items/{marker['id']}").json()
    assert one["properties"]["x_northing"] > 3_000_000 and one["properties"]["y_easting"] < 1_000_000
    assert c.get("/ogc/collections/facilities/items/NOPE").status_code == 404
    assert c.get("/ogc/collections/boundary_markers/items/not-a-number").status_code == 404
    assert c.get("/ogc/collections/boundary_markers/items/99999999").status_code == 404


def test_addresses_need_a_user_or_a_token(make_user):
    from geo_mz.core import roles

    anon = APIClient()
    for url in (
        "/ogc/collections/addresses",
        "/ogc/collections/addresses/items",
        "/ogc/collections/addresses/items/x",
    ):
        r = anon.get(url)
        assert r.status_code == 401, url
        assert r["WWW-Authenticate"] == "Token" and "addresses" in r.json()["description"]
    assert (
        anon.get("/ogc/collections/addresses/items", HTTP_AUTHORIZATION="Token nonsense").status_code == 401
    )

    user = make_user(roles.VIEWER)
    token = Token.objects.create(user=user)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    fc = c.get("/ogc/collections/addresses/items", {"limit": 3, "status": "active"}).json()
    assert fc["numberMatched"] > 0 and len(fc["features"]) == 3
    props = fc["features"][0]["properties"]
    assert set(props) == {"code", "full_text", "label", "kind", "status", "number", "suffix", "division_code"}
    assert "addresses" in {col["id"] for col in c.get("/ogc/collections").json()["collections"]}

    session = APIClient()
    session.force_login(user)
    assert session.get("/ogc/collections/addresses/items", {"limit": 1}).status_code == 200


def test_public_collections_are_configurable(settings):
    # addresses follow GEO_MZ_ADDRESSES_PUBLIC (tiles, REST and exports too), not this list
    settings.GEO_MZ_OGC_PUBLIC = ["facilities"]
    settings.GEO_MZ_ADDRESSES_PUBLIC = True
    c = APIClient()
    assert {col["id"] for col in c.get("/ogc/collections").json()["collections"]} == {
        "addresses",
        "facilities",
    }
    assert c.get("/ogc/collections/addresses/items", {"limit": 1}).status_code == 200
    assert c.get("/ogc/collections/roads/items").status_code == 401


# ---------------------------------------------------------------------------------------------------
# Coverage results, HTML
# ---------------------------------------------------------------------------------------------------


def test_coverage_collection_serves_the_latest_run():
    from geo_mz.coverage import services as coverage

    c = APIClient()
    assert c.get("/ogc/collections/coverage/items").json()["numberMatched"] == 0
    coverage.coverage_run(["day_care"], label="旧")
    run = coverage.coverage_run(["day_care", "elderly_institution"], label="最新")
    fc = c.get("/ogc/collections/coverage/items").json()
    rows = {r["code"]: r for r in run.divisions}
    assert fc["numberMatched"] == len(rows) > 0
    for f in fc["features"]:
        p = f["properties"]
        assert p["run_id"] == run.pk and p["run_label"] == "最新"
        assert p["share"] == rows[f["id"]]["share"] and p["total"] == rows[f["id"]]["total_weight"]
        assert f["geometry"]["type"] == "MultiPolygon"
    doc = c.get("/ogc/collections/coverage").json()
    assert len(doc["extent"]["spatial"]["bbox"][0]) == 4


def test_html_pages_render_in_chinese():
    c = APIClient()
    pages = {
        "/ogc/?f=html": "数据集合",
        "/ogc/conformance?f=html": "符合性声明",
        "/ogc/collections?f=html": "民政设施",
        "/ogc/collections/facilities?f=html": "可作筛选条件",
        "/ogc/collections/facilities/items?f=html&limit=5": "下一页",
        "/ogc/collections/facilities/items/F0001?f=html": "民政设施",
    }
    for url, text in pages.items():
        r = c.get(url)
        assert r.status_code == 200 and r["Content-Type"].startswith("text/html"), url
        assert text in r.content.decode(), url
    # A browser's Accept header gets HTML; GDAL's and OWSLib's get JSON.
    browser = c.get("/ogc/collections/roads/items", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert browser["Content-Type"].startswith("text/html")
    gdal = c.get("/ogc/collections/roads/items", HTTP_ACCEPT="application/geo+json, application/json")
    assert gdal["Content-Type"].startswith("application/geo+json")


# ---------------------------------------------------------------------------------------------------
# Real clients against a live server
# ---------------------------------------------------------------------------------------------------


def _gdal_version() -> tuple[int, int]:
    out = subprocess.run(["ogrinfo", "--version"], capture_output=True, text=True, check=True).stdout
    major, minor = re.search(r"GDAL (\d+)\.(\d+)", out).groups()
    return int(major), int(minor)


def _run(args: list[str]) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _assert_same_geometries(gdf, expected: dict, key: str) -> None:
    """Every feature's coordinates equal the DB geometry transformed in Python, within 1e-7°."""
    assert len(gdf) == len(expected)
    for code, geom in zip(gdf[key], gdf.geometry, strict=True):
        db = expected[code]
        if db is None:
            assert geom is None or geom.is_empty, code
            continue
        xy = np.array(shapely.get_coordinates(shapely.from_wkb(bytes(db.wkb))))
        lon, lat = crs.projected_to_lonlat(xy[:, 0], xy[:, 1], settings.GEO_MZ_SRID)
        got = shapely.get_coordinates(geom)
        assert got.shape == (len(lon), 2), code
        assert np.abs(got - np.c_[lon, lat]).max() < 1e-7, code


_PYOGRIO_COPY = """
import json, sys
import pyogrio
url, layer, out, kwargs = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
if "bbox" in kwargs:
    kwargs["bbox"] = tuple(kwargs["bbox"])
pyogrio.write_dataframe(pyogrio.read_dataframe(url, layer=layer, **kwargs), out, layer=layer)
"""


def _pyogrio_copy(root: str, layer: str, out, **kwargs):
    """Read an OAPIF layer with pyogrio in a child process (GDAL's HTTP calls hold the GIL, which would
    starve the live server's thread in this one) and return the copy read back from a GeoPackage."""
    import json
    import sys

    import pyogrio

    _run([sys.executable, "-c", _PYOGRIO_COPY, f"OAPIF:{root}", layer, str(out), json.dumps(kwargs)])
    return pyogrio.read_dataframe(out, layer=layer)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_real_clients_gdal_pyogrio_and_owslib(live_server, demo_county, make_user, tmp_path):  # noqa: F811
    import pyogrio
    from owslib.ogcapi.features import Features

    from geo_mz.addresses.models import Address
    from geo_mz.core import roles

    # gdal-bin is a system package that scripts/setup.sh installs: its absence is a failure, not a skip.
    assert shutil.which("ogr2ogr") and shutil.which("ogrinfo"), (
        "gdal-bin missing (scripts/setup.sh installs it)"
    )
    root = f"{live_server.url}/ogc/"

    # ogrinfo (Debian's GDAL) lists the public collections.
    listing = _run(["ogrinfo", "-ro", "-so", f"OAPIF:{root}"])
    for cid in PUBLIC:
        assert re.search(rf"^\d+: {cid} ", listing, re.M), listing
    assert "addresses" not in listing

    # ogr2ogr copies a point and a polygon collection into a GeoPackage: same count, same coordinates
    # (lon/lat within 1e-7°), EPSG:4326. GDAL ≥ 3.7 would open layers in the advertised storage CRS, so
    # ask it for CRS84 explicitly there; GDAL 3.6 (Debian 12) only speaks CRS84.
    gpkg = tmp_path / "out.gpkg"
    crs_option = ["-oo", "PREFERRED_CRS=OGC:CRS84"] if _gdal_version() >= (3, 7) else []
    _run(["ogr2ogr", "-f", "GPKG", *crs_option, str(gpkg), f"OAPIF:{root}", "facilities", "divisions"])
    assert set(pyogrio.list_layers(gpkg)[:, 0]) == {"facilities", "divisions"}
    facilities = pyogrio.read_dataframe(gpkg, layer="facilities")
    assert facilities.crs.to_epsg() == 4326
    _assert_same_geometries(facilities, dict(Facility.objects.values_list("code", "point")), "code")
    divisions = pyogrio.read_dataframe(gpkg, layer="divisions")
    assert divisions.crs.to_epsg() == 4326
    _assert_same_geometries(divisions, dict(Division.objects.values_list("code", "geom")), "code")
    assert pyogrio.read_info(gpkg, layer="divisions")["geometry_type"] == "MultiPolygon"
    info = pyogrio.read_info(gpkg, layer="facilities")
    # Typed from the collection's schema, not guessed from a first page of nulls.
    assert dict(zip(info["fields"], info["dtypes"], strict=True))["places"].startswith("int")

    # Addresses through ogr2ogr with a token header.
    user = make_user(roles.VIEWER)
    token = Token.objects.create(user=user).key
    addresses_gpkg = tmp_path / "addresses.gpkg"
    _run(
        [
            "ogr2ogr",
            "--config",
            "GDAL_HTTP_HEADERS",
            f"Authorization: Token {token}",
            "-oo",
            "PAGE_SIZE=5000",
            "-f",
            "GPKG",
            *crs_option,
            str(addresses_gpkg),
            f"OAPIF:{root}",
            "addresses",
        ]
    )
    assert pyogrio.read_info(addresses_gpkg, layer="addresses")["features"] == Address.objects.count()

    # pyogrio's bundled GDAL (≥ 3.7) implements Part 2: it opens layers in the storage CRS
    # (northing-first on the wire), and with CRS=EPSG:4490 asks for latitude-first coordinates and a
    # latitude-first bbox. Both must land on the same points.
    if tuple(pyogrio.__gdal_version__[:2]) >= (3, 7):
        pts = dict(Facility.objects.values_list("code", "point"))
        native = _pyogrio_copy(root, "facilities", tmp_path / "native.gpkg")
        assert native.crs.to_epsg() == settings.GEO_MZ_SRID
        got = np.array([[g.x, g.y] for g in native.geometry])
        want = np.array([[pts[c].x, pts[c].y] for c in native["code"]])
        assert len(native) == len(pts) and np.abs(got - want).max() < 1e-3
        geo = _pyogrio_copy(root, "facilities", tmp_path / "geo.gpkg", CRS="EPSG:4490")
        assert geo.crs.to_epsg() == 4490
        _assert_same_geometries(geo, pts, "code")
        boxed = _pyogrio_copy(root, "facilities", tmp_path / "boxed.gpkg", CRS="EPSG:4490", bbox=list(BOX))
        x1, y1, x2, y2 = BOX
        inside = {c for c, (lon, lat) in _facility_lonlats().items() if x1 <= lon <= x2 and y1 <= lat <= y2}
        assert set(boxed["code"]) == inside

    # OWSLib lists the collections and fetches items, anonymously and with a token.
    api = Features(root)
    assert set(api.feature_collections()) == PUBLIC
    assert api.collection("facilities")["storageCrs"] == EPSG.format(settings.GEO_MZ_SRID)
    items = api.collection_items("facilities", limit=7, type="elderly_institution")
    assert items["numberMatched"] == 12 and len(items["features"]) == 7
    one = api.collection_item("facilities", items["features"][0]["id"])
    assert one["properties"]["type"] == "elderly_institution"
    assert "type" in api.collection_queryables("facilities")["properties"]
    from owslib.ogcapi import REQUEST_HEADERS

    try:
        with_token = Features(root, headers={"Authorization": f"Token {token}"})
        assert "addresses" in with_token.feature_collections()
        assert with_token.collection_items("addresses", limit=2)["numberReturned"] == 2
    finally:
        REQUEST_HEADERS.pop("Authorization", None)  # OWSLib merges headers into a module-level dict

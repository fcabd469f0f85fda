"""/tiles/: Mapbox vector tiles decoded with mapbox-vector-tile against the demo county in PostGIS.

Expected features are computed independently of the tile SQL: each address's lon/lat (EPSG:4326) is
placed on the XYZ grid with the spherical-Mercator formulas below, and compared with what the tile
holds. Points within a hair of a tile edge may fall either way (two different transforms), so the
assertions allow that sliver and nothing more.
"""

from __future__ import annotations

import gzip
import math
from collections import Counter

import mapbox_vector_tile
import pytest
from django.core.management import call_command
from django.db import connection

from geo_mz.api import tiles

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _addresses_public(settings):
    """These tests are about building and caching tiles, read by an anonymous client; who may read the
    addresses layer (GEO_MZ_ADDRESSES_PUBLIC, off by default) is tests/api/test_personal_data.py's."""
    settings.GEO_MZ_ADDRESSES_PUBLIC = True


EDGE = 1e-6  # tile units: points closer than this to an edge may land on either side
DECODE = {"y_coord_down": True}


def tile_fraction(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Fractional XYZ tile coordinates of a lon/lat at zoom z (spherical Web Mercator)."""
    n = 2**z
    fx = (lon + 180.0) / 360.0 * n
    fy = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    return fx, fy


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    fx, fy = tile_fraction(lon, lat, z)
    return int(fx), int(fy)


def _inside(f: float, lo: float, hi: float, pad: float) -> bool:
    return lo - pad <= f < hi + pad


def address_rows() -> list[tuple[int, str, str, str, str, int | None, float, float]]:
    """The addresses layer's population: entrances (no room) that are not retired, with lon/lat."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, code, label, kind, status, number, "
            "ST_X(ST_Transform(point, 4326)), ST_Y(ST_Transform(point, 4326)) "
            "FROM addresses_address WHERE room = '' AND status <> 'retired'"
        )
        return cursor.fetchall()


def addresses_in_tile(z: int, x: int, y: int, margin: float = 0.0) -> tuple[set[str], set[str]]:
    """(surely inside, possibly inside) codes for the tile grown by `margin` tile units."""
    sure, maybe = set(), set()
    for _id, code, *_props, lon, lat in address_rows():
        fx, fy = tile_fraction(lon, lat, z)
        if _inside(fx, x - margin, x + 1 + margin, -EDGE) and _inside(fy, y - margin, y + 1 + margin, -EDGE):
            sure.add(code)
        if _inside(fx, x - margin, x + 1 + margin, EDGE) and _inside(fy, y - margin, y + 1 + margin, EDGE):
            maybe.add(code)
    return sure, maybe


@pytest.fixture
def town_address():
    """A demo house number in the county seat: (id, code, label, kind, status, number, lon, lat)."""
    rows = sorted((r for r in address_rows() if r[3] == "road" and r[4] == "active"), key=lambda r: r[1])
    assert rows, "the demo county has active road house numbers"
    return rows[0]


@pytest.fixture
def no_grid():
    """No precomputed clusters (whatever an earlier `tiles_refresh` left in the reused test DB)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_tile_grid_state")
        cursor.execute("DELETE FROM core_tile_grid")


def get_tile(client, layer: str, z: int, x: int, y: int, **headers):
    return client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf", **headers)


def decode(response) -> dict:
    body = response.content
    if response.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return mapbox_vector_tile.decode(body, default_options=DECODE) if body else {}


# ---------------------------------------------------------------------------------------------------
# The acceptance tile: z14 over the demo county
# ---------------------------------------------------------------------------------------------------


def test_z14_tile_holds_the_expected_addresses_with_their_properties(client, town_address):
    # Given a demo house number and the z14 tile that contains it
    pk, code, label, kind, status, number, lon, lat = town_address
    x, y = tile_of(lon, lat, 14)

    # When the addresses tile is fetched and decoded
    response = get_tile(client, "addresses", 14, x, y)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert response["X-Tile-Source"] == "features"
    layer = decode(response)["addresses"]

    # then it holds exactly the addresses inside the tile and its 64-unit buffer (1/64 of a tile)
    assert layer["extent"] == 4096
    got = Counter(f["properties"]["code"] for f in layer["features"])
    assert max(got.values()) == 1, "no address twice"
    sure, maybe = addresses_in_tile(14, x, y, margin=tiles.MARGIN)
    assert sure <= set(got) <= maybe
    assert len(got) >= 5

    # and our address carries its id, public properties only, at the right place
    feature = next(f for f in layer["features"] if f["properties"]["code"] == code)
    assert feature["id"] == pk
    assert feature["properties"] == {
        "code": code,
        "label": label,
        "kind": kind,
        "status": status,
        "number": number,
    }
    fx, fy = tile_fraction(lon, lat, 14)
    px, py = feature["geometry"]["coordinates"]
    assert feature["geometry"]["type"] == "Point"
    assert abs(px - (fx - x) * 4096) <= 1 and abs(py - (fy - y) * 4096) <= 1


def test_every_address_property_is_public(client, town_address):
    x, y = tile_of(town_address[6], town_address[7], 14)
    features = decode(get_tile(client, "addresses", 14, x, y))["addresses"]["features"]
    keys = set().union(*(f["properties"].keys() for f in features))
    assert keys <= {"code", "label", "kind", "status", "number"}


def test_other_layers_decode_with_their_fields(client, town_address):
    # Given the town's z14 tile and the county's z10 tile
    lon, lat = town_address[6], town_address[7]
    x14, y14 = tile_of(lon, lat, 14)
    x10, y10 = tile_of(lon, lat, 10)

    # then roads carry the segment and its road's code/name/status/class
    roads = decode(get_tile(client, "roads", 14, x14, y14))["roads"]["features"]
    assert roads and all(f["geometry"]["type"] in ("LineString", "MultiLineString") for f in roads)
    named = [f["properties"] for f in roads if "code" in f["properties"]]
    assert named and all({"segment", "code", "name", "status"} <= p.keys() for p in named)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.code, nf.code FROM placenames_roadsegment s "
            "JOIN placenames_namedfeature nf ON nf.id = s.feature_id WHERE s.code = %s",
            [named[0]["segment"]],
        )
        assert cursor.fetchone()[1] == named[0]["code"]

    # divisions: the county's townships as polygons with code, name and level
    divisions = decode(get_tile(client, "divisions", 10, x10, y10))["divisions"]["features"]
    townships = [f for f in divisions if f["properties"]["level"] == "township"]
    assert len(townships) >= 10
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in townships)
    assert all(f["properties"]["code"].startswith("421281") for f in townships)

    # facilities and boundary lines
    facilities = decode(get_tile(client, "facilities", 10, x10, y10))["facilities"]["features"]
    assert facilities and {"code", "name", "type", "status"} <= facilities[0]["properties"].keys()
    lines = decode(get_tile(client, "boundary_lines", 10, x10, y10))["boundary_lines"]["features"]
    assert lines and {"code", "name", "level"} <= lines[0]["properties"].keys()


# ---------------------------------------------------------------------------------------------------
# Low zooms: clusters
# ---------------------------------------------------------------------------------------------------


def _cluster_counts(response) -> list[int]:
    features = decode(response)["addresses"]["features"]
    assert all(set(f["properties"]) == {"count"} for f in features)
    return [f["properties"]["count"] for f in features]


@pytest.mark.parametrize("z", [10, 8])
def test_cluster_counts_sum_to_the_addresses_in_the_tile(client, town_address, no_grid, z):
    # Given the tile over the county seat below the cluster zoom
    x, y = tile_of(town_address[6], town_address[7], z)
    sure, maybe = addresses_in_tile(z, x, y)

    # When it is computed on the fly (no fresh grid yet) …
    live = get_tile(client, "addresses", z, x, y)
    assert live["X-Tile-Source"] == "live-clusters"
    counts = _cluster_counts(live)

    # then there is one point per occupied cell, and the counts add up to the tile's addresses
    assert len(sure) <= sum(counts) <= len(maybe)
    assert len(counts) < sum(counts) and min(counts) >= 1
    assert len(counts) <= tiles.GRID_CELLS**2

    # and the precomputed grid gives the same clusters
    state = tiles.grid_refresh("addresses")
    assert state["points"] == len(address_rows())
    grid = get_tile(client, "addresses", z, x, y)
    assert grid["X-Tile-Source"] == "grid"
    assert sorted(_cluster_counts(grid)) == sorted(counts)
    assert grid["ETag"] == live["ETag"]  # the same data version: clients keep their copy


def test_whole_world_tile_counts_every_address(client):
    tiles.grid_refresh("addresses")
    counts = _cluster_counts(get_tile(client, "addresses", 0, 0, 0))
    assert sum(counts) == len(address_rows())


def test_a_stale_grid_is_not_served_for_a_small_layer(client, town_address):
    # Given a fresh grid
    from geo_mz.addresses import services
    from tests.addresses.conftest import lonlat_to_point

    tiles.grid_refresh("addresses")
    lon, lat = town_address[6], town_address[7]
    x, y = tile_of(lon, lat, 10)
    before = get_tile(client, "addresses", 10, x, y)
    assert before["X-Tile-Source"] == "grid"

    # When an entrance is added in the tile
    services.entrance_add(kind="road", point=lonlat_to_point(lon + 0.0003, lat + 0.0002))

    # then the next tile is clustered on the fly, counts the new address, and has a new ETag
    after = get_tile(client, "addresses", 10, x, y)
    assert after["X-Tile-Source"] == "live-clusters"
    assert sum(_cluster_counts(after)) == sum(_cluster_counts(before)) + 1
    assert after["ETag"] != before["ETag"]


def test_a_stale_grid_of_a_large_layer_is_served_marked_stale(client, town_address, monkeypatch):
    tiles.grid_refresh("addresses")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE addresses_address SET updated_at = now() WHERE id = %s", [town_address[0]])
    monkeypatch.setattr(tiles, "LIVE_CLUSTER_LIMIT", 0)
    x, y = tile_of(town_address[6], town_address[7], 10)
    response = get_tile(client, "addresses", 10, x, y)
    assert response["X-Tile-Source"] == "grid" and response["X-Tile-Grid"] == "stale"


def test_an_over_full_tile_at_z14_is_served_as_fine_clusters(client, town_address, monkeypatch):
    # Given a grid and a z14 tile holding more addresses than the dense-tile limit
    x, y = tile_of(town_address[6], town_address[7], 14)
    sure, maybe = addresses_in_tile(14, x, y)
    tiles.grid_refresh("addresses")
    monkeypatch.setattr(tiles, "DENSE_TILE_POINTS", len(sure) - 1)

    # When it is fetched, it holds clusters of the finest grid cells, whose counts add up to its addresses
    dense = get_tile(client, "addresses", 14, x, y)
    assert dense["X-Tile-Source"] == "grid-dense"
    counts = _cluster_counts(dense)
    assert len(sure) <= sum(counts) <= len(maybe) and len(counts) <= (tiles.GRID_CELLS // 2) ** 2

    # and with a stale grid of this small layer the same clusters are computed from the points
    with connection.cursor() as cursor:
        cursor.execute("UPDATE addresses_address SET updated_at = now() WHERE id = %s", [town_address[0]])
    live = get_tile(client, "addresses", 14, x, y)
    assert live["X-Tile-Source"] == "live-clusters"
    assert sorted(_cluster_counts(live)) == sorted(counts)

    # while below the limit the tile holds the addresses themselves, under another ETag
    monkeypatch.setattr(tiles, "DENSE_TILE_POINTS", len(maybe) + 1)
    tiles.grid_refresh("addresses")
    features = get_tile(client, "addresses", 14, x, y)
    assert features["X-Tile-Source"] == "features"
    assert features["ETag"] != live["ETag"]


def test_tiles_refresh_command_builds_the_grid_and_keeps_versions(client):
    # Given a few writes since the last compaction
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE addresses_address SET updated_at = now() WHERE id IN (SELECT min(id) FROM addresses_address)"
        )
        cursor.execute("UPDATE divisions_division SET updated_at = now() WHERE code = '421281'")
    versions = {name: tiles.layer_version(name) for name in tiles.LAYERS}

    # When the command runs twice
    call_command("tiles_refresh")
    state = tiles.grid_state("addresses")

    # then the grid records the data version, compaction left every version where it was,
    assert state["version"] == versions["addresses"] and state["config"] == tiles.grid_config()
    assert {name: tiles.layer_version(name) for name in tiles.LAYERS} == versions
    with connection.cursor() as cursor:
        cursor.execute("SELECT layer, count(*) FROM core_tile_change GROUP BY layer HAVING count(*) > 1")
        assert cursor.fetchall() == []

    # and a second run with --if-stale has nothing to do
    from io import StringIO

    out = StringIO()
    call_command("tiles_refresh", "--if-stale", stdout=out)
    assert "up to date" in out.getvalue()


def test_a_long_change_log_is_folded_when_read_and_versions_stay(monkeypatch):
    with connection.cursor() as cursor:
        for _ in range(5):
            cursor.execute(
                "UPDATE facilities_facility SET updated_at = now() WHERE id IN (SELECT min(id) FROM facilities_facility)"
            )
    monkeypatch.setattr(tiles, "COMPACT_AFTER_ROWS", 3)
    versions = {name: tiles.layer_version(name) for name in tiles.LAYERS}
    assert versions == {name: tiles.layer_version(name) for name in tiles.LAYERS}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM core_tile_change WHERE layer = 'facilities'")
        assert cursor.fetchone()[0] == 1


# ---------------------------------------------------------------------------------------------------
# HTTP: ETag, 304, gzip, Cache-Control, empty tiles, bad input
# ---------------------------------------------------------------------------------------------------


def test_etag_revalidates_with_304_until_the_layer_changes(client, town_address):
    x, y = tile_of(town_address[6], town_address[7], 14)
    first = get_tile(client, "addresses", 14, x, y)
    etag = first["ETag"]
    assert etag.startswith('W/"')
    assert first["Cache-Control"] == "public, max-age=300"
    assert "Accept-Encoding" in first["Vary"]

    # a revalidation with the ETag is answered 304, without a body, with the same caching headers
    again = get_tile(client, "addresses", 14, x, y, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and again["Cache-Control"] == "public, max-age=300"
    assert get_tile(client, "addresses", 14, x, y, HTTP_IF_NONE_MATCH=f'"x", {etag}').status_code == 304

    # another tile has another ETag; other layers are not affected by address edits
    assert get_tile(client, "addresses", 14, x + 1, y)["ETag"] != etag
    roads_etag = get_tile(client, "roads", 14, x, y)["ETag"]

    # When an address changes, the ETag changes and the new label is served
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE addresses_address SET label = label || '（改）' WHERE id = %s", [town_address[0]]
        )
    changed = get_tile(client, "addresses", 14, x, y, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    labels = {
        f["properties"]["code"]: f["properties"]["label"] for f in decode(changed)["addresses"]["features"]
    }
    assert labels[town_address[1]].endswith("（改）")
    assert get_tile(client, "roads", 14, x, y)["ETag"] == roads_etag


def test_a_built_tile_is_served_from_the_cache_until_its_layer_changes(client, town_address, monkeypatch):
    from geo_mz.api import tiles

    x, y = tile_of(town_address[6], town_address[7], 14)
    built: list[tuple] = []
    real = tiles.tile_bytes
    monkeypatch.setattr(tiles, "tile_bytes", lambda *a, **k: built.append(a[1:4]) or real(*a, **k))

    first = get_tile(client, "addresses", 14, x, y, HTTP_ACCEPT_ENCODING="gzip")
    second = get_tile(client, "addresses", 14, x, y, HTTP_ACCEPT_ENCODING="gzip")
    plain = get_tile(client, "addresses", 14, x, y)  # a client without gzip gets the same tile
    assert len(built) == 1 and tiles.TILE_CACHE.hits == 2
    assert second.content == first.content and gzip.decompress(first.content) == plain.content

    with connection.cursor() as cursor:  # an edit changes the version, hence the key: rebuilt
        cursor.execute(
            "UPDATE addresses_address SET label = label || '（改）' WHERE id = %s", [town_address[0]]
        )
    changed = get_tile(client, "addresses", 14, x, y)
    assert len(built) == 2 and changed["ETag"] != first["ETag"]
    labels = {
        f["properties"]["code"]: f["properties"]["label"] for f in decode(changed)["addresses"]["features"]
    }
    assert labels[town_address[1]].endswith("（改）")


def test_the_tile_cache_keeps_to_its_byte_budget(settings):
    from geo_mz.api.tiles import TileCache

    settings.GEO_MZ_TILE_CACHE_MB = 1
    cache = TileCache()
    for i in range(40):
        cache.put(f"k{i}", bytes(100_000))  # 4 MB offered to a 1 MB cache
    assert cache._bytes <= 2**20
    assert cache.get("k39") is not None and cache.get("k0") is None  # least recently used went first
    cache.put("huge", bytes(2**20))  # larger than an eighth of the budget: never cached
    assert cache.get("huge") is None
    settings.GEO_MZ_TILE_CACHE_MB = 0
    off = TileCache()
    off.put("k", b"x")
    assert off.get("k") is None


def test_max_age_comes_from_the_setting(client, settings, town_address):
    settings.GEO_MZ_TILE_MAX_AGE = 60
    x, y = tile_of(town_address[6], town_address[7], 14)
    assert get_tile(client, "addresses", 14, x, y)["Cache-Control"] == "public, max-age=60"


def test_gzip_when_accepted(client, town_address):
    x, y = tile_of(town_address[6], town_address[7], 12)
    plain = get_tile(client, "roads", 12, x, y)
    zipped = get_tile(client, "roads", 12, x, y, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert "Content-Encoding" not in plain
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content
    assert len(zipped.content) < len(plain.content)
    assert int(zipped["Content-Length"]) == len(zipped.content)
    assert zipped["ETag"] == plain["ETag"]  # weak: the same tile, whatever the encoding


def test_an_empty_tile_is_204_with_caching_headers(client):
    response = get_tile(client, "addresses", 14, 0, 0, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 204 and response.content == b""
    assert response["ETag"] and response["Cache-Control"].startswith("public")
    assert get_tile(client, "addresses", 3, 0, 0).status_code == 204  # clusters too


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/tiles/addresses/23/0/0.pbf", "z"),
        ("/tiles/addresses/-1/0/0.pbf", "z"),
        ("/tiles/addresses/2/4/0.pbf", "x"),
        ("/tiles/addresses/2/0/4.pbf", "y"),
        ("/tiles/addresses/3/-1/0.pbf", "x"),
        ("/tiles/roads/0/1/0.pbf", "x"),
    ],
)
def test_bad_tile_coordinates_are_400_json(client, path, field):
    response = client.get(path)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and field in body["errors"]


def test_unknown_layer_is_404_json(client):
    for path in ("/tiles/people/1/0/0.pbf", "/tiles/people.json"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_writes_are_refused(client):
    assert client.post("/tiles/addresses/1/0/0.pbf").status_code == 405


# ---------------------------------------------------------------------------------------------------
# TileJSON and the index
# ---------------------------------------------------------------------------------------------------


def test_tilejson_describes_each_layer(client, town_address):
    lon, lat = town_address[6], town_address[7]
    for name, layer in tiles.LAYERS.items():
        response = client.get(f"/tiles/{name}.json")
        assert response.status_code == 200
        body = response.json()
        assert body["tilejson"] == "3.0.0" and body["scheme"] == "xyz"
        assert body["tiles"] == [f"http://testserver/tiles/{name}/{{z}}/{{x}}/{{y}}.pbf"]
        assert body["minzoom"] == 0 and body["maxzoom"] == 22
        west, south, east, north = body["bounds"]
        assert 108 < west < east < 117 and 28 < south < north < 32  # lon/lat around 赤壁市
        (vector_layer,) = body["vector_layers"]
        assert vector_layer["id"] == name and set(layer.fields) == set(vector_layer["fields"])
        assert response["Cache-Control"].startswith("public")
        again = client.get(f"/tiles/{name}.json", HTTP_IF_NONE_MATCH=response["ETag"])
        assert again.status_code == 304
    west, south, east, north = client.get("/tiles/addresses.json").json()["bounds"]
    assert west <= lon <= east and south <= lat <= north
    fields = client.get("/tiles/addresses.json").json()["vector_layers"][0]["fields"]
    assert {"code", "label", "kind", "status", "number", "count"} == set(fields)


def test_index_lists_the_layers(client):
    body = client.get("/tiles/").json()
    assert [entry["id"] for entry in body["layers"]] == list(tiles.LAYERS)
    assert body["layers"][0]["tilejson"] == "http://testserver/tiles/addresses.json"


# ---------------------------------------------------------------------------------------------------
# Indexes: the tile queries use the expression GiST indexes
# ---------------------------------------------------------------------------------------------------

INDEXES = {
    "addresses": "address_point_3857_tiles_gist",
    "facilities": "facility_point_3857_tiles_gist",
    "boundary_lines": "boundary_line_geom_3857_tiles_gist",
    "roads": "road_segment_geom_3857_tiles_gist",
    "divisions": "division_geom_3857_tiles_gist",
}


def _plan(sql: str, params: dict) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("name", list(INDEXES))
def test_tile_queries_use_the_3857_expression_index(name, town_address):
    x, y = tile_of(town_address[6], town_address[7], 14)
    params = {"layer": name, "z": 14, "x": x, "y": y, "cell": 1.0}
    assert f"Index Scan using {INDEXES[name]}" in _plan(tiles.features_sql(tiles.LAYERS[name]), params)


def test_live_clusters_and_grid_use_indexes(town_address):
    x, y = tile_of(town_address[6], town_address[7], 10)
    params = {"layer": "addresses", "z": 10, "x": x, "y": y, "cell": tiles._cell_size(10), "shift": 6}
    assert INDEXES["addresses"] in _plan(tiles.live_clusters_sql(tiles.LAYERS["addresses"]), params)
    assert "core_tile_grid_tile_idx" in _plan(tiles.GRID_TILE_SQL, params)

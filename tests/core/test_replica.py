"""Read replica routing (core.db.read_alias): OGC API and vector tiles read from the "replica" alias when
one is configured, and from default otherwise, inside transactions, and when the replica lags.

The "replica" alias is added here, for these tests only, as a mirror of the test database (what
settings does with DATABASE_REPLICA_URL: TEST = {"MIRROR": "default"}); the rest of the suite runs
without one even when DATABASE_REPLICA_URL is set (tests/conftest.py), so it never reads a real replica. A mirror is a second connection to the same database: it
sees committed data only, like a real standby. Django's TestCase keeps each test in a transaction on
default, which read_alias() rightly keeps on default, so the routing tests here run outside that
wrapper (django_db_blocker), and only read: they never write, so nothing needs rolling back.
A real streaming replica is checked by scripts/replica_check.py (see docs/scaling.md).
"""

from __future__ import annotations

import math
import runpy
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from geo_mz.api import tiles
from geo_mz.core import db
from geo_mz.core.db import REPLICA, read_alias, read_pinned

SETTINGS_PY = Path(__file__).resolve().parents[2] / "geo_mz" / "settings.py"


@contextmanager
def replica_alias(present: bool):
    """Make the "replica" alias exist (a mirror of the test database) or not, then put things back."""
    configured = REPLICA in settings.DATABASES
    added = removed = None
    if present and not configured:
        added = {**connections[DEFAULT_DB_ALIAS].settings_dict}  # the test database's settings
        added["TEST"] = {**added.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS}
        for databases in {id(d): d for d in (settings.DATABASES, connections.settings)}.values():
            databases[REPLICA] = added
    elif not present and configured:
        removed = settings.DATABASES.pop(REPLICA)
    db.replica_state_reset()
    try:
        yield
    finally:
        db.replica_state_reset()
        if added is not None:
            connections[REPLICA].close()
            del connections[REPLICA]
            settings.DATABASES.pop(REPLICA, None)
            connections.settings.pop(REPLICA, None)
        if removed is not None:
            settings.DATABASES[REPLICA] = removed


@pytest.fixture
def replica(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), replica_alias(present=True):
        yield


@pytest.fixture
def no_replica(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), replica_alias(present=False):
        yield


@contextmanager
def capture_both():
    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default,
    ):
        yield on_replica, on_default


def _sql(captured, *needles: str) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if any(n in q["sql"] for n in needles)]


def _facility_tile(z: int = 12) -> tuple[int, int, int]:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(point, 4326) AS p FROM facilities_facility "
            "ORDER BY id LIMIT 1) s"
        )
        lon, lat = cursor.fetchone()
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return z, x, y


# ---------------------------------------------------------------------------------------------------
# With a replica: the feature SQL runs there, and nothing of it on default
# ---------------------------------------------------------------------------------------------------


def test_ogc_items_page_and_count_run_on_the_replica(replica):
    with capture_both() as (on_replica, on_default):
        r = Client().get("/ogc/collections/facilities/items", {"limit": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["numberReturned"] == 5 and body["numberMatched"] > 5
    replica_sql = _sql(on_replica, "facilities_facility")
    assert len(replica_sql) == 2  # the page and the count
    assert _sql(on_replica, "SET LOCAL jit = off")  # short_queries' transaction is on the replica
    assert _sql(on_default, "facilities_facility", "SET LOCAL") == []


def test_ogc_single_item_and_collection_extent_run_on_the_replica(replica):
    client = Client()
    with capture_both() as (on_replica, on_default):
        page = client.get("/ogc/collections/facilities/items", {"limit": 1}).json()
        fid = page["features"][0]["id"]
        item = client.get(f"/ogc/collections/facilities/items/{fid}")
        collection = client.get("/ogc/collections/facilities")
    assert item.status_code == 200 and item.json()["id"] == fid
    assert collection.status_code == 200
    assert collection.json()["extent"]["spatial"]["bbox"][0][0] > 100  # lon/lat of the demo county
    assert _sql(on_replica, "ST_Extent")
    assert len(_sql(on_replica, "facilities_facility")) >= 4  # page, count, item, extent
    assert _sql(on_default, "facilities_facility", "ST_Extent") == []


def test_tiles_and_tilejson_run_on_the_replica(replica):
    z, x, y = _facility_tile()
    tiles.changes_compact()  # so that no compaction (a write, on default) happens during the request
    version = tiles.layer_version("facilities", using=DEFAULT_DB_ALIAS)
    cache.delete(f"geo_mz:tiles:bounds:{tiles.SCHEMA}:facilities:{version}")  # other tests' bounds
    client = Client()
    with capture_both() as (on_replica, on_default):
        tile = client.get(f"/tiles/facilities/{z}/{x}/{y}.pbf")
        tilejson = client.get("/tiles/facilities.json")
    assert tile.status_code == 200 and tile["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert tilejson.status_code == 200
    assert _sql(on_replica, "ST_AsMVT")
    assert _sql(on_replica, "core_tile_change")  # the version (ETag) comes from the same server
    assert _sql(on_replica, "ST_Extent")  # TileJSON bounds
    assert _sql(on_default, "ST_AsMVT", "core_tile_change", "ST_Extent", "facilities_facility") == []


def test_clustered_address_tiles_read_the_grid_on_the_replica(replica, settings):
    settings.GEO_MZ_ADDRESSES_PUBLIC = True  # anonymous client
    tiles.changes_compact()  # versions stay; no compaction (a write, on default) during the request
    client = Client()
    with capture_both() as (on_replica, on_default):
        r = client.get("/tiles/addresses/8/208/105.pbf")  # z8 over the demo county: clusters
    assert r.status_code in (200, 204)
    assert r["X-Tile-Source"] in ("grid", "live-clusters")
    assert _sql(on_replica, "core_tile_grid_state")
    assert _sql(on_default, "core_tile_grid", "core_tile_change", "addresses_address") == []


def test_a_change_log_compaction_during_a_tile_request_writes_on_default(replica, monkeypatch):
    monkeypatch.setattr(tiles, "COMPACT_AFTER_ROWS", 0)  # compact on every version read
    z, x, y = _facility_tile()
    with capture_both() as (on_replica, on_default):
        assert Client().get(f"/tiles/facilities/{z}/{x}/{y}.pbf").status_code == 200
    assert _sql(on_default, "DELETE FROM core_tile_change")
    assert _sql(on_replica, "ST_AsMVT") and not _sql(on_replica, "DELETE", "INSERT")


# ---------------------------------------------------------------------------------------------------
# When reads stay on default
# ---------------------------------------------------------------------------------------------------


def test_without_a_replica_ogc_and_tiles_read_from_default(no_replica):
    assert read_alias() == DEFAULT_DB_ALIAS
    z, x, y = _facility_tile()
    client = Client()
    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default:
        assert client.get("/ogc/collections/facilities/items", {"limit": 5}).status_code == 200
        assert client.get(f"/tiles/facilities/{z}/{x}/{y}.pbf").status_code == 200
    assert len(_sql(on_default, "facilities_facility")) >= 3
    assert _sql(on_default, "ST_AsMVT") and _sql(on_default, "SET LOCAL jit = off")


def test_inside_a_transaction_on_default_reads_stay_on_default(replica):
    assert read_alias() == REPLICA
    with capture_both() as (on_replica, on_default), db.read_cursor() as cursor:
        cursor.execute("SELECT 'read_cursor'")
    assert _sql(on_replica, "read_cursor") and not _sql(on_default, "read_cursor")
    with transaction.atomic():  # e.g. a service that wrote: it must see its own writes
        assert read_alias() == DEFAULT_DB_ALIAS
        with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default, db.read_cursor() as cursor:
            cursor.execute("SELECT 'read_cursor'")
        assert _sql(on_default, "read_cursor")
        with read_pinned() as alias:
            assert alias == DEFAULT_DB_ALIAS
    assert read_alias() == REPLICA


def test_in_the_test_suites_transactions_reads_stay_on_default(db):
    # Every django_db test runs inside a transaction on default, so with or without
    # DATABASE_REPLICA_URL the rest of the suite reads what it wrote.
    assert read_alias() == DEFAULT_DB_ALIAS


def test_read_pinned_keeps_one_alias_for_the_block(replica, monkeypatch):
    with read_pinned() as alias:
        assert alias == REPLICA
        # The replica starts lagging in the middle of the block: the block stays on the replica.
        db.replica_state_reset()
        monkeypatch.setattr(db, "replica_lag_seconds", lambda using=REPLICA: 3600.0)
        assert read_alias() == REPLICA
    assert read_alias() == DEFAULT_DB_ALIAS  # outside the block the lag counts


# ---------------------------------------------------------------------------------------------------
# Replica lag
# ---------------------------------------------------------------------------------------------------


def test_lag_is_none_on_a_server_that_is_not_a_standby(replica):
    # The test mirror, like a primary, is not in recovery: there is nothing to lag behind.
    assert db.replica_lag_seconds(REPLICA) is None
    assert db.replica_lag_seconds(DEFAULT_DB_ALIAS) is None
    assert read_alias() == REPLICA


def test_a_lagging_replica_falls_back_to_default_and_the_check_is_cached(replica, monkeypatch, settings):
    settings.GEO_MZ_REPLICA_MAX_LAG_S = 30
    calls = []

    def lag(using=REPLICA):
        calls.append(using)
        return 45.0

    monkeypatch.setattr(db, "replica_lag_seconds", lag)
    assert read_alias() == DEFAULT_DB_ALIAS
    assert read_alias() == DEFAULT_DB_ALIAS
    assert len(calls) == 1  # trusted for LAG_CHECK_INTERVAL_S

    db.replica_state_reset()
    monkeypatch.setattr(db, "replica_lag_seconds", lambda using=REPLICA: 12.5)
    assert read_alias() == REPLICA

    db.replica_state_reset()
    settings.GEO_MZ_REPLICA_MAX_LAG_S = 0  # never checked
    monkeypatch.setattr(db, "replica_lag_seconds", lambda using=REPLICA: math.inf)
    assert read_alias() == REPLICA


def test_an_unreachable_replica_falls_back_to_default(replica, monkeypatch):
    def down(using=REPLICA):
        raise OperationalError("connection refused")

    monkeypatch.setattr(db, "replica_lag_seconds", down)
    assert read_alias() == DEFAULT_DB_ALIAS
    z, x, y = _facility_tile()
    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default:
        assert Client().get(f"/tiles/facilities/{z}/{x}/{y}.pbf").status_code == 200
    assert _sql(on_default, "ST_AsMVT")


# ---------------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------------


def test_database_replica_url_adds_a_mirrored_replica_alias(monkeypatch):
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgres://reader:pw@10.0.0.2:5433/geo_mz")
    monkeypatch.setenv("GEO_MZ_REPLICA_MAX_LAG_S", "5")
    conf = runpy.run_path(str(SETTINGS_PY))
    replica = conf["DATABASES"]["replica"]
    default = conf["DATABASES"]["default"]
    assert replica["ENGINE"] == default["ENGINE"] == "django.contrib.gis.db.backends.postgis"
    assert (replica["HOST"], replica["PORT"], replica["NAME"], replica["USER"]) == (
        "10.0.0.2",
        5433,
        "geo_mz",
        "reader",
    )
    assert replica["CONN_MAX_AGE"] == default["CONN_MAX_AGE"]
    assert replica["TEST"] == {"MIRROR": "default"}
    assert conf["GEO_MZ_REPLICA_MAX_LAG_S"] == 5.0

    monkeypatch.delenv("DATABASE_REPLICA_URL")
    assert set(runpy.run_path(str(SETTINGS_PY))["DATABASES"]) == {"default"}

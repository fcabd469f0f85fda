"""Test set-up: a real PostGIS test database (created by pytest-django from DATABASE_URL's server),
loaded once per session with the demo county through the same importers users run."""

from __future__ import annotations

import datetime as dt

import pytest


def _flushes(item) -> bool:
    db = item.get_closest_marker("django_db")
    return item.get_closest_marker("browser") is not None or bool(db and db.kwargs.get("transaction"))


def pytest_collection_modifyitems(config, items):
    # Browser and other transactional tests end with a flush of the database: run them last so the
    # session's demo data stays available to every other test (they reload it: tests/browser/conftest).
    items.sort(key=_flushes)


@pytest.fixture(autouse=True)
def _empty_tile_cache():
    """Tile-cache keys hold the layer version, which a rolled-back test transaction can hand out again
    with other data; production versions only grow with committed data. Start every test cold."""
    from geo_mz.api.tiles import TILE_CACHE

    TILE_CACHE.clear()


@pytest.fixture(scope="session", autouse=True)
def _no_read_replica():
    """The suite reads from default even when DATABASE_REPLICA_URL is set: a configured "replica" alias
    would otherwise reach the real replica (pytest-django only redirects a TEST MIRROR alias to the test
    database when a test lists it in `databases`). tests/core/test_replica.py adds a mirror itself."""
    from django.conf import settings

    replica = settings.DATABASES.pop("replica", None)
    yield
    if replica is not None:
        settings.DATABASES["replica"] = replica


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from django.core.management import call_command

    from geo_mz.demo.services import demo_load

    with django_db_blocker.unblock():
        call_command("roles_sync")
        demo_load()


@pytest.fixture
def make_user(db):
    from geo_mz.core import roles
    from geo_mz.core.services import user_create

    counter = {"n": 0}

    def _make(role: str = roles.ADMIN, jurisdiction_code: str = "421281", **extra):
        counter["n"] += 1
        return user_create(
            f"user{counter['n']}_{role}",
            password="pw-Test-12345",
            role=role,
            jurisdiction_code=jurisdiction_code,
            **extra,
        )

    return _make


@pytest.fixture
def make_road(db):
    from django.conf import settings
    from django.contrib.gis.geos import LineString

    from geo_mz.core import crs
    from geo_mz.placenames import services
    from geo_mz.placenames.models import FeatureKind

    services.feature_kinds_ensure()
    counter = {"n": 0}

    def _make(
        name: str,
        lonlats=((113.900, 29.720), (113.905, 29.721)),
        *,
        kind: str = "road",
        decided_on: dt.date = dt.date(2010, 5, 1),
        width_m: float | None = 20.0,
    ):
        counter["n"] += 1
        coords = [crs.lonlat_to_projected(lon, lat, settings.GEO_MZ_SRID) for lon, lat in lonlats]
        feature = services.feature_create(
            kind=FeatureKind.objects.get(code=kind),
            geom=LineString(coords, srid=settings.GEO_MZ_SRID),
            code=f"T{counter['n']:05d}",
            status="active",
            width_m=width_m,
            road_class="次干路",
        )
        decision = services.decision_get_or_create(
            f"测试批文〔2010〕{counter['n']}号", decided_on, "赤壁市人民政府"
        )
        services.name_register(feature, name=name, decision=decision, valid_from=decided_on)
        return feature

    return _make


@pytest.fixture
def ew_road(make_road):
    """A straight east–west road about 960 m long in 陆水湖街道 (no demo road within 300 m)."""
    return make_road("鹭栖路", ((113.945, 29.705), (113.955, 29.705)))


@pytest.fixture
def entrance(db):
    from geo_mz.addresses import services
    from tests.addresses.conftest import offset_point

    def _add(road, chainage_m: float, north_m: float, **kw):
        return services.entrance_add(
            kind="road", point=offset_point(road, chainage_m, north_m), feature=road, **kw
        )

    return _add


@pytest.fixture
def honghu_line(db):
    """洪湖赤壁线 of the demo: derived from the real polygons, with markers, never inspected."""
    from geo_mz.boundaries.models import BoundaryLine

    return BoundaryLine.objects.select_related("division_a", "division_b").get(
        name="洪湖赤壁线", status="active"
    )


@pytest.fixture
def side_users(make_user, honghu_line):
    """A boundary-team user of each side of 洪湖赤壁线 (洪湖市 421083, 赤壁市 421281)."""
    from geo_mz.core import roles

    return (
        make_user(roles.BOUNDARY_TEAM, jurisdiction_code=honghu_line.division_a.code),
        make_user(roles.BOUNDARY_TEAM, jurisdiction_code=honghu_line.division_b.code),
    )

"""Coverage what-if (issue 15): p95 of one what-if, with the index current and right after an address
edit, against a full rebuild of the index in the same run.  Target: p95 ≤ 50 ms.

* **pure, 1M synthetic points** (always): 1,000,000 entrance locations around 300 village centres
  (σ 400 m) and spread evenly in the 40 km × 43 km county box of bench_coverage, 160 day-care sites
  with 700 m; one what-if at a random place with 1,000 m; "after an edit" first moves, adds and
  retires 10 locations with :meth:`DemandIndex.set_points` (what coverage.whatif does after reading
  the change feed).  Reference: building the index afresh (the cost the old code paid per edit).
* **database** (when ``DATABASE_URL`` has active addresses: the demo county, or the scale data set
  with ``DATABASE_URL=…/geo_mz_scale python -m bench what-if``): ``whatif.what_if`` through the
  service (version check, change feed, facility type); "after an edit" commits an UPDATE of one
  address's entrance (moved 1 m back and forth) before each what-if, and the time includes that
  UPDATE.  Reference: the same with the index dropped first (a full rebuild from the database).
"""

from __future__ import annotations

import functools
import itertools
import os
import sys

import numpy as np

from bench.runner import Case
from geo_mz.coverage import demand_index as di

SEED = 20261207
X0, Y0 = 480_000.0, 3_270_000.0
WIDTH, HEIGHT = 40_000.0, 43_000.0
N_POINTS, N_VILLAGES, N_SITES = 1_000_000, 300, 160


@functools.cache
def _synthetic() -> tuple[di.Villages, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    centres = rng.uniform(0, 1, (N_VILLAGES, 2)) * [WIDTH, HEIGHT] + [X0, Y0]
    villages = di.Villages(
        codes=tuple(f"421281{i:06d}" for i in range(N_VILLAGES)),
        township=tuple(f"421281{i % 16:03d}" for i in range(N_VILLAGES)),
        xy=centres,
        population={"all": rng.integers(500, 5_000, N_VILLAGES).astype(float)},
    )
    n_near = int(N_POINTS * 0.7)
    owner = rng.integers(0, N_VILLAGES, N_POINTS)
    xy = np.empty((N_POINTS, 2))
    xy[:n_near] = centres[owner[:n_near]] + rng.normal(0, 400, (n_near, 2))
    xy[n_near:] = rng.uniform(0, 1, (N_POINTS - n_near, 2)) * [WIDTH, HEIGHT] + [X0, Y0]
    xy = np.clip(xy, [X0, Y0], [X0 + WIDTH, Y0 + HEIGHT])
    sites = centres[rng.choice(N_VILLAGES, N_SITES, replace=False)] + rng.normal(0, 100, (N_SITES, 2))
    queries = rng.uniform(0, 1, (1_000, 2)) * [WIDTH, HEIGHT] + [X0, Y0]
    return villages, di.location_keys(xy), owner, sites, queries


@functools.cache
def _index() -> di.DemandIndex:
    villages, keys, owner, sites, _ = _synthetic()
    index = di.DemandIndex(villages, keys, owner, 1000.0)
    index.add_layer("day_care", sites, 700.0)
    return index


def _fresh_build() -> None:
    villages, keys, owner, sites, _ = _synthetic()
    di.DemandIndex(villages, keys, owner, 1000.0).add_layer("day_care", sites, 700.0)


def _pure_cases() -> list[Case]:
    queries = itertools.cycle(_synthetic()[4].tolist())
    rng = np.random.default_rng(SEED + 1)

    def ask() -> None:
        x, y = next(queries)
        _index().what_if("day_care", "all", x, y, 1000.0)

    def edit_then_ask() -> None:
        index = _index()
        _, keys, owner, _, _ = _synthetic()
        pick = rng.integers(0, keys.shape[0], 10)
        moved = keys[pick] + rng.integers(1, 5_000, 10)  # ≤ 50 m east: a new location
        index.set_points(np.concatenate([keys[pick[:5]], moved[:5]]), np.r_[[-1] * 5, owner[pick[:5]]])
        index.set_points(moved[5:], owner[pick[5:]])  # new entrances
        ask()
        index.set_points(np.concatenate([keys[pick], moved]), np.r_[owner[pick], [-1] * 10])  # undo

    return [
        Case(
            "what-if demand index, 1M synthetic points, 160 sites",
            ask,
            _fresh_build,
            "fresh index build",
            200,
            "p95",
        ),
        Case(
            "what-if demand index after a 10-location edit, 1M points",
            edit_then_ask,
            _fresh_build,
            "fresh index build",
            200,
            "p95",
        ),
    ]


# --------------------------------------------------------------------------- database


def _db_cases() -> list[Case]:
    try:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_mz.settings")
        django.setup()
        from django.conf import settings
        from django.db import connection

        from geo_mz.addresses.models import Address
        from geo_mz.core import crs
        from geo_mz.coverage import whatif
        from geo_mz.divisions.models import Division

        settings.GEO_MZ_WHATIF_BACKGROUND = False  # the reference must build in the call
        county = settings.GEO_MZ_COUNTY_CODE
        target = (
            Address.objects.filter(status="active", division__code__startswith=county).order_by("pk").first()
        )
        if target is None:
            print("   no active addresses in DATABASE_URL: database what-if cases skipped", file=sys.stderr)
            return []
        villages = Division.objects.filter(level="village", code__startswith=county, point__isnull=False)
        sites = itertools.cycle(
            [
                crs.projected_to_lonlat(v.point.x, v.point.y, settings.GEO_MZ_SRID)
                for v in villages.order_by("code")
            ]
        )
        n = Address.objects.filter(status="active", division__code__startswith=county).count()
    except Exception as exc:  # noqa: BLE001 - no database: the pure cases still run
        print(f"   database what-if cases skipped: {exc}", file=sys.stderr)
        return []
    toggle = itertools.cycle([1.0, -1.0])

    def ask() -> None:
        lon, lat = next(sites)
        answer = whatif.what_if("day_care", float(lon), float(lat))
        assert not answer["stale"]

    def rebuild_and_ask() -> None:
        whatif.reset()
        ask()

    def edit() -> None:
        with connection.cursor() as cursor:  # autocommit: committed before the what-if
            cursor.execute(
                "UPDATE addresses_address SET point = ST_Translate(point, %s, 0) WHERE id = %s",
                [next(toggle), target.pk],
            )

    def edit_then_ask() -> None:
        edit()
        ask()

    def edit_then_rebuild() -> None:
        edit()
        rebuild_and_ask()

    label = f"{n:,} active addresses"
    return [
        Case(
            f"what-if service, {label}, index current",
            ask,
            rebuild_and_ask,
            "full rebuild + what-if",
            25,
            "p95",
        ),
        Case(
            f"address edit + what-if service, {label}",
            edit_then_ask,
            edit_then_rebuild,
            "address edit + full rebuild",
            25,
            "p95",
        ),
    ]


def cases() -> list[Case]:
    return _pure_cases() + _db_cases()

"""Bulk import of a million house numbers from GeoPackage (issue: COPY-based, validated, all-or-nothing).

Runs on the scale data set (`DATABASE_URL=…/geo_mz_scale python -m bench scale import`): it needs the
~25k synthetic SC roads. Once, a GeoPackage of 1,000,000 *new* road house numbers is written to
``bench/.cache/`` (numbers 100001+ on the SC roads whose name is unique in the county, entrances 8 m
off the road, lon/lat EPSG:4490, 1 in 25 with a 之一 suffix), so every row passes validation.

* ours: `addresses_import_bulk(dry_run=False)`: read, validate, COPY to staging, SQL checks, code
  reservation, INSERT into `addresses_address` (16 indexes, 2 of them GiST, 5 deferred foreign keys)
  and the audit-history rows (`addresses_historicaladdress`, 12 indexes), ANALYZE, COMMIT; and the
  same as a dry run (everything up to the write);
* reference: `ogr2ogr -f PostgreSQL … -nln bench_import_ref -overwrite --config PG_USE_COPY YES` of the
  same file into a new table (no validation, no history, a primary key and one GiST index built
  after the load), then DROP TABLE.

The rows written by each timed run are deleted again and the township code counters restored (the
scale database is left as it was). That cleanup cannot be left out of the harness' timed call, so the
table's time includes it; the note gives the import alone (the `addresses_import_bulk` call), the
cleanup, the seconds per step and the process' max RSS (the harness' peak MiB is tracemalloc's:
Python allocations only). Do not run it while other benchmarks use geo_mz_scale: the import adds a
million addresses for a minute or two.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench.runner import Case

SCALE = True
N_ROWS = 1_000_000
FIRST_NUMBER = 100_001
OFFSET_M = 8.0
CACHE = Path(__file__).resolve().parent / ".cache"
REF_TABLE = "bench_import_ref"


def _log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _cache_dir() -> Path:
    CACHE.mkdir(exist_ok=True)
    ignore = CACHE / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")  # the cache ignores itself (no change to the project's .gitignore)
    return CACHE


def _gpkg_path(n: int = N_ROWS) -> Path:
    return _cache_dir() / f"addresses-{n}.gpkg"


def bench_gpkg(n: int = N_ROWS) -> Path:
    """Write (once) the GeoPackage of `n` new road house numbers on the scale roads, EPSG:4490."""
    path = _gpkg_path(n)
    if path.exists():
        return path
    import numpy as np
    import pyarrow as pa
    import pyogrio
    import shapely
    from django.conf import settings
    from django.db import connection

    from geo_mz.core import crs

    t0 = time.perf_counter()
    county = settings.GEO_MZ_COUNTY_CODE
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH road_names AS (
                SELECT n.name, count(*) AS k FROM placenames_placename n
                JOIN placenames_namedfeature f ON f.id = n.feature_id
                JOIN placenames_featurekind fk ON fk.id = f.kind_id
                JOIN divisions_division d ON d.id = f.division_id
                WHERE n.status = 'active' AND fk.is_road AND d.code LIKE %s GROUP BY n.name
            )
            SELECT n.name, ST_AsBinary(f.geom) FROM placenames_namedfeature f
            JOIN placenames_placename n ON n.feature_id = f.id AND n.status = 'active'
            JOIN road_names r ON r.name = n.name AND r.k = 1
            WHERE f.code LIKE 'SCR%%' AND f.synthetic AND f.geom IS NOT NULL ORDER BY f.code
            """,
            [f"{county}%"],
        )
        roads = cursor.fetchall()
        cursor.execute(
            "SELECT ST_AsBinary(ST_Union(geom)) FROM divisions_division WHERE level = 'township' "
            "AND code LIKE %s",
            [f"{county}%"],
        )
        townships = shapely.from_wkb(bytes(cursor.fetchone()[0]))
    names = np.array([r[0] for r in roads], dtype=object)
    lines = shapely.from_wkb([bytes(r[1]) for r in roads])
    lengths = shapely.length(lines)
    per_road = int(np.ceil(n * 1.02 / len(roads)))  # a few spare: points outside every township drop
    road_idx = np.repeat(np.arange(len(roads)), per_road)
    k = np.tile(np.arange(per_road), len(roads))
    chainage = (k + 0.5) / per_road * lengths[road_idx]
    line_of = lines[road_idx]
    p0 = shapely.line_interpolate_point(line_of, np.maximum(chainage - 0.5, 0))
    p1 = shapely.line_interpolate_point(line_of, np.minimum(chainage + 0.5, lengths[road_idx]))
    mid = shapely.line_interpolate_point(line_of, chainage)
    d = shapely.get_coordinates(p1) - shapely.get_coordinates(p0)
    d /= np.hypot(d[:, 0], d[:, 1])[:, None]
    side = np.where(k % 2 == 0, 1.0, -1.0)
    xy = shapely.get_coordinates(mid) + OFFSET_M * side[:, None] * np.column_stack([d[:, 1], -d[:, 0]])
    shapely.prepare(townships)
    inside = shapely.contains_xy(townships, xy[:, 0], xy[:, 1])
    keep = np.flatnonzero(inside)[:n]
    if keep.size < n:
        raise RuntimeError(f"only {keep.size} points inside the townships")
    road_idx, k, xy = road_idx[keep], k[keep], xy[keep]
    number = FIRST_NUMBER + k
    suffixed = k % 25 == 24  # the previous number's 之一 (…号之一), as real data has
    number = np.where(suffixed, number - 1, number)
    number_text = np.where(suffixed, np.char.add(number.astype(str), "之一"), number.astype(str))
    lon, lat = crs.projected_to_lonlat(xy[:, 0], xy[:, 1], settings.GEO_MZ_SRID)
    points = shapely.points(lon, lat)
    table = pa.table(
        {
            "类型": pa.array(np.full(n, "道路", dtype=object)),
            "道路/小区": pa.array(names[road_idx]),
            "门牌号": pa.array(number_text.astype(object)),
            "启用日期": pa.array(np.full(n, dt.date(2020, 5, 1)), type=pa.date32()),
            "用途": pa.array(np.full(n, "住宅", dtype=object)),
            "geom": pa.array(shapely.to_wkb(points), type=pa.binary()),
        }
    )
    tmp = path.with_suffix(".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    pyogrio.write_arrow(
        table,
        tmp,
        layer="addresses",
        driver="GPKG",
        dataset_options={"VERSION": "1.2"},  # Debian's GDAL 3.6 (ogr2ogr) warns about 1.4 files
        geometry_name="geom",
        geometry_type="Point",
        crs="EPSG:4490",
    )
    tmp.rename(path)
    _log(
        f"wrote {path} ({n:,} points, {path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t0:.1f} s"
    )
    return path


def _pg_dsn() -> str:
    from django.db import connection

    s = connection.settings_dict
    parts = [f"dbname={s['NAME']}", f"user={s['USER']}"]
    if s.get("PASSWORD"):
        parts.append(f"password={s['PASSWORD']}")
    if s.get("HOST"):
        parts.append(f"host={s['HOST']}")
    if s.get("PORT"):
        parts.append(f"port={s['PORT']}")
    return " ".join(parts)


def ogr2ogr_reference(path: Path) -> None:
    """`ogr2ogr -f PostgreSQL` with COPY into a new table, then drop it (the drop is not timed apart:
    it takes milliseconds)."""
    from django.db import connection

    subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "PostgreSQL",
            f"PG:{_pg_dsn()}",
            str(path),
            "-nln",
            REF_TABLE,
            "-overwrite",
            "--config",
            "PG_USE_COPY",
            "YES",
        ],
        check=True,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {REF_TABLE}")


def max_rss_mib() -> float:
    """This process' peak resident set size (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _counters() -> dict[str, int]:
    from geo_mz.core.models import SerialCounter

    return dict(SerialCounter.objects.filter(scope__startswith="address:").values_list("scope", "last"))


def cleanup(since: dt.datetime, counters: dict[str, int]) -> tuple[int, int]:
    """Delete what one bench import wrote (its rows carry numbers ≥ FIRST_NUMBER and a creation time
    after `since`; the scale data set's numbers stay below 100), restore the township code counters
    and VACUUM, so every run starts from the same database."""
    from django.db import connection, transaction

    from geo_mz.core.models import SerialCounter

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM addresses_historicaladdress WHERE history_date >= %s AND history_type = '+' "
            "AND number >= %s",
            [since, FIRST_NUMBER],
        )
        history = cursor.rowcount
        cursor.execute(
            "DELETE FROM addresses_address WHERE created_at >= %s AND number >= %s AND recorded_only",
            [since, FIRST_NUMBER],
        )
        rows = cursor.rowcount
        for scope, last in counters.items():
            SerialCounter.objects.filter(scope=scope).update(last=last)
        SerialCounter.objects.filter(scope__startswith="address:").exclude(scope__in=list(counters)).delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE addresses_address")
        cursor.execute("VACUUM ANALYZE addresses_historicaladdress")
    return rows, history


def cases() -> list[Case]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_mz.settings")
    django.setup()
    from django.utils import timezone

    from geo_mz.addresses import bulk

    path = bench_gpkg()
    notes: dict[str, str] = {}

    def steps() -> str:
        return ", ".join(f"{k} {v:.1f}" for k, v in bulk.last_steps.items())

    def ours() -> None:
        counters = _counters()
        since = timezone.now()
        t0 = time.perf_counter()
        report = bulk.addresses_import_bulk(path, dry_run=False)
        seconds = time.perf_counter() - t0
        assert report.committed and report.counts()["create"] == N_ROWS, report.as_text()[:2000]
        t1 = time.perf_counter()
        rows, history = cleanup(since, counters)
        assert rows == N_ROWS and history == N_ROWS, (rows, history)
        notes["write"] = f"import alone {seconds:.1f} s ({steps()}), cleanup {time.perf_counter() - t1:.1f} s"
        _log(notes["write"])

    def ours_dry() -> None:
        t0 = time.perf_counter()
        report = bulk.addresses_import_bulk(path, dry_run=True)
        assert report.ok and report.counts()["create"] == N_ROWS, report.as_text()[:2000]
        notes["dry"] = f"{time.perf_counter() - t0:.1f} s ({steps()})"
        _log(f"dry run {notes['dry']}")

    def reference() -> None:
        t0 = time.perf_counter()
        ogr2ogr_reference(path)
        _log(f"ogr2ogr {time.perf_counter() - t0:.1f} s")

    def note(key: str):
        return lambda: f"{notes.get(key, '')}; max RSS {max_rss_mib():.0f} MiB"

    return [
        Case(
            f"import {N_ROWS:,} addresses from GeoPackage: validated, COPY, INSERT + history, committed "
            "(target ≤ 3× ogr2ogr; time includes deleting the rows again)",
            ours,
            reference,
            "ogr2ogr -f PostgreSQL, PG_USE_COPY",
            repeat=1,
            note=note("write"),
        ),
        Case(
            f"import {N_ROWS:,} addresses from GeoPackage, dry run (read, check, COPY, SQL checks; no write)",
            ours_dry,
            reference,
            "ogr2ogr -f PostgreSQL, PG_USE_COPY",
            repeat=1,
            note=note("dry"),
        ),
    ]


def main() -> int:
    """`python -m bench.bench_import`: one import and one ogr2ogr, timed apart from the cleanup."""
    from bench.runner import run, table

    results = [run(case) for case in cases()]
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

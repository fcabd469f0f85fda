"""Excel and CSV house-number imports against the GeoPackage import of the same rows (issue 15: ≤ 3×).

Runs on the demo database (`python -m bench.bench_import_table`, or `python -m bench Excel CSV`). The rows: N_ROWS new road house numbers (9001+)
on the demo roads whose active name is unique in the county, entrances 8 m beside the road, 1 in 25
with a 之一 suffix, a date and a use. They are written once to ``bench/.cache/`` as:

* an .xlsx sheet (经度/纬度 as numbers, dates as dates, numbers as numbers where Excel would keep
  them), and a UTF-8 CSV of the same cells;
* the reference: a GeoPackage point layer (EPSG:4490) with the same attributes, imported by
  `bulk.addresses_import_bulk`, the path that took 2.4 s for 5,001 rows where Excel took 293–309 s.

Both sides run a real import (dry_run=False: checks, code reservation, INSERT of the addresses and
their history) inside a transaction that is then rolled back, so the demo database is left as it was
and every repetition sees the same data. The note gives the reference's peak memory (tracemalloc) and
the seconds per step of the last Excel import.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
import tracemalloc
from pathlib import Path

from bench.runner import Case

N_ROWS = 5_000
FIRST_NUMBER = 9_001
OFFSET_M = 8.0
CACHE = Path(__file__).resolve().parent / ".cache"
HEADER = ["类型", "道路/小区", "门牌号", "经度", "纬度", "启用日期", "用途"]


def _log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _rows(n: int) -> list[tuple]:
    """(kind, road, number text, lon, lat, date, use) for `n` new numbers on the demo roads."""
    import numpy as np
    import shapely
    from django.conf import settings
    from django.db import connection

    from geo_mz.core import crs

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
            WHERE f.geom IS NOT NULL AND ST_Length(f.geom) > 200 ORDER BY f.code
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
    shapely.prepare(townships)
    lines = [shapely.from_wkb(bytes(r[1])) for r in roads]
    lines = [g.geoms[0] if hasattr(g, "geoms") else g for g in lines]
    per_road = int(np.ceil(n * 1.1 / len(roads)))
    out: list[tuple] = []
    for name, line in zip((r[0] for r in roads), lines, strict=True):
        for k in range(per_road):
            d = (k + 0.5) / per_road * line.length
            p0 = line.interpolate(max(d - 0.5, 0))
            p1 = line.interpolate(min(d + 0.5, line.length))
            dx, dy = p1.x - p0.x, p1.y - p0.y
            norm = (dx * dx + dy * dy) ** 0.5 or 1.0
            side = 1.0 if k % 2 == 0 else -1.0
            mid = line.interpolate(d)
            x, y = mid.x + OFFSET_M * side * dy / norm, mid.y - OFFSET_M * side * dx / norm
            if not shapely.contains_xy(townships, x, y):
                continue
            number = FIRST_NUMBER + k
            text = f"{number - 1}之一" if k % 25 == 24 else str(number)
            lon, lat = crs.projected_to_lonlat(x, y, settings.GEO_MZ_SRID)
            out.append(("道路", name, text, float(lon), float(lat), dt.date(2020, 5, 1), "住宅"))
            if len(out) == n:
                return out
    raise RuntimeError(f"only {len(out)} rows on the demo roads")


def bench_files(n: int = N_ROWS) -> tuple[Path, Path, Path]:
    """(xlsx, csv, gpkg) of the same `n` rows, written once."""
    CACHE.mkdir(exist_ok=True)
    ignore = CACHE / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    xlsx, csv_path, gpkg = (CACHE / f"addresses-table-{n}.{ext}" for ext in ("xlsx", "csv", "gpkg"))
    if xlsx.exists() and csv_path.exists() and gpkg.exists():
        return xlsx, csv_path, gpkg
    import csv

    import geopandas as gpd
    import openpyxl
    import shapely

    rows = _rows(n)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for kind, road, number, lon, lat, date, use in rows:
        sheet.append([kind, road, int(number) if number.isdigit() else number, lon, lat, date, use])
    book.save(xlsx)
    with csv_path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for kind, road, number, lon, lat, date, use in rows:
            writer.writerow([kind, road, number, repr(lon), repr(lat), date.isoformat(), use])
    frame = gpd.GeoDataFrame(
        {
            "类型": [r[0] for r in rows],
            "道路/小区": [r[1] for r in rows],
            "门牌号": [r[2] for r in rows],
            "启用日期": [r[5].isoformat() for r in rows],
            "用途": [r[6] for r in rows],
        },
        geometry=shapely.points([r[3] for r in rows], [r[4] for r in rows]),
        crs="EPSG:4490",
    )
    frame.to_file(gpkg, layer="addresses", driver="GPKG")
    _log(f"wrote {xlsx.name}, {csv_path.name}, {gpkg.name} ({n:,} rows)")
    return xlsx, csv_path, gpkg


def _import_rolled_back(path: Path, fn) -> None:
    from django.db import transaction

    with transaction.atomic():
        report = fn(path)
        assert report.committed and report.counts()["create"] == N_ROWS, report.as_text()[:2000]
        transaction.set_rollback(True)


def cases() -> list[Case]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_mz.settings")
    django.setup()
    from geo_mz.addresses import bulk, importers

    xlsx, csv_path, gpkg = bench_files()
    notes: dict[str, str] = {}

    def table_import(path: Path):
        def run() -> None:
            t0 = time.perf_counter()
            _import_rolled_back(path, lambda p: importers.addresses_import(p, dry_run=False))
            steps = ", ".join(f"{k} {v:.2f}" for k, v in bulk.last_steps.items())
            if not tracemalloc.is_tracing():  # the harness' memory run is slowed by tracemalloc
                notes[path.suffix] = f"{time.perf_counter() - t0:.2f} s: {steps}"

        return run

    def reference() -> None:
        _import_rolled_back(gpkg, lambda p: bulk.addresses_import_bulk(p, dry_run=False))

    def note(suffix: str):
        def text() -> str:
            tracemalloc.start()
            reference()
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            return f"last run {notes.get(suffix, '')}; GeoPackage peak {peak / 2**20:.1f} MiB"

        return text

    return [
        Case(
            f"import {N_ROWS:,} addresses from Excel (.xlsx), committed then rolled back "
            "(target ≤ 3× the GeoPackage of the same rows, ratio ≥ 0.33×)",
            table_import(xlsx),
            reference,
            "GeoPackage of the same rows (bulk)",
            repeat=3,
            note=note(".xlsx"),
        ),
        Case(
            f"import {N_ROWS:,} addresses from CSV, committed then rolled back (target ≤ 3× the GeoPackage)",
            table_import(csv_path),
            reference,
            "GeoPackage of the same rows (bulk)",
            repeat=3,
            note=note(".csv"),
        ),
    ]


def main() -> int:
    """`python -m bench.bench_import_table`."""
    from bench.runner import run, table

    print(table([run(case) for case in cases()]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

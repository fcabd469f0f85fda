"""Foundation benchmarks: CRS conversion, topology check, division GeoJSON API."""

from __future__ import annotations

import math

import numpy as np
import shapely

from bench.runner import Case
from geo_mz.core import crs
from geo_mz.divisions.topology import check_partition


def _gcj_scalar_reference(lons: np.ndarray, lats: np.ndarray) -> None:
    """The common copy-paste implementation: one point at a time, fixed 2-step inverse."""
    a, ee = 6378245.0, 0.00669342162296594323

    def tlat(x: float, y: float) -> float:
        r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
        r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
        r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
        r += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
        return r

    def tlon(x: float, y: float) -> float:
        r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
        r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
        r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
        r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
        return r

    for lon, lat in zip(lons.tolist(), lats.tolist(), strict=True):
        dlat, dlon = tlat(lon - 105.0, lat - 35.0), tlon(lon - 105.0, lat - 35.0)
        radlat = lat / 180.0 * math.pi
        magic = 1 - ee * math.sin(radlat) ** 2
        sq = math.sqrt(magic)
        dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sq) * math.pi)
        dlon = (dlon * 180.0) / (a / sq * math.cos(radlat) * math.pi)
        _ = (lon - dlon, lat - dlat)


def case_gcj02_to_wgs84() -> Case:
    rng = np.random.default_rng(1)
    lons = rng.uniform(113.5, 114.3, 100_000)
    lats = rng.uniform(29.4, 30.1, 100_000)
    return Case(
        "GCJ-02→WGS84, 100k points (iterative, <1e-9°)",
        lambda: crs.gcj02_to_wgs84(lons, lats),
        lambda: _gcj_scalar_reference(lons, lats),
        "per-point Python (1-step, ~1 m error)",
        repeat=3,
    )


def case_project_points() -> Case:
    rng = np.random.default_rng(2)
    lons = rng.uniform(113.5, 114.3, 100_000)
    lats = rng.uniform(29.4, 30.1, 100_000)
    tr = crs.transformer(crs.CGCS2000, 4547)
    return Case(
        "lon/lat→EPSG:4547, 100k points (cached transformer)",
        lambda: crs.lonlat_to_projected(lons, lats, 4547),
        lambda: [tr.transform(x, y) for x, y in zip(lons.tolist(), lats.tolist(), strict=True)],
        "per-point pyproj calls",
        repeat=3,
    )


def _grid_partition(n: int) -> tuple[shapely.Polygon, dict[str, shapely.Polygon]]:
    size = 1000.0
    parent = shapely.box(500_000, 3_300_000, 500_000 + n * size, 3_300_000 + n * size)
    cells = {
        f"{i:03d}{j:03d}": shapely.box(
            500_000 + i * size, 3_300_000 + j * size, 500_000 + (i + 1) * size, 3_300_000 + (j + 1) * size
        )
        for i in range(n)
        for j in range(n)
    }
    return parent, cells


def _naive_overlaps(cells: dict[str, shapely.Polygon]) -> int:
    items = list(cells.values())
    found = 0
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if shapely.area(shapely.intersection(items[i], items[j])) > 10:
                found += 1
    return found


def case_topology() -> Case:
    parent, cells = _grid_partition(30)  # 900 siblings
    return Case(
        "topology check_partition, 900 siblings",
        lambda: check_partition("p", parent, cells),
        lambda: _naive_overlaps(cells),
        "naive all-pairs intersection (overlaps only)",
        repeat=3,
    )


def cases() -> list[Case]:
    return [case_gcj02_to_wgs84(), case_project_points(), case_topology()]

"""Deterministic test inputs: small vector files and CSVs written into a tmp dir."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
from shapely.geometry import Point, Polygon, box

# A 2 km square inside 赤壁市 (lon/lat), and a far-away unused code range for test-only divisions.
CHIBI_LON, CHIBI_LAT = 113.90, 29.72
SQUARE = box(CHIBI_LON, CHIBI_LAT, CHIBI_LON + 0.02, CHIBI_LAT + 0.02)
BOWTIE = Polygon(
    [
        (CHIBI_LON, CHIBI_LAT),
        (CHIBI_LON + 0.02, CHIBI_LAT + 0.02),
        (CHIBI_LON + 0.02, CHIBI_LAT),
        (CHIBI_LON, CHIBI_LAT + 0.02),
    ]
)


def geojson_file(path: Path, features: list[dict]) -> Path:
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8"
    )
    return path


def feature(geometry: dict | None, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def polygon_geojson(poly: Polygon) -> dict:
    return json.loads(gpd.GeoSeries([poly]).to_json())["features"][0]["geometry"]


def shapefile(
    path: Path, records: list[dict], geoms: list, *, encoding: str, cpg: bool, epsg: int | None = 4490
) -> Path:
    frame = gpd.GeoDataFrame(records, geometry=geoms, crs=f"EPSG:{epsg}" if epsg else None)
    frame.to_file(path, driver="ESRI Shapefile", encoding=encoding)
    cpg_path = path.with_suffix(".cpg")
    if not cpg and cpg_path.exists():
        cpg_path.unlink()
    return path


def point(lon: float, lat: float) -> Point:
    return Point(lon, lat)

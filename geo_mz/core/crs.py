"""Coordinate reference systems, Chinese map offsets and coordinate sanity checks.

This module is deliberately **pure**: it imports only the standard library, numpy,
pyproj and shapely -- never Django -- so importers, management commands and tests can
use it without configured settings or a database.

Conventions used throughout (read these before calling anything):

* **Axis order is always x, y = longitude, latitude** (easting, northing for projected
  CRSs). Every pyproj transformer is built with ``always_xy=True``. EPSG:4490 and
  EPSG:4326 officially declare latitude first; use :func:`from_epsg4490_official_order`
  when a source really delivers ``(lat, lon)``.
* Geographic coordinates are in **decimal degrees**; projected coordinates are in
  **metres**.
* CGCS2000 (EPSG:4490) and WGS84 (EPSG:4326) differ by at most a few decimetres and are
  treated as identical here (PROJ also uses a "ballpark" null transformation between
  them).
* GCJ-02 ("Mars coordinates", used by AMap/Tencent/Gaode) and BD-09 (Baidu) are not
  EPSG CRSs but obfuscated offsets of WGS84; converting them is done with the published
  formulas plus an iterative inverse (round-trip error well below 0.1 m).
* Functions documented as *vectorised* accept Python floats **or** numpy arrays (anything
  array-like that broadcasts). Scalars in -> ``float`` out; arrays in -> ``float64``
  arrays out (always freshly allocated, never aliasing the input).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Final, TypeVar, cast

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from pyproj.exceptions import ProjError
from shapely.geometry.base import BaseGeometry

__all__ = [
    "CGCS2000",
    "CHINA_BBOX",
    "COORDINATE_SYSTEMS",
    "DEFAULT_STORAGE_SRID",
    "GCJ02_CHINA_BBOX",
    "WEB_MERCATOR",
    "WGS84",
    "CRSError",
    "CoordinateError",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_lonlat",
    "check_lonlat_array",
    "from_epsg4490_official_order",
    "gauss_kruger_xy",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "gk3_central_meridian",
    "gk3_srid_for_longitude",
    "is_cgcs2000_gk3_srid",
    "lonlat_to_projected",
    "projected_to_lonlat",
    "storage_srid",
    "to_wgs84",
    "transformer",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

FloatArray = npt.NDArray[np.float64]
#: A coordinate value: a Python float or a float64 numpy array (vectorised functions).
FloatT = TypeVar("FloatT", float, FloatArray)

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

#: WGS 84 geographic (degrees). Official axis order lat, lon -- we always use lon, lat.
WGS84: Final = 4326
#: China Geodetic Coordinate System 2000, geographic (degrees). Official order lat, lon.
CGCS2000: Final = 4490
#: WGS 84 / Pseudo-Mercator (metres), used by web map tiles.
WEB_MERCATOR: Final = 3857
#: CGCS2000 / 3-degree Gauss-Kruger CM 114E (metres, false easting 500 000 m, no zone prefix).
DEFAULT_STORAGE_SRID: Final = 4547

#: Environment variable holding the storage SRID.
STORAGE_SRID_ENV: Final = "GEO_MZ_SRID"

# CGCS2000 3-degree Gauss-Kruger zones 25 (CM 75E) .. 45 (CM 135E).
_GK3_FIRST_ZONE: Final = 25
_GK3_LAST_ZONE: Final = 45
#: EPSG:4513..4533 -- "zone NN" variants, false easting = zone * 1e6 + 500 000 m.
_GK3_ZONE_PREFIX_FIRST: Final = 4513
_GK3_ZONE_PREFIX_LAST: Final = 4533
#: EPSG:4534..4554 -- "CM xxxE" variants, false easting = 500 000 m.
_GK3_CM_FIRST: Final = 4534
_GK3_CM_LAST: Final = 4554
# Longitudes accepted by gk3_srid_for_longitude: zones 25..45 span 73.5E..136.5E; allow
# 1.5 degrees of slack on either side (clamped to the edge zone) so all of China fits.
_GK3_MIN_LON: Final = 72.0
_GK3_MAX_LON: Final = 138.0

#: Coarse bounding box of China (min_lon, min_lat, max_lon, max_lat), degrees, used by
#: the sanity checks.
CHINA_BBOX: Final[tuple[float, float, float, float]] = (73.4, 3.8, 135.1, 53.6)
#: The rough "is this in China" box used by the GCJ-02 reference implementation
#: (min_lon, min_lat, max_lon, max_lat), degrees. Outside it no offset is applied.
GCJ02_CHINA_BBOX: Final[tuple[float, float, float, float]] = (72.004, 0.8293, 137.8347, 55.8271)

#: Coordinate systems accepted by :func:`to_wgs84`.
COORDINATE_SYSTEMS: Final[tuple[str, ...]] = ("wgs84", "cgcs2000", "gcj02", "bd09")

# GCJ-02 / BD-09 constants from the published reference implementation.
_GCJ_A: Final = 6378245.0  # Krasovsky 1940 semi-major axis, metres
_GCJ_EE: Final = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared
_BD_X_PI: Final = math.pi * 3000.0 / 180.0

#: Convergence threshold of the iterative inverses, degrees (~0.1 mm).
_INVERSE_TOL_DEG: Final = 1e-9
_INVERSE_MAX_ITER: Final = 30


# ---------------------------------------------------------------------------
# Exceptions
# ---------------------------------------------------------------------------


class CRSError(ValueError):
    """An unsupported, unknown or mis-configured coordinate reference system."""


class CoordinateError(ValueError):
    """A longitude/latitude pair failed a sanity check.

    Attributes:
        code: machine-readable reason: ``"not_finite"``, ``"looks_projected"``,
            ``"swapped_lat_lon"``, ``"out_of_range"``, ``"outside_china"`` or
            ``"outside_region"``.
        message_zh: Chinese explanation.
        message_en: English explanation.
        message: ``"<Chinese>: <English>"`` (also ``str(err)``).
        lon: the longitude as given (degrees, or whatever the caller passed).
        lat: the latitude as given.
    """

    def __init__(self, code: str, message_zh: str, message_en: str, lon: float, lat: float) -> None:
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.message = f"{message_zh}: {message_en}"
        self.lon = lon
        self.lat = lat
        super().__init__(self.message)

    def __reduce__(self) -> tuple[type[CoordinateError], tuple[str, str, str, float, float]]:
        return (type(self), (self.code, self.message_zh, self.message_en, self.lon, self.lat))

    def __repr__(self) -> str:
        return f"CoordinateError(code={self.code!r}, lon={self.lon!r}, lat={self.lat!r})"


# ---------------------------------------------------------------------------
# Storage SRID and Gauss-Kruger zones
# ---------------------------------------------------------------------------


def is_cgcs2000_gk3_srid(srid: int) -> bool:
    """True if ``srid`` is a CGCS2000 3-degree Gauss-Kruger projected CRS (EPSG:4513..4554)."""
    return _GK3_ZONE_PREFIX_FIRST <= srid <= _GK3_CM_LAST


def gk3_central_meridian(srid: int) -> int:
    """Central meridian (degrees east) of a CGCS2000 3-degree Gauss-Kruger SRID.

    Raises:
        CRSError: ``srid`` is not in EPSG:4513..4554.
    """
    if _GK3_ZONE_PREFIX_FIRST <= srid <= _GK3_ZONE_PREFIX_LAST:
        return 3 * (_GK3_FIRST_ZONE + srid - _GK3_ZONE_PREFIX_FIRST)
    if _GK3_CM_FIRST <= srid <= _GK3_CM_LAST:
        return 3 * (_GK3_FIRST_ZONE + srid - _GK3_CM_FIRST)
    raise CRSError(
        f"EPSG:{srid} 不是 CGCS2000 三度带高斯-克吕格投影（应为 EPSG:4513–4554）: "
        f"EPSG:{srid} is not a CGCS2000 3-degree Gauss-Kruger CRS (expected EPSG:4513-4554)"
    )


def storage_srid(env: Mapping[str, str] | None = None) -> int:
    """SRID in which geometries are stored (projected, metres).

    Reads ``GEO_MZ_SRID`` from ``env`` (default: ``os.environ``). Accepts ``"4547"`` or
    ``"EPSG:4547"`` (case-insensitive, surrounding whitespace ignored); unset or empty
    means :data:`DEFAULT_STORAGE_SRID` (4547, CGCS2000 / 3-degree GK CM 114E).

    The value must be a CGCS2000 3-degree Gauss-Kruger zone: EPSG:4513..4533 (false
    easting with zone prefix) or EPSG:4534..4554 (central meridian only, false easting
    500 000 m). Pick the zone whose central meridian is nearest the county, see
    :func:`gk3_srid_for_longitude`.

    Raises:
        CRSError: the value is not an integer or not a CGCS2000 3-degree GK zone.
    """
    source: Mapping[str, str] = os.environ if env is None else env
    raw = source.get(STORAGE_SRID_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_STORAGE_SRID
    text = raw.strip()
    if text.upper().startswith("EPSG:"):
        text = text[5:].strip()
    try:
        srid = int(text)
    except ValueError:
        raise CRSError(
            f"环境变量 {STORAGE_SRID_ENV}={raw!r} 不是整数 EPSG 代码: "
            f"{STORAGE_SRID_ENV}={raw!r} is not an integer EPSG code "
            f"(expected e.g. {DEFAULT_STORAGE_SRID} or EPSG:{DEFAULT_STORAGE_SRID})"
        ) from None
    if not is_cgcs2000_gk3_srid(srid):
        raise CRSError(
            f"环境变量 {STORAGE_SRID_ENV}={raw!r} 不是 CGCS2000 三度带高斯-克吕格投影"
            f"（应为 EPSG:4513–4533 带号前缀，或 EPSG:4534–4554 仅中央经线）: "
            f"{STORAGE_SRID_ENV}={raw!r} is not a CGCS2000 3-degree Gauss-Kruger zone "
            f"(expected EPSG:4513-4533 with zone prefix, or EPSG:4534-4554 CM-only; "
            f"default {DEFAULT_STORAGE_SRID} = CM 114E)"
        )
    return srid


def gk3_srid_for_longitude(lon: float, with_zone_prefix: bool = False) -> int:
    """CGCS2000 3-degree Gauss-Kruger SRID whose zone contains longitude ``lon`` (degrees E).

    Zone ``n`` has central meridian ``3n`` degrees and spans ``3n - 1.5 <= lon < 3n + 1.5``
    (a longitude exactly on a boundary goes to the eastern zone). Zones 25 (75E) .. 45
    (135E) are covered; longitudes within 1.5 degrees outside that span (72E..138E) are
    clamped to the edge zone.

    Examples: 114.0 -> 4547 (CM 114E), 117.0 -> 4548, ``with_zone_prefix=True``:
    114.0 -> 4526 (zone 38, eastings carry a ``38`` prefix).

    Raises:
        CRSError: ``lon`` is not finite or outside 72E..138E.
    """
    if not math.isfinite(lon) or not _GK3_MIN_LON <= lon <= _GK3_MAX_LON:
        raise CRSError(
            f"经度 {lon} 超出 CGCS2000 三度带覆盖范围（{_GK3_MIN_LON}–{_GK3_MAX_LON}°E）: "
            f"longitude {lon} is outside the CGCS2000 3-degree GK coverage "
            f"({_GK3_MIN_LON}-{_GK3_MAX_LON} degrees E)"
        )
    zone = math.floor((lon + 1.5) / 3.0)
    zone = min(max(zone, _GK3_FIRST_ZONE), _GK3_LAST_ZONE)
    first = _GK3_ZONE_PREFIX_FIRST if with_zone_prefix else _GK3_CM_FIRST
    return first + zone - _GK3_FIRST_ZONE


# ---------------------------------------------------------------------------
# pyproj transformations (always_xy)
# ---------------------------------------------------------------------------


def _as_arrays(lon: Any, lat: Any) -> tuple[FloatArray, FloatArray, bool]:
    """Broadcast two coordinate inputs to fresh float64 arrays; report if both were scalar."""
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return np.array(x, dtype=np.float64), np.array(y, dtype=np.float64), scalar


def _out(x: FloatArray, y: FloatArray, scalar: bool) -> tuple[Any, Any]:
    if scalar:
        return float(x), float(y)
    return x, y


@lru_cache(maxsize=128)
def transformer(src_srid: int, dst_srid: int) -> Transformer:
    """Cached pyproj transformer ``EPSG:src_srid -> EPSG:dst_srid`` with ``always_xy=True``.

    Input and output axis order is always x, y: (lon, lat) in degrees for geographic CRSs,
    (easting, northing) in metres for projected ones -- regardless of the EPSG-declared
    axis order. pyproj >= 3.1 transformers are safe to share between threads.

    Raises:
        CRSError: PROJ does not know one of the SRIDs or cannot build the transformation.
    """
    try:
        return Transformer.from_crs(f"EPSG:{src_srid}", f"EPSG:{dst_srid}", always_xy=True)
    except ProjError as exc:
        raise CRSError(
            f"无法建立坐标转换 EPSG:{src_srid} → EPSG:{dst_srid}: "
            f"cannot build transformation EPSG:{src_srid} -> EPSG:{dst_srid}: {exc}"
        ) from exc


def lonlat_to_projected(
    lon: FloatT, lat: FloatT, srid: int, *, geographic_srid: int = CGCS2000
) -> tuple[FloatT, FloatT]:
    """Project geographic (lon, lat) degrees to (x=easting, y=northing) metres in ``srid``.

    The input is interpreted in ``geographic_srid`` (default CGCS2000, EPSG:4490; WGS84
    input gives the same result within PROJ's ballpark null transformation). Vectorised.
    """
    x, y, scalar = _as_arrays(lon, lat)
    ex, ny = transformer(geographic_srid, srid).transform(x, y)
    return cast(tuple[FloatT, FloatT], _out(np.asarray(ex), np.asarray(ny), scalar))


def projected_to_lonlat(
    x: FloatT, y: FloatT, srid: int, *, geographic_srid: int = CGCS2000
) -> tuple[FloatT, FloatT]:
    """Unproject (x=easting, y=northing) metres in ``srid`` to (lon, lat) degrees.

    The output is in ``geographic_srid`` (default CGCS2000, EPSG:4490). Vectorised.
    """
    ex, ny, scalar = _as_arrays(x, y)
    lon, lat = transformer(srid, geographic_srid).transform(ex, ny)
    return cast(tuple[FloatT, FloatT], _out(np.asarray(lon), np.asarray(lat), scalar))


def from_epsg4490_official_order(lat: FloatT, lon: FloatT) -> tuple[FloatT, FloatT]:
    """Reorder a pair given in EPSG:4490's (and EPSG:4326's) official axis order.

    EPSG:4490 declares latitude first. Sources that honour that (WFS 1.1/2.0 GML, some
    GIS exports) deliver ``(lat, lon)``; this returns ``(lon, lat)`` in degrees, the
    order every function of this module expects. Vectorised.
    """
    y, x, scalar = _as_arrays(lat, lon)
    return cast(tuple[FloatT, FloatT], _out(x, y, scalar))


def gauss_kruger_xy(lon: FloatT, lat: FloatT, srid: int) -> tuple[FloatT, FloatT]:
    """Gauss-Kruger coordinates in the Chinese surveyor convention: ``(X, Y)``.

    ``X`` is the **northing** and ``Y`` the **easting** (metres, including the 500 000 m
    false easting and, for EPSG:4513..4533, the zone-number prefix) -- the reverse of the
    GIS ``(x=easting, y=northing)`` order used everywhere else. Input is CGCS2000
    (lon, lat) in degrees. Vectorised.

    Raises:
        CRSError: ``srid`` is not a CGCS2000 3-degree GK zone (EPSG:4513..4554).
    """
    gk3_central_meridian(srid)  # validates
    easting, northing = lonlat_to_projected(lon, lat, srid)
    return northing, easting


# ---------------------------------------------------------------------------
# GCJ-02 and BD-09
# ---------------------------------------------------------------------------


def _in_bbox(
    lon: FloatArray, lat: FloatArray, bbox: tuple[float, float, float, float]
) -> npt.NDArray[np.bool_]:
    min_lon, min_lat, max_lon, max_lat = bbox
    return (lon >= min_lon) & (lon <= max_lon) & (lat >= min_lat) & (lat <= max_lat)


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 offset (dlon, dlat) in degrees at WGS84 (lon, lat), without the China test."""
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    t_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    t_lat = t_lat + common
    t_lat = t_lat + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    t_lat = t_lat + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    t_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    t_lon = t_lon + common
    t_lon = t_lon + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    t_lon = t_lon + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * pi
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (t_lat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * pi)
    dlon = (t_lon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * pi)
    return dlon, dlat


def _gcj_forward_unmasked(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def _fixed_point_inverse(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    target_x: FloatArray,
    target_y: FloatArray,
    x: FloatArray,
    y: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(x, y) == target`` by ``p <- p - (forward(p) - target)`` (degrees).

    The offsets are tiny, smooth perturbations of the identity, so this converges
    linearly with a rate of ~1e-2. Each element stops being updated once its own forward
    residual is below 1e-9 degrees, so array results equal element-wise scalar results.
    Stops after 30 iterations regardless. NaNs propagate and count as converged.
    """
    active = np.ones(x.shape, dtype=bool)
    for _ in range(_INVERSE_MAX_ITER):
        fx, fy = forward(x, y)
        ex = fx - target_x
        ey = fy - target_y
        x = np.where(active, x - ex, x)
        y = np.where(active, y - ey, y)
        active &= (np.abs(ex) >= _INVERSE_TOL_DEG) | (np.abs(ey) >= _INVERSE_TOL_DEG)
        if not active.any():
            break
    return x, y


def wgs84_to_gcj02(lon: FloatT, lat: FloatT) -> tuple[FloatT, FloatT]:
    """WGS84 (lon, lat) degrees -> GCJ-02 (lon, lat) degrees. Vectorised.

    Standard published formula (Krasovsky a = 6378245.0, ee = 0.00669342162296594323).
    Points outside the rough China box :data:`GCJ02_CHINA_BBOX` are returned unchanged.
    """
    x, y, scalar = _as_arrays(lon, lat)
    dlon, dlat = _gcj_offset(x, y)
    inside = _in_bbox(x, y, GCJ02_CHINA_BBOX)
    return cast(
        tuple[FloatT, FloatT],
        _out(np.where(inside, x + dlon, x), np.where(inside, y + dlat, y), scalar),
    )


def gcj02_to_wgs84(lon: FloatT, lat: FloatT) -> tuple[FloatT, FloatT]:
    """GCJ-02 (lon, lat) degrees -> WGS84 (lon, lat) degrees, iteratively. Vectorised.

    Fixed-point iteration ``w <- w - (gcj(w) - target)`` starting at ``w = target``, until
    the forward re-projection error is below 1e-9 degrees (~0.1 mm; at most 30
    iterations, typically 3-5), per element. Round-trip error WGS84 -> GCJ-02 -> WGS84 is far below
    0.1 m anywhere in China. Points whose GCJ-02 position lies outside
    :data:`GCJ02_CHINA_BBOX` are returned unchanged (matching the forward transform).
    NaN inputs propagate as NaN.
    """
    tx, ty, scalar = _as_arrays(lon, lat)
    wx, wy = _fixed_point_inverse(_gcj_forward_unmasked, tx, ty, tx.copy(), ty.copy())
    inside = _in_bbox(tx, ty, GCJ02_CHINA_BBOX)
    return cast(tuple[FloatT, FloatT], _out(np.where(inside, wx, tx), np.where(inside, wy, ty), scalar))


def _gcj_to_bd_arrays(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def gcj02_to_bd09(lon: FloatT, lat: FloatT) -> tuple[FloatT, FloatT]:
    """GCJ-02 (lon, lat) degrees -> BD-09 (lon, lat) degrees (Baidu). Vectorised.

    Standard formula with ``x_pi = pi * 3000 / 180``; applied everywhere (no China test).
    """
    x, y, scalar = _as_arrays(lon, lat)
    bx, by = _gcj_to_bd_arrays(x, y)
    return cast(tuple[FloatT, FloatT], _out(bx, by, scalar))


def bd09_to_gcj02(lon: FloatT, lat: FloatT) -> tuple[FloatT, FloatT]:
    """BD-09 (lon, lat) degrees -> GCJ-02 (lon, lat) degrees. Vectorised.

    Starts from the standard closed-form approximate inverse, then refines by fixed-point
    iteration until the forward re-projection error is below 1e-9 degrees, so
    GCJ-02 -> BD-09 -> GCJ-02 round-trips to far below 0.1 m.
    """
    tx, ty, scalar = _as_arrays(lon, lat)
    x = tx - 0.0065
    y = ty - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    gx, gy = _fixed_point_inverse(_gcj_to_bd_arrays, tx, ty, z * np.cos(theta), z * np.sin(theta))
    return cast(tuple[FloatT, FloatT], _out(gx, gy, scalar))


def wgs84_to_bd09(lon: FloatT, lat: FloatT) -> tuple[FloatT, FloatT]:
    """WGS84 (lon, lat) degrees -> BD-09 (lon, lat) degrees, via GCJ-02. Vectorised."""
    gx, gy = wgs84_to_gcj02(lon, lat)
    return gcj02_to_bd09(gx, gy)


def bd09_to_wgs84(lon: FloatT, lat: FloatT) -> tuple[FloatT, FloatT]:
    """BD-09 (lon, lat) degrees -> WGS84 (lon, lat) degrees, via GCJ-02. Vectorised."""
    gx, gy = bd09_to_gcj02(lon, lat)
    return gcj02_to_wgs84(gx, gy)


def to_wgs84(lon: FloatT, lat: FloatT, coordinate_system: str) -> tuple[FloatT, FloatT]:
    """Convert (lon, lat) degrees in ``coordinate_system`` to WGS84 (lon, lat) degrees.

    ``coordinate_system`` is one of ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"``, ``"bd09"``
    (case-insensitive; surrounding whitespace, ``-``, ``_`` and spaces are ignored, so
    ``"GCJ-02"`` works). WGS84 and CGCS2000 are returned unchanged (they agree within a
    few decimetres). Vectorised.

    Raises:
        CRSError: unknown ``coordinate_system``.
    """
    key = "".join(ch for ch in coordinate_system.strip().lower() if ch not in "-_ ")
    if key in ("wgs84", "cgcs2000"):
        x, y, scalar = _as_arrays(lon, lat)
        return cast(tuple[FloatT, FloatT], _out(x, y, scalar))
    if key == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if key == "bd09":
        return bd09_to_wgs84(lon, lat)
    raise CRSError(
        f"未知坐标系 {coordinate_system!r}，可选: {', '.join(COORDINATE_SYSTEMS)}: "
        f"unknown coordinate system {coordinate_system!r}; valid: {', '.join(COORDINATE_SYSTEMS)}"
    )


# ---------------------------------------------------------------------------
# Sanity checks
# ---------------------------------------------------------------------------

#: Absolute values at or above this (in both axes) are taken to be metres, not degrees.
_PROJECTED_THRESHOLD: Final = 1000.0


def _fmt(value: float) -> str:
    """Compact number for messages: up to 6 decimals, trailing zeros stripped."""
    if not math.isfinite(value):
        return str(value)
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _fmt_bbox_zh(bbox: tuple[float, float, float, float]) -> str:
    return f"经度 {_fmt(bbox[0])}～{_fmt(bbox[2])}，纬度 {_fmt(bbox[1])}～{_fmt(bbox[3])}"


def _fmt_bbox_en(bbox: tuple[float, float, float, float]) -> str:
    return f"lon {_fmt(bbox[0])} to {_fmt(bbox[2])}, lat {_fmt(bbox[1])} to {_fmt(bbox[3])}"


def _validate_bbox(bbox: tuple[float, float, float, float]) -> None:
    if len(bbox) != 4:
        raise ValueError(f"region_bbox must be (min_lon, min_lat, max_lon, max_lat), got {bbox!r}")
    min_lon, min_lat, max_lon, max_lat = bbox
    if not all(math.isfinite(v) for v in bbox) or min_lon > max_lon or min_lat > max_lat:
        raise ValueError(f"region_bbox must be finite (min_lon, min_lat, max_lon, max_lat), got {bbox!r}")


def _scalar_in_bbox(lon: float, lat: float, bbox: tuple[float, float, float, float]) -> bool:
    return bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]


def _coordinate_error(
    lon: float, lat: float, region_bbox: tuple[float, float, float, float] | None
) -> CoordinateError | None:
    """Return the first failing check for one (lon, lat) pair, or None if it is fine."""
    lo, la = _fmt(lon), _fmt(lat)
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return CoordinateError(
            "not_finite",
            f"坐标不是有效数值（经度 {lo}，纬度 {la}）",
            f"coordinates are not finite numbers (lon={lo}, lat={la})",
            lon,
            lat,
        )
    if abs(lon) >= _PROJECTED_THRESHOLD and abs(lat) >= _PROJECTED_THRESHOLD:
        return CoordinateError(
            "looks_projected",
            f"坐标疑似为投影坐标（单位：米）而非经纬度（x={lo}，y={la}）；请声明坐标系（如 EPSG:4547）或先转换为经纬度",
            f"coordinates look projected (metres), not longitude/latitude degrees (x={lo}, y={la}); "
            f"declare the CRS (e.g. EPSG:4547) or convert to lon/lat first",
            lon,
            lat,
        )
    if not _scalar_in_bbox(lon, lat, CHINA_BBOX) and _scalar_in_bbox(lat, lon, CHINA_BBOX):
        if abs(lat) > 90.0:
            why_zh, why_en = f"纬度 {la} 超出范围", f"latitude {la} is out of range"
        else:
            why_zh, why_en = (
                f"经度 {lo} 不在中国经度范围内",
                f"longitude {lo} is outside China's longitude range",
            )
        return CoordinateError(
            "swapped_lat_lon",
            f"坐标疑似经纬度颠倒（{why_zh}）；交换后（经度 {la}，纬度 {lo}）位于中国境内，请按“经度在前、纬度在后”提供",
            f"latitude/longitude appear swapped ({why_en}); swapped (lon={la}, lat={lo}) falls inside China "
            f"-- give longitude first (x=lon, y=lat)",
            lon,
            lat,
        )
    if abs(lon) > 180.0 or abs(lat) > 90.0:
        return CoordinateError(
            "out_of_range",
            f"坐标超出经纬度有效范围（经度 {lo} 应在 -180～180，纬度 {la} 应在 -90～90）",
            f"coordinates out of valid range (lon={lo} must be within [-180, 180], lat={la} within [-90, 90])",
            lon,
            lat,
        )
    if not _scalar_in_bbox(lon, lat, CHINA_BBOX):
        return CoordinateError(
            "outside_china",
            f"坐标位于中国境外（经度 {lo}，纬度 {la}；中国范围 {_fmt_bbox_zh(CHINA_BBOX)}）",
            f"coordinates fall outside China (lon={lo}, lat={la}; China bbox {_fmt_bbox_en(CHINA_BBOX)})",
            lon,
            lat,
        )
    if region_bbox is not None and not _scalar_in_bbox(lon, lat, region_bbox):
        return CoordinateError(
            "outside_region",
            f"坐标超出本辖区范围（经度 {lo}，纬度 {la}；辖区范围 {_fmt_bbox_zh(region_bbox)}）",
            f"coordinates fall outside the deployment region (lon={lo}, lat={la}; "
            f"region bbox {_fmt_bbox_en(region_bbox)})",
            lon,
            lat,
        )
    return None


def check_lonlat(
    lon: float, lat: float, *, region_bbox: tuple[float, float, float, float] | None = None
) -> None:
    """Sanity-check one WGS84/CGCS2000 (lon, lat) pair in degrees.

    Checks, in order (the first failure is raised):

    1. ``not_finite``: NaN or infinite value.
    2. ``looks_projected``: both values have magnitude >= 1000 -- metres, not degrees.
    3. ``swapped_lat_lon``: (lon, lat) is outside China but (lat, lon) is inside.
    4. ``out_of_range``: ``|lon| > 180`` or ``|lat| > 90``.
    5. ``outside_china``: outside :data:`CHINA_BBOX` (73.4-135.1 E, 3.8-53.6 N).
    6. ``outside_region``: outside ``region_bbox`` = (min_lon, min_lat, max_lon, max_lat)
       in degrees, if given (e.g. the county bbox expanded by a margin).

    Bounds are inclusive.

    Raises:
        CoordinateError: with ``code`` as above and a Chinese + English message.
        ValueError: ``region_bbox`` is malformed.
    """
    if region_bbox is not None:
        _validate_bbox(region_bbox)
    err = _coordinate_error(float(lon), float(lat), region_bbox)
    if err is not None:
        raise err


def check_lonlat_array(
    lons: npt.ArrayLike,
    lats: npt.ArrayLike,
    *,
    region_bbox: tuple[float, float, float, float] | None = None,
) -> list[tuple[int, CoordinateError]]:
    """Vectorised :func:`check_lonlat` over 1-D arrays of (lon, lat) degrees.

    Returns ``[(row_index, CoordinateError), ...]`` for every failing row, in row order
    (empty list if all rows pass), so importers can report per row. Rows are screened
    with numpy first; only failing rows are examined individually. ``None`` values in
    list input become NaN (``not_finite``).

    Raises:
        ValueError: inputs are not 1-D arrays of equal length, or ``region_bbox`` is
            malformed.
    """
    if region_bbox is not None:
        _validate_bbox(region_bbox)
    x = np.asarray(lons, dtype=np.float64)
    y = np.asarray(lats, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"lons and lats must be 1-D arrays of equal length, got shapes {x.shape} and {y.shape}"
        )
    # A row passes every check exactly when it is finite, inside China and inside the region.
    ok = _in_bbox(x, y, CHINA_BBOX)
    if region_bbox is not None:
        ok &= _in_bbox(x, y, region_bbox)
    errors: list[tuple[int, CoordinateError]] = []
    for idx in np.flatnonzero(~ok):
        err = _coordinate_error(float(x[idx]), float(y[idx]), region_bbox)
        if err is not None:  # always true; kept for type narrowing
            errors.append((int(idx), err))
    return errors


def transform_geometry(geom: BaseGeometry, src_srid: int, dst_srid: int) -> BaseGeometry:
    """Reproject a shapely geometry (all vertices at once, always_xy)."""
    tr = transformer(src_srid, dst_srid)
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def geometry_to_wgs84(geom: BaseGeometry, coordinate_system: str) -> BaseGeometry:
    """Convert a lon/lat shapely geometry from `coordinate_system` (gcj02, bd09, ...) to WGS84."""
    return shapely.transform(
        geom, lambda xy: np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], coordinate_system))
    )

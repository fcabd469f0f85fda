"""Tests for geo_mz.core.crs -- pure: no Django, no database.

Test names follow ``test_<given>_<when>_<then>`` where practical; longer scenarios spell
out Given / When / Then in comments.
"""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer

from geo_mz.core import crs
from geo_mz.core.crs import CoordinateError, CRSError

REPO_ROOT = Path(__file__).resolve().parents[2]
GEOD = Geod(ellps="WGS84")

# China's coarse bbox (degrees) -- the area where the GCJ-02 round trip must be < 0.1 m.
CHINA_LON = st.floats(min_value=73.4, max_value=135.1, allow_nan=False, allow_infinity=False)
CHINA_LAT = st.floats(min_value=3.8, max_value=53.6, allow_nan=False, allow_infinity=False)

# 赤壁市 (Chibi, Hubei), just west of the 114E central meridian.
CHIBI = (113.9, 29.72)


def distance_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Any:
    """Geodesic distance on the WGS84 ellipsoid, metres (scalar or array)."""
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


# ---------------------------------------------------------------------------
# Constants, storage SRID, GK zones
# ---------------------------------------------------------------------------


def test_constants_have_expected_epsg_codes() -> None:
    assert (crs.WGS84, crs.CGCS2000, crs.WEB_MERCATOR, crs.DEFAULT_STORAGE_SRID) == (4326, 4490, 3857, 4547)


def test_given_empty_env_when_storage_srid_then_default_4547() -> None:
    assert crs.storage_srid({}) == 4547


def test_given_blank_env_value_when_storage_srid_then_default_4547() -> None:
    assert crs.storage_srid({"GEO_MZ_SRID": "   "}) == 4547


def test_given_os_environ_unset_when_storage_srid_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEO_MZ_SRID", raising=False)
    assert crs.storage_srid() == 4547


def test_given_os_environ_set_when_storage_srid_then_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEO_MZ_SRID", "4548")
    assert crs.storage_srid() == 4548


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4547", 4547),
        (" 4548 ", 4548),
        ("EPSG:4526", 4526),
        ("epsg: 4534", 4534),
        ("4513", 4513),
        ("4533", 4533),
        ("4554", 4554),
    ],
)
def test_given_valid_gk3_value_when_storage_srid_then_parsed(raw: str, expected: int) -> None:
    assert crs.storage_srid({"GEO_MZ_SRID": raw}) == expected


@pytest.mark.parametrize("raw", ["4326", "4490", "3857", "4512", "4555", "2383"])
def test_given_non_gk3_srid_when_storage_srid_then_crs_error(raw: str) -> None:
    with pytest.raises(
        CRSError, match=r"GEO_MZ_SRID='\d+' is not a CGCS2000 3-degree Gauss-Kruger zone"
    ) as exc:
        crs.storage_srid({"GEO_MZ_SRID": raw})
    assert "EPSG:4513-4533" in str(exc.value)
    assert "EPSG:4534-4554" in str(exc.value)
    assert "不是 CGCS2000 三度带高斯-克吕格投影" in str(exc.value)


@pytest.mark.parametrize("raw", ["abc", "45.47", "EPSG:", "4547x"])
def test_given_non_integer_value_when_storage_srid_then_crs_error(raw: str) -> None:
    with pytest.raises(CRSError, match="is not an integer EPSG code") as exc:
        crs.storage_srid({"GEO_MZ_SRID": raw})
    assert isinstance(exc.value, ValueError)
    assert str(exc.value).startswith("环境变量 GEO_MZ_SRID=")


@pytest.mark.parametrize(
    ("lon", "prefix", "expected"),
    [
        (114.0, False, 4547),
        (117.0, False, 4548),
        (113.9, False, 4547),
        (112.5, False, 4547),  # boundary goes to the eastern zone
        (112.4999, False, 4546),
        (115.4999, False, 4547),
        (75.0, False, 4534),
        (135.0, False, 4554),
        (73.4, False, 4534),  # China's western edge, clamped to zone 25
        (135.1, False, 4554),
        (114.0, True, 4526),
        (75.0, True, 4513),
        (135.0, True, 4533),
    ],
)
def test_given_longitude_when_gk3_srid_for_longitude_then_zone_srid(
    lon: float, prefix: bool, expected: int
) -> None:
    assert crs.gk3_srid_for_longitude(lon, with_zone_prefix=prefix) == expected


@pytest.mark.parametrize("lon", [60.0, 71.9, 138.1, 150.0, math.nan, math.inf])
def test_given_longitude_outside_coverage_when_gk3_srid_then_crs_error(lon: float) -> None:
    with pytest.raises(CRSError, match="outside the CGCS2000 3-degree GK coverage"):
        crs.gk3_srid_for_longitude(lon)


@given(lon=st.floats(min_value=73.5, max_value=136.4999, allow_nan=False))
def test_property_gk3_zone_central_meridian_within_1_5_degrees(lon: float) -> None:
    # Given any longitude inside zones 25..45, When picking its zone, Then |lon - CM| <= 1.5
    for prefix in (False, True):
        srid = crs.gk3_srid_for_longitude(lon, with_zone_prefix=prefix)
        assert crs.is_cgcs2000_gk3_srid(srid)
        assert abs(lon - crs.gk3_central_meridian(srid)) <= 1.5


def test_gk3_central_meridian_of_both_variants() -> None:
    assert crs.gk3_central_meridian(4547) == 114
    assert crs.gk3_central_meridian(4526) == 114
    assert crs.gk3_central_meridian(4534) == 75
    assert crs.gk3_central_meridian(4533) == 135
    with pytest.raises(CRSError, match="not a CGCS2000 3-degree Gauss-Kruger CRS"):
        crs.gk3_central_meridian(4326)


# ---------------------------------------------------------------------------
# pyproj transformations
# ---------------------------------------------------------------------------


def test_given_chibi_lonlat_when_projected_to_4547_then_west_of_cm_easting_and_northing() -> None:
    # Given 赤壁市 at 113.9E (0.1 degree west of CM 114E), 29.72N
    # When projecting to CGCS2000 / 3-degree GK CM 114E
    x, y = crs.lonlat_to_projected(*CHIBI, 4547)
    # Then easting is below the 500 000 m false easting by ~0.1 deg * 96.7 km/deg
    assert isinstance(x, float)
    assert isinstance(y, float)
    assert 480_000 < x < 500_000
    assert x == pytest.approx(490_324.398, abs=0.01)
    # And the northing is ~3.29e6 m
    assert 3.28e6 < y < 3.30e6
    assert y == pytest.approx(3_289_079.559, abs=0.01)


def test_given_chibi_when_projected_to_zone_prefixed_srid_then_easting_carries_zone_38() -> None:
    x, y = crs.lonlat_to_projected(*CHIBI, 4526)
    assert x == pytest.approx(38_490_324.398, abs=0.01)
    assert y == pytest.approx(3_289_079.559, abs=0.01)


def test_given_wgs84_input_when_projected_then_same_as_cgcs2000_ballpark() -> None:
    a = crs.lonlat_to_projected(*CHIBI, 4547, geographic_srid=crs.WGS84)
    b = crs.lonlat_to_projected(*CHIBI, 4547)
    assert a == pytest.approx(b, abs=1e-6)


def test_given_web_mercator_when_projecting_then_metres_in_xy_order() -> None:
    x, y = crs.lonlat_to_projected(180.0, 0.0, crs.WEB_MERCATOR, geographic_srid=crs.WGS84)
    assert x == pytest.approx(20_037_508.342789244, abs=1e-3)
    assert y == pytest.approx(0.0, abs=1e-6)


def test_transformer_is_cached_and_always_xy() -> None:
    t1 = crs.transformer(crs.CGCS2000, 4547)
    assert t1 is crs.transformer(crs.CGCS2000, 4547)
    # Given lon first: (113.9, 29.72) must be understood as lon=113.9 even though EPSG:4490 is lat-first
    x, y = t1.transform(*CHIBI)
    assert x == pytest.approx(490_324.398, abs=0.01)
    assert y == pytest.approx(3_289_079.559, abs=0.01)


def test_given_unknown_epsg_when_transformer_then_crs_error() -> None:
    with pytest.raises(CRSError, match=r"cannot build transformation EPSG:999999 -> EPSG:4547"):
        crs.transformer(999999, 4547)


@settings(max_examples=300, deadline=None)
@given(lon=CHINA_LON, lat=CHINA_LAT)
def test_property_projection_round_trip_within_1e9_degrees(lon: float, lat: float) -> None:
    # Given any point of China, When projecting into its own GK zone and back,
    # Then lon/lat are recovered to 1e-9 degrees (always_xy on both legs)
    srid = crs.gk3_srid_for_longitude(lon)
    x, y = crs.lonlat_to_projected(lon, lat, srid)
    lon2, lat2 = crs.projected_to_lonlat(x, y, srid)
    assert abs(lon2 - lon) < 1e-9
    assert abs(lat2 - lat) < 1e-9


def test_given_arrays_when_projecting_then_matches_scalar_results() -> None:
    lons = np.array([113.9, 114.0, 114.3])
    lats = np.array([29.72, 29.8, 29.6])
    xs, ys = crs.lonlat_to_projected(lons, lats, 4547)
    assert isinstance(xs, np.ndarray)
    for i in range(3):
        assert (xs[i], ys[i]) == pytest.approx(crs.lonlat_to_projected(float(lons[i]), float(lats[i]), 4547))
    lon2, lat2 = crs.projected_to_lonlat(xs, ys, 4547)
    np.testing.assert_allclose(lon2, lons, atol=1e-9)
    np.testing.assert_allclose(lat2, lats, atol=1e-9)


def test_given_lonlat_when_gauss_kruger_xy_then_x_is_northing_and_y_is_easting() -> None:
    # Given the GIS (easting, northing) of Chibi
    easting, northing = crs.lonlat_to_projected(*CHIBI, 4547)
    # When asking for surveyor coordinates
    big_x, big_y = crs.gauss_kruger_xy(*CHIBI, 4547)
    # Then X = northing, Y = easting
    assert (big_x, big_y) == (northing, easting)
    assert big_x > 3e6 > big_y
    # And with the zone-prefixed SRID the Y (easting) starts with the zone number 38
    _, y_prefixed = crs.gauss_kruger_xy(*CHIBI, 4526)
    assert int(y_prefixed) // 1_000_000 == 38


def test_given_non_gk_srid_when_gauss_kruger_xy_then_crs_error() -> None:
    with pytest.raises(CRSError):
        crs.gauss_kruger_xy(*CHIBI, crs.WEB_MERCATOR)


def test_given_epsg4490_official_lat_lon_order_when_reordered_then_lon_lat() -> None:
    # Given a pair in EPSG:4490's official (lat, lon) order
    lat, lon = 29.72, 113.9
    # When reordering
    assert crs.from_epsg4490_official_order(lat, lon) == (113.9, 29.72)
    # Then projecting it with always_xy equals what PROJ gives for the authority (lat, lon) order
    official = Transformer.from_crs("EPSG:4490", "EPSG:4547", always_xy=False)
    northing, easting = official.transform(lat, lon)  # EPSG:4547 is also northing-first officially
    x, y = crs.lonlat_to_projected(*crs.from_epsg4490_official_order(lat, lon), 4547)
    assert (x, y) == pytest.approx((easting, northing), abs=1e-6)


def test_given_arrays_when_from_epsg4490_official_order_then_swapped_arrays() -> None:
    lons, lats = crs.from_epsg4490_official_order(np.array([29.7, 30.1]), np.array([113.9, 114.2]))
    np.testing.assert_array_equal(lons, [113.9, 114.2])
    np.testing.assert_array_equal(lats, [29.7, 30.1])


# ---------------------------------------------------------------------------
# GCJ-02 / BD-09
# ---------------------------------------------------------------------------

# Reference values of the published formula (identical to wandergis/coordtransform output).
GCJ_PAIRS = [
    # (wgs_lon, wgs_lat, gcj_lon, gcj_lat)
    (116.404, 39.915, 116.41024449916938, 39.91640428150164),
    # 天安门: what the published formula gives for WGS84 (116.391248, 39.907278)
    (116.391248, 39.907278, 116.39748912602302, 39.908679241533186),
]


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), GCJ_PAIRS)
def test_given_known_wgs84_when_to_gcj02_then_reference_value(
    wlon: float, wlat: float, glon: float, glat: float
) -> None:
    assert crs.wgs84_to_gcj02(wlon, wlat) == pytest.approx((glon, glat), abs=1e-9)
    assert crs.gcj02_to_wgs84(glon, glat) == pytest.approx((wlon, wlat), abs=1e-9)


def test_given_tiananmen_when_to_gcj02_then_within_1_5_m_of_commonly_published_value() -> None:
    # The widely quoted GCJ-02 (116.397499, 39.908675) is ~0.97 m from the formula result.
    glon, glat = crs.wgs84_to_gcj02(116.391248, 39.907278)
    assert distance_m(glon, glat, 116.397499, 39.908675) < 1.5


def test_given_gcj02_when_to_bd09_then_reference_values() -> None:
    # wandergis/coordtransform reference vector
    assert crs.gcj02_to_bd09(116.404, 39.915) == pytest.approx(
        (116.41036949371029, 39.92133699351021), abs=1e-12
    )
    # Tiananmen GCJ-02 -> BD-09 via the standard x_pi formula
    assert crs.gcj02_to_bd09(116.397499, 39.908675) == pytest.approx((116.403872, 39.915018), abs=1e-5)


def test_given_bd09_when_to_gcj02_then_close_to_closed_form_but_exactly_invertible() -> None:
    # The closed-form inverse (coordtransform) gives (116.39762729119315, 39.90865673957631): ~4 cm off.
    glon, glat = crs.bd09_to_gcj02(116.404, 39.915)
    assert (glon, glat) == pytest.approx((116.39762729119315, 39.90865673957631), abs=1e-6)
    blon, blat = crs.gcj02_to_bd09(glon, glat)
    assert abs(blon - 116.404) < 1e-9
    assert abs(blat - 39.915) < 1e-9


@pytest.mark.parametrize(("lon", "lat"), [(139.7, 35.7), (2.35, 48.85), (-74.0, 40.7), (150.0, -33.9)])
def test_given_point_outside_china_when_gcj02_either_way_then_unchanged(lon: float, lat: float) -> None:
    assert crs.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert crs.gcj02_to_wgs84(lon, lat) == (lon, lat)
    assert crs.to_wgs84(lon, lat, "gcj02") == (lon, lat)


@settings(max_examples=500, deadline=None)
@given(lon=CHINA_LON, lat=CHINA_LAT)
def test_property_wgs_gcj_wgs_round_trip_under_0_1_m(lon: float, lat: float) -> None:
    # Given any WGS84 point in China, When WGS84 -> GCJ-02 -> WGS84, Then error < 0.1 m
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    assert distance_m(lon, lat, glon, glat) > 1.0  # the offset really was applied
    wlon, wlat = crs.gcj02_to_wgs84(glon, glat)
    assert distance_m(lon, lat, wlon, wlat) < 0.1


@settings(max_examples=300, deadline=None)
@given(lon=CHINA_LON, lat=CHINA_LAT)
def test_property_gcj_bd_gcj_and_wgs_bd_wgs_round_trip_under_0_1_m(lon: float, lat: float) -> None:
    # Given any point in China, When GCJ-02 -> BD-09 -> GCJ-02 (and WGS84 -> BD-09 -> WGS84),
    # Then error < 0.1 m
    blon, blat = crs.gcj02_to_bd09(lon, lat)
    glon, glat = crs.bd09_to_gcj02(blon, blat)
    assert distance_m(lon, lat, glon, glat) < 0.1
    blon, blat = crs.wgs84_to_bd09(lon, lat)
    wlon, wlat = crs.bd09_to_wgs84(blon, blat)
    assert distance_m(lon, lat, wlon, wlat) < 0.1


def test_given_100k_random_points_when_round_tripped_vectorised_then_max_error_under_1_mm() -> None:
    rng = np.random.default_rng(20240601)
    lons = rng.uniform(73.4, 135.1, 100_000)
    lats = rng.uniform(3.8, 53.6, 100_000)
    for fwd, inv in ((crs.wgs84_to_gcj02, crs.gcj02_to_wgs84), (crs.wgs84_to_bd09, crs.bd09_to_wgs84)):
        back_lon, back_lat = inv(*fwd(lons, lats))
        assert float(np.max(distance_m(lons, lats, back_lon, back_lat))) < 1e-3


OFFSET_FUNCS: list[Callable[[Any, Any], tuple[Any, Any]]] = [
    crs.wgs84_to_gcj02,
    crs.gcj02_to_wgs84,
    crs.gcj02_to_bd09,
    crs.bd09_to_gcj02,
    crs.wgs84_to_bd09,
    crs.bd09_to_wgs84,
    lambda lon, lat: crs.to_wgs84(lon, lat, "gcj02"),
    lambda lon, lat: crs.to_wgs84(lon, lat, "bd09"),
    lambda lon, lat: crs.to_wgs84(lon, lat, "cgcs2000"),
]


@pytest.mark.parametrize("func", OFFSET_FUNCS)
def test_given_arrays_when_offset_functions_then_equal_scalar_results(
    func: Callable[[Any, Any], tuple[Any, Any]],
) -> None:
    # Given a mix of points inside and outside China (incl. NaN)
    lons = np.array([113.9, 116.404, 121.47, 87.6, 139.7, 2.35, math.nan])
    lats = np.array([29.72, 39.915, 31.23, 43.8, 35.7, 48.85, 30.0])
    before = lons.copy()
    # When converting the whole array and each point separately
    out_lon, out_lat = func(lons, lats)
    # Then the array result is a new float64 array equal to the scalar results
    assert isinstance(out_lon, np.ndarray)
    assert out_lon.dtype == np.float64
    assert out_lon.shape == lons.shape
    assert not np.shares_memory(out_lon, lons)
    np.testing.assert_array_equal(lons, before)
    for i in range(len(lons)):
        s_lon, s_lat = func(float(lons[i]), float(lats[i]))
        assert isinstance(s_lon, float)
        assert isinstance(s_lat, float)
        np.testing.assert_allclose([out_lon[i], out_lat[i]], [s_lon, s_lat], rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "expected_func"),
    [
        ("wgs84", None),
        ("WGS84", None),
        ("CGCS2000", None),
        ("gcj02", crs.gcj02_to_wgs84),
        ("GCJ-02", crs.gcj02_to_wgs84),
        ("Gcj02", crs.gcj02_to_wgs84),
        ("bd09", crs.bd09_to_wgs84),
        (" BD-09 ", crs.bd09_to_wgs84),
    ],
)
def test_given_coordinate_system_name_when_to_wgs84_then_dispatched(name: str, expected_func: Any) -> None:
    lon, lat = 116.41024449916938, 39.91640428150164
    expected = (lon, lat) if expected_func is None else expected_func(lon, lat)
    assert crs.to_wgs84(lon, lat, name) == expected


def test_given_unknown_coordinate_system_when_to_wgs84_then_crs_error_lists_valid_ones() -> None:
    with pytest.raises(CRSError) as exc:
        crs.to_wgs84(116.4, 39.9, "mercator")
    assert str(exc.value) == (
        "未知坐标系 'mercator'，可选: wgs84, cgcs2000, gcj02, bd09: "
        "unknown coordinate system 'mercator'; valid: wgs84, cgcs2000, gcj02, bd09"
    )


# ---------------------------------------------------------------------------
# Sanity checks
# ---------------------------------------------------------------------------

CHIBI_REGION = (113.5, 29.4, 114.3, 30.0)  # 赤壁市 bbox, expanded


def _raised(lon: float, lat: float, **kwargs: Any) -> CoordinateError:
    with pytest.raises(CoordinateError) as exc:
        crs.check_lonlat(lon, lat, **kwargs)
    return exc.value


def test_given_valid_point_when_check_lonlat_then_no_error() -> None:
    assert crs.check_lonlat(*CHIBI) is None
    assert crs.check_lonlat(*CHIBI, region_bbox=CHIBI_REGION) is None
    assert crs.check_lonlat(73.4, 53.6) is None  # bbox bounds are inclusive


def test_given_swapped_lat_lon_when_check_lonlat_then_swapped_code_and_message() -> None:
    # Given (29.7, 113.9) passed as (lon, lat) -- really 113.9E 29.7N
    err = _raised(29.7, 113.9)
    # Then
    assert err.code == "swapped_lat_lon"
    assert isinstance(err, ValueError)
    assert (err.lon, err.lat) == (29.7, 113.9)
    assert (
        str(err)
        == err.message
        == (
            "坐标疑似经纬度颠倒（纬度 113.9 超出范围）；交换后（经度 113.9，纬度 29.7）位于中国境内，"
            "请按“经度在前、纬度在后”提供: "
            "latitude/longitude appear swapped (latitude 113.9 is out of range); "
            "swapped (lon=113.9, lat=29.7) falls inside China -- give longitude first (x=lon, y=lat)"
        )
    )
    assert err.message.startswith(err.message_zh)
    assert err.message.endswith(err.message_en)


def test_given_swapped_pair_with_valid_latitude_when_check_lonlat_then_swapped_code() -> None:
    # Given (40.0, 80.0): latitude 80 is a valid latitude, but 40E/80N is not China while 80E/40N is
    err = _raised(40.0, 80.0)
    assert err.code == "swapped_lat_lon"
    assert err.message_zh.startswith("坐标疑似经纬度颠倒（经度 40 不在中国经度范围内）")
    assert "longitude 40 is outside China's longitude range" in err.message_en


def test_given_projected_metres_when_check_lonlat_then_looks_projected() -> None:
    err = _raised(490324.398412, 3289079.559324)
    assert err.code == "looks_projected"
    assert err.message == (
        "坐标疑似为投影坐标（单位：米）而非经纬度（x=490324.398412，y=3289079.559324）；"
        "请声明坐标系（如 EPSG:4547）或先转换为经纬度: "
        "coordinates look projected (metres), not longitude/latitude degrees "
        "(x=490324.398412, y=3289079.559324); declare the CRS (e.g. EPSG:4547) or convert to lon/lat first"
    )


def test_given_lon_over_180_when_check_lonlat_then_out_of_range() -> None:
    err = _raised(200.0, 30.0)
    assert err.code == "out_of_range"
    assert err.message == (
        "坐标超出经纬度有效范围（经度 200 应在 -180～180，纬度 30 应在 -90～90）: "
        "coordinates out of valid range (lon=200 must be within [-180, 180], lat=30 within [-90, 90])"
    )


def test_given_lat_under_minus_90_when_check_lonlat_then_out_of_range() -> None:
    assert _raised(114.0, -95.5).code == "out_of_range"


def test_given_paris_when_check_lonlat_then_outside_china() -> None:
    err = _raised(2.35, 48.85)
    assert err.code == "outside_china"
    assert err.message == (
        "坐标位于中国境外（经度 2.35，纬度 48.85；中国范围 经度 73.4～135.1，纬度 3.8～53.6）: "
        "coordinates fall outside China (lon=2.35, lat=48.85; China bbox lon 73.4 to 135.1, lat 3.8 to 53.6)"
    )


def test_given_point_outside_county_when_check_lonlat_with_region_then_outside_region() -> None:
    # Given a point in Beijing and the Chibi deployment bbox
    err = _raised(116.4, 39.9, region_bbox=CHIBI_REGION)
    assert err.code == "outside_region"
    assert err.message == (
        "坐标超出本辖区范围（经度 116.4，纬度 39.9；辖区范围 经度 113.5～114.3，纬度 29.4～30）: "
        "coordinates fall outside the deployment region (lon=116.4, lat=39.9; "
        "region bbox lon 113.5 to 114.3, lat 29.4 to 30)"
    )
    # And without a region bbox the same point is fine
    crs.check_lonlat(116.4, 39.9)


@pytest.mark.parametrize(("lon", "lat"), [(math.nan, 30.0), (114.0, math.inf)])
def test_given_non_finite_when_check_lonlat_then_not_finite(lon: float, lat: float) -> None:
    err = _raised(lon, lat)
    assert err.code == "not_finite"
    assert err.message_zh.startswith("坐标不是有效数值")
    assert err.message_en.startswith("coordinates are not finite numbers")


@pytest.mark.parametrize("bbox", [(114.3, 29.4, 113.5, 30.0), (113.5, 29.4, 114.3, math.nan)])
def test_given_malformed_region_bbox_when_check_then_value_error(
    bbox: tuple[float, float, float, float],
) -> None:
    with pytest.raises(ValueError, match="region_bbox must be"):
        crs.check_lonlat(*CHIBI, region_bbox=bbox)
    with pytest.raises(ValueError, match="region_bbox must be"):
        crs.check_lonlat_array([113.9], [29.72], region_bbox=bbox)


def test_coordinate_error_survives_pickle() -> None:
    err = _raised(29.7, 113.9)
    clone = pickle.loads(pickle.dumps(err))
    assert (clone.code, clone.message, clone.lon, clone.lat) == (err.code, err.message, err.lon, err.lat)


def test_given_mixed_rows_when_check_lonlat_array_then_bad_row_indices_and_codes() -> None:
    # Given rows: ok, swapped, ok, projected, None, Paris, lon 200, outside region
    lons = [113.9, 29.7, 114.1, 490324.4, None, 2.35, 200.0, 116.4]
    lats = [29.72, 113.9, 29.8, 3289079.6, 29.7, 48.85, 10.0, 39.9]
    # When checking the whole column
    errors = crs.check_lonlat_array(lons, lats, region_bbox=CHIBI_REGION)
    # Then every bad row is reported with its index, in order
    assert [(i, e.code) for i, e in errors] == [
        (1, "swapped_lat_lon"),
        (3, "looks_projected"),
        (4, "not_finite"),
        (5, "outside_china"),
        (6, "out_of_range"),
        (7, "outside_region"),
    ]
    # And the errors equal those of the scalar checker
    assert errors[0][1].message == _raised(29.7, 113.9).message


def test_given_all_good_or_empty_when_check_lonlat_array_then_no_errors() -> None:
    assert crs.check_lonlat_array(np.array([113.9, 114.0]), np.array([29.72, 29.8])) == []
    assert crs.check_lonlat_array(np.array([]), np.array([])) == []


def test_given_mismatched_shapes_when_check_lonlat_array_then_value_error() -> None:
    with pytest.raises(ValueError, match="1-D arrays of equal length"):
        crs.check_lonlat_array([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="1-D arrays of equal length"):
        crs.check_lonlat_array(np.zeros((2, 2)), np.zeros((2, 2)))


ANY_COORD = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-200, max_value=200),
    st.floats(min_value=73.0, max_value=136.0),
    st.floats(min_value=3.0, max_value=54.0),
)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(ANY_COORD, ANY_COORD), max_size=20))
def test_property_array_checker_agrees_with_scalar_checker(rows: list[tuple[float, float]]) -> None:
    # Given arbitrary rows, When checked as an array and one by one, Then the same rows/codes fail
    lons = [r[0] for r in rows]
    lats = [r[1] for r in rows]
    expected: list[tuple[int, str]] = []
    for i, (lon, lat) in enumerate(rows):
        try:
            crs.check_lonlat(lon, lat, region_bbox=CHIBI_REGION)
        except CoordinateError as err:
            expected.append((i, err.code))
    got = crs.check_lonlat_array(
        np.array(lons, dtype=float), np.array(lats, dtype=float), region_bbox=CHIBI_REGION
    )
    assert [(i, e.code) for i, e in got] == expected


# ---------------------------------------------------------------------------
# Purity
# ---------------------------------------------------------------------------


def test_importing_crs_does_not_import_django() -> None:
    # Given a fresh interpreter in the repo root, When importing the module, Then Django stays unloaded
    result = subprocess.run(
        [sys.executable, "-c", "import geo_mz.core.crs, sys; assert 'django' not in sys.modules"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_given_polygon_when_transform_geometry_roundtrips_then_vertices_return() -> None:
    import shapely

    poly = shapely.box(113.9, 29.72, 113.92, 29.74)
    projected = crs.transform_geometry(poly, crs.CGCS2000, 4547)
    assert 3.9e6 < projected.area < 4.5e6  # ~1.93 km × 2.22 km, in metres
    back = crs.transform_geometry(projected, 4547, crs.CGCS2000)
    assert back.equals_exact(poly, 1e-9)


def test_given_gcj02_polygon_when_converted_then_it_matches_the_wgs84_original() -> None:
    import shapely

    lon, lat = crs.wgs84_to_gcj02(113.9, 29.72)
    shifted = shapely.Point(lon, lat)
    restored = crs.geometry_to_wgs84(shifted, "gcj02")
    assert abs(restored.x - 113.9) < 1e-8 and abs(restored.y - 29.72) < 1e-8

"""Tests for geo_mz.boundaries.markers (pure: shapely + numpy + pyproj, no Django, no database).

Coordinates are EPSG:4547 (CGCS2000 3° GK zone 38, CM 114°E, no zone prefix) around 赤壁市:
eastings 450 000–560 000 m, northings 3 260 000–3 330 000 m.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString, Point

from geo_mz.boundaries import markers as mk
from geo_mz.boundaries.markers import (
    ACTIONS,
    CONDITIONS,
    MARKER_TYPE_LABELS,
    PHOTO_REQUIRED,
    BearingObject,
    MarkerCoordinateError,
    MarkerInput,
    MarkerNumber,
    MarkerType,
    QualityRules,
    check_bearings,
    check_markers,
    display_coordinates,
    grid_azimuth,
    grid_convergence,
    line_axis,
    marker_letters,
    marker_number,
    offset,
    parse_gk_xy,
    parse_gnss_point,
    parse_marker_number,
    place_markers,
    sequence_direction,
    sequence_markers,
    validate_finding,
)
from geo_mz.core import crs

SRID = 4547
LINE_CODE = "421221-421281"
E0, N0 = 500_000.0, 3_290_000.0
#: An east-west line digitised from east to west (so orientation matters), ~ 50 km long.
EW = LineString([(540_000, 3_292_000), (510_000, 3_290_000), (490_000, 3_291_000)])
#: A north-south line digitised from south to north.
NS = LineString([(470_000, 3_262_000), (471_000, 3_300_000), (469_000, 3_328_000)])


def num(seq: int, letter: str = "Q") -> str:
    return marker_number(LINE_CODE, seq, letter)


def on_line(line: LineString, chainage_from_start: float, dy: float = 0.0) -> Point:
    p = line.interpolate(chainage_from_start)
    return Point(p.x, p.y + dy)


# --------------------------------------------------------------------------- types, letters, numbers


def test_type_labels_and_letters() -> None:
    assert MARKER_TYPE_LABELS == {"single": "单立", "paired": "同号双立", "triple": "同号三立"}
    assert (MarkerType.SINGLE, MarkerType.PAIRED, MarkerType.TRIPLE) == ("single", "paired", "triple")
    assert mk.LETTER_TYPES == {
        "Q": "single",
        "A": "paired",
        "B": "paired",
        "C": "triple",
        "D": "triple",
        "E": "triple",
    }


def test_marker_letters_single() -> None:
    assert marker_letters("single", []) == ["Q"]
    assert marker_letters("single", ["421281"]) == ["Q"]
    assert marker_letters("single", ["421281", "421221"]) == ["Q", "Q"]


def test_marker_letters_paired_smaller_code_gets_a() -> None:
    assert marker_letters("paired", ["421221", "421281"]) == ["A", "B"]
    assert marker_letters("paired", ["421281", "421221"]) == ["B", "A"]
    # township codes (9 digits) of one county
    assert marker_letters("paired", ["421281102", "421281001"]) == ["B", "A"]


def test_marker_letters_triple_ascending() -> None:
    assert marker_letters("triple", ["421281", "421223", "421221"]) == ["E", "D", "C"]
    assert marker_letters("triple", ["421202", "421281", "421221"]) == ["C", "E", "D"]


def test_marker_letters_mixed_code_lengths_use_nbs_padding() -> None:
    # 421281 == 421281000000 sorts before 421281001 == 421281001000, and 430000 after both.
    assert marker_letters("triple", ["430000", "421281001", "421281"]) == ["E", "D", "C"]


@pytest.mark.parametrize(
    ("kind", "codes", "match"),
    [
        ("paired", ["421221"], "needs exactly 2"),
        ("paired", ["421221", "421281", "421223"], "needs exactly 2"),
        ("triple", ["421221", "421281"], "needs exactly 3"),
        ("paired", ["421221", "421221"], "repeated"),
        ("paired", ["421221", " "], "empty"),
        ("quad", ["421221"], "unknown marker type"),
    ],
)
def test_marker_letters_errors(kind: str, codes: list[str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        marker_letters(kind, codes)


def test_marker_number_format() -> None:
    assert marker_number("421221-421281", 3, "Q") == "421221-421281-003Q"
    assert marker_number("鄂湘", 12, "A") == "鄂湘-012A"
    assert marker_number("421221-421281", 1234, "E") == "421221-421281-1234E"


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("", 1, "Q"), "invalid line code"),
        (("4212 21", 1, "Q"), "invalid line code"),
        ((LINE_CODE, 0, "Q"), "integer >= 1"),
        ((LINE_CODE, 1.0, "Q"), "integer >= 1"),
        ((LINE_CODE, True, "Q"), "integer >= 1"),
        ((LINE_CODE, 1, "F"), "invalid type letter"),
        ((LINE_CODE, 1, "q"), "invalid type letter"),
    ],
)
def test_marker_number_errors(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        marker_number(*args)


def test_parse_marker_number() -> None:
    parsed = parse_marker_number(" 421221-421281-003Q ")
    assert parsed == ("421221-421281", 3, "Q")
    assert isinstance(parsed, MarkerNumber) and parsed.kind == "single"
    assert str(parsed) == "421221-421281-003Q"
    assert parse_marker_number("421221-421281-1000B") == ("421221-421281", 1000, "B")


@pytest.mark.parametrize(
    ("text", "zh", "en"),
    [
        ("", "界桩编号为空", "empty"),
        ("421221421281003Q", "缺少“-”", "no '-'"),
        ("-003Q", "缺少界线代码", "lacks the line code"),
        ("421221-421281-Q", "缺少序号", "lacks the three-digit sequence"),
        ("421221-421281-003", "缺少类型字母", "lacks the type letter"),
        ("421221-421281-003F", "类型字母 'F' 无效", "invalid type letter 'F'"),
        ("421221-421281-003q", "应大写", "upper case"),
        ("421221-421281-003QQ", "无效", "invalid type letter 'QQ'"),
        ("421221-421281-000Q", "序号为 0", "sequence 0"),
        ("421221-421281-3Q", "应写作 003", "must be written 003"),
        ("421221-421281-0003Q", "应写作 003", "must be written 003"),
    ],
)
def test_parse_marker_number_errors(text: str, zh: str, en: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_marker_number(text)
    assert zh in str(info.value) and en in str(info.value)


@given(
    line_code=st.from_regex(r"[0-9]{6}-[0-9]{6}", fullmatch=True),
    seq=st.integers(1, 5000),
    letter=st.sampled_from("QABCDE"),
)
def test_marker_number_round_trip(line_code: str, seq: int, letter: str) -> None:
    assert parse_marker_number(marker_number(line_code, seq, letter)) == (line_code, seq, letter)


# --------------------------------------------------------------------------- sequencing


def test_sequence_direction() -> None:
    assert sequence_direction(EW) == "west_east"
    assert sequence_direction(NS) == "north_south"
    square = LineString([(0, 0), (100, 100)])
    assert sequence_direction(square) == "west_east"  # width == height
    assert sequence_direction(EW, "north_south") == "north_south"
    with pytest.raises(ValueError, match="invalid sequencing direction"):
        sequence_direction(EW, "east_west")
    with pytest.raises(ValueError, match="empty"):
        sequence_direction(LineString())
    with pytest.raises(ValueError, match="LineString"):
        sequence_direction(Point(0, 0))


def test_sequence_west_to_east_on_reversed_line() -> None:
    pts = {
        "east": Point(539_000, 3_291_950),
        "west": Point(491_000, 3_291_000),
        "mid": Point(510_000, 3_290_010),
    }
    result = sequence_markers(EW, pts)
    assert [(s.key, s.seq) for s in result] == [("west", 1), ("mid", 2), ("east", 3)]
    assert result[0].chainage_m < result[1].chainage_m < result[2].chainage_m
    assert result[0].chainage_m == pytest.approx(1000 * 20_000 / math.hypot(20_000, 1_000))
    assert result[1].offset_m == pytest.approx(10, abs=0.5)


def test_sequence_north_to_south_on_reversed_line() -> None:
    pts = {"s": Point(470_100, 3_263_000), "n": Point(469_100, 3_327_000), "m": Point(471_000, 3_300_000)}
    result = sequence_markers(NS, pts)
    assert [s.key for s in result] == ["n", "m", "s"]
    assert [s.seq for s in result] == [1, 2, 3]
    assert result[1].offset_m == pytest.approx(0, abs=1e-6)


def test_sequence_direction_override() -> None:
    pts = {"a": Point(491_000, 3_291_000), "b": Point(539_000, 3_291_950)}
    # north_south on EW: start at the northern end (540000, 3292000) -> "b" first.
    assert [s.key for s in sequence_markers(EW, pts, direction="north_south")] == ["b", "a"]


def test_sequence_multilinestring_merged() -> None:
    # Two touching parts, one reversed: line_merge joins them into one 20 km line.
    ml = MultiLineString(
        [[(520_000, 3_290_000), (510_000, 3_290_000)], [(520_000, 3_290_000), (530_000, 3_290_000)]]
    )
    result = sequence_markers(ml, {"x": Point(525_000, 3_290_005), "w": Point(511_000, 3_290_000)})
    assert [(s.key, s.seq) for s in result] == [("w", 1), ("x", 2)]
    assert result[1].chainage_m == pytest.approx(15_000)


def test_sequence_multilinestring_disjoint_parts_accumulate_chainage() -> None:
    east = [(540_000, 3_290_000), (530_000, 3_290_000)]  # digitised east->west
    west = [(500_000, 3_290_000), (510_000, 3_290_000)]
    ml = MultiLineString([east, west])  # gap 510000..530000 is not counted
    axis = line_axis(ml)
    assert axis.length == pytest.approx(20_000)
    assert axis.starts == (0.0, 10_000.0)
    result = sequence_markers(ml, {"e": Point(535_000, 3_290_100), "w": Point(505_000, 3_289_900)})
    assert [(s.key, s.seq, round(s.chainage_m)) for s in result] == [("w", 1, 5_000), ("e", 2, 15_000)]
    assert axis.interpolate(15_000).equals(Point(535_000, 3_290_000))
    assert axis.tangent(15_000) == pytest.approx((1.0, 0.0))


def test_sequence_groups_share_a_number() -> None:
    line = LineString([(500_000, N0), (510_000, N0)])
    pts = {
        "q1": Point(501_000, N0),
        "a2": Point(503_000, N0 + 3),  # paired: both banks
        "b2": Point(503_010, N0 - 3),
        "q3": Point(505_000, N0),
        "q0": Point(500_100, N0),
    }
    result = sequence_markers(line, pts, group={"a2": "p", "b2": "p"})
    assert {s.key: s.seq for s in result} == {"q0": 1, "q1": 2, "a2": 3, "b2": 3, "q3": 4}
    assert [s.seq for s in result] == sorted(s.seq for s in result)


def test_sequence_empty_points() -> None:
    assert sequence_markers(EW, {}) == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(-200, 200)), min_size=1, max_size=25))
def test_sequence_property_monotone_with_chainage(samples: list[tuple[float, float]]) -> None:
    pts = {}
    for i, (frac, dy) in enumerate(samples):
        p = EW.interpolate(frac, normalized=True)
        pts[f"m{i}"] = Point(p.x, p.y + dy)
    result = sequence_markers(EW, pts)
    assert sorted(s.seq for s in result) == list(range(1, len(pts) + 1))
    assert sorted(s.key for s in result) == sorted(pts)
    chain = [s.chainage_m for s in result]  # result is in seq order
    assert all(a <= b for a, b in zip(chain, chain[1:], strict=False))
    assert all(0 <= c <= EW.length + 1e-6 for c in chain)


# --------------------------------------------------------------------------- conditions and findings


def test_conditions_and_actions() -> None:
    assert list(CONDITIONS) == ["intact", "damaged", "moved", "lost"]
    assert [label for label, _ in CONDITIONS.values()] == ["完好", "损坏", "移位", "丢失"]
    assert CONDITIONS["intact"][1].startswith("桩体完整、稳固，注记清晰，位置未变动 / ")
    assert CONDITIONS["damaged"][1].startswith("桩体破损、倾斜、松动或注记模糊，但位置未变 / ")
    assert CONDITIONS["moved"][1].startswith("桩体被移动，实测位置偏离登记位置超过限差 / ")
    assert CONDITIONS["lost"][1].startswith("桩体灭失或无法找到 / ")
    assert set(PHOTO_REQUIRED) == {"damaged", "moved", "lost"}
    assert ACTIONS == {
        "none": "无",
        "repainted": "描红",
        "repaired": "维修",
        "reset": "重新埋设",
        "reported": "上报待处理",
    }


def test_offset_three_metres() -> None:
    o = offset(Point(E0, N0), Point(E0 + 3, N0))
    assert o.distance_m == 3.0 and o.dx_m == 3.0 and o.dy_m == 0.0 and o.azimuth_deg == 90.0
    assert offset(Point(E0, N0), Point(E0, N0 - 2)).azimuth_deg == 180.0
    assert offset(Point(E0, N0), Point(E0 - 1, N0 + 1)).azimuth_deg == pytest.approx(315.0)
    assert offset(Point(E0, N0), Point(E0, N0)) == mk.Offset(0.0, 0.0, 0.0, 0.0)


@given(st.floats(-1000, 1000), st.floats(-1000, 1000))
def test_offset_property_hypot(dx: float, dy: float) -> None:
    o = offset(Point(E0, N0), Point(E0 + dx, N0 + dy))
    assert o.distance_m == pytest.approx(math.hypot(dx, dy), abs=1e-6)
    assert 0.0 <= o.azimuth_deg < 360.0
    if o.distance_m > 1e-3:
        az = math.radians(o.azimuth_deg)
        assert o.distance_m * math.sin(az) == pytest.approx(dx, abs=1e-6)
        assert o.distance_m * math.cos(az) == pytest.approx(dy, abs=1e-6)


def test_validate_finding_ok() -> None:
    rec = Point(E0, N0)
    assert validate_finding("intact", 0, None, rec) == []
    assert validate_finding("intact", 0, Point(E0 + 0.3, N0), rec) == []
    assert validate_finding("moved", 2, Point(E0 + 3, N0), rec) == []
    assert validate_finding("lost", 1, None, rec, action="reported") == []


def test_validate_finding_photo_required() -> None:
    problems = validate_finding("lost", 0, None, Point(E0, N0))
    assert [(p.field, p.severity) for p in problems] == [("photos", "error")]
    assert (
        problems[0].message == "状况为“丢失”时必须上传照片 / a photo is required when the condition is lost"
    )
    for condition in ("damaged", "moved"):
        fields = [p.field for p in validate_finding(condition, 0, Point(E0 + 3, N0), Point(E0, N0))]
        assert "photos" in fields


def test_validate_finding_unknown_condition() -> None:
    problems = validate_finding("broken", 1, None, Point(E0, N0))
    assert [(p.field, p.severity) for p in problems] == [("condition", "error")]
    assert "unknown condition 'broken'" in problems[0].message


def test_validate_finding_moved_needs_measurement() -> None:
    problems = validate_finding("moved", 1, None, Point(E0, N0))
    assert [(p.field, p.severity) for p in problems] == [("measured", "error")]


def test_validate_finding_intact_but_far_is_a_warning() -> None:
    problems = validate_finding("intact", 0, Point(E0 + 3, N0), Point(E0, N0))
    assert [(p.field, p.severity) for p in problems] == [("measured", "warning")]
    assert "3.00 米" in problems[0].message and "0.5" in problems[0].message
    # a larger tolerance accepts it
    assert validate_finding("intact", 0, Point(E0 + 3, N0), Point(E0, N0), moved_tolerance_m=5) == []
    assert validate_finding("damaged", 1, Point(E0 + 3, N0), Point(E0, N0))[0].severity == "warning"


def test_validate_finding_other_warnings_and_errors() -> None:
    rec = Point(E0, N0)
    assert [p.severity for p in validate_finding("moved", 1, Point(E0 + 0.1, N0), rec)] == ["warning"]
    assert [p.severity for p in validate_finding("lost", 1, Point(E0, N0), rec)] == ["warning"]
    assert [p.field for p in validate_finding("lost", 1, None, rec, action="repainted")] == ["action"]
    assert [p.field for p in validate_finding("intact", 0, None, rec, action="painted")] == ["action"]
    assert [p.field for p in validate_finding("intact", -1, None, rec)] == ["photos"]
    with pytest.raises(ValueError, match="moved_tolerance_m"):
        validate_finding("intact", 0, None, rec, moved_tolerance_m=0)


# --------------------------------------------------------------------------- coordinates

CHIBI_LON, CHIBI_LAT = 113.9, 29.72
CHIBI_E, CHIBI_N = crs.lonlat_to_projected(CHIBI_LON, CHIBI_LAT, SRID)


def test_parse_gnss_point() -> None:
    p = parse_gnss_point(CHIBI_LON, CHIBI_LAT, srid=SRID)
    assert p.x == pytest.approx(CHIBI_E) and p.y == pytest.approx(CHIBI_N)
    assert 450_000 < p.x < 560_000 and 3_260_000 < p.y < 3_330_000
    assert parse_gnss_point("113.9", "29.72", srid=SRID).equals(p)


def test_parse_gnss_point_swapped() -> None:
    with pytest.raises(MarkerCoordinateError) as info:
        parse_gnss_point(CHIBI_LAT, CHIBI_LON, srid=SRID)
    err = info.value
    assert err.code == "swapped_lat_lon"
    assert "经纬度颠倒" in str(err) and "swapped" in str(err) and "113.9" in str(err)
    assert err.values == (CHIBI_LAT, CHIBI_LON)
    assert isinstance(err, ValueError)


@pytest.mark.parametrize(
    ("lon", "lat", "code"),
    [
        (2.35, 48.85, "outside_china"),
        (float("nan"), 29.7, "not_finite"),
        ("abc", 29.7, "not_number"),
        (CHIBI_E, CHIBI_N, "looks_projected"),
        (125.0, 45.0, "outside_zone"),  # in China, but 11° east of CM 114°
    ],
)
def test_parse_gnss_point_errors(lon: object, lat: object, code: str) -> None:
    with pytest.raises(MarkerCoordinateError) as info:
        parse_gnss_point(lon, lat, srid=SRID)
    assert info.value.code == code


def test_parse_gnss_point_region() -> None:
    chibi = (113.5, 29.5, 114.3, 30.0)
    parse_gnss_point(CHIBI_LON, CHIBI_LAT, srid=SRID, region_bbox=chibi)
    with pytest.raises(MarkerCoordinateError) as info:
        parse_gnss_point(114.5, 30.6, srid=SRID, region_bbox=chibi)
    assert info.value.code == "outside_region"


def test_parse_gk_xy_ok() -> None:
    p = parse_gk_xy(CHIBI_N, CHIBI_E, srid=SRID)
    assert (p.x, p.y) == (CHIBI_E, CHIBI_N)  # X northing -> y, Y easting -> x


def test_parse_gk_xy_swapped() -> None:
    with pytest.raises(MarkerCoordinateError) as info:
        parse_gk_xy(CHIBI_E, CHIBI_N, srid=SRID)
    assert info.value.code == "swapped_xy"
    assert "X、Y 疑似填反" in str(info.value) and "appear swapped" in str(info.value)


def test_parse_gk_xy_zone_prefix_of_our_zone() -> None:
    with pytest.raises(MarkerCoordinateError) as info:
        parse_gk_xy(CHIBI_N, 38_000_000 + CHIBI_E, srid=SRID)
    err = info.value
    assert err.code == "zone_prefix"
    assert "带号前缀 38" in err.message_zh and "中央经线 114°E" in err.message_zh
    assert "zone prefix 38" in err.message_en and "CM 114E" in err.message_en
    assert f"Y = {CHIBI_E:.3f}" in err.message_en


def test_parse_gk_xy_wrong_zone() -> None:
    with pytest.raises(MarkerCoordinateError) as info:
        parse_gk_xy(CHIBI_N, 39_500_000, srid=SRID)
    err = info.value
    assert err.code == "wrong_zone"
    assert "第 39 带" in err.message_zh and "117°E" in err.message_zh and "第 38 带" in err.message_zh
    assert "zone 39 (CM 117E)" in err.message_en and "zone 38 (CM 114E)" in err.message_en
    with pytest.raises(MarkerCoordinateError) as info6:
        parse_gk_xy(CHIBI_N, 19_700_000, srid=SRID)  # 6° zone 19, CM 111°E
    assert info6.value.code == "wrong_zone" and "6-degree zone 19 (CM 111E)" in info6.value.message_en


@pytest.mark.parametrize("easting", [900_000.0, 100_000.0, -20_000.0, 8_500_000.0])
def test_parse_gk_xy_outside_zone(easting: float) -> None:
    with pytest.raises(MarkerCoordinateError) as info:
        parse_gk_xy(CHIBI_N, easting, srid=SRID)
    assert info.value.code == "outside_zone"
    assert "±350 千米" in info.value.message_zh and "114°E" in info.value.message_zh


def test_parse_gk_xy_other_errors() -> None:
    with pytest.raises(MarkerCoordinateError) as info:
        parse_gk_xy(30_000_000, CHIBI_E, srid=SRID)
    assert info.value.code == "out_of_range"
    with pytest.raises(MarkerCoordinateError) as info:
        parse_gk_xy(float("inf"), CHIBI_E, srid=SRID)
    assert info.value.code == "not_finite"
    with pytest.raises(crs.CRSError):
        parse_gk_xy(CHIBI_N, CHIBI_E, srid=3857)
    # region check catches a neighbouring-zone coordinate written without prefix
    with pytest.raises(MarkerCoordinateError) as info:
        parse_gk_xy(CHIBI_N, CHIBI_E + 200_000, srid=SRID, region_bbox=(113.5, 29.5, 114.3, 30.0))
    assert info.value.code == "outside_region"


def test_parse_gk_xy_prefixed_srid() -> None:
    srid = 4526  # zone 38 with prefix
    p = parse_gk_xy(CHIBI_N, 38_000_000 + CHIBI_E, srid=srid)
    assert p.x == pytest.approx(38_000_000 + CHIBI_E) and p.y == pytest.approx(CHIBI_N)
    with pytest.raises(MarkerCoordinateError) as info:
        parse_gk_xy(CHIBI_N, CHIBI_E, srid=srid)
    assert info.value.code == "missing_zone_prefix" and "38" in info.value.message_zh


def test_display_coordinates() -> None:
    d = display_coordinates(Point(CHIBI_E, CHIBI_N), SRID)
    assert set(d) == {"x_northing", "y_easting", "lon", "lat"}
    assert d["x_northing"] == round(CHIBI_N, 3) and d["y_easting"] == round(CHIBI_E, 3)
    assert d["lon"] == pytest.approx(CHIBI_LON, abs=1e-7) and d["lat"] == pytest.approx(CHIBI_LAT, abs=1e-7)
    assert d["lon"] == round(d["lon"], 7)
    prefixed = display_coordinates(Point(CHIBI_E, CHIBI_N), SRID, zone_prefix=True)
    assert prefixed["y_easting"] == round(38_000_000 + CHIBI_E, 3)
    # what is displayed parses back to the same point
    back = parse_gk_xy(d["x_northing"], d["y_easting"], srid=SRID)
    assert back.distance(Point(CHIBI_E, CHIBI_N)) < 1e-3


@settings(max_examples=30, deadline=None)
@given(st.floats(113.4, 114.4), st.floats(29.4, 30.0))
def test_gnss_gk_round_trip(lon: float, lat: float) -> None:
    p = parse_gnss_point(lon, lat, srid=SRID)
    d = display_coordinates(p, SRID)
    assert parse_gk_xy(d["x_northing"], d["y_easting"], srid=SRID).distance(p) < 2e-3
    assert d["lon"] == pytest.approx(lon, abs=2e-7) and d["lat"] == pytest.approx(lat, abs=2e-7)


# --------------------------------------------------------------------------- bearing objects


def bearing(
    marker: Point, name: str, az: float, dist: float, *, survey_az: float | None = None
) -> BearingObject:
    """A bearing object recorded at (az, dist) whose surveyed point lies at (survey_az or az, dist)."""
    a = math.radians(az if survey_az is None else survey_az)
    return BearingObject(name, az, dist, Point(marker.x + dist * math.sin(a), marker.y + dist * math.cos(a)))


MARKER = Point(505_000, 3_291_000)


def test_check_bearings_consistent() -> None:
    objs = [
        bearing(MARKER, "电杆", 30, 25),
        bearing(MARKER, "大樟树", 145.5, 40),
        bearing(MARKER, "水塔", 359.9, 80),
    ]
    assert check_bearings(MARKER, objs) == []
    assert grid_azimuth(MARKER, objs[1].point) == pytest.approx(145.5)


def test_check_bearings_mismatches() -> None:
    objs = [
        bearing(MARKER, "电杆", 30, 25, survey_az=35),
        BearingObject("大樟树", 90, 40, Point(MARKER.x + 42, MARKER.y)),
        bearing(MARKER, "水塔", 1, 80, survey_az=359.5),  # wraps through north: 1.5° apart, fine
    ]
    problems = check_bearings(MARKER, objs)
    assert [(p.code, p.index, p.name) for p in problems] == [
        ("azimuth_mismatch", 0, "电杆"),
        ("distance_mismatch", 1, "大樟树"),
    ]
    assert problems[0].value == pytest.approx(5.0) and problems[0].tolerance == 2.0
    assert problems[1].value == pytest.approx(2.0) and problems[1].severity == "error"
    assert check_bearings(MARKER, objs, azimuth_tol_deg=6, distance_tol_m=3) == []


def test_check_bearings_values_and_count() -> None:
    objs = [BearingObject("", 360, 10), BearingObject("电杆", -1, 0), BearingObject("桥", float("nan"), "x")]  # type: ignore[arg-type]
    codes = [(p.code, p.index) for p in check_bearings(MARKER, objs)]
    assert codes == [
        ("name_missing", 0),
        ("azimuth_range", 0),
        ("azimuth_range", 1),
        ("distance_range", 1),
        ("azimuth_range", 2),
        ("distance_range", 2),
    ]
    few = check_bearings(MARKER, [BearingObject("电杆", 10, 5)])
    assert [(p.code, p.severity, p.value) for p in few] == [("too_few", "warning", 1.0)]
    assert check_bearings(MARKER, [BearingObject("电杆", 10, 5)], min_objects=1) == []


def test_grid_convergence() -> None:
    assert grid_convergence(Point(500_000, 3_290_000), SRID) == pytest.approx(0.0, abs=1e-6)
    lon, lat = crs.projected_to_lonlat(548_000.0, 3_300_000.0, SRID)
    gamma = grid_convergence(Point(548_000, 3_300_000), SRID)
    assert gamma > 0  # east of the central meridian
    assert gamma == pytest.approx((lon - 114) * math.sin(math.radians(lat)), rel=0.01)
    assert grid_convergence(Point(452_000, 3_300_000), SRID) < 0


def test_check_bearings_true_azimuths_with_convergence() -> None:
    marker = Point(548_000, 3_300_000)
    gamma = grid_convergence(marker, SRID)
    # recorded true azimuths A; the surveyed objects lie at grid azimuth A - gamma, 500 m away
    objs = [
        BearingObject(name, a, 500, bearing(marker, name, a - gamma, 500).point)
        for name, a in (("塔", 10.0), ("桥", 120.0), ("庙", 250.0))
    ]
    assert check_bearings(marker, objs, grid_convergence_deg=gamma, azimuth_tol_deg=0.01) == []
    assert {p.code for p in check_bearings(marker, objs, azimuth_tol_deg=0.01)} == {"azimuth_mismatch"}


# --------------------------------------------------------------------------- quality rules


def test_quality_rules_from_dict() -> None:
    assert QualityRules.from_dict({}) == QualityRules()
    assert QualityRules.from_dict(None) == QualityRules()
    r = QualityRules.from_dict({"max_offset_m": 10, "disabled": ["BM05"], "direction": "north_south"})
    assert r.max_offset_m == 10 and r.disabled == ("BM05",) and r.direction == "north_south"
    assert QualityRules.from_dict(r.to_dict()) == r
    with pytest.raises(ValueError, match="unknown marker quality settings: max_offset"):
        QualityRules.from_dict({"max_offset": 10})


@pytest.mark.parametrize(
    "bad",
    [
        {"max_offset_m": 0},
        {"max_offset_m": "5"},
        {"order_tolerance_m": -1},
        {"tri_junction_tolerance_m": float("nan")},
        {"min_bearing_objects": 2.5},
        {"grid_convergence_deg": 45},
        {"direction": "up"},
        {"disabled": ["BM99"]},
        {"disabled": "BM05"},
    ],
)
def test_quality_rules_invalid(bad: dict) -> None:
    with pytest.raises(ValueError):
        QualityRules.from_dict(bad)


LINE = LineString([(500_000, N0), (510_000, N0 + 1_000)])  # ~10 km, sequenced west -> east
TJ = Point(510_000, N0 + 1_000)  # tri-junction at the east end
NO_BEARINGS = QualityRules(min_bearing_objects=0)


def clean_markers() -> list[MarkerInput]:
    """001Q west end, 002Q, 003A/003B (paired), 004Q, 005C/D/E (triple at the tri-junction)."""
    at = [0.0, 0.25, 0.5, 0.75, 1.0]
    pts = [LINE.interpolate(f, normalized=True) for f in at]
    return [
        MarkerInput("m1", num(1), "single", pts[0]),
        MarkerInput("m2", num(2), "single", pts[1]),
        MarkerInput("m3a", num(3, "A"), "paired", Point(pts[2].x, pts[2].y + 2)),
        MarkerInput("m3b", num(3, "B"), "paired", Point(pts[2].x, pts[2].y - 2)),
        MarkerInput("m4", num(4), "single", pts[3]),
        MarkerInput("m5c", num(5, "C"), "triple", pts[4]),
        MarkerInput("m5d", num(5, "D"), "triple", Point(pts[4].x - 2, pts[4].y + 1)),
        MarkerInput("m5e", num(5, "E"), "triple", Point(pts[4].x - 2, pts[4].y - 1)),
    ]


def replace(markers: list[MarkerInput], key: str, **changes: object) -> list[MarkerInput]:
    from dataclasses import replace as dc_replace

    return [dc_replace(m, **changes) if m.key == key else m for m in markers]


def rules_of(findings: list[mk.QualityFinding]) -> list[tuple[str, str, object]]:
    return [(f.rule, f.severity, f.marker_key) for f in findings]


def test_check_markers_clean() -> None:
    assert (
        check_markers(LINE, clean_markers(), tri_junctions=[TJ], rules=NO_BEARINGS, line_code=LINE_CODE) == []
    )


def test_bm00_malformed_or_other_line() -> None:
    ms = replace(clean_markers(), "m2", number="421221-421281-02Q")
    ms = replace(ms, "m4", number="421221-421223-004Q")
    findings = check_markers(LINE, ms, tri_junctions=[TJ], rules=NO_BEARINGS, line_code=LINE_CODE)
    assert rules_of(findings) == [("BM00", "error", "m2"), ("BM00", "error", "m4")]
    assert "应写作 002" in findings[0].message and "not this line's" in findings[1].message
    assert findings[0].title == "界桩编号格式错误或不属于本线"


def test_bm01_too_far_from_line() -> None:
    p = LINE.interpolate(0.25, normalized=True)
    ms = replace(clean_markers(), "m2", point=Point(p.x, p.y + 12))
    findings = check_markers(LINE, ms, tri_junctions=[TJ], rules=NO_BEARINGS)
    assert rules_of(findings) == [("BM01", "error", "m2")]
    f = findings[0]
    assert f.value == pytest.approx(12 * math.cos(math.atan2(1000, 10000)), abs=0.01) and f.tolerance == 5.0
    assert (
        check_markers(
            LINE, ms, tri_junctions=[TJ], rules=QualityRules(min_bearing_objects=0, max_offset_m=15)
        )
        == []
    )


def test_bm02_duplicates_and_mixed_types() -> None:
    ms = replace(clean_markers(), "m4", number=num(2))
    findings = check_markers(LINE, ms, tri_junctions=[TJ], rules=NO_BEARINGS)
    bm02 = [f for f in findings if f.rule == "BM02"]
    assert [f.marker_key for f in bm02] == ["m2", "m4"]
    assert "m4" in bm02[0].message and "m2" in bm02[1].message
    # 003Q next to 003A: one sequence used by a single and a paired marker
    ms = replace(clean_markers(), "m3b", number=num(3, "Q"), kind="single")
    bm02 = [f for f in check_markers(LINE, ms, tri_junctions=[TJ], rules=NO_BEARINGS) if f.rule == "BM02"]
    assert [f.marker_key for f in bm02] == ["m3a", "m3b"]
    assert "单立（Q）、同号双立（A/B）" in bm02[0].message


def test_bm03_out_of_order() -> None:
    # 002 placed beyond 004: exactly that marker is flagged (the longest ordered run is kept).
    ms = replace(clean_markers(), "m2", point=LINE.interpolate(0.85, normalized=True))
    findings = check_markers(LINE, ms, tri_junctions=[TJ], rules=NO_BEARINGS)
    assert rules_of(findings) == [("BM03", "error", "m2")]
    assert "应排第 4 位" in findings[0].message and "ranks 4" in findings[0].message
    assert findings[0].value == pytest.approx(0.85 * LINE.length)


def test_bm03_paired_group_counts_once_and_tolerance() -> None:
    # the two markers of 003 straddle 002's chainage slightly: their mean is what counts
    pts = [LINE.interpolate(c) for c in (0, 1000, 1002, 990, 3000)]
    ms = [
        MarkerInput("a", num(1), "single", pts[0]),
        MarkerInput("b", num(2), "single", pts[1]),
        MarkerInput("c1", num(3, "A"), "paired", pts[2]),
        MarkerInput("c2", num(3, "B"), "paired", pts[3]),
        MarkerInput("d", num(4), "single", pts[4]),
    ]
    findings = check_markers(LINE, ms, rules=NO_BEARINGS)
    assert rules_of(findings) == [("BM03", "error", "c1"), ("BM03", "error", "c2")]
    assert check_markers(LINE, ms, rules=QualityRules(min_bearing_objects=0, order_tolerance_m=5)) == []


def test_bm03_direction_override() -> None:
    ms = clean_markers()
    # numbered west->east; forcing north->south reverses the expected order on this line
    findings = check_markers(
        LINE, ms, tri_junctions=[TJ], rules=QualityRules(min_bearing_objects=0, direction="north_south")
    )
    assert {f.rule for f in findings} == {"BM03"}


def test_bm04_triple_not_at_tri_junction() -> None:
    far = Point(TJ.x - 100, TJ.y)
    findings = check_markers(LINE, clean_markers(), tri_junctions=[far], rules=NO_BEARINGS)
    assert rules_of(findings) == [
        ("BM04", "error", "m5c"),
        ("BM04", "error", "m5d"),
        ("BM04", "error", "m5e"),
    ]
    assert findings[0].value == pytest.approx(100) and findings[0].tolerance == 20.0
    none_known = check_markers(LINE, clean_markers(), rules=NO_BEARINGS)
    assert {(f.rule, f.severity) for f in none_known} == {("BM04", "warning")}
    assert check_markers(LINE, clean_markers(), tri_junctions=[(TJ.x - 10, TJ.y)], rules=NO_BEARINGS) == []


def test_bm05_bearings() -> None:
    ms = clean_markers()
    m1 = ms[0].point
    good = (bearing(m1, "电杆", 10, 20), bearing(m1, "树", 100, 30), bearing(m1, "桥", 200, 50))
    m2 = ms[1].point
    bad = (bearing(m2, "电杆", 10, 20), bearing(m2, "树", 100, 30, survey_az=110))
    ms = replace(ms, "m1", bearings=good)
    ms = replace(ms, "m2", bearings=bad)
    rules = QualityRules(min_bearing_objects=3)
    findings = [
        f for f in check_markers(LINE, ms, tri_junctions=[TJ], rules=rules) if f.marker_key in ("m1", "m2")
    ]
    assert rules_of(findings) == [("BM05", "warning", "m2"), ("BM05", "error", "m2")]
    assert findings[1].message.startswith(f"界桩 {num(2)}：")
    # default rules: every marker without three bearing objects gets a warning
    default = check_markers(LINE, clean_markers(), tri_junctions=[TJ])
    assert {(f.rule, f.severity) for f in default} == {("BM05", "warning")} and len(default) == 8


def test_bm06_letter_inconsistent_with_type() -> None:
    ms = replace(clean_markers(), "m3a", number=num(3, "Q"))
    ms = replace(ms, "m3b", kind="pair")
    findings = [f for f in check_markers(LINE, ms, tri_junctions=[TJ], rules=NO_BEARINGS) if f.rule == "BM06"]
    assert rules_of(findings) == [("BM06", "error", "m3a"), ("BM06", "error", "m3b")]
    assert "类型字母应为 A/B，实为 Q" in findings[0].message
    assert "unknown type 'pair'" in findings[1].message


def test_disabled_rules_and_order() -> None:
    ms = replace(clean_markers(), "m4", number=num(2))
    ms = replace(ms, "m1", point=Point(500_000, N0 + 30))
    findings = check_markers(LINE, ms, tri_junctions=[TJ], rules=NO_BEARINGS)
    assert [f.rule for f in findings] == ["BM01", "BM02", "BM02"]
    assert (
        check_markers(
            LINE, ms, tri_junctions=[TJ], rules=QualityRules(min_bearing_objects=0, disabled=("BM01", "BM02"))
        )
        == []
    )


def test_check_markers_errors() -> None:
    with pytest.raises(ValueError, match="empty"):
        check_markers(LineString(), clean_markers())
    with pytest.raises(ValueError, match="empty point"):
        check_markers(LINE, [MarkerInput("x", num(1), "single", Point())])
    assert check_markers(LINE, []) == []


# --------------------------------------------------------------------------- placement


def test_place_markers_ends_and_spacing() -> None:
    placed = place_markers(EW, spacing_m=3000)
    length = EW.length  # ~ 52.4 km
    assert [p.seq for p in placed] == list(range(1, len(placed) + 1))
    assert {p.kind for p in placed} == {"single"} and {p.letter for p in placed} == {"Q"}
    assert placed[0].point.equals(Point(490_000, 3_291_000))  # west end first
    assert placed[-1].point.equals(Point(540_000, 3_292_000))
    assert placed[-1].chainage_m == pytest.approx(length)
    gaps = [b.chainage_m - a.chainage_m for a, b in zip(placed, placed[1:], strict=False)]
    assert all(2000 <= g <= 4500 for g in gaps)
    assert len(placed) == round(length / 3000) + 1
    assert all(EW.distance(p.point) < 1e-6 for p in placed)


def test_place_markers_short_line() -> None:
    short = LineString([(500_000, N0), (500_800, N0)])
    placed = place_markers(short, spacing_m=3000)
    assert [(p.seq, p.chainage_m) for p in placed] == [(1, 0.0), (2, 800.0)]


def test_place_markers_tri_junctions_and_pairs() -> None:
    tj_end = Point(540_000, 3_292_000)
    tj_mid = Point(510_000, 3_290_030)  # 30 m off the line at the bend: snapped
    tj_far = Point(520_000, 3_300_000)  # far from the line: ignored
    placed = place_markers(EW, spacing_m=3000, tri_junctions=[tj_end, tj_mid, tj_far], paired_every=3)
    triples = [p for p in placed if p.kind == "triple"]
    assert [p.letter for p in triples] == ["C", "D", "E", "C", "D", "E"]
    assert len({p.seq for p in triples}) == 2 and triples[-1].seq == placed[-1].seq
    # the bend is at chainage 20 025 m; the 30 m offset shifts the projection by ~2 m
    assert triples[0].chainage_m == pytest.approx(math.hypot(20_000, 1_000), abs=3)
    assert triples[0].point.distance(tj_mid) < 31
    pairs = [p for p in placed if p.kind == "paired"]
    assert pairs and [p.letter for p in pairs] == ["A", "B"] * (len(pairs) // 2)
    for a, b in zip(pairs[::2], pairs[1::2], strict=True):
        assert a.seq == b.seq and a.point.distance(b.point) == pytest.approx(4.0)
    # numbers are consecutive and each number's letters are complete
    seqs = sorted({p.seq for p in placed})
    assert seqs == list(range(1, len(seqs) + 1))


def test_place_markers_deterministic_with_jitter() -> None:
    a = place_markers(NS, spacing_m=2000, jitter_m=3, rng_seed=7, paired_every=4)
    b = place_markers(NS, spacing_m=2000, jitter_m=3, rng_seed=7, paired_every=4)
    c = place_markers(NS, spacing_m=2000, jitter_m=3, rng_seed=8, paired_every=4)
    assert [(p.seq, p.letter, p.point.wkt) for p in a] == [(p.seq, p.letter, p.point.wkt) for p in b]
    assert [p.point.wkt for p in a] != [p.point.wkt for p in c]
    base = place_markers(NS, spacing_m=2000, paired_every=4)
    assert all(p.point.distance(q.point) <= 3 + 1e-9 for p, q in zip(a, base, strict=True))
    assert a[0].point.distance(Point(469_000, 3_328_000)) <= 3  # north end first


def test_placed_markers_pass_the_quality_rules() -> None:
    tj = [Point(540_000, 3_292_000), Point(490_000, 3_291_000)]
    placed = place_markers(EW, spacing_m=2500, tri_junctions=tj, paired_every=5, jitter_m=1.0, rng_seed=3)
    inputs = [
        MarkerInput(f"k{i}", marker_number(LINE_CODE, p.seq, p.letter), p.kind, p.point)
        for i, p in enumerate(placed)
    ]
    assert check_markers(EW, inputs, tri_junctions=tj, rules=NO_BEARINGS, line_code=LINE_CODE) == []
    # and sequencing the placed points reproduces their numbers
    groups = {f"k{i}": str(p.seq) for i, p in enumerate(placed)}
    seq = {
        s.key: s.seq
        for s in sequence_markers(EW, {f"k{i}": p.point for i, p in enumerate(placed)}, group=groups)
    }
    assert all(seq[f"k{i}"] == p.seq for i, p in enumerate(placed))


@pytest.mark.parametrize(
    "kwargs",
    [{"spacing_m": 0}, {"jitter_m": -1}, {"jitter_m": 1000}, {"paired_every": -1}, {"paired_every": 1.5}],
)
def test_place_markers_invalid(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        place_markers(EW, **kwargs)


@settings(max_examples=25, deadline=None)
@given(st.floats(200, 20_000), st.integers(0, 4), st.integers(0, 2**16))
def test_place_markers_property(spacing: float, paired_every: int, seed: int) -> None:
    placed = place_markers(
        NS, spacing_m=spacing, paired_every=paired_every, jitter_m=min(2.0, spacing / 8), rng_seed=seed
    )
    chain = [p.chainage_m for p in placed]
    assert chain == sorted(chain) and chain[0] == 0 and chain[-1] == pytest.approx(NS.length)
    by_seq: dict[int, list[str]] = {}
    for p in placed:
        by_seq.setdefault(p.seq, []).append(p.letter)
    assert sorted(by_seq) == list(range(1, len(by_seq) + 1))
    assert all(letters in (["Q"], ["A", "B"], ["C", "D", "E"]) for letters in by_seq.values())

"""Tests for geo_mz.addresses.numbering (pure: shapely + numpy, no Django, no database).

The acceptance road is the straight east–west line (0, 0)–(1000, 0): under the default ``beijing``
convention it is numbered from east to west (chainage = 1000 − x), with odd numbers on the north
side (y > 0).  Property tests use EPSG:4547-like coordinates around (500 000, 3 290 000).
"""

from __future__ import annotations

import math
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString

from geo_mz.addresses.numbering import (
    CONVENTIONS,
    SUFFIX_CAPACITY,
    SUFFIX_SCHEMES,
    Building,
    Convention,
    Entrance,
    Household,
    NumberingResult,
    NumberingRules,
    RoadGeometryError,
    check_road,
    compound_rooms,
    format_number,
    format_suffix,
    locate,
    number_compound,
    number_road,
    number_roads_bulk,
    number_village,
    parse_number,
    parse_suffix,
    path_length,
    renumber_impact,
    road_axis,
    skip_sequence,
    suffix_rank,
    village_path,
)

ROOT = Path(__file__).resolve().parents[2]
X0, Y0 = 500_000.0, 3_290_000.0
EW = LineString([(0, 0), (1000, 0)])


def north(chainage: float, key: str, number: int | None = None, suffix: str = "") -> Entrance:
    """Entrance 10 m north of the acceptance road at ``chainage`` from its east end."""
    return Entrance(key, 1000 - chainage, 10, number, suffix)


def south(chainage: float, key: str, number: int | None = None, suffix: str = "") -> Entrance:
    return Entrance(key, 1000 - chainage, -10, number, suffix)


def labels(result: NumberingResult) -> dict[str, str]:
    return {a.key: a.label for a in result.assignments}


def codes(findings) -> list[str]:
    return sorted(f.code for f in findings)


def test_module_does_not_import_django() -> None:
    code = (
        "import sys, geo_mz.addresses.numbering; "
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; assert not bad, bad"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------- suffixes


@pytest.mark.parametrize(
    ("scheme", "k", "suffix", "label"),
    [
        ("zhiyi", 1, "之一", "15之一"),
        ("zhiyi", 2, "之二", "15之二"),
        ("zhiyi", 10, "之十", "15之十"),
        ("zhiyi", 11, "之十一", "15之十一"),
        ("zhiyi", 21, "之二十一", "15之二十一"),
        ("dash", 1, "-1", "15-1"),
        ("dash", 12, "-12", "15-12"),
        ("jia", 1, "甲", "甲15"),
        ("jia", 2, "乙", "乙15"),
        ("jia", 10, "癸", "癸15"),
        ("letter", 1, "A", "15A"),
        ("letter", 2, "B", "15B"),
    ],
)
def test_suffix_formats(scheme: str, k: int, suffix: str, label: str) -> None:
    assert format_suffix(scheme, k) == suffix
    assert format_number(15, suffix, scheme) == label
    assert parse_suffix(suffix) == (scheme, k)
    assert suffix_rank(suffix) == k
    assert parse_number(label) == (15, suffix)


def test_suffix_edge_cases() -> None:
    assert format_number(15, "", "jia") == "15"
    assert parse_suffix("") == ("", 0) and suffix_rank("") == 0
    assert parse_suffix("b") == ("letter", 2)
    assert parse_suffix("－3") == ("dash", 3)
    with pytest.raises(ValueError, match="最多|只能"):
        format_suffix("jia", 11)
    with pytest.raises(ValueError):
        format_suffix("zhiyi", 0)
    with pytest.raises(ValueError, match="未知的门牌后缀方案"):
        format_suffix("roman", 1)
    with pytest.raises(ValueError, match="不属于"):
        format_number(15, "之一", "dash")


@pytest.mark.parametrize(
    "text", ["之零", "之", "之一一", "之一百", "-0", "-01", "-", "AA", "甲乙", "?", "１", "之1"]
)
def test_parse_suffix_rejects_impossible_suffixes(text: str) -> None:
    with pytest.raises(ValueError, match="不可识别的门牌后缀"):
        parse_suffix(text)


@pytest.mark.parametrize("text", ["甲15A", "abc", "0", "", "15甲"])
def test_parse_number_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="不可识别"):
        parse_number(text)


@given(st.sampled_from(SUFFIX_SCHEMES), st.integers(1, 500), st.integers(1, 9999))
def test_suffix_round_trip(scheme: str, k: int, number: int) -> None:
    capacity = SUFFIX_CAPACITY[scheme]
    if capacity is not None and k > capacity:
        with pytest.raises(ValueError):
            format_suffix(scheme, k)
        return
    suffix = format_suffix(scheme, k)
    assert parse_suffix(suffix) == (scheme, k)
    assert parse_number(format_number(number, suffix, scheme)) == (number, suffix)


# --------------------------------------------------------------------------- rules


def test_rules_from_dict_round_trip_and_merge() -> None:
    rules = NumberingRules.from_dict({"spacing_m": 15, "suffix_scheme": "dash", "skip_numbers": [14, 4, 13]})
    assert rules.skip_numbers == (4, 13, 14)
    assert NumberingRules.from_dict(rules.to_dict()) == rules
    road = rules.merged({"direction": "reverse", "spacing_m": None})
    assert (road.direction, road.spacing_m, road.suffix_scheme) == ("reverse", None, "dash")
    assert rules.merged(None) is rules


@pytest.mark.parametrize(
    ("d", "key"),
    [
        ({"spacing": 20}, "spacing"),
        ({"spacing_m": -3}, "spacing_m"),
        ({"spacing_m": "20"}, "spacing_m"),
        ({"convention": "paris"}, "convention"),
        ({"direction": "up"}, "direction"),
        ({"odd_side": "north"}, "odd_side"),
        ({"suffix_scheme": "roman"}, "suffix_scheme"),
        ({"max_offset_m": 0}, "max_offset_m"),
        ({"max_gap_m": math.nan}, "max_gap_m"),
        ({"dead_end": 1}, "dead_end"),
        ({"skip_numbers": [0]}, "skip_numbers"),
    ],
)
def test_rules_from_dict_names_the_bad_key(d: dict, key: str) -> None:
    with pytest.raises(ValueError, match=key):
        NumberingRules.from_dict(d)


def test_conventions() -> None:
    assert {"beijing", "south_west", "odd_left"} <= set(CONVENTIONS)
    beijing = CONVENTIONS["beijing"]
    assert (beijing.ew_start, beijing.ns_start, beijing.odd_side) == ("east", "north", "right")
    custom = Convention.from_dict({"code": "x", "label": "自西向东", "ew_start": "west"})
    assert custom.ns_start == "north"
    with pytest.raises(ValueError, match="ew_start"):
        Convention.from_dict({"code": "x", "label": "x", "ew_start": "up"})


# --------------------------------------------------------------------------- road axis


def test_acceptance_road_axis_and_locate() -> None:
    axis = road_axis(EW, NumberingRules())
    assert axis.direction == "east_west" and axis.odd_side == 1 and axis.length_m == 1000
    assert list(axis.line.coords) == [(1000, 0), (0, 0)]
    p_north, p_south = locate(axis, [north(100, "n"), south(250, "s")])
    assert (p_north.chainage_m, p_north.offset_m, p_north.side) == (100, 10, 1)  # north = right of westward
    assert (p_south.chainage_m, p_south.offset_m, p_south.side) == (250, 10, -1)


@pytest.mark.parametrize(
    ("convention", "direction", "first_odd"),
    [
        ("beijing", "north_south", (-10, 990)),  # from the north, odd on the west
        ("south_west", "south_north", (-10, 10)),  # from the south, odd on the left = west
        ("odd_left", "north_south", (10, 990)),  # from the north, odd on the left = east
    ],
)
def test_north_south_road(convention: str, direction: str, first_odd: tuple[float, float]) -> None:
    road = LineString([(0, 0), (0, 1000)])
    result = number_road(
        road,
        [Entrance("a", *first_odd), Entrance("b", -first_odd[0], first_odd[1])],
        NumberingRules(convention=convention),
    )
    assert result.axis.direction == direction
    assert labels(result) == {"a": "1", "b": "2"}


def test_south_west_and_odd_left_on_east_west_road() -> None:
    result = number_road(EW, [north(10, "n"), south(10, "s")], NumberingRules(convention="south_west"))
    assert result.axis.direction == "west_east"
    assert labels(result) == {"n": "99", "s": "100"}  # chainage from the west end is 990: slot 49
    result = number_road(EW, [north(10, "n"), south(10, "s")], NumberingRules(convention="odd_left"))
    assert labels(result) == {"n": "2", "s": "1"}


def test_explicit_direction_and_odd_side() -> None:
    forward = NumberingRules(direction="forward", spacing_m=None)
    result = number_road(EW, [Entrance("s", 10, -10), Entrance("n", 20, 10)], forward)
    assert result.axis.direction == "forward"
    assert labels(result) == {"s": "1", "n": "2"}  # eastward: right = south
    result = number_road(EW, [Entrance("s", 10, -10)], forward.merged({"odd_side": "left"}))
    assert labels(result) == {"s": "2"}
    assert road_axis(EW, NumberingRules(direction="reverse")).direction == "reverse"


def test_dead_end_numbers_from_the_entrance_inward() -> None:
    alley = LineString([(0, 0), (0, 100)])
    rules = NumberingRules(dead_end=True, spacing_m=None)
    houses = [Entrance("w", -5, 90), Entrance("e", 5, 90), Entrance("w2", -5, 60)]
    from_north = number_road(alley, houses, rules, entrance=(1, 103))
    assert from_north.axis.direction == "reverse"
    assert labels(from_north) == {"w": "1", "e": "2", "w2": "3"}  # southward: right = west
    from_south = number_road(alley, houses, rules, entrance=(0, -4))
    assert from_south.axis.direction == "forward"
    assert labels(from_south) == {"w2": "2", "w": "4", "e": "1"}  # northward: right = east
    assert number_road(alley, houses, rules).axis.direction == "forward"  # default: the road's start


def test_multilinestring_small_gap_is_bridged_in_any_part_order() -> None:
    rules = NumberingRules()
    for parts in (
        [[(0, 0), (400, 0)], [(410, 0), (1000, 0)]],
        [[(410, 0), (1000, 0)], [(0, 0), (400, 0)]],
        [[(0, 0), (400, 0)], [(1000, 0), (410, 0)]],
        [[(0, 0), (400, 0)], [(400, 0), (700, 0)], [(710, 0), (1000, 0)]],
    ):
        axis = road_axis(MultiLineString(parts), rules)
        assert axis.length_m == pytest.approx(1000)
        assert axis.direction == "east_west"
        assert axis.line.coords[0] == (1000, 0) and axis.line.coords[-1] == (0, 0)
    forward = road_axis(
        MultiLineString([[(1000, 0), (410, 0)], [(0, 0), (400, 0)]]), NumberingRules(direction="forward")
    )
    assert forward.line.coords[0] == (1000, 0)  # as the first part is digitised


def test_large_gap_is_an_error_with_its_length_and_place() -> None:
    with pytest.raises(RoadGeometryError) as err:
        road_axis(MultiLineString([[(0, 0), (400, 0)], [(500, 0), (1000, 0)]]), NumberingRules())
    assert err.value.code == "road_gap"
    assert err.value.gap_m == pytest.approx(100)
    assert "100.0 米" in err.value.message and "(450.0, 0.0)" in err.value.message
    assert err.value.location == (450, 0)


def test_loop_branch_and_empty() -> None:
    ring = LineString([(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)])
    with pytest.raises(RoadGeometryError) as err:
        road_axis(ring, NumberingRules())
    assert err.value.code == "road_loop"
    assert road_axis(ring, NumberingRules(direction="forward")).length_m == 400
    with pytest.raises(RoadGeometryError) as err:
        road_axis(ring, NumberingRules(dead_end=True))
    assert err.value.code == "road_loop"

    star = MultiLineString([[(0, 0), (100, 0)], [(100, 0), (200, 0)], [(100, 0), (100, 100)]])
    tee = MultiLineString([[(0, 0), (200, 0)], [(100, 0), (100, 100)]])
    for geom in (star, tee):
        with pytest.raises(RoadGeometryError) as err:
            road_axis(geom, NumberingRules())
        assert err.value.code == "road_branched"
        assert err.value.location == (100, 0)
    for geom in (LineString(), shapely.Point(0, 0)):
        with pytest.raises(RoadGeometryError) as err:
            road_axis(geom, NumberingRules())
        assert err.value.code == "road_empty"


def test_curved_road_uses_its_principal_axis() -> None:
    # A U-turn whose ends are close together: the long legs run east-west.
    u = LineString([(0, 0), (500, 0), (500, 40), (10, 40)])
    assert road_axis(u, NumberingRules()).direction == "east_west"


def test_side_around_a_bend() -> None:
    bend = LineString([(0, 0), (100, 0), (100, 100)])  # east, then north (forward)
    axis = road_axis(bend, NumberingRules(direction="forward"))
    sides = [
        p.side
        for p in locate(axis, [Entrance("in", 90, 10), Entrance("out", 110, -10), Entrance("far", 150, 50)])
    ]
    assert sides == [-1, 1, 1]  # inside the bend is left, outside right


# --------------------------------------------------------------------------- road numbering


def test_acceptance_spacing_reserves_numbers() -> None:
    entrances = [
        north(10, "n1"),
        north(30, "n2"),
        north(200, "n3"),
        south(10, "s1"),
        south(30, "s2"),
        south(200, "s3"),
    ]
    result = number_road(EW, entrances)
    assert labels(result) == {"n1": "1", "n2": "3", "n3": "21", "s1": "2", "s2": "4", "s3": "22"}
    assert {a.status for a in result.assignments} == {"new"} and result.findings == []
    # close entrances never share a number; numbers grow from east to west
    close = number_road(EW, [north(10, "a"), north(12, "b"), north(14, "c")])
    assert labels(close) == {"a": "1", "b": "3", "c": "5"}
    sequential = number_road(EW, entrances, NumberingRules(spacing_m=None))
    assert labels(sequential) == {"n1": "1", "n2": "3", "n3": "5", "s1": "2", "s2": "4", "s3": "6"}


@pytest.mark.parametrize(
    ("scheme", "first", "second"),
    [
        ("zhiyi", "15之一", "15之二"),
        ("dash", "15-1", "15-2"),
        ("jia", "甲15", "乙15"),
        ("letter", "15A", "15B"),
    ],
)
def test_acceptance_infill(scheme: str, first: str, second: str) -> None:
    rules = NumberingRules(suffix_scheme=scheme)
    existing = [north(290, "e15", 15), north(300, "e17", 17)]
    result = number_road(EW, [*existing, north(295, "new")], rules)
    by_key = result.by_key()
    assert by_key["new"].label == first and by_key["new"].status == "infill"
    assert by_key["new"].number == 15 and parse_suffix(by_key["new"].suffix) == (scheme, 1)
    assert (by_key["e15"].label, by_key["e15"].status) == ("15", "existing")
    assert (by_key["e17"].label, by_key["e17"].status) == ("17", "existing")
    # second infill: after the first one (now existing), or two at once in chainage order
    suffix = by_key["new"].suffix
    again = number_road(EW, [*existing, north(295, "i1", 15, suffix), north(297, "i2")], rules)
    assert labels(again)["i2"] == second
    both = number_road(EW, [*existing, north(296, "x"), north(293, "y")], rules)
    assert (labels(both)["y"], labels(both)["x"]) == (first, second)


def test_new_between_existing_takes_a_free_number() -> None:
    existing = [north(100, "a", 11), north(200, "b", 21)]
    by_slot = number_road(EW, [*existing, north(150, "n")])
    assert labels(by_slot)["n"] == "15"  # slot of 150 m: 2 * 7 + 1
    sequential = number_road(
        EW, [*existing, north(150, "n"), north(160, "m")], NumberingRules(spacing_m=None)
    )
    assert (labels(sequential)["n"], labels(sequential)["m"]) == ("13", "15")
    # the slot would be 21 or more for all three: keep order, leave room for the later ones
    crowded = number_road(
        EW, [north(100, "a", 11), north(400, "b", 19), *(north(300 + i, f"n{i}") for i in range(5))]
    )
    assert [labels(crowded)[f"n{i}"] for i in range(5)] == ["13", "15", "17", "17之一", "17之二"]


def test_after_existing_suffixes() -> None:
    existing = [north(290, "e15", 15), north(292, "e15a", 15, "之一"), north(300, "e17", 17)]
    result = number_road(EW, [*existing, north(295, "n"), north(291, "between")])
    assert labels(result)["n"] == "15之二"
    between = result.by_key()["between"]
    assert between.status == "rejected" and "15 号与 15之一 号之间" in between.reason
    assert codes(result.findings) == ["no_room"]


def test_no_room_before_the_first_number() -> None:
    result = number_road(EW, [north(100, "one", 1), north(50, "before")])
    before = result.by_key()["before"]
    assert before.status == "rejected" and before.number is None
    assert before.reason == "门牌 1 号之前没有可用号码，需编制更名/重编案件"
    assert [(f.code, f.severity, f.keys) for f in result.findings] == [("no_room", "error", ("before",))]
    # a free number below the first existing one is used
    assert labels(number_road(EW, [north(100, "five", 5), north(50, "before")]))["before"] == "3"


def test_suffixes_exhausted() -> None:
    existing = [north(100, "a", 1), north(200, "b", 3)]
    news = [north(101 + i, f"n{i}") for i in range(11)]
    result = number_road(EW, [*existing, *news], NumberingRules(suffix_scheme="jia"))
    assert labels(result)["n9"] == "癸1"
    assert result.by_key()["n10"].status == "rejected" and "已用尽" in result.by_key()["n10"].reason


def test_too_far() -> None:
    result = number_road(
        EW, [Entrance("far", 500, 183.2), Entrance("near", 500, 20), Entrance("old", 400, -150, 2)]
    )
    far = result.by_key()["far"]
    assert far.status == "rejected" and far.reason == "距道路 183.2 米，超过 120 米"
    assert result.by_key()["old"].status == "existing"
    assert sorted((f.code, f.severity, f.keys) for f in result.findings) == [
        ("too_far", "error", ("far",)),
        ("too_far", "warning", ("old",)),
    ]


def test_duplicate_keys_and_bad_entrances() -> None:
    with pytest.raises(ValueError, match="重复"):
        number_road(EW, [north(1, "a"), north(2, "a")])
    with pytest.raises(ValueError, match="不可识别的门牌后缀"):
        Entrance("a", 0, 0, 15, "之零")
    with pytest.raises(ValueError):
        Entrance("a", 0, 0, None, "之一")
    with pytest.raises(ValueError):
        Entrance("a", 0, 0, 0)


def test_check_road_findings() -> None:
    entrances = [
        north(10, "a", 1),
        north(20, "b", 3),
        north(30, "c", 3),  # duplicate of b
        south(40, "d", 9),  # odd on the even side
        north(50, "e", 7),
        north(60, "f", 5),  # decreasing
        north(500, "g", 99),  # jump 94 over 440 m: 2 * 22 + 2 = 46 allowed
        north(510, "h"),  # new entrances are not checked
    ]
    findings = check_road(EW, entrances)
    by_code = {f.code: f for f in findings}
    assert codes(findings) == ["duplicate", "gap_exceeds_reserve", "out_of_order", "wrong_parity"]
    assert by_code["duplicate"].keys == ("b", "c") and "门牌 3 重复" in by_code["duplicate"].message
    assert by_code["wrong_parity"].keys == ("d",) and by_code["wrong_parity"].severity == "error"
    assert "双号一侧" in by_code["wrong_parity"].message
    assert by_code["out_of_order"].keys == ("e", "f") and by_code["out_of_order"].severity == "warning"
    assert by_code["gap_exceeds_reserve"].keys == ("f", "g")
    assert "跳跃 94" in by_code["gap_exceeds_reserve"].message
    sequential = check_road(EW, [north(10, "a", 1), north(20, "b", 5)], NumberingRules(spacing_m=None))
    assert codes(sequential) == ["gap_exceeds_reserve"]
    assert check_road(EW, [north(10, "a", 1), north(20, "b", 3), north(23, "c", 3, "之一")]) == []


def test_duplicate_in_other_notation() -> None:
    findings = check_road(EW, [north(10, "a", 3, "之一"), north(20, "b", 3, "-1")])
    assert codes(findings) == ["duplicate"]


def test_renumber_and_impact() -> None:
    rules = NumberingRules(spacing_m=None)
    entrances = [
        north(10, "a", 1),
        north(20, "b", 5),
        north(30, "c", 5, "之一"),
        north(40, "d"),
        south(10, "e", 4),
    ]
    result = number_road(EW, entrances, rules, renumber=True)
    assert labels(result) == {"a": "1", "b": "3", "c": "5", "d": "7", "e": "2"}
    statuses = {a.key: a.status for a in result.assignments}
    assert statuses == {"a": "existing", "b": "renumbered", "c": "renumbered", "d": "new", "e": "renumbered"}
    assert renumber_impact(EW, entrances, rules) == [("e", "4", "2"), ("b", "5", "3"), ("c", "5之一", "5")]
    locked = [*entrances[:3], Entrance("d", 960, 10, 9, locked=True), entrances[4]]
    assert labels(number_road(EW, locked, rules, renumber=True))["d"] == "9"
    assert ("d", "9", "7") not in renumber_impact(EW, locked, rules)


def test_bulk_numbers_roads_and_reports_bad_geometry() -> None:
    gap = MultiLineString([[(0, 0), (400, 0)], [(500, 0), (1000, 0)]])
    results = number_roads_bulk(
        [("ok", EW, [north(10, "a")]), ("alley", EW, [north(10, "b")]), ("broken", gap, [north(10, "c")])],
        NumberingRules(),
        overrides={"alley": {"direction": "forward", "spacing_m": None}},
    )
    assert labels(results["ok"]) == {"a": "1"}
    assert labels(results["alley"]) == {"b": "2"}  # westward chainage 990; forward: north = left
    broken = results["broken"]
    assert broken.axis is None and broken.assignments[0].status == "rejected"
    assert [(f.code, f.keys) for f in broken.findings] == [("road_gap", ("c",))]


# --------------------------------------------------------------------------- properties


@st.composite
def roads(draw) -> LineString:
    """A straight road or a polyline with moderate turns, 100–2000 m, somewhere near (X0, Y0)."""
    x = X0 + draw(st.floats(-5000, 5000))
    y = Y0 + draw(st.floats(-5000, 5000))
    heading = draw(st.floats(0, 2 * math.pi))
    coords = [(x, y)]
    for _ in range(draw(st.integers(1, 5))):
        heading += draw(st.floats(-1.0, 1.0))
        step = draw(st.floats(100, 400))
        x, y = x + step * math.cos(heading), y + step * math.sin(heading)
        coords.append((x, y))
    return LineString(coords)


@st.composite
def scenarios(draw):
    """(road, entrances, rules): entrances on both sides, some with a valid pre-existing numbering
    (produced by numbering a random subset first), some too far from the road."""
    road = draw(roads())
    rules = NumberingRules(
        convention=draw(st.sampled_from(sorted(CONVENTIONS))),
        direction=draw(st.sampled_from(["auto", "forward", "reverse"])),
        spacing_m=draw(st.sampled_from([None, 10.0, 20.0, 35.0])),
        suffix_scheme=draw(st.sampled_from(SUFFIX_SCHEMES)),
    )
    n = draw(st.integers(1, 30))
    entrances = []
    for i in range(n):
        t = draw(st.floats(0, 1)) * road.length
        offset = draw(st.floats(1, 140)) * draw(st.sampled_from([-1, 1]))
        a, b = road.interpolate(max(t - 0.5, 0)), road.interpolate(min(t + 0.5, road.length))
        dx, dy = b.x - a.x, b.y - a.y
        norm = math.hypot(dx, dy)
        p = road.interpolate(t)
        entrances.append(Entrance(f"k{i:02d}", p.x - dy / norm * offset, p.y + dx / norm * offset))
    first = draw(st.lists(st.sampled_from(range(n)), unique=True, max_size=n))
    existing = number_road(road, [entrances[i] for i in first], rules).by_key()
    out = []
    for e in entrances:
        a = existing.get(e.key)
        out.append(Entrance(e.key, e.x, e.y, a.number, a.suffix) if a and a.number is not None else e)
    return road, out, rules


def assert_invariants(result: NumberingResult, entrances: list[Entrance]) -> None:
    axis = result.axis
    live = [a for a in result.assignments if a.status != "rejected"]
    # (1) parity matches side
    for a in live:
        assert a.number % 2 == (1 if a.side == axis.odd_side else 0), a
    # (2) strictly increasing (number, suffix rank) along each side
    for side in (1, -1):
        run = sorted((a for a in live if a.side == side), key=lambda a: (a.chainage_m, a.key))
        ranks = [(a.number, suffix_rank(a.suffix)) for a in run]
        assert all(p < q for p, q in zip(ranks, ranks[1:], strict=False)), run
    # (3) existing numbers never change
    by_key = result.by_key()
    for e in entrances:
        if e.number is not None:
            a = by_key[e.key]
            assert (a.number, a.suffix, a.status) == (e.number, e.suffix, "existing")
    # (4) no duplicate labels
    assert len({(a.number, suffix_rank(a.suffix)) for a in live}) == len(live)
    # rejected only for a stated reason, with a finding
    for a in result.assignments:
        if a.status == "rejected":
            assert a.reason and any(a.key in f.keys for f in result.findings)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.randoms(use_true_random=False))
def test_numbering_invariants(scenario, rnd: random.Random) -> None:
    road, entrances, rules = scenario
    result = number_road(road, entrances, rules)
    assert_invariants(result, entrances)
    assert not any(f.code in ("duplicate", "wrong_parity", "out_of_order") for f in result.findings)
    # (5) deterministic, whatever the order of the entrances
    shuffled = list(entrances)
    rnd.shuffle(shuffled)
    again = number_road(road, shuffled, rules)
    assert again.assignments == result.assignments
    assert sorted(map(repr, again.findings)) == sorted(map(repr, result.findings))


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_fresh_numbers_follow_the_slot_rule(scenario) -> None:
    road, entrances, rules = scenario
    fresh = [Entrance(e.key, e.x, e.y) for e in entrances]
    result = number_road(road, fresh, rules, renumber=True)
    for side in (1, -1):
        previous = None
        run = sorted(
            (a for a in result.assignments if a.side == side and a.status != "rejected"),
            key=lambda a: (a.chainage_m, a.key),
        )
        for a in run:
            first = 1 if side == result.axis.odd_side else 2
            lowest = previous + 2 if previous is not None else first
            slot = 2 * math.floor(a.chainage_m / rules.spacing_m) + first if rules.spacing_m else first
            assert (a.number, a.suffix, a.status) == (max(lowest, slot), "", "new")
            previous = a.number


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_renumber_impact_matches_renumbering(scenario) -> None:
    road, entrances, rules = scenario
    renumbered = number_road(road, entrances, rules, renumber=True).by_key()
    impact = {key: (old, new) for key, old, new in renumber_impact(road, entrances, rules)}
    for e in entrances:
        if e.number is None:
            continue
        a = renumbered[e.key]
        changed = (a.number, suffix_rank(a.suffix)) != (e.number, suffix_rank(e.suffix))
        assert (e.key in impact) == changed


@settings(max_examples=60, deadline=None)
@given(roads(), st.lists(st.tuples(st.floats(0, 1), st.floats(-100, 100)), min_size=1, max_size=40))
def test_locate_matches_per_point_projection(road: LineString, points) -> None:
    axis = road_axis(road, NumberingRules(direction="forward"))
    xy = [
        (axis.line.interpolate(t, normalized=True).x + d, axis.line.interpolate(t, normalized=True).y - d)
        for t, d in points
    ]
    placements = locate(axis, [Entrance(f"p{i}", x, y) for i, (x, y) in enumerate(xy)])
    for p, (x, y) in zip(placements, xy, strict=True):
        point = shapely.Point(x, y)
        assert p.chainage_m == pytest.approx(axis.line.project(point), abs=1e-6)
        assert p.offset_m == pytest.approx(axis.line.distance(point), abs=1e-6)


# --------------------------------------------------------------------------- compounds


def grid(rows: int = 3, cols: int = 3, dx: float = 40, dy: float = 50) -> list[Building]:
    """Row 0 is the northernmost; column 0 the westernmost; a little jitter in y within rows."""
    return [
        Building(f"r{r}c{c}", X0 + c * dx, Y0 - r * dy + (c % 2) * 3)
        for r in range(rows)
        for c in range(cols)
    ]


def test_compound_s_order() -> None:
    numbers = dict(number_compound(grid(), NumberingRules()))
    assert [numbers[f"r0c{c}"] for c in (2, 1, 0)] == [1, 2, 3]  # north row, east to west
    assert [numbers[f"r1c{c}"] for c in (0, 1, 2)] == [4, 5, 6]  # middle row, west to east
    assert [numbers[f"r2c{c}"] for c in (2, 1, 0)] == [7, 8, 9]
    order = [key for key, _ in number_compound(grid(), NumberingRules())]
    assert order[:4] == ["r0c2", "r0c1", "r0c0", "r1c0"]


def test_compound_skip_and_existing() -> None:
    skip = NumberingRules(skip_numbers=(4, 13, 14))
    assert [n for _, n in number_compound(grid(), skip)] == [1, 2, 3, 5, 6, 7, 8, 9, 10]
    buildings = [b if b.key != "r0c0" else Building(b.key, b.x, b.y, number=1) for b in grid()]
    numbers = dict(number_compound(buildings, skip))
    assert numbers["r0c0"] == 1 and numbers["r0c2"] == 2
    assert sorted(numbers.values()) == [1, 2, 3, 5, 6, 7, 8, 9, 10]
    assert number_compound([], skip) == []


def test_skip_sequence() -> None:
    assert skip_sequence(5, (4, 13, 14)) == [1, 2, 3, 5, 6]
    assert skip_sequence(3, (4,), start=3) == [3, 5, 6]
    assert skip_sequence(0, ()) == []


def test_compound_rooms() -> None:
    rooms = compound_rooms(
        Building("b", 0, 0, units=2, floors=5, rooms_per_floor=4), NumberingRules(skip_numbers=(4, 13, 14))
    )
    assert len(rooms) == 2 * 5 * 4
    assert rooms[:4] == [(1, 1, "101"), (1, 1, "102"), (1, 1, "103"), (1, 1, "105")]
    assert {floor for _, floor, _ in rooms} == {1, 2, 3, 5, 6}
    assert rooms[-1] == (2, 6, "605")
    tall = compound_rooms(
        Building("t", 0, 0, floors=16, rooms_per_floor=2), NumberingRules(skip_numbers=(4, 13, 14))
    )
    labels_ = [label for _, _, label in tall]
    assert "1001" in labels_ and "1502" in labels_ and "1801" in labels_
    assert not any(label.startswith(("4", "13", "14")) for label in labels_)
    plain = compound_rooms(Building("p", 0, 0, floors=4), NumberingRules())
    assert [label for _, _, label in plain] == ["101", "102", "201", "202", "301", "302", "401", "402"]
    with pytest.raises(ValueError):
        compound_rooms(Building("x", 0, 0, rooms_per_floor=100), NumberingRules())


# --------------------------------------------------------------------------- villages


def test_village_numbers_each_group_along_a_path() -> None:
    rng = np.random.default_rng(7)
    households = [
        Household(f"{g}{i}", X0 + float(x), Y0 + float(y), g)
        for g, offset in (("一组", 0), ("二组", 3000))
        for i, (x, y) in enumerate(rng.uniform(0, 800, size=(25, 2)) + offset)
    ]
    result = number_village(households)
    assert [g for _, g, _ in result] == ["一组"] * 25 + ["二组"] * 25  # sorted groups
    for group in ("一组", "二组"):
        numbers = [n for _, g, n in result if g == group]
        assert numbers == list(range(1, 26))
        first = next(k for k, g, n in result if g == group and n == 1)
        members = [h for h in households if h.group == group]
        assert first == max(members, key=lambda h: h.x + h.y).key  # most north-easterly
    seat = (X0 + 400, Y0 + 400)
    seated = number_village(households, seat=seat)
    first = next(k for k, g, n in seated if g == "一组" and n == 1)
    ones = [h for h in households if h.group == "一组"]
    assert first == min(ones, key=lambda h: math.hypot(h.x - seat[0], h.y - seat[1])).key


def test_village_keeps_existing_numbers() -> None:
    households = [
        Household("a", 0, 0, "组", 3),
        Household("b", 10, 0, "组"),
        Household("c", 20, 0, "组", 1),
        Household("d", 30, 0, "组"),
        Household("e", 40, 0, "组"),
    ]
    result = {k: n for k, _, n in number_village(households)}
    assert (result["a"], result["c"]) == (3, 1)
    assert (result["e"], result["d"], result["b"]) == (4, 5, 6)  # path from the east end


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 60), st.integers(0, 10_000))
def test_two_opt_never_lengthens_the_greedy_path(n: int, seed: int) -> None:
    points = np.random.default_rng(seed).uniform(0, 1000, size=(n, 2))
    greedy = village_path(points, 0, improve=False)
    improved = village_path(points, 0)
    assert improved[0] == 0 and sorted(improved.tolist()) == list(range(n))
    assert path_length(points, improved) <= path_length(points, greedy) + 1e-9


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(scenarios(), min_size=1, max_size=6))
def test_bulk_equals_road_by_road(batch) -> None:
    roads = [(f"road{i}", road, entrances) for i, (road, entrances, _) in enumerate(batch)]
    roads.append(("empty", EW, []))
    rules = batch[0][2]
    results = number_roads_bulk(roads, rules)
    for key, road, entrances in roads:
        single = number_road(road, entrances, rules)
        assert results[key].assignments == single.assignments
        assert results[key].findings == single.findings

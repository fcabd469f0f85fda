"""Tests of the synthetic road network of the demo county (gis_data.roads). No database, no Django:

.venv/bin/pytest tests/pure/test_demo_roads.py -q -p no:django

Network property guaranteed (and checked here): the segments form ONE connected planar graph -
two segments intersect only at end vertices they share with identical coordinates, distinct end
vertices are at least 1 m apart, and every segment is reachable from every other one (alleys
included). Ends with a single segment are dead ends (alley tips, village roads, street ends).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import numpy as np
import pytest
import shapely
from pypinyin import lazy_pinyin
from shapely.geometry import MultiLineString, shape

from gis_data import generate as gen
from gis_data import roads

REQUIRED_NAMES = (
    "中山路",
    "人民路",
    "赤壁大道",
    "蒲圻路",
    "陆水湖路",
    "金鸾大道",
    "河北大道",
    "沿河大道",
    "温泉路",
    "北站路",
    "赤马港路",
    "营里巷",
    "龙翔巷",
    "汪家巷",
    "木田巷",
    "北站一巷",
)
URBAN_CODES = {c for c, layout in gen.TOWNSHIP_LAYOUT.items() if layout[3] in gen.URBAN_CLASSES}
SEGMENT_KEYS = {"segment_id", "road_id", "road_class", "width_m", "township_code", "synthetic"}
ROAD_KEYS = {
    "road_id",
    "kind",
    "road_class",
    "width_m",
    "division_codes",
    "start_desc",
    "end_desc",
    "names",
    "synthetic",
}
NAME_KEYS = {
    "name",
    "specific",
    "generic",
    "approved_on",
    "decision_number",
    "approving_body",
    "retired_on",
    "meaning",
}
SIGN_KEYS = {"sign_id", "sign_type", "road_id", "text", "installed_on", "condition", "synthetic"}


@pytest.fixture(scope="module")
def network() -> roads.RoadNetwork:
    return roads.build_roads()


@pytest.fixture(scope="module")
def blobs(network) -> dict[str, bytes]:
    return roads.road_blobs(network)


@pytest.fixture(scope="module")
def segments(blobs) -> list[dict]:
    return json.loads(blobs[roads.SEGMENTS_FILE])["features"]


@pytest.fixture(scope="module")
def road_features(blobs) -> list[dict]:
    return json.loads(blobs[roads.ROADS_FILE])["features"]


@pytest.fixture(scope="module")
def signs(blobs) -> list[dict]:
    return json.loads(blobs[roads.SIGNS_FILE])["features"]


@pytest.fixture(scope="module")
def by_road(road_features) -> dict[str, dict]:
    return {f["properties"]["road_id"]: f for f in road_features}


@pytest.fixture(scope="module")
def townships() -> dict[str, object]:
    fc = json.loads((gen.DEMO_DIR / gen.TOWNSHIPS_FILE).read_text(encoding="utf-8"))
    return {f["properties"]["code"]: shape(f["geometry"]) for f in fc["features"]}


@pytest.fixture(scope="module")
def townships_metric(townships) -> dict[str, object]:
    return {code: gen.to_metric(g) for code, g in townships.items()}


@pytest.fixture(scope="module")
def segment_geoms(segments) -> list:
    return [shape(f["geometry"]) for f in segments]


@pytest.fixture(scope="module")
def segment_metric(segment_geoms) -> list:
    return list(gen.to_metric(np.array(segment_geoms, dtype=object)))


def _current(road: dict) -> dict:
    return road["properties"]["names"][-1]


# -- reproducibility -----------------------------------------------------------------------------


def test_build_twice_gives_identical_bytes(blobs):
    again = roads.road_blobs(roads.build_roads())
    for name, data in blobs.items():
        assert again[name] == data, name


def test_committed_files_match_a_fresh_build(network, blobs):
    for name, data in blobs.items():
        committed = gen.DEMO_DIR / name
        assert committed.exists(), f"{committed} missing: run python -m gis_data.roads"
        assert committed.read_bytes() == data, (
            f"{name} drifted from the generator: run python -m gis_data.roads"
        )
    manifest = json.loads((gen.DEMO_DIR / gen.MANIFEST_FILE).read_text(encoding="utf-8"))
    for name, data in blobs.items():
        assert manifest["files"][name] == hashlib.sha256(data).hexdigest(), name
    for key, value in network.counts.items():
        assert manifest["counts"][key] == value, key
    assert set(network.counts) == {
        "road_segments",
        "roads",
        "renamed_roads",
        "unnamed_alleys",
        "road_signs",
        "alley_signs",
    }


def test_coordinates_have_at_most_six_decimals(blobs):
    for name, data in blobs.items():
        text = data.decode("utf-8")
        assert not re.search(r"\d\.\d{7,}", text), name
        assert "e-" not in text.lower(), name


# -- counts ----------------------------------------------------------------------------------------


def test_exact_counts(network, segments, road_features, signs):
    unnamed_alleys = [
        f for f in segments if f["properties"]["road_class"] == "巷道" and f["properties"]["road_id"] is None
    ]
    assert len(unnamed_alleys) == 38
    assert sum(1 for s in signs if s["properties"]["sign_type"] == "路牌") == 49
    assert sum(1 for s in signs if s["properties"]["sign_type"] == "巷牌") == 66
    kinds = [f["properties"]["kind"] for f in road_features]
    assert 80 <= kinds.count("road") + kinds.count("street") <= 150
    assert 60 <= kinds.count("alley") <= 90
    renamed = sum(1 for f in road_features if len(f["properties"]["names"]) == 2)
    assert 0.10 <= renamed / len(road_features) <= 0.15
    assert network.counts == {
        "road_segments": len(segments),
        "roads": len(road_features),
        "renamed_roads": renamed,
        "unnamed_alleys": 38,
        "road_signs": 49,
        "alley_signs": 66,
    }


# -- segments --------------------------------------------------------------------------------------


def test_segment_properties(segments, by_road, townships):
    ids = [f["properties"]["segment_id"] for f in segments]
    assert ids == [f"S{k + 1:05d}" for k in range(len(segments))]
    for f in segments:
        p = f["properties"]
        assert set(p) == SEGMENT_KEYS
        assert p["synthetic"] is True
        assert p["road_class"] in roads.ROAD_CLASSES
        assert isinstance(p["width_m"], float) and p["width_m"] > 0
        assert p["township_code"] in townships
        if p["road_id"] is not None:
            road = by_road[p["road_id"]]["properties"]
            assert (p["road_class"], p["width_m"]) == (road["road_class"], road["width_m"])
        if p["road_class"] == "巷道":
            assert 4 <= p["width_m"] <= 8
        if p["road_class"] == "主干路":
            assert 40 <= p["width_m"] <= 60


def test_segments_are_valid_and_inside_their_township(
    segments, segment_geoms, segment_metric, townships, townships_metric
):
    county = shapely.union_all(list(townships_metric.values())).buffer(2.0)
    grown = {code: g.buffer(3.0) for code, g in townships_metric.items()}
    for f, geo, metric in zip(segments, segment_geoms, segment_metric, strict=True):
        code = f["properties"]["township_code"]
        assert geo.geom_type == "LineString"
        assert geo.is_valid and geo.is_simple and metric.length > 0.5, f["properties"]["segment_id"]
        assert county.covers(metric), f["properties"]["segment_id"]
        assert grown[code].covers(metric), f["properties"]["segment_id"]
        mid = geo.interpolate(0.5, normalized=True)
        assert townships[code].distance(mid) < 1e-6, f["properties"]["segment_id"]


def test_segments_meet_only_at_shared_end_vertices(segment_geoms):
    ends = [{g.coords[0], g.coords[-1]} for g in segment_geoms]
    tree = shapely.STRtree(segment_geoms)
    left, right = tree.query(segment_geoms, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        inter = shapely.intersection(segment_geoms[i], segment_geoms[j])
        parts = getattr(inter, "geoms", [inter])
        assert all(p.geom_type == "Point" for p in parts), (i, j, inter.wkt)
        shared = ends[i] & ends[j]
        for p in parts:
            assert (p.x, p.y) in shared, (i, j, p.wkt)


def test_distinct_end_vertices_are_at_least_a_metre_apart(segment_geoms):
    vertices = sorted({c for g in segment_geoms for c in (g.coords[0], g.coords[-1])})
    pts = gen.to_metric(shapely.points(np.array(vertices)))
    tree = shapely.STRtree(pts)
    left, right = tree.query(pts, predicate="dwithin", distance=1.0)
    assert all(i == j for i, j in zip(left.tolist(), right.tolist(), strict=True))


def test_network_is_one_connected_graph(segment_geoms):
    parent: dict = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for g in segment_geoms:
        a, b = find(g.coords[0]), find(g.coords[-1])
        if a != b:
            parent[a] = b
    roots = {find(c) for g in segment_geoms for c in (g.coords[0], g.coords[-1])}
    assert len(roots) == 1


def test_alleys_are_urban_single_segments_of_plausible_length(segments, segment_geoms, segment_metric):
    degree: dict = {}
    for g in segment_geoms:
        for c in (g.coords[0], g.coords[-1]):
            degree[c] = degree.get(c, 0) + 1
    per_road: dict[str, int] = {}
    for f, geo, metric in zip(segments, segment_geoms, segment_metric, strict=True):
        p = f["properties"]
        if p["road_class"] != "巷道":
            continue
        assert p["township_code"] in URBAN_CODES
        assert 60.0 <= metric.length <= 400.0, (p, metric.length)
        if p["road_id"] is None:
            # a dead-end spur off a street: one end on the street, the other free
            assert sorted(degree[c] for c in (geo.coords[0], geo.coords[-1])) == [1, 3]
        else:
            per_road[p["road_id"]] = per_road.get(p["road_id"], 0) + 1
    assert set(per_road.values()) == {1}


# -- named roads ------------------------------------------------------------------------------------


def test_road_properties_and_geometry(road_features, segments, segment_geoms):
    by_id: dict[str, list] = {}
    for f, g in zip(segments, segment_geoms, strict=True):
        if f["properties"]["road_id"]:
            by_id.setdefault(f["properties"]["road_id"], []).append((f["properties"], g))
    ids = [f["properties"]["road_id"] for f in road_features]
    assert ids == [f"R{k + 1:04d}" for k in range(len(ids))]
    assert set(by_id) == set(ids)
    for f in road_features:
        p = f["properties"]
        assert set(p) == ROAD_KEYS
        assert p["synthetic"] is True
        geom = shape(f["geometry"])
        assert isinstance(geom, MultiLineString) and geom.is_valid
        segs = by_id[p["road_id"]]
        assert p["division_codes"] == sorted({s["township_code"] for s, _ in segs})
        assert abs(geom.length - sum(g.length for _, g in segs)) < 1e-9
        assert all(geom.covers(g) for _, g in segs)
        assert p["start_desc"].startswith("起于") and len(p["start_desc"]) > 2
        assert p["end_desc"].startswith("止于") and len(p["end_desc"]) > 2
        current = _current(f)
        generic = current["generic"]
        assert (
            p["kind"]
            == {"大道": "road", "路": "road", "大街": "street", "街": "street", "巷": "alley"}[generic]
        )
        if generic == "大道":
            assert p["width_m"] >= 40, current["name"]
        elif generic == "巷":
            assert p["width_m"] < 12 and p["road_class"] == "巷道", current["name"]
        else:
            assert 12 <= p["width_m"] <= 40, current["name"]
        if p["kind"] == "alley":
            assert set(p["division_codes"]) <= URBAN_CODES


def test_required_names_are_present(road_features):
    current = {_current(f)["name"] for f in road_features}
    missing = [n for n in REQUIRED_NAMES if n not in current]
    assert not missing


def test_no_duplicate_homophone_or_near_duplicate_current_names(road_features):
    names = [_current(f)["name"] for f in road_features]
    assert len(names) == len(set(names))
    keys = ["".join(lazy_pinyin(_current(f)["specific"])) for f in road_features]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    # the homophone check of the naming workflow: 钟山路 sounds like exactly one current name
    assert [n for n, k in zip(names, keys, strict=True) if k == "".join(lazy_pinyin("钟山"))] == ["中山路"]
    # no specific inside another one, except the numbered alleys of a road (北站路 -> 北站一巷)
    specifics = {n: _current(f)["specific"] for n, f in zip(names, road_features, strict=True)}
    for a, sa in specifics.items():
        for b, sb in specifics.items():
            if a == b or sa not in sb:
                continue
            numbered = b.endswith("巷") and sb[len(sa) :] and all(c in roads.NUMERALS for c in sb[len(sa) :])
            assert sb.startswith(sa) and numbered, (a, b)


def test_name_histories_are_consistent(road_features):
    renamed = 0
    for f in road_features:
        names = f["properties"]["names"]
        assert 1 <= len(names) <= 2
        renamed += len(names) == 2
        for h in names:
            assert set(h) == NAME_KEYS
            assert h["specific"] + h["generic"] == h["name"] and h["specific"]
            assert h["generic"] in ("大道", "大街", "路", "街", "巷")
            assert h["approving_body"] == "赤壁市人民政府"
            approved = dt.date.fromisoformat(h["approved_on"])
            assert dt.date(1995, 1, 1) <= approved <= dt.date(2023, 12, 31)
            m = re.fullmatch(r"赤政函〔(\d{4})〕(\d+)号", h["decision_number"])
            assert m and int(m.group(1)) == approved.year, h["decision_number"]
            assert re.search(r"[\u4e00-\u9fff]", h["meaning"])
        assert names[-1]["retired_on"] is None
        for old, new in zip(names, names[1:], strict=False):
            assert old["retired_on"] == new["approved_on"]
            assert old["approved_on"] < new["approved_on"]
            assert old["name"] != new["name"]
            assert old["decision_number"] != new["decision_number"]
    assert 0.10 <= renamed / len(road_features) <= 0.15
    assert renamed >= 10
    by_name = {_current(f)["name"]: f["properties"]["names"] for f in road_features}
    assert [h["name"] for h in by_name["金鸾大道"]] == ["建设路", "金鸾大道"]


# -- signs -----------------------------------------------------------------------------------------------


def test_signs(signs, by_road, segments, segment_geoms):
    ids = [s["properties"]["sign_id"] for s in signs]
    assert ids == [f"P{k + 1:03d}" for k in range(len(signs))]
    # end vertices of each road that are road ends or junctions
    degree: dict = {}
    for g in segment_geoms:
        for c in (g.coords[0], g.coords[-1]):
            degree[c] = degree.get(c, 0) + 1
    road_geoms: dict[str, list] = {}
    for f, g in zip(segments, segment_geoms, strict=True):
        if f["properties"]["road_id"]:
            road_geoms.setdefault(f["properties"]["road_id"], []).append(g)
    outdated = 0
    in_2023 = 0
    for s in signs:
        p = s["properties"]
        assert set(p) == SIGN_KEYS and p["synthetic"] is True
        road = by_road[p["road_id"]]
        kind = road["properties"]["kind"]
        assert p["sign_type"] == ("巷牌" if kind == "alley" else "路牌")
        assert p["condition"] in ("完好", "破损", "缺失")
        names = road["properties"]["names"]
        shown = next(h for h in names if h["name"] == p["text"])
        installed = dt.date.fromisoformat(p["installed_on"])
        assert installed >= dt.date.fromisoformat(shown["approved_on"])
        if shown["retired_on"] is not None:
            outdated += 1
            assert installed < dt.date.fromisoformat(shown["retired_on"])
        in_2023 += installed.year == 2023
        point = gen.to_metric(shape(s["geometry"]))
        lines = road_geoms[p["road_id"]]
        metric = gen.to_metric(MultiLineString([list(g.coords) for g in lines]))
        assert metric.distance(point) <= 15.0, p
        spots = {c for g in lines for c in (g.coords[0], g.coords[-1]) if degree[c] != 2}
        spots |= {lines[0].coords[0], lines[-1].coords[-1]}
        near = min(point.distance(gen.to_metric(shapely.Point(c))) for c in spots)
        assert near <= 40.0, p
    assert outdated == 5
    assert in_2023 >= 0.7 * len(signs)


def test_homophone_helpers():
    assert roads.split_name("北站一巷") == ("北站一", "巷")
    assert roads.split_name("凤雏大街") == ("凤雏", "大街")
    assert roads.name_key("钟山路") == roads.name_key("中山路")
    with pytest.raises(RuntimeError):
        roads.check_names(["中山路", "钟山路"])
    assert roads.short_place_name("和尚岭社区居委会") == "和尚岭社区"
    assert roads.short_place_name("金潭村委会") == "金潭村"

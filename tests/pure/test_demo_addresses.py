"""Tests of the synthetic house-number demo inputs (gis_data.addresses). No database, no Django:

.venv/bin/pytest tests/pure/test_demo_addresses.py -q -p no:django

The layers are built fresh from the committed townships, villages and roads and compared with the
committed files; the geometric checks run in EPSG:4547 metres on the 6-decimal output.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon, shape

from gis_data import addresses
from gis_data import generate as gen

REPO = Path(__file__).resolve().parents[2]
URBAN_STREETS = {"421281001", "421281002", "421281003"}
ENTRANCE_KEYS = {"entrance_id", "road_id", "township_code", "footprint", "use", "synthetic"}
COMPOUND_KEYS = {"compound_id", "name", "township_code", "road_id", "gate", "synthetic"}
BUILDING_KEYS = {"building_id", "compound_id", "units", "floors", "rooms_per_floor", "synthetic"}
HOUSEHOLD_KEYS = {"household_id", "village_code", "group", "campaign", "synthetic"}
REQUEST_KEYS = {
    "request_id",
    "target",
    "owner",
    "owner_kind",
    "id_hint",
    "previous_address",
    "previous_source",
    "applied_on",
    "issued_on",
}
COUNT_KEYS = {
    "address_entrances",
    "compounds",
    "compound_buildings",
    "rural_households",
    "rural_villages_numbered",
    "certificate_requests",
}
HAN = re.compile(r"^[\u4e00-\u9fff]+$")


def _metric(geoms) -> list:
    return list(gen.to_metric(np.array(list(geoms), dtype=object)))


@pytest.fixture(scope="module")
def data() -> addresses.AddressData:
    return addresses.build_addresses()


@pytest.fixture(scope="module")
def blobs(data) -> dict[str, bytes]:
    return addresses.address_blobs(data)


def _features(blobs, name) -> list[dict]:
    return json.loads(blobs[name])["features"]


@pytest.fixture(scope="module")
def entrances(blobs) -> list[dict]:
    return _features(blobs, addresses.ENTRANCES_FILE)


@pytest.fixture(scope="module")
def compounds(blobs) -> list[dict]:
    return _features(blobs, addresses.COMPOUNDS_FILE)


@pytest.fixture(scope="module")
def buildings(blobs) -> list[dict]:
    return _features(blobs, addresses.BUILDINGS_FILE)


@pytest.fixture(scope="module")
def households(blobs) -> list[dict]:
    return _features(blobs, addresses.HOUSEHOLDS_FILE)


@pytest.fixture(scope="module")
def requests(blobs) -> list[dict]:
    return json.loads(blobs[addresses.REQUESTS_FILE])


@pytest.fixture(scope="module")
def inputs() -> tuple[dict, dict, dict, dict]:
    return addresses.read_address_inputs()


@pytest.fixture(scope="module")
def townships(inputs) -> dict[str, dict]:
    return {
        f["properties"]["code"]: {**f["properties"], "geom": shape(f["geometry"])}
        for f in inputs[0]["features"]
    }


@pytest.fixture(scope="module")
def villages(inputs) -> dict[str, dict]:
    return {
        f["properties"]["code"]: {**f["properties"], "geom": shape(f["geometry"])}
        for f in inputs[1]["features"]
    }


@pytest.fixture(scope="module")
def segments(inputs) -> tuple[np.ndarray, np.ndarray]:
    feats = inputs[2]["features"]
    lines = np.array(_metric(shape(f["geometry"]) for f in feats), dtype=object)
    return lines, np.array([f["properties"]["width_m"] / 2 for f in feats])


@pytest.fixture(scope="module")
def roads(inputs) -> dict[str, dict]:
    out = {}
    for f in inputs[3]["features"]:
        out[f["properties"]["road_id"]] = {
            **f["properties"],
            "line": gen.to_metric(shape(f["geometry"])),
        }
    return out


@pytest.fixture(scope="module")
def entrance_points(entrances) -> list[Point]:
    return _metric(shape(f["geometry"]) for f in entrances)


@pytest.fixture(scope="module")
def footprints(entrances) -> list[Polygon]:
    return _metric(Polygon(f["properties"]["footprint"][0]) for f in entrances)


@pytest.fixture(scope="module")
def compound_polys(compounds) -> list[Polygon]:
    return _metric(shape(f["geometry"]) for f in compounds)


@pytest.fixture(scope="module")
def building_polys(buildings) -> list[Polygon]:
    return _metric(shape(f["geometry"]) for f in buildings)


# -- reproducibility and format ------------------------------------------------------------------


def test_build_twice_gives_identical_bytes(blobs):
    again = addresses.address_blobs(addresses.build_addresses())
    assert set(again) == set(addresses.ADDRESS_FILES)
    for name, blob in blobs.items():
        assert again[name] == blob, name


def test_committed_files_match_a_fresh_build(data, blobs):
    for name, blob in blobs.items():
        committed = gen.DEMO_DIR / name
        assert committed.exists(), f"{committed} missing: run python -m gis_data.generate"
        assert committed.read_bytes() == blob, (
            f"{name} drifted from the generator: run python -m gis_data.generate"
        )
    manifest = json.loads((gen.DEMO_DIR / gen.MANIFEST_FILE).read_text(encoding="utf-8"))
    for name, blob in blobs.items():
        assert manifest["files"][name] == hashlib.sha256(blob).hexdigest(), name
    assert set(data.counts) == COUNT_KEYS
    for key, value in data.counts.items():
        assert manifest["counts"][key] == value, key


def test_geojson_format_ids_and_synthetic_flag(blobs, data):
    id_keys = {
        addresses.ENTRANCES_FILE: ("entrance_id", r"E\d{5}", ENTRANCE_KEYS, "Point"),
        addresses.COMPOUNDS_FILE: ("compound_id", r"C\d{3}", COMPOUND_KEYS, "Polygon"),
        addresses.BUILDINGS_FILE: ("building_id", r"C\d{3}-B\d{2}", BUILDING_KEYS, "Polygon"),
        addresses.HOUSEHOLDS_FILE: ("household_id", r"H\d{5}", HOUSEHOLD_KEYS, "Point"),
    }
    for name, (key, pattern, keys, geom_type) in id_keys.items():
        text = blobs[name].decode("utf-8")
        assert not re.search(r"\d\.\d{7,}", text), name
        fc = json.loads(text)
        assert fc["type"] == "FeatureCollection"
        assert fc["crs"] == {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}
        ids = [f["properties"][key] for f in fc["features"]]
        assert ids == sorted(ids) and len(set(ids)) == len(ids), name
        for f in fc["features"]:
            assert set(f["properties"]) == keys, name
            assert f["properties"]["synthetic"] is True, name
            assert f["geometry"]["type"] == geom_type, name
            assert re.fullmatch(pattern, f["properties"][key]), f["properties"][key]
    # entrance ids and household ids run without gaps
    assert [f["properties"]["entrance_id"] for f in data.entrances] == [
        f"E{k + 1:05d}" for k in range(len(data.entrances))
    ]
    assert [f["properties"]["household_id"] for f in data.households] == [
        f"H{k + 1:05d}" for k in range(len(data.households))
    ]


def test_counts_in_range(data, entrances, compounds, buildings, households, requests):
    assert 2500 <= len(entrances) <= 3500
    assert 12 <= len(compounds) <= 16
    per_compound = Counter(f["properties"]["compound_id"] for f in buildings)
    assert set(per_compound) == {f["properties"]["compound_id"] for f in compounds}
    assert all(4 <= n <= 16 for n in per_compound.values()), per_compound
    assert 6 <= len({f["properties"]["village_code"] for f in households}) <= 8
    assert 250 <= len(requests) <= 350
    assert data.counts == {
        "address_entrances": len(entrances),
        "compounds": len(compounds),
        "compound_buildings": len(buildings),
        "rural_households": len(households),
        "rural_villages_numbered": len(
            {f["properties"]["village_code"] for f in households if f["properties"]["campaign"] == "done"}
        ),
        "certificate_requests": len(requests),
    }


def test_addresses_module_does_not_import_django():
    code = (
        "import sys, gis_data.addresses; "
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; assert not bad, bad"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# -- entrances -------------------------------------------------------------------------------------


def test_entrances_lie_near_their_named_road(entrances, entrance_points, roads, townships):
    assert {f["properties"]["use"] for f in entrances} <= set(addresses.USES)
    assert {"住宅", "商铺", "单位", "学校"} <= {f["properties"]["use"] for f in entrances}
    road_ids = sorted(roads)
    tree = shapely.STRtree([roads[r]["line"] for r in road_ids])
    metric_towns = {c: gen.to_metric(t["geom"]) for c, t in townships.items()}
    for f, pt in zip(entrances, entrance_points, strict=True):
        p = f["properties"]
        road = roads[p["road_id"]]
        assert road["kind"] in ("road", "street", "alley")
        d_own = pt.distance(road["line"])
        assert d_own <= addresses.MAX_ROAD_DISTANCE_M
        assert road["width_m"] / 2 + 1.0 <= d_own <= road["width_m"] / 2 + 25.5, p["entrance_id"]
        # strictly closer to its own road than to any other named road
        for k in tree.query(pt, predicate="dwithin", distance=d_own):
            assert road_ids[int(k)] == p["road_id"], (p["entrance_id"], road_ids[int(k)])
        assert p["township_code"] in road["division_codes"]
        assert metric_towns[p["township_code"]].contains(pt), p["entrance_id"]


def _side_and_chainage(line, pt: Point) -> tuple[int, float]:
    s = line.project(pt)
    a = np.array(line.interpolate(max(s - 1.0, 0.0)).coords[0])
    b = np.array(line.interpolate(min(s + 1.0, line.length)).coords[0])
    v = np.array(pt.coords[0]) - a
    t = b - a
    return (1 if t[0] * v[1] - t[1] * v[0] > 0 else -1), s


def test_both_sides_are_numbered_with_irregular_and_wide_gaps(entrances, entrance_points, roads):
    by_side: dict[tuple[str, int], list[float]] = defaultdict(list)
    for f, pt in zip(entrances, entrance_points, strict=True):
        rid = f["properties"]["road_id"]
        side, s = _side_and_chainage(roads[rid]["line"], pt)
        by_side[(rid, side)].append(s)
    renmin = next(rid for rid, r in roads.items() if r["names"][-1]["name"] == "人民路")
    assert renmin == "R0016"
    assert len(by_side[(renmin, 1)]) >= 20 and len(by_side[(renmin, -1)]) >= 20
    gaps = np.concatenate([np.diff(sorted(v)) for v in by_side.values() if len(v) > 1])
    assert (gaps >= 100.0).sum() >= 100  # spacing-based reserved numbers show
    assert np.std(gaps[gaps < 100.0]) > 5.0  # irregular spacing
    both = {rid for rid, _ in by_side if (rid, 1) in by_side and (rid, -1) in by_side}
    assert len(both) >= 100


def test_footprints_are_valid_disjoint_and_off_the_roads(entrances, entrance_points, footprints, segments):
    lines, half = segments
    for f, pt, fp in zip(entrances, entrance_points, footprints, strict=True):
        ring = f["properties"]["footprint"]
        assert len(ring) == 1 and len(ring[0]) == 5 and ring[0][0] == ring[0][-1]
        assert fp.is_valid and not fp.contains(pt)
        assert Polygon(ring[0]).exterior.is_ccw
        rect = np.asarray(fp.exterior.coords)
        sides = np.hypot(*np.diff(rect, axis=0).T)
        assert np.all((sides > 8.0 - 0.3) & (sides < 30.0 + 0.3)), f["properties"]["entrance_id"]
        # set back 5-20 m behind the entrance (a few metres less at the corners of a rotated footprint)
        assert 3.0 <= pt.distance(fp) <= 20.5, f["properties"]["entrance_id"]
    tree = shapely.STRtree(footprints)
    a, b = tree.query(footprints, predicate="intersects")
    assert np.all(a == b), "overlapping footprints"
    hits = shapely.STRtree(list(lines)).query(footprints, predicate="intersects")
    assert hits.shape[1] == 0, "a footprint crosses a road segment"
    # and keeps clear of the carriageway
    i, j = shapely.STRtree(list(lines)).query(footprints, predicate="dwithin", distance=float(half.max()))
    d = shapely.distance(np.array(footprints, dtype=object)[i], lines[j])
    assert np.all(d >= half[j]), "a footprint lies on a carriageway"


# -- compounds and their buildings -----------------------------------------------------------------


def test_compounds(compounds, compound_polys, footprints, segments, roads, townships):
    lines, _ = segments
    names = [f["properties"]["name"] for f in compounds]
    assert len(set(names)) == len(names)
    road_names = {h["name"] for r in roads.values() for h in r["names"]}
    assert all(HAN.match(n) and n not in road_names for n in names)
    assert {f["properties"]["township_code"] for f in compounds} == URBAN_STREETS
    for f, poly in zip(compounds, compound_polys, strict=True):
        p = f["properties"]
        assert poly.is_valid and 8000.0 < poly.area < 60000.0
        assert townships[p["township_code"]]["geom"].contains(shape(f["geometry"]))
        gate = gen.to_metric(Point(p["gate"]))
        assert gate.distance(roads[p["road_id"]]["line"]) <= addresses.MAX_ROAD_DISTANCE_M
        assert gate.distance(poly.exterior) < 1.0
    assert shapely.STRtree(list(lines)).query(compound_polys, predicate="intersects").shape[1] == 0
    assert shapely.STRtree(footprints).query(compound_polys, predicate="intersects").shape[1] == 0
    a, b = shapely.STRtree(compound_polys).query(compound_polys, predicate="intersects")
    assert np.all(a == b), "overlapping compounds"


def test_buildings_inside_their_compound_in_rows(compounds, compound_polys, buildings, building_polys):
    poly_of = {f["properties"]["compound_id"]: g for f, g in zip(compounds, compound_polys, strict=True)}
    by_compound = defaultdict(list)
    for f, g in zip(buildings, building_polys, strict=True):
        p = f["properties"]
        assert 1 <= p["units"] <= 4 and 5 <= p["floors"] <= 33 and 2 <= p["rooms_per_floor"] <= 4
        assert p["building_id"].startswith(p["compound_id"] + "-B")
        assert g.is_valid and poly_of[p["compound_id"]].contains(g)
        by_compound[p["compound_id"]].append(g)
    for cid, polys in by_compound.items():
        a, b = shapely.STRtree(polys).query(polys, predicate="intersects")
        assert np.all(a == b), cid
        ys = np.array([g.centroid.y for g in polys])
        # rough east-west rows: the centroids' y values form clusters at least one building apart
        rows = np.split(np.sort(ys), np.where(np.diff(np.sort(ys)) > 8.0)[0] + 1)
        assert all(np.ptp(r) < 8.0 for r in rows), cid
        assert len(rows) < len(polys), cid  # at least one row with two buildings
        # B01 is in the northernmost row
        assert ys[0] >= ys.max() - 8.0, cid


# -- rural households ------------------------------------------------------------------------------


def test_rural_villages_and_groups(households, villages, townships):
    by_village = defaultdict(lambda: defaultdict(list))
    for f in households:
        p = f["properties"]
        by_village[p["village_code"]][p["group"]].append(f)
    towns = set()
    for code, groups in by_village.items():
        v = villages[code]
        assert v["kind"] == "village"
        assert gen.TOWNSHIP_LAYOUT[v["parent_code"]][3] == "town"
        towns.add(v["parent_code"])
        assert 3 <= len(groups) <= 6, code
        numbered = [bool(re.fullmatch(r"\d+组", g)) for g in groups]
        assert all(numbered) or not any(numbered), code  # one style per village
        if not any(numbered):
            assert all(HAN.match(g) for g in groups)
        for feats in groups.values():
            assert 15 <= len(feats) <= 60
        assert len({f["properties"]["campaign"] for g in groups.values() for f in g}) == 1
    assert len(towns) >= 4 and {"421281100", "421281101"} <= towns
    done = [c for c, g in by_village.items() if next(iter(g.values()))[0]["properties"]["campaign"] == "done"]
    assert {f["properties"]["campaign"] for f in households} == {"done", "pending"}
    assert 0.3 <= len(done) / len(by_village) <= 0.7


def test_households_inside_their_township_near_their_village(households, villages, townships, segments):
    lines, half = segments
    points = [shape(f["geometry"]) for f in households]
    metric = _metric(points)
    codes = sorted(villages)
    vxy = np.array([[p.x, p.y] for p in _metric(villages[c]["geom"] for c in codes)])
    for f, pt, m in zip(households, points, metric, strict=True):
        v = villages[f["properties"]["village_code"]]
        assert townships[v["parent_code"]]["geom"].contains(pt)
        d = np.hypot(*(vxy - [m.x, m.y]).T)
        assert codes[int(np.argmin(d))] == v["code"]  # closer to its own village point than to others
    i, j = shapely.STRtree(list(lines)).query(metric, predicate="dwithin", distance=float(half.max()))
    d = shapely.distance(np.array(metric, dtype=object)[i], lines[j])
    assert np.all(d > half[j]), "a household on a road"
    a, b = shapely.STRtree(metric).query(metric, predicate="dwithin", distance=10.0)
    assert np.all(a == b), "households closer than 10 m"


# -- certificate requests --------------------------------------------------------------------------


def test_certificate_requests(requests, entrances, buildings, households):
    entrance_use = {f["properties"]["entrance_id"]: f["properties"]["use"] for f in entrances}
    building = {f["properties"]["building_id"]: f["properties"] for f in buildings}
    campaign = {f["properties"]["household_id"]: f["properties"]["campaign"] for f in households}
    assert [r["request_id"] for r in requests] == [f"Q{k + 1:04d}" for k in range(len(requests))]
    assert [r["applied_on"] for r in requests] == sorted(r["applied_on"] for r in requests)
    kinds = Counter()
    targets = set()
    for r in requests:
        assert set(r) == REQUEST_KEYS
        t = r["target"]
        targets.add(json.dumps(t, sort_keys=True))
        if set(t) == {"entrance_id"}:
            kinds["entrance"] += 1
            assert t["entrance_id"] in entrance_use
            if entrance_use[t["entrance_id"]] == "住宅":
                assert r["owner_kind"] == "person"
        elif set(t) == {"building_id", "unit", "room_floor", "room_index"}:
            kinds["room"] += 1
            b = building[t["building_id"]]
            assert 1 <= t["unit"] <= b["units"]
            assert 1 <= t["room_floor"] <= b["floors"]
            assert 1 <= t["room_index"] <= b["rooms_per_floor"]
        else:
            assert set(t) == {"household_id"}
            kinds["household"] += 1
            assert campaign[t["household_id"]] == "done"
        assert r["owner_kind"] in ("person", "unit")
        if r["owner_kind"] == "person":
            assert HAN.match(r["owner"]) and 2 <= len(r["owner"]) <= 3
        else:
            assert r["owner"].startswith("赤壁市") and len(r["owner"]) > 6
        assert r["id_hint"] == ""
        assert (r["previous_address"] == "") == (r["previous_source"] == "")
        assert r["previous_source"] in ("", *addresses.PREVIOUS_SOURCES)
        applied = dt.date.fromisoformat(r["applied_on"])
        assert dt.date(2024, 1, 1) <= applied <= dt.date(2026, 11, 1)
        if r["issued_on"] is not None:
            issued = dt.date.fromisoformat(r["issued_on"])
            assert applied <= issued <= dt.date(2026, 11, 1)
    assert len(targets) == len(requests)
    assert all(kinds[k] >= 30 for k in ("entrance", "room", "household")), kinds
    assert 15 <= sum(1 for r in requests if r["issued_on"] is None) <= 25
    years = Counter(r["applied_on"][:4] for r in requests)
    assert set(years) == {"2024", "2025", "2026"}
    assert sum(1 for r in requests if r["previous_address"]) >= len(requests) / 2
    assert any("原" in r["previous_address"] for r in requests)

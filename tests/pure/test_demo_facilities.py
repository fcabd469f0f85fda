"""Tests of the synthetic civil-affairs facilities (gis_data.facilities). No database, no Django:

.venv/bin/pytest tests/pure/test_demo_facilities.py -q -p no:django

The layer is built fresh from the committed townships and villages and compared with the committed
file; the operating facilities must reproduce the bureau's 2023 report (DOMAIN §5) exactly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import shape

from gis_data import facilities as fac
from gis_data import generate as gen

REPO = Path(__file__).resolve().parents[2]
URBAN_CLASSES = {"street", "park"}
RURAL_CLASSES = {"town", "farm"}
CITY_CENTRE = {"421281001", "421281002"}  # 蒲圻街道, 赤马港街道
XIWAN = "421281108207"  # 官塘驿镇 西湾村委会

# the bureau's 2023 report: operating facilities by type
EXPECTED_OPERATING = {
    "elderly_institution": 12,
    "day_care": 47,
    "rural_mutual_aid": 102,
    "elderly_complex": 5,
    "meal_point": 30,
    "cemetery_urban": 1,
    "cemetery_rural": 10,
    "cemetery_village": 1,
    "funeral_home": 1,
    "rescue_station": 1,
    "community_centre": 48 + 121,  # every community, 121 of the 142 villages (85.2 %)
    "disaster_shelter": 19,
    "marriage_registry": 1,
    "children_welfare": 1,
}
# townships with no operating urban or rural public cemetery (a village cemetery serves its villagers only)
EXPECTED_WITHOUT_CEMETERY = {
    "赤马港街道",
    "陆水湖街道",
    "柳山湖镇",
    "蒲纺工业园",
    "官塘驿林场",
    "羊楼洞茶场",
    "沧湖开发区",
    "赤壁市经济开发区",
}


@pytest.fixture(scope="module")
def data() -> fac.FacilityData:
    return fac.build_facilities()


@pytest.fixture(scope="module")
def blob(data) -> bytes:
    return fac.facility_blobs(data)[fac.FACILITIES_FILE]


@pytest.fixture(scope="module")
def features(blob) -> list[dict]:
    return json.loads(blob)["features"]


@pytest.fixture(scope="module")
def operating(features) -> list[dict]:
    return [f["properties"] for f in features if f["properties"]["status"] == "operating"]


@pytest.fixture(scope="module")
def inputs() -> tuple[dict, dict]:
    return fac.read_demo_inputs()


@pytest.fixture(scope="module")
def townships(inputs) -> dict[str, dict]:
    return {
        f["properties"]["code"]: {
            **f["properties"],
            "geom": shape(f["geometry"]),
            "cls": gen.TOWNSHIP_LAYOUT[f["properties"]["code"]][3],
        }
        for f in inputs[0]["features"]
    }


@pytest.fixture(scope="module")
def villages(inputs) -> dict[str, dict]:
    return {
        f["properties"]["code"]: {**f["properties"], "geom": shape(f["geometry"])}
        for f in inputs[1]["features"]
    }


def _of_type(props: list[dict], type_: str) -> list[dict]:
    return [p for p in props if p["type"] == type_]


def _township(p: dict) -> str:
    return p["division_code"][:9]


# -- reproducibility ---------------------------------------------------------------------------------


def test_build_twice_gives_identical_bytes(blob):
    assert fac.facility_blobs(fac.build_facilities())[fac.FACILITIES_FILE] == blob


def test_committed_file_matches_a_fresh_build(data, blob):
    committed = gen.DEMO_DIR / fac.FACILITIES_FILE
    assert committed.exists(), f"{committed} missing: run python -m gis_data.facilities"
    assert committed.read_bytes() == blob, (
        "chibi_facilities.geojson drifted: run python -m gis_data.facilities"
    )
    manifest = json.loads((gen.DEMO_DIR / gen.MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["files"][fac.FACILITIES_FILE] == hashlib.sha256(blob).hexdigest()
    for key, value in data.counts.items():
        assert manifest["counts"][key] == value, key
    assert data.counts == {
        "facilities": 403,
        "facilities_operating": 400,
        "elderly_beds": 2623,
        "elderly_nursing_beds": 1522,
    }


def test_cli_regenerates_the_file(tmp_path, blob, capsys):
    # python -m gis_data.facilities runs main(); in-process here to keep the test fast
    for name in (gen.TOWNSHIPS_FILE, gen.VILLAGES_FILE, gen.MANIFEST_FILE):
        shutil.copy(gen.DEMO_DIR / name, tmp_path / name)
    assert fac.main(["--dir", str(tmp_path)]) == 0
    assert "elderly_beds 2623" in capsys.readouterr().out
    assert (tmp_path / fac.FACILITIES_FILE).read_bytes() == blob
    manifest = json.loads((tmp_path / gen.MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["files"][fac.FACILITIES_FILE] == hashlib.sha256(blob).hexdigest()
    assert manifest["seed"] == gen.SEED


def test_another_seed_gives_other_sites_but_the_same_figures(data, blob):
    other = fac.build_facilities(seed=7)
    assert other.counts == data.counts
    assert fac.facility_blobs(other)[fac.FACILITIES_FILE] != blob


# -- format ------------------------------------------------------------------------------------------


def test_geojson_format_and_schema(blob, features):
    text = blob.decode("utf-8")
    assert not re.search(r"\d\.\d{7,}", text) and "e-" not in text.lower()
    fc = json.loads(text)
    assert fc["type"] == "FeatureCollection" and fc["name"] == "chibi_facilities"
    assert fc["crs"] == {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}
    assert [f["properties"]["code"] for f in features] == [f"F{k + 1:04d}" for k in range(len(features))]
    for f in features:
        p = f["properties"]
        assert f["geometry"]["type"] == "Point"
        assert set(p) == set(fac.PROPERTY_KEYS)
        assert p["synthetic"] is True
        assert p["type"] in fac.FACILITY_TYPES
        assert p["status"] in fac.STATUSES and p["operator"] in fac.OPERATORS
        assert re.fullmatch(r"421281\d{3}(\d{3})?", p["division_code"])
        for key in ("beds", "nursing_beds", "plots_total", "plots_used", "area_m2", "places", "star_rating"):
            assert p[key] is None or (isinstance(p[key], int) and p[key] >= 0), (p["code"], key)
        assert p["area_mu"] is None or (isinstance(p["area_mu"], float) and p["area_mu"] > 0)
        # beds only on elderly-care institutions, plots only on cemeteries
        assert (p["beds"] is not None) == (p["type"] == "elderly_institution")
        assert (p["plots_total"] is not None) == p["type"].startswith("cemetery_")
    names = [f["properties"]["name"] for f in features]
    assert len(set(names)) == len(names)


def test_dates_and_statuses(features):
    statuses = Counter(f["properties"]["status"] for f in features)
    assert statuses == {"operating": 400, "planned": 2, "under_construction": 1}
    for f in features:
        p = f["properties"]
        if p["status"] == "operating":
            opened = dt.date.fromisoformat(p["opened_on"])
            assert dt.date(1980, 1, 1) <= opened <= dt.date(2023, 12, 31), p["code"]
        else:
            assert p["opened_on"] is None, p["code"]
    pending = {
        (f["properties"]["type"], f["properties"]["status"])
        for f in features
        if f["properties"]["status"] != "operating"
    }
    assert pending == {
        ("cemetery_rural", "planned"),
        ("day_care", "planned"),
        ("elderly_complex", "under_construction"),
    }


# -- the 2023 report -----------------------------------------------------------------------------------


def test_operating_counts_by_type(operating):
    assert Counter(p["type"] for p in operating) == EXPECTED_OPERATING
    # 149 community elderly-care sites: 102 rural mutual-aid centres + 47 urban day-care centres
    assert len(_of_type(operating, "rural_mutual_aid")) + len(_of_type(operating, "day_care")) == 149


def test_elderly_institutions_and_beds(operating, townships):
    inst = _of_type(operating, "elderly_institution")
    beds = sum(p["beds"] for p in inst)
    nursing = sum(p["nursing_beds"] for p in inst)
    assert (beds, nursing) == (2623, 1522)
    assert nursing == round(2623 * 0.5803) and round(100 * nursing / beds, 2) == 58.03
    assert all(0 < p["nursing_beds"] <= p["beds"] for p in inst)
    assert all(p["star_rating"] is None or 1 <= p["star_rating"] <= 5 for p in inst)
    assert sum(p["star_rating"] is not None for p in inst) >= 4

    centre = [p for p in inst if p["name"] == "赤壁市社会福利中心"]
    assert len(centre) == 1 and centre[0]["operator"] == "public"
    assert _township(centre[0]) in CITY_CENTRE
    homes = [p for p in inst if p["name"].endswith("福利院")]
    assert len(homes) == 5 and all(p["operator"] == "public" for p in homes)
    home_towns = {_township(p) for p in homes}
    assert len(home_towns) == 5
    for p in homes:
        town = townships[_township(p)]
        assert town["cls"] == "town" and town["name"].endswith("镇")
        assert p["name"] == f"{town['name']}福利院"
    private = [p for p in inst if p["operator"] == "private"]
    assert len(private) == 6 and {p["code"] for p in centre + homes + private} == {p["code"] for p in inst}
    # beds belong to the institutions only, so a plain sum over the file is the report's figure too
    assert sum(p["beds"] or 0 for p in operating) == 2623


def test_community_elderly_care(operating, villages, townships):
    aid = _of_type(operating, "rural_mutual_aid")
    aid_codes = [p["division_code"] for p in aid]
    assert len(set(aid_codes)) == 102
    for p in aid:
        v = villages[p["division_code"]]
        assert v["kind"] == "village" and "虚拟" not in v["name"]
        assert townships[v["parent_code"]]["cls"] in RURAL_CLASSES

    day = _of_type(operating, "day_care")
    day_codes = {p["division_code"] for p in day}
    assert len(day_codes) == 47 and all(villages[c]["kind"] == "community" for c in day_codes)
    communities = {c for c, v in villages.items() if v["kind"] == "community"}
    urban_communities = {
        c for c in communities if townships[villages[c]["parent_code"]]["cls"] in URBAN_CLASSES
    }
    assert len(urban_communities) == 33
    assert urban_communities <= day_codes  # 100 % of the urban communities
    # the one community without a day-care centre hosts its town's elderly-care complex
    complexes = _of_type(operating, "elderly_complex")
    assert len(communities - day_codes) == 1
    assert communities - day_codes <= {p["division_code"] for p in complexes}
    assert len({_township(p) for p in complexes}) == 5
    for p in complexes:
        town = townships[_township(p)]
        assert town["cls"] == "town" and p["name"] == f"{town['name']}养老服务综合体"


def test_public_cemeteries(operating, features, villages, townships):
    urban = _of_type(operating, "cemetery_urban")
    rural = _of_type(operating, "cemetery_rural")
    village = _of_type(operating, "cemetery_village")
    assert (len(urban), len(rural), len(village)) == (1, 10, 1)
    assert townships[_township(urban[0])]["cls"] == "street"
    assert len({_township(p) for p in rural}) == 10
    assert all(townships[_township(p)]["cls"] in RURAL_CLASSES for p in rural)
    assert village[0]["division_code"] == XIWAN
    assert villages[XIWAN]["name"] == "西湾村委会" and villages[XIWAN]["parent_code"] == "421281108"
    assert village[0]["name"] == "官塘驿镇西湾村公益性公墓"
    for p in urban + rural + village:
        assert 0 < p["plots_used"] <= p["plots_total"] and p["area_mu"] > 0
    assert urban[0]["plots_total"] > max(p["plots_total"] for p in rural) > village[0]["plots_total"]

    with_cemetery = {_township(p) for p in operating if p["type"] in fac.PUBLIC_CEMETERY_TYPES}
    without = {townships[c]["name"] for c in townships if c not in with_cemetery}
    assert without == EXPECTED_WITHOUT_CEMETERY
    # the 2025 goal (a public cemetery in every township) is not met yet, even among the 11 乡镇
    assert {townships[c]["name"] for c in townships if townships[c]["cls"] == "town"} & without == {
        "柳山湖镇"
    }
    planned = [f["properties"] for f in features if f["properties"]["status"] == "planned"]
    assert any(p["type"] == "cemetery_rural" and p["division_code"] == "421281105" for p in planned)


def test_city_level_facilities(operating, villages, townships):
    for type_, name in (
        ("rescue_station", "赤壁市救助管理站"),
        ("marriage_registry", "赤壁市婚姻登记处"),
        ("children_welfare", "赤壁市儿童福利院"),
        ("funeral_home", "赤壁市殡仪馆"),
    ):
        (p,) = _of_type(operating, type_)
        assert p["name"] == name and p["operator"] == "public"
    (rescue,) = _of_type(operating, "rescue_station")
    assert _township(rescue) in CITY_CENTRE and villages[rescue["division_code"]]["kind"] == "community"
    shelters = _of_type(operating, "disaster_shelter")
    assert sorted(_township(p) for p in shelters) == sorted(townships)


def test_community_service_centre_coverage(operating, villages, townships):
    csc = Counter(p["division_code"] for p in _of_type(operating, "community_centre"))
    assert max(csc.values()) == 1
    communities = [c for c, v in villages.items() if v["kind"] == "community"]
    assert all(c in csc for c in communities)  # urban: 100 %
    rural = [c for c, v in villages.items() if v["kind"] == "village"]
    share = sum(c in csc for c in rural) / len(rural)
    assert 0.8 <= share < 1.0 and round(share, 3) == 0.852
    in_rural_towns = [c for c in rural if townships[villages[c]["parent_code"]]["cls"] in RURAL_CLASSES]
    share_towns = sum(c in csc for c in in_rural_towns) / len(in_rural_towns)
    assert 0.8 <= share_towns < 1.0


# -- placement -----------------------------------------------------------------------------------------


def test_points_lie_in_the_county_and_their_township(features, townships, villages):
    county = fac.load_county()
    for f in features:
        p = f["properties"]
        pt = shape(f["geometry"])
        assert county.contains(pt), p["code"]
        assert townships[_township(p)]["geom"].contains(pt), p["code"]
        assert p["division_code"] in villages or p["division_code"] in townships
    # the source county polygon is the shared real one
    shared = Path("/work/shared/data") / gen.COUNTIES_FILE
    if shared.exists():
        assert shared.read_bytes() == (gen.SOURCE_DIR / gen.COUNTIES_FILE).read_bytes()


def test_sites_are_near_their_village_point(features, villages):
    codes = sorted(villages)
    vxy = np.array([[g.x, g.y] for g in (gen.to_metric(villages[c]["geom"]) for c in codes)])
    far = {"cemetery_urban", "cemetery_rural", "cemetery_village", "funeral_home"}
    placed = []
    for f in features:
        p = f["properties"]
        m = gen.to_metric(shape(f["geometry"]))
        placed.append((m.x, m.y))
        if p["division_code"] not in villages:
            assert p["status"] == "planned", p["code"]  # only the planned cemetery has no site yet
            continue
        d = np.hypot(*(vxy - [m.x, m.y]).T)
        own = codes.index(p["division_code"])
        assert int(np.argmin(d)) == own, p["code"]  # closer to its village than to any other
        lo, hi = (300.0, 1500.0) if p["type"] in far else (50.0, 300.0)
        assert lo - 1.0 <= d[own] <= hi + 1.0, (p["code"], d[own])
        if p["type"] in far:
            assert d.min() >= 299.0, p["code"]  # away from every settlement point
    xy = np.array(placed)
    dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    np.fill_diagonal(dist, np.inf)
    assert dist.min() >= 19.5


def test_names_use_the_real_place_names(features, villages, townships):
    for f in features:
        p = f["properties"]
        town = townships[_township(p)]["name"]
        name = p["name"]
        v = villages.get(p["division_code"])
        if p["type"] in ("day_care", "rural_mutual_aid", "meal_point", "community_centre"):
            short = fac.place_name(v["name"])
            if "虚拟" in v["name"]:
                assert name.startswith(town), (p["code"], name)
            elif sum(fac.place_name(x["name"]) == short for x in villages.values()) > 1:
                assert name.startswith(town + short), (p["code"], name)  # 中伙铺镇十八里畈村...
            else:
                assert name.startswith(short) and short.endswith(("村", "社区")), (p["code"], name)
        elif p["type"] in ("elderly_complex", "disaster_shelter", "cemetery_rural", "cemetery_village"):
            assert name.startswith(town), (p["code"], name)
        else:
            assert name.startswith(("赤壁市", town)), (p["code"], name)
        assert "虚拟" not in name
    names = {f["properties"]["name"] for f in features}
    for expected in (
        "赤壁市社会福利中心",
        "营里社区日间照料中心",
        "官塘驿镇西湾村公益性公墓",
        "官塘驿镇养老服务综合体",
    ):
        assert expected in names
    assert any(n.endswith("村互助照料中心") for n in names)


def test_place_name_helper():
    assert fac.place_name("营里社区居委会") == "营里社区"
    assert fac.place_name("泉口村委会") == "泉口村"
    assert fac.place_name("赵李桥居委会") == "赵李桥社区"
    assert fac.place_name("青石桥社区") == "青石桥社区"

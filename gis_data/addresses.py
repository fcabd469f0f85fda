"""Synthetic house-number (门牌) demo inputs for the demo county 赤壁市 (Hubei, 421281).

Pure module: no Django import. It reads the synthetic townships and villages written by
``gis_data.generate`` and the synthetic roads written by ``gis_data.roads`` and writes, next to
them, the SYNTHETIC inputs of the house-number demo (合成数据: invented entrances, compounds,
households, owners and requests, not real addresses or people):

* ``chibi_address_entrances.geojson`` - Points: building entrances (门口) on both sides of the
  named roads, streets and alleys, each with its building footprint (a rotated rectangle behind
  the entrance, as a GeoJSON Polygon coordinates array), its road and its use (住宅/商铺/...);
  the numbers themselves are NOT in the file, the loader computes them with the numbering engine;
* ``chibi_compounds.geojson`` - Polygons: 12-16 residential compounds (小区) in the three urban
  街道, with a unique name, the road their main gate faces and the gate point;
* ``chibi_compound_buildings.geojson`` - Polygons: residential buildings in rough east-west rows
  inside the compounds (so an S-shaped order from the north-east is meaningful), with units,
  floors and rooms per floor;
* ``chibi_rural_households.geojson`` - Points: rural households of 7 villages in 5 towns, in one
  cluster per group (``N组`` or a 自然村 name); ``campaign`` is ``done`` for the 4 villages whose
  numbering campaign is finished and ``pending`` for the others;
* ``chibi_certificate_requests.json`` - 300 certificate (门牌证) requests in chronological order,
  with synthetic owners (persons from surname / given-name pools, or companies) and old-style
  previous addresses; 20 are still in progress (``issued_on`` null);
* the address entries (``files`` and ``counts``) of ``manifest.json``.

Run ``python -m gis_data.addresses [--seed N] [--dir DIR]`` from the repository root after the
roads exist (``python -m gis_data.generate`` builds everything, addresses included). The output is
byte-identical for the same seed and inputs.

Method (EPSG:4547 metres, seeded ``numpy`` generators, one stream per road / compound / village
so that a change in one place does not reshuffle the rest):

1. compounds: rectangles (some with a cut corner) set 8-16 m behind a named urban road, kept clear
   of every road segment (half its width plus a margin) and of each other, inside one urban 街道;
   their buildings are laid out in east-west rows from the north-east corner of the interior;
2. entrances: each side of each named road alternates built-up runs and empty runs (walls, green
   belts, vacant land: gaps of 100 m or more, where a spacing standard reserves numbers; the
   old-town shopping streets 人民路 and 中山路 are built up almost throughout); in a built-up run a
   use is drawn (weights by road class; 厂房 in the industrial park and the development zone),
   then a gap and a frontage width; the entrance sits 4-25 m beyond the road edge and the
   footprint 5-20 m behind the entrance. A candidate is dropped unless the entrance is closer to
   its own road than to any other named road, the footprint and its access path cross no road
   segment, nothing overlaps an earlier footprint or a compound, and entrance and footprint lie
   in one township the road passes;
3. rural households: villages far enough from their neighbours and from the town streets, one
   cluster of 15-60 households (Gaussian scatter, at least 12 m apart, off the roads) per group,
   every household inside its township and closer to its own village point than to any other;
4. certificate requests: distinct targets (entrances, compound rooms, households of the finished
   villages), dates between 2024-01-01 and 2026-11-01, sorted by application date.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon, shape
from shapely.geometry.polygon import orient

from gis_data.generate import (
    DEMO_DIR,
    MANIFEST_FILE,
    SEED,
    TOWNSHIP_LAYOUT,
    _rng,
    _sha256,
    layer_main,
    quantize,
    to_geo,
    to_metric,
)
from gis_data.roads import (
    BRANCH,
    MAIN,
    ROADS_FILE,
    SECONDARY,
    SEGMENTS_FILE,
    add_to_manifest,
    feature_collection_text,
    manifest_text,
    read_demo_inputs,
    short_place_name,
)

ADDRESSES_VERSION = "1.0.0"
ENTRANCES_FILE = "chibi_address_entrances.geojson"
COMPOUNDS_FILE = "chibi_compounds.geojson"
BUILDINGS_FILE = "chibi_compound_buildings.geojson"
HOUSEHOLDS_FILE = "chibi_rural_households.geojson"
REQUESTS_FILE = "chibi_certificate_requests.json"
ADDRESS_FILES = (ENTRANCES_FILE, COMPOUNDS_FILE, BUILDINGS_FILE, HOUSEHOLDS_FILE, REQUESTS_FILE)

URBAN_STREET_CODES = ("421281001", "421281002", "421281003")  # 蒲圻, 赤马港, 陆水湖街道
PARK_CODES = frozenset(c for c, layout in TOWNSHIP_LAYOUT.items() if layout[3] == "park")
REQUIRED_RURAL_TOWNS = ("421281100", "421281101")  # 新店镇, 赵李桥镇
N_RURAL_TOWNS = 5
N_RURAL_VILLAGES = 7
N_DONE_VILLAGES = 4
N_REQUESTS = 300
N_IN_PROGRESS = 20
REQUEST_MIX = {"entrance": 165, "room": 90, "household": 45}
FIRST_DAY, LAST_APPLIED, LAST_DAY = dt.date(2024, 1, 2), dt.date(2026, 10, 20), dt.date(2026, 11, 1)
SHOWCASE_ROADS = ("人民路", "中山路")  # old-town shopping streets: built up almost throughout
USES = ("住宅", "商铺", "单位", "学校", "厂房")
PREVIOUS_SOURCES = ("房产证", "不动产权证", "户籍", "营业执照", "土地证")

# geometry (metres)
MAX_ROAD_DISTANCE_M = 120.0
ENTRANCE_OFFSET_M = (4.0, 25.0)  # beyond the road edge (half the width)
FOOTPRINT_SETBACK_M = (5.0, 20.0)  # footprint front edge behind the entrance
FOOTPRINT_SIZE_M = (8.0, 30.0)
ROAD_CLEARANCE_M = 2.0  # footprints keep half a segment's width plus this from its centre-line
FOOTPRINT_GAP_M = 2.0
COMPOUND_GAP_M = 5.0  # between a compound and any footprint
OWN_ROAD_MARGIN_M = 3.0  # an entrance is this much closer to its road than to any other named road
HOUSEHOLD_SPACING_M = 12.0

# seeded random streams (generate.py uses 2-4, roads.py 50-58)
_S_COMPOUNDS, _S_BUILDINGS, _S_ENTRANCES, _S_VILLAGES, _S_HOUSEHOLDS, _S_REQUESTS, _S_NAMES = range(70, 77)

# -- per-use and per-road-class parameters ----------------------------------------------------------

# use: (frontage width, depth, entrance offset beyond the road edge, footprint setback)
USE_SHAPE: dict[str, tuple[tuple[float, float], ...]] = {
    "住宅": ((10.0, 22.0), (10.0, 16.0), (5.0, 20.0), (5.0, 12.0)),
    "商铺": ((8.0, 16.0), (10.0, 18.0), (4.0, 10.0), (5.0, 8.0)),
    "单位": ((16.0, 30.0), (14.0, 24.0), (4.0, 14.0), (10.0, 20.0)),
    "学校": ((24.0, 30.0), (18.0, 30.0), (4.0, 12.0), (12.0, 20.0)),
    "厂房": ((20.0, 30.0), (20.0, 30.0), (6.0, 25.0), (8.0, 20.0)),
}
# frontage kind: (use weights in USES order, gap between neighbours, built run, empty run): each road
# side alternates built-up runs and empty runs (walls, green belts, vacant land) of >= 100 m
FRONTAGE: dict[
    str, tuple[tuple[float, ...], tuple[float, float], tuple[float, float], tuple[float, float]]
] = {
    "alley": ((0.86, 0.09, 0.05, 0.0, 0.0), (6.0, 18.0), (80.0, 300.0), (100.0, 180.0)),
    "street": ((0.32, 0.54, 0.12, 0.02, 0.0), (3.0, 12.0), (60.0, 180.0), (150.0, 500.0)),
    "showcase": ((0.30, 0.55, 0.13, 0.02, 0.0), (2.0, 10.0), (300.0, 900.0), (100.0, 150.0)),
    MAIN: ((0.14, 0.46, 0.36, 0.04, 0.0), (5.0, 26.0), (50.0, 150.0), (250.0, 900.0)),
    SECONDARY: ((0.30, 0.46, 0.21, 0.03, 0.0), (3.0, 18.0), (60.0, 200.0), (250.0, 700.0)),
    BRANCH: ((0.50, 0.31, 0.17, 0.02, 0.0), (3.0, 16.0), (50.0, 150.0), (250.0, 800.0)),
    "park": ((0.08, 0.14, 0.26, 0.0, 0.52), (6.0, 30.0), (80.0, 220.0), (250.0, 700.0)),
}

COMPOUND_NAMES = (
    "金鸾花园", "陆水家园", "御景苑", "桂花苑", "翠竹园", "阳光新城", "滨湖雅居", "锦绣华庭",
    "丽景小区", "蒲圻新村", "幸福家园", "怡和苑", "书香门第", "凤凰城", "龙潭小区", "康乐小区",
    "东方名邸", "碧水蓝湾", "香樟苑", "江南春城", "荷塘月色", "紫荆花园", "瑞景华府", "天鹅湖小区",
    "望湖苑", "清水湾", "春晖小区", "玉兰公寓", "金色家园", "山水人家",
)  # fmt: skip
NATURAL_VILLAGE_NAMES = (
    "张家湾", "李家畈", "石坡", "王家垅", "刘家岭", "陈家塝", "黄泥塘", "杨家冲", "周家湾",
    "胡家畈", "大屋", "新屋", "塘角", "枫树咀", "毛家山", "余家垴", "潘家咀", "何家湾",
    "吴家庄", "谢家铺", "熊家岭", "邓家坳", "雷家冲", "程家湾", "松树坡", "下屋", "桥头",
    "竹林湾", "蔡家畈", "汪家垄",
)  # fmt: skip
SURNAMES = (
    "刘", "王", "张", "李", "陈", "杨", "黄", "周", "吴", "胡", "徐", "朱", "余", "熊",
    "邓", "何", "雷", "程", "魏", "谢", "潘", "汪", "贺", "方", "田", "彭", "聂", "蔡",
    "廖", "饶", "丁", "戴", "金", "万", "付", "石", "叶", "郑", "孙", "夏", "袁", "姜",
    "沈", "龚", "游", "葛",
)  # fmt: skip
GIVEN_CHARS = (
    "建国华明红军平丽英志文秀兰海强云芳春桂德玉林伟勇敏静杰涛辉斌燕霞梅娟磊超波鹏琴玲婷浩宇"
    "欣雨俊洁晨子佳思梓轩婉凯鑫晶琳健荣刚根发菊凤金"
)
TRADE_NAMES = (
    "鑫源", "恒达", "华泰", "金诚", "宏远", "瑞丰", "嘉禾", "永盛", "福临", "顺发", "兴隆",
    "汇通", "正和", "盛世", "天成", "楚韵", "万家", "百信", "新锐", "聚福", "祥和", "博雅",
    "明德", "广源", "润泽", "信达", "同心", "鼎盛", "荆楚", "茗香",
)  # fmt: skip
BUSINESS_KINDS = {
    "商铺": ("商贸", "建材", "餐饮管理", "电器", "服装", "家居", "医药连锁", "茶叶销售", "汽车服务"),
    "单位": ("物流", "物业服务", "文化传媒", "建筑工程", "信息技术", "劳务服务", "旅游开发"),
    "厂房": ("纺织", "机械制造", "新材料", "茶业", "电子科技", "食品", "包装印刷"),
}
SCHOOL_KINDS = ("幼儿园", "培训学校", "艺术学校")


# --------------------------------------------------------------------------------------------
# Inputs and spatial helpers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Road:
    index: int
    id: str
    name: str
    former: str | None
    kind: str
    cls: str
    width: float
    divisions: tuple[str, ...]
    line: LineString  # metric


@dataclass(frozen=True)
class _Town:
    code: str
    name: str
    cls: str
    metric: object


@dataclass(frozen=True)
class _VillagePoint:
    code: str
    name: str
    kind: str
    parent: str
    xy: np.ndarray


class _Grid:
    """Bucketed geometries for "is anything within d metres" checks (deterministic, no sets)."""

    def __init__(self, cell: float = 200.0) -> None:
        self.cell = cell
        self.cells: dict[tuple[int, int], list[int]] = {}
        self.items: list = []

    def _keys(self, bounds, pad: float):
        c = self.cell
        x0, y0 = math.floor((bounds[0] - pad) / c), math.floor((bounds[1] - pad) / c)
        x1, y1 = math.floor((bounds[2] + pad) / c), math.floor((bounds[3] + pad) / c)
        return [(i, j) for i in range(x0, x1 + 1) for j in range(y0, y1 + 1)]

    def add(self, geom) -> None:
        k = len(self.items)
        self.items.append(geom)
        for key in self._keys(geom.bounds, 0.0):
            self.cells.setdefault(key, []).append(k)

    def near(self, geom, dist: float) -> bool:
        for key in self._keys(geom.bounds, dist):
            for k in self.cells.get(key, ()):
                if geom.distance(self.items[k]) < dist:
                    return True
        return False


class _World:
    """The metric inputs: townships, road segments and named roads, with spatial indexes."""

    def __init__(self, townships_fc: dict, villages_fc: dict, segments_fc: dict, roads_fc: dict) -> None:
        self.towns: dict[str, _Town] = {}
        for f in sorted(townships_fc["features"], key=lambda f: f["properties"]["code"]):
            p = f["properties"]
            metric = to_metric(shape(f["geometry"]))
            shapely.prepare(metric)
            self.towns[p["code"]] = _Town(p["code"], p["name"], TOWNSHIP_LAYOUT[p["code"]][3], metric)
        self.town_codes = list(self.towns)
        self.town_tree = shapely.STRtree([t.metric for t in self.towns.values()])
        self.villages: list[_VillagePoint] = []
        for f in sorted(villages_fc["features"], key=lambda f: f["properties"]["code"]):
            p = f["properties"]
            pt = to_metric(shape(f["geometry"]))
            self.villages.append(
                _VillagePoint(p["code"], p["name"], p["kind"], p["parent_code"], np.array([pt.x, pt.y]))
            )
        self.village_xy = np.array([v.xy for v in self.villages])

        segs = sorted(segments_fc["features"], key=lambda f: f["properties"]["segment_id"])
        self.seg_lines = np.array(to_metric(np.array([shape(f["geometry"]) for f in segs], dtype=object)))
        self.seg_half = np.array([f["properties"]["width_m"] / 2.0 for f in segs])
        self.seg_tree = shapely.STRtree(self.seg_lines)
        self.max_half = float(self.seg_half.max())

        self.roads: list[_Road] = []
        for k, f in enumerate(sorted(roads_fc["features"], key=lambda f: f["properties"]["road_id"])):
            p = f["properties"]
            geom = to_metric(shape(f["geometry"]))
            line = geom.geoms[0] if len(geom.geoms) == 1 else shapely.line_merge(geom)
            if not isinstance(line, LineString):
                raise ValueError(f"road {p['road_id']} is not one line")
            names = p["names"]
            self.roads.append(
                _Road(
                    k,
                    p["road_id"],
                    names[-1]["name"],
                    names[0]["name"] if len(names) > 1 else None,
                    p["kind"],
                    p["road_class"],
                    float(p["width_m"]),
                    tuple(p["division_codes"]),
                    line,
                )
            )
        self.road_lines = np.array([r.line for r in self.roads], dtype=object)
        self.road_tree = shapely.STRtree(self.road_lines)
        self.road_names = {r.name for r in self.roads} | {r.former for r in self.roads if r.former}

    def township_at(self, geom) -> str | None:
        for k in sorted(self.town_tree.query(geom, predicate="within")):
            return self.town_codes[int(k)]
        return None

    def clear_of_roads(self, geom, margin: float) -> bool:
        """No road segment's carriageway (half its width plus ``margin``) comes near ``geom``."""
        idx = self.seg_tree.query(geom, predicate="dwithin", distance=self.max_half + margin)
        if len(idx) == 0:
            return True
        d = shapely.distance(geom, self.seg_lines[idx])
        return bool(np.all(d >= self.seg_half[idx] + margin))

    def own_road_is_nearest(self, pt: Point, road: _Road, margin: float = OWN_ROAD_MARGIN_M) -> bool:
        """``pt`` is at least ``margin`` closer to ``road`` than to every other named road."""
        d_own = pt.distance(road.line)
        idx = self.road_tree.query(pt, predicate="dwithin", distance=d_own + margin)
        return all(int(k) == road.index for k in idx)


def _frame(line: LineString, s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point, unit tangent and unit left normal of ``line`` at chainage ``s``."""
    p = np.array(line.interpolate(s).coords[0])
    a = np.array(line.interpolate(max(s - 6.0, 0.0)).coords[0])
    b = np.array(line.interpolate(min(s + 6.0, line.length)).coords[0])
    t = (b - a) / float(np.hypot(*(b - a)))
    return p, t, np.array([-t[1], t[0]])


def _rect(centre: np.ndarray, ex: np.ndarray, ey: np.ndarray, half_x: float, half_y: float) -> Polygon:
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    return orient(Polygon([centre + i * half_x * ex + j * half_y * ey for i, j in corners]), 1.0)


def _rotate(v: np.ndarray, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(*lo_hi))


# --------------------------------------------------------------------------------------------
# Compounds and their buildings
# --------------------------------------------------------------------------------------------


@dataclass
class _Compound:
    road: _Road
    chainage: float
    township: str
    polygon: Polygon
    gate: Point
    buildings: list[dict] = field(default_factory=list)  # {"polygon", "units", "floors", "rooms", "row"}
    name: str = ""
    id: str = ""


COMPOUND_STYLES = {
    # style: (share, floors, units, rooms per floor, row gap m)
    "多层": (0.4, (5, 7), (2, 4), (2, 2), (16.0, 22.0)),
    "小高层": (0.35, (11, 18), (1, 3), (2, 3), (22.0, 30.0)),
    "高层": (0.25, (18, 33), (1, 2), (2, 4), (28.0, 38.0)),
}


def _compound_buildings(poly: Polygon, rng: np.random.Generator) -> list[dict] | None:
    """Buildings in east-west rows from the north-east corner of the compound's interior."""
    inner = poly.buffer(-8.0, join_style="mitre")
    if inner.is_empty or not isinstance(inner, Polygon):
        return None
    shapely.prepare(inner)
    styles = list(COMPOUND_STYLES)
    style = styles[int(rng.choice(len(styles), p=[COMPOUND_STYLES[s][0] for s in styles]))]
    _, floors, units, rooms, row_gap = COMPOUND_STYLES[style]
    depth, unit_len = float(rng.uniform(11.0, 14.0)), float(rng.uniform(12.0, 15.0))
    minx, miny, maxx, maxy = inner.bounds
    slots: list[dict] = []
    y_top, row = maxy, 0
    while y_top - depth > miny:
        x = maxx
        while x > minx:
            n_units = int(rng.integers(units[0], units[1] + 1))
            length = n_units * unit_len + float(rng.uniform(0.0, 4.0))
            centre = np.array([x - length / 2, y_top - depth / 2 - float(rng.uniform(0.0, 3.0))])
            ex = _rotate(np.array([1.0, 0.0]), math.radians(float(rng.uniform(-4.0, 4.0))))
            ey = np.array([-ex[1], ex[0]])
            rect = _rect(centre, ex, ey, length / 2, depth / 2)
            if inner.contains(rect) and all(rect.distance(s["polygon"]) >= 6.0 for s in slots):
                slots.append(
                    {
                        "polygon": rect,
                        "units": n_units,
                        "floors": int(rng.integers(floors[0], floors[1] + 1)),
                        "rooms": int(rng.integers(rooms[0], rooms[1] + 1)),
                        "row": row,
                        "x": float(centre[0]),
                    }
                )
                x -= length + float(rng.uniform(8.0, 16.0))
            else:
                x -= float(rng.uniform(6.0, 14.0))
        y_top -= depth + float(rng.uniform(*row_gap))
        row += 1
    if len(slots) < 4:
        return None
    target = int(rng.integers(4, 17))
    if len(slots) > target:
        keep = sorted(int(k) for k in rng.choice(len(slots), size=target, replace=False))
        slots = [slots[k] for k in keep]
    return sorted(slots, key=lambda s: (s["row"], -s["x"]))


def _place_compounds(world: _World, rng: np.random.Generator) -> list[_Compound]:
    n_target = int(rng.integers(12, 17))
    cap = math.ceil(n_target / 3) + 1
    cands = [
        r
        for r in world.roads
        if r.kind == "road"
        and r.cls in (MAIN, SECONDARY, BRANCH)
        and set(r.divisions) & set(URBAN_STREET_CODES)
        and r.line.length >= 300.0
    ]
    weights = np.array([r.line.length for r in cands])
    weights /= weights.sum()
    placed: list[_Compound] = []
    grid = _Grid(400.0)
    per_town = dict.fromkeys(URBAN_STREET_CODES, 0)
    per_road: dict[str, int] = {}
    for attempt in range(6000):
        if len(placed) >= n_target:
            break
        road = cands[int(rng.choice(len(cands), p=weights))]
        s = float(rng.uniform(120.0, road.line.length - 120.0))
        side = float(rng.choice([-1.0, 1.0]))
        width, depth = float(rng.uniform(110.0, 220.0)), float(rng.uniform(90.0, 170.0))
        front = road.width / 2 + float(rng.uniform(8.0, 16.0))
        chamfer = float(rng.uniform(20.0, 40.0)) if rng.random() < 0.3 else 0.0
        gate_u = float(rng.uniform(-width / 4, width / 4))
        sub = _rng(int(rng.integers(2**31)), _S_BUILDINGS, attempt)
        if per_road.get(road.id, 0) >= 2:
            continue
        p, t, n = _frame(road.line, s)
        n = n * side
        corners = [(-width / 2, front), (width / 2, front), (width / 2, front + depth)]
        if chamfer:
            corners += [(-width / 2 + chamfer, front + depth), (-width / 2, front + depth - chamfer)]
        else:
            corners += [(-width / 2, front + depth)]
        poly = orient(Polygon([p + u * t + v * n for u, v in corners]), 1.0)
        gate = Point(p + gate_u * t + front * n)
        code = world.township_at(poly)
        if code not in per_town or per_town[code] >= cap:
            continue
        if not world.towns[code].metric.contains(poly.buffer(10.0)):
            continue
        if not world.clear_of_roads(poly, 4.0) or grid.near(poly, 20.0):
            continue
        if gate.distance(road.line) > MAX_ROAD_DISTANCE_M or not world.own_road_is_nearest(gate, road):
            continue
        buildings = _compound_buildings(poly, sub)
        if buildings is None:
            continue
        placed.append(_Compound(road, s, code, poly, gate, buildings))
        grid.add(poly)
        per_town[code] += 1
        per_road[road.id] = per_road.get(road.id, 0) + 1
    if not 12 <= len(placed) <= 16:
        raise RuntimeError(f"placed {len(placed)} compounds")
    placed.sort(key=lambda c: (c.township, c.road.id, c.chainage))
    names = _compound_names(world, rng, len(placed))
    for k, c in enumerate(placed):
        c.id, c.name = f"C{k + 1:03d}", names[k]
    return placed


def _compound_names(world: _World, rng: np.random.Generator, n: int) -> list[str]:
    usable = [
        name
        for name in COMPOUND_NAMES
        if name not in world.road_names and not any(r in name for r in world.road_names)
    ]
    if len(usable) < n:
        raise RuntimeError("not enough compound names")
    return [usable[int(k)] for k in rng.choice(len(usable), size=n, replace=False)]


# --------------------------------------------------------------------------------------------
# Road entrances
# --------------------------------------------------------------------------------------------


@dataclass
class _Entrance:
    road: _Road
    side: int  # +1 left, -1 right of the road's direction
    chainage: float
    township: str
    point: Point
    footprint: Polygon
    use: str
    id: str = ""


def _frontage_key(road: _Road, township: str) -> str:
    if road.name in SHOWCASE_ROADS:
        return "showcase"
    if township in PARK_CODES and road.kind != "alley":
        return "park"
    if road.kind in ("alley", "street"):
        return road.kind
    return road.cls


def _road_entrances(
    world: _World, road: _Road, rng: np.random.Generator, footprints: _Grid, points: _Grid, compounds: _Grid
) -> list[_Entrance]:
    out = []
    line, half = road.line, road.width / 2
    divisions = set(road.divisions)
    for side in (1, -1):
        s = float(rng.uniform(4.0, 30.0))
        built = road.kind == "alley" or rng.random() < 0.5
        run_end = None
        while s < line.length - 4.0:
            township = world.township_at(Point(line.interpolate(min(s + 10.0, line.length)).coords[0]))
            use_w, gap, built_run, empty_run = FRONTAGE[_frontage_key(road, township or "")]
            if run_end is None:
                run_end = s + _uniform(rng, built_run if built else empty_run)
            if not built:
                s, built, run_end = run_end, True, None
                continue
            use = USES[int(rng.choice(len(USES), p=np.array(use_w) / sum(use_w)))]
            width_r, depth_r, offset_r, setback_r = USE_SHAPE[use]
            if road.kind == "alley":
                width_r, depth_r, offset_r = (8.0, 14.0), (8.0, 14.0), (4.0, 8.0)
            step = _uniform(rng, gap)
            width, depth = _uniform(rng, width_r), _uniform(rng, depth_r)
            offset, setback = _uniform(rng, offset_r), _uniform(rng, setback_r)
            shift = float(rng.uniform(-width / 4, width / 4))  # the door is not always centred
            turn = math.radians(float(rng.uniform(-6.0, 6.0)))
            c = s + step + width / 2
            if c + width / 2 > run_end:
                s, built, run_end = run_end, False, None
                continue
            s = c + shift + width / 2
            if s > line.length - 4.0:
                break
            p, t, n = _frame(line, c)
            n = n * side
            entrance = Point(p + (half + offset) * n)
            ex, ey = _rotate(t, turn), _rotate(n, turn)
            centre = p + shift * t + (half + offset + setback + depth / 2) * n
            footprint = _rect(centre, ex, ey, width / 2, depth / 2)
            code = world.township_at(entrance)
            if code is None or code not in divisions or not world.towns[code].metric.contains(footprint):
                continue
            if entrance.distance(line) > MAX_ROAD_DISTANCE_M or not world.own_road_is_nearest(entrance, road):
                continue
            access = LineString([p + (half + 1.0) * n, entrance.coords[0], centre])
            if not (
                world.clear_of_roads(entrance, 1.5)
                and world.clear_of_roads(footprint, ROAD_CLEARANCE_M)
                and world.clear_of_roads(access, 0.5)
            ):
                continue
            if (
                footprints.near(footprint, FOOTPRINT_GAP_M)
                or footprints.near(entrance, 1.0)
                or compounds.near(footprint, COMPOUND_GAP_M)
                or compounds.near(entrance, 3.0)
                or points.near(entrance, 3.0)
            ):
                continue
            footprints.add(footprint)
            points.add(entrance)
            out.append(_Entrance(road, side, c, code, entrance, footprint, use))
    return out


def _place_entrances(world: _World, seed: int, compounds: list[_Compound]) -> list[_Entrance]:
    footprints, points, comp = _Grid(200.0), _Grid(200.0), _Grid(400.0)
    for c in compounds:
        comp.add(c.polygon)
    out: list[_Entrance] = []
    for road in world.roads:
        out += _road_entrances(world, road, _rng(seed, _S_ENTRANCES, road.index), footprints, points, comp)
    out.sort(key=lambda e: (e.road.id, -e.side, e.chainage))
    for k, e in enumerate(out):
        e.id = f"E{k + 1:05d}"
    return out


# --------------------------------------------------------------------------------------------
# Rural households
# --------------------------------------------------------------------------------------------


@dataclass
class _RuralVillage:
    village: _VillagePoint
    style: str  # "组" or "自然村"
    done: bool
    groups: list[tuple[str, list[np.ndarray]]] = field(default_factory=list)
    group_ids: list[tuple[str, list[str]]] = field(default_factory=list)


def _choose_villages(world: _World, rng: np.random.Generator) -> list[_VillagePoint]:
    rural = [v for v in world.villages if v.kind == "village" and TOWNSHIP_LAYOUT[v.parent][3] == "town"]

    def roomy(v: _VillagePoint) -> bool:
        d = np.hypot(*(world.village_xy - v.xy).T)
        d = d[d > 0]
        idx = world.road_tree.query(Point(v.xy), predicate="dwithin", distance=700.0)
        edge = world.towns[v.parent].metric.boundary.distance(Point(v.xy))
        return float(d.min()) >= 1500.0 and len(idx) == 0 and edge >= 800.0

    ok = [v for v in rural if roomy(v)]
    towns = sorted({v.parent for v in ok})
    others = [t for t in towns if t not in REQUIRED_RURAL_TOWNS]
    picked_towns = list(REQUIRED_RURAL_TOWNS) + sorted(
        others[int(k)] for k in rng.choice(len(others), size=N_RURAL_TOWNS - 2, replace=False)
    )
    chosen: list[_VillagePoint] = []
    for t in picked_towns:
        pool = [v for v in ok if v.parent == t]
        chosen.append(pool[int(rng.integers(len(pool)))])
    rest = [v for v in ok if v.parent in picked_towns and v not in chosen]
    for k in rng.choice(len(rest), size=N_RURAL_VILLAGES - len(chosen), replace=False):
        chosen.append(rest[int(k)])
    return sorted(chosen, key=lambda v: v.code)


def _place_households(world: _World, seed: int, entrances: list[_Entrance]) -> list[_RuralVillage]:
    rng = _rng(seed, _S_VILLAGES)
    chosen = _choose_villages(world, rng)
    styles = ["组", "自然村"] * N_RURAL_VILLAGES
    styles = [styles[int(k)] for k in rng.permutation(N_RURAL_VILLAGES)]
    while True:  # both group styles among the finished villages (styles alternate before shuffling)
        done = {int(k) for k in rng.choice(N_RURAL_VILLAGES, size=N_DONE_VILLAGES, replace=False)}
        if len({styles[k] for k in done}) == 2:
            break
    natural = [NATURAL_VILLAGE_NAMES[int(k)] for k in rng.permutation(len(NATURAL_VILLAGE_NAMES))]
    natural = [n for n in natural if not any(v.name.startswith(n) for v in world.villages)]
    footprints = _Grid(200.0)
    for e in entrances:
        footprints.add(e.footprint)
    taken = _Grid(100.0)
    out = []
    for k, v in enumerate(chosen):
        vr = _rng(seed, _S_HOUSEHOLDS, k)
        rv = _RuralVillage(v, styles[k], k in done)
        town = world.towns[v.parent].metric
        inner = town.buffer(-15.0)
        shapely.prepare(inner)
        others = np.array([w.xy for w in world.villages if w.code != v.code])
        nn = float(np.hypot(*(others - v.xy).T).min())

        def closer_to_own(p: np.ndarray, margin: float, v=v, others=others) -> bool:
            return float(np.hypot(*(p - v.xy))) + margin < float(np.hypot(*(others - p).T).min())

        n_groups = int(vr.integers(3, 7))
        base = float(vr.uniform(0, 2 * math.pi))
        centres: list[np.ndarray] = []
        for g in range(n_groups):
            for _ in range(200):
                ang = base + 2 * math.pi * g / n_groups + float(vr.uniform(-0.5, 0.5))
                r = float(vr.uniform(150.0, max(200.0, min(900.0, 0.4 * nn))))
                c = v.xy + r * np.array([math.cos(ang), math.sin(ang)])
                if (
                    inner.contains(Point(c).buffer(150.0))
                    and closer_to_own(c, 250.0)
                    and all(float(np.hypot(*(c - o))) >= 280.0 for o in centres)
                    and world.clear_of_roads(Point(c), 25.0)
                ):
                    centres.append(c)
                    break
        if len(centres) < 3:
            raise RuntimeError(f"no room for groups around {v.name}")
        for g, c in enumerate(centres):
            label = f"{g + 1}组" if rv.style == "组" else natural.pop()
            n = int(vr.integers(15, 61))
            sigma = float(vr.uniform(45.0, 85.0))
            pts: list[np.ndarray] = []
            for _ in range(n * 40):
                if len(pts) >= n:
                    break
                p = c + vr.normal(0.0, sigma, 2)
                pt = Point(p)
                if (
                    inner.contains(pt)
                    and closer_to_own(p, 60.0)
                    and world.clear_of_roads(pt, 6.0)
                    and not taken.near(pt, HOUSEHOLD_SPACING_M)
                    and not footprints.near(pt, 10.0)
                ):
                    taken.add(pt)
                    pts.append(p)
            if len(pts) < 15:
                raise RuntimeError(f"group {label} of {v.name} has {len(pts)} households")
            pts.sort(key=lambda q: (-round(float(q[1]), 3), round(float(q[0]), 3)))
            rv.groups.append((label, pts))
        out.append(rv)
    return out


# --------------------------------------------------------------------------------------------
# Certificate requests
# --------------------------------------------------------------------------------------------


def _person_name(rng: np.random.Generator) -> str:
    w = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.6
    surname = SURNAMES[int(rng.choice(len(SURNAMES), p=w / w.sum()))]
    if rng.random() < 0.3:
        return surname + GIVEN_CHARS[int(rng.integers(len(GIVEN_CHARS)))]
    a, b = rng.choice(len(GIVEN_CHARS), size=2, replace=False)
    return surname + GIVEN_CHARS[int(a)] + GIVEN_CHARS[int(b)]


def _unit_name(rng: np.random.Generator, use: str, taken: set[str]) -> str:
    for _ in range(500):
        trade = TRADE_NAMES[int(rng.integers(len(TRADE_NAMES)))]
        if use == "学校":
            name = f"赤壁市{trade}{SCHOOL_KINDS[int(rng.integers(len(SCHOOL_KINDS)))]}"
        else:
            kinds = BUSINESS_KINDS.get(use, BUSINESS_KINDS["单位"])
            name = f"赤壁市{trade}{kinds[int(rng.integers(len(kinds)))]}有限公司"
        if name not in taken:
            taken.add(name)
            return name
    raise RuntimeError("out of unit names")


def _pick_source(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _requests(
    world: _World,
    seed: int,
    entrances: list[_Entrance],
    compounds: list[_Compound],
    villages: list[_RuralVillage],
) -> list[dict]:
    rng = _rng(seed, _S_REQUESTS)
    town_name = {c: t.name for c, t in world.towns.items()}
    drafts: list[tuple[dt.date, int, dict]] = []
    unit_names: set[str] = set()
    span = (LAST_APPLIED - FIRST_DAY).days

    def applied() -> dt.date:
        return FIRST_DAY + dt.timedelta(days=int(rng.integers(0, span + 1)))

    for k in sorted(int(i) for i in rng.choice(len(entrances), size=REQUEST_MIX["entrance"], replace=False)):
        e = entrances[k]
        person = e.use == "住宅" or (e.use == "商铺" and rng.random() < 0.35)
        owner = _person_name(rng) if person else _unit_name(rng, e.use, unit_names)
        prev, source = "", ""
        if rng.random() < 0.7:
            name = e.road.former if e.road.former and rng.random() < 0.6 else e.road.name
            prev = f"{town_name[e.township]}{name}原{int(rng.integers(1, 240))}号"
            source = _pick_source(
                rng,
                ("房产证", "不动产权证", "户籍") if person else ("营业执照", "不动产权证", "土地证"),
            )
        target = {"entrance_id": e.id}
        drafts.append((applied(), len(drafts), _request(target, owner, person, prev, source)))

    rooms = [(c, b) for c in compounds for b in c.buildings]
    seen: set[tuple] = set()
    while sum(1 for d in drafts if "building_id" in d[2]["target"]) < REQUEST_MIX["room"]:
        c, b = rooms[int(rng.integers(len(rooms)))]
        target = {
            "building_id": b["id"],
            "unit": int(rng.integers(1, b["units"] + 1)),
            "room_floor": int(rng.integers(1, b["floors"] + 1)),
            "room_index": int(rng.integers(1, b["rooms"] + 1)),
        }
        key = tuple(target.values())
        if key in seen:
            continue
        seen.add(key)
        prev, source = "", ""
        if rng.random() < 0.6:
            old_building = int(rng.integers(1, 20))
            prev = (
                f"{town_name[c.township]}{c.name}{old_building}栋{target['unit']}单元"
                f"{target['room_floor']}{target['room_index']:02d}室"
            )
            source = _pick_source(rng, ("房产证", "不动产权证", "户籍"))
        drafts.append((applied(), len(drafts), _request(target, _person_name(rng), True, prev, source)))

    households = [
        (rv, label, hid) for rv in villages if rv.done for label, ids in rv.group_ids for hid in ids
    ]
    for k in sorted(
        int(i) for i in rng.choice(len(households), size=REQUEST_MIX["household"], replace=False)
    ):
        rv, label, hid = households[k]
        prev, source = "", ""
        if rng.random() < 0.75:
            village = short_place_name(rv.village.name)
            prev = f"{town_name[rv.village.parent]}{village}{label}{int(rng.integers(1, 80))}号"
            source = _pick_source(rng, ("户籍", "土地证"))
        target = {"household_id": hid}
        drafts.append((applied(), len(drafts), _request(target, _person_name(rng), True, prev, source)))

    drafts.sort(key=lambda d: (d[0], d[1]))
    n = len(drafts)
    # the cases still in progress are among the latest applications
    pending = {n - 30 + int(k) for k in rng.choice(30, size=N_IN_PROGRESS, replace=False)}
    out = []
    for k, (day, _, req) in enumerate(drafts):
        issued = None
        if k not in pending:
            issued = min(day + dt.timedelta(days=int(rng.integers(2, 31))), LAST_DAY)
        out.append(
            {
                "request_id": f"Q{k + 1:04d}",
                **req,
                "applied_on": day.isoformat(),
                "issued_on": issued and issued.isoformat(),
            }
        )
    return out


def _request(target: dict, owner: str, person: bool, prev: str, source: str) -> dict:
    return {
        "target": target,
        "owner": owner,
        "owner_kind": "person" if person else "unit",
        "id_hint": "",
        "previous_address": prev,
        "previous_source": source,
    }


# --------------------------------------------------------------------------------------------
# Build / write
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddressData:
    """The synthetic address layers (lon/lat EPSG:4490 shapely geometries) and their counts."""

    seed: int
    entrances: list[dict]  # {"properties": {...}, "geometry": Point}
    compounds: list[dict]  # {"properties": {...}, "geometry": Polygon}
    buildings: list[dict]  # {"properties": {...}, "geometry": Polygon}
    households: list[dict]  # {"properties": {...}, "geometry": Point}
    requests: list[dict]
    counts: dict[str, int]


def _geo(geoms: Sequence) -> list:
    if not geoms:
        return []
    return list(to_geo(np.array(list(geoms), dtype=object)))


def _ring_coords(poly: Polygon) -> list:
    return [[[float(x), float(y)] for x, y in quantize(np.asarray(poly.exterior.coords))]]


def _point_coords(pt: Point) -> list[float]:
    return [float(v) for v in quantize([pt.x, pt.y])]


def read_address_inputs(demo_dir: Path = DEMO_DIR) -> tuple[dict, dict, dict, dict]:
    """Townships, villages, road segments and roads (parsed GeoJSON) from ``demo_dir``."""
    demo_dir = Path(demo_dir)
    townships_fc, villages_fc = read_demo_inputs(demo_dir)
    return (
        townships_fc,
        villages_fc,
        json.loads((demo_dir / SEGMENTS_FILE).read_text(encoding="utf-8")),
        json.loads((demo_dir / ROADS_FILE).read_text(encoding="utf-8")),
    )


def build_addresses(
    townships_fc: dict | None = None,
    villages_fc: dict | None = None,
    segments_fc: dict | None = None,
    roads_fc: dict | None = None,
    seed: int = SEED,
    demo_dir: Path = DEMO_DIR,
) -> AddressData:
    """Build the synthetic address layers (deterministic for the same inputs and seed).

    The four inputs are the parsed GeoJSON of the demo townships, villages, road segments and
    roads; missing ones are read from ``demo_dir``.
    """
    if townships_fc is None or villages_fc is None or segments_fc is None or roads_fc is None:
        townships_fc, villages_fc, segments_fc, roads_fc = read_address_inputs(demo_dir)
    world = _World(townships_fc, villages_fc, segments_fc, roads_fc)

    compounds = _place_compounds(world, _rng(seed, _S_COMPOUNDS))
    for c in compounds:
        for k, b in enumerate(c.buildings):
            b["id"] = f"{c.id}-B{k + 1:02d}"
    entrances = _place_entrances(world, seed, compounds)
    villages = _place_households(world, seed, entrances)
    n = 0
    for rv in villages:
        rv.group_ids = []
        for label, pts in rv.groups:
            ids = [f"H{n + i + 1:05d}" for i in range(len(pts))]
            n += len(pts)
            rv.group_ids.append((label, ids))
    requests = _requests(world, seed, entrances, compounds, villages)

    e_points = _geo([e.point for e in entrances])
    e_prints = _geo([orient(e.footprint, 1.0) for e in entrances])
    entrance_features = [
        {
            "properties": {
                "entrance_id": e.id,
                "road_id": e.road.id,
                "township_code": e.township,
                "footprint": _ring_coords(fp),
                "use": e.use,
                "synthetic": True,
            },
            "geometry": pt,
        }
        for e, pt, fp in zip(entrances, e_points, e_prints, strict=True)
    ]
    c_polys = _geo([c.polygon for c in compounds])
    c_gates = _geo([c.gate for c in compounds])
    compound_features = [
        {
            "properties": {
                "compound_id": c.id,
                "name": c.name,
                "township_code": c.township,
                "road_id": c.road.id,
                "gate": _point_coords(gate),
                "synthetic": True,
            },
            "geometry": poly,
        }
        for c, poly, gate in zip(compounds, c_polys, c_gates, strict=True)
    ]
    flat = [(c, b) for c in compounds for b in c.buildings]
    b_polys = _geo([b["polygon"] for _, b in flat])
    building_features = [
        {
            "properties": {
                "building_id": b["id"],
                "compound_id": c.id,
                "units": b["units"],
                "floors": b["floors"],
                "rooms_per_floor": b["rooms"],
                "synthetic": True,
            },
            "geometry": poly,
        }
        for (c, b), poly in zip(flat, b_polys, strict=True)
    ]
    rows = [
        (rv, label, hid, p)
        for rv in villages
        for (label, pts), (_, ids) in zip(rv.groups, rv.group_ids, strict=True)
        for hid, p in zip(ids, pts, strict=True)
    ]
    h_points = _geo([Point(p) for *_, p in rows])
    household_features = [
        {
            "properties": {
                "household_id": hid,
                "village_code": rv.village.code,
                "group": label,
                "campaign": "done" if rv.done else "pending",
                "synthetic": True,
            },
            "geometry": pt,
        }
        for (rv, label, hid, _), pt in zip(rows, h_points, strict=True)
    ]
    counts = {
        "address_entrances": len(entrance_features),
        "compounds": len(compound_features),
        "compound_buildings": len(building_features),
        "rural_households": len(household_features),
        "rural_villages_numbered": sum(1 for rv in villages if rv.done),
        "certificate_requests": len(requests),
    }
    return AddressData(
        seed, entrance_features, compound_features, building_features, household_features, requests, counts
    )


def requests_text(requests: Sequence[dict]) -> str:
    """The requests as a JSON list, one request per line, sorted keys."""
    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")) for r in requests]
    return "[\n" + ",\n".join(lines) + "\n]\n"


def address_blobs(data: AddressData) -> dict[str, bytes]:
    """The bytes of the five address files."""
    return {
        ENTRANCES_FILE: feature_collection_text("chibi_address_entrances", data.entrances).encode("utf-8"),
        COMPOUNDS_FILE: feature_collection_text("chibi_compounds", data.compounds).encode("utf-8"),
        BUILDINGS_FILE: feature_collection_text("chibi_compound_buildings", data.buildings).encode("utf-8"),
        HOUSEHOLDS_FILE: feature_collection_text("chibi_rural_households", data.households).encode("utf-8"),
        REQUESTS_FILE: requests_text(data.requests).encode("utf-8"),
    }


def write_addresses(data: AddressData, out_dir: Path = DEMO_DIR) -> dict[str, str]:
    """Write the address files to ``out_dir`` and add them to its manifest; returns ``{file: sha256}``."""
    out_dir = Path(out_dir)
    manifest_path = out_dir / MANIFEST_FILE
    if not manifest_path.exists():
        raise FileNotFoundError(f"{manifest_path} missing: run python -m gis_data.generate first")
    blobs = address_blobs(data)
    manifest = add_to_manifest(json.loads(manifest_path.read_text(encoding="utf-8")), blobs, data.counts)
    blobs[MANIFEST_FILE] = manifest_text(manifest).encode("utf-8")
    for name, blob in blobs.items():
        (out_dir / name).write_bytes(blob)
    return {name: _sha256(blob) for name, blob in sorted(blobs.items())}


build = build_addresses
write = write_addresses


def main(argv: Sequence[str] | None = None) -> int:
    return layer_main(
        "python -m gis_data.addresses", __doc__.splitlines()[0], build_addresses, write_addresses, argv
    )


if __name__ == "__main__":
    raise SystemExit(main())

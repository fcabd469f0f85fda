"""Synthetic civil-affairs facilities (民政设施) for the demo county 赤壁市 (Hubei, 421281).

Pure module: no Django import. It reads the synthetic townships and villages written by
``gis_data.generate`` (and the real county polygon in ``gis_data/source/``) and writes, next to
them, ``chibi_facilities.geojson``: one Point per SYNTHETIC facility (合成数据: invented sites,
names, dates and capacities, plausible for 赤壁市 but not the real facilities), and the facility
entries (``files`` and ``counts``) of ``manifest.json``.

The operating facilities reproduce the figures of the bureau's 2023 report exactly:

* 12 elderly-care institutions (养老机构): 1 city social welfare centre (in 赤马港街道 or 蒲圻街道),
  5 rural welfare homes (5 different 镇) and 6 private ones, with 2,623 beds of which 1,522
  (58.03 %) are nursing-type;
* 102 rural mutual-aid centres (农村互助照料中心) at distinct village points, 47 day-care centres
  (社区日间照料中心): one at every community of the urban units (街道, industrial park,
  development zone) and at every town-seat community but one, which has its town's elderly-care
  complex instead; 5 township elderly-care complexes (养老服务综合体) in 5 different towns;
* public cemeteries: 1 urban, 10 rural (10 different towns) and 1 village cemetery at 官塘驿镇西湾村,
  so that some townships still have no public cemetery (the 2025 goal is not met);
* 1 rescue station (救助管理站) in the city centre, 1 funeral home, 1 marriage registry,
  1 children's welfare institution, a disaster shelter (避灾点) per township, 30 meal points, and
  community service centres at every community and at 85 % of the villages.

A few facilities are ``planned`` or ``under_construction`` (no ``opened_on``); they are not part of
the 2023 figures.

Run ``python -m gis_data.facilities [--seed N] [--dir DIR]`` from the repository root (or
``python -m gis_data.generate``, which builds everything). The output is byte-identical for the
same seed and inputs.

Method (EPSG:4547 metres, seeded ``numpy`` generators, one stream per facility group): every
facility is anchored at a village or community point and placed 50-300 m from it in a random
direction (cemeteries and the funeral home 400-1,500 m, away from every settlement point), at least
30 m inside the anchor's township polygon, inside the real county polygon, closer to its anchor
than to any other village point and at least 20 m from every other facility. Beds and nursing beds
are apportioned to the exact totals with the largest-remainder method.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from shapely.geometry import MultiPolygon, Point, shape
from shapely.prepared import prep

from gis_data.generate import (
    COUNTIES_FILE,
    COUNTY_CODE,
    DEMO_DIR,
    MANIFEST_FILE,
    SEED,
    SOURCE_DIR,
    TOWNSHIP_LAYOUT,
    TOWNSHIPS_FILE,
    URBAN_CLASSES,
    VILLAGES_FILE,
    _rng,
    _sha256,
    apportion,
    layer_main,
    quantize,
    to_geo,
    to_metric,
)
from gis_data.roads import (
    add_to_manifest,
    feature_collection_text,
    manifest_text,
    read_demo_inputs,
    short_place_name,
)

FACILITIES_VERSION = "1.0.0"
FACILITIES_FILE = "chibi_facilities.geojson"

# Facility types (key: Chinese label). The application keeps its own copy as data; this one is the
# vocabulary of the demo file.
FACILITY_TYPES: dict[str, str] = {
    "elderly_institution": "养老机构",
    "day_care": "社区日间照料中心",
    "rural_mutual_aid": "农村互助照料中心",
    "elderly_complex": "养老服务综合体",
    "meal_point": "助餐点",
    "cemetery_urban": "城市公益性公墓",
    "cemetery_rural": "农村公益性公墓",
    "cemetery_village": "村级公益性公墓",
    "funeral_home": "殡仪馆",
    "rescue_station": "救助管理站",
    "community_centre": "社区服务中心",
    "disaster_shelter": "避灾点",
    "marriage_registry": "婚姻登记处",
    "children_welfare": "儿童福利机构",
}
PUBLIC_CEMETERY_TYPES = ("cemetery_urban", "cemetery_rural")  # a village cemetery serves its villagers only
STATUSES = ("planned", "under_construction", "operating", "closed")
OPERATORS = ("public", "private")
PROPERTY_KEYS = (
    "code",
    "type",
    "name",
    "division_code",
    "operator",
    "status",
    "opened_on",
    "beds",
    "nursing_beds",
    "plots_total",
    "plots_used",
    "area_mu",
    "area_m2",
    "places",
    "star_rating",
    "synthetic",
)

# -- the bureau's 2023 report (operating facilities) -----------------------------------------------
REPORT_YEAR_END = dt.date(2023, 12, 31)
TOTAL_BEDS = 2623
NURSING_SHARE = 0.5803
TOTAL_NURSING_BEDS = round(TOTAL_BEDS * NURSING_SHARE)  # 1,522
N_RURAL_WELFARE_HOMES = 5
N_PRIVATE_INSTITUTIONS = 6
N_MUTUAL_AID = 102
N_DAY_CARE = 47
N_COMPLEXES = 5
N_RURAL_CEMETERIES = 10
N_MEAL_POINTS = 30
RURAL_CSC_SHARE = 0.85  # community service centres at 85 % of the villages (target: >= 80 %)
EXPECTED_COUNTS: dict[str, int] = {  # operating facilities by type
    "elderly_institution": 1 + N_RURAL_WELFARE_HOMES + N_PRIVATE_INSTITUTIONS,
    "day_care": N_DAY_CARE,
    "rural_mutual_aid": N_MUTUAL_AID,
    "elderly_complex": N_COMPLEXES,
    "meal_point": N_MEAL_POINTS,
    "cemetery_urban": 1,
    "cemetery_rural": N_RURAL_CEMETERIES,
    "cemetery_village": 1,
    "funeral_home": 1,
    "rescue_station": 1,
    "community_centre": -1,  # one per community + round(0.85 x villages), filled in by the build
    "disaster_shelter": len(TOWNSHIP_LAYOUT),
    "marriage_registry": 1,
    "children_welfare": 1,
}

WELFARE_CENTRE_TOWNS = ("421281001", "421281002")  # 蒲圻街道, 赤马港街道 (city centre)
VILLAGE_CEMETERY = ("421281108", "西湾村")  # 官塘驿镇西湾村
NO_RURAL_CEMETERY_TOWN = "421281105"  # 柳山湖镇: the one town without a public cemetery (one is planned)
VIRTUAL_MARKER = "虚拟"  # 虚拟社区 / 虚拟生活区: statistical units, facilities named after the township

# geometry (metres)
NEAR_OFFSET_M = (50.0, 300.0)
CEMETERY_OFFSET_M = (400.0, 1500.0)
CEMETERY_CLEARANCE_M = 400.0  # from every village / community point
TOWNSHIP_MARGIN_M = 30.0
FACILITY_SPACING_M = 20.0

# seeded random streams (generate.py uses 2-4, roads.py 50-58, addresses.py 70-76)
(
    _S_INSTITUTIONS,
    _S_DAY_CARE,
    _S_MUTUAL_AID,
    _S_COMPLEX,
    _S_MEAL,
    _S_CEMETERY,
    _S_CITY,
    _S_CSC,
    _S_SHELTER,
    _S_PLANNED,
) = range(90, 100)

PRIVATE_SPECIFICS = ("康乐", "颐和", "福寿", "夕阳红", "松鹤", "安康", "仁和", "乐龄", "康寿")
PRIVATE_GENERICS = ("老年公寓", "养老院", "养护院", "康养中心", "护理院")


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Town:
    code: str
    name: str
    cls: str
    geo: object
    inner: object  # metric polygon shrunk by TOWNSHIP_MARGIN_M (prepared)


@dataclass(frozen=True)
class _Village:
    code: str
    name: str
    kind: str
    parent: str
    xy: np.ndarray
    population: int
    pop60: int
    households: int

    @property
    def virtual(self) -> bool:
        return VIRTUAL_MARKER in self.name


def place_name(village_name: str) -> str:
    """营里社区居委会 -> 营里社区, 泉口村委会 -> 泉口村, 赵李桥居委会 -> 赵李桥社区."""
    return short_place_name(village_name)


def is_urban_township(code: str) -> bool:
    """街道, industrial park and development zone (the urban classes of ``gis_data.generate``)."""
    return TOWNSHIP_LAYOUT[code][3] in URBAN_CLASSES


def load_county(source_dir: Path = SOURCE_DIR):
    """The real 赤壁市 county polygon (lon/lat EPSG:4490) from the source file."""
    fc = json.loads((Path(source_dir) / COUNTIES_FILE).read_text(encoding="utf-8"))
    feature = next(f for f in fc["features"] if str(f["properties"]["adcode"]) == COUNTY_CODE)
    geom = shape(feature["geometry"])
    if isinstance(geom, MultiPolygon):
        geom = max(geom.geoms, key=lambda g: g.area)
    return geom


# --------------------------------------------------------------------------------------------
# Placement
# --------------------------------------------------------------------------------------------


class _Placer:
    def __init__(self, townships_fc: dict, villages_fc: dict, county) -> None:
        self.towns: dict[str, _Town] = {}
        for f in sorted(townships_fc["features"], key=lambda f: f["properties"]["code"]):
            p = f["properties"]
            geo = shape(f["geometry"])
            inner = to_metric(geo).buffer(-TOWNSHIP_MARGIN_M)
            self.towns[p["code"]] = _Town(
                p["code"], p["name"], TOWNSHIP_LAYOUT[p["code"]][3], geo, prep(inner)
            )
        self.villages: dict[str, _Village] = {}
        for f in sorted(villages_fc["features"], key=lambda f: f["properties"]["code"]):
            p = f["properties"]
            pt = to_metric(shape(f["geometry"]))
            self.villages[p["code"]] = _Village(
                p["code"],
                p["name"],
                p["kind"],
                p["parent_code"],
                np.array([pt.x, pt.y]),
                int(p["population"]),
                int(p["population_60_plus"]),
                int(p["households"]),
            )
        self.codes = list(self.villages)
        self.vxy = np.array([self.villages[c].xy for c in self.codes])
        self.county = prep(county)
        self.placed: list[np.ndarray] = []

    # -- selections --------------------------------------------------------------------------

    def members(self, town: str, kind: str | None = None, real: bool = True) -> list[_Village]:
        return [
            v
            for v in self.villages.values()
            if v.parent == town and (kind is None or v.kind == kind) and not (real and v.virtual)
        ]

    def seat(self, town: str) -> _Village:
        """The town seat: its most populous community, else the village nearest the real seat."""
        communities = self.members(town, "community", real=False)
        if communities:
            return max(communities, key=lambda v: (v.population, v.code))
        lon, lat = TOWNSHIP_LAYOUT[town][:2]
        seat = to_metric(Point(lon, lat))
        cands = self.members(town) or self.members(town, real=False)
        return min(cands, key=lambda v: (math.hypot(v.xy[0] - seat.x, v.xy[1] - seat.y), v.code))

    # -- sites -------------------------------------------------------------------------------

    def _accept(self, p: np.ndarray, town: str) -> Point | None:
        if not self.towns[town].inner.contains(Point(p)):
            return None
        if self.placed and np.min(np.hypot(*(np.asarray(self.placed) - p).T)) < FACILITY_SPACING_M:
            return None
        q = Point(quantize(to_geo(Point(p)).coords[0]))
        if not (self.towns[town].geo.contains(q) and self.county.contains(q)):
            return None
        return q

    def site(
        self,
        anchor: _Village,
        rng: np.random.Generator,
        offset: tuple[float, float] = NEAR_OFFSET_M,
        clearance: float = 0.0,
    ) -> Point:
        """A point ``offset`` metres from ``anchor`` (closer to it than to any other village point,
        at least ``clearance`` from every village point), in its township and in the county."""
        lo, hi = offset
        own = self.codes.index(anchor.code)
        for attempt in range(2000):
            if attempt and attempt % 250 == 0:  # relax: shorter offsets, smaller clearance
                hi = max(lo + 10.0, hi * 0.8)
                clearance *= 0.8
            r = rng.uniform(lo, hi)
            a = rng.uniform(0.0, 2.0 * math.pi)
            p = anchor.xy + r * np.array([math.cos(a), math.sin(a)])
            d = np.hypot(*(self.vxy - p).T)
            others = np.delete(d, own)
            if others.size and others.min() <= d[own] + 1.0:
                continue
            if clearance and d.min() < clearance:
                continue
            q = self._accept(p, anchor.parent)
            if q is not None:
                self.placed.append(p)
                return q
        raise RuntimeError(f"no site near {anchor.code} {anchor.name}")

    def site_in_town(self, town: str, rng: np.random.Generator, clearance: float) -> Point:
        """A point anywhere in ``town`` at least ``clearance`` from every village point."""
        minx, miny, maxx, maxy = to_metric(self.towns[town].geo).bounds
        for attempt in range(5000):
            if attempt and attempt % 1000 == 0:
                clearance *= 0.8
            p = np.array([rng.uniform(minx, maxx), rng.uniform(miny, maxy)])
            if np.hypot(*(self.vxy - p).T).min() < clearance:
                continue
            q = self._accept(p, town)
            if q is not None:
                self.placed.append(p)
                return q
        raise RuntimeError(f"no site in {town}")


# --------------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------------


@dataclass
class FacilityData:
    """The synthetic facilities (``features``: properties + shapely lon/lat Point) and counts."""

    seed: int
    features: list[dict]
    counts: dict[str, int]


def _date(rng: np.random.Generator, first_year: int, last_year: int) -> str:
    start = dt.date(first_year, 1, 1)
    end = min(dt.date(last_year, 12, 31), REPORT_YEAR_END)
    return (start + dt.timedelta(days=int(rng.integers(0, (end - start).days + 1)))).isoformat()


def _round(x: float, step: int) -> int:
    return int(step * round(x / step))


def _choose(
    rng: np.random.Generator, items: Sequence, k: int, weights: Sequence[float] | None = None
) -> list:
    if k > len(items):
        raise RuntimeError(f"cannot choose {k} of {len(items)}")
    p = None
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        p = w / w.sum()
    idx = rng.choice(len(items), size=k, replace=False, p=p)
    return [items[int(i)] for i in sorted(idx)]


class _Builder:
    def __init__(self, placer: _Placer, seed: int) -> None:
        self.pl = placer
        self.seed = seed
        self.rows: list[dict] = []

    def label(self, v: _Village) -> str:
        """The name a facility at ``v`` carries: the village / community (prefixed with the township
        where two villages share a name, e.g. 十八里畈村), or the township for the statistical
        虚拟社区 / 虚拟生活区."""
        town = self.pl.towns[v.parent].name
        if v.virtual:
            return town
        short = place_name(v.name)
        same = sum(1 for x in self.pl.villages.values() if place_name(x.name) == short)
        return f"{town}{short}" if same > 1 else short

    def add(
        self, type_: str, name: str, division: str, point: Point, status: str = "operating", **props
    ) -> None:
        row = dict.fromkeys(PROPERTY_KEYS)
        row.update(
            type=type_,
            name=name,
            division_code=division,
            operator=props.pop("operator", "public"),
            status=status,
            synthetic=True,
        )
        row.update(props)
        if status != "operating":
            row["opened_on"] = None
        self.rows.append({"properties": row, "geometry": point})

    # -- elderly care ------------------------------------------------------------------------

    def institutions(self) -> None:
        rng = _rng(self.seed, _S_INSTITUTIONS)
        pl = self.pl
        towns_zhen = [c for c, t in pl.towns.items() if t.cls == "town" and t.name.endswith("镇")]
        urban = [c for c in pl.towns if is_urban_township(c)]
        centre_town = WELFARE_CENTRE_TOWNS[int(rng.integers(len(WELFARE_CENTRE_TOWNS)))]
        centre_at = _choose(rng, pl.members(centre_town, "community"), 1)[0]
        homes = _choose(rng, towns_zhen, N_RURAL_WELFARE_HOMES)
        private_urban = _choose(
            rng, [v for c in urban for v in pl.members(c, "community")], N_PRIVATE_INSTITUTIONS - 1
        )
        private_town = _choose(rng, [c for c in towns_zhen if c not in homes], 1)[0]
        specs: list[tuple[str, _Village, str]] = [("centre", centre_at, "赤壁市社会福利中心")]
        specs += [("home", pl.seat(c), f"{pl.towns[c].name}福利院") for c in homes]
        specifics = _choose(rng, PRIVATE_SPECIFICS, N_PRIVATE_INSTITUTIONS)
        rng.shuffle(specifics)
        for k, v in enumerate([*private_urban, pl.seat(private_town)]):
            generics = [g for g in PRIVATE_GENERICS if not set(g) & set(specifics[k])]  # no 安康康养中心
            generic = generics[int(rng.integers(len(generics)))]
            prefix = "赤壁市" if k < N_PRIVATE_INSTITUTIONS - 1 else pl.towns[v.parent].name
            specs.append(("private", v, f"{prefix}{specifics[k]}{generic}"))
        base = {"centre": 560.0, "home": 110.0, "private": 230.0}
        spread = {"centre": 0.1, "home": 0.25, "private": 0.3}
        share = {"centre": (0.55, 0.65), "home": (0.3, 0.5), "private": (0.55, 0.8)}
        weights = [base[k] * rng.lognormal(0.0, spread[k]) for k, _, _ in specs]
        beds = apportion(TOTAL_BEDS, weights)
        nursing = apportion(
            TOTAL_NURSING_BEDS, [b * rng.uniform(*share[k]) for b, (k, _, _) in zip(beds, specs, strict=True)]
        )
        if np.any(nursing > beds):
            raise RuntimeError("nursing beds exceed beds")
        stars = {"centre": (4,), "home": (None, 1, 2, 2, 3), "private": (None, None, 2, 3, 3, 4)}
        opened = {"centre": (2008, 2012), "home": (1995, 2012), "private": (2012, 2023)}
        for (kind, v, name), b, n in zip(specs, beds, nursing, strict=True):
            star = stars[kind][int(rng.integers(len(stars[kind])))]
            self.add(
                "elderly_institution",
                name,
                v.code,
                pl.site(v, rng, (100.0, 300.0)),
                operator="private" if kind == "private" else "public",
                opened_on=_date(rng, *opened[kind]),
                beds=int(b),
                nursing_beds=int(n),
                area_m2=_round(int(b) * rng.uniform(28.0, 45.0), 10),
                star_rating=star,
            )

    def complex_towns(self) -> list[str]:
        """The towns with the most older people get the township elderly-care complexes (the 6th
        one's is under construction)."""
        towns = [c for c, t in self.pl.towns.items() if t.cls == "town"]
        pop60 = {c: sum(v.pop60 for v in self.pl.members(c, real=False)) for c in towns}
        return sorted(towns, key=lambda c: (-pop60[c], c))[: N_COMPLEXES + 1]

    def community_care(self) -> None:
        pl = self.pl
        rng = _rng(self.seed, _S_COMPLEX)
        complex_towns = self.complex_towns()
        for k, town in enumerate(complex_towns):
            v = pl.seat(town)
            operating = k < N_COMPLEXES
            self.add(
                "elderly_complex",
                f"{pl.towns[town].name}养老服务综合体",
                v.code,
                pl.site(v, rng),
                status="operating" if operating else "under_construction",
                opened_on=_date(rng, 2020, 2023),
                places=int(rng.integers(40, 81)),
                area_m2=_round(rng.uniform(1500.0, 3500.0), 10),
            )
        # day care: every community of the urban units and every town-seat community, except the seat
        # of the largest complex town (its complex runs the day care)
        no_day_care = pl.seat(complex_towns[0]).code
        rng = _rng(self.seed, _S_DAY_CARE)
        communities = [v for v in pl.villages.values() if v.kind == "community" and v.code != no_day_care]
        if len(communities) != N_DAY_CARE:
            raise RuntimeError(f"{len(communities)} communities for {N_DAY_CARE} day-care centres")
        for v in communities:
            self.add(
                "day_care",
                f"{self.label(v)}日间照料中心",
                v.code,
                pl.site(v, rng),
                operator="private" if rng.random() < 0.2 else "public",
                opened_on=_date(rng, 2012, 2023),
                places=int(rng.integers(15, 41)),
                area_m2=max(200, _round(v.households * rng.uniform(0.22, 0.35), 10)),
            )
        # rural mutual-aid centres at distinct (real) villages of the rural townships
        rng = _rng(self.seed, _S_MUTUAL_AID)
        cands = [
            v
            for v in pl.villages.values()
            if v.kind == "village" and not v.virtual and not is_urban_township(v.parent)
        ]
        for v in _choose(rng, cands, N_MUTUAL_AID, [v.pop60 for v in cands]):
            self.add(
                "rural_mutual_aid",
                f"{self.label(v)}互助照料中心",
                v.code,
                pl.site(v, rng),
                opened_on=_date(rng, 2013, 2023),
                places=int(rng.integers(8, 31)),
                area_m2=_round(rng.uniform(150.0, 450.0), 10),
            )
        # meal points at communities, weighted by older people
        rng = _rng(self.seed, _S_MEAL)
        cands = [v for v in pl.villages.values() if v.kind == "community" and not v.virtual]
        for v in _choose(rng, cands, N_MEAL_POINTS, [v.pop60 for v in cands]):
            self.add(
                "meal_point",
                f"{self.label(v)}助餐点",
                v.code,
                pl.site(v, rng),
                operator="private" if rng.random() < 0.3 else "public",
                opened_on=_date(rng, 2019, 2023),
                places=_round(rng.uniform(30.0, 120.0), 5),
                area_m2=_round(rng.uniform(80.0, 250.0), 10),
            )

    # -- cemeteries and city-level facilities --------------------------------------------------

    def cemeteries(self) -> None:
        pl = self.pl
        rng = _rng(self.seed, _S_CEMETERY)
        street_villages = [
            v for c, t in pl.towns.items() if t.cls == "street" for v in pl.members(c, "village")
        ]
        at = _choose(rng, street_villages, 1)[0]
        plots = _round(rng.uniform(12000.0, 18000.0), 100)
        self.add(
            "cemetery_urban",
            "赤壁市城市公益性公墓",
            at.code,
            pl.site(at, rng, CEMETERY_OFFSET_M, CEMETERY_CLEARANCE_M),
            opened_on=_date(rng, 2003, 2008),
            plots_total=plots,
            plots_used=_round(plots * rng.uniform(0.6, 0.85), 1),
            area_mu=round(float(rng.uniform(120.0, 180.0)), 1),
        )
        rural = [c for c, t in pl.towns.items() if t.cls == "town" and c != NO_RURAL_CEMETERY_TOWN]
        if len(rural) != N_RURAL_CEMETERIES:
            raise RuntimeError("rural cemetery towns")
        for town in rural:
            seat = pl.seat(town).code
            at = _choose(rng, [v for v in pl.members(town, "village") if v.code != seat], 1)[0]
            plots = _round(rng.uniform(2000.0, 6000.0), 50)
            self.add(
                "cemetery_rural",
                f"{pl.towns[town].name}公益性公墓",
                at.code,
                pl.site(at, rng, CEMETERY_OFFSET_M, CEMETERY_CLEARANCE_M),
                opened_on=_date(rng, 2008, 2022),
                plots_total=plots,
                plots_used=_round(plots * rng.uniform(0.3, 0.75), 1),
                area_mu=round(float(rng.uniform(20.0, 60.0)), 1),
            )
        town, village = VILLAGE_CEMETERY
        at = next(v for v in pl.members(town, "village") if place_name(v.name) == village)
        plots = _round(rng.uniform(300.0, 600.0), 10)
        self.add(
            "cemetery_village",
            f"{pl.towns[town].name}{village}公益性公墓",
            at.code,
            pl.site(at, rng, (300.0, 900.0), 300.0),
            opened_on=_date(rng, 2016, 2022),
            plots_total=plots,
            plots_used=_round(plots * rng.uniform(0.2, 0.6), 1),
            area_mu=round(float(rng.uniform(5.0, 12.0)), 1),
        )
        # the 2025 goal: a public cemetery planned in the town without one (site not fixed to a village)
        rng_p = _rng(self.seed, _S_PLANNED)
        self.add(
            "cemetery_rural",
            f"{pl.towns[NO_RURAL_CEMETERY_TOWN].name}公益性公墓",
            NO_RURAL_CEMETERY_TOWN,
            pl.site_in_town(NO_RURAL_CEMETERY_TOWN, rng_p, 800.0),
            status="planned",
            plots_total=_round(rng_p.uniform(2000.0, 4000.0), 50),
            plots_used=0,
            area_mu=round(float(rng_p.uniform(20.0, 40.0)), 1),
        )

    def city(self) -> None:
        pl = self.pl
        rng = _rng(self.seed, _S_CITY)
        centre = [v for c in WELFARE_CENTRE_TOWNS for v in pl.members(c, "community")]
        rescue, registry = _choose(rng, centre, 2)
        self.add(
            "rescue_station",
            "赤壁市救助管理站",
            rescue.code,
            pl.site(rescue, rng),
            opened_on=_date(rng, 2006, 2014),
            places=int(rng.integers(30, 61)),
            area_m2=_round(rng.uniform(1200.0, 2500.0), 10),
        )
        self.add(
            "marriage_registry",
            "赤壁市婚姻登记处",
            registry.code,
            pl.site(registry, rng),
            opened_on=_date(rng, 1999, 2015),
            area_m2=_round(rng.uniform(400.0, 800.0), 10),
        )
        # the children's welfare institution next to the social welfare centre
        welfare = next(r for r in self.rows if r["properties"]["name"] == "赤壁市社会福利中心")
        at = pl.villages[welfare["properties"]["division_code"]]
        self.add(
            "children_welfare",
            "赤壁市儿童福利院",
            at.code,
            pl.site(at, rng),
            opened_on=_date(rng, 2000, 2015),
            places=int(rng.integers(40, 81)),
            area_m2=_round(rng.uniform(3000.0, 5000.0), 10),
        )
        street_villages = [
            v for c, t in pl.towns.items() if t.cls == "street" for v in pl.members(c, "village")
        ]
        at = _choose(rng, street_villages, 1)[0]
        self.add(
            "funeral_home",
            "赤壁市殡仪馆",
            at.code,
            pl.site(at, rng, CEMETERY_OFFSET_M, CEMETERY_CLEARANCE_M),
            opened_on=_date(rng, 1986, 1998),
            area_mu=round(float(rng.uniform(40.0, 60.0)), 1),
            area_m2=_round(rng.uniform(4000.0, 8000.0), 10),
        )

    # -- community service centres and shelters ------------------------------------------------

    def service_centres(self) -> None:
        pl = self.pl
        rng = _rng(self.seed, _S_CSC)
        villages = [v for v in pl.villages.values() if v.kind == "village"]
        covered = {v.code for v in _choose(rng, villages, round(RURAL_CSC_SHARE * len(villages)))}
        for v in pl.villages.values():
            if v.kind == "village" and v.code not in covered:
                continue
            suffix = "服务中心" if v.kind == "community" else "综合服务中心"
            self.add(
                "community_centre",
                f"{self.label(v)}{suffix}",
                v.code,
                pl.site(v, rng),
                opened_on=_date(rng, 2010, 2023),
                area_m2=max(150, _round(v.households * 0.30 * rng.uniform(0.85, 1.8), 10)),
            )
        rng = _rng(self.seed, _S_SHELTER)
        for code, town in pl.towns.items():
            v = pl.seat(code)
            pop = sum(x.population for x in pl.members(code, real=False))
            places = max(100, _round(pop * rng.uniform(0.02, 0.05), 50))
            self.add(
                "disaster_shelter",
                f"{town.name}中心避灾点",
                v.code,
                pl.site(v, rng),
                opened_on=_date(rng, 2010, 2023),
                places=places,
                area_m2=_round(places * rng.uniform(2.0, 4.0), 10),
            )

    def planned(self) -> None:
        """A planned second day-care centre in the community with the most older people."""
        pl = self.pl
        rng = _rng(self.seed, _S_PLANNED, 1)
        v = max(
            (v for v in pl.villages.values() if v.kind == "community" and is_urban_township(v.parent)),
            key=lambda v: (v.pop60, v.code),
        )
        self.add(
            "day_care",
            f"{self.label(v)}第二日间照料中心",
            v.code,
            pl.site(v, rng),
            status="planned",
            places=int(rng.integers(20, 41)),
            area_m2=_round(rng.uniform(300.0, 600.0), 10),
        )


def build_facilities(
    townships_fc: dict | None = None,
    villages_fc: dict | None = None,
    seed: int = SEED,
    demo_dir: Path = DEMO_DIR,
    source_dir: Path = SOURCE_DIR,
) -> FacilityData:
    """Build the synthetic facilities (deterministic for the same inputs and seed).

    ``townships_fc`` / ``villages_fc`` are the parsed GeoJSON of the demo townships and villages;
    when omitted they are read from ``demo_dir``.
    """
    if townships_fc is None or villages_fc is None:
        townships_fc, villages_fc = read_demo_inputs(demo_dir)
    b = _Builder(_Placer(townships_fc, villages_fc, load_county(source_dir)), seed)
    b.institutions()
    b.community_care()
    b.cemeteries()
    b.city()
    b.service_centres()
    b.planned()

    order = {t: k for k, t in enumerate(FACILITY_TYPES)}
    rows = sorted(
        b.rows,
        key=lambda r: (
            order[r["properties"]["type"]],
            r["properties"]["status"] != "operating",
            r["properties"]["division_code"],
            r["properties"]["name"],
        ),
    )
    for k, r in enumerate(rows):
        r["properties"]["code"] = f"F{k + 1:04d}"
        r["properties"] = {key: r["properties"][key] for key in PROPERTY_KEYS}
    counts = _counts(rows)
    expected = dict(EXPECTED_COUNTS)
    n_villages = sum(1 for v in b.pl.villages.values() if v.kind == "village")
    n_communities = len(b.pl.villages) - n_villages
    expected["community_centre"] = n_communities + round(RURAL_CSC_SHARE * n_villages)
    operating = {t: 0 for t in FACILITY_TYPES}
    for r in rows:
        if r["properties"]["status"] == "operating":
            operating[r["properties"]["type"]] += 1
    if operating != expected:
        raise RuntimeError(f"unexpected counts {operating} != {expected}")
    return FacilityData(seed, rows, counts)


def _counts(rows: Sequence[dict]) -> dict[str, int]:
    operating = [r["properties"] for r in rows if r["properties"]["status"] == "operating"]
    return {
        "facilities": len(rows),
        "facilities_operating": len(operating),
        "elderly_beds": sum(p["beds"] or 0 for p in operating if p["type"] == "elderly_institution"),
        "elderly_nursing_beds": sum(
            p["nursing_beds"] or 0 for p in operating if p["type"] == "elderly_institution"
        ),
    }


def facility_blobs(data: FacilityData) -> dict[str, bytes]:
    """The bytes of the facility file."""
    return {FACILITIES_FILE: feature_collection_text("chibi_facilities", data.features).encode("utf-8")}


def add_to_demo(blobs: dict[str, bytes], hashes: dict[str, str], manifest: dict, seed: int) -> dict:
    """Hook for ``gis_data.generate.write``: build the facilities from the township and village
    blobs, add their bytes to ``blobs`` and their hash to ``hashes``; returns the new manifest."""
    data = build_facilities(json.loads(blobs[TOWNSHIPS_FILE]), json.loads(blobs[VILLAGES_FILE]), seed)
    new = facility_blobs(data)
    blobs.update(new)
    hashes.update({name: _sha256(blob) for name, blob in new.items()})
    return add_to_manifest(manifest, new, data.counts)


def write_facilities(data: FacilityData, out_dir: Path = DEMO_DIR) -> dict[str, str]:
    """Write the facility file to ``out_dir`` and add it to its manifest; returns ``{file: sha256}``."""
    out_dir = Path(out_dir)
    manifest_path = out_dir / MANIFEST_FILE
    if not manifest_path.exists():
        raise FileNotFoundError(f"{manifest_path} missing: run python -m gis_data.generate first")
    blobs = facility_blobs(data)
    manifest = add_to_manifest(json.loads(manifest_path.read_text(encoding="utf-8")), blobs, data.counts)
    blobs[MANIFEST_FILE] = manifest_text(manifest).encode("utf-8")
    for name, blob in blobs.items():
        (out_dir / name).write_bytes(blob)
    return {name: _sha256(blob) for name, blob in sorted(blobs.items())}


build = build_facilities
write = write_facilities


def main(argv: Sequence[str] | None = None) -> int:
    return layer_main(
        "python -m gis_data.facilities", __doc__.splitlines()[0], build_facilities, write_facilities, argv
    )


if __name__ == "__main__":
    raise SystemExit(main())

"""Reproducible demo-county generator for 赤壁市 (Hubei, 421281).

Pure module: no Django import. It reads the real source data in ``gis_data/source/`` and writes
the SYNTHETIC demo layers to ``gis_data/demo/``:

* ``chibi_townships.geojson`` - 19 synthetic township polygons (合成数据, not official boundaries)
  that partition the real 赤壁市 county polygon exactly, with the real NBS 2023 codes and names;
* ``chibi_villages.geojson`` - 190 synthetic village/community points with the real codes and
  names and synthetic populations that add up to the real 2020 census totals;
* the synthetic road network built from them by ``gis_data.roads`` (``chibi_road_segments``,
  ``chibi_roads``, ``chibi_road_signs``);
* the synthetic house-number inputs built on the roads by ``gis_data.addresses``
  (``chibi_address_entrances``, ``chibi_compounds``, ``chibi_compound_buildings``,
  ``chibi_rural_households``, ``chibi_certificate_requests.json``);
* ``manifest.json`` - seed, generator version, counts, totals and SHA-256 of every output file.

Run ``python -m gis_data.generate [--seed N] [--out DIR]`` from the repository root. The output is
byte-identical for the same seed (sorted keys, coordinates rounded to 6 decimals, no timestamps).

Method (all geometry work in EPSG:4547, CGCS2000 / 3-degree Gauss-Kruger CM 114E, metres):

1. one site per township at its approximate real position (moved to the nearest interior point
   if it falls outside the county);
2. a power diagram (additively weighted Voronoi) of the sites clipped to the county, with weights
   fitted by damped Newton iterations so that every cell gets its target area, and the sites
   relaxed a few times halfway towards their cell centroids (anchored to the real positions) so
   that cells stay compact; the five urban units are first fitted as one city cell around the
   real city centre, which is then split among them the same way;
3. detached fragments are given to the neighbour with the longest shared border, so that every
   township is one piece;
4. the interior edges of that planar subdivision are wiggled (seeded, validated so that no edge
   crosses another one), the subdivision is transformed to lon/lat, rounded to 6 decimals,
   noded on the 1e-6 degree grid and polygonized again - so neighbours share exactly the same
   rounded vertices and the outer boundary is the rounded county boundary;
5. villages are placed inside their (final, rounded) township: communities clustered around the
   township's core, villages spread by seeded dart throwing with a minimum spacing;
6. populations are apportioned with the largest-remainder method to the exact census totals.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.ops import nearest_points

SEED = 20230630
GENERATOR_VERSION = "1.0.0"

COUNTY_CODE = "421281"
GEO_CRS = "EPSG:4490"  # CGCS2000 lon/lat
METRIC_CRS = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E (metres)
DECIMALS = 6
GRID_DEG = 10.0**-DECIMALS

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_DIR = PACKAGE_DIR / "source"
DEMO_DIR = PACKAGE_DIR / "demo"

COUNTIES_FILE = "chibi_region_counties.geojson"
DIVISIONS_FILE = "chibi_divisions_2023.csv"
CENSUS_FILE = "chibi_region_census2020.csv"
TOWNSHIPS_FILE = "chibi_townships.geojson"
VILLAGES_FILE = "chibi_villages.geojson"
MANIFEST_FILE = "manifest.json"

HOUSEHOLD_SIZE = Decimal("2.62")  # persons per household for the exact household total
COMMUNITY_MARKERS = ("社区", "居委会", "居民委员会")

# code: (approximate lon, lat of the township seat, target area km², class)
# Classes: "street" = urban 街道, "park" = urban development zone / industrial park,
# "town" = 镇/乡, "farm" = state forest / tea farm / agricultural development zone.
# Target areas of non-urban units are rescaled so that all targets add up to the county area.
TOWNSHIP_LAYOUT: dict[str, tuple[float, float, float, str]] = {
    "421281001": (113.893, 29.722, 30.0, "street"),  # 蒲圻街道 (old town)
    "421281002": (113.928, 29.738, 40.0, "street"),  # 赤马港街道 (new town, 赤壁北站)
    "421281003": (113.902, 29.692, 55.0, "street"),  # 陆水湖街道 (towards 陆水湖)
    "421281100": (113.650, 29.550, 130.0, "town"),  # 新店镇 (SW)
    "421281101": (113.780, 29.600, 120.0, "town"),  # 赵李桥镇 (S)
    "421281102": (113.970, 29.580, 150.0, "town"),  # 茶庵岭镇 (SE)
    "421281103": (113.850, 29.860, 140.0, "town"),  # 车埠镇 (N)
    "421281104": (113.630, 29.870, 130.0, "town"),  # 赤壁镇 (NW, Yangtze)
    "421281105": (114.080, 29.930, 100.0, "town"),  # 柳山湖镇 (NE)
    "421281106": (113.980, 29.850, 160.0, "town"),  # 神山镇
    "421281107": (114.070, 29.780, 150.0, "town"),  # 中伙铺镇 (E)
    "421281108": (114.100, 29.620, 220.0, "town"),  # 官塘驿镇 (SE)
    "421281109": (113.530, 29.720, 100.0, "town"),  # 黄盖湖镇 (far W)
    "421281200": (113.720, 29.720, 110.0, "town"),  # 余家桥乡
    "421281400": (113.872, 29.706, 12.0, "park"),  # 蒲纺工业园
    "421281401": (114.170, 29.700, 35.0, "farm"),  # 官塘驿林场 (near 官塘驿)
    "421281402": (113.830, 29.570, 25.0, "farm"),  # 羊楼洞茶场 (S, near 赵李桥)
    "421281403": (113.780, 29.920, 60.0, "farm"),  # 沧湖开发区 (N)
    "421281404": (113.955, 29.755, 25.0, "park"),  # 赤壁市经济开发区
}
URBAN_CLASSES = frozenset({"street", "park"})
SEED_MARGIN_M = 2000.0  # seeds are kept at least this far inside the county
# how strongly relaxed sites stay at their real position (1 = fixed, 0 = plain Lloyd relaxation)
RURAL_ANCHOR_PULL = 0.5
CITY_ANCHOR_PULL = 0.85
URBAN_ANCHOR_PULL = 0.7
VILLAGE_MARGIN_M = 150.0  # village points are kept at least this far inside their township
POPULATION_CLASS_FACTOR = {"street": 1.35, "park": 1.1, "town": 1.0, "farm": 0.8}


# --------------------------------------------------------------------------------------------
# Source data
# --------------------------------------------------------------------------------------------


def load_source_counties(source_dir: Path = SOURCE_DIR) -> gpd.GeoDataFrame:
    """The 8 real county polygons (赤壁市 and its neighbours), lon/lat EPSG:4490."""
    gdf = gpd.read_file(source_dir / COUNTIES_FILE)
    for col in ("adcode", "city_code", "province_code"):
        gdf[col] = gdf[col].astype(str)
    return gdf.set_crs(GEO_CRS, allow_override=True)


def load_source_divisions(source_dir: Path = SOURCE_DIR) -> pd.DataFrame:
    """Real NBS 2023 division codes of 赤壁市: ``code,name,level,parent_code`` (all strings)."""
    return pd.read_csv(source_dir / DIVISIONS_FILE, dtype=str, keep_default_na=False)


def load_source_census(source_dir: Path = SOURCE_DIR) -> pd.DataFrame:
    """2020 census county populations and 60+ age-band shares (kept as strings for exact sums)."""
    return pd.read_csv(source_dir / CENSUS_FILE, dtype=str, keep_default_na=False)


def census_totals(census: pd.DataFrame, adcode: str = COUNTY_CODE) -> dict[str, object]:
    """Exact totals: population, 60+ share (sum of the six bands) and the derived integer totals."""
    row = census.loc[census["adcode"] == adcode].iloc[0]
    population = int(row["population"])
    share = sum((Decimal(row[c]) for c in census.columns if c.startswith("share_")), Decimal(0))
    pop60 = int((Decimal(population) * share).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    households = int((Decimal(population) / HOUSEHOLD_SIZE).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return {
        "population": population,
        "share_60_plus": str(share),
        "population_60_plus": pop60,
        "households": households,
    }


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

_TO_METRIC = Transformer.from_crs(GEO_CRS, METRIC_CRS, always_xy=True)
_TO_GEO = Transformer.from_crs(METRIC_CRS, GEO_CRS, always_xy=True)


def _transformer(tr: Transformer) -> Callable[[np.ndarray], np.ndarray]:
    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return fn


def to_metric(geom):
    return shapely.transform(geom, _transformer(_TO_METRIC))


def to_geo(geom):
    return shapely.transform(geom, _transformer(_TO_GEO))


def quantize(values):
    """Round to 6 decimals; ``rint(x * 1e6) / 1e6`` is the double nearest to the decimal value."""
    return np.rint(np.asarray(values, dtype=float) * 10**DECIMALS) / 10**DECIMALS


def quantize_geom(geom):
    return shapely.transform(geom, quantize)


def apportion(total: int, weights: Sequence[float]) -> np.ndarray:
    """Largest-remainder apportionment of an integer total proportionally to ``weights``."""
    w = np.asarray(weights, dtype=float)
    if total < 0 or w.size == 0 or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("apportion needs a non-negative total and positive weights")
    quotas = total * w / w.sum()
    out = np.floor(quotas).astype(np.int64)
    rest = int(total - out.sum())
    order = np.lexsort((np.arange(w.size), -(quotas - out)))  # largest remainder first, then index
    out[order[:rest]] += 1
    return out


def layer_main(
    prog: str,
    description: str,
    build: Callable[..., object],
    write: Callable[[object, Path], dict[str, str]],
    argv: Sequence[str] | None = None,
) -> int:
    """Command line shared by the layer generators (roads, addresses): --seed (default: the manifest's
    seed) and --dir; builds, writes and prints the counts and file hashes."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the manifest's seed)")
    parser.add_argument("--dir", type=Path, default=DEMO_DIR, help="demo directory (default gis_data/demo)")
    args = parser.parse_args(argv)
    seed = args.seed
    if seed is None:
        manifest_path = args.dir / MANIFEST_FILE
        manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
        seed = manifest.get("seed", SEED)
    data = build(seed=seed, demo_dir=args.dir)
    hashes = write(data, args.dir)
    counts = data.counts  # type: ignore[attr-defined]
    print(f"seed {seed}: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + f" -> {args.dir}")
    for name, digest in hashes.items():
        print(f"  {digest}  {name}")
    return 0


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, *stream])


def _as_polygons(geom) -> list[Polygon]:
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    return [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon) and not g.is_empty]


# --------------------------------------------------------------------------------------------
# Power diagram with target areas
# --------------------------------------------------------------------------------------------


def _half_plane(pi: np.ndarray, pj: np.ndarray, wi: float, wj: float, size: float = 1e6):
    """Half-plane {x : |x-pi|^2 - wi <= |x-pj|^2 - wj} as a big polygon, and its boundary line."""
    n = pj - pi
    d = float(np.hypot(*n))
    nh = n / d
    x0 = (pi + pj) / 2 + nh * ((wi - wj) / (2 * d))
    tv = np.array([-nh[1], nh[0]])
    a, b = x0 - size * tv, x0 + size * tv
    poly = Polygon([a, b, b - size * nh, a - size * nh])
    return poly, LineString([a, b])


def _power_cells(sites: np.ndarray, weights: np.ndarray, region) -> list:
    cells = []
    for i in range(len(sites)):
        cell = region
        for j in range(len(sites)):
            if j != i:
                cell = shapely.intersection(cell, _half_plane(sites[i], sites[j], weights[i], weights[j])[0])
                if cell.is_empty:
                    break
        cells.append(cell)
    return cells


def _fit_power_diagram(sites: np.ndarray, targets: np.ndarray, region, tol: float = 0.002) -> list:
    """Power cells of ``sites`` clipped to ``region`` whose areas match ``targets`` (relative tol)."""
    n = len(sites)
    w = np.zeros(n)
    cells = _power_cells(sites, w, region)
    areas = np.array([c.area for c in cells])

    def badness(a: np.ndarray) -> float:
        return float(np.max(np.abs(a - targets) / targets))

    for _ in range(60):
        if badness(areas) < tol:
            break
        hess = np.zeros((n, n))
        for i in range(n):
            grown = cells[i].buffer(0.01)
            for j in range(i + 1, n):
                _, line = _half_plane(sites[i], sites[j], w[i], w[j])
                shared = shapely.intersection(line, grown).length
                if shared > 1.0:
                    coef = shared / (2 * float(np.hypot(*(sites[j] - sites[i]))))
                    hess[i, i] += coef
                    hess[j, j] += coef
                    hess[i, j] -= coef
                    hess[j, i] -= coef
        step_dir = np.linalg.lstsq(hess + 1e-9 * np.eye(n), targets - areas, rcond=None)[0]
        step_dir -= step_dir.mean()
        step = 1.0
        while step > 1e-3:
            # rounded so that last-bit differences between machines cannot propagate
            w_new = np.round(w + step * step_dir, 3)
            new_cells = _power_cells(sites, w_new, region)
            new_areas = np.array([c.area for c in new_cells])
            if np.all(new_areas > 0) and badness(new_areas) < badness(areas):
                w, cells, areas = w_new, new_cells, new_areas
                break
            step /= 2
        else:
            break
    return cells


def _relaxed_power_diagram(
    anchors: np.ndarray, targets: np.ndarray, region, anchor_pull: np.ndarray, rounds: int = 8
) -> tuple[list, np.ndarray]:
    """Power diagram with target areas whose sites are relaxed towards their cell centroids.

    With sites fixed at their real positions the fitted cells can end up far from their sites
    (and very elongated); moving each site to ``anchor_pull * anchor + (1 - anchor_pull) *
    centroid`` a few times (a capacity-constrained Lloyd relaxation kept near the real position)
    gives compact cells around the real positions. Returns the cells and the final sites.
    """
    inner = region.buffer(-min(SEED_MARGIN_M, 0.1 * math.sqrt(region.area)))
    sites = anchors.copy()
    cells = _fit_power_diagram(sites, targets, region)
    for _ in range(rounds):
        moved = []
        for anchor, cell, pull in zip(anchors, cells, anchor_pull, strict=True):
            c = cell.centroid
            p = Point(pull * anchor + (1 - pull) * np.array([c.x, c.y]))
            if not inner.contains(p):
                p = nearest_points(inner, p)[0]
            moved.append((p.x, p.y))
        sites = np.round(np.array(moved), 2)
        cells = _fit_power_diagram(sites, targets, region)
    return cells, sites


def _make_contiguous(cells: list, sites: np.ndarray) -> list:
    """Give every detached fragment of a cell to the neighbour with the longest shared border."""
    pieces: list[list[Polygon]] = []
    stray: list[tuple[int, Polygon]] = []
    for i, cell in enumerate(cells):
        parts = sorted(_as_polygons(cell), key=lambda p: -p.area)
        site = Point(sites[i])
        keep = next((k for k, p in enumerate(parts) if p.covers(site)), 0)
        pieces.append([parts[keep]])
        stray.extend((i, p) for k, p in enumerate(parts) if k != keep)
    for owner, part in sorted(stray, key=lambda t: -t[1].area):
        border = part.boundary
        best, best_len = owner, 0.0
        for k, plist in enumerate(pieces):
            if k == owner:
                continue
            shared = sum(shapely.intersection(border, p.buffer(0.01)).length for p in plist)
            if shared > best_len:
                best, best_len = k, shared
        pieces[best].append(part)
    return [shapely.union_all(p, grid_size=1e-3) if len(p) > 1 else p[0] for p in pieces]


# --------------------------------------------------------------------------------------------
# Planar subdivision: wiggle, round, polygonize
# --------------------------------------------------------------------------------------------


def _edge_network(polygons: list, grid_size: float) -> list[LineString]:
    boundaries = [p.boundary for p in polygons]
    noded = shapely.union_all(boundaries, grid_size=grid_size)
    merged = shapely.line_merge(noded)
    lines = list(getattr(merged, "geoms", [merged]))
    return [ln for ln in lines if ln.length > 0]


def _touches_only_at_ends(line: LineString, other: LineString) -> bool:
    inter = shapely.intersection(line, other)
    if inter.is_empty:
        return True
    if inter.geom_type not in ("Point", "MultiPoint"):
        return False
    ends = np.array([line.coords[0], line.coords[-1]])
    pts = np.array([p.coords[0] for p in getattr(inter, "geoms", [inter])])
    dist = np.min(np.hypot(pts[:, None, 0] - ends[None, :, 0], pts[:, None, 1] - ends[None, :, 1]), axis=1)
    return bool(np.all(dist < 1e-6))


def _wiggle(line: LineString, rng: np.random.Generator, spacing: float = 200.0) -> list[LineString]:
    """Candidate wiggled versions of an interior edge (decreasing amplitude)."""
    coords = np.asarray(line.coords)
    a, b = coords[0], coords[-1]
    chord = b - a
    length = float(np.hypot(*chord))
    if length < 3 * spacing:
        return []
    # distance along the edge of the densified points
    base = shapely.segmentize(line, spacing)
    pts = np.asarray(base.coords)
    t = np.clip(((pts - a) @ chord) / length**2, 0.0, 1.0)
    normal = np.array([-chord[1], chord[0]]) / length
    harmonics = [
        (6000.0, min(0.06 * length, 600.0)),
        (2200.0, min(0.035 * length, 250.0)),
        (700.0, min(0.015 * length, 80.0)),
    ]
    disp = np.zeros_like(t)
    for wavelength, amp in harmonics:
        amp *= rng.uniform(0.6, 1.0)
        phase = rng.uniform(0.0, 2 * math.pi)
        disp += amp * np.sin(2 * math.pi * t * length / wavelength + phase)
    disp *= np.sin(math.pi * t)
    out = []
    for scale in (1.0, 0.5, 0.25):
        moved = pts + np.outer(disp * scale, normal)
        moved[0], moved[-1] = pts[0], pts[-1]
        out.append(LineString(moved))
    return out


def _wiggled_network(lines: list[LineString], county_m, seed: int) -> list[LineString]:
    """Wiggle the interior edges; keep an edge straight if every wiggle would cross something."""
    outer = county_m.boundary.buffer(0.01)
    inside = county_m.buffer(0.01)
    edges = sorted(
        lines, key=lambda ln: (np.round(ln.coords[0], 3).tolist(), np.round(ln.coords[-1], 3).tolist())
    )
    for idx, edge in enumerate(edges):
        if outer.covers(edge):
            continue
        rng = _rng(seed, 2, idx)
        for cand in _wiggle(edge, rng):
            if not cand.is_simple or not inside.covers(cand):
                continue
            if all(_touches_only_at_ends(cand, other) for k, other in enumerate(edges) if k != idx):
                edges[idx] = cand
                break
    return edges


def _label_faces(faces: list[Polygon], labelled: list) -> list[int]:
    """Index of the labelled polygon that overlaps each face most."""
    tree = shapely.STRtree(labelled)
    out = []
    for face in faces:
        cand = tree.query(face)
        overlaps = [(shapely.intersection(face, labelled[k]).area, -int(k)) for k in cand]
        if not overlaps:
            raise RuntimeError("face outside every township")
        out.append(-max(overlaps)[1])
    return out


def _assemble(faces: list[Polygon], labels: list[int], n: int, grid_size: float | None) -> list:
    groups: list[list[Polygon]] = [[] for _ in range(n)]
    for face, lab in zip(faces, labels, strict=True):
        groups[lab].append(face)
    out = []
    for g in groups:
        if not g:
            raise RuntimeError("a township lost all its faces")
        out.append(g[0] if len(g) == 1 else shapely.union_all(g, grid_size=grid_size))
    return out


def _two_level_cells(sites: np.ndarray, targets: np.ndarray, urban: np.ndarray, region) -> list:
    """Power cells with target areas; the urban units first share one city cell, then split it.

    A single power diagram with a tight cluster of small urban cells among large rural ones pushes
    the small cells away from their sites, so the city is first fitted as one unit (site = mean of
    the urban sites, target = their total) and then subdivided among the urban units.
    """
    rural_idx = np.flatnonzero(~urban)
    urban_idx = np.flatnonzero(urban)
    top_sites = np.vstack([sites[rural_idx], sites[urban_idx].mean(axis=0)])
    top_targets = np.append(targets[rural_idx], targets[urban_idx].sum())
    top_pull = np.append(np.full(len(rural_idx), RURAL_ANCHOR_PULL), CITY_ANCHOR_PULL)
    top, top_sites = _relaxed_power_diagram(top_sites, top_targets, region, top_pull)
    top = _make_contiguous(top, top_sites)
    city = top[-1]
    sub_targets = targets[urban_idx] * city.area / targets[urban_idx].sum()
    sub_pull = np.full(len(urban_idx), URBAN_ANCHOR_PULL)
    sub, sub_sites = _relaxed_power_diagram(sites[urban_idx], sub_targets, city, sub_pull)
    sub = _make_contiguous(sub, sub_sites)
    cells: list = [None] * len(sites)
    for k, i in enumerate(rural_idx):
        cells[i] = top[k]
    for k, i in enumerate(urban_idx):
        cells[i] = sub[k]
    return cells


def build_township_polygons(
    county_geo: Polygon, sites_geo: np.ndarray, targets_km2: np.ndarray, urban: Sequence[bool], seed: int
):
    """Synthetic township polygons partitioning ``county_geo``: (lon/lat polygons, metric sites)."""
    county_m = to_metric(county_geo)
    inner = county_m.buffer(-SEED_MARGIN_M)
    sites_m = []
    for lon, lat in sites_geo:
        x, y = _TO_METRIC.transform(lon, lat)
        p = Point(x, y)
        if not inner.contains(p):
            p = nearest_points(inner, p)[0]
        sites_m.append((p.x, p.y))
    sites = np.array(sites_m)

    targets = np.array(targets_km2) * 1e6
    cells = _two_level_cells(sites, targets, np.asarray(urban, dtype=bool), county_m)

    # planar subdivision in metres, wiggled interior edges, faces labelled by township
    network = _wiggled_network(_edge_network(cells, grid_size=1e-3), county_m, seed)
    faces_m = list(shapely.polygonize(network).geoms)
    labels_m = _label_faces(faces_m, cells)
    townships_m = _assemble(faces_m, labels_m, len(cells), grid_size=1e-3)

    # back to lon/lat: round the edge network, node it on the 1e-6 grid and polygonize again
    rounded = []
    for ln in network:
        xy = quantize(np.asarray(to_geo(ln).coords))
        keep = np.concatenate([[True], np.any(np.diff(xy, axis=0) != 0, axis=1)])
        if keep.sum() >= 2:
            rounded.append(LineString(xy[keep]))
    noded = shapely.union_all(rounded, grid_size=GRID_DEG)
    faces_g = [quantize_geom(f) for f in shapely.polygonize(list(getattr(noded, "geoms", [noded]))).geoms]
    labels_g = _label_faces(faces_g, [to_geo(t) for t in townships_m])
    townships = _assemble(faces_g, labels_g, len(cells), grid_size=GRID_DEG)
    result = []
    for t in townships:
        t = quantize_geom(t)
        polys = [shapely.orient_polygons(p) for p in _as_polygons(t)]
        mp = MultiPolygon(polys)
        if not mp.is_valid or mp.is_empty:
            raise RuntimeError(f"invalid township polygon: {shapely.is_valid_reason(mp)}")
        result.append(mp)
    return result, sites


# --------------------------------------------------------------------------------------------
# Village points
# --------------------------------------------------------------------------------------------


def _min_dist(p: np.ndarray, pts: list[np.ndarray]) -> float:
    if not pts:
        return math.inf
    arr = np.asarray(pts)
    return float(np.min(np.hypot(arr[:, 0] - p[0], arr[:, 1] - p[1])))


def _place_points(
    township_geo: MultiPolygon,
    core_m: np.ndarray,
    n_community: int,
    n_village: int,
    township_class: str,
    rng: np.random.Generator,
) -> list[tuple[float, float]]:
    """Lon/lat (rounded) points strictly inside the township: communities first, then villages."""
    poly_m = to_metric(township_geo)
    region = poly_m.buffer(-VILLAGE_MARGIN_M)
    if region.is_empty:
        region = poly_m.buffer(-VILLAGE_MARGIN_M / 5)
    region = max(_as_polygons(region), key=lambda p: p.area) if region.geom_type != "Polygon" else region
    shapely.prepare(region)
    core = Point(core_m)
    if not region.contains(core):
        core = nearest_points(region, core)[0]
        # pull the core a little towards the interior
        inner = region.buffer(-300.0)
        if not inner.is_empty:
            core = nearest_points(inner, core)[0]
    c = np.array([core.x, core.y])
    minx, miny, maxx, maxy = region.bounds
    placed: list[np.ndarray] = []

    def accept(p: np.ndarray) -> bool:
        lon, lat = _TO_GEO.transform(p[0], p[1])
        q = quantize([lon, lat])
        return bool(township_geo.contains(Point(q)))

    # communities: clustered around the core (镇区 / city centre)
    sigma = 900.0 if township_class in URBAN_CLASSES else 600.0
    spacing = 350.0 if township_class in URBAN_CLASSES else 250.0
    fails = 0
    while len(placed) < n_community:
        p = c + rng.normal(0.0, sigma, 2)
        if region.contains_properly(Point(p)) and _min_dist(p, placed) >= spacing and accept(p):
            placed.append(p)
            fails = 0
        else:
            fails += 1
            if fails > 200:
                sigma *= 1.2
                spacing *= 0.85
                fails = 0

    # villages: dart throwing over the township with a minimum spacing
    if n_village:
        spacing = 0.75 * math.sqrt(region.area / (n_village + 0.5 * n_community))
        fails = 0
        while len(placed) < n_community + n_village:
            p = np.array([rng.uniform(minx, maxx), rng.uniform(miny, maxy)])
            if region.contains_properly(Point(p)) and _min_dist(p, placed) >= spacing and accept(p):
                placed.append(p)
                fails = 0
            else:
                fails += 1
                if fails > 400:
                    spacing *= 0.9
                    fails = 0
    out = []
    for p in placed:
        lon, lat = _TO_GEO.transform(p[0], p[1])
        q = quantize([lon, lat])
        out.append((float(q[0]), float(q[1])))
    return out


# --------------------------------------------------------------------------------------------
# Build / write
# --------------------------------------------------------------------------------------------


@dataclass
class DemoData:
    """The synthetic demo layers (lon/lat EPSG:4490) and their exact totals."""

    seed: int
    county: Polygon
    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    totals: dict[str, object] = field(default_factory=dict)
    source_sha256: dict[str, str] = field(default_factory=dict)


def is_community(name: str) -> bool:
    return any(m in name for m in COMMUNITY_MARKERS)


def _populations(villages: pd.DataFrame, classes: pd.Series, totals: dict, seed: int) -> pd.DataFrame:
    rng = _rng(seed, 3)
    n = len(villages)
    community = villages["kind"].to_numpy() == "community"
    cls_factor = classes.map(POPULATION_CLASS_FACTOR).to_numpy(dtype=float)
    weight = np.where(community, 2.4, 1.0) * cls_factor * rng.lognormal(0.0, 0.45, n)
    population = apportion(int(totals["population"]), weight)

    share = np.where(community, 0.165, 0.205) * rng.lognormal(0.0, 0.12, n)
    pop60 = apportion(int(totals["population_60_plus"]), population * share)
    if np.any(pop60 > population):
        raise RuntimeError("60+ population exceeds population")

    hh_raw = population / (2.6 * rng.lognormal(0.0, 0.07, n))
    households = apportion(int(totals["households"]), hh_raw)
    if np.any(households > population) or np.any(households < 1):
        raise RuntimeError("implausible household count")
    out = villages.copy()
    out["population"] = population
    out["population_60_plus"] = pop60
    out["households"] = households
    return out


def build(seed: int = SEED, source_dir: Path = SOURCE_DIR) -> DemoData:
    """Build the synthetic demo layers for 赤壁市 (deterministic for a given seed)."""
    counties = load_source_counties(source_dir)
    county_geo = counties.loc[counties["adcode"] == COUNTY_CODE].geometry.iloc[0]
    if isinstance(county_geo, MultiPolygon):
        county_geo = max(county_geo.geoms, key=lambda p: p.area)
    county_geo = quantize_geom(county_geo)
    divisions = load_source_divisions(source_dir)
    totals = census_totals(load_source_census(source_dir))

    tdf = divisions.loc[divisions["level"] == "township"].sort_values("code").reset_index(drop=True)
    if set(tdf["code"]) != set(TOWNSHIP_LAYOUT):
        raise RuntimeError("TOWNSHIP_LAYOUT does not match the township codes in the source CSV")
    layout = [TOWNSHIP_LAYOUT[c] for c in tdf["code"]]
    classes = [t[3] for t in layout]
    county_km2 = to_metric(county_geo).area / 1e6
    targets = np.array([t[2] for t in layout])
    urban = np.array([c in URBAN_CLASSES for c in classes])
    targets[~urban] *= (county_km2 - targets[urban].sum()) / targets[~urban].sum()
    polygons, sites_m = build_township_polygons(
        county_geo, np.array([t[:2] for t in layout]), targets, urban, seed
    )

    # villages
    vdf = divisions.loc[divisions["level"] == "village"].sort_values("code").reset_index(drop=True)
    vdf["kind"] = np.where(vdf["name"].map(is_community), "community", "village")
    coords: dict[str, tuple[float, float]] = {}
    for i, row in tdf.iterrows():
        members = vdf.loc[vdf["parent_code"] == row["code"]]
        comm = members.loc[members["kind"] == "community", "code"].tolist()
        vill = members.loc[members["kind"] == "village", "code"].tolist()
        pts = _place_points(polygons[i], sites_m[i], len(comm), len(vill), classes[i], _rng(seed, 4, int(i)))
        coords.update(zip(comm + vill, pts, strict=True))
    vdf = _populations(
        vdf, vdf["parent_code"].map(dict(zip(tdf["code"], classes, strict=True))), totals, seed
    )
    vdf["level"] = "village"
    vdf["synthetic"] = True
    villages = gpd.GeoDataFrame(
        vdf[
            [
                "code",
                "name",
                "level",
                "parent_code",
                "kind",
                "synthetic",
                "population",
                "population_60_plus",
                "households",
            ]
        ],
        geometry=[Point(coords[c]) for c in vdf["code"]],
        crs=GEO_CRS,
    )

    sums = villages.groupby("parent_code")[["population", "population_60_plus", "households"]].sum()
    tdf = tdf.assign(
        level="township",
        parent_code=COUNTY_CODE,
        synthetic=True,
        population=tdf["code"].map(sums["population"]).astype(np.int64),
        population_60_plus=tdf["code"].map(sums["population_60_plus"]).astype(np.int64),
        households=tdf["code"].map(sums["households"]).astype(np.int64),
        village_count=tdf["code"].map(vdf.groupby("parent_code").size()).astype(np.int64),
        area_km2=[round(to_metric(p).area / 1e6, 3) for p in polygons],
    )
    townships = gpd.GeoDataFrame(
        tdf[
            [
                "code",
                "name",
                "level",
                "parent_code",
                "synthetic",
                "area_km2",
                "village_count",
                "population",
                "population_60_plus",
                "households",
            ]
        ],
        geometry=polygons,
        crs=GEO_CRS,
    )
    sources = {
        name: _sha256((source_dir / name).read_bytes())
        for name in (COUNTIES_FILE, DIVISIONS_FILE, CENSUS_FILE)
    }
    return DemoData(
        seed=seed,
        county=county_geo,
        townships=townships,
        villages=villages,
        totals=totals,
        source_sha256=sources,
    )


def _coords(geom) -> object:
    mapping = shapely.geometry.mapping(geom)

    def walk(c):
        if isinstance(c, (tuple, list)) and c and isinstance(c[0], (int, float)):
            return [float(v) for v in quantize(c)]
        return [walk(x) for x in c]

    return {"type": mapping["type"], "coordinates": walk(mapping["coordinates"])}


def _json_value(v):
    if isinstance(v, np.bool_ | bool):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def feature_collection_text(name: str, gdf: gpd.GeoDataFrame) -> str:
    """GeoJSON text with one feature per line, sorted keys, 6-decimal coordinates."""
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}
    head = json.dumps(
        {"crs": crs, "name": name, "type": "FeatureCollection"}, ensure_ascii=False, sort_keys=True
    )
    lines = []
    props = [c for c in gdf.columns if c != gdf.geometry.name]
    for row in gdf.itertuples(index=False):
        rec = row._asdict()
        feature = {
            "type": "Feature",
            "properties": {k: _json_value(rec[k]) for k in props},
            "geometry": _coords(rec[gdf.geometry.name]),
        }
        lines.append(json.dumps(feature, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
    return head[:-1] + ', "features": [\n' + ",\n".join(lines) + "\n]}\n"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(demo: DemoData, out_dir: Path = DEMO_DIR) -> dict[str, str]:
    """Write the demo layers and manifest to ``out_dir``; returns ``{file name: sha256}``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    blobs = {
        TOWNSHIPS_FILE: feature_collection_text("chibi_townships", demo.townships).encode("utf-8"),
        VILLAGES_FILE: feature_collection_text("chibi_villages", demo.villages).encode("utf-8"),
    }
    hashes = {name: _sha256(data) for name, data in blobs.items()}
    v = demo.villages
    manifest = {
        "generator": "gis_data.generate",
        "generator_version": GENERATOR_VERSION,
        "seed": int(demo.seed),
        "crs": GEO_CRS,
        "coordinate_decimals": DECIMALS,
        "synthetic": True,
        "county": {"code": COUNTY_CODE, "name": "赤壁市"},
        "counts": {
            "townships": len(demo.townships),
            "villages": len(v),
            "communities": int((v["kind"] == "community").sum()),
            "rural_villages": int((v["kind"] == "village").sum()),
        },
        "totals": {
            "population": int(v["population"].sum()),
            "population_60_plus": int(v["population_60_plus"].sum()),
            "households": int(v["households"].sum()),
            "share_60_plus": demo.totals["share_60_plus"],
        },
        "files": hashes,
        "source_files": dict(sorted(demo.source_sha256.items())),
    }
    # the road layers are built from the two files above, the address layers from the roads
    # (late import: gis_data.roads and gis_data.addresses import this module)
    from gis_data import addresses, facilities, roads

    network = roads.build_roads(
        json.loads(blobs[TOWNSHIPS_FILE]), json.loads(blobs[VILLAGES_FILE]), demo.seed
    )
    road_blobs = roads.road_blobs(network)
    manifest = roads.add_to_manifest(manifest, road_blobs, network.counts)
    blobs.update(road_blobs)
    hashes.update({name: _sha256(data) for name, data in road_blobs.items()})
    address_data = addresses.build_addresses(
        json.loads(blobs[TOWNSHIPS_FILE]),
        json.loads(blobs[VILLAGES_FILE]),
        json.loads(road_blobs[roads.SEGMENTS_FILE]),
        json.loads(road_blobs[roads.ROADS_FILE]),
        demo.seed,
    )
    address_blobs = addresses.address_blobs(address_data)
    manifest = roads.add_to_manifest(manifest, address_blobs, address_data.counts)
    blobs.update(address_blobs)
    hashes.update({name: _sha256(data) for name, data in address_blobs.items()})
    manifest = facilities.add_to_demo(blobs, hashes, manifest, demo.seed)
    blobs[MANIFEST_FILE] = (json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode(
        "utf-8"
    )
    hashes[MANIFEST_FILE] = _sha256(blobs[MANIFEST_FILE])
    for name, data in blobs.items():
        (out_dir / name).write_bytes(data)
    return dict(sorted(hashes.items()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gis_data.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--out", type=Path, default=DEMO_DIR, help="output directory (default gis_data/demo)")
    args = parser.parse_args(argv)
    demo = build(args.seed)
    hashes = write(demo, args.out)
    t = demo.townships
    print(f"seed {args.seed}: {len(t)} townships, {len(demo.villages)} villages -> {args.out}")
    for row in t.itertuples(index=False):
        print(
            f"  {row.code} {row.name:<10} {row.area_km2:9.3f} km²  {row.village_count:3d} units  pop {row.population:7d}"
        )
    v = demo.villages
    print(
        f"totals: population {v['population'].sum()}, 60+ {v['population_60_plus'].sum()}, "
        f"households {v['households'].sum()}"
    )
    for name, digest in hashes.items():
        print(f"  {digest}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

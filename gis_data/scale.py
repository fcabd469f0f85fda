"""The reproducible scale data set (pure: numpy/shapely, no Django).

`scale_generate` builds, from the county polygon and its townships (storage CRS, metres):

- a road network of exactly ``n_edges`` straight edges on a jittered grid inside the county (about
  190 m spacing for 100,000 edges over 赤壁市's 1,723 km²), grouped into named roads of up to
  ``EDGES_PER_ROAD`` consecutive edges along a grid line;
- ``n_names`` unique Chinese names: one per road (路/街/巷/大道), the rest natural villages
  (自然村: 湾/垸/畈/冲…) placed at grid cells away from roads;
- exactly ``n_addresses`` house-number entrances spread evenly over the edges, 8 m off the centre
  line, numbered along each road from its start: odd on the left, even on the right (GB/T 17733
  style, as addresses/numbering.py does);
- ``n_facilities`` facilities of the given types at random points inside the county.

The same inputs and seed give byte-identical arrays (tests check a digest). The Django command
`manage.py scale_data` writes them into PostGIS with COPY.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

EDGES_PER_ROAD = 4
ENTRANCE_OFFSET_M = 8.0
JITTER = 0.2  # node jitter as a share of the grid spacing: edges never cross
SPECIFICS = (
    "中山人民建设解放和平东西南北新华光明胜利友谊文化青年朝阳团结幸福长江金水银桥龙凤春秋花园松柏"
    "竹梅兰菊安康泰丰茂盛荣昌兴隆德仁义礼智信赤壁陆水蒲圻羊楼洞车埠官塘神山柳山茶庵岭港乔赵李"
)
ROAD_GENERICS = ("路", "路", "街", "巷", "大道")
VILLAGE_GENERICS = ("湾", "垸", "畈", "冲", "咀", "岭", "铺", "塆", "坪", "庄")


@dataclass(frozen=True)
class Township:
    code: str
    polygon: BaseGeometry


@dataclass
class ScaleData:
    """Everything in storage-CRS metres. Index arrays refer to positions in the other arrays."""

    edge_xy: np.ndarray  # (n_edges, 4): x0, y0, x1, y1
    edge_road: np.ndarray  # road index per edge
    road_names: list[str]
    road_township: np.ndarray  # township index per road
    road_xy: np.ndarray  # (n_roads, 4): start x, y and end x, y of the road (its representative line)
    village_names: list[str]
    village_xy: np.ndarray
    village_township: np.ndarray
    address_xy: np.ndarray
    address_road: np.ndarray
    address_number: np.ndarray
    address_side: np.ndarray  # 1 right (even), -1 left (odd)
    address_chainage: np.ndarray
    facility_xy: np.ndarray
    facility_type: np.ndarray  # index into the given type codes
    facility_township: np.ndarray
    townships: list[str] = field(default_factory=list)

    def digest(self) -> str:
        """SHA-256 over every array and name: equal digests mean an identical data set."""
        h = hashlib.sha256()
        for arr in (
            self.edge_xy,
            self.edge_road,
            self.road_township,
            self.road_xy,
            self.village_xy,
            self.village_township,
            self.address_xy,
            self.address_road,
            self.address_number,
            self.address_side,
            self.address_chainage,
            self.facility_xy,
            self.facility_type,
            self.facility_township,
        ):
            h.update(np.ascontiguousarray(arr).tobytes())
        for text in (*self.road_names, *self.village_names, *self.townships):
            h.update(text.encode("utf-8"))
        return h.hexdigest()


def _grid_edges(
    county: BaseGeometry, spacing: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate edges of a jittered grid whose both ends lie in the county.

    Returns (edge_xy, line_id, position): edges along the same grid line share line_id and are
    ordered by position, so consecutive kept edges form a road."""
    minx, miny, maxx, maxy = county.bounds
    nx = int(math.ceil((maxx - minx) / spacing)) + 1
    ny = int(math.ceil((maxy - miny) / spacing)) + 1
    gx, gy = np.meshgrid(minx + spacing * np.arange(nx), miny + spacing * np.arange(ny))
    jitter = rng.uniform(-JITTER, JITTER, size=(2, ny, nx)) * spacing
    x, y = gx + jitter[0], gy + jitter[1]
    inside = shapely.contains_xy(county, x, y)
    # horizontal edges (row j: node i → i+1) then vertical (column i: node j → j+1)
    h_ok = inside[:, :-1] & inside[:, 1:]
    v_ok = inside[:-1, :] & inside[1:, :]
    hj, hi = np.nonzero(h_ok)
    vj, vi = np.nonzero(v_ok.T)  # column-major: one vertical line at a time
    vj, vi = vi, vj
    edges = np.concatenate(
        [
            np.column_stack([x[hj, hi], y[hj, hi], x[hj, hi + 1], y[hj, hi + 1]]),
            np.column_stack([x[vj, vi], y[vj, vi], x[vj + 1, vi], y[vj + 1, vi]]),
        ]
    )
    line_id = np.concatenate([hj, ny + vi])
    position = np.concatenate([hi, vj])
    return edges, line_id, position


def _network(county: BaseGeometry, n_edges: int, rng: np.random.Generator):
    spacing = math.sqrt(2 * county.area / n_edges)
    for _ in range(60):
        state = rng.bit_generator.state
        edges, line_id, position = _grid_edges(county, spacing, rng)
        if edges.shape[0] >= n_edges:
            break
        rng.bit_generator.state = state  # same jitter stream for the retry, only the spacing shrinks
        spacing *= 0.99
    else:  # pragma: no cover - a county is never that thin
        raise ValueError(f"cannot fit {n_edges} edges in the county")
    drop = rng.choice(edges.shape[0], size=edges.shape[0] - n_edges, replace=False)
    keep = np.ones(edges.shape[0], dtype=bool)
    keep[drop] = False
    edges, line_id, position = edges[keep], line_id[keep], position[keep]
    # a road: a run of consecutive edges on one grid line, cut every EDGES_PER_ROAD edges
    new_run = np.ones(n_edges, dtype=bool)
    new_run[1:] = (line_id[1:] != line_id[:-1]) | (position[1:] != position[:-1] + 1)
    run_id = np.cumsum(new_run) - 1
    run_start = np.flatnonzero(new_run)
    within = np.arange(n_edges) - run_start[run_id]
    new_road = new_run | (within % EDGES_PER_ROAD == 0)
    edge_road = np.cumsum(new_road) - 1
    return edges, edge_road, spacing


def _unique_names(
    rng: np.random.Generator, count: int, generics: tuple[str, ...], taken: set[str]
) -> list[str]:
    chars = np.array(list(SPECIFICS))
    out: list[str] = []
    while len(out) < count:
        need = count - len(out)
        lengths = rng.choice([2, 2, 2, 3, 3, 4], size=need * 2)
        picks = rng.integers(0, chars.size, size=(need * 2, 4))
        gens = rng.integers(0, len(generics), size=need * 2)
        for n, row, g in zip(lengths, picks, gens, strict=True):
            name = "".join(chars[row[:n]]) + generics[g]
            if name not in taken:
                taken.add(name)
                out.append(name)
                if len(out) == count:
                    break
    return out


def _township_of(points: np.ndarray, townships: list[Township]) -> np.ndarray:
    """Index of the township containing each point; points in no township (gaps along the county
    edge) take the township whose polygon is nearest."""
    out = np.full(points.shape[0], -1, dtype=np.int32)
    for i, t in enumerate(townships):
        shapely.prepare(t.polygon)
        hit = (out < 0) & shapely.contains_xy(t.polygon, points[:, 0], points[:, 1])
        out[hit] = i
    rest = np.flatnonzero(out < 0)
    if rest.size:
        pts = shapely.points(points[rest])
        dist = np.column_stack([shapely.distance(t.polygon, pts) for t in townships])
        out[rest] = dist.argmin(axis=1)
    return out


def _addresses(edges: np.ndarray, edge_road: np.ndarray, n_addresses: int, rng: np.random.Generator):
    n_edges = edges.shape[0]
    per_edge = np.full(n_edges, n_addresses // n_edges, dtype=np.int64)
    per_edge[rng.choice(n_edges, size=n_addresses % n_edges, replace=False)] += 1
    edge_of = np.repeat(np.arange(n_edges), per_edge)
    k = np.arange(n_addresses) - np.repeat(np.cumsum(per_edge) - per_edge, per_edge)
    side = np.where(k % 2 == 0, -1, 1).astype(np.int8)  # alternate left / right along the edge
    slots = np.maximum((per_edge[edge_of] + 1) // 2, 1)
    t = ((k // 2) + 0.5) / slots
    x0, y0, x1, y1 = (edges[edge_of, i] for i in range(4))
    dx, dy = x1 - x0, y1 - y0
    length = np.hypot(dx, dy)
    ux, uy = dx / length, dy / length
    # left normal is (-uy, ux); side -1 = left
    off = -side * ENTRANCE_OFFSET_M
    xy = np.column_stack([x0 + t * dx + off * -uy, y0 + t * dy + off * ux])
    # chainage along the road: edge lengths before this edge within its road, plus t·length
    edge_len = np.hypot(edges[:, 2] - edges[:, 0], edges[:, 3] - edges[:, 1])
    cum = np.cumsum(edge_len)
    road_first = np.flatnonzero(np.r_[True, edge_road[1:] != edge_road[:-1]])
    before = cum - edge_len - (cum - edge_len)[road_first][edge_road]
    chainage = before[edge_of] + t * length
    road = edge_road[edge_of]
    # number along the road per side: odd 1,3,5… left, even 2,4,6… right, by chainage
    order = np.lexsort((chainage, side, road))
    group_start = np.r_[True, (road[order][1:] != road[order][:-1]) | (side[order][1:] != side[order][:-1])]
    rank_sorted = np.arange(n_addresses) - np.maximum.accumulate(
        np.where(group_start, np.arange(n_addresses), 0)
    )
    rank = np.empty(n_addresses, dtype=np.int64)
    rank[order] = rank_sorted
    number = np.where(side < 0, 2 * rank + 1, 2 * rank + 2).astype(np.int32)
    return xy, road, number, side, chainage


def scale_generate(
    county: BaseGeometry,
    townships: list[Township],
    facility_types: list[str],
    *,
    n_addresses: int = 1_000_000,
    n_names: int = 100_000,
    n_facilities: int = 10_000,
    n_edges: int = 100_000,
    seed: int = 20261124,
) -> ScaleData:
    """Generate the data set (see module docstring). Storage-CRS metres in and out."""
    if min(n_edges, n_names, n_addresses) < 1 or n_facilities < 0:
        raise ValueError("counts must be positive")
    if not townships:
        raise ValueError("no townships")
    if n_facilities and not facility_types:
        raise ValueError("no facility types")
    rng = np.random.default_rng(seed)
    county = shapely.make_valid(county)
    shapely.prepare(county)
    edges, edge_road, spacing = _network(county, n_edges, rng)
    n_roads = int(edge_road[-1]) + 1
    if n_roads > n_names:
        raise ValueError(f"{n_roads} roads need at least as many names (n_names={n_names})")
    first = np.flatnonzero(np.r_[True, edge_road[1:] != edge_road[:-1]])
    last = np.r_[first[1:] - 1, edge_road.size - 1]
    road_xy = np.column_stack([edges[first, 0], edges[first, 1], edges[last, 2], edges[last, 3]])
    road_mid = (road_xy[:, :2] + road_xy[:, 2:]) / 2
    taken: set[str] = set()
    road_names = _unique_names(rng, n_roads, ROAD_GENERICS, taken)
    village_names = _unique_names(rng, n_names - n_roads, VILLAGE_GENERICS, taken)
    # villages: random cell centres (half a spacing off the grid lines), inside the county
    minx, miny, maxx, maxy = county.bounds
    vx = np.empty(0)
    vy = np.empty(0)
    while vx.size < len(village_names):
        cx = rng.uniform(minx, maxx, size=len(village_names) * 2)
        cy = rng.uniform(miny, maxy, size=len(village_names) * 2)
        ok = shapely.contains_xy(county, cx, cy)
        vx, vy = np.r_[vx, cx[ok]], np.r_[vy, cy[ok]]
    village_xy = np.column_stack([vx, vy])[: len(village_names)]
    address_xy, address_road, number, side, chainage = _addresses(edges, edge_road, n_addresses, rng)
    fx = np.empty(0)
    fy = np.empty(0)
    while fx.size < n_facilities:
        cx = rng.uniform(minx, maxx, size=n_facilities * 2 + 10)
        cy = rng.uniform(miny, maxy, size=n_facilities * 2 + 10)
        ok = shapely.contains_xy(county, cx, cy)
        fx, fy = np.r_[fx, cx[ok]], np.r_[fy, cy[ok]]
    facility_xy = np.column_stack([fx, fy])[:n_facilities]
    return ScaleData(
        edge_xy=edges,
        edge_road=edge_road.astype(np.int64),
        road_names=road_names,
        road_township=_township_of(road_mid, townships),
        road_xy=road_xy,
        village_names=village_names,
        village_xy=village_xy,
        village_township=_township_of(village_xy, townships),
        address_xy=address_xy,
        address_road=address_road.astype(np.int64),
        address_number=number,
        address_side=side,
        address_chainage=chainage,
        facility_xy=facility_xy,
        facility_type=rng.integers(0, max(len(facility_types), 1), size=n_facilities),
        facility_township=_township_of(facility_xy, townships),
        townships=[t.code for t in townships],
    )

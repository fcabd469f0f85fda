"""House-numbering engine (门牌编号): road, compound and rural numbers.

Pure module: stdlib, numpy and shapely 2 only, no Django (DESIGN §1).  The services layer loads the
road geometry and the entrance points, calls these functions and stores the result.

**CRS and units.**  Every geometry and coordinate is in one *projected* CRS in metres (x east,
y north), e.g. EPSG:4547.  Chainages, offsets, spacings and tolerances are metres.

**Road numbering** (DOMAIN §2).  A road is first prepared as a :class:`RoadAxis`: one chained line
oriented in the numbering direction, with the side that carries the odd numbers.  The direction and
the odd side come from the deployment's :class:`Convention` (default ``beijing``: east–west roads
from east to west with odd numbers on the north side, north–south roads from north to south with odd
numbers on the west side), from per-road overrides in :class:`NumberingRules`, or, for a dead-end
alley, from the alley's entrance inward with odd numbers on the right.

Each side is numbered separately (odd side 1, 3, 5 …; the other side 2, 4, 6 …), in chainage order:

* with ``spacing_m`` set, an entrance at chainage *c* gets at least its *slot* number
  ``2·floor(c / spacing_m) + 1`` (odd side) or ``+ 2`` (even side), and at least the previous
  number on its side + 2, so wide gaps keep spare numbers for future buildings;
* with ``spacing_m = None`` numbers are sequential;
* existing numbers are never changed (unless ``renumber=True``, which keeps only ``locked`` ones);
  a new entrance between existing numbers takes a free number of its parity between them, or, when
  none is free, an *infill* number: the previous number plus the next suffix (15之一, 15之二 …,
  in the rule's suffix scheme);
* a new entrance that cannot be placed (no lower number left, suffixes exhausted, or farther than
  ``max_offset_m`` from the road) is *rejected* with a Chinese reason and a finding.

Labels are compared as ``(number, suffix rank)``: 15 < 15之一 = 15-1 = 甲15 = 15A < 15之二 < 17.

**Compounds** (小区) number buildings in an S-shaped order from the north-east and rooms as
floor·100 + room index; **villages** (村/组) number households along a short walking path.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import itertools
import math
import re
import string
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry

__all__ = [
    "CONVENTIONS",
    "SUFFIX_CAPACITY",
    "SUFFIX_SCHEMES",
    "Assignment",
    "Building",
    "Convention",
    "Entrance",
    "Finding",
    "Household",
    "NumberingResult",
    "NumberingRules",
    "Placement",
    "RoadAxis",
    "RoadGeometryError",
    "check_road",
    "compound_rooms",
    "format_number",
    "format_suffix",
    "locate",
    "number_compound",
    "number_road",
    "number_roads_bulk",
    "number_village",
    "parse_number",
    "parse_suffix",
    "path_length",
    "renumber_impact",
    "road_axis",
    "skip_sequence",
    "suffix_rank",
    "village_path",
]

# --------------------------------------------------------------------------- suffixes

SUFFIX_SCHEMES: Final = ("zhiyi", "dash", "jia", "letter")

#: How many infill suffixes each scheme can write after one number (None = unbounded).
SUFFIX_CAPACITY: Final[dict[str, int | None]] = {"zhiyi": 99, "dash": None, "jia": 10, "letter": 26}

_SCHEME_ZH: Final = {"zhiyi": "之一", "dash": "-1", "jia": "甲乙", "letter": "A/B"}
_STEMS: Final = "甲乙丙丁戊己庚辛壬癸"
_ZH_DIGITS: Final = "一二三四五六七八九"
_DASH_RE: Final = re.compile(r"[-－]([1-9][0-9]*)")
_NUMBER_RE: Final = re.compile(rf"([{_STEMS}]?)([1-9][0-9]*)(.*)")


def _zh_numeral(k: int) -> str:
    """Chinese numeral for 1 <= k <= 99: 一, 十, 十一, 二十, 二十一 …"""
    tens, ones = divmod(k, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _ZH_DIGITS[tens - 1] + "十")
    return head + (_ZH_DIGITS[ones - 1] if ones else "")


_ZHIYI_RANK: Final = {"之" + _zh_numeral(k): k for k in range(1, SUFFIX_CAPACITY["zhiyi"] + 1)}


def format_suffix(scheme: str, k: int) -> str:
    """The k-th infill suffix (k >= 1) of ``scheme``: 之一/-1/甲/A for k = 1, 之二/-2/乙/B for k = 2 …"""
    if scheme not in SUFFIX_SCHEMES:
        raise ValueError(f"未知的门牌后缀方案：{scheme!r}（可用：{'、'.join(SUFFIX_SCHEMES)}）")
    capacity = SUFFIX_CAPACITY[scheme]
    if k < 1 or (capacity is not None and k > capacity):
        raise ValueError(f"门牌后缀方案 {scheme} 只能编第 1–{capacity or '∞'} 个附号，无法编第 {k} 个")
    if scheme == "zhiyi":
        return "之" + _zh_numeral(k)
    if scheme == "dash":
        return f"-{k}"
    if scheme == "jia":
        return _STEMS[k - 1]
    return string.ascii_uppercase[k - 1]


def parse_suffix(text: str) -> tuple[str, int]:
    """``(scheme, k)`` of a suffix in any scheme: 之二 -> ("zhiyi", 2), -3, 乙, B (or b) …; "" -> ("", 0).

    Raises ValueError for text that is no suffix of any scheme (之零, -0, AA, 甲乙 …).
    """
    t = text.strip()
    if not t:
        return "", 0
    if t in _ZHIYI_RANK:
        return "zhiyi", _ZHIYI_RANK[t]
    if m := _DASH_RE.fullmatch(t):
        return "dash", int(m.group(1))
    if len(t) == 1 and t in _STEMS:
        return "jia", _STEMS.index(t) + 1
    if len(t) == 1 and t.upper() in string.ascii_uppercase:
        return "letter", string.ascii_uppercase.index(t.upper()) + 1
    raise ValueError(f"不可识别的门牌后缀：{text!r}（可用形式如 之一、-1、甲、A）")


def suffix_rank(suffix: str) -> int:
    """Order of a suffix after its number: "" = 0, 之一/-1/甲/A = 1, 之二/-2/乙/B = 2 …"""
    return parse_suffix(suffix)[1]


def format_number(number: int, suffix: str, scheme: str) -> str:
    """House-number label: 15之一, 15-1, 甲15 (the stem is written first), 15A; "15" without suffix."""
    if not suffix:
        return str(number)
    if parse_suffix(suffix)[0] != scheme:
        raise ValueError(f"门牌后缀 {suffix!r} 不属于后缀方案 {scheme}")
    return f"{suffix}{number}" if scheme == "jia" else f"{number}{suffix}"


def parse_number(label: str) -> tuple[int, str]:
    """Inverse of :func:`format_number` for any scheme: "15之一" -> (15, "之一"), "甲15" -> (15, "甲")."""
    text = label.strip()
    m = _NUMBER_RE.fullmatch(text)
    if m is not None and not (m.group(1) and m.group(3)):
        number, suffix = int(m.group(2)), m.group(1) or m.group(3)
        with contextlib.suppress(ValueError):
            if _label(number, suffix) == text:  # the suffix is valid and on its scheme's side
                return number, suffix
    raise ValueError(f"不可识别的门牌号：{label!r}")


def _label(number: int, suffix: str) -> str:
    """Label of a number with a suffix text of whatever scheme it is written in."""
    return format_number(number, suffix, parse_suffix(suffix)[0]) if suffix else str(number)


# --------------------------------------------------------------------------- rules


def _check_choice(owner: str, key: str, value: object, choices: Iterable[object]) -> None:
    choices = tuple(choices)
    if value not in choices:
        allowed = "、".join(str(c) for c in choices)
        raise ValueError(f"{owner}参数 {key} 无效：{value!r}（可选：{allowed}）")


def _check_number(owner: str, key: str, value: object, *, positive: bool) -> None:
    ok = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > 0 if positive else value >= 0)
    )
    if not ok:
        raise ValueError(
            f"{owner}参数 {key} 无效：{value!r}（应为{'正数' if positive else '非负数'}，单位米）"
        )


def _from_dict(cls: type, owner: str, d: Mapping[str, Any]) -> Any:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"未知的{owner}参数：{'、'.join(unknown)}（可用：{'、'.join(sorted(known))}）")
    try:
        return cls(**d)
    except TypeError as exc:  # a required key is missing
        raise ValueError(f"{owner}参数不完整：{exc}") from exc


@dataclass(frozen=True)
class Convention:
    """A deployment's numbering convention; directions are the *start* of numbering.

    ``odd_side`` is relative to the direction of numbering (the direction of travel as numbers grow).
    Deployments may add their own: ``CONVENTIONS["x"] = Convention.from_dict({...})``.
    """

    code: str
    label: str
    ew_start: str = "east"
    ns_start: str = "north"
    odd_side: str = "right"

    def __post_init__(self) -> None:
        _check_choice("编号惯例", "ew_start", self.ew_start, ("east", "west"))
        _check_choice("编号惯例", "ns_start", self.ns_start, ("north", "south"))
        _check_choice("编号惯例", "odd_side", self.odd_side, ("right", "left"))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Convention:
        return _from_dict(cls, "编号惯例", d)


CONVENTIONS: dict[str, Convention] = {
    c.code: c
    for c in (
        Convention("beijing", "东西向自东向西、南北向自北向南，单号在右（路北、路西）"),
        Convention(
            "south_west", "东西向自西向东、南北向自南向北，单号在左（路北、路西）", "west", "south", "left"
        ),
        Convention("odd_left", "东西向自东向西、南北向自北向南，单号在左（路南、路东）", odd_side="left"),
    )
}


@dataclass(frozen=True)
class NumberingRules:
    """Numbering rules of a deployment, optionally overridden per road (see :meth:`merged`).

    Attributes:
        convention: code in :data:`CONVENTIONS`.
        direction: ``"auto"`` (from the convention and the road's bearing), ``"forward"`` (as
            digitised; for a MultiLineString, as its first part) or ``"reverse"``.
        odd_side: ``"auto"`` (the convention's; right in dead-end mode), ``"left"`` or ``"right"`` of
            the numbering direction.
        dead_end: alley mode: number from the end nearest the ``entrance`` point given to the engine
            (else from the road's digitised start) inward; ``direction`` is then ignored.
        spacing_m: reserve numbers by distance (see the module docstring); None = sequential.
        suffix_scheme: infill suffix scheme, one of :data:`SUFFIX_SCHEMES`.
        max_offset_m: entrances farther from the road are not numbered.
        max_gap_m: parts of a MultiLineString farther apart than this are a ``road_gap`` error.
        skip_numbers: compound building/unit/floor/room-index numbers to skip, e.g. (4, 13, 14);
            road and rural numbers never skip.
    """

    convention: str = "beijing"
    direction: str = "auto"
    odd_side: str = "auto"
    dead_end: bool = False
    spacing_m: float | None = 20.0
    suffix_scheme: str = "zhiyi"
    max_offset_m: float = 120.0
    max_gap_m: float = 30.0
    skip_numbers: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        owner = "编号规则"
        _check_choice(owner, "convention", self.convention, CONVENTIONS)
        _check_choice(owner, "direction", self.direction, ("auto", "forward", "reverse"))
        _check_choice(owner, "odd_side", self.odd_side, ("auto", "left", "right"))
        if not isinstance(self.dead_end, bool):
            raise ValueError(f"编号规则参数 dead_end 无效：{self.dead_end!r}（应为 true 或 false）")
        if self.spacing_m is not None:
            _check_number(owner, "spacing_m", self.spacing_m, positive=True)
        _check_choice(owner, "suffix_scheme", self.suffix_scheme, SUFFIX_SCHEMES)
        _check_number(owner, "max_offset_m", self.max_offset_m, positive=True)
        _check_number(owner, "max_gap_m", self.max_gap_m, positive=False)
        skip = self.skip_numbers
        if not isinstance(skip, list | tuple) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in skip
        ):
            raise ValueError(f"编号规则参数 skip_numbers 无效：{skip!r}（应为正整数列表，如 [4, 13, 14]）")
        object.__setattr__(self, "skip_numbers", tuple(sorted(set(skip))))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NumberingRules:
        """Validated rules from a JSON-like dict; ValueError (Chinese, naming the key) when invalid."""
        return _from_dict(cls, "编号规则", d)

    def merged(self, overrides: Mapping[str, Any] | None) -> NumberingRules:
        """These rules with a road's overrides applied (validated like :meth:`from_dict`)."""
        return NumberingRules.from_dict({**self.to_dict(), **overrides}) if overrides else self

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["skip_numbers"] = list(self.skip_numbers)
        return d


# --------------------------------------------------------------------------- road axis

_SNAP_M: Final = 1e-3  # endpoints closer than this are the same node


class RoadGeometryError(ValueError):
    """The road geometry cannot be numbered as one line.

    ``code``: ``"road_empty"``, ``"road_gap"``, ``"road_loop"`` or ``"road_branched"``; ``message``:
    Chinese, with the location (and the gap length); ``location``: (x, y) or None; ``gap_m``.
    """

    def __init__(
        self,
        code: str,
        message: str,
        location: tuple[float, float] | None = None,
        gap_m: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.location = location
        self.gap_m = gap_m


@dataclass(frozen=True)
class RoadAxis:
    """A road prepared for numbering.

    Attributes:
        line: one chained line, oriented in the numbering direction (chainage 0 = number 1).
        direction: ``"east_west"``, ``"west_east"``, ``"north_south"``, ``"south_north"`` (from the
            convention), or ``"forward"``/``"reverse"`` relative to the digitised direction (explicit
            direction or dead-end mode).
        odd_side: +1 if odd numbers are on the right of the numbering direction, -1 on the left.
        length_m: length of ``line`` (gap connectors included).
    """

    line: LineString
    direction: str
    odd_side: int
    length_m: float


def _line_parts(geom: BaseGeometry) -> list[np.ndarray]:
    """Coordinate arrays (n×2, no repeated points) of the non-degenerate lines in ``geom``."""
    if geom is None or geom.is_empty:
        return []
    return [
        shapely.get_coordinates(shapely.remove_repeated_points(part, _SNAP_M))
        for part in shapely.get_parts(geom)
        if isinstance(part, LineString) and part.length > 0
    ]


def _check_branches(parts: list[np.ndarray]) -> None:
    """Raise ``road_branched`` if the (merged) parts meet at a node of degree >= 3: ends shared by
    three or more part ends, or a part end touching another part away from its ends."""
    ends = np.array([p[[0, -1]] for p in parts]).reshape(-1, 2)  # part k: rows 2k, 2k+1
    near = np.hypot(*(ends[:, None, :] - ends[None, :, :]).transpose(2, 0, 1)) < _SNAP_M
    degree = near.sum(axis=1)
    lines = [LineString(p) for p in parts]
    on_line = np.array([shapely.distance(shapely.points(ends), line) < _SNAP_M for line in lines])
    own = np.repeat(np.eye(len(parts), dtype=bool), 2, axis=1)  # on_line[k, e]: end e lies on part k
    at_end = near.reshape(len(ends), len(parts), 2).any(axis=2).T  # end e is at an end of part k
    tee = (on_line & ~own & ~at_end).any(axis=0)
    bad = np.flatnonzero((degree >= 3) | tee)
    if bad.size:
        x, y = ends[bad[0]]
        raise RoadGeometryError(
            "road_branched",
            f"道路在 ({x:.1f}, {y:.1f}) 处分岔，请拆分为单条道路后再编号",
            location=(float(x), float(y)),
        )


# The four ways to attach a part to the chain: (end of the chain, end of the part) that meet.
_JOINS: Final = ((-1, 0), (-1, -1), (0, -1), (0, 0))


def _chain(parts: list[np.ndarray], max_gap_m: float) -> np.ndarray:
    """Chain parts into one coordinate array, oriented like ``parts[0]``: repeatedly attach the
    remaining part with the nearest end to either end of the chain, bridging the gap with a straight
    connector; ``road_gap`` if the nearest gap exceeds ``max_gap_m``."""
    chain = parts[0]
    rest = list(parts[1:])
    while rest:
        gaps = np.array([[np.hypot(*(chain[c] - p[q])) for c, q in _JOINS] for p in rest])
        k, how = divmod(int(np.argmin(gaps)), len(_JOINS))
        gap = float(gaps[k, how])
        part = rest.pop(k)
        c, q = _JOINS[how]
        if gap > max_gap_m:
            x, y = (chain[c] + part[q]) / 2
            raise RoadGeometryError(
                "road_gap",
                f"道路在 ({x:.1f}, {y:.1f}) 附近断开 {gap:.1f} 米，超过允许的 {max_gap_m:g} 米，请先修补道路几何",
                location=(float(x), float(y)),
                gap_m=gap,
            )
        if c == -1:  # append: the part must start at q
            chain = np.vstack([chain, part if q == 0 else part[::-1]])
        else:  # prepend: the part must end at q
            chain = np.vstack([part if q == -1 else part[::-1], chain])
    return chain


def _bearing(coords: np.ndarray, length: float) -> np.ndarray:
    """Overall direction of a line: start -> end, or for a strongly curved line (ends closer than a
    quarter of its length) the length-weighted principal axis, signed to point from start to end."""
    v = coords[-1] - coords[0]
    if np.hypot(*v) >= 0.25 * length:
        return v
    mids = (coords[1:] + coords[:-1]) / 2
    w = np.hypot(*np.diff(coords, axis=0).T)
    centred = mids - np.average(mids, axis=0, weights=w)
    axis = np.linalg.eigh((centred * w[:, None]).T @ centred)[1][:, -1]
    return axis if axis @ v >= 0 else -axis


def _road_coords(geom: BaseGeometry, max_gap_m: float) -> np.ndarray:
    """One coordinate array for the road, in the digitised direction of its first part."""
    parts = _line_parts(geom)
    if not parts:
        raise RoadGeometryError("road_empty", "道路几何为空或不含线段，无法编号")
    if len(parts) == 1:
        return parts[0]
    merged = _line_parts(shapely.line_merge(MultiLineString(parts)))
    if len(merged) > 1:
        _check_branches(merged)
    coords = _chain(merged, max_gap_m) if len(merged) > 1 else merged[0]
    line = LineString(coords)
    first_start, first_end = shapely.line_locate_point(line, shapely.points(parts[0][[0, -1]]))
    coords = coords if first_start <= first_end else coords[::-1]
    return shapely.get_coordinates(shapely.remove_repeated_points(LineString(coords), _SNAP_M))


def road_axis(
    geom: BaseGeometry, rules: NumberingRules, *, entrance: tuple[float, float] | None = None
) -> RoadAxis:
    """Prepare a LineString/MultiLineString road for numbering (see :class:`RoadAxis`).

    Parts are merged (``shapely.line_merge``); parts that remain separate are chained when their gap
    is at most ``rules.max_gap_m``.  Raises :class:`RoadGeometryError`: ``road_empty`` (no line),
    ``road_branched`` (a node of degree >= 3), ``road_gap``, ``road_loop`` (a closed line, unless
    ``rules.direction`` is explicit).  ``entrance`` is only used in dead-end mode.
    """
    coords = _road_coords(geom, rules.max_gap_m)
    length = float(np.hypot(*np.diff(coords, axis=0).T).sum())
    x0, y0 = (float(v) for v in coords[0])
    closed = bool(np.hypot(*(coords[-1] - coords[0])) < _SNAP_M)
    convention = CONVENTIONS[rules.convention]
    if rules.odd_side != "auto":
        odd_side = rules.odd_side
    else:
        odd_side = "right" if rules.dead_end else convention.odd_side

    if rules.dead_end:
        if closed:
            raise RoadGeometryError(
                "road_loop",
                f"尽端路（巷）首尾相接成环（起点 ({x0:.1f}, {y0:.1f})），无法确定入口",
                location=(x0, y0),
            )
        at = np.asarray(entrance if entrance is not None else coords[0], dtype=float)
        reverse = bool(np.hypot(*(coords[-1] - at)) < np.hypot(*(coords[0] - at)))
        direction = "reverse" if reverse else "forward"
    elif rules.direction != "auto":
        direction, reverse = rules.direction, rules.direction == "reverse"
    elif closed:
        raise RoadGeometryError(
            "road_loop",
            f"道路首尾相接成环（起点 ({x0:.1f}, {y0:.1f})），无法按方位确定编号方向，请在编号规则中指定 direction",
            location=(x0, y0),
        )
    else:
        vx, vy = _bearing(coords, length)
        if abs(vx) >= abs(vy):  # east-west road
            reverse = bool((vx > 0) == (convention.ew_start == "east"))
            direction = "east_west" if convention.ew_start == "east" else "west_east"
        else:
            reverse = bool((vy > 0) == (convention.ns_start == "north"))
            direction = "north_south" if convention.ns_start == "north" else "south_north"
    line = LineString(coords[::-1] if reverse else coords)
    return RoadAxis(
        line=line, direction=direction, odd_side=1 if odd_side == "right" else -1, length_m=length
    )


# --------------------------------------------------------------------------- entrances and placement


@dataclass(frozen=True)
class Entrance:
    """An entrance (门口) to number.  ``number``/``suffix``: its existing plate, kept unchanged;
    ``locked``: an officer-fixed proposal, kept even by a full renumbering."""

    key: str
    x: float
    y: float
    number: int | None = None
    suffix: str = ""
    locked: bool = False

    def __post_init__(self) -> None:
        if self.number is not None and self.number < 1:
            raise ValueError(f"入口 {self.key} 的门牌号无效：{self.number}")
        if self.number is None and (self.suffix or self.locked):
            raise ValueError(f"入口 {self.key} 没有门牌号，不能有附号或锁定")
        parse_suffix(self.suffix)


@dataclass(frozen=True)
class Placement:
    """An entrance projected on the axis: chainage from the axis start, distance to the road, and
    side: +1 right / -1 left of the numbering direction (points on the axis count as right)."""

    key: str
    chainage_m: float
    offset_m: float
    side: int


# Per-entrance projection results: chainage (m), offset (m), side (+1 right / -1 left), as lists.
_Placed = tuple[list[float], list[float], list[int]]


def _project(axes: Sequence[RoadAxis], xy: np.ndarray, road: np.ndarray) -> _Placed:
    """Vectorised projection of points ``xy`` (n×2), point i onto ``axes[road[i]]``.

    One shapely call per quantity for all points of all roads: ``line_locate_point`` gives the
    chainage, ``line_interpolate_point`` the foot; the side is the sign of the cross product of the
    tangent of the axis segment under the foot and the foot→point vector.  The segment is found by
    one ``searchsorted`` over the vertex chainages of all axes laid end to end, 1 m apart.
    """
    lines = np.array([a.line for a in axes], dtype=object)
    vertices, owner = shapely.get_coordinates(lines, return_index=True)
    first = np.searchsorted(owner, np.arange(len(axes)))  # each axis' first vertex
    last = np.append(first[1:], len(vertices)) - 1  # and last vertex
    seg = np.diff(vertices, axis=0)
    seg_len = np.where(owner[1:] == owner[:-1], np.hypot(seg[:, 0], seg[:, 1]), 0.0)
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    laid = cum + owner

    line = lines[road]
    chainage = shapely.line_locate_point(line, shapely.points(xy))
    foot = shapely.get_coordinates(shapely.line_interpolate_point(line, chainage))
    off = xy - foot
    at = chainage + cum[first[road]] + road
    i = np.clip(np.searchsorted(laid, at, side="right") - 1, first[road], last[road] - 1)
    cross = seg[i, 0] * off[:, 1] - seg[i, 1] * off[:, 0]
    side = np.where(cross > 0, -1, 1)
    return chainage.tolist(), np.hypot(off[:, 0], off[:, 1]).tolist(), side.tolist()


def _project_one(axis: RoadAxis, entrances: Sequence[Entrance]) -> _Placed:
    if not entrances:
        return [], [], []
    xy = np.array([(e.x, e.y) for e in entrances], dtype=float)
    return _project([axis], xy, np.zeros(len(entrances), dtype=np.intp))


def locate(axis: RoadAxis, entrances: Sequence[Entrance]) -> list[Placement]:
    """Chainage, offset and side of every entrance (vectorised: see :func:`_project`)."""
    chainage, offset, side = _project_one(axis, entrances)
    return [Placement(e.key, c, o, s) for e, c, o, s in zip(entrances, chainage, offset, side, strict=True)]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Assignment:
    """The number given to one entrance.

    ``status``: ``"existing"`` (kept), ``"new"``, ``"infill"`` (new, with a suffix), ``"renumbered"``
    (an existing plate changed by ``renumber=True``) or ``"rejected"`` (``number`` None, ``reason``
    in Chinese).
    """

    key: str
    number: int | None
    suffix: str
    label: str
    chainage_m: float
    offset_m: float
    side: int
    status: str
    reason: str = ""


@dataclass(frozen=True)
class Finding:
    """A quality finding.  ``code``: ``duplicate``, ``wrong_parity``, ``out_of_order``,
    ``gap_exceeds_reserve``, ``too_far``, ``no_room``, or a :class:`RoadGeometryError` code."""

    code: str
    severity: str
    message: str
    keys: tuple[str, ...]


@dataclass
class NumberingResult:
    """Assignments in chainage order (ties by key).  ``axis`` is None only in
    :func:`number_roads_bulk` results for a road whose geometry could not be prepared."""

    axis: RoadAxis | None
    assignments: list[Assignment]
    findings: list[Finding]

    def by_key(self) -> dict[str, Assignment]:
        return {a.key: a for a in self.assignments}


@dataclass(order=True, slots=True)
class _Label:
    """A position in the numbering order, compared by (number, suffix rank); ``suffix`` is the text
    in whatever scheme it is written."""

    number: int
    rank: int
    suffix: str = field(compare=False)

    @classmethod
    def of(cls, number: int, suffix: str) -> _Label:
        return cls(number, suffix_rank(suffix), suffix)

    @property
    def text(self) -> str:
        return _label(self.number, self.suffix)

    @property
    def key(self) -> tuple[int, int]:
        return self.number, self.rank


@dataclass(slots=True)
class _Item:
    """An entrance placed on the axis, during numbering."""

    key: str
    chainage: float
    offset: float
    side: int
    current: _Label | None  # the entrance's plate, if any
    fixed: bool  # keeps its plate (existing, or locked when renumbering); implies ``current``


def _items(entrances: Sequence[Entrance], placed: _Placed, renumber: bool) -> list[_Item]:
    """Placed entrances sorted by (chainage, key)."""
    counts = Counter(e.key for e in entrances)
    dup = sorted(k for k, n in counts.items() if n > 1)
    if dup:
        raise ValueError(f"入口编号重复：{'、'.join(dup)}")
    items = [
        _Item(
            e.key,
            c,
            o,
            s,
            None if e.number is None else _Label.of(e.number, e.suffix),
            e.locked if renumber else e.number is not None,
        )
        for e, c, o, s in zip(entrances, *placed, strict=True)
    ]
    return sorted(items, key=lambda it: (it.chainage, it.key))


def _parity(axis: RoadAxis, side: int) -> int:
    """1 if ``side`` carries the odd numbers, else 0."""
    return 1 if side == axis.odd_side else 0


_PARITY_ZH: Final = ("双号", "单号")

# --------------------------------------------------------------------------- checks


def _check(axis: RoadAxis, items: list[_Item], rules: NumberingRules) -> list[Finding]:
    """Findings on the fixed plates among ``items`` (sorted by chainage)."""
    fixed = [(it, it.current) for it in items if it.fixed]
    findings: list[Finding] = []
    for it, lab in fixed:
        if it.offset > rules.max_offset_m:
            message = f"门牌 {lab.text}（{it.key}）距道路 {it.offset:.1f} 米，超过 {rules.max_offset_m:g} 米"
            findings.append(Finding("too_far", "warning", message, (it.key,)))
    groups: dict[tuple[int, int], list[tuple[str, _Label]]] = defaultdict(list)
    for it, lab in fixed:
        groups[lab.key].append((it.key, lab))
    for members in groups.values():
        if len(members) > 1:
            keys = tuple(sorted(key for key, _ in members))
            message = f"门牌 {members[0][1].text} 重复：{'、'.join(keys)}"
            findings.append(Finding("duplicate", "error", message, keys))
    for it, lab in fixed:
        parity = _parity(axis, it.side)
        if lab.number % 2 != parity:
            message = f"门牌 {lab.text}（{it.key}）位于{_PARITY_ZH[parity]}一侧，应为{_PARITY_ZH[parity]}"
            findings.append(Finding("wrong_parity", "error", message, (it.key,)))
    for side in (axis.odd_side, -axis.odd_side):
        parity = _parity(axis, side)
        run = [(it, lab) for it, lab in fixed if it.side == side and lab.number % 2 == parity]
        for (a, la), (b, lb) in zip(run, run[1:], strict=False):
            keys = (a.key, b.key)
            if lb < la:
                message = f"门牌 {la.text}（{a.key}）之后是 {lb.text}（{b.key}），号码沿道路倒序"
                findings.append(Finding("out_of_order", "warning", message, keys))
                continue
            dist = b.chainage - a.chainage
            allowed = 2 * math.ceil(dist / rules.spacing_m) + 2 if rules.spacing_m else 2
            jump = lb.number - la.number
            if jump > allowed:
                message = (
                    f"门牌 {la.text} 与 {lb.text} 相距 {dist:.1f} 米，号码跳跃 {jump}，超过预留的 {allowed}"
                )
                findings.append(Finding("gap_exceeds_reserve", "warning", message, keys))
    return findings


# --------------------------------------------------------------------------- numbering

_NO_ROOM: Final = "没有可用号码，需编制更名/重编案件"


def _infill(
    prev: _Label | None, upper: _Label | None, used: set[tuple[int, int]], scheme: str
) -> _Label | str:
    """``prev`` with its next unused suffix if that still sorts before ``upper``, else the reason."""
    if prev is None:
        assert upper is not None  # an open gap always has whole numbers
        return f"门牌 {upper.text} 号之前{_NO_ROOM}"
    k = prev.rank + 1
    while (prev.number, k) in used:
        k += 1
    if upper is not None and (prev.number, k) >= upper.key:
        return f"门牌 {prev.text} 号与 {upper.text} 号之间{_NO_ROOM}"
    capacity = SUFFIX_CAPACITY[scheme]
    if capacity is not None and k > capacity:
        return f"门牌 {prev.text} 号之后的附号（{_SCHEME_ZH[scheme]}…）已用尽，需编制更名/重编案件"
    return _Label(prev.number, k, format_suffix(scheme, k))


def _fill_gap(
    run: list[_Item],
    prev: _Label | None,
    upper: _Label | None,
    parity: int,
    rules: NumberingRules,
    used: set[tuple[int, int]],
) -> list[_Label | str]:
    """Labels (or rejection reasons) for the new items of one gap, in chainage order, strictly
    between ``prev`` and ``upper`` (None: open end).  Whole numbers first, by slot (spacing) or
    smallest free, keeping enough for the items still to come; when the free numbers run out,
    infills of the previous label."""
    first = 2 - parity  # 1 on the odd side, 2 on the even side
    candidates = None  # free whole numbers of the gap; None: unbounded
    if upper is not None:
        stop = upper.number + (1 if upper.rank else 0)  # (n, 0) < upper
        candidates = [n for n in range(prev.number + 2 if prev else first, stop, 2) if (n, 0) not in used]
    out: list[_Label | str] = []
    for idx, it in enumerate(run):
        lowest = prev.number + 2 if prev else first
        target = lowest
        if rules.spacing_m is not None:
            target = max(target, 2 * math.floor(it.chainage / rules.spacing_m) + first)
        number = None
        if candidates is None:
            number = target
            while (number, 0) in used:
                number += 2
        else:
            lo = bisect.bisect_left(candidates, lowest)
            j = max(lo, min(bisect.bisect_left(candidates, target), len(candidates) - (len(run) - idx)))
            number = candidates[j] if j < len(candidates) else None
        result = (
            _Label(number, 0, "") if number is not None else _infill(prev, upper, used, rules.suffix_scheme)
        )
        if isinstance(result, _Label):
            used.add(result.key)
            prev = result
        out.append(result)
    return out


def _number_side(
    items: list[_Item], parity: int, rules: NumberingRules, used: set[tuple[int, int]]
) -> dict[str, _Label | str]:
    """Labels (or rejection reasons) for the new items of one side (sorted by chainage).

    The fixed plates of the side's parity bound the gaps: below by the running maximum, above by
    the minimum of those that follow (so out-of-order plates leave no room rather than produce
    out-of-order numbers).  Fixed plates of the wrong parity are ignored here (``wrong_parity``).
    """
    items = [it for it in items if not it.fixed or it.current.number % 2 == parity]
    upper_after: list[_Label | None] = []
    upper: _Label | None = None
    for it in reversed(items):
        upper_after.append(upper)
        if it.fixed:
            upper = it.current if upper is None else min(upper, it.current)
    upper_after.reverse()

    out: dict[str, _Label | str] = {}
    prev: _Label | None = None
    i = 0
    while i < len(items):
        if items[i].fixed:
            prev = items[i].current if prev is None else max(prev, items[i].current)
            i += 1
            continue
        j = i
        while j < len(items) and not items[j].fixed:
            j += 1
        run = items[i:j]
        for it, result in zip(run, _fill_gap(run, prev, upper_after[i], parity, rules, used), strict=True):
            out[it.key] = result
            if isinstance(result, _Label):
                prev = result
        i = j
    return out


def _assignment(it: _Item, result: _Label | str | None) -> Assignment:
    place = (it.chainage, it.offset, it.side)
    if result is None:  # fixed
        lab = it.current
        assert lab is not None
        return Assignment(it.key, lab.number, lab.suffix, lab.text, *place, "existing")
    if isinstance(result, str):
        return Assignment(it.key, None, "", "", *place, "rejected", result)
    if it.current is not None and it.current.key == result.key:  # renumbering kept this plate
        return Assignment(it.key, result.number, it.current.suffix, it.current.text, *place, "existing")
    status = "renumbered" if it.current is not None else ("infill" if result.rank else "new")
    return Assignment(it.key, result.number, result.suffix, result.text, *place, status)


def _number(
    axis: RoadAxis, entrances: Sequence[Entrance], placed: _Placed, rules: NumberingRules, renumber: bool
) -> NumberingResult:
    items = _items(entrances, placed, renumber)
    findings = _check(axis, items, rules)
    used = {it.current.key for it in items if it.fixed}
    results: dict[str, _Label | str] = {
        it.key: f"距道路 {it.offset:.1f} 米，超过 {rules.max_offset_m:g} 米"
        for it in items
        if not it.fixed and it.offset > rules.max_offset_m
    }
    too_far = set(results)
    for side in (axis.odd_side, -axis.odd_side):
        on_side = [it for it in items if it.side == side and it.key not in too_far]
        results.update(_number_side(on_side, _parity(axis, side), rules, used))
    assignments = [_assignment(it, results.get(it.key)) for it in items]
    for a in assignments:
        if a.status == "rejected":
            code = "too_far" if a.key in too_far else "no_room"
            findings.append(Finding(code, "error", f"入口 {a.key}：{a.reason}", (a.key,)))
    return NumberingResult(axis, assignments, findings)


def number_road(
    geom: BaseGeometry,
    entrances: Sequence[Entrance],
    rules: NumberingRules = NumberingRules(),
    *,
    entrance: tuple[float, float] | None = None,
    renumber: bool = False,
) -> NumberingResult:
    """Number the entrances of one road (see the module docstring for the rules).

    ``entrance``: the alley's entrance point (dead-end mode).  ``renumber=True`` renumbers every
    entrance from scratch except ``locked`` ones.  The findings include the checks of
    :func:`check_road` on the numbers that are kept.  Raises :class:`RoadGeometryError`.
    """
    axis = road_axis(geom, rules, entrance=entrance)
    return _number(axis, entrances, _project_one(axis, entrances), rules, renumber)


def check_road(
    geom: BaseGeometry, entrances: Sequence[Entrance], rules: NumberingRules = NumberingRules()
) -> list[Finding]:
    """Quality checks on the existing numbers only: ``duplicate`` and ``wrong_parity`` (errors),
    ``out_of_order``, ``gap_exceeds_reserve`` and ``too_far`` (warnings)."""
    axis = road_axis(geom, rules)
    return _check(axis, _items(entrances, _project_one(axis, entrances), renumber=False), rules)


def renumber_impact(
    geom: BaseGeometry, entrances: Sequence[Entrance], rules: NumberingRules = NumberingRules()
) -> list[tuple[str, str, str]]:
    """``(key, old label, new label)`` of every existing plate that a full renumbering would change
    (new label "" if it could not be numbered), in chainage order."""
    old = {e.key: _label(e.number, e.suffix) for e in entrances if e.number is not None}
    return [
        (a.key, old[a.key], a.label)
        for a in number_road(geom, entrances, rules, renumber=True).assignments
        if a.key in old and a.status in ("renumbered", "rejected")
    ]


def number_roads_bulk(
    roads: Sequence[tuple[str, BaseGeometry, Sequence[Entrance]]],
    rules: NumberingRules = NumberingRules(),
    *,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, NumberingResult]:
    """Number many roads ``(road key, geometry, entrances)``, with optional per-road rule overrides
    (as for :meth:`NumberingRules.merged`); the entrances of all roads are projected at once.

    A road whose geometry cannot be prepared gets a result with ``axis=None``, every entrance
    rejected and one error finding with the :class:`RoadGeometryError` code and message.
    """
    overrides = overrides or {}
    results: dict[str, NumberingResult] = {}
    prepared: list[tuple[str, RoadAxis, Sequence[Entrance], NumberingRules]] = []
    for road_key, geom, entrances in roads:
        road_rules = rules.merged(overrides.get(road_key))
        try:
            prepared.append((road_key, road_axis(geom, road_rules), entrances, road_rules))
        except RoadGeometryError as exc:
            rejected = [
                Assignment(e.key, None, "", "", math.nan, math.nan, 0, "rejected", exc.message)
                for e in sorted(entrances, key=lambda e: e.key)
            ]
            keys = tuple(a.key for a in rejected)
            results[road_key] = NumberingResult(
                None, rejected, [Finding(exc.code, "error", exc.message, keys)]
            )

    if prepared:
        counts = [len(entrances) for _, _, entrances, _ in prepared]
        points = [(e.x, e.y) for _, _, entrances, _ in prepared for e in entrances]
        road = np.repeat(np.arange(len(prepared)), counts)
        axes = [axis for _, axis, _, _ in prepared]
        chainage, offset, side = _project(axes, np.array(points, dtype=float).reshape(-1, 2), road)
        start = 0
        for (road_key, axis, entrances, road_rules), n in zip(prepared, counts, strict=True):
            placed = (chainage[start : start + n], offset[start : start + n], side[start : start + n])
            results[road_key] = _number(axis, entrances, placed, road_rules, renumber=False)
            start += n
    return {road_key: results[road_key] for road_key, _, _ in roads}


# --------------------------------------------------------------------------- compounds


@dataclass(frozen=True)
class Building:
    """A building (楼/幢) in a compound; ``number``: its existing building number."""

    key: str
    x: float
    y: float
    units: int = 1
    floors: int = 1
    rooms_per_floor: int = 2
    number: int | None = None


def skip_sequence(n: int, skip: Iterable[int], start: int = 1) -> list[int]:
    """The first ``n`` integers >= ``start`` that are not in ``skip`` (exact values only)."""
    skipped = set(skip)
    out: list[int] = []
    k = start
    while len(out) < n:
        if k not in skipped:
            out.append(k)
        k += 1
    return out


def number_compound(
    buildings: Sequence[Building], rules: NumberingRules = NumberingRules(), *, row_tol_m: float = 15.0
) -> list[tuple[str, int]]:
    """Building numbers in S-order from the north-east: ``(key, number)`` in that order.

    Buildings form rows by y (a row starts at its northernmost building and takes every building
    within ``row_tol_m`` south of it); rows run north to south, the first east to west, the next
    west to east, and so on.  Existing numbers are kept; the other buildings take the smallest
    numbers that are neither used nor in ``rules.skip_numbers``, in S-order.
    """
    if not buildings:
        return []
    xy = np.array([(b.x, b.y) for b in buildings], dtype=float)
    rows: list[list[int]] = []
    top = math.inf
    for i in np.argsort(-xy[:, 1], kind="stable").tolist():  # north to south
        if xy[i, 1] < top - row_tol_m:
            rows.append([])
            top = xy[i, 1]
        rows[-1].append(i)
    order: list[int] = []
    for r, row in enumerate(rows):
        east_to_west = sorted(row, key=lambda i: (-xy[i, 0], -xy[i, 1]))
        order.extend(east_to_west if r % 2 == 0 else east_to_west[::-1])

    taken = {b.number for b in buildings if b.number is not None} | set(rules.skip_numbers)
    free = (n for n in itertools.count(1) if n not in taken)
    return [(buildings[i].key, buildings[i].number or next(free)) for i in order]


def compound_rooms(
    building: Building, rules: NumberingRules = NumberingRules()
) -> list[tuple[int, int, str]]:
    """``(unit, floor, room label)`` of every room, by unit, floor and room.  Units, floors and room
    indexes skip ``rules.skip_numbers``; the label is floor·100 + room index ("301", "1502")."""
    skip = rules.skip_numbers
    room_indexes = skip_sequence(building.rooms_per_floor, skip)
    if room_indexes and room_indexes[-1] > 99:
        raise ValueError(
            f"楼栋 {building.key} 每层房间过多（{building.rooms_per_floor}），房号无法写成 楼层+两位序号"
        )
    floors = skip_sequence(building.floors, skip)
    return [
        (unit, floor, str(floor * 100 + room))
        for unit in skip_sequence(building.units, skip)
        for floor in floors
        for room in room_indexes
    ]


# --------------------------------------------------------------------------- villages


@dataclass(frozen=True)
class Household:
    """A rural household (户) in a 组/自然村 ``group``; ``number``: its existing number."""

    key: str
    x: float
    y: float
    group: str
    number: int | None = None


def path_length(points: np.ndarray, order: Sequence[int] | np.ndarray) -> float:
    """Length of the open path visiting ``points`` (n×2) in ``order``."""
    p = points[np.asarray(order)]
    return float(np.hypot(*np.diff(p, axis=0).T).sum())


def village_path(points: np.ndarray, start: int, *, improve: bool = True, max_passes: int = 50) -> np.ndarray:
    """Short open path through all ``points`` (n×2) from ``start``: greedy nearest neighbour, then
    (``improve``) 2-opt segment reversals with the start fixed, at most ``max_passes`` passes.
    Uses an n×n distance matrix (fine for a village group of a few thousand households)."""
    n = len(points)
    d = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
    order = [start]
    unvisited = np.ones(n, dtype=bool)
    unvisited[start] = False
    for _ in range(n - 1):
        row = np.where(unvisited, d[order[-1]], np.inf)
        nxt = int(np.argmin(row))
        order.append(nxt)
        unvisited[nxt] = False
    if not improve or n < 4:
        return np.array(order)

    # Reversing path[i..j] replaces the edges (i-1, i), (j, j+1) by (i-1, j), (i, j+1).  A dummy end
    # node at distance 0 from every point lets the same formula handle reversals of the path's tail;
    # for each i, the best j is found in one vectorised step.
    dd = np.zeros((n + 1, n + 1))
    dd[:n, :n] = d
    path = np.array(order + [n])
    for _ in range(max_passes):
        improved = False
        for i in range(1, n - 1):
            a, b = path[i - 1], path[i]
            c, e = path[i + 1 : n], path[i + 2 : n + 1]
            delta = dd[a, c] + dd[b, e] - dd[a, b] - dd[c, e]
            k = int(np.argmin(delta))
            if delta[k] < -1e-9:
                path[i : i + 2 + k] = path[i : i + 2 + k][::-1]
                improved = True
        if not improved:
            break
    return path[:n]


def number_village(
    households: Sequence[Household], *, seat: tuple[float, float] | None = None
) -> list[tuple[str, str, int]]:
    """Rural numbers ``(key, group, number)``, by group (sorted), in path order within a group.

    The path of a group starts at the household nearest ``seat`` (the village committee), else at
    the group's most north-easterly one (largest x + y), and is :func:`village_path`.  Existing
    numbers are kept; the others get max(existing) + 1, + 2 … in path order (1..n for a new group).
    """
    groups: dict[str, list[Household]] = defaultdict(list)
    for h in sorted(households, key=lambda h: h.key):
        groups[h.group].append(h)
    out: list[tuple[str, str, int]] = []
    for group in sorted(groups):
        members = groups[group]
        xy = np.array([(h.x, h.y) for h in members], dtype=float)
        if seat is not None:
            start = int(np.argmin(np.hypot(*(xy - np.asarray(seat, dtype=float)).T)))
        else:
            start = int(np.argmax(xy.sum(axis=1)))
        nxt = max((h.number for h in members if h.number is not None), default=0)
        for i in village_path(xy, start).tolist():
            h = members[i]
            if h.number is None:
                nxt += 1
            out.append((h.key, group, h.number if h.number is not None else nxt))
    return out

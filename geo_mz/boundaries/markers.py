"""Boundary markers (界桩): numbers, sequencing, condition codes, coordinates and quality rules.

Pure module: standard library, numpy, shapely 2 and pyproj (through :mod:`geo_mz.core.crs`), no
Django (DESIGN §1).  The services layer loads lines, markers and findings, calls these functions
and stores the results.  See DOMAIN §3 for the administrative background.

**CRS and units.**  Every geometry is in the projected storage CRS in metres (x = easting,
y = northing; default EPSG:4547 = CGCS2000 3° Gauss-Krüger zone 38, CM 114°E, false easting
500 000 m, no zone prefix).  Chainages, offsets, distances and tolerances are metres; azimuths are
degrees clockwise from north in ``[0, 360)``.  Surveyors write Gauss-Krüger coordinates as
**X = northing, Y = easting**; :func:`parse_gk_xy` and :func:`display_coordinates` use that
convention, everything else uses shapely's (x = easting, y = northing).

**Marker numbers** (DOMAIN §3, provincial practice reused for lower levels): line code + ``-`` +
three-digit sequence + type letter, e.g. ``421221-421281-003Q``.  Sequences run from 001
west→east (lines wider than tall) or north→south.  Letters: ``Q`` single (单立); ``A``/``B`` paired
(同号双立, the side with the smaller division code gets ``A``); ``C``/``D``/``E`` triple (同号三立 at a
tri-junction, in ascending order of the three division codes).  The markers of a pair or triple
share one sequence number.

**Quality rules** (:func:`check_markers`), each with a stable id:

====  =====================================================================  ========
BM00  number malformed, or of another line (when ``line_code`` is given)     error
BM01  marker farther than ``max_offset_m`` from its line                     error
BM02  duplicate number, or one sequence used by markers of different types   error
BM03  sequence out of order along the line                                   error
BM04  triple marker farther than ``tri_junction_tolerance_m`` from a         error
      tri-junction (warning when no tri-junction is known)
BM05  bearing objects inconsistent (:func:`check_bearings`)                  per item
BM06  type letter inconsistent with the marker type, or unknown type         error
====  =====================================================================  ========
"""

from __future__ import annotations

import dataclasses
import math
import re
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, Point
from shapely.geometry.base import BaseGeometry

from geo_mz.core import crs

__all__ = [
    "ACTIONS",
    "ACTION_LABELS_EN",
    "CONDITIONS",
    "CONDITION_LABELS_EN",
    "DEFAULT_MOVED_TOLERANCE_M",
    "DIRECTIONS",
    "DIRECTION_LABELS",
    "ERROR",
    "LETTER_TYPES",
    "MARKER_TYPES",
    "MARKER_TYPE_LABELS",
    "MARKER_TYPE_LABELS_EN",
    "PHOTO_REQUIRED",
    "QUALITY_RULES",
    "TYPE_LETTERS",
    "WARNING",
    "BearingObject",
    "BearingProblem",
    "FindingProblem",
    "LineAxis",
    "MarkerCoordinateError",
    "MarkerInput",
    "MarkerNumber",
    "MarkerType",
    "Offset",
    "PlacedMarker",
    "QualityFinding",
    "QualityRules",
    "SequencedMarker",
    "check_bearings",
    "check_markers",
    "display_coordinates",
    "grid_azimuth",
    "grid_convergence",
    "line_axis",
    "marker_letters",
    "marker_number",
    "offset",
    "parse_gk_xy",
    "parse_gnss_point",
    "parse_marker_number",
    "place_markers",
    "sequence_direction",
    "sequence_markers",
    "validate_finding",
]

ERROR: Final = "error"
WARNING: Final = "warning"

# --------------------------------------------------------------------------- marker types


class MarkerType:
    """Marker type codes (stored as plain strings)."""

    SINGLE: Final = "single"
    PAIRED: Final = "paired"
    TRIPLE: Final = "triple"


MARKER_TYPES: Final[tuple[str, ...]] = (MarkerType.SINGLE, MarkerType.PAIRED, MarkerType.TRIPLE)
MARKER_TYPE_LABELS: Final[dict[str, str]] = {"single": "单立", "paired": "同号双立", "triple": "同号三立"}
MARKER_TYPE_LABELS_EN: Final[dict[str, str]] = {"single": "single", "paired": "paired", "triple": "triple"}
#: The type letters of each marker type, in the order they are handed out.
TYPE_LETTERS: Final[dict[str, tuple[str, ...]]] = {
    "single": ("Q",),
    "paired": ("A", "B"),
    "triple": ("C", "D", "E"),
}
#: The marker type of each letter.
LETTER_TYPES: Final[dict[str, str]] = {
    letter: kind for kind, letters in TYPE_LETTERS.items() for letter in letters
}


def _check_kind(kind: str) -> None:
    if kind not in MARKER_TYPES:
        raise ValueError(
            f"未知界桩类型：{kind!r}（可选：{'、'.join(MARKER_TYPES)}） / "
            f"unknown marker type {kind!r} (expected one of {', '.join(MARKER_TYPES)})"
        )


def _code_key(code: str) -> tuple[int, str, int]:
    """Order of division codes: digit codes compare as their 12-digit NBS padding (so 6-, 9- and
    12-digit codes interleave correctly), then by length; other strings after them, as text."""
    if code.isdigit():
        return (0, code.ljust(12, "0"), len(code))
    return (1, code, len(code))


def marker_letters(kind: str, side_codes: Sequence[str]) -> list[str]:
    """Type letters for the markers of one number, aligned with ``side_codes``.

    ``side_codes`` are the division codes of the sides the markers stand in.  ``single``: ``["Q"]``
    for each given code (at least one; the codes are otherwise ignored); ``paired``: exactly two
    codes, the smaller gets ``A``; ``triple``: exactly three codes, ``C``/``D``/``E`` in ascending
    code order.  E.g. ``marker_letters("paired", ["421281", "421221"]) == ["B", "A"]``.

    Raises:
        ValueError: unknown type, wrong number of codes, empty or repeated codes.
    """
    _check_kind(kind)
    codes = [str(c).strip() for c in side_codes]
    if any(not c for c in codes):
        raise ValueError("政区代码不能为空 / a division code is empty")
    letters = TYPE_LETTERS[kind]
    if kind == MarkerType.SINGLE:
        return ["Q"] * max(1, len(codes))
    if len(codes) != len(letters):
        raise ValueError(
            f"{MARKER_TYPE_LABELS[kind]}界桩需要 {len(letters)} 个政区代码，实得 {len(codes)} 个 / "
            f"a {kind} marker needs exactly {len(letters)} division codes, got {len(codes)}"
        )
    if len(set(codes)) != len(codes):
        raise ValueError(f"政区代码重复：{'、'.join(codes)} / repeated division codes: {', '.join(codes)}")
    ranked = sorted(codes, key=_code_key)
    return [letters[ranked.index(c)] for c in codes]


class MarkerNumber(NamedTuple):
    """A parsed marker number: ``("421221-421281", 3, "Q")``."""

    line_code: str
    seq: int
    letter: str

    @property
    def kind(self) -> str:
        return LETTER_TYPES[self.letter]

    def __str__(self) -> str:
        return marker_number(self.line_code, self.seq, self.letter)


_NUMBER_EXAMPLE: Final = "421221-421281-003Q"
_TAIL_RE: Final = re.compile(r"([0-9]*)(.*)")


def marker_number(line_code: str, seq: int, letter: str) -> str:
    """``f"{line_code}-{seq:03d}{letter}"``, e.g. ``marker_number("421221-421281", 3, "Q")`` →
    ``"421221-421281-003Q"``.

    Raises:
        ValueError: empty line code or one with whitespace, ``seq`` < 1 or not an integer, unknown letter.
    """
    code = str(line_code).strip()
    if not code or any(ch.isspace() for ch in code):
        raise ValueError(
            f"界线代码无效：{line_code!r}（不能为空或含空白） / invalid line code {line_code!r} (empty or contains whitespace)"
        )
    if isinstance(seq, bool) or not isinstance(seq, int | np.integer) or seq < 1:
        raise ValueError(
            f"界桩序号应为不小于 1 的整数：{seq!r} / the sequence must be an integer >= 1, got {seq!r}"
        )
    if letter not in LETTER_TYPES:
        raise ValueError(
            f"界桩类型字母无效：{letter!r}（可选：Q、A、B、C、D、E） / invalid type letter {letter!r} (expected Q, A, B, C, D or E)"
        )
    return f"{code}-{int(seq):03d}{letter}"


def parse_marker_number(s: str) -> MarkerNumber:
    """Split ``"421221-421281-003Q"`` into ``MarkerNumber("421221-421281", 3, "Q")``.

    The number must be canonical (what :func:`marker_number` writes): sequence of at least three
    digits without extra leading zeros, an upper-case letter Q/A/B/C/D/E.  Surrounding whitespace
    is ignored.

    Raises:
        ValueError: with a Chinese + English message naming what is wrong.
    """
    text = str(s).strip()
    hint_zh, hint_en = f"应形如 {_NUMBER_EXAMPLE}", f"expected e.g. {_NUMBER_EXAMPLE}"
    if not text:
        raise ValueError("界桩编号为空 / the marker number is empty")
    if "-" not in text:
        raise ValueError(
            f"界桩编号 {text!r} 缺少“-”分隔的界线代码与序号，{hint_zh} / "
            f"marker number {text!r} has no '-' between line code and sequence; {hint_en}"
        )
    line_code, tail = text.rsplit("-", 1)
    if not line_code:
        raise ValueError(
            f"界桩编号 {text!r} 缺少界线代码，{hint_zh} / marker number {text!r} lacks the line code; {hint_en}"
        )
    m = _TAIL_RE.fullmatch(tail)
    assert m is not None  # the pattern matches any string
    digits, letter = m.groups()
    if not digits:
        raise ValueError(
            f"界桩编号 {text!r} 缺少序号（三位数字），{hint_zh} / "
            f"marker number {text!r} lacks the three-digit sequence; {hint_en}"
        )
    if not letter:
        raise ValueError(
            f"界桩编号 {text!r} 缺少类型字母（单立 Q，双立 A/B，三立 C/D/E），{hint_zh} / "
            f"marker number {text!r} lacks the type letter (Q single, A/B paired, C/D/E triple); {hint_en}"
        )
    if letter not in LETTER_TYPES:
        upper = "（类型字母应大写）" if letter.upper() in LETTER_TYPES else ""
        upper_en = " (letters are upper case)" if upper else ""
        raise ValueError(
            f"界桩编号 {text!r} 的类型字母 {letter!r} 无效{upper}，应为 Q、A、B、C、D 或 E / "
            f"marker number {text!r} has an invalid type letter {letter!r}{upper_en}; expected Q, A, B, C, D or E"
        )
    seq = int(digits)
    if seq < 1:
        raise ValueError(
            f"界桩编号 {text!r} 的序号为 0，序号从 001 开始 / marker number {text!r} has sequence 0; sequences start at 001"
        )
    if digits != f"{seq:03d}":
        raise ValueError(
            f"界桩编号 {text!r} 的序号 {digits} 应写作 {seq:03d}（至少三位数字） / "
            f"marker number {text!r}: sequence {digits} must be written {seq:03d} (at least three digits)"
        )
    return MarkerNumber(line_code, seq, letter)


# --------------------------------------------------------------------------- line axis and sequencing

DIRECTIONS: Final[tuple[str, ...]] = ("west_east", "north_south")
DIRECTION_LABELS: Final[dict[str, str]] = {"west_east": "自西向东", "north_south": "自北向南"}


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(
            f"编号方向无效：{direction!r}（可选：west_east 自西向东、north_south 自北向南） / "
            f"invalid sequencing direction {direction!r} (expected west_east or north_south)"
        )


def _line_parts(line: BaseGeometry) -> list[LineString]:
    """The non-degenerate parts of a LineString / MultiLineString after ``line_merge``."""
    if not isinstance(line, LineString | MultiLineString):
        raise ValueError(
            f"界线几何应为 LineString 或 MultiLineString，实为 {getattr(line, 'geom_type', type(line).__name__)} / "
            f"the line must be a LineString or MultiLineString"
        )
    merged = shapely.line_merge(line) if isinstance(line, MultiLineString) and not line.is_empty else line
    parts = [merged] if isinstance(merged, LineString) else list(getattr(merged, "geoms", []))
    parts = [p for p in parts if isinstance(p, LineString) and not p.is_empty and p.length > 0]
    if not parts:
        raise ValueError("界线几何为空或长度为 0 / the line geometry is empty or has zero length")
    return parts


def sequence_direction(line: BaseGeometry, override: str | None = None) -> str:
    """``"west_east"`` when the line's bounding box is at least as wide as it is tall, else
    ``"north_south"``; ``override`` (one of :data:`DIRECTIONS`) wins when given."""
    if override is not None:
        _check_direction(override)
        return override
    _line_parts(line)  # validates
    minx, miny, maxx, maxy = line.bounds
    return "west_east" if maxx - minx >= maxy - miny else "north_south"


def _start_key(x: float, y: float, direction: str) -> tuple[float, float]:
    """Smaller = nearer the start: west first (ties: north first), or north first (ties: west first)."""
    return (x, -y) if direction == "west_east" else (-y, x)


def _orient(part: LineString, direction: str) -> LineString:
    coords = shapely.get_coordinates(part)
    if _start_key(*coords[-1], direction) < _start_key(*coords[0], direction):
        return LineString(coords[::-1])
    return part


def _xy(p: Any, what: str = "点") -> tuple[float, float]:
    """(x, y) of a shapely Point or an (x, y) pair; ValueError when empty or not finite."""
    if isinstance(p, Point):
        if p.is_empty:
            raise ValueError(f"{what}为空 / empty point")
        x, y = p.x, p.y
    else:
        try:
            x, y = (float(v) for v in p)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{what}应为 Point 或 (x, y)：{p!r} / expected a Point or (x, y), got {p!r}"
            ) from exc
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"{what}坐标不是有效数值：({x}, {y}) / coordinates are not finite: ({x}, {y})")
    return float(x), float(y)


@dataclass(frozen=True)
class LineAxis:
    """A boundary line prepared for sequencing: its parts oriented in the sequencing ``direction``
    (each starts at its west, resp. north, end) and ordered by their start points.

    Chainage runs along the parts in order; ``starts[i]`` is the chainage at the start of part ``i``
    (the sum of the lengths of the preceding parts: gaps between parts that ``line_merge`` could
    not join are *not* counted).  A closed part keeps its digitised orientation.
    """

    direction: str
    parts: tuple[LineString, ...]
    starts: tuple[float, ...]
    length: float

    def locate(self, points: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """``(chainage, distance)`` arrays: each point is projected onto its nearest part."""
        n = len(points)
        if n == 0:
            return np.zeros(0), np.zeros(0)
        pts = shapely.points(np.array([_xy(p) for p in points], dtype=np.float64))
        dist = np.vstack([shapely.distance(part, pts) for part in self.parts])
        nearest = np.argmin(dist, axis=0)
        chainage = np.empty(n, dtype=np.float64)
        for i, part in enumerate(self.parts):
            sel = nearest == i
            if sel.any():
                chainage[sel] = self.starts[i] + shapely.line_locate_point(part, pts[sel])
        return chainage, dist[nearest, np.arange(n)]

    def _part_at(self, chainage: float) -> tuple[LineString, float]:
        i = max(0, min(len(self.parts) - 1, bisect_right(self.starts, chainage) - 1))
        part = self.parts[i]
        return part, min(max(chainage - self.starts[i], 0.0), part.length)

    def interpolate(self, chainage: float) -> Point:
        """The point of the line at ``chainage`` (clamped to the line)."""
        part, s = self._part_at(chainage)
        return part.interpolate(s)

    def tangent(self, chainage: float) -> tuple[float, float]:
        """Unit vector of the line's direction (of increasing chainage) at ``chainage``."""
        part, s = self._part_at(chainage)
        h = min(1.0, part.length / 2)
        a = part.interpolate(max(0.0, s - h))
        b = part.interpolate(min(part.length, s + h))
        dx, dy = b.x - a.x, b.y - a.y
        norm = math.hypot(dx, dy)
        return (dx / norm, dy / norm) if norm > 0 else (1.0, 0.0)


def line_axis(line: BaseGeometry, direction: str | None = None) -> LineAxis:
    """Prepare ``line`` (LineString / MultiLineString, merged with ``line_merge``) for sequencing
    in ``direction`` (default: :func:`sequence_direction`).  ValueError for empty or non-line input."""
    parts = _line_parts(line)
    direction = sequence_direction(line, direction)
    oriented = sorted(
        (_orient(p, direction) for p in parts), key=lambda p: _start_key(*p.coords[0], direction)
    )
    lengths = [p.length for p in oriented]
    starts = tuple(float(v) for v in np.concatenate([[0.0], np.cumsum(lengths)[:-1]]))
    return LineAxis(direction, tuple(oriented), starts, float(sum(lengths)))


@dataclass(frozen=True)
class SequencedMarker:
    """A marker's sequence number along the line, its chainage and its distance from the line (m)."""

    key: Hashable
    seq: int
    chainage_m: float
    offset_m: float


def sequence_markers(
    line: BaseGeometry,
    points: Mapping[Hashable, Any],
    *,
    direction: str | None = None,
    group: Mapping[Hashable, Hashable] | None = None,
) -> list[SequencedMarker]:
    """Number markers 1..n along ``line`` from its west (or north) end (see :class:`LineAxis`).

    ``points`` maps a key to a Point (or (x, y)).  Keys with the same value in ``group`` (the
    markers of one paired / triple number) share one sequence number, placed at the mean chainage
    of its members; other keys are numbered alone.  Ties are broken by input order.  The result is
    sorted by (seq, chainage, input order); ``offset_m`` is the unsigned distance to the line.
    """
    axis = line_axis(line, direction)
    keys = list(points)
    chainage, dist = axis.locate([points[k] for k in keys])
    members: dict[Hashable, list[int]] = {}
    for i, k in enumerate(keys):
        label = ("group", group[k]) if group is not None and k in group else ("key", i)
        members.setdefault(label, []).append(i)
    order = sorted(members.values(), key=lambda idx: (float(np.mean(chainage[idx])), idx[0]))
    out = [
        SequencedMarker(keys[i], seq, float(chainage[i]), float(dist[i]))
        for seq, idx in enumerate(order, start=1)
        for i in sorted(idx, key=lambda j: (chainage[j], j))
    ]
    return out


# --------------------------------------------------------------------------- conditions and actions

#: Moved-marker tolerance (m) used when none is configured.
DEFAULT_MOVED_TOLERANCE_M: Final = 0.5

#: Condition codes of a marker finding: code -> (Chinese label, written definition "中文 / English").
CONDITIONS: Final[dict[str, tuple[str, str]]] = {
    "intact": (
        "完好",
        "桩体完整、稳固，注记清晰，位置未变动 / The marker is whole and firm, its inscription is legible "
        "and it has not moved.",
    ),
    "damaged": (
        "损坏",
        "桩体破损、倾斜、松动或注记模糊，但位置未变 / The marker is broken, tilted or loose, or its "
        "inscription is illegible, but it has not moved.",
    ),
    "moved": (
        "移位",
        "桩体被移动，实测位置偏离登记位置超过限差 / The marker has been displaced: its measured position "
        "differs from the registered position by more than the tolerance.",
    ),
    "lost": (
        "丢失",
        "桩体灭失或无法找到 / The marker has been destroyed or cannot be found.",
    ),
}
CONDITION_LABELS_EN: Final[dict[str, str]] = {
    "intact": "intact",
    "damaged": "damaged",
    "moved": "moved",
    "lost": "lost",
}
#: Conditions that need at least one photo as evidence.
PHOTO_REQUIRED: Final[frozenset[str]] = frozenset({"damaged", "moved", "lost"})

#: Action codes of a finding: code -> Chinese label.
ACTIONS: Final[dict[str, str]] = {
    "none": "无",
    "repainted": "描红",
    "repaired": "维修",
    "reset": "重新埋设",
    "reported": "上报待处理",
}
ACTION_LABELS_EN: Final[dict[str, str]] = {
    "none": "none",
    "repainted": "inscription repainted",
    "repaired": "repaired",
    "reset": "reset (re-buried)",
    "reported": "reported for handling",
}


@dataclass(frozen=True)
class Offset:
    """Displacement from a recorded to a measured position: grid dx (east), dy (north), distance (m)
    and grid azimuth (degrees clockwise from grid north, 0 when the distance is 0)."""

    dx_m: float
    dy_m: float
    distance_m: float
    azimuth_deg: float


def _azimuth(dx: float, dy: float) -> float:
    if dx == 0 and dy == 0:
        return 0.0
    az = math.degrees(math.atan2(dx, dy)) % 360.0
    return 0.0 if az >= 360.0 else az


def grid_azimuth(a: Any, b: Any) -> float:
    """Grid azimuth from point ``a`` to point ``b``, degrees clockwise from grid north in [0, 360)."""
    (ax, ay), (bx, by) = _xy(a), _xy(b)
    return _azimuth(bx - ax, by - ay)


def offset(recorded: Any, measured: Any) -> Offset:
    """How far and in which direction ``measured`` lies from ``recorded`` (Points in metres)."""
    (rx, ry), (mx, my) = _xy(recorded, "登记位置"), _xy(measured, "实测位置")
    dx, dy = mx - rx, my - ry
    return Offset(dx, dy, math.hypot(dx, dy), _azimuth(dx, dy))


@dataclass(frozen=True)
class FindingProblem:
    """A problem with a marker finding: ``field`` (``condition``, ``photos``, ``measured``,
    ``action``), Chinese + English ``message``, ``severity`` ``"error"`` (reject) or ``"warning"``."""

    field: str
    message: str
    severity: str = ERROR


def validate_finding(
    condition: str,
    photos_count: int,
    measured: Any | None,
    recorded: Any,
    *,
    moved_tolerance_m: float = DEFAULT_MOVED_TOLERANCE_M,
    action: str | None = None,
) -> list[FindingProblem]:
    """Check one marker finding of a joint inspection.

    Errors: unknown condition; a photo missing for a condition in :data:`PHOTO_REQUIRED`; ``moved``
    without a measured position; a negative photo count; an unknown ``action``; ``repainted`` or
    ``repaired`` on a lost marker.  Warnings: a measured position more than ``moved_tolerance_m``
    from the recorded one while the condition says the marker did not move (intact / damaged);
    ``moved`` although the measured offset is within the tolerance; a measured position for a lost
    marker.

    Raises:
        ValueError: ``moved_tolerance_m`` is not a positive number.
    """
    if not (
        isinstance(moved_tolerance_m, int | float)
        and math.isfinite(moved_tolerance_m)
        and moved_tolerance_m > 0
    ):
        raise ValueError(f"移位限差应为正数（米）：{moved_tolerance_m!r} / moved_tolerance_m must be > 0")
    problems: list[FindingProblem] = []
    if photos_count < 0:
        problems.append(FindingProblem("photos", f"照片数量不能为负：{photos_count} / negative photo count"))
    if action is not None and action not in ACTIONS:
        problems.append(
            FindingProblem(
                "action",
                f"未知处理措施：{action!r}（可选：{'、'.join(ACTIONS)}） / unknown action {action!r}",
            )
        )
    if condition not in CONDITIONS:
        problems.append(
            FindingProblem(
                "condition",
                f"未知界桩状况：{condition!r}（可选：{'、'.join(CONDITIONS)}） / unknown condition {condition!r} "
                f"(expected one of {', '.join(CONDITIONS)})",
            )
        )
        return problems
    label, en = CONDITIONS[condition][0], CONDITION_LABELS_EN[condition]
    if condition in PHOTO_REQUIRED and photos_count <= 0:
        problems.append(
            FindingProblem(
                "photos", f"状况为“{label}”时必须上传照片 / a photo is required when the condition is {en}"
            )
        )
    if condition == "lost" and action in ("repainted", "repaired"):
        problems.append(
            FindingProblem(
                "action",
                f"丢失的界桩不能“{ACTIONS[action]}”，应重新埋设或上报 / a lost marker cannot be "
                f"{ACTION_LABELS_EN[action]}; reset or report it",
            )
        )
    if measured is None:
        if condition == "moved":
            problems.append(
                FindingProblem(
                    "measured",
                    "状况为“移位”时必须填写实测位置 / a measured position is required when the condition is moved",
                )
            )
        return problems
    d = offset(recorded, measured).distance_m
    if condition in ("intact", "damaged") and d > moved_tolerance_m:
        problems.append(
            FindingProblem(
                "measured",
                f"实测位置偏离登记位置 {d:.2f} 米，超过限差 {moved_tolerance_m:g} 米，但状况为“{label}”；"
                f"请核实是否应为“移位” / the measured position is {d:.2f} m from the recorded one, more than "
                f"the {moved_tolerance_m:g} m tolerance, but the condition is {en}; check whether it moved",
                WARNING,
            )
        )
    elif condition == "moved" and d <= moved_tolerance_m:
        problems.append(
            FindingProblem(
                "measured",
                f"状况为“移位”，但实测位置仅偏离 {d:.2f} 米，未超过限差 {moved_tolerance_m:g} 米 / the condition "
                f"is moved but the measured offset is only {d:.2f} m, within the {moved_tolerance_m:g} m tolerance",
                WARNING,
            )
        )
    elif condition == "lost":
        problems.append(
            FindingProblem(
                "measured",
                "界桩已丢失，不应有实测位置 / a lost marker should have no measured position",
                WARNING,
            )
        )
    return problems


# --------------------------------------------------------------------------- coordinates


class MarkerCoordinateError(ValueError):
    """A marker coordinate failed a check.

    Attributes:
        code: ``not_number``, ``not_finite``, ``swapped_xy``, ``out_of_range``, ``zone_prefix``,
            ``missing_zone_prefix``, ``wrong_zone``, ``outside_zone``, or a
            :class:`geo_mz.core.crs.CoordinateError` code (``swapped_lat_lon``, ``outside_china`` …).
        message_zh, message_en: the explanation; ``message`` / ``str(err)`` = ``"<zh> / <en>"``.
        values: the input pair as given.
    """

    def __init__(self, code: str, message_zh: str, message_en: str, values: tuple[Any, Any]) -> None:
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.message = f"{message_zh} / {message_en}"
        self.values = values
        super().__init__(self.message)

    def __reduce__(self) -> tuple[type[MarkerCoordinateError], tuple[str, str, str, tuple[Any, Any]]]:
        return (type(self), (self.code, self.message_zh, self.message_en, self.values))


#: Half-width (m) of the easting range accepted around a zone's central meridian.  A 3° zone is
#: about ±150 km wide at these latitudes; 350 km leaves room for counties at a zone edge while
#: catching coordinates of a neighbouring zone or a wrong false easting.
_ZONE_HALF_WIDTH_M: Final = 350_000.0
_FALSE_EASTING: Final = 500_000.0
#: CGCS2000 3° GK SRIDs with a zone prefix are EPSG:4513..4533; 4534..4554 are CM-only.
_FIRST_CM_ONLY_SRID: Final = 4534
_GK3_ZONES: Final = range(25, 46)  # 3° zones (CM = 3n)
_GK6_ZONES: Final = range(13, 24)  # 6° zones (CM = 6n - 3) covering China
#: Plausible Gauss-Krüger northings in China (3.8°N ≈ 420 km … 53.6°N ≈ 5 940 km), with margin.
_NORTHING_RANGE: Final = (300_000.0, 6_200_000.0)


def _zone_info(srid: int) -> tuple[int, int, int]:
    """(zone, central meridian, expected zone prefix) of a CGCS2000 3° GK SRID (prefix 0: none)."""
    cm = crs.gk3_central_meridian(srid)
    zone = cm // 3
    return zone, cm, (zone if srid < _FIRST_CM_ONLY_SRID else 0)


def _split_prefix(value: float) -> tuple[int, float]:
    """(zone prefix, easting without prefix); prefix 0 when ``value`` carries no zone number."""
    if value >= 1_000_000:
        p = int(value // 1_000_000)
        if p in _GK3_ZONES or p in _GK6_ZONES:
            return p, value - p * 1_000_000
    return 0, value


def _easting_like(value: float) -> bool:
    return abs(_split_prefix(value)[1] - _FALSE_EASTING) <= _ZONE_HALF_WIDTH_M


def _northing_like(value: float) -> bool:
    return _NORTHING_RANGE[0] <= value <= _NORTHING_RANGE[1]


def _f(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".")


def _float_pair(a: Any, b: Any, names: tuple[str, str]) -> tuple[float, float]:
    try:
        fa, fb = float(a), float(b)
    except (TypeError, ValueError):
        raise MarkerCoordinateError(
            "not_number",
            f"坐标不是数字（{names[0]}={a!r}，{names[1]}={b!r}）",
            f"coordinates are not numbers ({names[0]}={a!r}, {names[1]}={b!r})",
            (a, b),
        ) from None
    if not (math.isfinite(fa) and math.isfinite(fb)):
        raise MarkerCoordinateError(
            "not_finite",
            f"坐标不是有效数值（{names[0]}={a!r}，{names[1]}={b!r}）",
            f"coordinates are not finite ({names[0]}={a!r}, {names[1]}={b!r})",
            (a, b),
        )
    return fa, fb


def _check_lonlat(lon: float, lat: float, values: tuple[Any, Any], region_bbox: Any) -> None:
    try:
        crs.check_lonlat(lon, lat, region_bbox=region_bbox)
    except crs.CoordinateError as exc:
        raise MarkerCoordinateError(exc.code, exc.message_zh, exc.message_en, values) from exc


def _zone_text(zone: int, cm: int) -> tuple[str, str]:
    return f"3° 带第 {zone} 带（中央经线 {cm}°E）", f"3-degree zone {zone} (CM {cm}E)"


def _check_zone_easting(easting_local: float, raw: float, srid: int, values: tuple[Any, Any]) -> None:
    zone, cm, _ = _zone_info(srid)
    d = easting_local - _FALSE_EASTING
    if abs(d) > _ZONE_HALF_WIDTH_M:
        zt, ze = _zone_text(zone, cm)
        raise MarkerCoordinateError(
            "outside_zone",
            f"Y（东坐标）{_f(raw)} 距中央经线 {abs(d) / 1000:.0f} 千米，超出本系统投影带 {zt} 的有效范围"
            f"（约 ±{_ZONE_HALF_WIDTH_M / 1000:.0f} 千米）；可能是其他投影带的坐标或 X/Y 填写有误",
            f"Y (easting) {_f(raw)} lies {abs(d) / 1000:.0f} km from the central meridian, outside the valid range "
            f"(about ±{_ZONE_HALF_WIDTH_M / 1000:.0f} km) of our storage zone, {ze}; it may belong to another "
            f"zone or X/Y may be wrong",
            values,
        )


def parse_gnss_point(
    lon: Any, lat: Any, *, srid: int, region_bbox: tuple[float, float, float, float] | None = None
) -> Point:
    """A GNSS (CGCS2000 / WGS84) longitude, latitude in degrees → Point in ``srid`` (metres).

    Validated with :func:`geo_mz.core.crs.check_lonlat` (in China, optionally in ``region_bbox``;
    swapped latitude/longitude is reported as ``swapped_lat_lon`` with the corrected order).  For a
    Gauss-Krüger ``srid`` the projected point must also lie within ±350 km of the zone's central
    meridian (``outside_zone``).

    Raises:
        MarkerCoordinateError: the input failed a check.
    """
    values = (lon, lat)
    lon_f, lat_f = _float_pair(lon, lat, ("经度 lon", "纬度 lat"))
    _check_lonlat(lon_f, lat_f, values, region_bbox)
    x, y = crs.lonlat_to_projected(lon_f, lat_f, srid)
    if crs.is_cgcs2000_gk3_srid(srid):
        _check_zone_easting(_split_prefix(x)[1], x, srid, values)
    return Point(x, y)


def parse_gk_xy(
    x_northing: Any,
    y_easting: Any,
    *,
    srid: int,
    region_bbox: tuple[float, float, float, float] | None = None,
) -> Point:
    """Gauss-Krüger input in the surveyors' convention (X = northing, Y = easting, metres) → Point
    (x = easting, y = northing) in ``srid`` (a CGCS2000 3° GK SRID, EPSG:4513–4554).

    Checks, in order: numbers; **swapped X/Y** (X looks like an easting and Y like a northing);
    X a plausible northing in China; the **zone prefix** of Y (``38500000`` carries zone 38 — for a
    CM-only SRID such as EPSG:4547 the message names the zone and asks to drop the prefix, or to
    change zones when it is another zone; a 6° zone number is recognised too; for a prefixed SRID a
    missing prefix is reported); Y within ±350 km of the zone's central meridian; finally the
    unprojected lon/lat in China (and ``region_bbox`` if given, which also catches coordinates of a
    neighbouring zone written without prefix).

    Raises:
        MarkerCoordinateError: the input failed a check (Chinese + English message).
        geo_mz.core.crs.CRSError: ``srid`` is not a CGCS2000 3° GK SRID.
    """
    values = (x_northing, y_easting)
    x, y = _float_pair(x_northing, y_easting, ("X", "Y"))
    zone, cm, expected_prefix = _zone_info(srid)
    zt, ze = _zone_text(zone, cm)
    if _easting_like(x) and not _easting_like(y) and _northing_like(y):
        raise MarkerCoordinateError(
            "swapped_xy",
            f"X、Y 疑似填反：X（北坐标）{_f(x)} 像东坐标，Y（东坐标）{_f(y)} 像北坐标；高斯-克吕格坐标中 X 为北坐标"
            f"（本地区约 {_f(y)}），Y 为东坐标（约 {_f(x)}），请交换后重新输入",
            f"X and Y appear swapped: X (northing) {_f(x)} looks like an easting and Y (easting) {_f(y)} like a "
            f"northing; in Gauss-Kruger coordinates X is the northing and Y the easting -- swap them",
            values,
        )
    if not _northing_like(x):
        raise MarkerCoordinateError(
            "out_of_range",
            f"X（北坐标）{_f(x)} 不在中国范围内（应约为 {_NORTHING_RANGE[0]:.0f}–{_NORTHING_RANGE[1]:.0f} 米）",
            f"X (northing) {_f(x)} is outside China (expected about "
            f"{_NORTHING_RANGE[0]:.0f}-{_NORTHING_RANGE[1]:.0f} m)",
            values,
        )
    prefix, local = _split_prefix(y)
    if prefix != expected_prefix:
        if prefix == 0:
            raise MarkerCoordinateError(
                "missing_zone_prefix",
                f"Y（东坐标）{_f(y)} 缺少带号前缀：EPSG:{srid} 为 {zt}，东坐标应带带号前缀 {zone}，形如 {zone}{_f(y).zfill(6)}",
                f"Y (easting) {_f(y)} lacks the zone prefix: EPSG:{srid} eastings carry zone number {zone} "
                f"({ze}), e.g. {zone}{_f(y).zfill(6)}",
                values,
            )
        if prefix in _GK3_ZONES:
            their_zt, their_ze = _zone_text(prefix, 3 * prefix)
        else:
            their_zt = f"6° 带第 {prefix} 带（中央经线 {6 * prefix - 3}°E）"
            their_ze = f"6-degree zone {prefix} (CM {6 * prefix - 3}E)"
        if prefix == zone and expected_prefix == 0:
            raise MarkerCoordinateError(
                "zone_prefix",
                f"Y（东坐标）{_f(y)} 带有带号前缀 {prefix}。本系统存储坐标即为 {zt}，但东坐标不带带号；"
                f"请去掉前缀，输入 Y = {_f(local)}",
                f"Y (easting) {_f(y)} carries zone prefix {prefix}. Our storage zone is that zone, {ze}, but its "
                f"eastings have no zone prefix; drop the prefix and enter Y = {_f(local)}",
                values,
            )
        raise MarkerCoordinateError(
            "wrong_zone",
            f"Y（东坐标）{_f(y)} 带有带号 {prefix}，属于 {their_zt}，而本系统存储坐标为 {zt}；"
            f"请先换带到第 {zone} 带，或改用经纬度输入",
            f"Y (easting) {_f(y)} carries zone number {prefix}, i.e. {their_ze}, but our storage zone is {ze}; "
            f"convert to zone {zone} first or enter longitude/latitude instead",
            values,
        )
    _check_zone_easting(local, y, srid, values)
    lon, lat = crs.projected_to_lonlat(y, x, srid)
    _check_lonlat(lon, lat, values, region_bbox)
    return Point(y, x)


def display_coordinates(point: Any, srid: int, *, zone_prefix: bool = False) -> dict[str, float]:
    """Coordinates for forms and reports: ``x_northing``, ``y_easting`` (GK convention, X = northing,
    metres rounded to mm) and CGCS2000 ``lon``, ``lat`` (degrees rounded to 1e-7).

    ``y_easting`` is the stored easting; with ``zone_prefix=True`` and a CM-only GK SRID the zone
    number is prefixed (e.g. 38 500 000.000 in EPSG:4547).
    """
    x, y = _xy(point)
    lon, lat = crs.projected_to_lonlat(x, y, srid)
    easting = x
    if zone_prefix and crs.is_cgcs2000_gk3_srid(srid):
        zone, _, expected_prefix = _zone_info(srid)
        if expected_prefix == 0:
            easting += zone * 1_000_000
    return {
        "x_northing": round(y, 3),
        "y_easting": round(easting, 3),
        "lon": round(float(lon), 7),
        "lat": round(float(lat), 7),
    }


# --------------------------------------------------------------------------- bearing objects


@dataclass(frozen=True)
class BearingObject:
    """A bearing object (方位物) of a marker as registered: ``azimuth_deg`` from the marker to the
    object, clockwise from north, ``distance_m`` horizontal distance; ``point`` its surveyed
    position in the storage CRS, when known."""

    name: str
    azimuth_deg: float
    distance_m: float
    point: Point | None = None


@dataclass(frozen=True)
class BearingProblem:
    """A finding of :func:`check_bearings`.

    ``code``: ``too_few``, ``name_missing``, ``azimuth_range``, ``distance_range``,
    ``azimuth_mismatch`` or ``distance_mismatch``; ``index`` (0-based) and ``name`` of the object
    (None for ``too_few``); ``value`` the measured quantity (count, degrees or metres: for the
    mismatches the absolute difference), ``tolerance`` the limit it broke.
    """

    code: str
    severity: str
    index: int | None
    name: str | None
    message: str
    value: float | None
    tolerance: float | None


def grid_convergence(point: Any, srid: int) -> float:
    """Meridian (grid) convergence γ in degrees at ``point`` (metres in ``srid``): the angle from
    grid north to true north, positive east of the central meridian in the northern hemisphere.
    True azimuth = grid azimuth + γ.  Computed numerically from the projection."""
    x, y = _xy(point)
    lon, lat = crs.projected_to_lonlat(x, y, srid)
    x2, y2 = crs.lonlat_to_projected(lon, lat + 1e-4, srid)
    return -math.degrees(math.atan2(x2 - x, y2 - y))


def _as_float(value: Any) -> float:
    """``float(value)``, NaN when it is not a number."""
    if isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _angle_diff(a: float, b: float) -> float:
    """a - b wrapped to [-180, 180)."""
    return (a - b + 180.0) % 360.0 - 180.0


def check_bearings(
    marker: Any,
    objects: Sequence[BearingObject],
    *,
    azimuth_tol_deg: float = 2.0,
    distance_tol_m: float = 1.0,
    grid_convergence_deg: float = 0.0,
    min_objects: int = 3,
) -> list[BearingProblem]:
    """Check a marker's bearing objects against each other and, where surveyed, against the ground.

    **Azimuths are grid azimuths** (clockwise from grid north of the storage projection) unless
    ``grid_convergence_deg`` is given: then the recorded azimuths are taken as true (geodetic)
    azimuths and converted with grid = true − γ (see :func:`grid_convergence`; at 114.5°E, 29.8°N
    in EPSG:4547 γ ≈ 0.25°).

    Findings: fewer than ``min_objects`` objects (warning); empty name, azimuth outside [0, 360),
    distance <= 0 or not finite (errors); for an object with a surveyed ``point``, a grid azimuth
    from the marker differing by more than ``azimuth_tol_deg``, or a distance differing by more
    than ``distance_tol_m`` (errors).
    """
    mx, my = _xy(marker, "界桩位置")
    out: list[BearingProblem] = []
    if len(objects) < min_objects:
        out.append(
            BearingProblem(
                "too_few",
                WARNING,
                None,
                None,
                f"方位物只有 {len(objects)} 个，应至少 {min_objects} 个 / only {len(objects)} bearing objects, "
                f"at least {min_objects} expected",
                float(len(objects)),
                float(min_objects),
            )
        )
    for i, ob in enumerate(objects):
        name = str(ob.name or "").strip()
        label = name or f"第 {i + 1} 个方位物"
        label_en = repr(name) if name else f"#{i + 1}"
        if not name:
            out.append(
                BearingProblem(
                    "name_missing",
                    ERROR,
                    i,
                    None,
                    f"第 {i + 1} 个方位物缺少名称 / bearing object #{i + 1} has no name",
                    None,
                    None,
                )
            )
        az, dist = _as_float(ob.azimuth_deg), _as_float(ob.distance_m)
        az_ok = math.isfinite(az) and 0.0 <= az < 360.0
        dist_ok = math.isfinite(dist) and dist > 0
        if not az_ok:
            out.append(
                BearingProblem(
                    "azimuth_range",
                    ERROR,
                    i,
                    name or None,
                    f"方位物“{label}”的方位角 {az} 应在 [0, 360) 度之间 / bearing object {label_en}: azimuth {az} "
                    f"must be in [0, 360) degrees",
                    az if math.isfinite(az) else None,
                    None,
                )
            )
        if not dist_ok:
            out.append(
                BearingProblem(
                    "distance_range",
                    ERROR,
                    i,
                    name or None,
                    f"方位物“{label}”的距离 {dist} 应大于 0 米 / bearing object {label_en}: distance {dist} must be > 0 m",
                    dist if math.isfinite(dist) else None,
                    None,
                )
            )
        if ob.point is None:
            continue
        ox, oy = _xy(ob.point, "方位物位置")
        actual_d = math.hypot(ox - mx, oy - my)
        if az_ok and actual_d > 1e-6:
            expected = (az - grid_convergence_deg) % 360.0
            actual_az = _azimuth(ox - mx, oy - my)
            diff = abs(_angle_diff(actual_az, expected))
            if diff > azimuth_tol_deg:
                out.append(
                    BearingProblem(
                        "azimuth_mismatch",
                        ERROR,
                        i,
                        name or None,
                        f"方位物“{label}”实测方位角 {actual_az:.2f}°，与登记的 {expected:.2f}°（坐标方位角）相差 "
                        f"{diff:.2f}°，超过限差 {azimuth_tol_deg:g}° / bearing object {label_en}: surveyed grid "
                        f"azimuth {actual_az:.2f} deg differs from the recorded {expected:.2f} deg by {diff:.2f} deg "
                        f"(tolerance {azimuth_tol_deg:g})",
                        diff,
                        azimuth_tol_deg,
                    )
                )
        if dist_ok and abs(actual_d - dist) > distance_tol_m:
            diff = abs(actual_d - dist)
            out.append(
                BearingProblem(
                    "distance_mismatch",
                    ERROR,
                    i,
                    name or None,
                    f"方位物“{label}”实测距离 {actual_d:.2f} 米，与登记的 {dist:g} 米相差 {diff:.2f} 米，超过限差 "
                    f"{distance_tol_m:g} 米 / bearing object {label_en}: surveyed distance {actual_d:.2f} m differs "
                    f"from the recorded {dist:g} m by {diff:.2f} m (tolerance {distance_tol_m:g} m)",
                    diff,
                    distance_tol_m,
                )
            )
    return out


# --------------------------------------------------------------------------- quality rules

#: Quality rule ids -> (Chinese, English) titles.
QUALITY_RULES: Final[dict[str, tuple[str, str]]] = {
    "BM00": ("界桩编号格式错误或不属于本线", "marker number malformed or of another line"),
    "BM01": ("界桩偏离界线过远", "marker too far from its line"),
    "BM02": ("界桩编号重复", "duplicate marker number"),
    "BM03": ("界桩编号顺序与沿线位置不符", "marker sequence out of order along the line"),
    "BM04": ("同号三立界桩不在三交点", "triple marker not at a tri-junction"),
    "BM05": ("方位物数据不一致", "bearing objects inconsistent"),
    "BM06": ("类型字母与界桩类型不符", "type letter inconsistent with the marker type"),
}


@dataclass(frozen=True)
class QualityRules:
    """Tolerances of the marker quality rules (a deployment may override them, e.g. from settings,
    with :meth:`from_dict`).

    Attributes:
        max_offset_m: BM01, largest distance of a marker from its line.
        order_tolerance_m: BM03, chainage differences up to this are not an inversion.
        tri_junction_tolerance_m: BM04, largest distance of a triple marker from a tri-junction.
        bearing_azimuth_tol_deg, bearing_distance_tol_m, min_bearing_objects,
            grid_convergence_deg: BM05, passed to :func:`check_bearings`.
        direction: sequencing direction override (``west_east`` / ``north_south``; None = automatic).
        disabled: rule ids not to run.
    """

    max_offset_m: float = 5.0
    order_tolerance_m: float = 0.0
    tri_junction_tolerance_m: float = 20.0
    bearing_azimuth_tol_deg: float = 2.0
    bearing_distance_tol_m: float = 1.0
    min_bearing_objects: int = 3
    grid_convergence_deg: float = 0.0
    direction: str | None = None
    disabled: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for key, positive in (
            ("max_offset_m", True),
            ("order_tolerance_m", False),
            ("tri_junction_tolerance_m", True),
            ("bearing_azimuth_tol_deg", True),
            ("bearing_distance_tol_m", True),
        ):
            _check_number(key, getattr(self, key), positive=positive)
        m = self.min_bearing_objects
        if isinstance(m, bool) or not isinstance(m, int) or m < 0:
            raise ValueError(
                f"界桩质检参数 min_bearing_objects 无效：{m!r}（应为非负整数） / min_bearing_objects must be an integer >= 0"
            )
        g = self.grid_convergence_deg
        if isinstance(g, bool) or not isinstance(g, int | float) or not math.isfinite(g) or abs(g) >= 10:
            raise ValueError(
                f"界桩质检参数 grid_convergence_deg 无效：{g!r}（应为 -10～10 度） / grid_convergence_deg must be "
                f"a number of degrees within (-10, 10)"
            )
        if self.direction is not None:
            _check_direction(self.direction)
        if isinstance(self.disabled, str):
            raise ValueError("界桩质检参数 disabled 应为规则编号列表 / disabled must be a list of rule ids")
        object.__setattr__(self, "disabled", tuple(self.disabled))
        unknown = [r for r in self.disabled if r not in QUALITY_RULES]
        if unknown:
            raise ValueError(
                f"未知的界桩质检规则：{'、'.join(map(str, unknown))}（可用：{'、'.join(QUALITY_RULES)}） / "
                f"unknown quality rules: {', '.join(map(str, unknown))}"
            )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> QualityRules:
        """Rules from a JSON-like dict (missing keys take the defaults; unknown keys are rejected).

        Raises:
            ValueError: an unknown key or an invalid value (Chinese + English, naming the key).
        """
        d = dict(d or {})
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(str(k) for k in set(d) - set(known))
        if unknown:
            raise ValueError(
                f"未知的界桩质检参数：{'、'.join(unknown)}（可用：{'、'.join(known)}） / "
                f"unknown marker quality settings: {', '.join(unknown)} (known: {', '.join(known)})"
            )
        if "disabled" in d and isinstance(d["disabled"], list):
            d["disabled"] = tuple(d["disabled"])
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["disabled"] = list(self.disabled)
        return out


def _check_number(key: str, value: object, *, positive: bool) -> None:
    ok = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > 0 if positive else value >= 0)
    )
    if not ok:
        need_zh, need_en = ("正数", "a positive number") if positive else ("非负数", "a non-negative number")
        raise ValueError(
            f"界桩质检参数 {key} 无效：{value!r}（应为{need_zh}） / {key} must be {need_en}, got {value!r}"
        )


@dataclass(frozen=True)
class MarkerInput:
    """A registered marker for :func:`check_markers`: ``number`` as stored (e.g. ``421221-421281-003Q``),
    ``kind`` a :data:`MARKER_TYPES` code, ``point`` in the storage CRS."""

    key: Hashable
    number: str
    kind: str
    point: Any
    bearings: Sequence[BearingObject] = ()


@dataclass(frozen=True)
class QualityFinding:
    """A quality finding: ``rule`` (a :data:`QUALITY_RULES` id), ``severity`` (``error``/``warning``),
    the marker's ``key``, a Chinese + English ``message``, the measured ``value`` and the
    ``tolerance`` it broke (None where the rule has no measure)."""

    rule: str
    severity: str
    marker_key: Hashable
    message: str
    value: float | None = None
    tolerance: float | None = None

    @property
    def title(self) -> str:
        return QUALITY_RULES[self.rule][0]


def _lis_keep(values: np.ndarray, tol: float) -> set[int]:
    """Indices of a longest subsequence of ``values`` (in order) that never decreases by more than
    ``tol`` between consecutive kept items; ties keep the earliest choice."""
    n = len(values)
    best = np.ones(n, dtype=np.int64)
    prev = np.full(n, -1, dtype=np.int64)
    for j in range(1, n):
        ok = np.flatnonzero(values[:j] <= values[j] + tol)
        if ok.size:
            i = int(ok[np.argmax(best[ok])])
            best[j], prev[j] = best[i] + 1, i
    keep: set[int] = set()
    j = int(np.argmax(best)) if n else -1
    while j >= 0:
        keep.add(j)
        j = int(prev[j])
    return keep


def check_markers(
    line: BaseGeometry,
    markers: Sequence[MarkerInput],
    *,
    tri_junctions: Iterable[Any] = (),
    rules: QualityRules | None = None,
    line_code: str | None = None,
) -> list[QualityFinding]:
    """Run the quality rules (module docstring table) over the markers of one line.

    ``tri_junctions``: Points (or (x, y)) where three divisions meet on or near this line (BM04).
    ``line_code``: when given, numbers of another line are BM00 findings.  Findings are ordered by
    rule id, then by the markers' input order.

    Raises:
        ValueError: the line is empty / not a line, or a marker point is empty.
    """
    rules = rules or QualityRules()
    axis = line_axis(line, rules.direction)
    chainage, dist = axis.locate([m.point for m in markers])
    found: dict[str, list[QualityFinding]] = defaultdict(list)

    def add(
        rule: str, severity: str, i: int, message: str, value: float | None = None, tol: float | None = None
    ):
        found[rule].append(QualityFinding(rule, severity, markers[i].key, message, value, tol))

    parsed: dict[int, MarkerNumber] = {}
    for i, m in enumerate(markers):
        try:
            num = parse_marker_number(m.number)
        except ValueError as exc:
            add("BM00", ERROR, i, str(exc))
            continue
        if line_code is not None and num.line_code != line_code:
            add(
                "BM00",
                ERROR,
                i,
                f"界桩 {m.number} 的界线代码 {num.line_code} 与本线 {line_code} 不符 / marker {m.number} carries "
                f"line code {num.line_code}, not this line's {line_code}",
            )
            continue
        parsed[i] = num

    # BM01: distance from the line.
    for i, m in enumerate(markers):
        if dist[i] > rules.max_offset_m:
            add(
                "BM01",
                ERROR,
                i,
                f"界桩 {m.number} 距界线 {dist[i]:.2f} 米，超过限差 {rules.max_offset_m:g} 米 / marker {m.number} is "
                f"{dist[i]:.2f} m from its line (tolerance {rules.max_offset_m:g} m)",
                float(dist[i]),
                rules.max_offset_m,
            )

    # BM02: duplicate numbers; one sequence shared by different marker types.
    numbers = Counter(str(num) for num in parsed.values())
    by_seq: dict[int, list[int]] = defaultdict(list)
    for i, num in parsed.items():
        by_seq[num.seq].append(i)
    for i, num in parsed.items():
        text = str(num)
        if numbers[text] > 1:
            others = [str(markers[j].key) for j, n in parsed.items() if j != i and str(n) == text]
            add(
                "BM02",
                ERROR,
                i,
                f"界桩编号 {text} 重复（另见 {'、'.join(others)}） / marker number {text} is used more than once "
                f"(also {', '.join(others)})",
            )
        kinds = {parsed[j].kind for j in by_seq[num.seq]}
        if len(kinds) > 1:
            used = "、".join(
                f"{MARKER_TYPE_LABELS[k]}（{'/'.join(TYPE_LETTERS[k])}）" for k in MARKER_TYPES if k in kinds
            )
            add(
                "BM02",
                ERROR,
                i,
                f"序号 {num.seq:03d} 同时用于{used}界桩 / sequence {num.seq:03d} is used by markers of different types "
                f"({', '.join(k for k in MARKER_TYPES if k in kinds)})",
            )

    # BM03: sequence order along the line (the markers of one number count once, at their mean chainage).
    seqs = sorted(by_seq)
    if len(seqs) > 1:
        group_c = np.array([float(np.mean(chainage[by_seq[s]])) for s in seqs])
        keep = _lis_keep(group_c, rules.order_tolerance_m)
        by_position = sorted(range(len(seqs)), key=lambda g: (group_c[g], seqs[g]))
        rank = {seqs[g]: r for r, g in enumerate(by_position, start=1)}
        dir_zh, dir_en = DIRECTION_LABELS[axis.direction], axis.direction.replace("_", "-")
        for gi, s in enumerate(seqs):
            if gi in keep:
                continue
            for i in by_seq[s]:
                add(
                    "BM03",
                    ERROR,
                    i,
                    f"界桩 {markers[i].number} 的序号为 {s:03d}，但按沿线位置（{dir_zh}，里程 {group_c[gi]:.1f} 米）"
                    f"应排第 {rank[s]} 位 / marker {markers[i].number} has sequence {s:03d} but its position "
                    f"along the line ({dir_en}, chainage {group_c[gi]:.1f} m) ranks {rank[s]}",
                    float(group_c[gi]),
                    rules.order_tolerance_m,
                )

    # BM04: triple markers at a tri-junction.
    tj = [_xy(p, "三交点") for p in tri_junctions]
    for i, m in enumerate(markers):
        if m.kind != MarkerType.TRIPLE:
            continue
        if not tj:
            add(
                "BM04",
                WARNING,
                i,
                f"界桩 {m.number} 为同号三立，但本线没有已知的三交点 / marker {m.number} is a triple marker but no "
                f"tri-junction is known on this line",
                None,
                rules.tri_junction_tolerance_m,
            )
            continue
        px, py = _xy(m.point)
        d = min(math.hypot(px - x, py - y) for x, y in tj)
        if d > rules.tri_junction_tolerance_m:
            add(
                "BM04",
                ERROR,
                i,
                f"同号三立界桩 {m.number} 距最近的三交点 {d:.1f} 米，超过限差 {rules.tri_junction_tolerance_m:g} 米 / "
                f"triple marker {m.number} is {d:.1f} m from the nearest tri-junction "
                f"(tolerance {rules.tri_junction_tolerance_m:g} m)",
                d,
                rules.tri_junction_tolerance_m,
            )

    # BM05: bearing objects.
    for i, m in enumerate(markers):
        for p in check_bearings(
            m.point,
            m.bearings,
            azimuth_tol_deg=rules.bearing_azimuth_tol_deg,
            distance_tol_m=rules.bearing_distance_tol_m,
            grid_convergence_deg=rules.grid_convergence_deg,
            min_objects=rules.min_bearing_objects,
        ):
            add("BM05", p.severity, i, f"界桩 {m.number}：{p.message}", p.value, p.tolerance)

    # BM06: type letter vs. type.
    for i, m in enumerate(markers):
        if m.kind not in MARKER_TYPES:
            add(
                "BM06",
                ERROR,
                i,
                f"界桩 {m.number} 的类型 {m.kind!r} 未知（可选：{'、'.join(MARKER_TYPES)}） / marker {m.number} has "
                f"an unknown type {m.kind!r}",
            )
        elif i in parsed and parsed[i].letter not in TYPE_LETTERS[m.kind]:
            letter, expected = parsed[i].letter, "/".join(TYPE_LETTERS[m.kind])
            add(
                "BM06",
                ERROR,
                i,
                f"界桩 {m.number} 为{MARKER_TYPE_LABELS[m.kind]}，类型字母应为 {expected}，实为 {letter} / marker "
                f"{m.number} is {m.kind}: its letter should be {expected}, not {letter}",
            )

    return [f for rule in QUALITY_RULES if rule not in rules.disabled for f in found.get(rule, [])]


# --------------------------------------------------------------------------- synthetic placement


@dataclass(frozen=True)
class PlacedMarker:
    """A synthetic marker from :func:`place_markers`; ``chainage_m`` is its station's nominal
    chainage (before the side offsets of paired / triple markers and before jitter)."""

    seq: int
    letter: str
    kind: str
    point: Point
    chainage_m: float


def place_markers(
    line: BaseGeometry,
    *,
    spacing_m: float = 3000.0,
    tri_junctions: Iterable[Any] = (),
    rng_seed: int = 0,
    jitter_m: float = 0.0,
    paired_every: int = 0,
    direction: str | None = None,
    tri_junction_snap_m: float = 50.0,
    side_offset_m: float = 2.0,
) -> list[PlacedMarker]:
    """Lay out synthetic markers along ``line`` (demo data, or a first survey plan). Deterministic.

    Stations: both ends of the sequencing axis (:func:`line_axis`), each tri-junction within
    ``tri_junction_snap_m`` of the line (one within ``spacing_m / 4`` of another station turns that
    station into a tri-junction), and between consecutive stations ``round(gap / spacing_m) - 1``
    evenly spaced stations (none if the gap is shorter than 1.5 spacings).  Stations are numbered
    1..n from the west (north) end.

    Each station gets one single marker ``Q`` on the line, except: a tri-junction station gets a
    triple ``C`` (on the line), ``D`` and ``E`` (``side_offset_m`` to the left and right); with
    ``paired_every = k > 0`` every k-th intermediate station gets a pair ``A`` (left of the
    sequencing direction) and ``B`` (right).  With ``jitter_m > 0`` every point is displaced
    uniformly within that radius (``numpy.random.default_rng(rng_seed)``).

    Raises:
        ValueError: invalid line or parameters (``jitter_m`` must stay below ``spacing_m / 4``).
    """
    _check_number("spacing_m", spacing_m, positive=True)
    _check_number("jitter_m", jitter_m, positive=False)
    _check_number("tri_junction_snap_m", tri_junction_snap_m, positive=False)
    _check_number("side_offset_m", side_offset_m, positive=False)
    if jitter_m >= spacing_m / 4:
        raise ValueError(
            f"jitter_m（{jitter_m:g}）应小于 spacing_m / 4（{spacing_m / 4:g}） / jitter_m must be < spacing_m / 4"
        )
    if isinstance(paired_every, bool) or not isinstance(paired_every, int) or paired_every < 0:
        raise ValueError(
            f"paired_every 应为非负整数：{paired_every!r} / paired_every must be an integer >= 0"
        )
    axis = line_axis(line, direction)
    total = axis.length
    merge_m = spacing_m / 4
    stations: list[list[Any]] = [[0.0, MarkerType.SINGLE], [total, MarkerType.SINGLE]]
    tj_points = list(tri_junctions)
    if tj_points:
        tj_c, tj_d = axis.locate(tj_points)
        for c, d in sorted(zip(tj_c.tolist(), tj_d.tolist(), strict=True)):
            if d > tri_junction_snap_m:
                continue
            near = min(stations, key=lambda s: abs(s[0] - c))
            if abs(near[0] - c) <= merge_m:
                near[1] = MarkerType.TRIPLE
            else:
                stations.append([c, MarkerType.TRIPLE])
    stations.sort(key=lambda s: s[0])
    full: list[tuple[float, str]] = []
    between = 0
    for (c0, k0), (c1, _) in zip(stations, stations[1:], strict=False):
        full.append((c0, k0))
        n = max(1, round((c1 - c0) / spacing_m))
        for j in range(1, n):
            between += 1
            kind = MarkerType.PAIRED if paired_every and between % paired_every == 0 else MarkerType.SINGLE
            full.append((c0 + j * (c1 - c0) / n, kind))
    full.append((stations[-1][0], stations[-1][1]))

    rng = np.random.default_rng(rng_seed)
    out: list[PlacedMarker] = []
    for seq, (c, kind) in enumerate(full, start=1):
        base = axis.interpolate(c)
        ux, uy = axis.tangent(c)
        nx, ny = -uy, ux  # left of the direction of increasing chainage
        if kind == MarkerType.SINGLE:
            sides = [0.0]
        elif kind == MarkerType.PAIRED:
            sides = [side_offset_m, -side_offset_m]
        else:
            sides = [0.0, side_offset_m, -side_offset_m]
        for letter, s in zip(TYPE_LETTERS[kind], sides, strict=True):
            x, y = base.x + s * nx, base.y + s * ny
            if jitter_m > 0:
                r = jitter_m * math.sqrt(rng.random())
                t = 2 * math.pi * rng.random()
                x, y = x + r * math.cos(t), y + r * math.sin(t)
            out.append(PlacedMarker(seq, letter, kind, Point(x, y), float(c)))
    return out

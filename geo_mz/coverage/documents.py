"""Coverage report (覆盖分析报告): A4 PDF with indicator table and a vector map, and an Excel workbook.

Pure module like :mod:`geo_mz.placenames.documents`, whose PDF conventions and helpers it reuses
(as do :mod:`geo_mz.addresses.documents` and :mod:`geo_mz.boundaries.documents`): standard
library, shapely, reportlab and openpyxl only -- never Django, never matplotlib. Every renderer
takes the plain :class:`CoverageReport` dataclass and returns the finished file as ``bytes``.

Conventions:

* Shares and rates are **fractions 0–1** (``0.853`` is printed 85.3%). An :class:`IndicatorRow`
  whose ``unit`` is ``"%"`` holds a fraction too; other units are printed after the value.
* The map figure (:class:`MapFigure`) is drawn as **vector graphics** with
  ``reportlab.graphics`` (choropleth of coverage rates with a legend, demand points and
  facilities, a scale bar in metres / kilometres and a north arrow). Its geometries are in one
  **projected CRS in metres** (e.g. EPSG:4547, like the coverage engine); longitude / latitude
  degrees are refused because the scale bar would be wrong.
* Coverage-rate classes (:data:`RATE_CLASSES`) and point colours (:data:`POINT_KINDS`) are shared
  with the folium analysis maps (:mod:`geo_mz.coverage.maps`), so the PDF and the web map agree.
* Chinese text uses the embedded CJK TrueType font of :mod:`geo_mz.core.pdf` (a glyph subset);
  the "meets the norm" marks are √ / × (WenQuanYi Micro Hei has no ✗ glyph) next to 达标 / 未达标.
* PDFs are reproducible byte for byte with ``invariant=True``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Literal

import shapely
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from reportlab.graphics.shapes import Circle, Drawing, Group, Path, Polygon, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
)
from shapely.geometry import MultiPolygon
from shapely.geometry import Polygon as ShapelyPolygon

from geo_mz.addresses.documents import _sheet_title, _style_header
from geo_mz.boundaries.documents import _fmt_number, _grid_style, _save
from geo_mz.core.cells import safe_row
from geo_mz.core.pdf import build_pdf, paragraph_style, paragraph_text, register_cjk_font
from geo_mz.placenames.documents import _display_width, format_cn_date

__all__ = [
    "DIVISION_XLSX_HEADERS",
    "INDICATOR_XLSX_HEADERS",
    "NO_DATA_CLASS",
    "POINT_KINDS",
    "RATE_CLASSES",
    "SYNTHETIC_NOTE",
    "CoverageReport",
    "DivisionRow",
    "IndicatorRow",
    "MapFigure",
    "PointKind",
    "RateClass",
    "coverage_report_pdf",
    "coverage_report_xlsx",
    "format_share",
    "format_value",
    "map_figure_drawing",
    "meets_text",
    "rate_class",
]

SYNTHETIC_NOTE: Final = (
    "本报告使用合成的演示数据生成，数字仅用于演示系统功能，不代表真实情况，不得作为正式统计或决策依据。"
)
_MEETS: Final = {True: "√ 达标", False: "× 未达标", None: "—"}
_MEETS_XLSX: Final = {True: "达标", False: "未达标", None: ""}
_GREEN: Final = "#1A7F37"
_RED: Final = "#C62828"
_GREY: Final = "#777777"
_FRAME_W: Final = 174 * mm  # A4 width 210 mm - margins 18 + 18
_MARGINS_MM: Final = (20, 18, 18, 18)


# --------------------------------------------------------------------------- rate classes


@dataclass(frozen=True, slots=True)
class RateClass:
    """One coverage-rate class of the choropleth: ``lower <= rate < upper`` (``upper=None``: 100%)."""

    lower: float | None
    upper: float | None
    label: str
    colour: str  # "#RRGGBB"


#: Classes chosen around the norms (rural targets 80%, urban 100%), red (poor) to green (full).
RATE_CLASSES: Final[tuple[RateClass, ...]] = (
    RateClass(0.0, 0.5, "不足 50%", "#D73027"),
    RateClass(0.5, 0.8, "50%–80%", "#FC8D59"),
    RateClass(0.8, 0.9, "80%–90%", "#FEE08B"),
    RateClass(0.9, 1.0, "90%–100%", "#91CF60"),
    RateClass(1.0, None, "100%", "#1A9850"),
)
NO_DATA_CLASS: Final = RateClass(None, None, "无数据", "#D9D9D9")
_FULL: Final = 1.0 - 1e-9  # float noise: 0.9999999999 is full coverage


def rate_class(rate: float | None) -> RateClass:
    """The :data:`RATE_CLASSES` entry for a rate 0–1; ``None`` / NaN -> :data:`NO_DATA_CLASS`.

    Raises :class:`ValueError` for a rate below 0 or above 1.
    """
    if rate is None or (isinstance(rate, float) and math.isnan(rate)):
        return NO_DATA_CLASS
    value = float(rate)
    if value < -1e-9 or value > 1 + 1e-9:
        raise ValueError(f"覆盖率应在 0 到 1 之间（0.85 表示 85%），收到 {rate!r}")
    if value >= _FULL:
        return RATE_CLASSES[-1]
    for cls in RATE_CLASSES[:-1]:
        if value < (cls.upper or 1.0):
            return cls
    return RATE_CLASSES[-2]  # pragma: no cover - unreachable


PointKind = Literal["covered", "uncovered", "facility"]

#: Point kinds of the maps: (legend label, fill colour).
POINT_KINDS: Final[dict[str, tuple[str, str]]] = {
    "covered": ("已覆盖需求点", "#2B83BA"),
    "uncovered": ("未覆盖需求点", "#E31A1C"),
    "facility": ("设施", "#111111"),
}


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class IndicatorRow:
    """One indicator against its norm, e.g. 每千名老年人养老床位数 34.2 张 vs "≥ 35 张".

    ``value`` is a fraction 0–1 when ``unit`` is ``"%"``; ``meets`` is None when there is no norm.
    """

    key: str  # stable machine key, e.g. "beds_per_1000_60plus"
    label: str
    value: float | None
    unit: str
    norm_text: str  # e.g. "≥ 35 张/千名老年人" or "城市 100%"
    meets: bool | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class DivisionRow:
    """Coverage of one division: population, covered population, share 0–1 (None: no population)."""

    code: str
    name: str
    population: float
    covered: float
    share: float | None
    uncovered: float

    def __post_init__(self) -> None:
        if self.share is not None and not (-1e-9 <= self.share <= 1 + 1e-9):
            raise ValueError(f"{self.name}（{self.code}）的覆盖率应在 0 到 1 之间，收到 {self.share!r}")


@dataclass(frozen=True, slots=True)
class MapFigure:
    """A static coverage map for the report, in one projected CRS in metres.

    ``polygons``: ``(Polygon | MultiPolygon, coverage rate 0–1 or None, label)`` -- divisions
    filled by :func:`rate_class`; ``points``: ``(x, y, kind)`` with kind ``"covered"``,
    ``"uncovered"`` or ``"facility"``.
    """

    polygons: Sequence[tuple[ShapelyPolygon | MultiPolygon, float | None, str]]
    points: Sequence[tuple[float, float, PointKind]]
    title: str = ""

    def __post_init__(self) -> None:
        for x, y, kind in self.points:
            if kind not in POINT_KINDS:
                raise ValueError(f"点类型应为 covered / uncovered / facility，收到 {kind!r}")
            if not (math.isfinite(x) and math.isfinite(y)):
                raise ValueError(f"点坐标无效：({x!r}, {y!r})")
        for geom, rate, label in self.polygons:
            if not isinstance(geom, ShapelyPolygon | MultiPolygon):
                raise ValueError(f"“{label}”的几何应为面（Polygon / MultiPolygon），收到 {geom.geom_type}")
            rate_class(rate)  # validates the range


@dataclass(frozen=True, slots=True)
class CoverageReport:
    """Everything the coverage report prints; see :func:`coverage_report_pdf`."""

    title: str
    county_name: str
    generated_on: date
    run_label: str  # e.g. "运行 #12（直线距离 1000 米，引擎 1.3）"
    parameters: tuple[tuple[str, str], ...]
    indicators: tuple[IndicatorRow, ...]
    divisions: tuple[DivisionRow, ...]
    map: MapFigure | None = None
    notes: tuple[str, ...] = ()
    synthetic: bool = False


# --------------------------------------------------------------------------- formatting


def format_share(share: float | None, digits: int = 1) -> str:
    """``0.8534`` -> ``"85.3%"``; ``None`` -> ``"—"``."""
    return "—" if share is None else f"{share * 100:.{digits}f}%"


def _fmt_count(v: float | None) -> str:
    """Thousands separators, no decimals for whole numbers, up to 2 otherwise."""
    if v is None:
        return "—"
    if float(v).is_integer():
        return f"{v:,.0f}"
    return _fmt_number(v, 2) if abs(v) < 1000 else f"{v:,.2f}".rstrip("0").rstrip(".")


def format_value(value: float | None, unit: str) -> str:
    """An indicator value with its unit: ``(0.58, "%")`` -> ``"58.0%"``, ``(34.25, "张")`` -> ``"34.25 张"``."""
    if value is None:
        return "—"
    if unit.strip() == "%":
        return format_share(value)
    text = _fmt_count(value)
    return f"{text} {unit.strip()}" if unit.strip() else text


def meets_text(meets: bool | None) -> str:
    """``True`` -> ``"√ 达标"``, ``False`` -> ``"× 未达标"``, ``None`` (no norm) -> ``"—"``."""
    return _MEETS[meets]


def _totals(divisions: Sequence[DivisionRow]) -> tuple[float, float, float | None, float]:
    population = math.fsum(d.population for d in divisions)
    covered = math.fsum(d.covered for d in divisions)
    uncovered = math.fsum(d.uncovered for d in divisions)
    return population, covered, (covered / population if population > 0 else None), uncovered


# --------------------------------------------------------------------------- vector map

_LEGEND_W: Final = 40 * mm
_MAP_GAP: Final = 4 * mm
_POINT_R: Final = {"covered": 1.1, "uncovered": 1.3, "facility": 3.0}  # points (1/72 in)
_POINT_STROKE: Final = {
    "covered": ("#FFFFFF", 0.25),
    "uncovered": ("#000000", 0.35),
    "facility": ("#FFFFFF", 0.5),
}
_POLYGON_ALPHA: Final = 0.85  # lets the points stand out on the fills
_DEFAULT_MAX_POINTS: Final = 6000


def _nice_length(target_m: float) -> float:
    """The largest 1 / 2 / 5 × 10^k metres not above ``target_m``."""
    exponent = math.floor(math.log10(target_m))
    best = 10.0**exponent
    for step in (1, 2, 5):
        if step * 10.0**exponent <= target_m:
            best = step * 10.0**exponent
    return best


def _length_text(metres: float) -> str:
    if metres >= 1000:
        return f"{_fmt_number(metres / 1000, 3)} 公里"
    return f"{_fmt_number(metres, 1)} 米"


def _thin(points: Sequence[tuple[float, float, str]], budget: int) -> list[tuple[float, float, str]]:
    """Facilities always; demand points evenly strided down to ``budget`` (deterministic)."""
    facilities = [p for p in points if p[2] == "facility"]
    demand = [p for p in points if p[2] != "facility"]
    if len(demand) <= budget:
        return [*demand, *facilities]  # facilities drawn on top
    step = len(demand) / budget
    return [*(demand[int(i * step)] for i in range(budget)), *facilities]


def _with_alpha(hex_colour: str, alpha: float) -> colors.Color:
    c = colors.HexColor(hex_colour)
    return colors.Color(c.red, c.green, c.blue, alpha=alpha)


def _point_symbol(kind: str, px: float, py: float, *, scale: float = 1.0) -> Circle | Polygon:
    """A demand point (circle) or a facility (triangle) centred on ``(px, py)``."""
    fill = colors.HexColor(POINT_KINDS[kind][1])
    stroke, stroke_w = _POINT_STROKE[kind]
    r = _POINT_R[kind] * scale
    if kind == "facility":
        return Polygon(
            [px, py + r * 1.25, px - r * 1.1, py - r * 0.75, px + r * 1.1, py - r * 0.75],
            fillColor=fill,
            strokeColor=colors.HexColor(stroke),
            strokeWidth=stroke_w,
        )
    return Circle(px, py, r, fillColor=fill, strokeColor=colors.HexColor(stroke), strokeWidth=stroke_w)


def _ring_path(path: Path, coords: Sequence[tuple[float, ...]], tx: Any) -> None:
    first = True
    for x, y, *_ in coords:
        px, py = tx(x, y)
        if first:
            path.moveTo(px, py)
            first = False
        else:
            path.lineTo(px, py)
    path.closePath()


def map_figure_drawing(
    fig: MapFigure,
    width: float = _FRAME_W,
    *,
    max_height: float = 150 * mm,
    min_height: float = 70 * mm,
    max_points: int = _DEFAULT_MAX_POINTS,
) -> Drawing:
    """Draw ``fig`` as a reportlab :class:`~reportlab.graphics.shapes.Drawing` (vector graphics).

    The map fills the left part (aspect ratio kept, framed), the legend the right 40 mm: the
    :data:`RATE_CLASSES` swatches (plus 无数据 when a polygon has no rate) and the point kinds
    present. A scale bar (1 / 2 / 5 × 10^k metres, about a quarter of the map width) sits bottom
    left, a north arrow (grid north, 北) top right. Division labels are drawn where they fit.
    More than ``max_points`` demand points are thinned evenly (facilities are always drawn) and
    the legend says how many are shown. Raises :class:`ValueError` for an empty figure or for
    coordinates that look like longitude / latitude degrees.
    """
    font = register_cjk_font()
    geoms = [g for g, _r, _l in fig.polygons if not g.is_empty]
    xs = [p[0] for p in fig.points]
    ys = [p[1] for p in fig.points]
    bounds = [g.bounds for g in geoms]
    if xs:
        bounds.append((min(xs), min(ys), max(xs), max(ys)))
    if not bounds:
        raise ValueError("地图没有任何面或点，无法绘制")
    minx = min(b[0] for b in bounds)
    miny = min(b[1] for b in bounds)
    maxx = max(b[2] for b in bounds)
    maxy = max(b[3] for b in bounds)
    dx, dy = maxx - minx, maxy - miny
    if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90 and max(dx, dy) < 10:
        raise ValueError("地图坐标看起来是经纬度；报告地图需要以米为单位的投影坐标（如 EPSG:4547）")
    if dx <= 0 and dy <= 0:  # a single point: show 1 km around it
        dx = dy = 1000.0
        minx, miny = minx - 500, miny - 500
    elif dx <= 0:
        minx, dx = minx - dy / 2, dy
    elif dy <= 0:
        miny, dy = miny - dx / 2, dx
    pad = 0.03 * max(dx, dy)
    minx, miny, dx, dy = minx - pad, miny - pad, dx + 2 * pad, dy + 2 * pad

    map_w = width - _LEGEND_W - _MAP_GAP
    height = min(max(map_w * dy / dx, min_height), max_height)
    scale = min(map_w / dx, height / dy)  # drawing points per metre
    ox = (map_w - dx * scale) / 2
    oy = (height - dy * scale) / 2

    def tx(x: float, y: float) -> tuple[float, float]:
        return ox + (x - minx) * scale, oy + (y - miny) * scale

    drawing = Drawing(width, height)
    drawing.add(
        Rect(
            0,
            0,
            map_w,
            height,
            fillColor=colors.white,
            strokeColor=colors.HexColor("#666666"),
            strokeWidth=0.6,
        )
    )
    tolerance = 0.2 / scale  # 0.2 pt on paper
    used_no_data = False
    labels: list[tuple[float, float, str]] = []
    polygons = Group()
    for geom, rate, label in fig.polygons:
        if geom.is_empty:
            continue
        cls = rate_class(rate)
        used_no_data = used_no_data or cls is NO_DATA_CLASS
        simple = geom.simplify(tolerance, preserve_topology=True)
        path = Path(
            fillColor=_with_alpha(cls.colour, _POLYGON_ALPHA),
            strokeColor=colors.HexColor("#555555"),
            strokeWidth=0.35,
            fillMode=1,  # even-odd: holes stay open
        )
        for part in getattr(simple, "geoms", [simple]):
            _ring_path(path, part.exterior.coords, tx)
            for hole in part.interiors:
                _ring_path(path, hole.coords, tx)
        polygons.add(path)
        if label.strip():
            anchor = shapely.point_on_surface(geom)
            gx0, gy0, gx1, gy1 = geom.bounds
            text_w = stringWidth(label, font, 6)
            if (gx1 - gx0) * scale >= 0.8 * text_w and (gy1 - gy0) * scale >= 8:
                labels.append((*tx(anchor.x, anchor.y), label))
    drawing.add(polygons)

    shown = _thin(list(fig.points), max_points)
    n_demand = sum(1 for p in fig.points if p[2] != "facility")
    n_shown = sum(1 for p in shown if p[2] != "facility")
    demand = Group()
    facilities = Group()
    for x, y, kind in shown:
        (facilities if kind == "facility" else demand).add(_point_symbol(kind, *tx(x, y)))
    drawing.add(demand)
    for px, py, label in labels:  # on a translucent white box so demand points do not hide them
        text_w = stringWidth(label, font, 6)
        drawing.add(
            Rect(
                px - text_w / 2 - 1,
                py - 3.4,
                text_w + 2,
                7.6,
                fillColor=colors.Color(1, 1, 1, alpha=0.7),
                strokeColor=None,
            )
        )
        drawing.add(
            String(
                px,
                py - 2,
                label,
                fontName=font,
                fontSize=6,
                textAnchor="middle",
                fillColor=colors.HexColor("#222222"),
            )
        )
    drawing.add(facilities)  # on top of everything

    _scale_bar(drawing, font, scale, map_w)
    _north_arrow(drawing, font, map_w - 9 * mm, height - 5 * mm)
    _legend(drawing, font, map_w + _MAP_GAP, height, used_no_data, fig.points, n_shown, n_demand)
    return drawing


def _scale_bar(drawing: Drawing, font: str, scale: float, map_w: float) -> None:
    length_m = _nice_length(0.25 * map_w / scale)
    bar = length_m * scale
    x0, y0, h = 4 * mm, 4 * mm, 1.6 * mm
    drawing.add(
        Rect(
            x0 - 1.5 * mm,
            y0 - 1.5 * mm,
            bar + 3 * mm + stringWidth(_length_text(length_m), font, 6.5) / 2,
            h + 6 * mm,
            fillColor=colors.Color(1, 1, 1, alpha=0.8),
            strokeColor=None,
        )
    )
    for i in range(2):
        drawing.add(
            Rect(
                x0 + i * bar / 2,
                y0,
                bar / 2,
                h,
                fillColor=colors.black if i == 0 else colors.white,
                strokeColor=colors.black,
                strokeWidth=0.5,
            )
        )
    for pos, text in ((0, "0"), (bar, _length_text(length_m))):
        drawing.add(
            String(x0 + pos, y0 + h + 1.2 * mm, text, fontName=font, fontSize=6.5, textAnchor="middle")
        )


def _north_arrow(drawing: Drawing, font: str, x: float, top: float) -> None:
    w, h = 2.6 * mm, 8 * mm
    base = top - h - 4 * mm
    drawing.add(
        Polygon(
            [x, base + h, x - w, base, x, base + h * 0.3],
            fillColor=colors.black,
            strokeColor=colors.black,
            strokeWidth=0.5,
        )
    )
    drawing.add(
        Polygon(
            [x, base + h, x + w, base, x, base + h * 0.3],
            fillColor=colors.white,
            strokeColor=colors.black,
            strokeWidth=0.5,
        )
    )
    drawing.add(String(x, base + h + 1.2 * mm, "北", fontName=font, fontSize=8, textAnchor="middle"))


def _legend(
    drawing: Drawing,
    font: str,
    x: float,
    height: float,
    used_no_data: bool,
    points: Sequence[tuple[float, float, str]],
    n_shown: int,
    n_demand: int,
) -> None:
    y = height - 5 * mm
    drawing.add(String(x, y, "图例", fontName=font, fontSize=9))
    y -= 6 * mm
    drawing.add(String(x, y, "覆盖率", fontName=font, fontSize=7.5))
    classes = [*reversed(RATE_CLASSES), *([NO_DATA_CLASS] if used_no_data else [])]
    for cls in classes:
        y -= 5 * mm
        drawing.add(
            Rect(
                x,
                y - 0.6 * mm,
                6 * mm,
                3.4 * mm,
                fillColor=_with_alpha(cls.colour, _POLYGON_ALPHA),
                strokeColor=colors.HexColor("#555555"),
                strokeWidth=0.35,
            )
        )
        drawing.add(String(x + 8 * mm, y, cls.label, fontName=font, fontSize=7))
    present = [k for k in POINT_KINDS if any(p[2] == k for p in points)]
    if present:
        y -= 4 * mm
    for kind in present:
        y -= 5 * mm
        label = POINT_KINDS[kind][0]
        drawing.add(_point_symbol(kind, x + 3 * mm, y + 1.1 * mm, scale=1.0 if kind == "facility" else 1.5))
        drawing.add(String(x + 8 * mm, y, label, fontName=font, fontSize=7))
    if n_shown < n_demand:
        y -= 6 * mm
        drawing.add(
            String(
                x,
                y,
                f"需求点抽样显示 {n_shown:,}/{n_demand:,}",
                fontName=font,
                fontSize=6,
                fillColor=colors.HexColor(_GREY),
            )
        )


# --------------------------------------------------------------------------- PDF

_INDICATOR_COLUMNS: Final = (
    ("指标", 50),
    ("数值", 30),
    ("规范/目标", 44),
    ("达标情况", 20),
    ("说明", 30),
)  # mm
_DIVISION_COLUMNS: Final = (
    ("序号", 11),
    ("区划代码", 29),
    ("名称", 38),
    ("人口", 25),
    ("覆盖人口", 25),
    ("覆盖率", 20),
    ("未覆盖人口", 26),
)  # mm, sum 174
_PARAMETER_COLUMNS: Final = (("参数", 56), ("取值", 118))


def coverage_report_pdf(r: CoverageReport, *, compress: bool = True, invariant: bool = False) -> bytes:
    """Render the coverage report (覆盖分析报告) as an A4 PDF.

    Layout: the title, a line with the county, the run label and the date, a red banner when the
    data are synthetic; 一、分析参数 (parameter table); 二、主要指标 (indicator, value with unit,
    norm, √ 达标 in green / × 未达标 in red / — when there is no norm, note); 三、覆盖分析图 (the
    vector :class:`MapFigure`, see :func:`map_figure_drawing`; left out and the later sections
    renumbered when ``r.map`` is None); 四、分区覆盖情况 (序号, 区划代码, 名称, 人口, 覆盖人口,
    覆盖率, 未覆盖人口 and a 合计 row; the header repeats on every page); 五、说明 (the notes, plus
    :data:`SYNTHETIC_NOTE` when synthetic). Every page carries "第 N 页 共 M 页".

    ``compress=False`` writes uncompressed page streams; ``invariant=True`` makes the output
    byte-for-byte reproducible.
    """
    register_cjk_font()
    title_style = paragraph_style("cov-title", 20, leading=28, alignment=TA_CENTER, spaceAfter=2 * mm)
    subtitle_style = paragraph_style(
        "cov-subtitle",
        10.5,
        leading=16,
        alignment=TA_CENTER,
        spaceAfter=3 * mm,
        textColor=colors.HexColor("#444444"),
    )
    banner_style = paragraph_style(
        "cov-banner", 10.5, leading=15, alignment=TA_CENTER, textColor=colors.HexColor(_RED)
    )
    section_style = paragraph_style("cov-section", 13, leading=19, spaceBefore=5 * mm, spaceAfter=2 * mm)
    head_style = paragraph_style("cov-th", 9, alignment=TA_CENTER)
    cell_style = paragraph_style("cov-td", 8.5, alignment=TA_LEFT)
    centre_style = paragraph_style("cov-td-c", 8.5, alignment=TA_CENTER)
    number_style = paragraph_style("cov-td-n", 8.5, alignment=TA_RIGHT)
    caption_style = paragraph_style("cov-caption", 10, alignment=TA_CENTER, spaceBefore=1.5 * mm)
    note_style = paragraph_style("cov-note", 10, leading=16, alignment=TA_JUSTIFY)

    numerals = iter("一二三四五六七八九")

    def section(text: str, keep_mm: float = 30) -> list[Flowable]:
        return [CondPageBreak(keep_mm * mm), Paragraph(f"{next(numerals)}、{text}", section_style)]

    def header(columns: Sequence[tuple[str, float]]) -> list[Paragraph]:
        return [Paragraph(h, head_style) for h, _w in columns]

    def widths(columns: Sequence[tuple[str, float]]) -> list[float]:
        return [w * mm for _h, w in columns]

    subtitle = "　".join(
        paragraph_text(p)
        for p in (r.county_name, r.run_label, f"生成日期：{format_cn_date(r.generated_on)}")
        if p.strip()
    )
    story: list[Flowable] = [
        Paragraph(paragraph_text(r.title), title_style),
        Paragraph(subtitle, subtitle_style),
    ]
    if r.synthetic:
        banner = Table(
            [[Paragraph("【演示数据】本报告基于合成数据，不代表真实情况", banner_style)]],
            colWidths=[_FRAME_W],
        )
        banner.setStyle(_grid_style(("BOX", (0, 0), (-1, -1), 0.8, colors.HexColor(_RED)), header_rows=0))
        story.append(banner)

    # 一、分析参数
    story += section("分析参数")
    if r.parameters:
        rows = [header(_PARAMETER_COLUMNS)] + [
            [Paragraph(paragraph_text(k), cell_style), Paragraph(paragraph_text(v), cell_style)]
            for k, v in r.parameters
        ]
        story.append(Table(rows, colWidths=widths(_PARAMETER_COLUMNS), repeatRows=1, style=_grid_style()))
    else:
        story.append(Paragraph("（未记录参数）", cell_style))

    # 二、主要指标
    story += section("主要指标")
    if r.indicators:
        rows = [header(_INDICATOR_COLUMNS)]
        for ind in r.indicators:
            colour = {True: _GREEN, False: _RED, None: _GREY}[ind.meets]
            rows.append(
                [
                    Paragraph(paragraph_text(ind.label), cell_style),
                    Paragraph(paragraph_text(format_value(ind.value, ind.unit)), number_style),
                    Paragraph(paragraph_text(ind.norm_text or "—"), cell_style),
                    Paragraph(f"<font color='{colour}'>{meets_text(ind.meets)}</font>", centre_style),
                    Paragraph(paragraph_text(ind.note), cell_style),
                ]
            )
        tints = [
            ("BACKGROUND", (3, i), (3, i), colors.HexColor("#FDECEA"))
            for i, ind in enumerate(r.indicators, start=1)
            if ind.meets is False
        ]
        story.append(
            Table(rows, colWidths=widths(_INDICATOR_COLUMNS), repeatRows=1, style=_grid_style(*tints))
        )
    else:
        story.append(Paragraph("（无指标）", cell_style))

    # 三、覆盖分析图
    if r.map is not None:
        drawing = map_figure_drawing(r.map, _FRAME_W)
        story += section("覆盖分析图", keep_mm=drawing.height / mm + 15)
        figure: list[Flowable] = [drawing]
        if r.map.title.strip():
            figure.append(Paragraph(paragraph_text(r.map.title), caption_style))
        story.append(KeepTogether(figure))

    # 四、分区覆盖情况
    story += section("分区覆盖情况")
    rows = [header(_DIVISION_COLUMNS)]
    for i, d in enumerate(r.divisions, start=1):
        rows.append(
            [
                Paragraph(str(i), centre_style),
                Paragraph(paragraph_text(d.code), centre_style),
                Paragraph(paragraph_text(d.name), cell_style),
                Paragraph(_fmt_count(d.population), number_style),
                Paragraph(_fmt_count(d.covered), number_style),
                Paragraph(format_share(d.share), number_style),
                Paragraph(_fmt_count(d.uncovered), number_style),
            ]
        )
    population, covered, share, uncovered = _totals(r.divisions)
    rows.append(
        [
            Paragraph("合计", centre_style),
            "",
            Paragraph(f"{len(r.divisions)} 个分区", cell_style),
            Paragraph(_fmt_count(population), number_style),
            Paragraph(_fmt_count(covered), number_style),
            Paragraph(format_share(share), number_style),
            Paragraph(_fmt_count(uncovered), number_style),
        ]
    )
    low = [
        ("BACKGROUND", (5, i), (5, i), colors.HexColor("#FDECEA"))
        for i, d in enumerate(r.divisions, start=1)
        if d.share is not None and rate_class(d.share) is RATE_CLASSES[0]
    ]
    story.append(
        Table(
            rows,
            colWidths=widths(_DIVISION_COLUMNS),
            repeatRows=1,
            style=_grid_style(*low, ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#F2F2F2"))),
        )
    )

    # 五、说明
    notes = [n for n in r.notes if n.strip()]
    if r.synthetic:
        notes.append(SYNTHETIC_NOTE)
    if notes:
        story += section("说明", keep_mm=20)
        for i, note in enumerate(notes, start=1):
            story.append(Paragraph(f"{i}. {paragraph_text(note)}", note_style))
    story.append(Spacer(1, 2 * mm))
    return build_pdf(
        story,
        title=r.title,
        author=r.county_name,
        subject=r.run_label,
        compress=compress,
        invariant=invariant,
        margins_mm=_MARGINS_MM,
    )


# --------------------------------------------------------------------------- Excel

INDICATOR_XLSX_HEADERS: Final[tuple[str, ...]] = (
    "指标",
    "数值",
    "单位",
    "规范/目标",
    "是否达标",
    "说明",
    "指标代码",
)
DIVISION_XLSX_HEADERS: Final[tuple[str, ...]] = (
    "区划代码",
    "名称",
    "人口",
    "覆盖人口",
    "覆盖率",
    "未覆盖人口",
)
_PERCENT_FORMAT: Final = "0.0%"
_INTEGER_FORMAT: Final = "#,##0"
_DECIMAL_FORMAT: Final = "#,##0.00"
_XLSX_MAX_WIDTH: Final = 60


def _number_format(value: float | None, unit: str) -> str:
    if unit.strip() == "%":
        return _PERCENT_FORMAT
    if value is not None and float(value).is_integer():
        return _INTEGER_FORMAT
    return _DECIMAL_FORMAT


def _fit_columns(ws: Worksheet, minimum: int = 8) -> None:
    widths: dict[int, int] = {}
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is None:
                continue
            shown = 12 if isinstance(cell.value, int | float | date) else _display_width(str(cell.value))
            widths[cell.column] = max(widths.get(cell.column, 0), shown)
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = min(max(width + 2, minimum), _XLSX_MAX_WIDTH)


def coverage_report_xlsx(r: CoverageReport) -> bytes:
    """The coverage report as an Excel workbook (.xlsx bytes), three sheets.

    * 指标 -- :data:`INDICATOR_XLSX_HEADERS`; 数值 is a number (a fraction with format ``0.0%``
      when the unit is %, else ``#,##0`` / ``#,##0.00``), 是否达标 is 达标 (green) / 未达标 (red)
      or empty when there is no norm.
    * 分区覆盖 -- :data:`DIVISION_XLSX_HEADERS`, one row per division and a 合计 row; the code is
      text, populations are numbers (``#,##0``), 覆盖率 a fraction formatted ``0.0%``.
    * 参数 -- 参数 / 取值: title, county, run, generation date (an Excel date), data nature
      (合成演示数据 / 正式数据), then the run parameters and the notes.

    Header rows are bold and frozen; the tables have autofilters.
    """
    wb = Workbook()
    wb.properties.title = r.title
    wb.properties.creator = "geo-mz"

    ws = wb.active
    ws.title = _sheet_title("指标", "指标")
    ws.append(list(INDICATOR_XLSX_HEADERS))
    _style_header(ws)
    for ind in r.indicators:
        ws.append(
            safe_row(  # text never becomes a formula (core/cells.py)
                [
                    ind.label,
                    None if ind.value is None else float(ind.value),
                    ind.unit,
                    ind.norm_text,
                    _MEETS_XLSX[ind.meets],
                    ind.note,
                    ind.key,
                ]
            )
        )
        row = ws.max_row
        ws.cell(row=row, column=2).number_format = _number_format(ind.value, ind.unit)
        if ind.meets is not None:
            ws.cell(row=row, column=5).font = Font(
                bold=True, color=(_GREEN if ind.meets else _RED).lstrip("#")
            )
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(INDICATOR_XLSX_HEADERS))}{ws.max_row}"
    _fit_columns(ws)

    ws = wb.create_sheet(_sheet_title("分区覆盖", "分区覆盖"))
    ws.append(list(DIVISION_XLSX_HEADERS))
    _style_header(ws)
    formats = ("@", None, _INTEGER_FORMAT, _INTEGER_FORMAT, _PERCENT_FORMAT, _INTEGER_FORMAT)
    population, covered, share, uncovered = _totals(r.divisions)
    body = [
        [d.code, d.name, float(d.population), float(d.covered), d.share, float(d.uncovered)]
        for d in r.divisions
    ]
    for values in [*body, ["合计", f"{len(r.divisions)} 个分区", population, covered, share, uncovered]]:
        ws.append(safe_row(values))
        for col, fmt in enumerate(formats, start=1):
            if fmt:
                ws.cell(row=ws.max_row, column=col).number_format = fmt
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(DIVISION_XLSX_HEADERS))}{len(r.divisions) + 1}"
    ws.print_title_rows = "1:1"
    _fit_columns(ws)

    ws = wb.create_sheet(_sheet_title("参数", "参数"))
    ws.append(["参数", "取值"])
    _style_header(ws)
    meta: list[tuple[str, Any]] = [
        ("报告标题", r.title),
        ("县（市、区）", r.county_name),
        ("分析运行", r.run_label),
        ("生成日期", r.generated_on),
        ("数据性质", "合成演示数据" if r.synthetic else "正式数据"),
        *r.parameters,
        *(
            (f"说明 {i}", n)
            for i, n in enumerate([*r.notes, *([SYNTHETIC_NOTE] if r.synthetic else [])], start=1)
        ),
    ]
    for key, value in meta:
        ws.append(safe_row([key, value]))
        if isinstance(value, date):
            ws.cell(row=ws.max_row, column=2).number_format = "yyyy-mm-dd"
        ws.cell(row=ws.max_row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    _fit_columns(ws)
    return _save(wb)

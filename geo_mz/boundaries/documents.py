"""Boundary output documents: joint inspection report (联合检查报告, PDF), marker table (界桩成果表,
Excel) and the bulk-entry template for marker findings (Excel).

Pure module like :mod:`geo_mz.placenames.documents`, whose PDF conventions and helpers it reuses:
standard library, reportlab, openpyxl and Pillow only, never Django; every renderer takes plain
dataclasses and returns the finished file as ``bytes``.

Conventions:

* Gauss-Krüger ``x_northing`` / ``y_easting`` are CGCS2000 projected coordinates in **metres**
  (X = northing, Y = easting, as surveyors write them); ``lon`` / ``lat`` are CGCS2000 longitude /
  latitude in decimal degrees (EPSG:4490). Elevations, distances and offsets are metres, azimuths
  degrees clockwise from north.
* Condition and action values are the printed Chinese labels (完好 / 损坏 / 移位 / 丢失;
  无 / 描红 / 维修 / 重新埋设 / 上报待处理); :func:`summary_counts` also accepts the English codes.
* Chinese text in PDFs uses the embedded CJK TrueType font of :mod:`geo_mz.core.pdf` (a glyph subset).
* PDFs are reproducible byte for byte with ``invariant=True``. Photos are normalised with Pillow
  (EXIF orientation applied, transparency flattened on white, at most 1200 px, re-encoded as JPEG)
  so phone pictures of several megabytes do not bloat the report.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import zip_longest
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from PIL import Image as PILImage
from PIL import ImageOps
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Image,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from geo_mz.addresses.documents import _sheet_title, _style_header
from geo_mz.core.cells import safe_row, safe_text
from geo_mz.core.pdf import PDF_PRODUCER, build_pdf, paragraph_style, paragraph_text, register_cjk_font
from geo_mz.placenames.documents import _display_width, format_cn_date

__all__ = [
    "ACTION_LABELS",
    "CONDITION_LABELS",
    "FINDINGS_SHEET",
    "FINDINGS_XLSX_HEADERS",
    "MARKER_XLSX_HEADERS",
    "PENDING",
    "PHOTO_UNREADABLE",
    "SUMMARY_ITEMS",
    "YES_NO_LABELS",
    "InspectionReport",
    "MarkerFindingRow",
    "MarkerRow",
    "Party",
    "SegmentFindingRow",
    "findings_template_xlsx",
    "inspection_report_pdf",
    "marker_table_xlsx",
    "summary_counts",
]

CONDITION_LABELS: Final[tuple[str, ...]] = ("完好", "损坏", "移位", "丢失")
ACTION_LABELS: Final[tuple[str, ...]] = ("无", "描红", "维修", "重新埋设", "上报待处理")
YES_NO_LABELS: Final[tuple[str, ...]] = ("是", "否")
PENDING: Final = "待确认"
PHOTO_UNREADABLE: Final = "照片无法读取"


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class MarkerRow:
    """One marker (界桩) as listed in the 界桩成果表.

    ``x_northing`` / ``y_easting``: Gauss-Krüger metres; ``lon`` / ``lat``: CGCS2000 degrees;
    ``bearings``: up to three ``(方位物名称, 方位角°, 距离 m)``.
    """

    number: str  # "421221-421281-003Q"
    kind_label: str  # 单立 / 同号双立 / 同号三立
    material: str  # 花岗岩 / 混凝土 ...
    x_northing: float | None
    y_easting: float | None
    lon: float | None
    lat: float | None
    elevation_m: float | None
    location: str  # 位置描述
    responsible: str  # 负责维护方 (division name)
    bearings: tuple[tuple[str, float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class MarkerFindingRow:
    """What a joint inspection found at one marker. ``photos`` are JPEG / PNG bytes."""

    number: str
    condition_label: str  # 完好 / 损坏 / 移位 / 丢失
    repainted: bool  # 描红
    offset_m: float | None  # GNSS offset from the recorded position, metres
    action_label: str  # 无 / 描红 / 维修 / 重新埋设 / 上报待处理
    note: str
    photos: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class SegmentFindingRow:
    """What a joint inspection found along one section of the line."""

    section: str  # e.g. "003Q–004Q" or a description
    terrain_change: str
    recognisable: bool  # the line's course is still clearly recognisable on the ground
    construction: str  # cross-boundary construction
    dispute: str
    handling: str


@dataclass(frozen=True, slots=True)
class Party:
    """One side of a joint inspection. ``confirmed_at`` is printed as given (pass local time)."""

    division_name: str  # 嘉鱼县
    lead: bool  # 牵头方
    participants: tuple[str, ...]  # names + titles
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InspectionReport:
    """A joint inspection (联检) of one boundary line, as printed in the joint report."""

    line_name: str  # 嘉鱼赤壁线
    line_code: str
    line_length_km: float
    agreement: str  # 协议书 number + date text
    round_year: int
    kind_label: str  # 定期联检 / 专项检查
    reason: str  # for ad-hoc checks
    start_date: date
    end_date: date | None
    parties: tuple[Party, Party]
    markers: tuple[MarkerFindingRow, ...]
    segments: tuple[SegmentFindingRow, ...]
    conclusion: str
    record_no: str  # e.g. "联检-2023-003"
    status_label: str  # 已锁定 etc.
    condition_definitions: tuple[tuple[str, str], ...]  # (label, written definition)
    supersedes: str = ""  # record_no of the corrected record, if this is a correction
    peace_agreement: str = ""  # 平安边界协议 summary / file name
    filed_on: date | None = None
    filed_with: str = ""


# --------------------------------------------------------------------------- summary counts

SUMMARY_ITEMS: Final[tuple[tuple[str, str], ...]] = (
    ("checked", "检查界桩"),
    ("intact", "完好"),
    ("damaged", "损坏"),
    ("moved", "移位"),
    ("lost", "丢失"),
    ("repainted", "描红"),
    ("repaired", "维修"),
    ("reset", "重新埋设"),
    ("reported", "上报待处理"),
)

_CONDITION_KEYS: Final = {
    "完好": "intact",
    "损坏": "damaged",
    "移位": "moved",
    "丢失": "lost",
    **{code: code for code in ("intact", "damaged", "moved", "lost")},
}
_ACTION_KEYS: Final = {
    "描红": "repainted",
    "维修": "repaired",
    "重新埋设": "reset",
    "上报待处理": "reported",
    **{code: code for code in ("repainted", "repaired", "reset", "reported")},
}


def summary_counts(markers: Iterable[MarkerFindingRow]) -> dict[str, int]:
    """Count the findings: ``{checked, intact, damaged, moved, lost, repainted, repaired, reset, reported}``.

    Keys are in :data:`SUMMARY_ITEMS` order (which also gives the Chinese labels). A marker counts
    as repainted when ``repainted`` is set or its action is 描红. Conditions and actions may be
    given as Chinese labels or English codes; unknown values only count towards ``checked``.
    """
    counts = dict.fromkeys((key for key, _label in SUMMARY_ITEMS), 0)
    for m in markers:
        counts["checked"] += 1
        condition = _CONDITION_KEYS.get(m.condition_label.strip())
        if condition:
            counts[condition] += 1
        action = _ACTION_KEYS.get(m.action_label.strip())
        if m.repainted or action == "repainted":
            counts["repainted"] += 1
        if action in ("repaired", "reset", "reported"):
            counts[action] += 1
    return counts


# --------------------------------------------------------------------------- small helpers


def _fmt_number(v: float | None, digits: int) -> str:
    """Fixed decimals without trailing zeros: (12.50, 2) -> "12.5"; None -> ""."""
    if v is None:
        return ""
    text = f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _cn_datetime(dt: datetime | None) -> str:
    return "" if dt is None else f"{format_cn_date(dt.date())} {dt:%H:%M}"


def _date_range(start: date, end: date | None) -> str:
    if end is None:
        return f"{format_cn_date(start)}起"
    if end == start:
        return format_cn_date(start)
    return f"{format_cn_date(start)}至{format_cn_date(end)}"


def _party_title(p: Party) -> str:
    return f"{p.division_name}（牵头方）" if p.lead else p.division_name


def _paragraphs(text: str) -> list[str]:
    return [line for line in (x.strip() for x in text.replace("\r\n", "\n").split("\n")) if line]


def _grid_style(*extra: tuple[Any, ...], header_rows: int = 1) -> TableStyle:
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header_rows:
        commands.append(("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#E6E6E6")))
    return TableStyle([*commands, *extra])


# --------------------------------------------------------------------------- photos

_PHOTO_MAX_PX: Final = 1200
_PHOTO_BOX: Final = (80 * mm, 60 * mm)  # width, height available to one photo


def _photo_jpeg(data: bytes) -> tuple[bytes, int, int] | None:
    """Normalise photo bytes to an RGB JPEG of at most 1200 px; ``None`` when unreadable."""
    try:
        with PILImage.open(io.BytesIO(data)) as source:
            source.draft("RGB", (_PHOTO_MAX_PX, _PHOTO_MAX_PX))  # JPEG: decode at a reduced scale
            im = ImageOps.exif_transpose(source)
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                im = PILImage.new("RGB", rgba.size, "white")
                im.paste(rgba, mask=rgba.getchannel("A"))
            else:
                im = im.convert("RGB")
            im.thumbnail((_PHOTO_MAX_PX, _PHOTO_MAX_PX))
            out = io.BytesIO()
            im.save(out, "JPEG", quality=85)
            return out.getvalue(), im.width, im.height
    except Exception:  # any decoder failure (truncated, not an image, bomb ...) -> caption instead
        return None


def _photo_cell(
    number: str, condition: str, index: int, total: int, data: bytes, caption_style: ParagraphStyle
) -> list[Flowable]:
    label = f"{paragraph_text(number)}　{paragraph_text(condition)}"
    if total > 1:
        label += f"　（{index}/{total}）"
    photo = _photo_jpeg(data)
    if photo is None:
        return [Paragraph(f"{label}<br/>{PHOTO_UNREADABLE}", caption_style)]
    jpeg, width_px, height_px = photo
    box_w, box_h = _PHOTO_BOX
    scale = min(box_w / width_px, box_h / height_px)
    return [
        Image(io.BytesIO(jpeg), width=width_px * scale, height=height_px * scale),
        Spacer(1, 1.5 * mm),
        Paragraph(label, caption_style),
    ]


# --------------------------------------------------------------------------- inspection report PDF

_WIDTH_MM: Final = 174  # A4 210 mm - 18 mm margins on both sides
_INFO_COLUMNS_MM: Final = (24, 63, 24, 63)
_FINDING_COLUMNS: Final = (  # header, width (mm); sum 174
    ("序号", 10),
    ("界桩编号", 36),
    ("状况", 13),
    ("描红", 11),
    ("偏移(米)", 16),
    ("处理措施", 22),
    ("照片", 11),
    ("备注", 55),
)
_SEGMENT_COLUMNS: Final = (
    ("序号", 10),
    ("界线段", 30),
    ("地形地物变化", 30),
    ("走向可辨", 18),
    ("跨界工程建设", 30),
    ("争议情况", 28),
    ("处理情况", 28),
)
_FINDING_HIGHLIGHT: Final = {
    "damaged": colors.HexColor("#FFF4D6"),
    "moved": colors.HexColor("#FFF4D6"),
    "lost": colors.HexColor("#FBE0E0"),
}


def inspection_report_pdf(r: InspectionReport, *, compress: bool = True, invariant: bool = False) -> bytes:
    """Render the joint inspection report (“XX线联合检查报告”) as an A4 PDF.

    Sections: title, the correction note “本记录更正 …” when ``supersedes`` is set, a header table
    (line, code, length, agreement, year, kind, reason, dates, record no., status); 一、参加人员
    (both sides in two columns, the lead side marked 牵头方); 二、检查概况 (:func:`summary_counts`);
    三、界桩检查情况 (one row per marker; damaged / moved / lost rows tinted; lost markers without a
    photo are listed below the table); 四、界线段检查情况; 五、界桩状况说明 (the condition legend,
    left out -- and the later sections renumbered -- when there are no definitions); 六、检查结论
    (conclusion, 平安边界协议, filing); 七、双方确认 (per side: who confirmed and when, or 待确认,
    and room to sign and seal); then, on a new page, 附件：界桩照片 with every photo scaled
    to fit and captioned with the marker number and condition (unreadable bytes get the caption
    “照片无法读取” instead of an image). Tables repeat their header row on every page and long cells
    split across pages; every page carries “第 N 页 共 M 页”.

    ``compress=False`` writes uncompressed page streams; ``invariant=True`` makes the output
    byte-for-byte reproducible.
    """
    register_cjk_font()
    title_style = paragraph_style("insp-title", 20, leading=28, alignment=TA_CENTER, spaceAfter=2 * mm)
    subtitle_style = paragraph_style("insp-subtitle", 12, leading=18, alignment=TA_CENTER, spaceAfter=3 * mm)
    correction_style = paragraph_style(
        "insp-correction", 11, alignment=TA_CENTER, spaceAfter=3 * mm, textColor=colors.HexColor("#B00000")
    )
    section_style = paragraph_style("insp-section", 13, leading=19, spaceBefore=5 * mm, spaceAfter=2 * mm)
    body_style = paragraph_style("insp-body", 11, leading=18, alignment=TA_JUSTIFY, firstLineIndent=22)
    note_style = paragraph_style(
        "insp-note", 9.5, leading=14, spaceBefore=1.5 * mm, textColor=colors.HexColor("#B00000")
    )
    head_style = paragraph_style("insp-th", 9, alignment=TA_CENTER)
    cell_style = paragraph_style("insp-td", 8.5, alignment=TA_LEFT)
    centre_style = paragraph_style("insp-td-c", 8.5, alignment=TA_CENTER)
    label_style = paragraph_style("insp-label", 9.5, alignment=TA_CENTER)
    value_style = paragraph_style("insp-value", 9.5, alignment=TA_LEFT)
    sign_style = paragraph_style("insp-sign", 11, leading=20)
    caption_style = paragraph_style("insp-caption", 9, alignment=TA_CENTER)

    numerals = iter("一二三四五六七八九")

    def section(text: str, keep_mm: float = 30) -> list[Flowable]:
        """A numbered section heading (一、…), moved to the next page when less than keep_mm is left."""
        return [CondPageBreak(keep_mm * mm), Paragraph(f"{next(numerals)}、{text}", section_style)]

    title = f"{r.line_name}联合检查报告"
    story: list[Flowable] = [
        Paragraph(paragraph_text(title), title_style),
        Paragraph(f"{r.round_year}年度　{paragraph_text(r.kind_label)}", subtitle_style),
    ]
    if r.supersedes.strip():
        story.append(Paragraph(f"本记录更正 {paragraph_text(r.supersedes)}", correction_style))

    # header table
    info: list[tuple[str, str]] = [
        ("界线名称", r.line_name),
        ("界线编号", r.line_code),
        ("界线长度", f"{_fmt_number(r.line_length_km, 3)} 千米"),
        ("界线协议书", r.agreement),
        ("检查年度", f"{r.round_year}年"),
        ("检查类型", r.kind_label),
        ("检查日期", _date_range(r.start_date, r.end_date)),
        ("记录编号", r.record_no),
        ("记录状态", r.status_label),
    ]
    if r.reason.strip():
        info.insert(6, ("检查原因", r.reason))
    cells = [
        (Paragraph(label, label_style), Paragraph(paragraph_text(value), value_style))
        for label, value in info
    ]
    if len(cells) % 2:
        cells.append((Paragraph("", label_style), Paragraph("", value_style)))
    info_rows = [[*cells[i], *cells[i + 1]] for i in range(0, len(cells), 2)]
    story.append(
        Table(
            info_rows,
            colWidths=[w * mm for w in _INFO_COLUMNS_MM],
            style=_grid_style(
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#F0F0F0")),
                ("BACKGROUND", (2, 0), (2, -1), colors.HexColor("#F0F0F0")),
                header_rows=0,
            ),
        )
    )

    # 一、参加人员
    story += section("参加人员")
    people_rows: list[list[Flowable]] = [
        [Paragraph(paragraph_text(_party_title(p)), head_style) for p in r.parties]
    ]
    for pair in zip_longest(*(p.participants for p in r.parties), fillvalue=""):
        people_rows.append([Paragraph(paragraph_text(name), cell_style) for name in pair])
    if len(people_rows) == 1:
        people_rows.append([Paragraph("—", centre_style), Paragraph("—", centre_style)])
    story.append(
        Table(
            people_rows, colWidths=[_WIDTH_MM / 2 * mm] * 2, repeatRows=1, splitInRow=1, style=_grid_style()
        )
    )

    # 二、检查概况
    counts = summary_counts(r.markers)
    story += section("检查概况")
    story.append(
        Table(
            [
                [Paragraph(label, head_style) for _key, label in SUMMARY_ITEMS],
                [Paragraph(str(counts[key]), centre_style) for key, _label in SUMMARY_ITEMS],
            ],
            colWidths=[_WIDTH_MM / len(SUMMARY_ITEMS) * mm] * len(SUMMARY_ITEMS),
            style=_grid_style(),
        )
    )
    story.append(
        Paragraph(
            f"本次共检查界桩 {counts['checked']} 颗，其中完好 {counts['intact']} 颗、损坏 {counts['damaged']} 颗、"
            f"移位 {counts['moved']} 颗、丢失 {counts['lost']} 颗；描红 {counts['repainted']} 颗、"
            f"维修 {counts['repaired']} 颗、重新埋设 {counts['reset']} 颗、上报待处理 {counts['reported']} 颗。"
            f"检查界线段 {len(r.segments)} 段。",
            paragraph_style("insp-summary", 10, leading=16, spaceBefore=2 * mm),
        )
    )

    # 三、界桩检查情况
    story += section("界桩检查情况")
    if r.markers:
        rows: list[list[Flowable]] = [[Paragraph(h, head_style) for h, _w in _FINDING_COLUMNS]]
        tints: list[tuple[Any, ...]] = []
        for i, m in enumerate(r.markers, start=1):
            rows.append(
                [
                    Paragraph(str(i), centre_style),
                    Paragraph(paragraph_text(m.number), cell_style),
                    Paragraph(paragraph_text(m.condition_label), centre_style),
                    Paragraph("是" if m.repainted else "否", centre_style),
                    Paragraph("" if m.offset_m is None else f"{m.offset_m:.2f}", centre_style),
                    Paragraph(paragraph_text(m.action_label), centre_style),
                    Paragraph(str(len(m.photos)) if m.photos else "", centre_style),
                    Paragraph(paragraph_text(m.note), cell_style),
                ]
            )
            tint = _FINDING_HIGHLIGHT.get(_CONDITION_KEYS.get(m.condition_label.strip(), ""))
            if tint is not None:
                tints.append(("BACKGROUND", (0, i), (-1, i), tint))
        story.append(
            Table(
                rows,
                colWidths=[w * mm for _h, w in _FINDING_COLUMNS],
                repeatRows=1,
                splitInRow=1,
                style=_grid_style(*tints),
            )
        )
        unproven = [
            m.number
            for m in r.markers
            if _CONDITION_KEYS.get(m.condition_label.strip()) == "lost" and not m.photos
        ]
        if unproven:
            story.append(
                Paragraph(f"注：以下丢失界桩缺少照片证据：{paragraph_text('、'.join(unproven))}", note_style)
            )
    else:
        story.append(Paragraph("本次未检查界桩。", body_style))

    # 四、界线段检查情况
    story += section("界线段检查情况")
    if r.segments:
        seg_rows: list[list[Flowable]] = [[Paragraph(h, head_style) for h, _w in _SEGMENT_COLUMNS]]
        for i, s in enumerate(r.segments, start=1):
            seg_rows.append(
                [
                    Paragraph(str(i), centre_style),
                    Paragraph(paragraph_text(s.section), cell_style),
                    Paragraph(paragraph_text(s.terrain_change), cell_style),
                    Paragraph("是" if s.recognisable else "否", centre_style),
                    Paragraph(paragraph_text(s.construction), cell_style),
                    Paragraph(paragraph_text(s.dispute), cell_style),
                    Paragraph(paragraph_text(s.handling), cell_style),
                ]
            )
        story.append(
            Table(
                seg_rows,
                colWidths=[w * mm for _h, w in _SEGMENT_COLUMNS],
                repeatRows=1,
                splitInRow=1,
                style=_grid_style(),
            )
        )
    else:
        story.append(Paragraph("本次未记录界线段检查情况。", body_style))

    # 五、状况说明
    if r.condition_definitions:
        story += section("界桩状况说明")
        legend = [[Paragraph("状况", head_style), Paragraph("定义", head_style)]]
        legend += [
            [Paragraph(paragraph_text(label), centre_style), Paragraph(paragraph_text(text), cell_style)]
            for label, text in r.condition_definitions
        ]
        story.append(
            Table(
                legend,
                colWidths=[24 * mm, (_WIDTH_MM - 24) * mm],
                repeatRows=1,
                splitInRow=1,
                style=_grid_style(),
            )
        )

    # 六、检查结论
    story += section("检查结论")
    conclusion = _paragraphs(r.conclusion) or ["（未填写）"]
    story += [Paragraph(paragraph_text(p), body_style) for p in conclusion]
    if r.peace_agreement.strip():
        story.append(Paragraph(f"平安边界协议：{paragraph_text(r.peace_agreement)}", body_style))
    if r.filed_on is not None or r.filed_with.strip():
        filing = "，".join(x for x in (paragraph_text(r.filed_with), format_cn_date(r.filed_on)) if x)
        story.append(Paragraph(f"备案：{filing}", body_style))

    # 七、双方确认
    sides = ("甲方", "乙方")
    blocks = []
    for side, p in zip(sides, r.parties, strict=True):
        confirmed = bool(p.confirmed_by and p.confirmed_by.strip())
        blocks.append(
            [
                Paragraph(f"{side}：{paragraph_text(_party_title(p))}", sign_style),
                Paragraph(f"确认人：{paragraph_text(p.confirmed_by) if confirmed else PENDING}", sign_style),
                Paragraph(
                    f"确认时间：{_cn_datetime(p.confirmed_at) if confirmed and p.confirmed_at else PENDING}",
                    sign_style,
                ),
                Spacer(1, 4 * mm),
                Paragraph("签字（盖章）：", sign_style),
                Spacer(1, 14 * mm),
            ]
        )
    story += [
        *section("双方确认", keep_mm=70),
        Table(
            [blocks],
            colWidths=[_WIDTH_MM / 2 * mm] * 2,
            style=[
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (0, 0), (-1, -1), 0.5, colors.black),
                ("LINEAFTER", (0, 0), (0, 0), 0.5, colors.black),
                ("LEFTPADDING", (0, 0), (-1, -1), 4 * mm),
                ("TOPPADDING", (0, 0), (-1, -1), 3 * mm),
            ],
        ),
    ]

    # 附件：界桩照片
    photo_cells = [
        _photo_cell(m.number, m.condition_label, i, len(m.photos), data, caption_style)
        for m in r.markers
        for i, data in enumerate(m.photos, start=1)
    ]
    if photo_cells:
        story += [PageBreak(), Paragraph("附件：界桩照片", section_style)]
        if len(photo_cells) % 2:
            photo_cells.append([])
        grid = [photo_cells[i : i + 2] for i in range(0, len(photo_cells), 2)]
        story.append(
            Table(
                grid,
                colWidths=[_WIDTH_MM / 2 * mm] * 2,
                style=[
                    ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                    ("TOPPADDING", (0, 0), (-1, -1), 3 * mm),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 3 * mm),
                ],
            )
        )

    authors = "、".join(p.division_name for p in r.parties)
    return build_pdf(
        story,
        title=title,
        author=authors,
        subject=r.record_no,
        compress=compress,
        invariant=invariant,
        margins_mm=(20, 18, 18, 18),
    )


# --------------------------------------------------------------------------- Excel

MARKER_XLSX_HEADERS: Final[tuple[str, ...]] = (
    "界桩编号",
    "类型",
    "材质",
    "X(北坐标)",
    "Y(东坐标)",
    "经度",
    "纬度",
    "高程",
    "位置描述",
    "负责方",
    *(f"{name}{i}" for i in (1, 2, 3) for name in ("方位物名称", "方位角", "距离")),
)
FINDINGS_XLSX_HEADERS: Final[tuple[str, ...]] = (
    "界桩编号",
    "状况",
    "描红",
    "实测经度",
    "实测纬度",
    "处理措施",
    "备注",
)
FINDINGS_SHEET: Final = "界桩检查记录"

_METRE_MM_FORMAT: Final = "0.000"  # projected coordinates to the millimetre
_DEGREE_FORMAT: Final = "0.0000000"  # 1e-7 degree, about 1 cm
_ELEVATION_FORMAT: Final = "0.00"
_AZIMUTH_FORMAT: Final = "0.0"
_DISTANCE_FORMAT: Final = "0.00"
_MARKER_FORMATS: Final = {
    "X(北坐标)": _METRE_MM_FORMAT,
    "Y(东坐标)": _METRE_MM_FORMAT,
    "经度": _DEGREE_FORMAT,
    "纬度": _DEGREE_FORMAT,
    "高程": _ELEVATION_FORMAT,
    **{f"方位角{i}": _AZIMUTH_FORMAT for i in (1, 2, 3)},
    **{f"距离{i}": _DISTANCE_FORMAT for i in (1, 2, 3)},
}
_MAX_WIDTH: Final = 40
_PREFILLED_FILL: Final = PatternFill("solid", fgColor="F2F2F2")
_BOLD: Final = Font(bold=True)


def _marker_values(m: MarkerRow) -> list[Any]:
    bearings: list[Any] = []
    for i in range(3):
        if i < len(m.bearings):
            name, azimuth, distance = m.bearings[i]
            bearings += [name, azimuth, distance]
        else:
            bearings += [None, None, None]
    return [
        m.number,
        m.kind_label,
        m.material,
        m.x_northing,
        m.y_easting,
        m.lon,
        m.lat,
        m.elevation_m,
        m.location,
        m.responsible,
        *bearings,
    ]


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def marker_table_xlsx(line_name: str, rows: Sequence[MarkerRow], *, title: str = "界桩成果表") -> bytes:
    """The marker table (界桩成果表) of one line as an Excel workbook (.xlsx bytes).

    One sheet named “{line_name}{title}” (sanitised, at most 31 characters) with a bold, frozen
    header row (:data:`MARKER_XLSX_HEADERS`: 界桩编号 … 负责方, then 方位物名称 / 方位角 / 距离 for
    three bearing objects), an autofilter, sized columns and one row per marker in the given
    order; more than three bearings are ignored. X / Y (Gauss-Krüger metres, format ``0.000``,
    i.e. millimetres), 经度 / 纬度 (CGCS2000 degrees, ``0.0000000``), 高程 and 距离 (metres) and
    方位角 (degrees) are real numbers; missing values are empty cells. The printed page header
    repeats the line name and title.
    """
    wb = Workbook()
    ws = wb.active
    full_title = f"{line_name}{title}"
    ws.title = _sheet_title(full_title, "界桩成果表")
    wb.properties.title = full_title
    wb.properties.creator = PDF_PRODUCER
    ws.append(list(MARKER_XLSX_HEADERS))
    _style_header(ws)

    widths = [_display_width(h) for h in MARKER_XLSX_HEADERS]
    for row_idx, m in enumerate(rows, start=2):
        for col_idx, (header, value) in enumerate(
            zip(MARKER_XLSX_HEADERS, safe_row(_marker_values(m)), strict=True), 1
        ):  # safe_row: user text never becomes a formula (core/cells.py)
            cell = ws.cell(row=row_idx, column=col_idx, value=value)
            if header in _MARKER_FORMATS:
                cell.number_format = _MARKER_FORMATS[header]
                shown = 0 if value is None else len(f"{value:.{len(_MARKER_FORMATS[header]) - 2}f}")
            else:
                cell.number_format = "@"
                shown = _display_width(str(value or ""))
            widths[col_idx - 1] = max(widths[col_idx - 1], shown)
    for col_idx, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col_idx)].width = min(max(width + 2, 8), _MAX_WIDTH)

    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(MARKER_XLSX_HEADERS))}{max(len(rows) + 1, 1)}"
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.oddHeader.center.text = full_title
    return _save(wb)


def _list_validation(values: Sequence[str], prompt: str) -> DataValidation:
    dv = DataValidation(type="list", formula1=f'"{",".join(values)}"', allow_blank=True)
    dv.showErrorMessage = True
    dv.errorTitle = "输入无效"
    dv.error = f"请从下拉列表中选择：{'、'.join(values)}"
    dv.showInputMessage = True
    dv.promptTitle = prompt
    dv.prompt = "、".join(values)
    return dv


def _range_validation(low: float, high: float, what: str) -> DataValidation:
    dv = DataValidation(
        type="decimal", operator="between", formula1=str(low), formula2=str(high), allow_blank=True
    )
    dv.showErrorMessage = True
    dv.errorTitle = "输入无效"
    dv.error = f"{what}应为 {low}～{high} 之间的十进制度数（CGCS2000）"
    return dv


def findings_template_xlsx(
    line_name: str, numbers: Sequence[str], *, definitions: Sequence[tuple[str, str]] = ()
) -> bytes:
    """The bulk-entry template for one inspection's marker findings (.xlsx bytes).

    Sheet :data:`FINDINGS_SHEET` (“界桩检查记录”): header row :data:`FINDINGS_XLSX_HEADERS` (frozen),
    one row per marker number in the given order (界桩编号 pre-filled, shaded). On those rows 状况
    only accepts :data:`CONDITION_LABELS`, 描红 是 / 否, 处理措施 :data:`ACTION_LABELS` (drop-down
    lists), and 实测经度 / 实测纬度 decimal degrees within China (73–136 °E, 3–54 °N, format
    ``0.0000000``). Sheet “说明”: the line, filling instructions, and the condition definitions
    ``definitions`` as (状况, 定义) rows.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = FINDINGS_SHEET
    wb.properties.title = f"{line_name}界桩检查记录表"
    wb.properties.creator = PDF_PRODUCER
    ws.append(list(FINDINGS_XLSX_HEADERS))
    _style_header(ws)

    for row_idx, number in enumerate(numbers, start=2):
        cell = ws.cell(row=row_idx, column=1, value=safe_text(number))
        cell.number_format = "@"
        cell.fill = _PREFILLED_FILL
        for col in (4, 5):
            ws.cell(row=row_idx, column=col).number_format = _DEGREE_FORMAT
        ws.cell(row=row_idx, column=7).alignment = Alignment(wrap_text=True, vertical="top")

    last = max(len(numbers) + 1, 2)
    validations = (
        (_list_validation(CONDITION_LABELS, "界桩状况"), "B"),
        (_list_validation(YES_NO_LABELS, "是否描红"), "C"),
        (_range_validation(73, 136, "实测经度"), "D"),
        (_range_validation(3, 54, "实测纬度"), "E"),
        (_list_validation(ACTION_LABELS, "处理措施"), "F"),
    )
    for dv, column in validations:
        ws.add_data_validation(dv)
        dv.add(f"{column}2:{column}{last}")

    number_width = max((_display_width(n) for n in numbers), default=0)
    for col_idx, width in enumerate((max(number_width, 10), 8, 6, 13, 13, 12, 40), start=1):
        ws.column_dimensions[get_column_letter(col_idx)].width = width + 2
    ws.freeze_panes = "B2"
    ws.print_title_rows = "1:1"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4

    notes = wb.create_sheet("说明")
    lines: list[tuple[str, str]] = [
        ("界线", line_name),
        ("界桩数量", str(len(numbers))),
        ("填写说明", f"在“{FINDINGS_SHEET}”表中逐行填写，每个界桩一行；界桩编号已预先填好，请勿修改。"),
        ("状况", f"从下拉列表选择：{'、'.join(CONDITION_LABELS)}（定义见下表）。"),
        ("描红", "界桩注记是否已描红：是 / 否。"),
        ("实测经度、实测纬度", "GNSS 实测位置，CGCS2000 十进制度，保留 7 位小数；未实测可留空。"),
        ("处理措施", f"从下拉列表选择：{'、'.join(ACTION_LABELS)}。"),
        ("照片", "丢失的界桩须附照片证据；照片在系统中按界桩编号上传。"),
        ("备注", "其他需要说明的情况。"),
    ]
    for label, text in lines:
        notes.append(safe_row([label, text]))
    if definitions:
        notes.append([])
        notes.append(["状况", "定义"])
        header_row = notes.max_row
        for label, text in definitions:
            notes.append(safe_row([label, text]))
        for cell in notes[header_row]:
            cell.fill = _PREFILLED_FILL
    for cell in notes["A"]:
        cell.font = _BOLD
    for row in notes.iter_rows(min_col=2, max_col=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    notes.column_dimensions["A"].width = 20
    notes.column_dimensions["B"].width = 70
    return _save(wb)

"""Place-name output documents: naming announcement (PDF), gazetteer (PDF / Excel) and national CSV.

This module is deliberately **pure**: it imports only the standard library, reportlab and
openpyxl -- never Django -- so services, management commands and tests can render documents
from plain :class:`NameEntry` / :class:`Announcement` dataclasses without settings or a database.
Every renderer returns the finished file as ``bytes``.

Conventions:

* Coordinates (``NameEntry.lon`` / ``NameEntry.lat``) are **CGCS2000 longitude / latitude in
  decimal degrees (EPSG:4490)**, x = longitude first.
* Lengths and widths (``length_m`` / ``width_m``) are in **metres**.
* Chinese text in PDFs uses the embedded CJK TrueType font of :mod:`geo_mz.core.pdf` (a subset
  of WenQuanYi Micro Hei), so every viewer renders and extracts it without CJK support of its own.
* PDFs are reproducible byte for byte with ``invariant=True`` (fixed creation date and document id).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final
from xml.sax.saxutils import escape as _xml_escape

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from geo_mz.core.cells import safe_row
from geo_mz.core.pdf import PDF_PRODUCER, build_pdf, paragraph_style, paragraph_text, register_cjk_font

__all__ = [
    "CRS_NOTE",
    "GAZETTEER_XLSX_HEADERS",
    "NATIONAL_CSV_FIELDS",
    "Announcement",
    "NameEntry",
    "announcement_pdf",
    "format_cn_date",
    "gazetteer_pdf",
    "gazetteer_xlsx",
    "national_csv",
    "national_row",
]

CRS_NOTE: Final = "经纬度：CGCS2000 (EPSG:4490)"


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class NameEntry:
    """One standard place name as it appears in announcements, gazetteers and exports.

    ``lon`` / ``lat`` are CGCS2000 longitude / latitude in decimal degrees (EPSG:4490);
    ``length_m`` / ``width_m`` are in metres. ``former_names`` is a comma-separated list.
    """

    name: str
    specific: str
    generic: str
    romanization: str
    kind_label: str  # 道路, 街巷, 桥梁 ...
    division_code: str  # e.g. "421281002"
    division_name: str  # e.g. "赤马港街道"
    location: str  # 位置描述, e.g. "起于赤壁大道，止于陆水河"
    meaning: str = ""  # 含义
    history: str = ""  # 历史沿革
    approving_body: str = ""
    decision_number: str = ""
    approved_on: date | None = None
    lon: float | None = None
    lat: float | None = None
    length_m: float | None = None
    width_m: float | None = None
    former_names: str = ""  # 曾用名, comma separated


@dataclass(frozen=True, slots=True)
class Announcement:
    """A place-naming announcement (地名命名公告) published by a civil-affairs bureau."""

    number: str  # 公告编号, e.g. "赤民地公〔2023〕3号"
    title: str  # e.g. "关于赤壁市部分道路命名的公告"
    issuer: str  # e.g. "赤壁市民政局"
    issued_on: date
    body: str  # intro paragraph(s); blank lines / newlines separate paragraphs
    entries: Sequence[NameEntry]


# --------------------------------------------------------------------------- small helpers


def format_cn_date(d: date | None) -> str:
    """``date(2023, 6, 30)`` -> ``"2023年6月30日"``; ``None`` -> ``""``."""
    if d is None:
        return ""
    return f"{d.year}年{d.month}月{d.day}日"


def _iso_date(d: date | None) -> str:
    return "" if d is None else d.isoformat()


def _fmt_degrees(v: float | None) -> str:
    return "" if v is None else f"{v:.6f}"


def _fmt_metres(v: float | None) -> str:
    """Up to two decimals without trailing zeros: 1200.0 -> "1200", 12.345 -> "12.35"."""
    if v is None:
        return ""
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _approval_text(e: NameEntry) -> str:
    return "，".join(p for p in (e.approving_body, e.decision_number, format_cn_date(e.approved_on)) if p)


# --------------------------------------------------------------------------- announcement PDF

_ANNOUNCEMENT_COLUMNS: Final = (
    # header, width (mm); sum = A4 width 210 - margins 36 = 174 mm
    ("序号", 9),
    ("标准名称", 21),
    ("汉语拼音", 22),
    ("所属行政区", 19),
    ("位置描述", 36),
    ("批准机关", 21),
    ("批准日期", 22),
    ("批准文号", 24),
)


def announcement_pdf(a: Announcement, *, compress: bool = True, invariant: bool = False) -> bytes:
    """Render a place-naming announcement (地名命名公告) as an A4 PDF.

    Layout: centred title, the announcement number, the body paragraph(s), then a table
    (序号, 标准名称, 汉语拼音, 所属行政区, 位置描述, 批准机关, 批准日期, 批准文号) whose header row
    repeats on every page and whose cells wrap, and finally the issuer and the issue date,
    right-aligned. Every page carries "第 N 页 共 M 页". Any number of entries is fine (the table
    flows over as many pages as needed).

    Entry coordinates (CGCS2000 lon/lat, EPSG:4490) and lengths (metres) are not shown here.
    ``compress=False`` writes uncompressed page streams (handy for inspection); ``invariant=True``
    makes the output byte-for-byte reproducible.
    """
    register_cjk_font()
    title_style = paragraph_style("ann-title", 18, leading=26, alignment=TA_CENTER, spaceAfter=4 * mm)
    number_style = paragraph_style("ann-number", 11, alignment=TA_CENTER, spaceAfter=5 * mm)
    body_style = paragraph_style(
        "ann-body", 12, leading=20, alignment=TA_JUSTIFY, firstLineIndent=24, spaceAfter=2 * mm
    )
    sign_style = paragraph_style("ann-sign", 12, leading=20, alignment=TA_RIGHT, rightIndent=6 * mm)
    head_style = paragraph_style("ann-th", 9, alignment=TA_CENTER)
    cell_style = paragraph_style("ann-td", 8.5, alignment=TA_LEFT)
    centre_cell_style = paragraph_style("ann-td-c", 8.5, alignment=TA_CENTER)
    latin_cell_style = paragraph_style("ann-td-latin", 8.5, alignment=TA_LEFT, wordWrap=None)

    story: list[Flowable] = [Paragraph(paragraph_text(a.title), title_style)]
    if a.number.strip():
        story.append(Paragraph(paragraph_text(a.number), number_style))
    for para in (p for p in re.split(r"\n\s*\n|\n", a.body) if p.strip()):
        story.append(Paragraph(paragraph_text(para), body_style))
    story.append(Spacer(1, 3 * mm))

    rows: list[list[Flowable]] = [[Paragraph(h, head_style) for h, _w in _ANNOUNCEMENT_COLUMNS]]
    for i, e in enumerate(a.entries, start=1):
        rows.append(
            [
                Paragraph(str(i), centre_cell_style),
                Paragraph(paragraph_text(e.name), cell_style),
                Paragraph(paragraph_text(e.romanization), latin_cell_style),
                Paragraph(paragraph_text(e.division_name), cell_style),
                Paragraph(paragraph_text(e.location), cell_style),
                Paragraph(paragraph_text(e.approving_body), cell_style),
                Paragraph(paragraph_text(format_cn_date(e.approved_on)), centre_cell_style),
                Paragraph(paragraph_text(e.decision_number), cell_style),
            ]
        )
    table = Table(
        rows,
        colWidths=[w * mm for _h, w in _ANNOUNCEMENT_COLUMNS],
        repeatRows=1,
        hAlign="CENTER",
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E6E6E6")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    story.append(table)
    story.append(Spacer(1, 10 * mm))
    story.append(
        KeepTogether(
            [
                Paragraph(paragraph_text(a.issuer), sign_style),
                Paragraph(paragraph_text(format_cn_date(a.issued_on)), sign_style),
            ]
        )
    )
    return build_pdf(
        story,
        title=a.title,
        author=a.issuer,
        subject=a.number,
        compress=compress,
        invariant=invariant,
        margins_mm=(20, 18, 18, 18),
    )


# --------------------------------------------------------------------------- gazetteer PDF


def _group_entries(entries: Iterable[NameEntry]) -> list[tuple[str, list[tuple[str, str, list[NameEntry]]]]]:
    """Group by kind_label (first-appearance order), then division (ordered by code, then name).

    Entries keep their input order within a division.
    """
    kinds: dict[str, dict[tuple[str, str], list[NameEntry]]] = {}
    for e in entries:
        kinds.setdefault(e.kind_label, {}).setdefault((e.division_code, e.division_name), []).append(e)
    return [
        (kind, [(code, name, items) for (code, name), items in sorted(divisions.items())])
        for kind, divisions in kinds.items()
    ]


def gazetteer_pdf(
    entries: Sequence[NameEntry],
    *,
    title: str = "标准地名录",
    subtitle: str = "",
    compress: bool = True,
    invariant: bool = False,
) -> bytes:
    """Render a standard place-name gazetteer (标准地名录) as an A4 PDF.

    Entries are grouped by ``kind_label`` (in order of first appearance), then by division
    (ordered by division code); each entry is a block: the name (larger) with its pinyin,
    then 所属行政区, 位置描述, 规模 (length / width in metres), 坐标 (CGCS2000 lon/lat, EPSG:4490),
    含义, 历史沿革, 曾用名 and 批准 (body, number, date) -- empty fields are left out.
    Every page carries "第 N 页 共 M 页". See :func:`announcement_pdf` for ``compress`` / ``invariant``.
    """
    register_cjk_font()
    title_style = paragraph_style("gz-title", 22, leading=30, alignment=TA_CENTER, spaceAfter=3 * mm)
    subtitle_style = paragraph_style("gz-subtitle", 12, leading=18, alignment=TA_CENTER, spaceAfter=2 * mm)
    count_style = paragraph_style(
        "gz-count", 10, alignment=TA_CENTER, spaceAfter=6 * mm, textColor=colors.HexColor("#555555")
    )
    kind_style = paragraph_style(
        "gz-kind", 16, leading=22, spaceBefore=5 * mm, spaceAfter=2 * mm, textColor=colors.HexColor("#8B0000")
    )
    division_style = paragraph_style("gz-division", 12.5, leading=18, spaceBefore=3 * mm, spaceAfter=1.5 * mm)
    name_style = paragraph_style("gz-name", 13.5, leading=19, spaceBefore=2.5 * mm)
    field_style = paragraph_style("gz-field", 9.5, leading=14, leftIndent=6 * mm, alignment=TA_JUSTIFY)

    story: list[Flowable] = [Paragraph(paragraph_text(title), title_style)]
    if subtitle.strip():
        story.append(Paragraph(paragraph_text(subtitle), subtitle_style))
    story.append(
        Paragraph(f"共收录地名 {len(entries)} 条　{_xml_escape(CRS_NOTE)}　长度单位：米", count_style)
    )

    for kind, divisions in _group_entries(entries):
        story.append(CondPageBreak(40 * mm))
        story.append(Paragraph(paragraph_text(kind or "其他"), kind_style))
        for code, division_name, items in divisions:
            story.append(CondPageBreak(30 * mm))
            label = f"{division_name}（{code}）" if code else division_name
            story.append(Paragraph(paragraph_text(label or "未注明行政区"), division_style))
            for e in items:
                story.append(KeepTogether(_gazetteer_block(e, name_style, field_style)))
    return build_pdf(story, title=title, subject=subtitle, compress=compress, invariant=invariant)


def _gazetteer_block(e: NameEntry, name_style: ParagraphStyle, field_style: ParagraphStyle) -> list[Flowable]:
    heading = f"<font size='{name_style.fontSize + 0.5}'>{paragraph_text(e.name)}</font>"
    if e.romanization.strip():
        heading += f"　<font size='{field_style.fontSize + 0.5}' color='#444444'>{paragraph_text(e.romanization)}</font>"
    block: list[Flowable] = [Paragraph(heading, name_style)]

    scale = "，".join(
        p
        for p in (
            f"长 {_fmt_metres(e.length_m)} 米" if e.length_m is not None else "",
            f"宽 {_fmt_metres(e.width_m)} 米" if e.width_m is not None else "",
        )
        if p
    )
    coords = (
        f"东经 {_fmt_degrees(e.lon)}°，北纬 {_fmt_degrees(e.lat)}°"
        if e.lon is not None and e.lat is not None
        else ""
    )
    division = f"{e.division_name}（{e.division_code}）" if e.division_code else e.division_name
    fields = (
        ("所属行政区", division),
        ("位置描述", e.location),
        ("规模", scale),
        ("坐标", coords),
        ("含义", e.meaning),
        ("历史沿革", e.history),
        ("曾用名", e.former_names),
        ("批准", _approval_text(e)),
    )
    for label, value in fields:
        if value and value.strip():
            block.append(Paragraph(f"{label}：{paragraph_text(value)}", field_style))
    return block


# --------------------------------------------------------------------------- gazetteer Excel

GAZETTEER_XLSX_HEADERS: Final[tuple[str, ...]] = (
    "标准名称",
    "汉语拼音",
    "类别",
    "专名",
    "通名",
    "所属行政区划代码",
    "所属行政区",
    "位置描述",
    "含义",
    "历史沿革",
    "曾用名",
    "批准机关",
    "批准文号",
    "批准日期",
    "经度",
    "纬度",
    "长度(米)",
    "宽度(米)",
)

_XLSX_SHEET: Final = "标准地名录"
_XLSX_NOTES_SHEET: Final = "说明"
_XLSX_DATE_FORMAT: Final = "yyyy-mm-dd"
_XLSX_DEGREE_FORMAT: Final = "0.000000"
_XLSX_METRE_FORMAT: Final = "0.0#"
_XLSX_WRAP_COLUMNS: Final = frozenset({"位置描述", "含义", "历史沿革"})
_XLSX_MAX_WIDTH: Final = 48


def _display_width(text: str) -> int:
    """Approximate Excel column width: CJK / full-width characters count double."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _xlsx_row(e: NameEntry) -> list[Any]:
    return [
        e.name,
        e.romanization,
        e.kind_label,
        e.specific,
        e.generic,
        e.division_code,  # text: codes keep their leading digits and are not numbers to add up
        e.division_name,
        e.location,
        e.meaning,
        e.history,
        e.former_names,
        e.approving_body,
        e.decision_number,
        e.approved_on,
        e.lon,
        e.lat,
        e.length_m,
        e.width_m,
    ]


def gazetteer_xlsx(entries: Sequence[NameEntry], *, title: str = "标准地名录") -> bytes:
    """Render the gazetteer as an Excel workbook (.xlsx bytes).

    Sheet "标准地名录": one header row (:data:`GAZETTEER_XLSX_HEADERS`), frozen together with the
    name column, an autofilter, sized columns; 批准日期 is a real Excel date, 经度 / 纬度
    (CGCS2000 lon/lat, EPSG:4490, 6 decimals) and 长度 / 宽度 (metres) are real numbers, and the
    division code is text. Sheet "说明": title, entry count, per-kind counts, CRS and unit notes.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = _XLSX_SHEET
    wb.properties.title = title
    wb.properties.creator = PDF_PRODUCER

    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDE4EE")
    thin = Side(style="thin", color="999999")
    header_border = Border(bottom=thin)
    ws.append(list(GAZETTEER_XLSX_HEADERS))
    for cell in ws[1]:
        cell.font = header_font
        cell.fill = header_fill
        cell.border = header_border
        cell.alignment = Alignment(horizontal="center", vertical="center")

    widths = [_display_width(h) for h in GAZETTEER_XLSX_HEADERS]
    formats: dict[str, str] = {
        "批准日期": _XLSX_DATE_FORMAT,
        "经度": _XLSX_DEGREE_FORMAT,
        "纬度": _XLSX_DEGREE_FORMAT,
        "长度(米)": _XLSX_METRE_FORMAT,
        "宽度(米)": _XLSX_METRE_FORMAT,
    }
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    for row_idx, e in enumerate(entries, start=2):
        values = safe_row(_xlsx_row(e))  # user text never becomes a formula (core/cells.py)
        for col_idx, (header, value) in enumerate(zip(GAZETTEER_XLSX_HEADERS, values, strict=True), start=1):
            cell = ws.cell(row=row_idx, column=col_idx, value=value)
            if header in formats:
                cell.number_format = formats[header]
            elif header == "所属行政区划代码":
                cell.number_format = "@"
            cell.alignment = wrap if header in _XLSX_WRAP_COLUMNS else top
            if header == "批准日期":
                shown = 10 if value is not None else 0
            elif header in formats:
                shown = 12 if value is not None else 0
            else:
                shown = max((_display_width(line) for line in str(value or "").splitlines()), default=0)
            widths[col_idx - 1] = max(widths[col_idx - 1], shown)
    for col_idx, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col_idx)].width = min(max(width + 2, 8), _XLSX_MAX_WIDTH)

    last_row = max(len(entries) + 1, 1)
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(GAZETTEER_XLSX_HEADERS))}{last_row}"
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4

    notes = wb.create_sheet(_XLSX_NOTES_SHEET)
    kind_counts: dict[str, int] = {}
    for e in entries:
        kind_counts[e.kind_label] = kind_counts.get(e.kind_label, 0) + 1
    rows: list[tuple[str, Any]] = [
        ("标题", title),
        ("地名数量", len(entries)),
        *((f"其中：{kind or '其他'}", n) for kind, n in kind_counts.items()),
        ("坐标系", CRS_NOTE),
        ("经纬度格式", "十进制度，保留 6 位小数"),
        ("长度、宽度单位", "米"),
        ("批准日期", "Excel 日期（yyyy-mm-dd）"),
        ("生成程序", PDF_PRODUCER),
    ]
    for r in rows:
        notes.append(safe_row(r))
    for cell in notes["A"]:
        cell.font = header_font
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["B"].width = 44

    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- national CSV

NATIONAL_CSV_FIELDS: Final[tuple[str, ...]] = (
    "标准名称",
    "专名",
    "通名",
    "罗马字母拼写",
    "地名类别",
    "所属行政区划代码",
    "所属行政区划",
    "东经",
    "北纬",
    "位置描述",
    "含义",
    "历史沿革",
    "曾用名",
    "批准时间",
    "批准文号",
    "批准机关",
    "长度(米)",
    "宽度(米)",
)

_NATIONAL_VALUES: Final[tuple[Callable[[NameEntry], str], ...]] = (
    lambda e: e.name,
    lambda e: e.specific,
    lambda e: e.generic,
    lambda e: e.romanization,
    lambda e: e.kind_label,
    lambda e: e.division_code,
    lambda e: e.division_name,
    lambda e: _fmt_degrees(e.lon),
    lambda e: _fmt_degrees(e.lat),
    lambda e: e.location,
    lambda e: e.meaning,
    lambda e: e.history,
    lambda e: e.former_names,
    lambda e: _iso_date(e.approved_on),
    lambda e: e.decision_number,
    lambda e: e.approving_body,
    lambda e: _fmt_metres(e.length_m),
    lambda e: _fmt_metres(e.width_m),
)


def national_row(e: NameEntry) -> list[str]:
    """One entry as strings in :data:`NATIONAL_CSV_FIELDS` order."""
    return [value(e) for value in _NATIONAL_VALUES]


def national_csv(entries: Sequence[NameEntry], *, encoding: str = "utf-8-sig") -> bytes:
    """Export entries in the national place-name database layout (全国地名信息库 / 第二次全国地名普查).

    Columns: :data:`NATIONAL_CSV_FIELDS`. Dates are ``YYYY-MM-DD``; 东经 / 北纬 are CGCS2000
    lon/lat (EPSG:4490) with 6 decimals; 长度 / 宽度 are metres (up to 2 decimals); missing
    values are empty. Rows end with CRLF.

    ``encoding`` is ``"utf-8-sig"`` (default: UTF-8 with BOM, which Excel opens correctly) or
    ``"gbk"`` (for legacy systems). Raises :class:`ValueError` naming the entry, the field and the
    character when a value cannot be encoded (e.g. a rare character outside GBK).
    """
    rows = [national_row(e) for e in entries]
    for index, (e, row) in enumerate(zip(entries, rows, strict=True), start=1):
        for field, value in zip(NATIONAL_CSV_FIELDS, row, strict=True):
            try:
                value.encode(encoding)
            except UnicodeEncodeError as exc:
                bad = value[exc.start]
                raise ValueError(
                    f"第 {index} 条地名“{e.name}”的字段“{field}”含有无法用 {encoding} 编码的字符"
                    f"“{bad}”（U+{ord(bad):04X}）"
                ) from exc

    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(NATIONAL_CSV_FIELDS)
    writer.writerows(safe_row(row) for row in rows)  # user text never becomes a formula (core/cells.py)
    return buf.getvalue().encode(encoding)

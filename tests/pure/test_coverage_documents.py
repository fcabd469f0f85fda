"""Tests for geo_mz.coverage.documents (pure: no Django, no database).

PDF text is read with ``pdftotext`` / ``pdfinfo`` / ``pdfimages`` (poppler-utils); the map figure is
checked in the uncompressed page streams and in the reportlab drawing itself.
"""

from __future__ import annotations

import io
import math
import re
import subprocess
from dataclasses import replace
from datetime import date

import pytest
from openpyxl import load_workbook
from reportlab.graphics.shapes import Path, String
from shapely.geometry import Point, box

from geo_mz.coverage.documents import (
    DIVISION_XLSX_HEADERS,
    INDICATOR_XLSX_HEADERS,
    NO_DATA_CLASS,
    RATE_CLASSES,
    SYNTHETIC_NOTE,
    CoverageReport,
    DivisionRow,
    IndicatorRow,
    MapFigure,
    coverage_report_pdf,
    coverage_report_xlsx,
    format_share,
    format_value,
    map_figure_drawing,
    meets_text,
    rate_class,
)

X0, Y0 = 500_000.0, 3_280_000.0  # CGCS2000 / 3-degree GK CM 114E (EPSG:4547), metres


def _division(i: int, share: float | None, population: float = 10_000) -> DivisionRow:
    covered = 0.0 if share is None else round(population * share)
    return DivisionRow(
        code=f"421281{i:03d}000",
        name=f"测试{i}镇",
        population=population,
        covered=covered,
        share=None if share is None else covered / population,
        uncovered=population - covered,
    )


def _figure(n: int = 6, *, points: bool = True) -> MapFigure:
    rates = [0.3, 0.6, 0.85, 0.95, 1.0, None]
    polygons = []
    pts = []
    for i in range(n):
        x, y = X0 + (i % 3) * 6000, Y0 + (i // 3) * 5000
        geom = box(x, y, x + 6000, y + 5000)
        if i == 1:
            geom = geom.difference(Point(x + 3000, y + 2500).buffer(800))  # a hole
        polygons.append((geom, rates[i % len(rates)], f"测试{i}镇"))
        if points:
            pts += [
                (x + 1000, y + 1000, "covered"),
                (x + 5000, y + 4000, "uncovered"),
                (x + 3000, y + 2500, "facility"),
            ]
    return MapFigure(polygons=polygons, points=pts, title="图1 社区日间照料中心覆盖情况（直线距离 1000 米）")


INDICATORS = (
    IndicatorRow(
        "beds_per_1000_60plus", "每千名老年人养老床位数", 34.25, "张", "≥ 35 张", False, "2020 年普查"
    ),
    IndicatorRow("nursing_share", "护理型床位占比", 0.58, "%", "≥ 55%", True),
    IndicatorRow("beds_total", "养老床位总数", 2623, "张", "", None),
    IndicatorRow("urban_day_care", "城市社区日间照料覆盖率", 1.0, "%", "100%", True),
)
REPORT = CoverageReport(
    title="赤壁市养老服务设施覆盖分析报告",
    county_name="赤壁市",
    generated_on=date(2025, 3, 1),
    run_label="运行 #12（直线距离，引擎 1.3）",
    parameters=(("设施类型", "社区日间照料中心"), ("距离方式", "直线距离"), ("服务半径", "1000 米")),
    indicators=INDICATORS,
    divisions=(
        _division(1, 0.95, 52_000),
        _division(2, 0.40, 18_000),
        DivisionRow("421281003000", "车埠镇<A&B>", 0, 0, None, 0),
    ),
    map=_figure(),
    notes=("覆盖按直线距离计算。",),
    synthetic=True,
)


def _pdftotext(pdf: bytes, page: int | None = None) -> str:
    args = ["pdftotext", "-enc", "UTF-8", "-layout"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run([*args, "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def _pages(pdf: bytes) -> int:
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def _path_ops(pdf: bytes) -> int:
    """Path construction operators (moveto / lineto / curveto / rect) in uncompressed streams."""
    return len(re.findall(rb"(?m)(?:^|\s)(?:[\d.\-]+ ){2,6}[mlcv]\s|\bre\b", pdf))


def _strings(drawing) -> list[str]:
    out = []

    def walk(node) -> None:
        if isinstance(node, String):
            out.append(node.text)
        for child in getattr(node, "contents", []):
            walk(child)

    walk(drawing)
    return out


# --------------------------------------------------------------------------- classes and formats


@pytest.mark.parametrize(
    ("rate", "label"),
    [
        (0.0, "不足 50%"),
        (0.4999, "不足 50%"),
        (0.5, "50%–80%"),
        (0.7999, "50%–80%"),
        (0.8, "80%–90%"),
        (0.9, "90%–100%"),
        (0.9999, "90%–100%"),
        (0.99999999999, "100%"),  # float noise is full coverage
        (1.0, "100%"),
        (None, "无数据"),
        (math.nan, "无数据"),
    ],
)
def test_rate_classes(rate, label) -> None:
    assert rate_class(rate).label == label


@pytest.mark.parametrize("rate", [-0.01, 1.01, 85])
def test_rate_outside_zero_one_is_refused(rate) -> None:
    with pytest.raises(ValueError, match="0 到 1"):
        rate_class(rate)


def test_formats() -> None:
    assert format_share(0.8534) == "85.3%"
    assert format_share(None) == "—"
    assert format_value(0.58, "%") == "58.0%"
    assert format_value(34.25, "张") == "34.25 张"
    assert format_value(2623, "张") == "2,623 张"
    assert format_value(None, "张") == "—"
    assert (meets_text(True), meets_text(False), meets_text(None)) == ("√ 达标", "× 未达标", "—")


# --------------------------------------------------------------------------- PDF


def test_pdf_text_has_title_parameters_indicators_divisions_and_notes() -> None:
    pdf = coverage_report_pdf(REPORT)
    assert pdf.startswith(b"%PDF")
    text = _pdftotext(pdf)
    flat = "".join(text.split())
    for expected in (
        REPORT.title,
        "赤壁市",
        "运行#12（直线距离，引擎1.3）",
        "生成日期：2025年3月1日",
        "【演示数据】",
        "一、分析参数",
        "服务半径",
        "1000米",
        "二、主要指标",
        "每千名老年人养老床位数",
        "34.25张",
        "护理型床位占比",
        "58.0%",
        "2,623张",
        "≥35张",
        "三、覆盖分析图",
        "图1社区日间照料中心覆盖情况",
        "四、分区覆盖情况",
        "测试1镇",
        "测试2镇",
        "车埠镇<A&B>",
        "合计",
        "70,000",  # total population
        "五、说明",
        "覆盖按直线距离计算。",
    ):
        assert expected in flat, expected
    assert "".join(SYNTHETIC_NOTE.split())[:20] in flat
    assert text.count("√ 达标") == 2 and text.count("× 未达标") == 1
    # total share = (49,400 + 7,200) / 70,000
    assert f"{(49_400 + 7_200) / 70_000 * 100:.1f}%" in flat
    assert "第1页共2页" in flat


def test_pdf_meets_marks_are_coloured() -> None:
    pdf = coverage_report_pdf(REPORT, compress=False)
    # reportlab writes fill colours as "r g b rg": green 1A7F37 and red C62828
    assert b".101961 .498039 .215686 rg" in pdf
    assert b".776471 .156863 .156863 rg" in pdf


def test_pdf_without_map_renumbers_sections_and_has_fewer_paths() -> None:
    no_map = replace(REPORT, map=None, synthetic=False)
    text = "".join(_pdftotext(coverage_report_pdf(no_map)).split())
    assert "覆盖分析图" not in text
    assert "三、分区覆盖情况" in text and "四、说明" in text
    assert "【演示数据】" not in text and SYNTHETIC_NOTE[:10] not in text

    with_map = _path_ops(coverage_report_pdf(replace(REPORT, synthetic=False), compress=False))
    without = _path_ops(coverage_report_pdf(no_map, compress=False))
    vertices = sum(len(g.exterior.coords) for g, _r, _l in REPORT.map.polygons)
    assert with_map - without >= vertices


def test_map_is_vector_not_an_image() -> None:
    pdf = coverage_report_pdf(REPORT)
    listing = subprocess.run(["pdfimages", "-list", "-"], input=pdf, capture_output=True, check=True)
    assert len(listing.stdout.decode().strip().splitlines()) == 2  # header lines only: no raster image


def test_pdf_invariant_is_byte_identical() -> None:
    a = coverage_report_pdf(REPORT, invariant=True)
    b = coverage_report_pdf(REPORT, invariant=True)
    assert a == b
    assert coverage_report_pdf(replace(REPORT, title="另一个标题"), invariant=True) != a


def test_120_divisions_paginate_with_repeated_header() -> None:
    divisions = tuple(_division(i, (i % 10) / 10) for i in range(1, 121))
    report = replace(REPORT, divisions=divisions, map=None)
    pdf = coverage_report_pdf(report)
    pages = _pages(pdf)
    assert pages >= 3
    table_pages = [p for p in range(1, pages + 1) if "测试" in _pdftotext(pdf, p)]
    assert len(table_pages) >= 2
    for p in table_pages:
        page_text = "".join(_pdftotext(pdf, p).split())
        assert "区划代码" in page_text and "未覆盖人口" in page_text, p
        assert f"第{p}页共{pages}页" in page_text
    flat = "".join(_pdftotext(pdf).split())
    assert all(f"测试{i}镇" in flat for i in range(1, 121))
    assert "合计" in "".join(_pdftotext(pdf, table_pages[-1]).split())


# --------------------------------------------------------------------------- map figure


def test_map_drawing_has_legend_scale_bar_and_north_arrow() -> None:
    drawing = map_figure_drawing(_figure())
    texts = _strings(drawing)
    assert "图例" in texts and "覆盖率" in texts and "北" in texts
    assert [c.label for c in RATE_CLASSES] == [t for t in texts if t in {c.label for c in RATE_CLASSES}][::-1]
    assert NO_DATA_CLASS.label in texts  # one polygon has no rate
    assert {"已覆盖需求点", "未覆盖需求点", "设施"} <= set(texts)
    # 18 km wide (+ padding) on about 130 mm: a quarter is about 4.8 km -> a 2 km scale bar
    assert "0" in texts and "2 公里" in texts
    assert "测试0镇" in texts  # labels drawn where they fit
    paths = [n for n in drawing.contents if hasattr(n, "contents") for n in n.contents if isinstance(n, Path)]
    assert len(paths) == 6
    assert all(p.fillMode == 1 for p in paths)  # even-odd: the hole stays open
    holed = paths[1]
    assert holed.operators.count(0) == 2  # two rings: exterior and hole (0 = moveTo)


def test_map_drawing_without_no_data_and_points() -> None:
    figure = MapFigure([(box(X0, Y0, X0 + 20_000, Y0 + 10_000), 0.7, "甲镇")], [], "")
    texts = _strings(map_figure_drawing(figure))
    assert NO_DATA_CLASS.label not in texts
    assert "设施" not in texts and "已覆盖需求点" not in texts
    assert "5 公里" in texts


def test_map_drawing_thins_many_demand_points_but_keeps_facilities() -> None:
    pts = [(X0 + i * 10.0, Y0 + (i % 97) * 10.0, "covered") for i in range(2000)]
    pts.append((X0, Y0, "facility"))
    drawing = map_figure_drawing(MapFigure([], pts, ""), max_points=500)
    assert "需求点抽样显示 500/2,000" in _strings(drawing)


def test_single_point_map_and_small_scale() -> None:
    texts = _strings(map_figure_drawing(MapFigure([], [(X0, Y0, "facility")], "")))
    assert any(t.endswith(" 米") for t in texts)


def test_bad_map_figures_are_refused() -> None:
    with pytest.raises(ValueError, match="点类型"):
        MapFigure([], [(X0, Y0, "school")], "")
    with pytest.raises(ValueError, match="面"):
        MapFigure([(Point(X0, Y0), 0.5, "点")], [], "")
    with pytest.raises(ValueError, match="0 到 1"):
        MapFigure([(box(X0, Y0, X0 + 1, Y0 + 1), 1.5, "甲")], [], "")
    with pytest.raises(ValueError, match="经纬度"):
        map_figure_drawing(MapFigure([(box(113.8, 29.6, 114.1, 29.9), 0.5, "甲")], [], ""))
    with pytest.raises(ValueError, match="没有任何"):
        map_figure_drawing(MapFigure([], [], ""))
    with pytest.raises(ValueError, match="覆盖率"):
        DivisionRow("421281001000", "甲", 10, 12, 1.2, 0)


# --------------------------------------------------------------------------- Excel


def test_xlsx_sheets_headers_and_number_formats() -> None:
    wb = load_workbook(io.BytesIO(coverage_report_xlsx(REPORT)))
    assert wb.sheetnames == ["指标", "分区覆盖", "参数"]

    ws = wb["指标"]
    assert tuple(c.value for c in ws[1]) == INDICATOR_XLSX_HEADERS
    rows = list(ws.iter_rows(min_row=2))
    assert [r[0].value for r in rows] == [i.label for i in INDICATORS]
    beds, nursing, total, urban = rows
    assert beds[1].value == 34.25 and beds[1].number_format == "#,##0.00" and beds[2].value == "张"
    assert nursing[1].value == 0.58 and nursing[1].number_format == "0.0%"
    assert total[1].value == 2623 and total[1].number_format == "#,##0"
    assert [r[4].value for r in rows] == ["未达标", "达标", None, "达标"]
    assert beds[4].font.color.rgb.endswith("C62828") and nursing[4].font.color.rgb.endswith("1A7F37")
    assert [r[6].value for r in rows] == [i.key for i in INDICATORS]
    assert ws.freeze_panes == "B2"

    ws = wb["分区覆盖"]
    assert tuple(c.value for c in ws[1]) == DIVISION_XLSX_HEADERS
    first = [c for c in ws[2]]
    assert first[0].value == "421281001000" and first[0].number_format == "@"
    assert first[2].value == 52_000 and first[2].number_format == "#,##0"
    assert isinstance(first[4].value, float) and first[4].number_format == "0.0%"
    assert abs(first[4].value - 0.95) < 1e-9
    assert ws.cell(row=4, column=5).value is None  # no population: no share
    total = [c.value for c in ws[5]]
    assert total[0] == "合计" and total[2] == 70_000 and total[3] == 49_400 + 7_200
    assert abs(total[4] - 56_600 / 70_000) < 1e-12
    assert ws.cell(row=5, column=1).font.bold

    ws = wb["参数"]
    values = {r[0].value: r[1] for r in ws.iter_rows(min_row=2)}
    assert values["报告标题"].value == REPORT.title
    assert values["生成日期"].value.date() == date(2025, 3, 1)
    assert values["生成日期"].number_format == "yyyy-mm-dd"
    assert values["数据性质"].value == "合成演示数据"
    assert values["服务半径"].value == "1000 米"
    assert values["说明 2"].value == SYNTHETIC_NOTE


def test_xlsx_with_no_divisions_or_indicators() -> None:
    report = replace(REPORT, indicators=(), divisions=(), map=None, synthetic=False, notes=())
    wb = load_workbook(io.BytesIO(coverage_report_xlsx(report)))
    assert wb["指标"].max_row == 1
    assert [c.value for c in wb["分区覆盖"][2]][:2] == ["合计", "0 个分区"]
    values = {r[0].value: r[1].value for r in wb["参数"].iter_rows(min_row=2)}
    assert values["数据性质"] == "正式数据" and not any(str(k).startswith("说明") for k in values)
    assert coverage_report_pdf(report).startswith(b"%PDF")

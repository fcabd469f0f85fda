"""Tests for geo_mz.boundaries.documents (pure: no Django, no database).

PDF text is read with ``pdftotext`` and images are listed with ``pdfimages`` (poppler-utils);
photos are generated with Pillow.
"""

from __future__ import annotations

import io
import subprocess
from dataclasses import replace
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from PIL import Image

from geo_mz.boundaries.documents import (
    ACTION_LABELS,
    CONDITION_LABELS,
    FINDINGS_SHEET,
    FINDINGS_XLSX_HEADERS,
    MARKER_XLSX_HEADERS,
    PHOTO_UNREADABLE,
    SUMMARY_ITEMS,
    InspectionReport,
    MarkerFindingRow,
    MarkerRow,
    Party,
    SegmentFindingRow,
    findings_template_xlsx,
    inspection_report_pdf,
    marker_table_xlsx,
    summary_counts,
)
from tests.pure.pdf_text import assert_cjk_font_embedded

DEFINITIONS = (
    ("完好", "界桩完整、稳固，注记清晰，位置与登记一致"),
    ("损坏", "桩体破损、断裂或注记不清，但仍在原位"),
    ("移位", "桩体完整，但实测位置偏离登记位置超过0.5米"),
    ("丢失", "原位置找不到界桩，须附现场照片"),
)
JIAYU = Party(
    division_name="嘉鱼县",
    lead=True,
    participants=("张三 嘉鱼县民政局副局长", "李四 嘉鱼县区划地名股股长"),
    confirmed_by="张三",
    confirmed_at=datetime(2023, 10, 12, 14, 30),
)
CHIBI = Party(
    division_name="赤壁市",
    lead=False,
    participants=("王五 赤壁市民政局副局长",),
    confirmed_by=None,
    confirmed_at=None,
)
FINDINGS = (
    MarkerFindingRow("421221-421281-001Q", "完好", True, 0.05, "描红", "注记褪色，已描红"),
    MarkerFindingRow("421221-421281-002Q", "损坏", False, 0.12, "维修", "桩顶破损 <A&B>"),
    MarkerFindingRow("421221-421281-003A", "移位", False, 1.8, "重新埋设", "修路时被推移"),
    MarkerFindingRow("421221-421281-003B", "丢失", False, None, "上报待处理", "原位置已成水塘"),
    MarkerFindingRow("421221-421281-004Q", "完好", False, 0.02, "无", ""),
)
SEGMENTS = (
    SegmentFindingRow("001Q–002Q", "新修乡村公路一条", True, "无", "无", "无需处理"),
    SegmentFindingRow(
        "003A–004Q", "水塘扩建", False, "赤壁市一侧建养殖场", "双方对塘埂归属有分歧", "待双方协商"
    ),
)
REPORT = InspectionReport(
    line_name="嘉鱼赤壁线",
    line_code="421221-421281",
    line_length_km=35.25,
    agreement="《嘉鱼县与赤壁市行政区域界线协议书》（2002年5月1日）",
    round_year=2023,
    kind_label="定期联检",
    reason="",
    start_date=date(2023, 10, 10),
    end_date=date(2023, 10, 12),
    parties=(JIAYU, CHIBI),
    markers=FINDINGS,
    segments=SEGMENTS,
    conclusion="嘉鱼赤壁线界线清楚，界桩总体完好。\n双方同意共同维护界线稳定。",
    record_no="联检-2023-003",
    status_label="待确认",
    condition_definitions=DEFINITIONS,
    peace_agreement="嘉鱼赤壁线平安边界协议（2023）",
    filed_on=date(2023, 11, 1),
    filed_with="咸宁市民政局",
)
FINDINGS_HEADER = "序号界桩编号状况描红偏移(米)处理措施照片备注"


# --------------------------------------------------------------------------- helpers


def _pdftotext(pdf: bytes, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-layout", *pages, "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode("utf-8")


def _flat(pdf: bytes, page: int | None = None) -> str:
    return "".join(_pdftotext(pdf, page).split())


def _page_count(pdf: bytes) -> int:
    result = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    line = next(x for x in result.stdout.decode().splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])


def _images(pdf: bytes) -> list[list[str]]:
    """``pdfimages -list`` rows (page, num, type, width, height, ...) of every image drawn."""
    result = subprocess.run(["pdfimages", "-list", "-"], input=pdf, capture_output=True, check=True)
    return [line.split() for line in result.stdout.decode().splitlines()[2:] if line.strip()]


def _png(size: tuple[int, int] = (400, 300), mode: str = "RGB", color: object = (180, 40, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, "PNG")
    return buf.getvalue()


def _jpeg(size: tuple[int, int] = (3000, 2000)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (30, 120, 60)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _many(n: int) -> tuple[MarkerFindingRow, ...]:
    return tuple(
        MarkerFindingRow(
            f"421221-421281-{i:03d}Q", CONDITION_LABELS[i % 4], i % 3 == 0, 0.1, "无", "检查" * (i % 6)
        )
        for i in range(1, n + 1)
    )


# --------------------------------------------------------------------------- summary counts


def test_given_findings_when_summary_counts_then_each_condition_and_action_counted() -> None:
    counts = summary_counts(FINDINGS)

    assert list(counts) == [key for key, _label in SUMMARY_ITEMS]
    assert counts == {
        "checked": 5,
        "intact": 2,
        "damaged": 1,
        "moved": 1,
        "lost": 1,
        "repainted": 1,
        "repaired": 1,
        "reset": 1,
        "reported": 1,
    }


def test_given_codes_flag_and_unknown_values_when_summary_counts_then_tolerant() -> None:
    rows = [
        MarkerFindingRow("1", "lost", False, None, "reset", ""),
        MarkerFindingRow("2", " 完好 ", False, None, "描红", ""),  # action 描红 counts as repainted
        MarkerFindingRow("3", "完好", True, None, "描红", ""),  # flag and action: counted once
        MarkerFindingRow("4", "未知", False, None, "", ""),
    ]

    counts = summary_counts(iter(rows))

    assert counts["checked"] == 4
    assert (counts["intact"], counts["lost"], counts["damaged"]) == (2, 1, 0)
    assert (counts["repainted"], counts["reset"]) == (2, 1)
    assert summary_counts([]) == dict.fromkeys(counts, 0)


# --------------------------------------------------------------------------- inspection report PDF


def test_given_report_when_rendered_then_header_parties_findings_and_legend_in_text() -> None:
    pdf = inspection_report_pdf(REPORT)
    flat = _flat(pdf)

    assert pdf.startswith(b"%PDF-")
    assert_cjk_font_embedded(pdf)
    for value in (
        "嘉鱼赤壁线联合检查报告",
        "2023年度定期联检",
        "界线编号421221-421281",
        "35.25千米",
        "《嘉鱼县与赤壁市行政区域界线协议书》",  # the cell wraps: check both parts
        "（2002年5月1日）",
        "2023年10月10日至2023年10月12日",
        "记录编号联检-2023-003",
        "记录状态待确认",
        "嘉鱼县（牵头方）",
        "赤壁市",
        "张三嘉鱼县民政局副局长王五赤壁市民政局副局长",  # the two sides side by side
        "李四嘉鱼县区划地名股股长",
        FINDINGS_HEADER,
        "1421221-421281-001Q完好是0.05描红注记褪色，已描红",
        "2421221-421281-002Q损坏否0.12维修桩顶破损<A&B>",
        "4421221-421281-003B丢失否上报待处理原位置已成水塘",
        "检查界桩完好损坏移位丢失描红维修重新埋设上报待处理521111111",
        "本次共检查界桩5颗，其中完好2颗、损坏1颗、移位1颗、丢失1颗",
        "1001Q–002Q新修乡村公路一条是无无无需处理",
        "2003A–004Q水塘扩建否赤壁市一侧建养殖场",
        "嘉鱼赤壁线界线清楚，界桩总体完好。",
        "双方同意共同维护界线稳定。",
        "平安边界协议：嘉鱼赤壁线平安边界协议（2023）",
        "备案：咸宁市民政局，2023年11月1日",
        "第1页共",
        "七、双方确认",
    ):
        assert value in flat, value
    for label, definition in DEFINITIONS:
        assert label + definition in flat, definition
    assert "本记录更正" not in flat
    assert "检查原因" not in flat
    pages = _page_count(pdf)
    assert f"第{pages}页共{pages}页" in flat


def test_given_one_side_confirmed_when_rendered_then_signature_block_shows_who_when_and_pending() -> None:
    flat = _flat(inspection_report_pdf(REPORT))

    assert "甲方：嘉鱼县（牵头方）乙方：赤壁市" in flat
    assert "确认人：张三确认人：待确认" in flat
    assert "确认时间：2023年10月12日14:30确认时间：待确认" in flat
    assert "签字（盖章）：签字（盖章）：" in flat


def test_given_correction_of_ad_hoc_check_when_rendered_then_note_reason_and_open_dates() -> None:
    report = replace(
        REPORT,
        kind_label="专项检查",
        reason="2024年7月特大洪水后检查",
        end_date=None,
        supersedes="联检-2023-001",
        parties=(replace(JIAYU, confirmed_by=None, confirmed_at=None), CHIBI),
        peace_agreement="",
        filed_on=None,
        filed_with="",
    )

    flat = _flat(inspection_report_pdf(report))

    assert "本记录更正联检-2023-001" in flat
    assert "检查原因2024年7月特大洪水后检查" in flat
    assert "2023年10月10日起" in flat
    assert "确认人：待确认确认人：待确认" in flat
    assert "平安边界协议" not in flat
    assert "备案" not in flat


def test_given_lost_marker_without_photo_when_rendered_then_missing_evidence_noted() -> None:
    flat = _flat(inspection_report_pdf(REPORT))

    assert "注：以下丢失界桩缺少照片证据：421221-421281-003B" in flat


def test_given_no_markers_segments_or_definitions_when_rendered_then_sections_say_so() -> None:
    report = replace(REPORT, markers=(), segments=(), condition_definitions=(), conclusion="")

    flat = _flat(inspection_report_pdf(report))

    assert "本次未检查界桩。" in flat
    assert "本次未记录界线段检查情况。" in flat
    assert "界桩状况说明" not in flat
    assert "五、检查结论" in flat and "六、双方确认" in flat  # sections renumbered without gaps
    assert "（未填写）" in flat
    assert "检查界桩完好损坏移位丢失描红维修重新埋设上报待处理000000000" in flat


def test_given_120_markers_when_rendered_then_paginates_with_findings_header_on_every_page() -> None:
    markers = _many(120)
    pdf = inspection_report_pdf(replace(REPORT, markers=markers))
    pages = _page_count(pdf)

    assert pages > 2
    pages_with_rows = [p for p in range(1, pages + 1) if "421221-421281-" in _flat(pdf, p)]
    assert len(pages_with_rows) >= 3
    for page in pages_with_rows:
        assert FINDINGS_HEADER in _flat(pdf, page), page
        assert f"第{page}页共{pages}页" in _flat(pdf, page)
    flat = _flat(pdf)
    assert "120421221-421281-120Q" in flat
    assert "检查界桩完好损坏移位丢失描红维修重新埋设上报待处理120303030" in flat


def test_given_very_long_note_when_rendered_then_row_splits_instead_of_failing() -> None:
    long = replace(FINDINGS[1], note="桩体破损情况说明" * 600)

    pdf = inspection_report_pdf(replace(REPORT, markers=(long,)))

    assert _page_count(pdf) >= 3
    assert "421221-421281-002Q" in _flat(pdf)


def test_given_photos_when_rendered_then_appendix_has_scaled_captioned_images() -> None:
    with_photos = (
        replace(FINDINGS[1], photos=(_png(),)),
        replace(FINDINGS[3], photos=(_jpeg(), _png((300, 300), "RGBA", (0, 0, 255, 128)))),
    )
    report = replace(REPORT, markers=(*with_photos, FINDINGS[0]))

    pdf = inspection_report_pdf(report, compress=False)
    flat = _flat(pdf)
    images = _images(pdf)

    assert b"/Subtype /Image" in pdf
    assert len(images) == 3
    assert all(row[0] == str(_page_count(pdf)) for row in images)  # appendix on the last page
    assert {(row[3], row[4]) for row in images} == {("400", "300"), ("1200", "800"), ("300", "300")}
    assert all(row[8] == "jpeg" for row in images)
    assert "附件：界桩照片" in flat
    assert "421221-421281-002Q损坏" in flat
    assert "421221-421281-003B丢失（1/2）" in flat
    assert "421221-421281-003B丢失（2/2）" in flat
    assert "缺少照片证据" not in flat
    assert PHOTO_UNREADABLE not in flat


def test_given_invalid_photo_bytes_when_rendered_then_caption_instead_of_crash() -> None:
    broken = replace(FINDINGS[3], photos=(b"not an image", _png()[:40]))

    pdf = inspection_report_pdf(replace(REPORT, markers=(broken,)), compress=False)
    flat = _flat(pdf)

    assert b"/Subtype /Image" not in pdf
    assert _images(pdf) == []
    assert "421221-421281-003B丢失（1/2）" in flat
    assert "421221-421281-003B丢失（2/2）" in flat
    assert flat.count(PHOTO_UNREADABLE) == 2


def test_given_no_photos_when_rendered_then_no_appendix() -> None:
    pdf = inspection_report_pdf(REPORT, compress=False)

    assert b"/Subtype /Image" not in pdf
    assert "附件" not in _flat(pdf)


def test_given_invariant_when_report_rendered_twice_then_identical_bytes() -> None:
    report = replace(
        REPORT, markers=(replace(FINDINGS[0], photos=(_png(), _jpeg((800, 600)))), *FINDINGS[1:])
    )

    assert inspection_report_pdf(report, invariant=True) == inspection_report_pdf(report, invariant=True)
    uncompressed = inspection_report_pdf(report, invariant=True, compress=False)
    assert uncompressed == inspection_report_pdf(report, invariant=True, compress=False)
    assert uncompressed != inspection_report_pdf(report, invariant=True)


# --------------------------------------------------------------------------- marker table Excel

MARKER = MarkerRow(
    number="421221-421281-001Q",
    kind_label="单立",
    material="花岗岩",
    x_northing=3301234.5678,
    y_easting=38512345.1234,
    lon=113.9012345678,
    lat=29.7234567891,
    elevation_m=45.678,
    location="赤壁市新店镇石坡村与嘉鱼县官桥镇交界处山脊",
    responsible="赤壁市",
    bearings=(("高压电塔", 45.5, 120.25), ("水塔", 310.0, 85.5)),
)
BARE = MarkerRow("421221-421281-002A", "同号双立", "混凝土", None, None, None, None, None, "", "嘉鱼县")


def test_given_markers_when_marker_table_xlsx_then_headers_values_and_number_formats() -> None:
    wb = load_workbook(io.BytesIO(marker_table_xlsx("嘉鱼赤壁线", [MARKER, BARE])))
    ws = wb.active

    assert ws.title == "嘉鱼赤壁线界桩成果表"
    assert wb.properties.title == "嘉鱼赤壁线界桩成果表"
    assert MARKER_XLSX_HEADERS[:10] == (
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
    )
    assert MARKER_XLSX_HEADERS[10:13] == ("方位物名称1", "方位角1", "距离1")
    assert MARKER_XLSX_HEADERS[-1] == "距离3"
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == MARKER_XLSX_HEADERS
    assert all(cell.font.bold for cell in ws[1])
    assert ws.freeze_panes == "B2"
    assert ws.auto_filter.ref == "A1:S3"
    first = dict(zip(MARKER_XLSX_HEADERS, rows[1], strict=True))
    assert first["界桩编号"] == "421221-421281-001Q"
    assert (first["类型"], first["材质"], first["负责方"]) == ("单立", "花岗岩", "赤壁市")
    assert first["X(北坐标)"] == pytest.approx(3301234.5678)
    assert first["Y(东坐标)"] == pytest.approx(38512345.1234)
    assert first["经度"] == pytest.approx(113.9012345678)
    assert first["高程"] == pytest.approx(45.678)
    assert (first["方位物名称1"], first["方位角1"], first["距离1"]) == ("高压电塔", 45.5, 120.25)
    assert (first["方位物名称2"], first["方位角2"], first["距离2"]) == ("水塔", 310.0, 85.5)
    assert (first["方位物名称3"], first["方位角3"], first["距离3"]) == (None, None, None)
    second = dict(zip(MARKER_XLSX_HEADERS, rows[2], strict=True))
    assert second["X(北坐标)"] is None and second["经度"] is None and second["高程"] is None

    def fmt(header: str) -> str:
        return ws.cell(row=2, column=MARKER_XLSX_HEADERS.index(header) + 1).number_format

    assert fmt("X(北坐标)") == fmt("Y(东坐标)") == "0.000"  # millimetres
    assert fmt("经度") == fmt("纬度") == "0.0000000"  # 1e-7 degree
    assert fmt("高程") == fmt("距离1") == "0.00"
    assert fmt("方位角1") == "0.0"
    assert fmt("界桩编号") == "@"
    assert ws.column_dimensions["I"].width > ws.column_dimensions["B"].width  # 位置描述 wider than 类型


def test_given_custom_title_and_no_rows_when_marker_table_xlsx_then_header_only() -> None:
    wb = load_workbook(io.BytesIO(marker_table_xlsx("鄂湘线", [], title="界桩登记表/2023")))

    assert wb.active.title == "鄂湘线界桩登记表_2023"
    assert list(wb.active.iter_rows(values_only=True)) == [MARKER_XLSX_HEADERS]


# --------------------------------------------------------------------------- findings template Excel

NUMBERS = ["421221-421281-001Q", "421221-421281-002Q", "421221-421281-003A", "421221-421281-003B"]


def test_given_numbers_when_findings_template_then_prefilled_rows_and_headers() -> None:
    wb = load_workbook(io.BytesIO(findings_template_xlsx("嘉鱼赤壁线", NUMBERS, definitions=DEFINITIONS)))
    ws = wb[FINDINGS_SHEET]

    assert wb.sheetnames == [FINDINGS_SHEET, "说明"]
    assert FINDINGS_XLSX_HEADERS == ("界桩编号", "状况", "描红", "实测经度", "实测纬度", "处理措施", "备注")
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == FINDINGS_XLSX_HEADERS
    assert [r[0] for r in rows[1:]] == NUMBERS
    assert all(v is None for r in rows[1:] for v in r[1:])
    assert ws.freeze_panes == "B2"
    assert ws["D2"].number_format == ws["E5"].number_format == "0.0000000"


def test_given_findings_template_when_opened_then_data_validations_cover_rows() -> None:
    ws = load_workbook(io.BytesIO(findings_template_xlsx("嘉鱼赤壁线", NUMBERS)))[FINDINGS_SHEET]

    by_range = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    assert set(by_range) == {"B2:B5", "C2:C5", "D2:D5", "E2:E5", "F2:F5"}
    assert by_range["B2:B5"].type == "list"
    assert by_range["B2:B5"].formula1 == '"完好,损坏,移位,丢失"'
    assert by_range["C2:C5"].formula1 == '"是,否"'
    assert by_range["F2:F5"].formula1 == '"' + ",".join(ACTION_LABELS) + '"'
    assert ACTION_LABELS == ("无", "描红", "维修", "重新埋设", "上报待处理")
    assert (by_range["D2:D5"].type, by_range["D2:D5"].formula1, by_range["D2:D5"].formula2) == (
        "decimal",
        "73",
        "136",
    )
    assert (by_range["E2:E5"].formula1, by_range["E2:E5"].formula2) == ("3", "54")
    assert all(dv.showErrorMessage for dv in by_range.values())


def test_given_definitions_when_findings_template_then_instructions_sheet_lists_them() -> None:
    wb = load_workbook(io.BytesIO(findings_template_xlsx("嘉鱼赤壁线", NUMBERS, definitions=DEFINITIONS)))
    rows = [r for r in wb["说明"].iter_rows(values_only=True) if any(r)]

    assert rows[0] == ("界线", "嘉鱼赤壁线")
    assert ("界桩数量", "4") in rows
    assert ("状况", "定义") in rows
    for definition in DEFINITIONS:
        assert definition in rows
    assert any("丢失的界桩须附照片" in (r[1] or "") for r in rows)


def test_given_no_numbers_when_findings_template_then_header_and_one_validated_row() -> None:
    wb = load_workbook(io.BytesIO(findings_template_xlsx("嘉鱼赤壁线", [])))
    ws = wb[FINDINGS_SHEET]

    assert list(ws.iter_rows(values_only=True)) == [FINDINGS_XLSX_HEADERS]
    assert "B2" in {str(dv.sqref) for dv in ws.data_validations.dataValidation}
    assert not any(r[0] == "状况" and r[1] == "定义" for r in wb["说明"].iter_rows(values_only=True))

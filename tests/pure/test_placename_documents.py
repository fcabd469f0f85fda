"""Tests for geo_mz.placenames.documents (pure: no Django, no database).

PDF text is checked two ways: :func:`tests.pure.pdf_text.pdf_strings` reads the (uncompressed,
``compress=False``) content streams through the embedded font's ToUnicode maps, one string per
drawn line, and ``pdftotext`` (poppler-utils) reads the default compressed output.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
from dataclasses import replace
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from geo_mz.placenames.documents import (
    CRS_NOTE,
    GAZETTEER_XLSX_HEADERS,
    NATIONAL_CSV_FIELDS,
    Announcement,
    NameEntry,
    announcement_pdf,
    format_cn_date,
    gazetteer_pdf,
    gazetteer_xlsx,
    national_csv,
)
from tests.pure.pdf_text import assert_cjk_font_embedded, pdf_strings

# --------------------------------------------------------------------------- fixtures / helpers

ROAD = NameEntry(
    name="赤壁大道",
    specific="赤壁",
    generic="大道",
    romanization="Chibi Dadao",
    kind_label="道路",
    division_code="421281002",
    division_name="赤马港街道",
    location="起于赤壁大道，止于陆水河",
    meaning="以赤壁市命名",
    history="2003年建成。\n2010年拓宽。",
    approving_body="赤壁市人民政府",
    decision_number="赤政函〔2023〕12号",
    approved_on=date(2023, 6, 30),
    lon=113.90123456,
    lat=29.7234567,
    length_m=1234.5,
    width_m=40.0,
    former_names="老街,新街",
)
BRIDGE = NameEntry(
    name="陆水桥",
    specific="陆水",
    generic="桥",
    romanization="Lushui Qiao",
    kind_label="桥梁",
    division_code="421281001",
    division_name="蒲圻街道",
    location="跨陆水河",
)
LANE = NameEntry(
    name="金桂巷",
    specific="金桂",
    generic="巷",
    romanization="Jingui Xiang",
    kind_label="街巷",
    division_code="421281001",
    division_name="蒲圻街道",
    location="东起金桂路，西至新华路 <A&B>",
)


def _announcement(n: int) -> Announcement:
    entries = [replace(ROAD, name=f"测试{i:03d}路", specific=f"测试{i:03d}") for i in range(1, n + 1)]
    return Announcement(
        number="赤民地公〔2023〕3号",
        title="关于赤壁市部分道路命名的公告",
        issuer="赤壁市民政局",
        issued_on=date(2023, 7, 3),
        body="根据《地名管理条例》，经赤壁市人民政府批准，现将部分道路名称公告如下：",
        entries=entries,
    )


def _page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


def _pdf_strings(pdf: bytes) -> list[str]:
    """Drawn strings of an uncompressed PDF (see :func:`tests.pure.pdf_text.pdf_strings`)."""
    return pdf_strings(pdf)


def _pdftotext(pdf: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


# --------------------------------------------------------------------------- format_cn_date


def test_given_dates_when_formatted_cn_then_no_zero_padding_and_empty_for_none() -> None:
    assert format_cn_date(date(2023, 6, 30)) == "2023年6月30日"
    assert format_cn_date(date(2024, 1, 5)) == "2024年1月5日"
    assert format_cn_date(None) == ""


# --------------------------------------------------------------------------- announcement PDF


def test_given_one_entry_when_announcement_pdf_then_single_a4_page_with_embedded_cjk_font() -> None:
    pdf = announcement_pdf(_announcement(1))

    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert b"STSong-Light" not in pdf  # a referenced CID font renders empty without Adobe-GB1 CMaps
    assert_cjk_font_embedded(pdf)
    assert re.search(rb"/MediaBox \[ 0 0 595\.27\d+ 841\.88\d+ \]", pdf)
    assert _page_count(pdf) == 1


def test_given_one_entry_when_announcement_pdf_then_text_layer_has_all_parts() -> None:
    strings = _pdf_strings(announcement_pdf(_announcement(1), compress=False))
    text = "\n".join(strings)

    assert "关于赤壁市部分道路命名的公告" in strings
    assert "赤民地公〔2023〕3号" in strings
    assert "根据《地名管理条例》" in "".join(strings)
    for header in (
        "序号",
        "标准名称",
        "汉语拼音",
        "所属行政区",
        "位置描述",
        "批准机关",
        "批准日期",
        "批准文号",
    ):
        assert header in strings
    for value in ("测试001路", "Chibi Dadao", "赤马港街道", "赤壁市人民政府", "2023年6月30日"):
        assert value in text
    assert strings[-3:] == ["赤壁市民政局", "2023年7月3日", "第 1 页 共 1 页"]


def test_given_200_entries_when_announcement_pdf_then_pages_numbered_and_header_repeated() -> None:
    pdf = announcement_pdf(_announcement(200), compress=False)
    strings = _pdf_strings(pdf)
    pages = _page_count(pdf)

    assert pages >= 5
    footers = [s for s in strings if s.startswith("第 ") and s.endswith(" 页")]
    assert footers == [f"第 {n} 页 共 {pages} 页" for n in range(1, pages + 1)]
    # the table runs onto the last page, so its header row is drawn on every page
    assert strings.count("序号") == pages
    assert strings.count("批准文号") == pages
    names = [s for s in strings if re.fullmatch(r"测试\d{3}路", s)]
    assert names == [f"测试{i:03d}路" for i in range(1, 201)]
    assert strings.index("赤壁市民政局") > strings.index("测试200路")


def test_given_1_vs_200_entries_when_rendered_compressed_then_page_counts_differ() -> None:
    assert _page_count(announcement_pdf(_announcement(1))) == 1
    assert _page_count(announcement_pdf(_announcement(200))) == _page_count(
        announcement_pdf(_announcement(200), compress=False)
    )


def test_given_markup_characters_when_announcement_pdf_then_rendered_literally() -> None:
    a = replace(_announcement(0), entries=[LANE], body="第一段 <b>不是标签</b> & 符号\n\n第二段")
    text = "".join(_pdf_strings(announcement_pdf(a, compress=False)))

    assert "<b>不是标签</b> & 符号" in text
    assert "第二段" in text
    assert "<A&B>" in text


def test_given_no_entries_when_announcement_pdf_then_header_only_table() -> None:
    strings = _pdf_strings(announcement_pdf(_announcement(0), compress=False))

    assert "序号" in strings
    assert strings[-1] == "第 1 页 共 1 页"


def test_given_long_cell_text_when_announcement_pdf_then_cell_wraps_within_page() -> None:
    long_location = "起于陆水河北岸码头，向东经过金桂路、新华路、沿河大道，止于火车站站前广场南侧出入口" * 2
    a = replace(_announcement(0), entries=[replace(ROAD, location=long_location)])
    strings = _pdf_strings(announcement_pdf(a, compress=False))

    location_lines = [s for s in strings if s and s in long_location]
    assert len(location_lines) > 3  # wrapped over several lines in the narrow column
    assert "".join(location_lines) == long_location


def test_given_compressed_announcement_when_pdftotext_then_chinese_text_extracted() -> None:
    text = _pdftotext(announcement_pdf(_announcement(30)))

    assert "关于赤壁市部分道路命名的公告" in text
    assert "赤民地公〔2023〕3号" in text
    assert "测试030路" in text
    assert "赤壁市民政局" in text
    assert "2023年7月3日" in text
    assert re.search(r"第\s*1\s*页\s*共\s*\d+\s*页", text)


def test_given_same_input_when_rendered_invariant_then_identical_bytes() -> None:
    a = _announcement(40)
    assert announcement_pdf(a, invariant=True) == announcement_pdf(a, invariant=True)
    assert gazetteer_pdf([ROAD, BRIDGE], invariant=True) == gazetteer_pdf([ROAD, BRIDGE], invariant=True)


def test_given_invariant_when_announcement_pdf_then_fixed_dates_and_metadata() -> None:
    pdf = announcement_pdf(_announcement(1), compress=False, invariant=True)

    assert b"/Title" in pdf and b"/Author" in pdf and b"/Subject" in pdf
    assert b"D:20000101000000" in pdf  # reportlab's invariant creation date


# --------------------------------------------------------------------------- gazetteer PDF


def test_given_mixed_kinds_when_gazetteer_pdf_then_grouped_by_kind_then_division_code() -> None:
    road2 = replace(ROAD, name="蒲圻路", division_code="421281001", division_name="蒲圻街道")
    entries = [ROAD, BRIDGE, road2, LANE]
    strings = _pdf_strings(gazetteer_pdf(entries, subtitle="赤壁市 2023", compress=False))
    text = "\n".join(strings)

    assert strings[:2] == ["标准地名录", "赤壁市 2023"]
    assert "共收录地名 4 条" in text and CRS_NOTE in text
    # kinds in first-appearance order; within 道路 the division with the lower code comes first
    order = [
        text.index("道路\n"),
        text.index("蒲圻街道（421281001）\n蒲圻路"),
        text.index("赤马港街道（421281002）\n赤壁大道"),
        text.index("桥梁\n"),
        text.index("陆水桥"),
        text.index("街巷\n"),
        text.index("金桂巷"),
    ]
    assert order == sorted(order)


def test_given_full_entry_when_gazetteer_pdf_then_block_has_all_fields() -> None:
    strings = _pdf_strings(gazetteer_pdf([ROAD], compress=False))
    text = "\n".join(strings)

    assert "Chibi Dadao" in text
    for expected in (
        "所属行政区：赤马港街道（421281002）",
        "位置描述：起于赤壁大道，止于陆水河",
        "规模：长 1234.5 米，宽 40 米",
        "坐标：东经 113.901235°，北纬 29.723457°",
        "含义：以赤壁市命名",
        "历史沿革：2003年建成。\n2010年拓宽。",
        "曾用名：老街,新街",
        "批准：赤壁市人民政府，赤政函〔2023〕12号，2023年6月30日",
    ):
        assert expected in text
    assert strings[-1] == "第 1 页 共 1 页"


def test_given_sparse_entry_when_gazetteer_pdf_then_empty_fields_left_out() -> None:
    text = "\n".join(_pdf_strings(gazetteer_pdf([BRIDGE], compress=False)))

    assert "位置描述：跨陆水河" in text
    for label in ("规模：", "坐标：", "含义：", "历史沿革：", "曾用名：", "批准："):
        assert label not in text


def test_given_many_entries_when_gazetteer_pdf_then_multiple_numbered_pages() -> None:
    entries = [replace(ROAD, name=f"道路{i}") for i in range(60)]
    pdf = gazetteer_pdf(entries, compress=False)
    pages = _page_count(pdf)

    assert pages > 1
    assert f"第 {pages} 页 共 {pages} 页" in _pdf_strings(pdf)


# --------------------------------------------------------------------------- gazetteer Excel


def test_given_entries_when_gazetteer_xlsx_then_header_types_and_layout() -> None:
    data = gazetteer_xlsx([ROAD, BRIDGE, LANE], title="赤壁市标准地名录")
    wb = load_workbook(io.BytesIO(data))

    assert wb.sheetnames == ["标准地名录", "说明"]
    ws = wb["标准地名录"]
    header = tuple(c.value for c in ws[1])
    assert header == GAZETTEER_XLSX_HEADERS
    assert header == (
        "标准名称", "汉语拼音", "类别", "专名", "通名", "所属行政区划代码", "所属行政区", "位置描述", "含义",
        "历史沿革", "曾用名", "批准机关", "批准文号", "批准日期", "经度", "纬度", "长度(米)", "宽度(米)",
    )  # fmt: skip
    assert ws.max_row == 4
    assert ws.freeze_panes == "B2"
    assert ws.auto_filter.ref == "A1:R4"

    col = {h: i for i, h in enumerate(header, start=1)}
    road = {h: ws.cell(row=2, column=i) for h, i in col.items()}
    assert road["标准名称"].value == "赤壁大道"
    assert isinstance(road["批准日期"].value, datetime)
    assert road["批准日期"].value.date() == date(2023, 6, 30)
    assert road["批准日期"].is_date
    assert isinstance(road["经度"].value, float) and road["经度"].value == pytest.approx(113.90123456)
    assert isinstance(road["纬度"].value, float)
    assert road["长度(米)"].value == 1234.5 and isinstance(road["宽度(米)"].value, (int, float))
    assert road["所属行政区划代码"].value == "421281002"  # text, not a number
    assert road["历史沿革"].value == "2003年建成。\n2010年拓宽。"
    assert road["历史沿革"].alignment.wrap_text

    bridge = {h: ws.cell(row=3, column=i).value for h, i in col.items()}
    assert bridge["批准日期"] is None and bridge["经度"] is None and bridge["长度(米)"] is None

    for letter in ("A", "H", "R"):
        assert ws.column_dimensions[letter].width >= 8
    assert ws.column_dimensions["H"].width > ws.column_dimensions["E"].width


def test_given_entries_when_gazetteer_xlsx_then_notes_sheet_has_title_count_and_crs() -> None:
    wb = load_workbook(io.BytesIO(gazetteer_xlsx([ROAD, BRIDGE, LANE], title="赤壁市标准地名录")))
    notes = {row[0]: row[1] for row in wb["说明"].iter_rows(values_only=True)}

    assert notes["标题"] == "赤壁市标准地名录"
    assert notes["地名数量"] == 3
    assert notes["坐标系"] == "经纬度：CGCS2000 (EPSG:4490)"
    assert notes["其中：道路"] == 1 and notes["其中：桥梁"] == 1 and notes["其中：街巷"] == 1
    assert notes["长度、宽度单位"] == "米"


def test_given_no_entries_when_gazetteer_xlsx_then_header_only() -> None:
    wb = load_workbook(io.BytesIO(gazetteer_xlsx([])))
    ws = wb["标准地名录"]

    assert ws.max_row == 1
    assert ws.auto_filter.ref == "A1:R1"
    assert {row[0]: row[1] for row in wb["说明"].iter_rows(values_only=True)}["地名数量"] == 0


# --------------------------------------------------------------------------- national CSV


def test_national_csv_fields_are_in_the_national_order() -> None:
    assert NATIONAL_CSV_FIELDS == (
        "标准名称", "专名", "通名", "罗马字母拼写", "地名类别", "所属行政区划代码", "所属行政区划", "东经", "北纬",
        "位置描述", "含义", "历史沿革", "曾用名", "批准时间", "批准文号", "批准机关", "长度(米)", "宽度(米)",
    )  # fmt: skip


def test_given_entries_when_national_csv_then_bom_header_and_formatted_values() -> None:
    data = national_csv([ROAD, BRIDGE])

    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert tuple(rows[0]) == NATIONAL_CSV_FIELDS
    assert len(rows) == 3
    road = dict(zip(NATIONAL_CSV_FIELDS, rows[1], strict=True))
    assert road == {
        "标准名称": "赤壁大道",
        "专名": "赤壁",
        "通名": "大道",
        "罗马字母拼写": "Chibi Dadao",
        "地名类别": "道路",
        "所属行政区划代码": "421281002",
        "所属行政区划": "赤马港街道",
        "东经": "113.901235",
        "北纬": "29.723457",
        "位置描述": "起于赤壁大道，止于陆水河",
        "含义": "以赤壁市命名",
        "历史沿革": "2003年建成。\n2010年拓宽。",
        "曾用名": "老街,新街",
        "批准时间": "2023-06-30",
        "批准文号": "赤政函〔2023〕12号",
        "批准机关": "赤壁市人民政府",
        "长度(米)": "1234.5",
        "宽度(米)": "40",
    }
    bridge = dict(zip(NATIONAL_CSV_FIELDS, rows[2], strict=True))
    assert bridge["东经"] == bridge["北纬"] == bridge["批准时间"] == bridge["长度(米)"] == ""
    assert data.count(b"\r\n") == 3  # CRLF row ends; the quoted 历史沿革 keeps its own "\n"


def test_given_gbk_when_national_csv_then_round_trips_without_bom() -> None:
    entries = [ROAD, BRIDGE, replace(LANE, romanization="Jīnguì Xiàng")]
    data = national_csv(entries, encoding="gbk")

    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.decode("gbk") == national_csv(entries).decode("utf-8-sig")


def test_given_char_outside_gbk_when_national_csv_gbk_then_value_error_names_entry_and_char() -> None:
    rare = replace(BRIDGE, name="陆水桥", history="旧称𬌗口桥")

    with pytest.raises(ValueError) as excinfo:
        national_csv([ROAD, rare], encoding="gbk")

    message = str(excinfo.value)
    assert "陆水桥" in message
    assert "𬌗" in message and "U+2C317" in message
    assert "历史沿革" in message and "第 2 条" in message
    assert national_csv([ROAD, rare]).decode("utf-8-sig").count("𬌗") == 1  # fine in UTF-8

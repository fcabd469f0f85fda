"""Tests for geo_mz.addresses.documents (pure: no Django, no database).

PDF text is read with ``pdftotext`` and pages are rendered with ``pdftoppm`` (poppler-utils).
The QR code is checked for real: the rendered page is searched for the QR symbol, each module is
sampled at its centre and the result is compared with the symbol the ``qrcode`` package builds
for the expected URL. The two encoders may choose different (equally valid) mask patterns, so the
reference is built for all eight masks and one of them must match every module.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import qrcode
from openpyxl import load_workbook
from PIL import Image
from scipy import ndimage

from geo_mz.addresses.documents import (
    ADDRESS_XLSX_HEADERS,
    CERTIFICATE_XLSX_HEADERS,
    QR_CAPTION,
    AddressProof,
    Certificate,
    address_proof_pdf,
    addresses_xlsx,
    certificate_fields,
    certificate_pdf,
    certificates_register_xlsx,
)
from tests.pure.pdf_text import assert_cjk_font_embedded

ROOT = Path(__file__).resolve().parents[2]

CERT = Certificate(
    serial="421281-2026-000123",
    owner="张三丰",
    county="赤壁市",
    township="赤马港街道",
    address="赤壁市赤马港街道人民路15号之一",
    issued_on=date(2026, 3, 5),
    issuing_office="赤壁市民政局",
    verify_url="https://mz.chibi.gov.cn/v/421281-2026-000123?k=9f3a7c",
    road="人民路",
    number_label="15号之一",
    compound="金鸾花园",
    building="3",
    unit="2",
    room="301",
    previous_address="人民路旧15号",
    previous_source="房产证",
    lon=113.90123456,
    lat=29.7234567,
)
RURAL_CERT = Certificate(
    serial="421281-2026-000124",
    owner="赤壁市石坡茶叶专业合作社",
    county="赤壁市",
    township="新店镇",
    address="赤壁市新店镇石坡村3组15号",
    issued_on=date(2026, 3, 6),
    issuing_office="赤壁市民政局",
    verify_url="https://mz.chibi.gov.cn/v/421281-2026-000124?k=0b1c2d",
    number_label="15号",
    village="石坡村",
    group="3组",
    status_note="补发",
)
PROOF = AddressProof(
    serial="赤民址证〔2026〕12号",
    holder="张三丰",
    address="赤壁市赤马港街道人民路15号之一",
    standard_since=date(2020, 5, 1),
    previous_addresses=(
        ("人民路旧15号", date(1998, 1, 1), date(2020, 4, 30)),
        ("蒲圻镇东风街8号", None, date(1997, 12, 31)),
    ),
    purpose="办理营业执照",
    issued_on=date(2026, 3, 5),
    issuing_office="赤壁市民政局",
    verify_url="https://mz.chibi.gov.cn/v/proof/2026-0012",
)

# --------------------------------------------------------------------------- helpers


def _pdftotext(pdf: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


def _page_count(pdf: bytes) -> int:
    result = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    line = next(x for x in result.stdout.decode().splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])


def _dark_pixels(pdf: bytes) -> np.ndarray:
    """Page 1 rendered at 200 dpi as a boolean "dark" mask."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "doc.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", str(source), str(Path(tmp) / "page")],
            check=True,
        )
        (png,) = Path(tmp).glob("page*.png")
        return np.asarray(Image.open(png).convert("L")) < 128


def _qr_symbol(dark: np.ndarray) -> np.ndarray:
    """The one QR symbol on the page, cropped to its dark modules (the quiet zone isolates it)."""
    labels, _count = ndimage.label(ndimage.binary_dilation(dark, iterations=4))
    squares = []
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        height, width = box[0].stop - box[0].start, box[1].stop - box[1].start
        if height > 150 and abs(height - width) <= 8:  # ~30 mm squares; glyphs and tables are not
            squares.append(np.where(labels[box] == index, dark[box], False))
    assert len(squares) == 1, f"expected one QR symbol, found {len(squares)}"
    region = squares[0]
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    return region[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _sample_modules(symbol: np.ndarray, size: int) -> np.ndarray:
    height, width = symbol.shape
    ys = ((np.arange(size) + 0.5) * height / size).astype(int)
    xs = ((np.arange(size) + 0.5) * width / size).astype(int)
    return symbol[np.ix_(ys, xs)]


def _reference(url: str, mask: int) -> np.ndarray:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=mask)
    qr.add_data(url, optimize=0)
    qr.make(fit=True)
    return np.array(qr.get_matrix(), dtype=bool)


def _encodes(symbol: np.ndarray, url: str) -> bool:
    """Whether the sampled symbol is the QR code of ``url`` (with any of the eight masks)."""
    for mask in range(8):
        reference = _reference(url, mask)
        if np.array_equal(_sample_modules(symbol, reference.shape[0]), reference):
            return True
    return False


# --------------------------------------------------------------------------- certificate PDF


def test_given_certificate_when_rendered_then_one_a5_landscape_page() -> None:
    pdf = certificate_pdf(CERT)

    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert_cjk_font_embedded(pdf)
    assert _page_count(pdf) == 1
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert re.search(r"Page size:\s+595\.276 x 419\.528 pts", info)  # A5 landscape


def test_given_certificate_when_rendered_then_labels_and_values_are_in_the_text() -> None:
    text = _pdftotext(certificate_pdf(CERT))
    flat = "".join(text.split())

    assert "门牌证" in flat
    for label, _value in certificate_fields(CERT):
        assert label in flat
    for value in (
        "421281-2026-000123",
        "张三丰",
        "赤马港街道",
        "赤壁市赤马港街道人民路15号之一",
        "金鸾花园3幢2单元301室",
        "人民路旧15号（房产证）",
        "东经113.901235°，北纬29.723457°",
        "2026年3月5日",
        "赤壁市民政局",
        QR_CAPTION,
        CERT.verify_url,
    ):
        assert value in flat, value


def test_given_certificate_fields_when_listed_then_dossier_order_and_derived_values() -> None:
    fields = dict(certificate_fields(CERT))

    assert list(fields)[:6] == [
        "证号",
        "权利人/申请人",
        "所在县（市、区）",
        "乡镇（街道）",
        "标准地址",
        "道路（街巷）及门牌号",
    ]
    assert fields["道路（街巷）及门牌号"] == "人民路15号之一"
    assert fields["小区/楼栋/单元/室"] == "金鸾花园3幢2单元301室"
    assert fields["村（社区）/组"] == ""
    assert dict(certificate_fields(replace(CERT, building="3栋", lon=None)))["小区/楼栋/单元/室"] == (
        "金鸾花园3栋2单元301室"
    )
    assert dict(certificate_fields(replace(CERT, lon=None)))["坐标（CGCS2000）"] == ""


def test_given_rural_reissued_certificate_when_rendered_then_village_group_and_status_shown() -> None:
    flat = "".join(_pdftotext(certificate_pdf(RURAL_CERT)).split())

    assert "门牌证（补发）" in flat
    assert "石坡村3组" in flat
    assert "赤壁市石坡茶叶专业合作社" in flat


def test_given_invariant_when_certificate_rendered_twice_then_identical_bytes() -> None:
    assert certificate_pdf(CERT, invariant=True) == certificate_pdf(CERT, invariant=True)
    assert certificate_pdf(CERT, invariant=True, compress=False) == certificate_pdf(
        CERT, invariant=True, compress=False
    )
    assert b"/FlateDecode" not in certificate_pdf(CERT, compress=False)


def test_given_certificate_when_rendered_then_qr_code_encodes_verify_url() -> None:
    symbol = _qr_symbol(_dark_pixels(certificate_pdf(CERT)))

    assert _encodes(symbol, CERT.verify_url)
    assert not _encodes(symbol, CERT.verify_url + "x")  # the check really discriminates


def test_given_very_long_values_when_certificate_rendered_then_still_one_page() -> None:
    long = replace(CERT, previous_address="旧址" * 120, address="赤壁市" + "很长的地址" * 40)

    pdf = certificate_pdf(long)

    assert _page_count(pdf) == 1
    assert _encodes(_qr_symbol(_dark_pixels(pdf)), long.verify_url)


@pytest.mark.parametrize("url", ["", "mz.chibi.gov.cn/v/1", "/v/421281-2026-000123"])
def test_given_relative_verify_url_when_certificate_rendered_then_value_error(url: str) -> None:
    with pytest.raises(ValueError, match="核验网址"):
        certificate_pdf(replace(CERT, verify_url=url))


# --------------------------------------------------------------------------- address proof PDF


def test_given_address_proof_when_rendered_then_statement_history_and_signature_in_text() -> None:
    pdf = address_proof_pdf(PROOF)
    flat = "".join(_pdftotext(pdf).split())

    assert pdf.startswith(b"%PDF-")
    assert _page_count(pdf) == 1
    for value in (
        "地址证明",
        "编号：赤民址证〔2026〕12号",
        "兹证明张三丰的标准地址为赤壁市赤马港街道人民路15号之一。",
        "该标准地址自2020年5月1日起启用。",
        "序号原地址起始日期截止日期",
        "1人民路旧15号1998年1月1日2020年4月30日",
        "2蒲圻镇东风街8号1997年12月31日",
        "本证明用于办理营业执照。",
        "特此证明。",
        "赤壁市民政局",
        "2026年3月5日",
        QR_CAPTION,
        PROOF.verify_url,
        "第1页共1页",
    ):
        assert value in flat, value


def test_given_no_history_when_address_proof_rendered_then_says_so_without_table() -> None:
    flat = "".join(
        _pdftotext(address_proof_pdf(replace(PROOF, previous_addresses=(), standard_since=None))).split()
    )

    assert "该地址无曾用地址记录。" in flat
    assert "起始日期" not in flat
    assert "起启用" not in flat


def test_given_address_proof_when_rendered_then_qr_code_encodes_verify_url() -> None:
    symbol = _qr_symbol(_dark_pixels(address_proof_pdf(PROOF)))

    assert _encodes(symbol, PROOF.verify_url)
    assert not _encodes(symbol, CERT.verify_url)


def test_given_invariant_when_address_proof_rendered_twice_then_identical_bytes() -> None:
    assert address_proof_pdf(PROOF, invariant=True) == address_proof_pdf(PROOF, invariant=True)


def test_given_long_history_when_address_proof_rendered_then_pages_numbered() -> None:
    history = tuple((f"人民路旧{i}号", date(1990, 1, 1), date(2000, 1, 1)) for i in range(1, 61))
    pdf = address_proof_pdf(replace(PROOF, previous_addresses=history))
    flat = "".join(_pdftotext(pdf).split())
    pages = _page_count(pdf)

    assert pages >= 2
    assert f"第{pages}页共{pages}页" in flat
    assert "60人民路旧60号" in flat


# --------------------------------------------------------------------------- Excel


def test_given_certificates_when_register_xlsx_then_headers_and_typed_rows() -> None:
    wb = load_workbook(io.BytesIO(certificates_register_xlsx([CERT, RURAL_CERT])))
    ws = wb.active

    assert ws.title == "门牌证登记簿"
    assert wb.properties.title == "门牌证登记簿"
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == CERTIFICATE_XLSX_HEADERS
    assert all(cell.font.bold for cell in ws[1])
    assert len(rows) == 3
    first = dict(zip(CERTIFICATE_XLSX_HEADERS, rows[1], strict=True))
    assert first["证号"] == "421281-2026-000123"
    assert first["权利人/申请人"] == "张三丰"
    assert first["门牌号"] == "15号之一"
    assert (first["幢"], first["单元"], first["室"]) == ("3", "2", "301")
    assert first["发证日期"].date() == date(2026, 3, 5)
    assert first["经度"] == pytest.approx(113.90123456)
    assert first["核验网址"] == CERT.verify_url
    second = dict(zip(CERTIFICATE_XLSX_HEADERS, rows[2], strict=True))
    assert (second["村(社区)"], second["组/自然村"], second["备注"]) == ("石坡村", "3组", "补发")
    assert second["经度"] is None
    assert ws.freeze_panes == "B2"
    assert ws.auto_filter.ref == "A1:U3"
    date_col = CERTIFICATE_XLSX_HEADERS.index("发证日期") + 1
    assert ws.cell(row=2, column=date_col).number_format == "yyyy-mm-dd"


def test_given_bad_sheet_title_when_register_xlsx_then_sanitised_and_truncated() -> None:
    wb = load_workbook(io.BytesIO(certificates_register_xlsx([], title="2026/03 门牌证登记簿:" + "长" * 40)))

    assert wb.active.title == ("2026_03 门牌证登记簿_" + "长" * 40)[:31]
    assert [c.value for c in wb.active[1]] == list(CERTIFICATE_XLSX_HEADERS)


def test_given_address_rows_when_addresses_xlsx_then_header_bold_and_rows_as_given() -> None:
    assert ADDRESS_XLSX_HEADERS == (
        "门牌编码",
        "类型",
        "乡镇(街道)",
        "村(社区)",
        "组/自然村",
        "道路/小区",
        "门牌号",
        "幢",
        "单元",
        "室",
        "标准地址",
        "状态",
        "经度",
        "纬度",
        "启用日期",
        "批准文号",
    )
    road = ("421281002001000015", "道路", "赤马港街道", "", "", "人民路", "15号之一", None, None, "")
    road += (
        "赤壁市赤马港街道人民路15号之一",
        "有效",
        113.90123456,
        29.7234567,
        date(2020, 5, 1),
        "赤民门〔2020〕3号",
    )
    rural = ("421281101001000015", "农村", "新店镇", "石坡村", "3组", "", "15号", None, None, "")
    rural += ("赤壁市新店镇石坡村3组15号", "有效", None, None, None, "")

    data = addresses_xlsx(iter([road, list(rural)]))  # any iterable of sequences
    wb = load_workbook(io.BytesIO(data))
    ws = wb.active

    assert ws.title == "门牌地址"
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ADDRESS_XLSX_HEADERS
    assert all(cell.font.bold for cell in ws[1])
    assert ws.freeze_panes == "A2"
    assert rows[1][:12] == tuple(v or None for v in road[:12])  # empty cells read back as None
    assert rows[1][12] == pytest.approx(113.90123456)
    assert rows[1][14].date() == date(2020, 5, 1)
    assert ws.cell(row=2, column=13).number_format == "0.000000"
    assert rows[2][:7] == tuple(v or None for v in rural[:7])
    assert rows[2][12:15] == (None, None, None)
    assert len(rows) == 3


def test_given_no_rows_when_addresses_xlsx_then_header_only() -> None:
    wb = load_workbook(io.BytesIO(addresses_xlsx([], title="石坡村门牌")))

    assert wb.active.title == "石坡村门牌"
    assert list(wb.active.iter_rows(values_only=True)) == [ADDRESS_XLSX_HEADERS]


def test_given_row_of_wrong_length_when_addresses_xlsx_then_value_error_names_row() -> None:
    good = ("1",) * len(ADDRESS_XLSX_HEADERS)
    with pytest.raises(ValueError, match="第 2 行有 3 个值"):
        addresses_xlsx([good, ("1", "2", "3")])


# --------------------------------------------------------------------------- purity


def test_documents_module_does_not_import_django() -> None:
    code = (
        "import sys, geo_mz.addresses.documents; "
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; assert not bad, bad"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr

"""House-number output documents: certificate (门牌证) and address proof (地址证明) PDFs, Excel exports.

Pure module like :mod:`geo_mz.placenames.documents`, whose PDF conventions and helpers it reuses:
standard library, reportlab and openpyxl only, never Django; every renderer takes plain dataclasses
and returns the finished file as ``bytes``.

* Chinese text uses the embedded CJK TrueType font of :mod:`geo_mz.core.pdf` (a glyph subset).
* PDFs are reproducible byte for byte with ``invariant=True``.
* The QR code is reportlab's vector :class:`~reportlab.graphics.barcode.qr.QrCodeWidget`
  (error-correction level M, 4-module quiet zone) encoding the certificate's absolute
  verification URL; it is captioned "扫码核验" and the URL is also printed in small type.
* Coordinates are CGCS2000 longitude / latitude in decimal degrees (EPSG:4490).
* The owner (权利人) appears on the certificate and in the register only: the verification URL is
  meant to lead to a page that shows the address, never the owner.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepInFrame,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from geo_mz.core.cells import safe_row, safe_value
from geo_mz.core.pdf import PDF_PRODUCER, build_pdf, paragraph_style, paragraph_text, register_cjk_font
from geo_mz.placenames.documents import _display_width, _fmt_degrees, format_cn_date

__all__ = [
    "ADDRESS_XLSX_HEADERS",
    "CERTIFICATE_XLSX_HEADERS",
    "QR_CAPTION",
    "AddressProof",
    "Certificate",
    "address_proof_pdf",
    "addresses_xlsx",
    "certificate_fields",
    "certificate_pdf",
    "certificates_register_xlsx",
]

QR_CAPTION: Final = "扫码核验"
_QR_LEVEL: Final = "M"


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Certificate:
    """One house-number certificate (门牌证) as printed and registered.

    ``building`` / ``unit`` / ``room`` may be bare numbers (``"3"``, ``"2"``, ``"301"``): the
    certificate then writes 幢 / 单元 / 室 after them. ``lon`` / ``lat`` are CGCS2000 (EPSG:4490).
    """

    serial: str  # per-county serial, e.g. "421281-2026-000123"
    owner: str  # person or unit
    county: str
    township: str
    address: str  # full standard address, e.g. "赤壁市赤马港街道人民路15号"
    issued_on: date
    issuing_office: str  # e.g. "赤壁市民政局"
    verify_url: str  # absolute URL encoded in the QR code
    road: str = ""  # 人民路
    number_label: str = ""  # 15号之一
    compound: str = ""
    building: str = ""
    unit: str = ""
    room: str = ""
    village: str = ""
    group: str = ""  # 3组 or a natural village
    previous_address: str = ""  # 原地址
    previous_source: str = ""  # 房产证 / 土地证 / 户籍 / 营业执照
    status_note: str = ""  # 补发 / 换发
    lon: float | None = None
    lat: float | None = None


@dataclass(frozen=True, slots=True)
class AddressProof:
    """An address proof (地址证明): the holder's standard address and the addresses it replaced.

    ``previous_addresses`` holds ``(old address, used from, used until)``; unknown dates are None.
    """

    serial: str
    holder: str
    address: str
    standard_since: date | None
    previous_addresses: tuple[tuple[str, date | None, date | None], ...]
    purpose: str  # e.g. "办理营业执照"
    issued_on: date
    issuing_office: str
    verify_url: str


# --------------------------------------------------------------------------- shared pieces


def _check_url(url: str) -> str:
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"核验网址必须是完整的 http(s) 地址：{url!r}")
    return url


def _qr(url: str, size: float) -> Drawing:
    """Vector QR code of ``url``, ``size`` points square including the quiet zone."""
    drawing = Drawing(size, size)
    drawing.add(QrCodeWidget(_check_url(url), barLevel=_QR_LEVEL, barWidth=size, barHeight=size))
    return drawing


def _with_word(value: str, word: str) -> str:
    """``"3"`` -> ``"3幢"``; a value that already ends in a unit word is kept (``"3栋"``)."""
    value = value.strip()
    return value if not value or not value[-1].isdigit() else value + word


def _compound_text(c: Certificate) -> str:
    return "".join(
        (
            c.compound.strip(),
            _with_word(c.building, "幢"),
            _with_word(c.unit, "单元"),
            _with_word(c.room, "室"),
        )
    )


def _previous_text(address: str, source: str) -> str:
    if not address.strip():
        return ""
    return f"{address.strip()}（{source.strip()}）" if source.strip() else address.strip()


def _coordinates_text(lon: float | None, lat: float | None) -> str:
    if lon is None or lat is None:
        return ""
    return f"东经 {_fmt_degrees(lon)}°，北纬 {_fmt_degrees(lat)}°"


# --------------------------------------------------------------------------- certificate PDF

_CERT_PAGE: Final = landscape(A5)
_CERT_MARGIN: Final = 10 * mm
_CERT_LABEL_W: Final = 44 * mm
_CERT_VALUE_W: Final = 96 * mm
_CERT_QR: Final = 38 * mm


def certificate_fields(c: Certificate) -> list[tuple[str, str]]:
    """The certificate's (label, value) rows in print order; empty values are printed as blanks."""
    return [
        ("证号", c.serial),
        ("权利人/申请人", c.owner),
        ("所在县（市、区）", c.county),
        ("乡镇（街道）", c.township),
        ("标准地址", c.address),
        ("道路（街巷）及门牌号", c.road.strip() + c.number_label.strip()),
        ("小区/楼栋/单元/室", _compound_text(c)),
        ("村（社区）/组", c.village.strip() + c.group.strip()),
        ("原地址（来源）", _previous_text(c.previous_address, c.previous_source)),
        ("坐标（CGCS2000）", _coordinates_text(c.lon, c.lat)),
        ("发证日期", format_cn_date(c.issued_on)),
        ("发证机关", c.issuing_office),
    ]


def certificate_pdf(c: Certificate, *, compress: bool = True, invariant: bool = False) -> bytes:
    """Render a house-number certificate (门牌证) as a one-page A5 landscape PDF.

    Layout: the title 门牌证 (with the status note, e.g. "（补发）"), a bordered field table
    (:func:`certificate_fields`) and beside it the QR code of ``verify_url`` captioned
    "扫码核验"; the URL itself is printed in small type at the bottom. Content that would not fit
    is shrunk, so the certificate is always one page. ``compress=False`` writes uncompressed page
    streams; ``invariant=True`` makes the output byte-for-byte reproducible. Raises
    :class:`ValueError` when ``verify_url`` is not an absolute http(s) URL.
    """
    font = register_cjk_font()
    title_style = paragraph_style("cert-title", 24, leading=30, alignment=TA_CENTER)
    label_style = paragraph_style("cert-label", 10.5, leading=14, alignment=TA_CENTER)
    value_style = paragraph_style("cert-value", 10.5, leading=14, alignment=TA_LEFT)
    caption_style = paragraph_style("cert-caption", 10, alignment=TA_CENTER)
    url_style = paragraph_style(
        "cert-url", 7, alignment=TA_CENTER, textColor=colors.HexColor("#555555"), wordWrap=None
    )

    title = "门牌证"
    if c.status_note.strip():
        title += f"<font size='14'>（{paragraph_text(c.status_note)}）</font>"
    rows = [
        [Paragraph(label, label_style), Paragraph(paragraph_text(value), value_style)]
        for label, value in certificate_fields(c)
    ]
    fields = Table(rows, colWidths=[_CERT_LABEL_W, _CERT_VALUE_W])
    fields.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.2, colors.black),
                ("INNERGRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#F0F0F0")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 3.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    qr_block = [_qr(c.verify_url, _CERT_QR), Paragraph(QR_CAPTION, caption_style)]
    body = Table(
        [[fields, qr_block]],
        colWidths=[_CERT_LABEL_W + _CERT_VALUE_W + 3 * mm, None],
        style=[("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("ALIGN", (1, 0), (1, 0), "CENTER")],
    )
    story: list[Flowable] = [
        Paragraph(title, title_style),
        Spacer(1, 4 * mm),
        body,
        Spacer(1, 3 * mm),
        Paragraph(f"核验网址：{paragraph_text(c.verify_url)}", url_style),
    ]
    width, height = _CERT_PAGE
    page = KeepInFrame(width - 2 * _CERT_MARGIN, height - 2 * _CERT_MARGIN, story, mode="shrink")

    buf = io.BytesIO()
    SimpleDocTemplate(
        buf,
        pagesize=_CERT_PAGE,
        topMargin=_CERT_MARGIN,
        rightMargin=_CERT_MARGIN,
        bottomMargin=_CERT_MARGIN,
        leftMargin=_CERT_MARGIN,
        title=f"门牌证 {c.serial}",
        author=c.issuing_office,
        subject=c.address,
        creator=PDF_PRODUCER,
        producer=PDF_PRODUCER,
        lang="zh-CN",
        pageCompression=1 if compress else 0,
        invariant=1 if invariant else 0,
        initialFontName=font,
    ).build([page], onFirstPage=_certificate_frame)
    return buf.getvalue()


def _certificate_frame(canvas: Canvas, _doc: SimpleDocTemplate) -> None:
    """The certificate's double border."""
    width, height = _CERT_PAGE
    canvas.saveState()
    canvas.setStrokeColor(colors.HexColor("#8B0000"))
    for inset, line_width in ((4 * mm, 1.6), (5.5 * mm, 0.5)):
        canvas.setLineWidth(line_width)
        canvas.rect(inset, inset, width - 2 * inset, height - 2 * inset)
    canvas.restoreState()


# --------------------------------------------------------------------------- address proof PDF

_PROOF_COLUMNS: Final = (("序号", 14), ("原地址", 96), ("起始日期", 32), ("截止日期", 32))  # mm, sum 174


def address_proof_pdf(p: AddressProof, *, compress: bool = True, invariant: bool = False) -> bytes:
    """Render an address proof (地址证明) as an A4 letter.

    Layout: title, 编号, the statement "兹证明{holder}的标准地址为{address}。" (with the date the
    standard address took effect when known), a table of the previous addresses (序号, 原地址,
    起始日期, 截止日期; or a sentence saying there are none), the purpose, "特此证明。", then the
    QR code of ``verify_url`` captioned "扫码核验" beside the issuing office and date, and the URL
    in small type. Pages carry "第 N 页 共 M 页". ``compress`` / ``invariant`` and the URL check as
    in :func:`certificate_pdf`.
    """
    register_cjk_font()
    title_style = paragraph_style("proof-title", 22, leading=30, alignment=TA_CENTER, spaceAfter=3 * mm)
    serial_style = paragraph_style("proof-serial", 10.5, alignment=TA_RIGHT, spaceAfter=6 * mm)
    body_style = paragraph_style("proof-body", 12.5, leading=22, alignment=TA_JUSTIFY, firstLineIndent=25)
    head_style = paragraph_style("proof-th", 10, alignment=TA_CENTER)
    cell_style = paragraph_style("proof-td", 10, alignment=TA_LEFT)
    centre_style = paragraph_style("proof-td-c", 10, alignment=TA_CENTER)
    sign_style = paragraph_style("proof-sign", 12.5, leading=22, alignment=TA_RIGHT)
    caption_style = paragraph_style("proof-caption", 10, alignment=TA_CENTER)
    url_style = paragraph_style("proof-url", 7.5, textColor=colors.HexColor("#555555"), wordWrap=None)

    statement = f"兹证明{paragraph_text(p.holder)}的标准地址为{paragraph_text(p.address)}。"
    if p.standard_since is not None:
        statement += f"该标准地址自{format_cn_date(p.standard_since)}起启用。"
    statement += "该地址曾用地址如下：" if p.previous_addresses else "该地址无曾用地址记录。"
    story: list[Flowable] = [
        Paragraph("地址证明", title_style),
        Paragraph(f"编号：{paragraph_text(p.serial)}", serial_style),
        Paragraph(statement, body_style),
    ]
    if p.previous_addresses:
        rows: list[list[Flowable]] = [[Paragraph(h, head_style) for h, _w in _PROOF_COLUMNS]]
        for i, (old, start, end) in enumerate(p.previous_addresses, start=1):
            rows.append(
                [
                    Paragraph(str(i), centre_style),
                    Paragraph(paragraph_text(old), cell_style),
                    Paragraph(format_cn_date(start), centre_style),
                    Paragraph(format_cn_date(end), centre_style),
                ]
            )
        history = Table(rows, colWidths=[w * mm for _h, w in _PROOF_COLUMNS], repeatRows=1)
        history.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E6E6E6")),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ]
            )
        )
        story += [Spacer(1, 3 * mm), history, Spacer(1, 3 * mm)]
    if p.purpose.strip():
        story.append(Paragraph(f"本证明用于{paragraph_text(p.purpose)}。", body_style))
    story.append(Paragraph("特此证明。", body_style))

    qr_size = 32 * mm
    signature = [
        Paragraph(paragraph_text(p.issuing_office), sign_style),
        Paragraph(format_cn_date(p.issued_on), sign_style),
    ]
    closing = Table(
        [[[_qr(p.verify_url, qr_size), Paragraph(QR_CAPTION, caption_style)], signature]],
        colWidths=[qr_size + 6 * mm, None],
        style=[("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("LEFTPADDING", (0, 0), (0, 0), 0)],
    )
    story.append(
        KeepTogether(
            [Spacer(1, 12 * mm), closing, Paragraph(f"核验网址：{paragraph_text(p.verify_url)}", url_style)]
        )
    )
    return build_pdf(
        story,
        title=f"地址证明 {p.serial}",
        author=p.issuing_office,
        subject=p.address,
        compress=compress,
        invariant=invariant,
    )


# --------------------------------------------------------------------------- Excel

CERTIFICATE_XLSX_HEADERS: Final[tuple[str, ...]] = (
    "证号",
    "权利人/申请人",
    "所在县(市、区)",
    "乡镇(街道)",
    "标准地址",
    "道路(街巷)",
    "门牌号",
    "小区",
    "幢",
    "单元",
    "室",
    "村(社区)",
    "组/自然村",
    "原地址",
    "原地址来源",
    "发证日期",
    "发证机关",
    "备注",
    "经度",
    "纬度",
    "核验网址",
)

ADDRESS_XLSX_HEADERS: Final[tuple[str, ...]] = (
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

_DATE_FORMAT: Final = "yyyy-mm-dd"
_DEGREE_FORMAT: Final = "0.000000"
_NUMBER_FORMATS: Final = {
    "发证日期": _DATE_FORMAT,
    "启用日期": _DATE_FORMAT,
    "经度": _DEGREE_FORMAT,
    "纬度": _DEGREE_FORMAT,
}
_MAX_WIDTH: Final = 48
_HEADER_FONT: Final = Font(bold=True)
_HEADER_FILL: Final = PatternFill("solid", fgColor="DDE4EE")
_HEADER_BORDER: Final = Border(bottom=Side(style="thin", color="999999"))
_SHEET_NAME_FORBIDDEN: Final = str.maketrans(dict.fromkeys("[]:*?/\\", "_"))


def _sheet_title(title: str, default: str) -> str:
    """A valid worksheet name: no []:*?/\\ and at most 31 characters."""
    return (title.strip().translate(_SHEET_NAME_FORBIDDEN) or default)[:31]


def _shown_width(header: str, value: Any) -> int:
    if value is None:
        return 0
    if header in _NUMBER_FORMATS:
        return 12
    return _display_width(str(value))


def _certificate_row(c: Certificate) -> list[Any]:
    return [
        c.serial,
        c.owner,
        c.county,
        c.township,
        c.address,
        c.road,
        c.number_label,
        c.compound,
        c.building,
        c.unit,
        c.room,
        c.village,
        c.group,
        c.previous_address,
        c.previous_source,
        c.issued_on,
        c.issuing_office,
        c.status_note,
        c.lon,
        c.lat,
        c.verify_url,
    ]


def _write_only_header_cell(ws: Any, text: str) -> WriteOnlyCell:
    """A header cell for a write-only sheet, in the style :func:`_style_header` gives normal sheets
    (bold, shaded, thin bottom border). Also used by :mod:`geo_mz.core.exporting`."""
    cell = WriteOnlyCell(ws, value=text)
    cell.font = _HEADER_FONT
    cell.fill = _HEADER_FILL
    cell.border = _HEADER_BORDER
    return cell


def _style_header(ws: Worksheet) -> None:
    for cell in ws[1]:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.border = _HEADER_BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center")


def certificates_register_xlsx(rows: Sequence[Certificate], *, title: str = "门牌证登记簿") -> bytes:
    """The certificate register (门牌证登记簿) as an Excel workbook (.xlsx bytes).

    One sheet named after ``title``: a bold header row (:data:`CERTIFICATE_XLSX_HEADERS`) frozen
    with the serial column, an autofilter, sized columns, one row per certificate in the given
    order. 发证日期 is a real Excel date; 经度 / 纬度 (CGCS2000, EPSG:4490) are numbers with 6
    decimals; serials, building / unit / room and the other fields are text.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_title(title, "门牌证登记簿")
    wb.properties.title = title
    wb.properties.creator = PDF_PRODUCER
    ws.append(list(CERTIFICATE_XLSX_HEADERS))
    _style_header(ws)

    widths = [_display_width(h) for h in CERTIFICATE_XLSX_HEADERS]
    for row_idx, c in enumerate(rows, start=2):
        for col_idx, (header, value) in enumerate(
            zip(CERTIFICATE_XLSX_HEADERS, safe_row(_certificate_row(c)), strict=True), start=1
        ):  # safe_row: user text never becomes a formula (core/cells.py)
            cell = ws.cell(row=row_idx, column=col_idx, value=value)
            cell.number_format = _NUMBER_FORMATS.get(header, "@")
            widths[col_idx - 1] = max(widths[col_idx - 1], _shown_width(header, value))
    for col_idx, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col_idx)].width = min(max(width + 2, 6), _MAX_WIDTH)

    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(CERTIFICATE_XLSX_HEADERS))}{max(len(rows) + 1, 1)}"
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4

    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def addresses_xlsx(rows: Iterable[Sequence[Any]], *, title: str = "门牌地址") -> bytes:
    """Export house-number addresses as an Excel workbook (.xlsx bytes), streaming.

    ``rows`` (any iterable, e.g. a queryset iterator) hold values in :data:`ADDRESS_XLSX_HEADERS`
    order and are written as given into a write-only workbook, so memory stays flat however many
    rows there are. The bold header row is frozen; 经度 / 纬度 (CGCS2000, EPSG:4490) get 6
    decimals and 启用日期 an Excel date format. Raises :class:`ValueError` naming the row when a
    row has the wrong number of values.
    """
    wb = Workbook(write_only=True)
    wb.properties.title = title
    wb.properties.creator = PDF_PRODUCER
    ws = wb.create_sheet(_sheet_title(title, "门牌地址"))
    ws.freeze_panes = "A2"
    for col_idx, header in enumerate(ADDRESS_XLSX_HEADERS, start=1):
        wide = header in ("标准地址", "道路/小区", "批准文号", "门牌编码")
        ws.column_dimensions[get_column_letter(col_idx)].width = (
            30 if wide else max(_display_width(header) + 4, 10)
        )

    def value_cell(header: str, value: Any) -> Any:
        if header not in _NUMBER_FORMATS or value is None:
            return safe_value(value)  # user text never becomes a formula (core/cells.py)
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = _NUMBER_FORMATS[header]
        return cell

    ws.append([_write_only_header_cell(ws, h) for h in ADDRESS_XLSX_HEADERS])
    try:
        for index, row in enumerate(rows, start=1):
            values = list(row)
            if len(values) != len(ADDRESS_XLSX_HEADERS):
                raise ValueError(
                    f"第 {index} 行有 {len(values)} 个值，应为 {len(ADDRESS_XLSX_HEADERS)} 个"
                    f"（{'、'.join(ADDRESS_XLSX_HEADERS)}）"
                )
            ws.append([value_cell(h, v) for h, v in zip(ADDRESS_XLSX_HEADERS, values, strict=True)])
    except BaseException:
        ws.close()  # finish the half-written sheet's stream before giving up
        raise

    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

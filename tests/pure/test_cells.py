"""Formula-safe export cells (issue 14, OWASP CSV injection): every CSV and Excel writer of the
project writes user text that starts with = + - @ tab or CR as quoted text, never as a formula."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from openpyxl import load_workbook

from geo_mz.addresses.documents import addresses_xlsx, certificates_register_xlsx
from geo_mz.boundaries.documents import findings_template_xlsx, marker_table_xlsx
from geo_mz.core.cells import FORMULA_TRIGGERS, safe_row, safe_text, safe_value
from geo_mz.core.exporting import Batch, Field, layer_write
from geo_mz.coverage.documents import coverage_report_xlsx
from geo_mz.placenames.documents import gazetteer_xlsx, national_csv
from tests.pure.test_address_documents import CERT
from tests.pure.test_boundary_documents import MARKER
from tests.pure.test_coverage_documents import REPORT
from tests.pure.test_placename_documents import ROAD

PAYLOADS = ["=cmd|' /C calc'!A0", "+1", "@SUM(A1)", "-2+3", "\t=1+1", "\r=1+1", '=HYPERLINK("http://x")']


def _xlsx_cells(data: bytes) -> list[Any]:
    """Every non-empty cell of every sheet."""
    wb = load_workbook(io.BytesIO(data))
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]


def _assert_payloads_inert(cells: list[Any], payloads: list[str]) -> None:
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a cell is a formula"
    texts = [c.value for c in cells if isinstance(c.value, str)]
    for payload in payloads:
        assert "'" + payload in texts, payload  # quoted, and the text after the quote preserved
        assert payload not in texts, payload


# --------------------------------------------------------------------------- the helper


@pytest.mark.parametrize("text", PAYLOADS + ["-", "-1", "+86 138 0000 0000"])
def test_given_formula_trigger_when_safe_text_then_quoted_and_preserved(text: str) -> None:
    assert text.startswith(FORMULA_TRIGGERS)
    assert safe_text(text) == "'" + text


@pytest.mark.parametrize("text", ["", "人民路15号", "1-2-301", "'quoted", " =1", "＝1", "a=1"])
def test_given_ordinary_text_when_safe_text_then_unchanged(text: str) -> None:
    assert safe_text(text) == text


def test_given_non_text_when_safe_value_then_unchanged() -> None:
    values = [-1, -2.5, 0, None, True, date(2024, 1, 1)]

    assert safe_row(values) == values
    assert all(safe_value(v) is v for v in values)
    assert safe_row(["-1", -1]) == ["'-1", -1]  # text "-1" quoted, the number -1 a number


# --------------------------------------------------------------------------- every writer


def test_gazetteer_xlsx_writes_formulas_as_text() -> None:
    entries = [replace(ROAD, name=p, specific=p, meaning=p, location=p) for p in PAYLOADS]

    cells = _xlsx_cells(gazetteer_xlsx(entries))

    _assert_payloads_inert(cells, PAYLOADS)
    numbers = [c.value for c in cells if isinstance(c.value, float)]
    assert 113.90123456 in [round(v, 8) for v in numbers]  # lon stays a number


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_gazetteer_csv_writes_formulas_as_text(encoding: str) -> None:
    entries = [replace(ROAD, name=p, specific=p, meaning=p) for p in PAYLOADS]

    text = national_csv(entries, encoding=encoding).decode(encoding)
    rows = list(csv.reader(io.StringIO(text, newline="")))

    values = [v for row in rows[1:] for v in row]
    for payload in PAYLOADS:
        assert "'" + payload in values and payload not in values
    assert not [v for v in values if v.startswith(FORMULA_TRIGGERS)]


def test_markers_xlsx_and_findings_template_write_formulas_as_text() -> None:
    markers = [replace(MARKER, material=p, location=p, responsible=p) for p in PAYLOADS]

    _assert_payloads_inert(_xlsx_cells(marker_table_xlsx("嘉鱼赤壁线", markers)), PAYLOADS)
    template = findings_template_xlsx("=1+1", ["421221-421281-001Q"], definitions=[("完好", "@SUM(A1)")])
    _assert_payloads_inert(_xlsx_cells(template), ["=1+1", "@SUM(A1)"])


def test_coverage_report_xlsx_writes_formulas_as_text() -> None:
    division = replace(REPORT.divisions[0], name="=cmd|' /C calc'!A0")
    indicator = replace(REPORT.indicators[0], note="+1", label="-2+3")
    report = replace(
        REPORT,
        title="@SUM(A1)",
        divisions=(division, *REPORT.divisions[1:]),
        indicators=(indicator, *REPORT.indicators[1:]),
    )

    cells = _xlsx_cells(coverage_report_xlsx(report))

    _assert_payloads_inert(cells, ["=cmd|' /C calc'!A0", "+1", "-2+3", "@SUM(A1)"])
    assert any(c.data_type == "n" and c.value == 52_000 for c in cells)  # numbers stay numbers


def test_certificate_register_and_addresses_xlsx_write_formulas_as_text() -> None:
    certificates = [replace(CERT, owner=p, previous_address=p) for p in PAYLOADS]
    _assert_payloads_inert(_xlsx_cells(certificates_register_xlsx(certificates)), PAYLOADS)

    rows = [
        ("421281002001000015", "道路", "赤马港街道", "", "", p, "15号", None, None, "")
        + (p, "有效", -113.9, 29.7, date(2020, 5, 1), "")
        for p in PAYLOADS
    ]
    cells = _xlsx_cells(addresses_xlsx(rows))
    _assert_payloads_inert(cells, PAYLOADS)
    assert any(c.value == -113.9 and c.data_type == "n" for c in cells)  # a negative number stays a number


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_streaming_export_writes_formulas_as_text_and_numbers_as_numbers(tmp_path: Path, fmt: str) -> None:
    batch = Batch(
        {"名称": PAYLOADS, "长度": [-1.5] * len(PAYLOADS)}, shapely.points(np.full((len(PAYLOADS), 2), 113.5))
    )

    result = layer_write(
        tmp_path / f"x.{fmt}",
        fmt,
        layer="道路",
        fields=[Field("名称"), Field("长度", "float")],
        batches=[batch],
        geometry_type="Point",
    )

    if fmt == "xlsx":
        cells = _xlsx_cells(result.path.read_bytes())
        _assert_payloads_inert(cells, PAYLOADS)
        assert [c.value for c in cells if c.column == 2 and c.row > 1 and c.parent.title == "道路"] == [
            -1.5
        ] * len(PAYLOADS)
    else:
        rows = list(csv.reader(io.StringIO(result.path.read_bytes().decode("utf-8-sig"), newline="")))[1:]
        assert [r[0] for r in rows] == ["'" + p for p in PAYLOADS]
        assert {r[1] for r in rows} == {"-1.5"}

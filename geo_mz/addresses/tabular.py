"""Excel (.xlsx) and CSV address tables, read once into Arrow columns for the set-based importer.

The row-by-row importer read a table through `core.tables.read_table` and then spent ~60 ms per row
on ORM queries (a 5,001-row sheet: 293–309 s in one request). Here the sheet is read once (openpyxl
in read-only mode, or the csv module for UTF-8 / GB18030 text) into one Arrow string column per
mapped header, and `bulk.addresses_import_bulk` checks and writes it exactly as it does a
GeoPackage without geometry: the same columns (`importers.COLUMNS`, Chinese headers, 经度/纬度 in
the `coordinate_system` option), rules, messages and all-or-nothing write.

Cells become text as the row-by-row importer sees them (`core.tables.cell_text`: stripped, Excel's
15.0 → "15"); a date or datetime cell becomes its ISO date, which `cell_date` reads back to the same
date. Rows whose cells are all blank are skipped, as `read_table` skips them, but every data row
keeps **its row number in the spreadsheet** (1-based, the header counted), so the report points at
the row a user sees in Excel even when blank rows sit between the data. (The row-by-row reader
renumbered rows after dropping blank ones.)

No database access; Django is not needed either (only `core.tables.cell_text`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa

TABLE_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".txt")
#: The first lines of a CSV whose encoding is tried in this order (as core.tables.read_table does).
CSV_ENCODINGS = ("utf-8-sig", "gb18030")
# <dimension ref="A1:M5001"/> near the top of an .xlsx sheet: its last row, read without parsing it.
_DIMENSION = re.compile(rb'<dimension ref="[A-Z]+[0-9]+:[A-Z]+([0-9]+)"')


class TableError(ValueError):
    """The file cannot be read as a table: (field, message) for the report's file errors."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class Sheet:
    """The data rows of a table: one Arrow string column per wanted header, and the spreadsheet
    row number (1-based) of each row."""

    header: list[str]
    columns: dict[str, pa.Array]  # header text → its cells as text (only the wanted headers)
    row_numbers: np.ndarray  # int64, one per data row, ascending

    @property
    def num_rows(self) -> int:
        return len(self.row_numbers)

    def batches(self, size: int) -> Iterator[pa.RecordBatch]:
        """The rows as record batches of at most `size` rows, columns named by their header."""
        names = list(self.columns)
        table = pa.table([self.columns[n] for n in names], names=names)
        for batch in table.to_batches(max_chunksize=size):
            if batch.num_rows:
                yield batch


def is_table_file(path: Path | str) -> bool:
    return Path(path).suffix.lower() in TABLE_SUFFIXES


def _cell(value: Any) -> str:
    """A cell as the row-by-row importer reads it (`cell_text`), dates as ISO dates."""
    from geo_mz.core.tables import cell_text

    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return cell_text(value)


def _xlsx_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zip/XML/openpyxl errors: the file is not a workbook
        raise TableError(
            "file", f"无法读取 Excel 文件 / cannot read the workbook {path.name}: {exc}"
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        # some writers store a wrong <dimension>: read every cell rather than trust it (rows may then
        # differ in length; missing cells are blank)
        sheet.reset_dimensions()
        yield from sheet.iter_rows(values_only=True)
    finally:
        workbook.close()


def _csv_rows(path: Path) -> Iterator[list[str]]:
    raw = path.read_bytes()
    for encoding in CSV_ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise TableError("file", "无法识别文件编码（应为 UTF-8 或 GBK）/ the file is neither UTF-8 nor GBK")
    del raw
    yield from csv.reader(io.StringIO(text))


def sheet_read(path: Path | str, wanted: Any) -> Sheet:
    """Read the first sheet (or the CSV) once. `wanted(header) -> list of header texts to keep`
    picks the columns from the header (the first non-blank row). TableError for an unreadable or
    empty file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        rows: Iterator[Any] = _xlsx_rows(path)
    elif suffix in (".csv", ".txt"):
        rows = _csv_rows(path)
    else:
        raise TableError("file", f"不支持的文件类型 {suffix}，请使用 .xlsx 或 .csv / use .xlsx or .csv")
    header: list[str] | None = None
    keep: list[tuple[str, int]] = []
    cells: dict[str, list[str]] = {}
    numbers: list[int] = []
    for number, values in enumerate(rows, start=1):
        texts = [_cell(v) for v in values]
        if not any(texts):
            continue
        if header is None:
            header = texts
            names = list(dict.fromkeys(wanted(header)))
            keep = [(name, header.index(name)) for name in names if name in header]
            cells = {name: [] for name, _ in keep}
            continue
        numbers.append(number)
        width = len(texts)
        for name, i in keep:
            cells[name].append(texts[i] if i < width else "")
    if header is None:
        raise TableError("file", "文件为空 / the file is empty")
    return Sheet(
        header=header,
        columns={name: pa.array(values, type=pa.string()) for name, values in cells.items()},
        row_numbers=np.array(numbers, dtype=np.int64),
    )


def table_row_estimate(name: str, fh: BinaryIO) -> int | None:
    """Data rows in an uploaded table, estimated cheaply to route it (background job or not).

    CSV: newlines, counted in 1 MiB chunks (a row per line, the header taken off). XLSX: the last row
    of the first sheet's <dimension> (read from that zip entry's first 64 KiB, nothing parsed), or
    without one its XML size / 150 bytes per row. None when the file is not a table or cannot be
    opened (the importer then reports why). `fh` is a seekable binary file; it is rewound after."""
    suffix = Path(name).suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            lines = 0
            while chunk := fh.read(2**20):
                lines += chunk.count(b"\n")
            return max(lines - 1, 0)
        if suffix in (".xlsx", ".xlsm"):
            with zipfile.ZipFile(fh) as zf:
                names = zf.namelist()
                sheets = sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml"))
                if not sheets:
                    return None
                first = "xl/worksheets/sheet1.xml" if "xl/worksheets/sheet1.xml" in names else sheets[0]
                with zf.open(first) as entry:
                    start = entry.read(65536)
                found = _DIMENSION.search(start)
                if found:
                    return max(int(found.group(1)) - 1, 0)
                return zf.getinfo(first).file_size // 150
        return None
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return None
    finally:
        fh.seek(0)

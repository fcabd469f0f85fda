"""Shared helpers for table importers (Excel/CSV): cell parsing, reading, per-row savepoints.

Every importer checks rows first, then writes them inside one transaction with a savepoint per row, so
a database constraint becomes that row's error (see core.importing and core.db.import_finish).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from geo_mz.core.importing import RowResult


def cell_text(value: Any) -> str:
    """A cell as stripped text; Excel's 15.0 becomes "15"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def cell_date(row: RowResult, field_name: str, value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(cell_text(value).replace("/", "-").replace(".", "-"))
    except ValueError:
        row.error(field_name, "日期格式应为 YYYY-MM-DD / expected a date like 2023-06-30", value)
        return None


def read_table(path: Path) -> tuple[list[str], list[list[Any]]]:
    """Header and data rows of an .xlsx or .csv (UTF-8 or GB18030/GBK) file; blank rows dropped."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl

        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        workbook.close()
    elif suffix in (".csv", ".txt"):
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        rows = [list(r) for r in csv.reader(io.StringIO(text))]
    else:
        raise ValidationError(
            {"file": f"不支持的文件类型 {suffix}，请使用 .xlsx 或 .csv / use .xlsx or .csv"}
        )
    rows = [r for r in rows if any(cell_text(v) for v in r)]
    if not rows:
        raise ValidationError({"file": "文件为空 / the file is empty"})
    return [cell_text(h) for h in rows[0]], rows[1:]


def column_map(header: list[str], columns: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """field → column index, for the first alias of each field found in the header."""
    mapping = {}
    for field_name, aliases in columns.items():
        for alias in aliases:
            if alias in header:
                mapping[field_name] = header.index(alias)
                break
    return mapping


def validation_to_row(row: RowResult, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field_name, messages in exc.message_dict.items():
            for message in messages:
                row.error(field_name, message)
    else:
        for message in exc.messages:
            row.error("row", message)


class RowRejected(Exception):
    """The row's errors are already recorded; roll back its savepoint."""


def row_savepoint(
    row: RowResult, fn: Callable[[], Any], integrity_message: Callable[[IntegrityError], str] | None = None
) -> Any:
    """Run `fn` in a savepoint; a ValidationError or IntegrityError becomes the row's error."""
    try:
        with transaction.atomic():
            return fn()
    except RowRejected:
        pass
    except ValidationError as exc:
        validation_to_row(row, exc)
    except IntegrityError as exc:
        row.error("row", integrity_message(exc) if integrity_message else str(exc).splitlines()[0])
    return None

"""Shared helpers for table importers (Excel/CSV): cell parsing, reading, per-row savepoints.

Every importer checks rows first, then writes them inside one transaction with a savepoint per row, so
a database constraint becomes that row's error (see core.importing and core.db.import_finish).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from geo_mz.core.importing import RowResult, geometry_of_kind

#: The `table_rows` field holding a vector feature's geometry errors (a list of FieldError).
GEOMETRY_ERRORS = "_geometry_errors"


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


def table_rows(
    path: Path, report, columns: dict[str, tuple[str, ...]], required: tuple[str, ...] = ()
) -> Iterator[tuple[int, dict[str, Any]]] | None:
    """(row number, field → value) for an Excel/CSV table or a GeoPackage/Shapefile (whose points
    become lon/lat in EPSG:4490 as the `lon`/`lat` fields). File-level problems (unreadable file,
    missing required columns) go to `report` and return None.

    A vector feature whose geometry is not a point (or a one-point MultiPoint), or is empty or
    missing without 经度/纬度 cells to fall back on, carries its row errors in the
    `GEOMETRY_ERRORS` field, which `lonlat_cells` reports instead of reading the cells."""
    from geo_mz.core import crs
    from geo_mz.core.geofile import GeoFileError, read_vector

    if path.suffix.lower() in (".gpkg", ".shp", ".zip", ".geojson"):
        try:
            data = read_vector(path)
        except GeoFileError as exc:
            report.file_error(exc.field, exc.message)
            return None
        frame = data.frame.to_crs(epsg=crs.CGCS2000)
        header = [str(c) for c in frame.columns if c != frame.geometry.name]
        mapping = column_map(header, columns)

        def vector_rows():
            for i, (_, rec) in enumerate(frame.iterrows(), start=1):
                values = {f: rec[header[c]] for f, c in mapping.items()}
                scratch = RowResult(row=i)
                geom = rec[frame.geometry.name]
                if not hasattr(geom, "geom_type"):  # a null geometry comes back from iterrows as NaN
                    geom = None
                if geom is None or (geom.is_empty and geom.geom_type == "Point"):
                    # as in the bulk importer, a null or empty point may fall back on the cells, and
                    # a null attribute reads as NaN: only real 经度/纬度 cells stand in for the geometry
                    if {cell_text(values.get("lon")), cell_text(values.get("lat"))} <= {"", "nan"}:
                        geometry_of_kind(scratch, None, "point")  # as the bulk importer: missing
                else:
                    point = geometry_of_kind(scratch, geom, "point")
                    if point is not None:
                        values["lon"], values["lat"] = point.x, point.y
                if scratch.errors:
                    values[GEOMETRY_ERRORS] = scratch.errors
                yield i, values

        return vector_rows()
    try:
        header, rows = read_table(path)
    except ValidationError as exc:
        report.file_error("file", exc.messages[0])
        return None
    mapping = column_map(header, columns)
    missing = [columns[f][0] for f in required if f not in mapping]
    if missing:
        report.file_error(
            "header", f"缺少列 / missing columns: {', '.join(missing)}；表头 / header: {', '.join(header)}"
        )
        return None
    return (
        (offset, {f: (values[i] if i < len(values) else None) for f, i in mapping.items()})
        for offset, values in enumerate(rows, start=2)
    )


def lonlat_cells(
    row: RowResult, values: dict, coordinate_system: str, *, srid: int, label: str = "经度/纬度"
):
    """The `lon`/`lat` cells (in `coordinate_system`: wgs84/cgcs2000, gcj02, bd09) as a projected
    GEOS point, or None with the row's error (missing, not numbers, swapped, outside China)."""
    from django.contrib.gis.geos import Point

    from geo_mz.core import crs

    if values.get(GEOMETRY_ERRORS):  # a vector feature of the wrong geometry type (table_rows)
        for error in values[GEOMETRY_ERRORS]:
            row.error(error.field, error.message, error.value)
        return None
    lon_text, lat_text = cell_text(values.get("lon")), cell_text(values.get("lat"))
    if not lon_text and not lat_text:
        row.error(label, "须填写位置坐标 / the location is required")
        return None
    try:
        lon, lat = crs.to_wgs84(float(lon_text), float(lat_text), coordinate_system)
        crs.check_lonlat(lon, lat)
    except ValueError as exc:
        message = str(exc) if isinstance(exc, crs.CoordinateError) else "须为数字 / lon/lat must be numbers"
        row.error(label, message, f"{lon_text},{lat_text}")
        return None
    x, y = crs.lonlat_to_projected(lon, lat, srid)
    return Point(float(x), float(y), srid=srid)

"""Per-layer vector export writers (pure: numpy, shapely, pyarrow, pyogrio, openpyxl; never Django).

The caller runs its query with a server-side cursor and feeds :func:`layer_write` an iterable of
:class:`Batch` objects; the writer converts and writes one batch at a time, so however many features
a layer has, only one batch is ever held in memory (plus whatever the output format buffers: GDAL's
SQLite page cache for GeoPackage, openpyxl's temporary sheet files for Excel).

Formats (:data:`FORMATS`) and their quirks:

* ``gpkg`` -- GeoPackage through pyogrio/GDAL's Arrow stream API: one GDAL session consumes all the
  batches (no reopening per batch), with an R-tree spatial index as ``ogr2ogr`` builds it. Any
  geometry type and SRID; field names as given.
* ``shp`` -- ESRI Shapefile delivered as a ``.zip`` holding ``.shp .shx .dbf .prj .cpg`` and
  ``字段对照.csv`` (original field name -> DBF field name). Attribute encoding ``UTF-8`` or
  ``GBK`` (aliases ``gbk``, ``cp936``, ``936``); the ``.cpg`` says ``UTF-8`` or ``GBK``, which
  ArcGIS, QGIS and :mod:`geo_mz.core.geofile` understand. DBF field names are at most 10 *bytes*
  in that encoding, so long (Chinese) names are shortened at a character boundary and made unique
  (case-insensitively, with ``_1``, ``_2`` ... suffixes): :func:`dbf_field_names`. Text values
  longer than 254 bytes are cut at a character boundary (reported in ``WriteResult.warnings``);
  text not encodable in GBK raises :class:`ExportError` naming the row and field. Dates are DBF
  dates, booleans DBF logicals; an empty string reads back as null (DBF cannot tell them apart).
  Text and number columns are sized to their widest value afterwards (:func:`_compact_dbf`), so
  ``Field.width`` only sizes the file while it is written. ``.shp`` / ``.dbf`` files above 2 GB
  raise :class:`ExportError`. The zip is deflated at level 1 (the padding-heavy .dbf compresses
  well anyway; level 6 costs 2.5 times the time for 10 % less).
* ``geojson`` -- RFC 7946 FeatureCollection written incrementally (:func:`geojson_chunks`, also
  usable for an HTTP streaming response), UTF-8, properties under their original names,
  coordinates longitude/latitude in degrees rounded to 7 decimals (about 1 cm), polygon exterior
  rings counter-clockwise, dates as ``YYYY-MM-DD`` strings. No ``crs`` member (RFC 7946
  coordinates are WGS84); the layer name is the foreign member ``name``, as GDAL writes it.
* ``kml`` -- KML 2.2 written incrementally, attributes as ``<ExtendedData>`` with a ``<Schema>``,
  ``<name>`` from ``name_field`` when given, coordinates as for GeoJSON.
* ``xlsx`` -- Excel through openpyxl's write-only mode, the header styled like
  :func:`geo_mz.addresses.documents.addresses_xlsx` (bold, shaded, frozen). Point layers get
  ``经度`` / ``纬度`` number columns (7 decimals); any other geometry type gets one ``几何(WKT)``
  text column, cut at Excel's 32,767 characters per cell with the marker :data:`WKT_TRUNCATED`
  (counted in the warnings and on the notes sheet). Past :data:`XLSX_MAX_ROWS` rows a sheet
  continues on "<layer> (2)", "<layer> (3)" ...; a last sheet "说明" states the CRS and count.
* ``csv`` -- UTF-8 with a BOM (Excel opens it correctly; ``GBK`` on request, without BOM), the
  same geometry columns as Excel (WKT not truncated). Text that Excel would run as a formula
  (starting ``=``, or ``+ - @`` followed by something other than a number) gets a leading ``'``.

CRS and units: geometries are in ``srid`` (default CGCS2000, :data:`geo_mz.core.crs.CGCS2000` =
EPSG:4490, longitude/latitude in decimal degrees, x = longitude). GeoPackage and Shapefile record
any EPSG code (``.prj`` / ``gpkg_spatial_ref_sys``). GeoJSON and KML are WGS84 longitude/latitude
by definition: only EPSG:4326 and EPSG:4490 are accepted, and CGCS2000 coordinates are written
unchanged -- the two frames differ by well under a metre (see :mod:`geo_mz.core.crs`); any other
SRID raises. Z/M ordinates are dropped (all outputs are 2D); empty geometries are written as null.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from xml.sax.saxutils import escape as _xml_escape

import numpy as np
import shapely

from geo_mz.core.cells import FORMULA_START_REGEX, safe_row, safe_text
from geo_mz.core.crs import CGCS2000, WGS84

if TYPE_CHECKING:  # pyarrow / pyogrio (GDAL) / openpyxl are imported when a layer is written
    import pyarrow as pa

__all__ = [
    "FORMATS",
    "KINDS",
    "MEDIA_TYPES",
    "SUFFIXES",
    "Batch",
    "ExportError",
    "Field",
    "WriteResult",
    "dbf_field_names",
    "geojson_chunks",
    "layer_write",
    "normalize_encoding",
]

FORMATS: Final = frozenset({"gpkg", "shp", "geojson", "kml", "xlsx", "csv"})
KINDS: Final = ("str", "int", "float", "date", "bool")
SUFFIXES: Final = {
    "gpkg": ".gpkg",
    "shp": ".zip",
    "geojson": ".geojson",
    "kml": ".kml",
    "xlsx": ".xlsx",
    "csv": ".csv",
}
MEDIA_TYPES: Final = {
    "gpkg": "application/geopackage+sqlite3",
    "shp": "application/zip",
    "geojson": "application/geo+json",
    "kml": "application/vnd.google-earth.kml+xml",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
}

COORDINATE_DECIMALS: Final = 7  # 1e-7 degree is about 1 cm
TEXT_SLICE: Final = 10_000  # GeoJSON / KML text is built this many features at a time
XLSX_MAX_ROWS: Final = 1_048_576  # rows per Excel sheet, header included
XLSX_MAX_CELL_CHARS: Final = 32_767
WKT_TRUNCATED: Final = "…(已截断 / truncated)"
SHAPEFILE_MAX_BYTES: Final = 2**31  # .shp / .dbf size most readers accept
DBF_NAME_BYTES: Final = 10
DBF_MAX_STRING_BYTES: Final = 254
FIELD_MAP_NAME: Final = "字段对照.csv"
LON_HEADER: Final = "经度"
LAT_HEADER: Final = "纬度"
WKT_HEADER: Final = "几何(WKT)"

_KIND_LABELS: Final = {"str": "文本", "int": "整数", "float": "数值", "date": "日期", "bool": "是/否"}
_UTF8_ALIASES: Final = frozenset({"utf-8", "utf8", "65001", "cp65001"})
_GBK_ALIASES: Final = frozenset({"gbk", "cp936", "936", "ansi 936", "ms936"})
_LONLAT_SRIDS: Final = frozenset({WGS84, CGCS2000})
# shapely type ids: 0 Point, 1 LineString, 2 LinearRing, 3 Polygon, 4 MultiPoint, 5 MultiLineString,
# 6 MultiPolygon, 7 GeometryCollection
SHAPELY_TYPE_NAMES: Final = (
    "Point",
    "LineString",
    "LinearRing",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
)
_XLSX_ILLEGAL: Final = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_XML_ILLEGAL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0
_FILE_NAME_FORBIDDEN: Final = str.maketrans(dict.fromkeys('<>:"/\\|?*\x00', "_"))

Progress = Callable[[int], None]


class ExportError(ValueError):
    """A problem with the data or the request, with a bilingual user-facing message."""


@dataclass(frozen=True)
class Field:
    """One attribute column of the exported layer.

    ``kind`` is one of :data:`KINDS`; ``width`` is the maximum number of characters of a ``str``
    field (sizes the DBF column of a shapefile; optional elsewhere).
    """

    name: str
    kind: str = "str"
    width: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ExportError(f"字段名不能为空 / empty field name: {self.name!r}")
        if self.kind not in KINDS:
            raise ExportError(
                f"字段 {self.name} 的类型 {self.kind!r} 无效，应为 {'/'.join(KINDS)} / unknown field kind"
            )
        if self.width is not None and self.width < 1:
            raise ExportError(f"字段 {self.name} 的宽度必须为正 / width must be positive: {self.width}")


@dataclass
class Batch:
    """A slice of the layer: one column per :class:`Field` plus the geometries, all of length n.

    ``columns`` maps field names to sequences or numpy arrays (``None`` -- or NaN -- is null).
    ``geometry`` holds shapely geometries or WKB (``bytes`` / hex ``str``; WKT strings are also
    accepted) in the layer's SRID, ``None`` for a feature without geometry.
    """

    columns: Mapping[str, Sequence[Any] | np.ndarray]
    geometry: Sequence[Any] | np.ndarray

    def __len__(self) -> int:
        return len(self.geometry)


@dataclass(frozen=True)
class WriteResult:
    """What :func:`layer_write` produced.

    ``path`` is the finished file (a ``.zip`` for a shapefile); ``field_names`` maps each original
    field name to its name in the file (only a shapefile changes names); ``warnings`` are
    user-facing notes (values cut to fit the format).
    """

    path: Path
    fmt: str
    count: int
    encoding: str
    field_names: dict[str, str]
    warnings: tuple[str, ...] = ()

    @property
    def media_type(self) -> str:
        charset = "; charset=utf-8" if self.fmt == "csv" and self.encoding == "UTF-8" else ""
        return MEDIA_TYPES[self.fmt] + charset


# ---------------------------------------------------------------------------------------------
# Validation and conversion shared by every format
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _GeometrySpec:
    name: str  # "Point" ... "GeometryCollection", or "Unknown" for any geometry
    allowed: frozenset[int] | None  # shapely type ids; None = any
    promote_from: int | None = None  # single-part type id turned into this multi type
    promote: Callable[..., Any] | None = None

    @property
    def is_point(self) -> bool:
        return self.name == "Point"


def _geometry_spec(geometry_type: str) -> _GeometrySpec:
    key = str(geometry_type).replace(" ", "").replace("_", "").lower()
    specs = {
        "point": _GeometrySpec("Point", frozenset({0})),
        "linestring": _GeometrySpec("LineString", frozenset({1, 2})),
        "polygon": _GeometrySpec("Polygon", frozenset({3})),
        "multipoint": _GeometrySpec("MultiPoint", frozenset({0, 4}), 0, shapely.multipoints),
        "multilinestring": _GeometrySpec("MultiLineString", frozenset({1, 5}), 1, shapely.multilinestrings),
        "multipolygon": _GeometrySpec("MultiPolygon", frozenset({3, 6}), 3, shapely.multipolygons),
        "geometrycollection": _GeometrySpec("GeometryCollection", frozenset({7})),
        "geometry": _GeometrySpec("Unknown", None),
        "unknown": _GeometrySpec("Unknown", None),
    }
    if key not in specs:
        raise ExportError(
            f"未知的几何类型 {geometry_type!r} / unknown geometry type (Point, LineString, Polygon, "
            "MultiPoint, MultiLineString, MultiPolygon, GeometryCollection or Geometry)"
        )
    return specs[key]


def normalize_encoding(encoding: str) -> str:
    """``"UTF-8"`` or ``"GBK"`` for the accepted spellings (``utf8``, ``gbk``, ``cp936``, ``936``)."""
    key = str(encoding).strip().lower()
    if key in _UTF8_ALIASES:
        return "UTF-8"
    if key in _GBK_ALIASES:
        return "GBK"
    raise ExportError(f"不支持的编码 {encoding!r}，应为 UTF-8 或 GBK / unsupported encoding (UTF-8 or GBK)")


def _check_fields(fields: Sequence[Field]) -> list[Field]:
    fields = list(fields)
    seen: set[str] = set()
    for f in fields:
        if not isinstance(f, Field):
            raise ExportError(f"字段定义必须是 Field / fields must be Field objects, got {f!r}")
        if f.name in seen:
            raise ExportError(f"字段名重复 / duplicate field name: {f.name}")
        seen.add(f.name)
    return fields


def _check_lonlat_srid(srid: int, fmt: str) -> None:
    if srid not in _LONLAT_SRIDS:
        raise ExportError(
            f"{fmt} 只能输出经纬度坐标（EPSG:4326 或 EPSG:4490），当前为 EPSG:{srid}，请先转换 / "
            f"{fmt} holds WGS84 longitude/latitude: EPSG:{srid} must be transformed first"
        )


@dataclass
class _Chunk:
    """A validated batch: typed Arrow columns and an object array of 2D shapely geometries."""

    start: int  # 0-based index of the chunk's first feature in the layer
    arrays: dict[str, pa.Array]
    geometry: np.ndarray

    def __len__(self) -> int:
        return len(self.geometry)


def _arrow_type(kind: str) -> pa.DataType:
    import pyarrow as pa

    return {
        "str": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "date": pa.date32(),
        "bool": pa.bool_(),
    }[kind]


def _coerce_bool(v: Any) -> bool:
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in {"true", "false", "t", "f", "1", "0", "是", "否"}:
        return v.strip().lower() in {"true", "t", "1", "是"}
    raise ValueError(v)


def _coerce_int(v: Any) -> int:
    if isinstance(v, float | np.floating) and not float(v).is_integer():
        raise ValueError(v)
    if isinstance(v, str):
        return int(v.strip())
    return int(v)


def _coerce_date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if isinstance(v, np.datetime64):
        return v.astype("datetime64[D]").item()
    if isinstance(v, str):
        return date.fromisoformat(v.strip()[:10])
    raise ValueError(v)


_COERCE: Final[dict[str, Callable[[Any], Any]]] = {
    "str": str,
    "int": _coerce_int,
    "float": float,
    "date": _coerce_date,
    "bool": _coerce_bool,
}


def _is_null(v: Any) -> bool:
    return v is None or (isinstance(v, float | np.floating) and math.isnan(v))


def _to_arrow(f: Field, values: Any, start: int) -> pa.Array:
    """One column as a typed Arrow array; inferred then cast safely, else coerced value by value."""
    import pyarrow as pa

    typ = _arrow_type(f.kind)
    try:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        arr = values if isinstance(values, pa.Array) else pa.array(values, from_pandas=True)
        if arr.type != typ:
            if f.kind == "int" and pa.types.is_floating(arr.type):
                raise ValueError("float to int: checked value by value")
            arr = arr.cast(typ, safe=True)
        return arr
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
        pass
    coerce = _COERCE[f.kind]
    out: list[Any] = []
    for i, v in enumerate(values.to_pylist() if isinstance(values, pa.Array) else values):
        if _is_null(v):
            out.append(None)
            continue
        try:
            out.append(coerce(v))
        except (TypeError, ValueError, OverflowError):
            raise ExportError(
                f"第 {start + i + 1} 行 字段 {f.name}：无法转换为{_KIND_LABELS[f.kind]}的值 {v!r} / "
                f"row {start + i + 1} field {f.name}: cannot convert {v!r} to {f.kind}"
            ) from None
    return pa.array(out, type=typ)


def _to_geometries(values: Any, start: int, spec: _GeometrySpec) -> np.ndarray:
    """Shapely geometries (2D, empty -> None), checked against and promoted to the layer type."""
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        values = values.to_numpy(zero_copy_only=False) if _is_arrow(values) else values.to_numpy()
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise ExportError(f"几何必须是一维数组 / geometry must be one-dimensional, got shape {arr.shape}")
    present = np.flatnonzero([v is not None for v in arr])
    if len(present):
        first = arr[present[0]]
        try:
            if isinstance(first, bytes):
                arr = shapely.from_wkb(arr)
            elif isinstance(first, bytearray | memoryview):  # psycopg may hand out memoryviews
                arr = shapely.from_wkb(np.array([None if v is None else bytes(v) for v in arr], dtype=object))
            elif isinstance(first, str):
                is_hex = re.fullmatch(r"[0-9A-Fa-f]+", first) is not None
                arr = shapely.from_wkb(arr) if is_hex else shapely.from_wkt(arr)
            else:
                ok = shapely.is_geometry(arr[present])
                if not ok.all():
                    bad = present[np.flatnonzero(~ok)[0]]
                    raise ExportError(
                        f"第 {start + bad + 1} 行：几何不是 shapely 几何或 WKB / row {start + bad + 1}: "
                        f"geometry is neither a shapely geometry nor WKB: {arr[bad]!r:.80}"
                    )
                arr = arr.copy()
        except shapely.errors.GEOSException as exc:
            raise ExportError(
                f"第 {start + 1}–{start + len(arr)} 行中有无效的几何 / invalid geometry in rows "
                f"{start + 1}-{start + len(arr)}: {exc}"
            ) from exc
        arr[shapely.is_empty(arr)] = None
        if shapely.has_z(arr).any():
            arr = shapely.force_2d(arr)
    ids = shapely.get_type_id(arr)
    if spec.allowed is not None:
        bad_rows = np.flatnonzero((ids >= 0) & ~np.isin(ids, list(spec.allowed)))
        if len(bad_rows):
            i = int(bad_rows[0])
            kind = SHAPELY_TYPE_NAMES[ids[i]]
            raise ExportError(
                f"第 {start + i + 1} 行：几何类型 {kind} 与图层类型 {spec.name} 不符 / "
                f"row {start + i + 1}: geometry type {kind} does not match the layer type {spec.name}"
            )
        if spec.promote is not None:
            singles = np.flatnonzero(ids == spec.promote_from)
            if len(singles):
                arr[singles] = spec.promote(arr[singles], indices=np.arange(len(singles)))
    return arr


def _is_arrow(values: Any) -> bool:
    return type(values).__module__.startswith("pyarrow")


def _chunks(fields: list[Field], batches: Iterable[Batch], spec: _GeometrySpec) -> Iterator[_Chunk]:
    """Validate and convert the batches one at a time (nothing is kept between batches)."""
    names = [f.name for f in fields]
    expected = set(names)
    start = 0
    for number, batch in enumerate(batches, start=1):
        got = set(batch.columns)
        missing = [n for n in names if n not in got]
        extra = sorted(got - expected)
        if missing:
            raise ExportError(
                f"第 {number} 批缺少列 {'、'.join(missing)} / batch {number} is missing columns"
            )
        if extra:
            raise ExportError(
                f"第 {number} 批有多余的列 {'、'.join(map(str, extra))} / batch {number} has unknown columns"
            )
        n = len(batch.geometry)
        for name in names:
            if len(batch.columns[name]) != n:
                raise ExportError(
                    f"第 {number} 批的列 {name} 有 {len(batch.columns[name])} 个值，几何有 {n} 个 / "
                    f"batch {number}: column {name} has {len(batch.columns[name])} values, geometry {n}"
                )
        arrays = {f.name: _to_arrow(f, batch.columns[f.name], start) for f in fields}
        yield _Chunk(start, arrays, _to_geometries(batch.geometry, start, spec))
        start += n


def _rounded(geoms: np.ndarray) -> np.ndarray:
    """Coordinates rounded to :data:`COORDINATE_DECIMALS`; polygon exteriors counter-clockwise."""
    out = shapely.transform(geoms, lambda c: np.round(c, COORDINATE_DECIMALS))
    if hasattr(shapely, "orient_polygons"):  # shapely >= 2.1
        ids = shapely.get_type_id(out)
        if np.isin(ids, (3, 6, 7)).any():
            out = shapely.orient_polygons(out, exterior_cw=False)
    return out


def _number(x: float) -> str:
    """A coordinate with at most 7 decimals, without exponent or trailing zeros."""
    text = f"{x:.{COORDINATE_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _encodable(arr: pa.Array, codec: str) -> tuple[int, str] | None:
    """(index, offending text) of the first value of a string array that ``codec`` cannot encode."""
    if len(arr) == arr.null_count:
        return None
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)
    lo, hi = int(offsets[arr.offset]), int(offsets[arr.offset + len(arr)])
    try:  # the whole column at once: all its UTF-8 bytes are contiguous
        arr.buffers()[2].to_pybytes()[lo:hi].decode("utf-8").encode(codec)
        return None
    except UnicodeEncodeError:
        pass
    for i, v in enumerate(arr.to_pylist()):
        if v is None:
            continue
        try:
            v.encode(codec)
        except UnicodeEncodeError as exc:
            return i, v[exc.start : exc.end]
    return None


def _check_encodable(chunk: _Chunk, fields: list[Field], encoding: str) -> None:
    if encoding != "GBK":
        return
    for f in fields:
        if f.kind != "str":
            continue
        found = _encodable(chunk.arrays[f.name], "gbk")
        if found is not None:
            i, text = found
            row = chunk.start + i + 1
            codes = " ".join(f"U+{ord(ch):04X}" for ch in text)
            raise ExportError(
                f"第 {row} 行 字段 {f.name}：无法用 GBK 编码的字符 “{text}”（{codes}），请改用 UTF-8 / "
                f"row {row} field {f.name}: not encodable in GBK: {text!r} ({codes}); export as UTF-8"
            )


def _progress_after_each(chunks: Iterable[_Chunk], progress: Progress | None) -> Iterator[_Chunk]:
    """Pass the chunks through, calling ``progress(count)`` once the consumer asks for the next
    one -- i.e. after the previous chunk has been written."""
    count = 0
    for chunk in chunks:
        yield chunk
        count += len(chunk)
        if progress is not None:
            progress(count)


# ---------------------------------------------------------------------------------------------
# GeoPackage and Shapefile (GDAL through pyogrio's Arrow stream writer)
# ---------------------------------------------------------------------------------------------


def _fit_bytes(text: str, codec: str, limit: int) -> str:
    """The longest prefix of ``text`` whose encoding is at most ``limit`` bytes."""
    return text.encode(codec)[:limit].decode(codec, errors="ignore")


def dbf_field_names(names: Sequence[str], encoding: str = "UTF-8") -> dict[str, str]:
    """Original name -> DBF field name: at most 10 bytes in ``encoding`` (a Chinese character takes
    2 bytes in GBK, 3 in UTF-8), cut at a character boundary and unique regardless of case (a
    clash gets ``_1``, ``_2`` ... in place of its last characters)."""
    codec = "gbk" if normalize_encoding(encoding) == "GBK" else "utf-8"
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        try:
            name.encode(codec)
        except UnicodeEncodeError as exc:
            raise ExportError(
                f"字段名 {name} 含无法用 GBK 编码的字符 “{name[exc.start : exc.end]}” / "
                f"field name {name!r} is not encodable in GBK"
            ) from None
        candidate = _fit_bytes(name.strip(), codec, DBF_NAME_BYTES) or "FIELD"
        k = 0
        while candidate.upper() in used:
            k += 1
            suffix = f"_{k}"
            candidate = _fit_bytes(name.strip(), codec, DBF_NAME_BYTES - len(suffix)) + suffix
        used.add(candidate.upper())
        mapping[name] = candidate
    return mapping


def _compact_dbf(dbf: Path, block_bytes: int = 32 << 20) -> None:
    """Shrink the text and number fields of a .dbf to their widest value, in place.

    What GDAL's ``RESIZE=YES`` does, but block by block with numpy (GDAL's takes minutes on a
    million records): one pass finds the byte columns that are padding (space or NUL) in every
    record -- trailing ones of left-aligned text (C), leading ones of right-aligned numbers (N, F)
    -- and a second pass copies the records without them. Memory: one block of records.
    """
    with open(dbf, "rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            return
        records = int.from_bytes(head[4:8], "little")
        header_len = int.from_bytes(head[8:10], "little")
        record_len = int.from_bytes(head[10:12], "little")
        header = bytearray(head + fh.read(header_len - 32))
        layout = []  # (descriptor offset, type, width, decimals, offset in the record)
        pos, offset = 32, 1  # each record starts with its deletion flag
        while pos + 32 <= header_len and header[pos] != 0x0D:
            layout.append((pos, chr(header[pos + 11]), header[pos + 16], header[pos + 17], offset))
            offset += header[pos + 16]
            pos += 32
        if not records or offset != record_len:
            return
        resizable = [i for i, field in enumerate(layout) if field[1] in "CNF"]
        used = {i: np.zeros(layout[i][2], dtype=bool) for i in resizable}
        per_block = max(1, block_bytes // record_len)
        for first in range(0, records, per_block):
            rows = np.frombuffer(fh.read(min(per_block, records - first) * record_len), dtype=np.uint8)
            rows = rows.reshape(-1, record_len)
            for i in resizable:
                cells = rows[:, layout[i][4] : layout[i][4] + layout[i][2]]
                used[i] |= ((cells != 0x20) & (cells != 0)).any(axis=0)
        keep = [np.arange(1)]
        for i, (pos, kind, width, decimals, at) in enumerate(layout):
            lo, hi = at, at + width
            if kind == "C":
                hi = at + max(1, int(np.flatnonzero(used[i])[-1]) + 1 if used[i].any() else 1)
            elif kind in "NF":
                minimum = decimals + 2 if decimals else 1
                lead = int(np.argmax(used[i])) if used[i].any() else width
                lo = at + min(lead, width - minimum)
            keep.append(np.arange(lo, hi))
            header[pos + 16] = hi - lo
        keep_cols = np.concatenate(keep)
        if len(keep_cols) == record_len:
            return
        header[10:12] = len(keep_cols).to_bytes(2, "little")
        fh.seek(header_len)
        compacted = dbf.with_name(dbf.name + ".compact")
        with open(compacted, "wb") as out:
            out.write(header)
            for first in range(0, records, per_block):
                rows = np.frombuffer(fh.read(min(per_block, records - first) * record_len), dtype=np.uint8)
                out.write(rows.reshape(-1, record_len)[:, keep_cols].tobytes())
            out.write(fh.read())  # the end-of-file marker
    os.replace(compacted, dbf)


def _unused_name(base: str, taken: Iterable[str]) -> str:
    lower = {t.lower() for t in taken}
    name, k = base, 0
    while name.lower() in lower:
        k += 1
        name = f"{base}_{k}"
    return name


def _ogr_write(
    tmp: Path,
    driver: str,
    *,
    layer: str,
    fields: list[Field],
    out_names: dict[str, str],
    chunks: Iterator[_Chunk],
    spec: _GeometrySpec,
    srid: int,
    widths: Callable[[_Chunk | None], dict[str, int]],
    transform: Callable[[_Chunk], None] | None = None,
    encoding: str | None = None,
    layer_options: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> int:
    """Stream the chunks into one GDAL layer; returns the feature count.

    The Arrow schema needs the first chunk (DBF widths), so it is peeked at before GDAL starts
    pulling batches from a lazy :class:`pyarrow.RecordBatchReader`.
    """
    import pyarrow as pa
    import pyogrio

    first = next(chunks, None)
    width_of = widths(first)
    geometry_name = _unused_name("geom", out_names.values())
    if driver == "GPKG":  # GDAL names the GeoPackage geometry column itself
        layer_options = {**(layer_options or {}), "GEOMETRY_NAME": geometry_name}
    schema = pa.schema(
        [
            pa.field(
                out_names[f.name],
                _arrow_type(f.kind),
                metadata={"GDAL:OGR:width": str(width_of[f.name])} if f.name in width_of else None,
            )
            for f in fields
        ]
        + [pa.field(geometry_name, pa.binary(), metadata={"ARROW:extension:name": "geoarrow.wkb"})]
    )
    failure: list[BaseException] = []
    count = 0

    def record_batches() -> Iterator[pa.RecordBatch]:
        nonlocal count
        try:
            for chunk in _progress_after_each([] if first is None else _chain(first, chunks), progress):
                if transform is not None:
                    transform(chunk)
                wkb = shapely.to_wkb(chunk.geometry, output_dimension=2)
                arrays = [chunk.arrays[f.name] for f in fields] + [pa.array(wkb, type=pa.binary())]
                count += len(chunk)
                yield pa.RecordBatch.from_arrays(arrays, schema=schema)
        except BaseException as exc:  # GDAL only sees "error while accessing batch": keep ours
            failure.append(exc)
            raise

    reader = pa.RecordBatchReader.from_batches(schema, record_batches())
    try:
        pyogrio.write_arrow(
            reader,
            str(tmp),
            layer=layer,
            driver=driver,
            geometry_name=geometry_name,
            geometry_type=spec.name,
            crs=f"EPSG:{srid}",
            encoding=encoding,
            layer_options=layer_options or None,
        )
    except Exception as exc:
        if failure:
            raise failure[0] from None
        raise ExportError(f"写入 {driver} 失败 / writing {driver} failed: {exc}") from exc
    if failure:
        raise failure[0]
    return count


def _chain(first: _Chunk, rest: Iterator[_Chunk]) -> Iterator[_Chunk]:
    yield first
    yield from rest


def _cleanup(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _write_gpkg(tmp: Path, ctx: _Context) -> tuple[int, dict[str, str], list[str]]:
    names = {f.name: f.name for f in ctx.fields}
    options = {"SPATIAL_INDEX": "YES"}
    if any(f.name.lower() == "fid" for f in ctx.fields):
        options["FID"] = _unused_name("fid", names.values())
    count = _ogr_write(
        tmp,
        "GPKG",
        layer=ctx.layer,
        fields=ctx.fields,
        out_names=names,
        chunks=ctx.chunks,
        spec=ctx.spec,
        srid=ctx.srid,
        widths=lambda _first: {f.name: f.width for f in ctx.fields if f.kind == "str" and f.width},
        layer_options=options,
        progress=ctx.progress,
    )
    return count, names, []


def _write_shp(tmp: Path, ctx: _Context) -> tuple[int, dict[str, str], list[str]]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if ctx.spec.name in ("Unknown", "GeometryCollection"):
        raise ExportError(
            "Shapefile 只能保存单一几何类型（点、线或面），请指定图层的几何类型 / "
            "a shapefile holds one geometry type (points, lines or polygons)"
        )
    codec = "gbk" if ctx.encoding == "GBK" else "utf-8"
    bytes_per_char = 2 if ctx.encoding == "GBK" else 3
    names = dbf_field_names([f.name for f in ctx.fields], ctx.encoding)
    text_fields = [f for f in ctx.fields if f.kind == "str"]
    truncated: dict[str, int] = {}

    def widths(first: _Chunk | None) -> dict[str, int]:
        out = {}
        for f in text_fields:
            if f.width:
                out[f.name] = min(DBF_MAX_STRING_BYTES, f.width * bytes_per_char)
            else:  # from the first batch with room to spare (GDAL widens the column if needed)
                longest = 0
                if first is not None and len(first):
                    longest = pc.max(pc.binary_length(first.arrays[f.name])).as_py() or 0
                out[f.name] = min(DBF_MAX_STRING_BYTES, max(40, 2 * longest))
        return out

    def transform(chunk: _Chunk) -> None:
        _check_encodable(chunk, text_fields, ctx.encoding)
        for f in text_fields:
            arr = chunk.arrays[f.name]
            long_rows = np.flatnonzero(
                pc.fill_null(pc.greater(pc.binary_length(arr), DBF_MAX_STRING_BYTES), False).to_numpy(
                    zero_copy_only=False
                )
            )
            if not len(long_rows):
                continue
            values = arr.to_pylist()
            for i in long_rows:
                encoded = values[i].encode(codec)
                if len(encoded) > DBF_MAX_STRING_BYTES:
                    values[i] = _fit_bytes(values[i], codec, DBF_MAX_STRING_BYTES)
                    truncated[f.name] = truncated.get(f.name, 0) + 1
            chunk.arrays[f.name] = pa.array(values, type=pa.string())

    workdir = Path(tempfile.mkdtemp(prefix=".shp-", dir=tmp.parent))
    try:
        shp = workdir / "layer.shp"
        count = _ogr_write(
            shp,
            "ESRI Shapefile",
            layer="layer",
            fields=ctx.fields,
            out_names=names,
            chunks=ctx.chunks,
            spec=ctx.spec,
            srid=ctx.srid,
            widths=widths,
            transform=transform,
            encoding=ctx.encoding,
            progress=ctx.progress,
        )
        _compact_dbf(shp.with_suffix(".dbf"))
        shp.with_suffix(".cpg").write_text(ctx.encoding, encoding="ascii")
        for suffix in (".shp", ".dbf"):
            size = shp.with_suffix(suffix).stat().st_size
            if size > SHAPEFILE_MAX_BYTES:
                raise ExportError(
                    f"Shapefile 的 {suffix} 文件有 {size / 2**30:.2f} GB，超过 2 GB 上限，请改用 GeoPackage "
                    f"或分区导出 / the {suffix} file is {size / 2**30:.2f} GB, above the 2 GB shapefile "
                    "limit: export GeoPackage or smaller areas"
                )
        table = io.StringIO()
        writer = csv.writer(table, lineterminator="\r\n")
        writer.writerow(["字段 / field", "DBF 字段名 / DBF name", "类型 / kind"])
        writer.writerows(safe_row([f.name, names[f.name], f.kind]) for f in ctx.fields)
        stem = ctx.layer.translate(_FILE_NAME_FORBIDDEN).strip(" .") or "layer"
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
                part = shp.with_suffix(suffix)
                if part.exists():
                    zf.write(part, f"{stem}{suffix}")
            info = zipfile.ZipInfo(FIELD_MAP_NAME, date_time=datetime.now().timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, "\ufeff" + table.getvalue())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    warnings = [
        f"字段 {name} 有 {n} 个值超过 {DBF_MAX_STRING_BYTES} 字节，已截断 / field {name}: {n} values cut "
        f"to {DBF_MAX_STRING_BYTES} bytes (the DBF limit)"
        for name, n in truncated.items()
    ]
    return count, names, warnings


# ---------------------------------------------------------------------------------------------
# GeoJSON and KML (written by hand, incrementally)
# ---------------------------------------------------------------------------------------------


def _json_tokens(f: Field, arr: pa.Array) -> list[str]:
    values = arr.to_pylist()
    if f.kind == "str":
        encode = json.encoder.encode_basestring  # type: ignore[attr-defined]  # C, keeps non-ASCII
        return ["null" if v is None else encode(v) for v in values]
    if f.kind == "int":
        return ["null" if v is None else str(v) for v in values]
    if f.kind == "float":
        return ["null" if v is None or not math.isfinite(v) else repr(v) for v in values]
    if f.kind == "date":
        return ["null" if v is None else f'"{v.isoformat()}"' for v in values]
    return ["null" if v is None else ("true" if v else "false") for v in values]


def geojson_chunks(
    fields: Sequence[Field],
    batches: Iterable[Batch],
    *,
    geometry_type: str = "Geometry",
    srid: int = CGCS2000,
    layer: str | None = None,
    progress: Progress | None = None,
    matched: Callable[[], int | None] | None = None,
) -> Iterator[bytes]:
    """An RFC 7946 FeatureCollection as UTF-8 byte chunks: the opening, one chunk per batch, the
    closing -- for a file or an HTTP streaming response.

    With ``matched`` (called after the last batch: how many features the query matched), the closing
    carries ``"numberMatched"`` and ``"numberReturned"`` (the OGC API members): a streamed response
    cut off mid-way is then recognisable even where the transport cannot say so -- it is not valid
    JSON, and a complete one has the two numbers equal.

    Geometries are longitude/latitude degrees (``srid`` 4326 or 4490, written unchanged) rounded to
    7 decimals; properties keep the original field names; dates are ISO ``YYYY-MM-DD``; NaN and
    infinite numbers become ``null``. Arguments are checked here, before the first chunk; data
    errors (:class:`ExportError`) surface while iterating.
    """
    fields = _check_fields(fields)
    spec = _geometry_spec(geometry_type)
    _check_lonlat_srid(srid, "GeoJSON")
    return _geojson_iter(
        fields, _progress_after_each(_chunks(fields, batches, spec), progress), layer, matched
    )


def _geojson_iter(
    fields: list[Field],
    chunks: Iterable[_Chunk],
    layer: str | None,
    matched: Callable[[], int | None] | None = None,
) -> Iterator[bytes]:
    name = "" if layer is None else f'"name":{json.dumps(layer, ensure_ascii=False)},'
    yield ('{"type":"FeatureCollection",' + name + '"features":[\n').encode()
    keys = [json.dumps(f.name, ensure_ascii=False).replace("%", "%%") for f in fields]
    template = '{"type":"Feature","properties":{' + ",".join(f"{k}:%s" for k in keys) + '},"geometry":%s}'
    separator = ""
    returned = 0
    for chunk in _slices(chunks):
        geometry = ["null" if g is None else g for g in shapely.to_geojson(_rounded(chunk.geometry)).tolist()]
        columns = [_json_tokens(f, chunk.arrays[f.name]) for f in fields]
        features = [template % row for row in zip(*columns, geometry, strict=True)]
        returned += len(features)
        del columns, geometry
        yield (separator + ",\n".join(features)).encode()
        separator = ",\n"
    if matched is None:
        yield b"\n]}\n"
    else:
        total = matched()
        yield f'\n],"numberMatched":{returned if total is None else total},"numberReturned":{returned}}}\n'.encode()


def _slices(chunks: Iterable[_Chunk], size: int = TEXT_SLICE) -> Iterator[_Chunk]:
    """The chunks cut into pieces of at most ``size`` features (zero-copy Arrow slices), which
    bounds the Python strings a text format builds at once."""
    for chunk in chunks:
        for at in range(0, len(chunk), size):
            yield _Chunk(
                chunk.start + at,
                {name: arr.slice(at, size) for name, arr in chunk.arrays.items()},
                chunk.geometry[at : at + size],
            )


def _write_geojson(tmp: Path, ctx: _Context) -> tuple[int, dict[str, str], list[str]]:
    _check_lonlat_srid(ctx.srid, "GeoJSON")
    counted = _Counted(ctx.chunks)
    with open(tmp, "wb") as fh:
        for piece in _geojson_iter(ctx.fields, _progress_after_each(counted, ctx.progress), ctx.layer):
            fh.write(piece)
    return counted.count, {f.name: f.name for f in ctx.fields}, []


class _Counted:
    """An iterator over chunks that counts the features it passed on."""

    def __init__(self, chunks: Iterable[_Chunk]) -> None:
        self._chunks = iter(chunks)
        self.count = 0

    def __iter__(self) -> Iterator[_Chunk]:
        return self

    def __next__(self) -> _Chunk:
        chunk = next(self._chunks)
        self.count += len(chunk)
        return chunk


_KML_TYPES: Final = {"str": "string", "int": "int", "float": "double", "date": "string", "bool": "bool"}


def _kml_coordinates(geom: Any) -> str:
    return " ".join(f"{_number(x)},{_number(y)}" for x, y in shapely.get_coordinates(geom).tolist())


def _kml_geometry(geom: Any) -> str:
    kind = geom.geom_type
    if kind == "Point":
        return f"<Point><coordinates>{_kml_coordinates(geom)}</coordinates></Point>"
    if kind in ("LineString", "LinearRing"):
        return f"<LineString><coordinates>{_kml_coordinates(geom)}</coordinates></LineString>"
    if kind == "Polygon":
        rings = [
            f"<outerBoundaryIs><LinearRing><coordinates>{_kml_coordinates(geom.exterior)}"
            "</coordinates></LinearRing></outerBoundaryIs>"
        ]
        rings += [
            f"<innerBoundaryIs><LinearRing><coordinates>{_kml_coordinates(ring)}"
            "</coordinates></LinearRing></innerBoundaryIs>"
            for ring in geom.interiors
        ]
        return "<Polygon>" + "".join(rings) + "</Polygon>"
    return "<MultiGeometry>" + "".join(_kml_geometry(part) for part in geom.geoms) + "</MultiGeometry>"


def _xml_attr(text: str) -> str:
    return _xml_escape(_XML_ILLEGAL.sub("", text), {'"': "&quot;"})


def _kml_text(f: Field, v: Any) -> str:
    if f.kind == "date":
        return v.isoformat()
    if f.kind == "bool":
        return "true" if v else "false"
    if f.kind == "float":
        return repr(v) if math.isfinite(v) else ""
    return _xml_escape(_XML_ILLEGAL.sub("", str(v)))


def _kml_iter(
    fields: list[Field], chunks: Iterable[_Chunk], layer: str, name_field: str | None
) -> Iterator[bytes]:
    title = _xml_escape(layer)
    simple = "".join(f'<SimpleField name="{_xml_attr(f.name)}" type="{_KML_TYPES[f.kind]}"/>' for f in fields)
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">\n'
        f'<Document>\n<name>{title}</name>\n<Schema name="{title}" id="fields">{simple}</Schema>\n'
        f"<Folder>\n<name>{title}</name>\n"
    ).encode()
    attr_names = [_xml_attr(f.name) for f in fields]
    name_spec = next((f for f in fields if f.name == name_field), Field("name"))
    for chunk in _slices(chunks):
        columns = [chunk.arrays[f.name].to_pylist() for f in fields]
        names = chunk.arrays[name_field].to_pylist() if name_field else None
        geoms = _rounded(chunk.geometry)
        parts = []
        for i in range(len(chunk)):
            name = (
                "" if names is None or names[i] is None else f"<name>{_kml_text(name_spec, names[i])}</name>"
            )
            data = "".join(
                f'<SimpleData name="{attr_names[k]}">{_kml_text(f, columns[k][i])}</SimpleData>'
                for k, f in enumerate(fields)
                if columns[k][i] is not None
            )
            geometry = "" if geoms[i] is None else _kml_geometry(geoms[i])
            parts.append(
                f'<Placemark>{name}<ExtendedData><SchemaData schemaUrl="#fields">{data}</SchemaData>'
                f"</ExtendedData>{geometry}</Placemark>\n"
            )
        yield "".join(parts).encode()
    yield b"</Folder>\n</Document>\n</kml>\n"


def _write_kml(tmp: Path, ctx: _Context) -> tuple[int, dict[str, str], list[str]]:
    _check_lonlat_srid(ctx.srid, "KML")
    counted = _Counted(ctx.chunks)
    with open(tmp, "wb") as fh:
        for piece in _kml_iter(
            ctx.fields, _progress_after_each(counted, ctx.progress), ctx.layer, ctx.name_field
        ):
            fh.write(piece)
    return counted.count, {f.name: f.name for f in ctx.fields}, []


# ---------------------------------------------------------------------------------------------
# Excel and CSV (tables: 经度/纬度 for points, WKT for anything else)
# ---------------------------------------------------------------------------------------------


def _geometry_headers(fields: list[Field], spec: _GeometrySpec) -> list[str]:
    taken = [f.name for f in fields]
    if spec.is_point:
        lon = LON_HEADER if LON_HEADER not in taken else _unused_name(f"{LON_HEADER}(几何)", taken)
        lat = LAT_HEADER if LAT_HEADER not in taken else _unused_name(f"{LAT_HEADER}(几何)", taken)
        return [lon, lat]
    return [_unused_name(WKT_HEADER, taken)]


def _lonlat(geoms: np.ndarray) -> tuple[list[float | None], list[float | None]]:
    xs = np.round(shapely.get_x(geoms), COORDINATE_DECIMALS)
    ys = np.round(shapely.get_y(geoms), COORDINATE_DECIMALS)
    return (
        [None if math.isnan(v) else v for v in xs.tolist()],
        [None if math.isnan(v) else v for v in ys.tolist()],
    )


def _flagged_rows(arr: pa.Array, mask: pa.Array) -> np.ndarray:
    return np.flatnonzero(mask.fill_null(False).to_numpy(zero_copy_only=False)) if len(arr) else np.array([])


def _sheet_name(base: str, number: int) -> str:
    if number == 1:
        return base
    suffix = f" ({number})"
    return base[: 31 - len(suffix)] + suffix


def _write_xlsx(tmp: Path, ctx: _Context) -> tuple[int, dict[str, str], list[str]]:
    import pyarrow.compute as pc
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    from geo_mz.addresses.documents import _sheet_title, _write_only_header_cell
    from geo_mz.placenames.documents import _display_width

    fields, spec = ctx.fields, ctx.spec
    headers = [f.name for f in fields] + _geometry_headers(fields, spec)
    base = _sheet_title(ctx.layer, "图层")
    wb = Workbook(write_only=True)
    wb.properties.title = ctx.layer
    wb.properties.creator = "geo-mz"
    rows_per_sheet = XLSX_MAX_ROWS - 1
    sheets: list[Any] = []
    degree_format = "0." + "0" * COORDINATE_DECIMALS

    def new_sheet() -> Any:
        ws = wb.create_sheet(_sheet_name(base, len(sheets) + 1))
        ws.freeze_panes = "A2"
        for col, header in enumerate(headers, start=1):
            f = fields[col - 1] if col <= len(fields) else None
            wide = 30 if f is None and not spec.is_point else 0
            if f is not None and f.kind == "str":
                wide = min(f.width or 20, 40)
            elif f is not None and f.kind == "date":
                wide = 12
            ws.column_dimensions[get_column_letter(col)].width = max(_display_width(header) + 4, 10, wide)
        ws.append([_write_only_header_cell(ws, h) for h in headers])
        sheets.append(ws)
        return ws

    ws = new_sheet()
    in_sheet = 0
    count = 0
    cut_text = 0
    cut_wkt = 0
    text_cols = [k for k, f in enumerate(fields) if f.kind == "str"]
    try:
        for chunk in _progress_after_each(ctx.chunks, ctx.progress):
            columns: list[list[Any]] = []
            as_text: dict[int, list[int]] = {}  # row -> columns to force as text (formula-like)
            for k, f in enumerate(fields):
                arr = chunk.arrays[f.name]
                values = arr.to_pylist()
                if k in text_cols and len(arr):
                    for i in _flagged_rows(arr, pc.match_substring_regex(arr, _XLSX_ILLEGAL)):
                        values[i] = re.sub(_XLSX_ILLEGAL, "", values[i])
                    for i in _flagged_rows(arr, pc.greater(pc.utf8_length(arr), XLSX_MAX_CELL_CHARS)):
                        values[i] = values[i][: XLSX_MAX_CELL_CHARS - 1] + "…"
                        cut_text += 1
                    # user text never becomes a formula: quoted, and typed as text (core/cells.py)
                    for i in _flagged_rows(arr, pc.match_substring_regex(arr, FORMULA_START_REGEX)):
                        values[i] = safe_text(values[i])
                        if len(values[i]) > XLSX_MAX_CELL_CHARS:  # the quote made it one too long
                            values[i] = values[i][: XLSX_MAX_CELL_CHARS - 1] + "…"
                        as_text.setdefault(int(i), []).append(k)
                columns.append(values)
            if spec.is_point:
                lons, lats = _lonlat(chunk.geometry)
                columns += [lons, lats]
            else:
                wkt = shapely.to_wkt(
                    chunk.geometry, rounding_precision=COORDINATE_DECIMALS, trim=True
                ).tolist()
                for i, text in enumerate(wkt):
                    if text is not None and len(text) > XLSX_MAX_CELL_CHARS:
                        wkt[i] = text[: XLSX_MAX_CELL_CHARS - len(WKT_TRUNCATED)] + WKT_TRUNCATED
                        cut_wkt += 1
                columns.append(wkt)
            for i, row in enumerate(zip(*columns, strict=True)):
                if in_sheet == rows_per_sheet:
                    ws.close()
                    ws = new_sheet()
                    in_sheet = 0
                values = list(row)
                if spec.is_point:
                    for k in (-2, -1):
                        if values[k] is not None:
                            cell = WriteOnlyCell(ws, value=values[k])
                            cell.number_format = degree_format
                            values[k] = cell
                for k in as_text.get(i, ()):
                    cell = WriteOnlyCell(ws, value=values[k])
                    cell.data_type = "s"
                    values[k] = cell
                ws.append(values)
                in_sheet += 1
            count += len(chunk)
    except BaseException:
        ws.close()
        raise

    warnings = []
    if cut_wkt:
        warnings.append(
            f"{cut_wkt} 个几何的 WKT 超过 Excel 单元格上限 {XLSX_MAX_CELL_CHARS} 字符，已截断（以“{WKT_TRUNCATED}”"
            f"结尾），完整几何请导出 GeoPackage / {cut_wkt} WKT values cut at Excel's cell limit"
        )
    if cut_text:
        warnings.append(
            f"{cut_text} 个文本值超过 Excel 单元格上限 {XLSX_MAX_CELL_CHARS} 字符，已截断 / "
            f"{cut_text} text values cut at Excel's cell limit"
        )
    notes = wb.create_sheet("说明")
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["B"].width = 80
    notes.append([_write_only_header_cell(notes, "项目"), _write_only_header_cell(notes, "说明")])
    geometry_note = (
        f"{LON_HEADER}/{LAT_HEADER}：点坐标，单位为度，保留 {COORDINATE_DECIMALS} 位小数"
        if spec.is_point
        else f"{WKT_HEADER}：几何的 WKT 文本，坐标保留 {COORDINATE_DECIMALS} 位小数；"
        f"超过 {XLSX_MAX_CELL_CHARS} 字符的截断并以“{WKT_TRUNCATED}”结尾"
    )
    for item in (
        ("图层", ctx.layer),
        ("要素数", count),
        ("坐标系", f"EPSG:{ctx.srid}" + ("（CGCS2000 经纬度）" if ctx.srid == CGCS2000 else "")),
        ("几何", geometry_note),
        ("工作表", f"共 {len(sheets)} 个，每个最多 {rows_per_sheet} 行数据"),
        *(("提示", w) for w in warnings),
    ):
        notes.append(list(item))
    wb.save(tmp)
    return count, {f.name: f.name for f in fields}, warnings


def _write_csv(tmp: Path, ctx: _Context) -> tuple[int, dict[str, str], list[str]]:
    import pyarrow.compute as pc

    fields, spec = ctx.fields, ctx.spec
    headers = [f.name for f in fields] + _geometry_headers(fields, spec)
    if ctx.encoding == "GBK":
        for header in headers:
            dbf_field_names([header], "GBK")  # raises for a name GBK cannot hold
    count = 0
    with open(tmp, "w", encoding="utf-8-sig" if ctx.encoding == "UTF-8" else "gbk", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(headers)
        for chunk in _progress_after_each(ctx.chunks, ctx.progress):
            _check_encodable(chunk, fields, ctx.encoding)
            columns: list[list[Any]] = []
            for f in fields:
                arr = chunk.arrays[f.name]
                values = arr.to_pylist()
                if f.kind == "str" and len(arr):
                    # user text never becomes a formula (core/cells.py); numeric columns stay numbers
                    for i in _flagged_rows(arr, pc.match_substring_regex(arr, FORMULA_START_REGEX)):
                        values[i] = safe_text(values[i])
                elif f.kind == "bool":
                    values = [None if v is None else ("true" if v else "false") for v in values]
                columns.append(values)
            if spec.is_point:
                lons, lats = _lonlat(chunk.geometry)
                columns += [
                    [None if v is None else _number(v) for v in lons],
                    [None if v is None else _number(v) for v in lats],
                ]
            else:
                columns.append(
                    shapely.to_wkt(chunk.geometry, rounding_precision=COORDINATE_DECIMALS, trim=True).tolist()
                )
            writer.writerows(zip(*columns, strict=True))
            count += len(chunk)
    return count, {f.name: f.name for f in fields}, []


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


@dataclass
class _Context:
    layer: str
    fields: list[Field]
    chunks: Iterator[_Chunk]
    spec: _GeometrySpec
    srid: int
    encoding: str
    progress: Progress | None
    name_field: str | None = None


_WRITERS: Final[dict[str, Callable[[Path, _Context], tuple[int, dict[str, str], list[str]]]]] = {
    "gpkg": _write_gpkg,
    "shp": _write_shp,
    "geojson": _write_geojson,
    "kml": _write_kml,
    "xlsx": _write_xlsx,
    "csv": _write_csv,
}


def layer_write(
    path: Path | str,
    fmt: str,
    *,
    layer: str,
    fields: Sequence[Field],
    batches: Iterable[Batch],
    geometry_type: str,
    srid: int = CGCS2000,
    encoding: str = "UTF-8",
    name_field: str | None = None,
    progress: Progress | None = None,
) -> WriteResult:
    """Write one layer to ``path`` in ``fmt`` (one of :data:`FORMATS`), one batch at a time.

    ``geometry_type`` is the layer's type (``Point`` ... ``MultiPolygon``, ``GeometryCollection``
    or ``Geometry`` for any; case-insensitive, PostGIS spellings such as ``MULTIPOLYGON`` work);
    single-part geometries in a multi-part layer are promoted, anything else that does not match
    raises. ``srid`` is the EPSG code of the coordinates (default CGCS2000 longitude/latitude,
    degrees). ``encoding`` (``UTF-8`` or ``GBK``) applies to shapefile attributes and CSV; the
    other formats are always UTF-8. ``name_field`` names the field used for KML ``<name>``.
    ``progress(count)`` is called with the number of features written after each batch; an
    exception raised by it aborts the export.

    The file is written next to ``path`` under a temporary name and moved into place when
    complete, so ``path`` never holds a partial export. A shapefile is zipped: ``path`` gets the
    ``.zip`` suffix. Raises :class:`ExportError` (a :class:`ValueError`) for an unknown format, bad
    arguments and data that does not fit the format, naming the row (1-based feature number) and
    field where there is one.
    """
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in FORMATS:
        raise ExportError(f"未知的导出格式 {fmt!r}，应为 {'、'.join(sorted(FORMATS))} / unknown format")
    fields = _check_fields(fields)
    spec = _geometry_spec(geometry_type)
    enc = normalize_encoding(encoding)
    if enc != "UTF-8" and fmt not in ("shp", "csv"):
        raise ExportError(f"{fmt} 文件总是 UTF-8 编码 / {fmt} files are always UTF-8")
    if fmt in ("geojson", "kml"):
        _check_lonlat_srid(srid, "GeoJSON" if fmt == "geojson" else "KML")
    if name_field is not None and name_field not in {f.name for f in fields}:
        raise ExportError(f"名称字段 {name_field} 不在字段列表中 / name_field is not one of the fields")
    if not str(layer).strip():
        raise ExportError("图层名不能为空 / empty layer name")
    path = Path(path)
    if fmt == "shp" and path.suffix.lower() != ".zip":
        path = path.with_suffix(".zip")
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.part{path.suffix or SUFFIXES[fmt]}")
    ctx = _Context(
        layer=str(layer).strip(),
        fields=fields,
        chunks=_chunks(fields, batches, spec),
        spec=spec,
        srid=srid,
        encoding=enc,
        progress=progress,
        name_field=name_field,
    )
    try:
        count, names, warnings = _WRITERS[fmt](tmp, ctx)
        os.replace(tmp, path)
    except BaseException:
        _cleanup(tmp)
        raise
    return WriteResult(
        path=path, fmt=fmt, count=count, encoding=enc, field_names=names, warnings=tuple(warnings)
    )

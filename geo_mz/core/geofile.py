"""Reading vector files for importers (pure: geopandas/pyogrio, no Django).

Handles GeoJSON, GeoPackage and Shapefile (also zipped). Shapefile text encoding comes from the
.cpg file when present (UTF-8 or GBK/936); without one, the .dbf records are sniffed: valid UTF-8 is
read as UTF-8, otherwise GBK is tried. We never guess silently: the detected encoding is reported.
"""

from __future__ import annotations

import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from geo_mz.core.uploads import UploadError, ZipLimits, zip_extract

if TYPE_CHECKING:  # geopandas/pandas take seconds to import: only when a file is actually read
    import geopandas as gpd

VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp")
GBK_ALIASES = {"gbk", "936", "cp936", "gb2312", "gb18030", "ansi 936"}


class GeoFileError(ValueError):
    """A file-level problem (unreadable, no CRS, unknown encoding) with a user-facing message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class VectorData:
    frame: gpd.GeoDataFrame
    srid: int | None
    encoding: str | None
    path: Path
    layer: str | None


def _cpg_encoding(shp: Path) -> str | None:
    cpg = shp.with_suffix(".cpg")
    if not cpg.exists():
        cpg = shp.with_suffix(".CPG")
    if not cpg.exists():
        return None
    value = cpg.read_text(encoding="ascii", errors="ignore").strip()
    if value.lower() in GBK_ALIASES:
        return "GBK"
    if value.lower().replace("-", "") in {"utf8", "65001"}:
        return "UTF-8"
    return value or None


def sniff_dbf_encoding(dbf: Path) -> str:
    """UTF-8 when every record decodes as UTF-8, else GBK when that decodes, else raise."""
    data = dbf.read_bytes()
    if len(data) < 12:
        raise GeoFileError("file", f"{dbf.name} 不是有效的 dBASE 文件 / not a valid .dbf file")
    header_len = struct.unpack("<H", data[8:10])[0]
    body = data[header_len:]
    try:
        body.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        body.decode("gbk")
        return "GBK"
    except UnicodeDecodeError as exc:
        raise GeoFileError(
            "encoding",
            f"{dbf.name} 的属性既不是 UTF-8 也不是 GBK 编码，请提供 .cpg 文件或指定编码 / "
            "attributes are neither UTF-8 nor GBK: add a .cpg file or pass the encoding",
        ) from exc


def shapefile_encoding(shp: Path) -> str:
    return _cpg_encoding(shp) or sniff_dbf_encoding(shp.with_suffix(".dbf"))


def unpack(path: Path, workdir: Path | None = None, limits: ZipLimits | None = None) -> Path:
    """A zip upload (a shapefile with its sidecars, say) → the path of the vector file inside.

    The archive is checked before extraction (entry count, inflated total, compression ratio, zip
    slip, symlinks: core.uploads.zip_check with `limits`) and extracted with a hard byte cap. Pass a
    `workdir` the caller removes; without one a temp directory is made and is the caller's to remove
    (it is the returned file's parent tree)."""
    if path.suffix.lower() != ".zip":
        return path
    target = Path(workdir or tempfile.mkdtemp(prefix="geo_mz_import_"))
    try:
        zip_extract(path, target, limits or ZipLimits(), field="file")
    except UploadError as exc:
        if workdir is None:
            shutil.rmtree(target, ignore_errors=True)
        raise GeoFileError(exc.field, exc.message) from exc
    found = sorted(p for p in target.rglob("*") if p.suffix.lower() in VECTOR_SUFFIXES)
    if not found:
        shutil.rmtree(target, ignore_errors=True)
        raise GeoFileError(
            "file", "压缩包中没有 .shp/.gpkg/.geojson 文件 / the zip holds no .shp, .gpkg or .geojson file"
        )
    return found[0]


def read_vector(
    path: Path | str,
    *,
    layer: str | None = None,
    encoding: str | None = None,
    source_srid: int | None = None,
) -> VectorData:
    """Read a vector file into a GeoDataFrame in its own CRS.

    `source_srid` declares the CRS when the file has none (a shapefile without .prj) or overrides a
    wrong declaration. GeoJSON is lon/lat WGS84 by definition (RFC 7946) unless it says otherwise.
    """
    path = Path(path)
    if not path.exists():
        raise GeoFileError("file", f"文件不存在 / file not found: {path}")
    import geopandas as gpd
    import pyogrio

    if path.suffix.lower() == ".shp" and encoding is None:
        encoding = shapefile_encoding(path)
    try:
        frame = pyogrio.read_dataframe(path, layer=layer, encoding=encoding)
    except Exception as exc:  # pyogrio raises several DataSource/encoding errors
        raise GeoFileError("file", f"无法读取文件 / cannot read {path.name}: {exc}") from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry is None:
        raise GeoFileError("geometry", f"{path.name} 没有几何列 / has no geometry column")
    if source_srid is not None:
        frame = frame.set_crs(epsg=source_srid, allow_override=True)
    if frame.crs is None:
        raise GeoFileError(
            "crs",
            f"{path.name} 未声明坐标系（缺少 .prj），请指定源坐标系 EPSG 代码 / "
            "the file declares no CRS (missing .prj): pass the source EPSG code",
        )
    srid = frame.crs.to_epsg(min_confidence=20)
    return VectorData(frame=frame, srid=srid, encoding=encoding, path=path, layer=layer)

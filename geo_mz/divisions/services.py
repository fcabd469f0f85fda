"""Division services: importers for geometries, codes and population figures.

Every importer:
  1. reads and checks every row without touching the database (per-row errors: row, field, reason);
  2. applies the rows inside one transaction, each row in a savepoint so that a database constraint
     becomes that row's error instead of aborting the report;
  3. commits only when it is not a dry run and no row failed; otherwise rolls everything back.
So a dry run exercises the real constraints, and a failed import leaves zero rows written.

CRS: files come in any CRS they declare (GeoJSON: lon/lat); coordinates picked from Chinese web maps
need an explicit `coordinate_system` ("gcj02"/"bd09"). Geometry is stored in settings.GEO_MZ_SRID.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import IntegrityError, transaction
from shapely.geometry.base import BaseGeometry

from geo_mz.core import crs
from geo_mz.core.db import import_finish
from geo_mz.core.geofile import GeoFileError, read_vector, unpack
from geo_mz.core.importing import ImportReport, RowResult, geometry_of_kind
from geo_mz.core.permissions import require_edit, require_role
from geo_mz.core.upload_files import saved_upload
from geo_mz.divisions import codes as division_codes
from geo_mz.divisions.models import Division, Level

SOURCE_NBS_2023 = "国家统计局2023年统计用区划代码"
SOURCE_CENSUS_2020 = "第七次全国人口普查（2020）"
AGE_SHARE_COLUMNS = (
    "share_60_64",
    "share_65_69",
    "share_70_74",
    "share_75_79",
    "share_80_84",
    "share_85_plus",
)

# Constraint name → (field, message) so a database refusal reads like a validation error.
CONSTRAINT_MESSAGES = {
    "division_code_matches_level": ("code", "区划代码位数与级别不符 / code length does not match the level"),
    "division_geom_valid": ("geometry", "几何无效 / invalid geometry"),
    "division_geom_has_point": ("geometry", "缺少代表点 / a polygon needs a representative point"),
    "division_population_60_le_total": (
        "population_60_plus",
        "60岁及以上人口超过常住人口 / 60+ population exceeds the population",
    ),
    "divisions_division_code_key": ("code", "区划代码重复 / duplicate code"),
}


def _constraint_error(row: RowResult, exc: IntegrityError) -> None:
    text = str(exc)
    for name, (field_name, message) in CONSTRAINT_MESSAGES.items():
        if name in text:
            row.error(field_name, message)
            return
    row.error("row", f"数据库拒绝写入 / database refused the row: {text.splitlines()[0]}")


def _guard(user, codes: Iterable[str]) -> None:
    """`user=None` means a trusted operator on the server (management commands)."""
    if user is not None:
        require_edit(user, "divisions", codes)


def _save_row(row: RowResult, division: Division, user=None) -> bool:
    if user is not None:
        division._history_user = user  # simple_history: who made the change, outside a request too
    try:
        with transaction.atomic():
            division.save()
    except IntegrityError as exc:
        _constraint_error(row, exc)
        return False
    return True


def _clean(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    text = str(value).strip()
    # Numeric codes read from spreadsheets or DBF come back as 421281.0.
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text


# ---------------------------------------------------------------------------------------------------
# Geometries (polygons or representative points)
# ---------------------------------------------------------------------------------------------------


def _to_storage(geom: BaseGeometry, src_srid: int) -> GEOSGeometry:
    dst = settings.GEO_MZ_SRID
    projected = crs.transform_geometry(geom, src_srid, dst)
    out = GEOSGeometry(memoryview(shapely.to_wkb(projected)), srid=dst)
    if out.geom_type == "Polygon":
        out = MultiPolygon(out, srid=dst)
    return out


def _lonlat_checked(row: RowResult, lonlat_geom: BaseGeometry) -> None:
    """Range, swapped-axis and outside-China checks on the geometry's extent in lon/lat."""
    minx, miny, maxx, maxy = lonlat_geom.bounds
    for lon, lat in ((minx, miny), (maxx, maxy)):
        try:
            crs.check_lonlat(lon, lat)
        except crs.CoordinateError as exc:
            row.error("geometry", str(exc), f"{lon:.6f},{lat:.6f}")
            return


def divisions_import_geometries(
    path: Path | str,
    *,
    user=None,
    dry_run: bool = True,
    code_field: str = "code",
    name_field: str = "name",
    layer: str | None = None,
    encoding: str | None = None,
    source_srid: int | None = None,
    coordinate_system: str = "wgs84",
    create_parents: bool = False,
    geometry_source: str = "",
    synthetic: bool = False,
) -> ImportReport:
    """Import division polygons (or representative points) from GeoJSON, GeoPackage or Shapefile.

    Rows are matched by `code_field`. Unknown codes create a division when the row has a name and
    its parent exists (or, with `create_parents`, the file has `city_code/city_name` and
    `province_code/province_name` columns, as the Tianditu county layer does).
    """
    report = ImportReport(kind="division_geometries", source=Path(path).name, dry_run=dry_run)
    try:
        coordinate_system = coordinate_system.lower()
        if coordinate_system not in crs.COORDINATE_SYSTEMS:
            raise GeoFileError(
                "coordinate_system",
                f"未知坐标系 {coordinate_system}，可选 / valid: {', '.join(crs.COORDINATE_SYSTEMS)}",
            )
        # a zip is unpacked (checked, capped: core.uploads) into a directory removed right after reading
        with tempfile.TemporaryDirectory(prefix="geo_mz_unpack_") as work:
            data = read_vector(
                unpack(Path(path), Path(work)), layer=layer, encoding=encoding, source_srid=source_srid
            )
    except GeoFileError as exc:
        report.file_error(exc.field, exc.message)
        return report
    frame = data.frame
    if code_field not in frame.columns:
        report.file_error(
            "code",
            f"缺少代码字段 {code_field} / missing code column; columns: {', '.join(map(str, frame.columns))}",
        )
        return report
    geographic = bool(frame.crs.is_geographic)
    if coordinate_system in ("gcj02", "bd09") and not geographic:
        report.file_error(
            "coordinate_system", "GCJ-02/BD-09 只适用于经纬度坐标 / GCJ-02 and BD-09 apply to lon/lat only"
        )
        return report
    src_srid = data.srid or crs.CGCS2000
    if data.srid is None:
        report.file_error("crs", f"无法识别的坐标系 / unrecognised CRS: {frame.crs.to_string()}")
        return report
    if data.encoding and data.encoding.upper() == "GBK":
        report.source += "（GBK 编码 / GBK encoded）"

    prepared: list[tuple[RowResult, GEOSGeometry, dict[str, str]]] = []
    seen: dict[str, int] = {}
    columns = [c for c in frame.columns if c != frame.geometry.name]
    for index, (geom, *values) in enumerate(zip(frame.geometry, *(frame[c] for c in columns), strict=True)):
        props = {col: _clean(v) for col, v in zip(columns, values, strict=True)}
        code = props.get(code_field, "")
        row = RowResult(row=index + 1, code=code, name=props.get(name_field, ""))
        report.rows.append(row)
        try:
            division_codes.validate_code(code)
        except division_codes.CodeError as exc:
            row.error(code_field, str(exc), code)
        if code in seen:
            row.error(code_field, f"代码与第 {seen[code]} 行重复 / duplicate of row {seen[code]}", code)
        seen.setdefault(code, row.row)
        # polygons, or a representative point (a one-point MultiPoint counts as its point)
        geom = geometry_of_kind(row, geom, "polygon", "point")
        if geom is None:
            continue
        lonlat = geom if geographic else crs.transform_geometry(geom, src_srid, crs.CGCS2000)
        _lonlat_checked(row, lonlat)
        if not shapely.is_valid(geom):
            reason = shapely.is_valid_reason(geom)
            label = "自相交" if "Self-intersection" in reason else "无效"
            row.error("geometry", f"几何{label} / invalid geometry: {reason}")
        if row.errors:
            continue
        if coordinate_system in ("gcj02", "bd09"):
            geom = crs.geometry_to_wgs84(geom, coordinate_system)
        stored = _to_storage(geom, crs.WGS84 if coordinate_system in ("gcj02", "bd09") else src_srid)
        if not stored.valid:
            row.error("geometry", f"投影后几何无效 / invalid after projection: {stored.valid_reason}")
            continue
        prepared.append((row, stored, props))

    if not report.ok and not prepared:
        return report
    with transaction.atomic():
        _guard(user, [r.code for r, _, _ in prepared])
        existing = {d.code: d for d in Division.objects.filter(code__in=[r.code for r, _, _ in prepared])}
        for row, stored, props in prepared:
            division = existing.get(row.code)
            if division is None:
                division = _new_division_from_row(row, props, name_field, stored, create_parents, existing)
                if division is None:
                    continue
                row.action = "create"
            else:
                row.name = row.name or division.name
                if _same_geometry(division, stored):
                    continue
                row.action = "update"
            if stored.geom_type == "Point":
                division.point = stored
            else:
                division.geom = stored
                division.point = stored.point_on_surface
            division.geometry_source = geometry_source or report.source
            division.synthetic = division.synthetic or synthetic
            if _save_row(row, division, user):
                existing[division.code] = division
                _warn_outside_parent(row, division)
        import_finish(report)
    return report


def _same_geometry(division: Division, stored: GEOSGeometry) -> bool:
    current = division.point if stored.geom_type == "Point" else division.geom
    return current is not None and current.equals_exact(stored, 0.001)


def _new_division_from_row(
    row: RowResult,
    props: Mapping[str, str],
    name_field: str,
    stored: GEOSGeometry,
    create_parents: bool,
    existing: dict[str, Division],
) -> Division | None:
    name = props.get(name_field, "")
    if not name:
        row.error(name_field, "区划不存在且未提供名称 / unknown code and no name to create it", row.code)
        return None
    level = division_codes.code_level(row.code)
    parent_code = props.get("parent_code") or division_codes.parent_code_of(row.code)
    if level == Level.COUNTY and props.get("city_code"):
        parent_code = props["city_code"]
    parent = None
    if parent_code:
        parent = existing.get(parent_code) or Division.objects.filter(code=parent_code).first()
        if parent is None and create_parents:
            parent = _parents_create(row, props, stored, existing)
        if parent is None:
            row.error(
                "parent_code",
                f"上级区划 {parent_code} 不存在，请先导入区划代码 / parent {parent_code} does not exist",
                parent_code,
            )
            return None
    return Division(
        code=row.code,
        name=name,
        short_name=props.get("short_name") or division_codes.short_name(name, level),
        level=level,
        parent=parent,
    )


def _parents_create(
    row: RowResult, props: Mapping[str, str], stored: GEOSGeometry, existing: dict[str, Division]
) -> Division | None:
    """Create missing province and city rows named in the file; their point is the child's."""
    parent = None
    for level in ("province", "city"):
        code, name = props.get(f"{level}_code", ""), props.get(f"{level}_name", "")
        if not code or not name:
            return None
        division = existing.get(code) or Division.objects.filter(code=code).first()
        if division is None:
            division = Division(
                code=code,
                name=name,
                short_name=division_codes.short_name(name, level),
                level=level,
                parent=parent,
                point=stored.point_on_surface,
                geometry_source=f"代表点取自下级 {row.code} / point from child {row.code}",
            )
            if not _save_row(row, division):
                return None
            row.warnings.append(f"已创建上级区划 {name}（{code}）/ created parent {code}")
        existing[code] = division
        parent = division
    return parent


def _warn_outside_parent(row: RowResult, division: Division, share: float = 0.005) -> None:
    parent = division.parent
    if division.geom is None or parent is None or parent.geom is None:
        return
    outside = division.geom.difference(parent.geom.buffer(1.0)).area
    if outside > share * division.geom.area:
        row.warnings.append(
            f"有 {outside / 1e6:.3f} 平方千米超出上级区划 {parent.code} / "
            f"{outside / 1e6:.3f} km² lies outside the parent {parent.code}"
        )


# ---------------------------------------------------------------------------------------------------
# Codes (CSV: code,name,level,parent_code)
# ---------------------------------------------------------------------------------------------------


def _read_csv(path_or_text: Path | str | bytes) -> tuple[list[dict[str, str]], str]:
    """Rows of a CSV file as dicts (UTF-8 with or without BOM, else GBK). Returns rows and encoding."""
    raw = path_or_text if isinstance(path_or_text, bytes) else Path(path_or_text).read_bytes()
    for encoding in ("utf-8-sig", "gbk"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise GeoFileError("encoding", "CSV 既不是 UTF-8 也不是 GBK 编码 / CSV is neither UTF-8 nor GBK")
    reader = csv.DictReader(io.StringIO(text))
    rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in reader]
    return rows, "UTF-8" if encoding == "utf-8-sig" else "GBK"


def divisions_import_codes(
    path: Path | str, *, user=None, dry_run: bool = True, source: str = SOURCE_NBS_2023
) -> ImportReport:
    """Import official codes and names: columns code, name, level (optional), parent_code."""
    report = ImportReport(kind="division_codes", source=Path(path).name, dry_run=dry_run)
    try:
        rows, _encoding = _read_csv(path)
    except GeoFileError as exc:
        report.file_error(exc.field, exc.message)
        return report
    required = {"code", "name", "parent_code"}
    if rows and not required <= set(rows[0]):
        report.file_error("header", f"缺少列 / missing columns: {', '.join(sorted(required - set(rows[0])))}")
        return report

    seen: dict[str, int] = {}
    valid: list[tuple[RowResult, dict[str, str], str]] = []
    for line, record in enumerate(rows, start=2):
        code, name = record.get("code", ""), record.get("name", "")
        row = RowResult(row=line, code=code, name=name)
        report.rows.append(row)
        level = record.get("level") or ""
        try:
            division_codes.validate_code(code, level or None, record.get("parent_code") or None)
        except division_codes.CodeError as exc:
            row.error(exc.field, str(exc), record.get(exc.field, code))
        if not name:
            row.error("name", "名称为空 / name is empty")
        if code in seen:
            row.error("code", f"代码与第 {seen[code]} 行重复 / duplicate of line {seen[code]}", code)
        else:
            seen[code] = line
        if not row.errors:
            valid.append((row, record, level or division_codes.code_level(code)))

    valid.sort(key=lambda item: (division_codes.level_rank(item[2]), item[0].code))
    with transaction.atomic():
        _guard(user, [r.code for r, _, _ in valid])
        known = {d.code: d for d in Division.objects.filter(code__in=[r.code for r, _, _ in valid])}
        parents_needed = {rec["parent_code"] for _, rec, _ in valid} - set(known)
        known.update({d.code: d for d in Division.objects.filter(code__in=parents_needed)})
        for row, record, level in valid:
            parent_code = record.get("parent_code", "")
            parent = known.get(parent_code)
            if parent_code and parent is None:
                row.error(
                    "parent_code",
                    f"上级区划 {parent_code} 不存在（文件和数据库中都没有）/ parent {parent_code} "
                    "is neither in the file nor in the database",
                    parent_code,
                )
                continue
            display = division_codes.clean_village_name(row.name) if level == Level.VILLAGE else row.name
            fields = {
                "name": display,
                "statistical_name": row.name,
                "short_name": division_codes.short_name(row.name, level),
                "level": level,
                "parent": parent,
            }
            division = known.get(row.code)
            if division is None:
                division = Division(code=row.code, **fields)
                row.action = "create"
            else:
                changed = {k: v for k, v in fields.items() if getattr(division, k) != v}
                # A county's display name and short name may be curated; codes only fill blanks.
                if division.statistical_name and "short_name" in changed:
                    changed.pop("short_name")
                if not changed:
                    continue
                for key, value in changed.items():
                    setattr(division, key, value)
                row.action = "update"
            if _save_row(row, division, user):
                known[row.code] = division
        import_finish(report)
    return report


# ---------------------------------------------------------------------------------------------------
# Figures: population, 60+ population, households (census CSV or records)
# ---------------------------------------------------------------------------------------------------


def _int_field(row: RowResult, record: Mapping[str, Any], name: str) -> int | None:
    raw = _clean(record.get(name))
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        row.error(name, f"不是数字 / not a number: {raw}", raw)
        return None
    if value < 0 or value != int(value):
        row.error(name, f"必须是非负整数 / must be a non-negative integer: {raw}", raw)
        return None
    return int(value)


def divisions_import_figures(
    source_rows: Path | str | Iterable[Mapping[str, Any]],
    *,
    user=None,
    dry_run: bool = True,
    source: str = SOURCE_CENSUS_2020,
    year: int = 2020,
    label: str | None = None,
) -> ImportReport:
    """Set population, 60+ population and households, each with its source and year.

    Accepted columns: code (or adcode), population, population_60_plus, households, and optionally
    the census age shares share_60_64 … share_85_plus, from which 60+ = round(population × Σ shares).
    Optional per-row `source` and `year` columns override the arguments.
    """
    if isinstance(source_rows, Path | str):
        label = label or Path(source_rows).name
        try:
            rows, _ = _read_csv(source_rows)
        except GeoFileError as exc:
            report = ImportReport(kind="division_figures", source=label, dry_run=dry_run)
            report.file_error(exc.field, exc.message)
            return report
        start = 2
    else:
        rows, start = [dict(r) for r in source_rows], 1
    report = ImportReport(kind="division_figures", source=label or "records", dry_run=dry_run)

    parsed: list[tuple[RowResult, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for line, record in enumerate(rows, start=start):
        code = _clean(record.get("code") or record.get("adcode"))
        row = RowResult(row=line, code=code, name=_clean(record.get("name")))
        report.rows.append(row)
        if not code:
            row.error("code", "缺少区划代码 / missing code")
            continue
        if code in seen:
            row.error("code", f"代码与第 {seen[code]} 行重复 / duplicate of row {seen[code]}", code)
        seen.setdefault(code, line)
        population = _int_field(row, record, "population")
        older = _int_field(row, record, "population_60_plus")
        households = _int_field(row, record, "households")
        shares = [record.get(c) for c in AGE_SHARE_COLUMNS]
        if older is None and population is not None and all(_clean(s) for s in shares):
            try:
                total_share = sum(float(s) for s in shares)  # type: ignore[arg-type]
            except ValueError:
                row.error("share_60_64", "年龄构成比例不是数字 / age shares must be numbers")
                total_share = 0.0
            if not 0 <= total_share <= 1:
                row.error(
                    "share_60_64", f"年龄构成比例之和 {total_share:.4f} 不在 0–1 / shares must sum to 0–1"
                )
            older = round(population * total_share)
        if population is not None and older is not None and older > population:
            row.error(
                "population_60_plus", f"60岁及以上人口 {older} 超过常住人口 {population} / exceeds population"
            )
        row_source = _clean(record.get("source")) or source
        try:
            row_year = int(float(_clean(record.get("year")) or year))
        except ValueError:
            row.error("year", "年份无效 / invalid year", record.get("year"))
            row_year = year
        if not row.errors:
            parsed.append(
                (
                    row,
                    {
                        "population": population,
                        "population_60_plus": older,
                        "households": households,
                        "source": row_source,
                        "year": row_year,
                    },
                )
            )

    with transaction.atomic():
        _guard(user, [r.code for r, _ in parsed])
        divisions = {d.code: d for d in Division.objects.filter(code__in=[r.code for r, _ in parsed])}
        for row, figures in parsed:
            division = divisions.get(row.code)
            if division is None:
                row.error("code", f"区划 {row.code} 不存在 / unknown division code", row.code)
                continue
            row.name = row.name or division.name
            changed = False
            for field_name in ("population", "population_60_plus", "households"):
                value = figures[field_name]
                if value is None:
                    continue
                new = {
                    field_name: value,
                    f"{field_name}_source": figures["source"],
                    f"{field_name}_year": figures["year"],
                }
                for key, new_value in new.items():
                    if getattr(division, key) != new_value:
                        setattr(division, key, new_value)
                        changed = True
            if changed:
                row.action = "update"
                _save_row(row, division, user)
        import_finish(report)
    return report


def divisions_import_upload(data: Mapping[str, Any], user) -> ImportReport:
    """An uploaded file (API or web form): checked and saved to a temp dir (removed afterwards), then
    the importer `data["kind"]` (geometries | codes | figures) runs with the options in `data`."""
    require_role(user, "divisions")  # before a byte of the upload is read
    upload = data["file"]
    with saved_upload(upload) as path:
        report = divisions_import_path(path, data, user)
    report.source = Path(upload.name or "").name
    return report


def divisions_import_path(path: Path, data: Mapping[str, Any], user) -> ImportReport:
    """Run the importer `data["kind"]` on a file on disk (also from a background job)."""
    kind = data["kind"]
    if kind == "geometries":
        return divisions_import_geometries(
            path,
            user=user,
            dry_run=data["dry_run"],
            code_field=data.get("code_field") or "code",
            name_field=data.get("name_field") or "name",
            source_srid=data.get("srid"),
            encoding=data.get("encoding") or None,
            coordinate_system=data.get("coordinate_system") or "wgs84",
        )
    if kind == "codes":
        return divisions_import_codes(path, user=user, dry_run=data["dry_run"])
    return divisions_import_figures(
        path,
        user=user,
        dry_run=data["dry_run"],
        source=data.get("source") or SOURCE_CENSUS_2020,
        year=data.get("year") or 2020,
    )

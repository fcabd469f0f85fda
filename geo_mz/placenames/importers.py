"""Place-name importers, all-or-nothing with a per-row report (see divisions/services.py for the pattern):

* `road_network_import`: a road network as GeoJSON/GeoPackage layers — segments (the network edges),
  named roads with their name histories, and road signs. The demo county is loaded through it.
* `placenames_import_table`: existing names from Excel (.xlsx) or CSV, one row per name, with a
  point location in lon/lat (optionally GCJ-02/BD-09) or the code of an existing feature.

Rows are checked first, then written inside one transaction with a savepoint per row, so a database
constraint becomes that row's error. A dry run, or any error, rolls everything back.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiLineString, Point
from django.core.exceptions import ValidationError
from django.db import transaction

from geo_mz.core import crs
from geo_mz.core.db import import_finish
from geo_mz.core.importing import GEOMETRY_FIELD, ImportReport, RowResult, geometry_of_kind
from geo_mz.core.limits import MAX_NAME_CHARS
from geo_mz.core.models import LifecycleStatus
from geo_mz.core.tables import RowRejected as _RowRejected
from geo_mz.core.tables import cell_date as _date
from geo_mz.core.tables import cell_text as _text
from geo_mz.core.tables import column_map, read_table, row_savepoint
from geo_mz.divisions.models import Division
from geo_mz.placenames import location_checks, services
from geo_mz.placenames.models import FeatureKind, NamedFeature, RoadSegment, RoadSign

TABLE_COLUMNS = {
    "name": ("标准名称", "名称", "name"),
    "kind": ("类别", "地名类别", "kind"),
    "division_code": ("所属行政区划代码", "区划代码", "division_code"),
    "lon": ("经度", "东经", "lon"),
    "lat": ("纬度", "北纬", "lat"),
    "feature_code": ("编码", "feature_code"),
    "specific": ("专名", "specific"),
    "generic": ("通名", "generic"),
    "reading": ("读音校正", "reading"),
    "road_class": ("道路等级", "road_class"),
    "width_m": ("宽度", "宽度(米)", "宽度（米）", "width_m"),
    "start_desc": ("起点", "start_desc"),
    "end_desc": ("止点", "end_desc"),
    "location_desc": ("位置描述", "location_desc"),
    "meaning": ("含义", "meaning"),
    "history_text": ("历史沿革", "history_text"),
    "decision_number": ("批准文号", "decision_number"),
    "decided_on": ("批准日期", "批准时间", "decided_on"),
    "approving_body": ("批准机关", "approving_body"),
}
KIND_LABELS = {
    "道路": "road",
    "街": "street",
    "街巷": "street",
    "巷": "alley",
    "桥梁": "bridge",
    "广场": "square",
    "小区": "compound",
    "居民区": "compound",
    "自然村": "natural_village",
    "公园": "park",
}
TEMPLATE_HEADER = [
    "标准名称",
    "类别",
    "所属行政区划代码",
    "经度",
    "纬度",
    "专名",
    "通名",
    "道路等级",
    "宽度（米）",
    "起点",
    "止点",
    "含义",
    "批准文号",
    "批准日期",
    "批准机关",
    "读音校正",
]


def _savepoint(row: RowResult, fn) -> Any:
    return row_savepoint(row, fn, services.integrity_message)


# ---------------------------------------------------------------------------------------------------
# Road network (GeoJSON): segments, roads with name histories, signs
# ---------------------------------------------------------------------------------------------------


def _features(path: Path) -> list[dict]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("type") != "FeatureCollection":
        raise ValidationError({"file": f"{Path(path).name} 不是 GeoJSON FeatureCollection"})
    return data["features"]


def _storage(geojson_geometry: dict | None, row: RowResult, kind: str) -> GEOSGeometry | None:
    """A GeoJSON geometry in lon/lat as GEOS in the storage CRS, or None with the row's error: not
    of the layer's `kind` ("line", "point"; core.importing.geometry_of_kind), unreadable, outside
    China or invalid."""
    try:
        geom = shapely.geometry.shape(geojson_geometry) if geojson_geometry else None
    except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.ShapelyError) as exc:
        row.error(GEOMETRY_FIELD, f"无法读取几何 / unreadable geometry: {exc}")
        return None
    geom = geometry_of_kind(row, geom, kind)
    if geom is None:
        return None
    minx, miny, maxx, maxy = geom.bounds
    for lon, lat in ((minx, miny), (maxx, maxy)):
        try:
            crs.check_lonlat(lon, lat)
        except crs.CoordinateError as exc:
            row.error("geometry", str(exc), f"{lon:.6f},{lat:.6f}")
            return None
    if not geom.is_valid:
        row.error("geometry", f"几何无效 / invalid geometry: {shapely.is_valid_reason(geom)}")
        return None
    projected = crs.transform_geometry(geom, crs.CGCS2000, settings.GEO_MZ_SRID)
    return GEOSGeometry(memoryview(shapely.to_wkb(projected)), srid=settings.GEO_MZ_SRID)


def road_network_import(
    segments_path: Path | str,
    roads_path: Path | str | None = None,
    signs_path: Path | str | None = None,
    *,
    dry_run: bool = True,
    synthetic: bool = False,
    user=None,
) -> ImportReport:
    """Import a road network from GeoJSON (lon/lat, EPSG:4490/4326). Existing codes are left
    unchanged (re-running is harmless). Properties: see gis_data/README.md (road network)."""
    report = ImportReport(kind="road_network", source=Path(segments_path).name, dry_run=dry_run)
    services.feature_kinds_ensure()
    kinds = {k.code: k for k in FeatureKind.objects.all()}
    townships = {d.code: d for d in Division.objects.filter(level="township")}
    with transaction.atomic():
        roads: dict[str, NamedFeature] = {f.code: f for f in NamedFeature.objects.all()}
        if roads_path is not None:
            for index, feature in enumerate(_features(Path(roads_path)), start=1):
                props = feature.get("properties") or {}
                code = props.get("road_id", "")
                current = (props.get("names") or [{}])[-1]
                row = RowResult(row=index, code=code, name=current.get("name", ""))
                report.rows.append(row)
                if code in roads:
                    continue
                kind = kinds.get(props.get("kind", "road"))
                if kind is None:
                    row.error("kind", f"未知地名类别 {props.get('kind')} / unknown kind")
                division_codes = props.get("division_codes") or []
                if not division_codes or any(c not in townships for c in division_codes):
                    row.error("division_codes", f"未知乡级区划 / unknown township code(s): {division_codes}")
                if not props.get("names"):
                    row.error("names", "缺少名称 / no names")
                geom = _storage(feature.get("geometry"), row, "line")
                if row.errors:
                    continue

                def create(props=props, geom=geom, kind=kind, code=code, row=row):
                    if geom.geom_type == "LineString":
                        geom = MultiLineString(geom, srid=geom.srid)
                    road = services.feature_create(
                        kind=kind,
                        geom=geom,
                        code=code,
                        status=LifecycleStatus.ACTIVE,
                        road_class=props.get("road_class", ""),
                        width_m=props.get("width_m"),
                        start_desc=props.get("start_desc", ""),
                        end_desc=props.get("end_desc", ""),
                        synthetic=synthetic,
                        user=user,
                    )
                    previous = None
                    for entry in props["names"]:
                        decided_on = dt.date.fromisoformat(entry["approved_on"])
                        decision = services.decision_get_or_create(
                            entry["decision_number"], decided_on, entry["approving_body"]
                        )
                        retired_on = entry.get("retired_on")
                        previous = services.name_register(
                            road,
                            name=entry["name"],
                            specific=entry.get("specific", ""),
                            generic=entry.get("generic", ""),
                            decision=decision,
                            valid_from=decided_on,
                            valid_to=dt.date.fromisoformat(retired_on) if retired_on else None,
                            meaning=entry.get("meaning", ""),
                            previous=previous,
                            user=user,
                        )
                    row.action = "create"
                    return road

                road = _savepoint(row, create)
                if road is not None:
                    roads[code] = road
        existing_segments = set(RoadSegment.objects.values_list("code", flat=True))
        new_segments = []
        for index, feature in enumerate(_features(Path(segments_path)), start=1):
            props = feature.get("properties") or {}
            code = props.get("segment_id", "")
            row = RowResult(row=index, code=code)
            report.rows.append(row)
            if code in existing_segments:
                continue
            road_id = props.get("road_id")
            if road_id and road_id not in roads:
                row.error("road_id", f"道路 {road_id} 不存在 / unknown road")
            division = townships.get(props.get("township_code", ""))
            if division is None:
                row.error("township_code", f"未知乡级区划 / unknown township: {props.get('township_code')}")
            geom = _storage(feature.get("geometry"), row, "line")
            if geom is not None and geom.geom_type != "LineString":  # a segment is one network edge
                row.error(
                    GEOMETRY_FIELD,
                    f"路段应为单条线（LineString），收到 {geom.geom_type} / a segment must be one "
                    f"LineString, got {geom.geom_type}",
                )
            if row.errors:
                continue
            segment = RoadSegment(
                code=code,
                geom=geom,
                feature=roads.get(road_id) if road_id else None,
                road_class=props.get("road_class", ""),
                width_m=props.get("width_m"),
                division=division,
                synthetic=synthetic,
                length_m=round(geom.length, 2),
            )
            new_segments.append(segment)
            row.action = "create"
        if new_segments and report.ok:
            RoadSegment.objects.bulk_create(new_segments, batch_size=1000)
        if signs_path is not None:
            existing_signs = set(RoadSign.objects.values_list("code", flat=True))
            for index, feature in enumerate(_features(Path(signs_path)), start=1):
                props = feature.get("properties") or {}
                code = props.get("sign_id", "")
                row = RowResult(row=index, code=code, name=props.get("text", ""))
                report.rows.append(row)
                if code in existing_signs:
                    continue
                road = roads.get(props.get("road_id") or "")
                if props.get("road_id") and road is None:
                    row.error("road_id", f"道路 {props.get('road_id')} 不存在 / unknown road")
                geom = _storage(feature.get("geometry"), row, "point")
                installed_on = _date(row, "installed_on", props.get("installed_on"))
                if row.errors:
                    continue
                name = road.current_name if road else None

                def create_sign(
                    props=props, geom=geom, road=road, name=name, installed_on=installed_on, code=code
                ):
                    sign = RoadSign(
                        code=code,
                        sign_type=props.get("sign_type", "路牌"),
                        feature=road,
                        text=props.get("text", ""),
                        pinyin_text=name.romanization if name and name.name == props.get("text") else "",
                        point=geom,
                        installed_on=installed_on,
                        condition=props.get("condition", "完好"),
                        synthetic=synthetic,
                    )
                    sign.full_clean(exclude=["photo"])
                    sign.save()
                    return sign

                if _savepoint(row, create_sign) is not None:
                    row.action = "create"
        import_finish(report)
    return report


# ---------------------------------------------------------------------------------------------------
# Existing names from Excel/CSV
# ---------------------------------------------------------------------------------------------------


def placenames_import_table(
    path: Path | str,
    *,
    dry_run: bool = True,
    coordinate_system: str = "wgs84",
    user=None,
) -> ImportReport:
    """Import names approved before the system existed. Each row creates a feature (point location
    from lon/lat) or names an existing feature (编码) that has no name in force. Every name passes the
    input rules (script, structure) and the duplicate rules against the database and earlier rows."""
    path = Path(path)
    report = ImportReport(kind="placenames_table", source=path.name, dry_run=dry_run)
    try:
        header, rows = read_table(path)
    except ValidationError as exc:
        report.file_error("file", exc.messages[0])
        return report
    if coordinate_system not in crs.COORDINATE_SYSTEMS:
        report.file_error("coordinate_system", f"未知坐标系 {coordinate_system}")
        return report
    columns = column_map(header, TABLE_COLUMNS)
    missing = [TABLE_COLUMNS[f][0] for f in ("name", "division_code") if f not in columns]
    if missing:
        report.file_error(
            "header", f"缺少列 / missing columns: {', '.join(missing)}；表头 / header: {', '.join(header)}"
        )
        return report
    services.feature_kinds_ensure()
    kinds = {k.code: k for k in FeatureKind.objects.all()}
    seen: dict[tuple[str, str], int] = {}
    with transaction.atomic():
        # the rows are checked against the names in force: no approval may write one meanwhile
        services.names_lock(settings.GEO_MZ_COUNTY_CODE)
        for offset, values in enumerate(rows, start=2):
            get = {f: (values[i] if i < len(values) else None) for f, i in columns.items()}
            name = _text(get.get("name"))
            row = RowResult(row=offset, name=name, code=_text(get.get("division_code")))
            report.rows.append(row)
            kind_text = _text(get.get("kind")) or "road"
            kind = kinds.get(KIND_LABELS.get(kind_text, kind_text))
            if kind is None:
                row.error("类别", f"未知地名类别“{kind_text}” / unknown kind", kind_text)
            division_code = row.code
            if not division_code:
                row.error("所属行政区划代码", "不能为空 / required")
            if len(name) > MAX_NAME_CHARS:  # bounded work for the rule engine (issue 14)
                row.error(
                    "标准名称",
                    f"不能超过 {MAX_NAME_CHARS} 个字符 / at most {MAX_NAME_CHARS}",
                    name[:20] + "…",
                )
            key = (name, division_code[:6])
            if name and key in seen:
                row.error("标准名称", f"与第 {seen[key]} 行重名 / duplicate of row {seen[key]}", name)
            seen.setdefault(key, offset)
            width = _text(get.get("width_m"))
            width_m = None
            if width:
                try:
                    width_m = float(width)
                    if width_m <= 0:
                        raise ValueError
                except ValueError:
                    row.error("宽度", "应为正数（米）/ must be a positive number of metres", width)
            point = None
            feature = None
            feature_code = _text(get.get("feature_code"))
            if feature_code:
                feature = NamedFeature.objects.filter(code=feature_code).first()
                if feature is None:
                    row.error("编码", f"地名实体 {feature_code} 不存在 / unknown feature", feature_code)
            elif kind is not None and kind.is_road:
                # A road's geometry is a line (numbering, sign ends and exports measure along it): a
                # lon/lat point cannot stand in for it.
                row.error(
                    "经度/纬度",
                    "道路须为线要素：请以路网文件导入几何，或填写编码关联现有道路 / a road needs a line: "
                    "import it from a road network file, or give the code of an existing road",
                    kind_text,
                )
            else:
                lon_text, lat_text = _text(get.get("lon")), _text(get.get("lat"))
                try:
                    lon, lat = float(lon_text), float(lat_text)
                    lon, lat = crs.to_wgs84(lon, lat, coordinate_system)
                    crs.check_lonlat(lon, lat)
                    x, y = crs.lonlat_to_projected(lon, lat, settings.GEO_MZ_SRID)
                    point = Point(x, y, srid=settings.GEO_MZ_SRID)
                except ValueError:
                    row.error(
                        "经度/纬度",
                        "须为数字，或填写编码以关联现有实体 / lon/lat must be numbers",
                        f"{lon_text},{lat_text}",
                    )
                except crs.CoordinateError as exc:
                    row.error("经度/纬度", str(exc), f"{lon_text},{lat_text}")
            decided_on = _date(row, "批准日期", get.get("decided_on"))
            if row.errors:
                continue

            def create(
                get=get,
                kind=kind,
                point=point,
                feature=feature,
                width_m=width_m,
                decided_on=decided_on,
                row=row,
                name=name,
                division_code=division_code,
            ):
                parts = services.name_parts(
                    name,
                    kind=kind,
                    specific=_text(get.get("specific")),
                    generic=_text(get.get("generic")),
                    reading=_text(get.get("reading")),
                )
                proposal = services.proposal_build(
                    name=parts.name,
                    division_code=division_code,
                    kind=kind.code,
                    specific=parts.specific,
                    generic=parts.generic,
                    point=point,
                    reading=parts.reading,
                )
                findings = services.placename_check(proposal)
                for finding in findings:
                    if finding.severity == "error":
                        row.error("标准名称", finding.message, name)
                    elif finding.severity == "warning":
                        row.warnings.append(f"{finding.rule_id}: {finding.message}")
                if row.errors:
                    raise _RowRejected
                target = feature
                if target is None:
                    target = services.feature_create(
                        kind=kind,
                        geom=point,
                        division_code=division_code,
                        status=LifecycleStatus.ACTIVE,
                        road_class=_text(get.get("road_class")),
                        width_m=width_m,
                        start_desc=_text(get.get("start_desc")),
                        end_desc=_text(get.get("end_desc")),
                        location_desc=_text(get.get("location_desc")),
                        user=user,
                    )
                elif target.current_name is not None:
                    raise ValidationError(
                        {"编码": f"{target.code} 已有现行名称“{target.current_name}”，更名请走更名案件"}
                    )
                else:
                    services._guard(user, [target.division.code])
                    location_checks.feature_location_check(user, [target])
                decision = None
                if _text(get.get("decision_number")):
                    decision = services.decision_get_or_create(
                        _text(get.get("decision_number")), decided_on, _text(get.get("approving_body"))
                    )
                services.name_register(
                    target,
                    name=parts.name,
                    specific=parts.specific,
                    generic=parts.generic,
                    reading=parts.reading,
                    decision=decision,
                    valid_from=decided_on,
                    meaning=_text(get.get("meaning")),
                    history_text=_text(get.get("history_text")),
                    user=user,
                )
                row.action = "create"
                return True

            _savepoint(row, create)
        import_finish(report)
    return report


def table_template_csv() -> bytes:
    """A downloadable CSV template (UTF-8 with BOM so Excel opens it correctly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TEMPLATE_HEADER)
    writer.writerow(
        [
            "温泉路",
            "道路",
            "421281003",
            "113.9123",
            "29.7012",
            "温泉",
            "路",
            "次干路",
            "24",
            "起于陆水湖大道",
            "止于温泉大道",
            "因途经温泉得名",
            "赤政函〔2015〕8号",
            "2015-04-20",
            "赤壁市人民政府",
            "",
        ]
    )
    return buffer.getvalue().encode("utf-8-sig")


def placenames_import_upload(
    upload, *, dry_run: bool, coordinate_system: str = "wgs84", user=None
) -> ImportReport:
    """Run `placenames_import_table` on an uploaded file (web form or API): the role is checked
    before the upload is read, and the temp copy is removed afterwards (core.upload_files)."""
    from geo_mz.core.permissions import require_role
    from geo_mz.core.upload_files import saved_upload

    if user is not None:
        require_role(user, services.APP)
    with saved_upload(upload) as path:
        report = placenames_import_table(
            path, dry_run=dry_run, coordinate_system=coordinate_system, user=user
        )
    report.source = Path(upload.name or "").name
    return report

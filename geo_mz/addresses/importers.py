"""House-number import and export.

`addresses_import` reads existing house numbers (numbered before the system, or by another agency)
from Excel, CSV (UTF-8 or GBK) or a GeoPackage of points. It is all-or-nothing with a per-row report:
every row is checked (road known, number readable, no duplicate in the file, not already active,
entrance near its road) and written in a savepoint; a dry run or any error rolls everything back.
Excel and CSV tables, and vector files (GeoPackage, Shapefile, GeoJSON) with more than BULK_THRESHOLD
features, go to the set-based importer `bulk.addresses_import_bulk` instead: the same rules and
messages, COPY and SQL (a 5,000-row sheet: seconds instead of 5 minutes). The row-by-row path stays
for small vector files and as the reference the bulk importer is tested against (`bulk=False`).

`addresses_export_xlsx` / `addresses_export_gpkg` write the active addresses (no owner data).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction

from geo_mz.addresses import documents, services
from geo_mz.addresses.models import Address, AddressKind, VillageCampaign
from geo_mz.addresses.parse import normalize
from geo_mz.core import crs
from geo_mz.core.db import import_finish
from geo_mz.core.importing import ImportReport, RowResult
from geo_mz.core.models import DecisionDocument, LifecycleStatus
from geo_mz.core.permissions import SYSTEM, require_role
from geo_mz.core.tables import (
    RowRejected,
    cell_date,
    cell_text,
    lonlat_cells,
    row_savepoint,
    table_rows,
)
from geo_mz.core.upload_files import saved_upload
from geo_mz.divisions.models import Division, Level
from geo_mz.placenames.models import PlaceName

COLUMNS: dict[str, tuple[str, ...]] = {
    "kind": ("类型", "门牌类型", "kind"),
    "place": ("道路/小区", "道路", "街路巷", "小区", "road"),
    "number": ("门牌号", "号", "number"),
    "building": ("幢", "楼栋", "building"),
    "unit": ("单元", "unit"),
    "room": ("室", "room"),
    "village": ("村", "村（社区）", "village"),
    "group": ("组/自然村", "组", "自然村", "group"),
    "lon": ("经度", "lon"),
    "lat": ("纬度", "lat"),
    "valid_from": ("启用日期", "valid_from"),
    "decision_number": ("批准文号", "decision_number"),
    "use": ("用途", "use"),
}
KIND_ALIASES = {
    "": AddressKind.ROAD,
    "道路": AddressKind.ROAD,
    "道路门牌": AddressKind.ROAD,
    "road": AddressKind.ROAD,
    "小区": AddressKind.COMPOUND,
    "小区楼栋门牌": AddressKind.COMPOUND,
    "compound": AddressKind.COMPOUND,
    "农村": AddressKind.RURAL,
    "农村门牌": AddressKind.RURAL,
    "rural": AddressKind.RURAL,
}
TEMPLATE_HEADER = [
    "类型",
    "道路/小区",
    "门牌号",
    "幢",
    "单元",
    "室",
    "村",
    "组/自然村",
    "经度",
    "纬度",
    "启用日期",
    "批准文号",
    "用途",
]


def _rows_from_file(path: Path, report: ImportReport) -> Iterator[tuple[int, dict[str, Any]]] | None:
    return table_rows(path, report, COLUMNS, required=("number",))


def _number(row: RowResult, value: Any) -> tuple[int | None, str]:
    text = cell_text(value)
    if not text:
        row.error("门牌号", "不能为空 / required")
        return None, ""
    head, sep, tail = text.partition("之")  # 之一: the numeral after 之 is the suffix, keep it
    head = head if head.endswith("号") else f"{head}号"
    try:
        return services.parse_number(normalize(head) + sep + tail)
    except ValueError as exc:
        row.error("门牌号", str(exc), text)
        return None, ""


def _int(row: RowResult, field_name: str, value: Any) -> int | None:
    text = cell_text(value)
    if not text:
        return None
    try:
        number = int(normalize(text).rstrip("幢栋号楼单元"))
        if number < 1:
            raise ValueError
        return number
    except ValueError:
        row.error(field_name, "应为正整数 / must be a positive whole number", text)
        return None


def _point(row: RowResult, values: dict, coordinate_system: str) -> Point | None:
    return lonlat_cells(row, values, coordinate_system, srid=settings.GEO_MZ_SRID)


def _features_by_name(compound: bool) -> dict[str, list[int]]:
    names = PlaceName.objects.filter(
        status=LifecycleStatus.ACTIVE, feature__division__code__startswith=settings.GEO_MZ_COUNTY_CODE
    )
    names = (
        names.filter(feature__kind__code="compound")
        if compound
        else names.filter(feature__kind__is_road=True)
    )
    found: dict[str, list[int]] = {}
    for name, fid in names.values_list("name", "feature_id"):
        found.setdefault(name, []).append(fid)
    return found


#: Vector files with more features than this are imported set-based (bulk.addresses_import_bulk).
BULK_THRESHOLD = 2_000


def _bulk_wanted(path: Path) -> bool:
    from geo_mz.addresses import bulk, tabular

    if tabular.is_table_file(path):
        return True
    if not bulk.is_vector_file(path):
        return False
    count = bulk.vector_feature_count(path)
    return count is not None and count > BULK_THRESHOLD


def addresses_import(
    path: Path | str,
    *,
    dry_run: bool = True,
    coordinate_system: str = "wgs84",
    user=None,
    bulk: bool | None = None,
    progress=None,
) -> ImportReport:
    """Import house numbers, all or nothing, with a per-row report.

    `bulk`: None chooses (tables, and vector files above BULK_THRESHOLD features, go to the set-based
    importer), True forces the bulk importer, False the row-by-row one. `progress(done,
    total, message)` is called now and then (row-by-row: every 500 rows, total unknown).
    """
    path = Path(path)
    if bulk is None:
        bulk = _bulk_wanted(path)
    if bulk:
        from geo_mz.addresses.bulk import addresses_import_bulk

        return addresses_import_bulk(
            path, dry_run=dry_run, coordinate_system=coordinate_system, user=user, progress=progress
        )
    report = ImportReport(kind="addresses", source=path.name, dry_run=dry_run)
    if coordinate_system not in crs.COORDINATE_SYSTEMS:
        report.file_error("coordinate_system", f"未知坐标系 {coordinate_system}")
        return report
    rows = _rows_from_file(path, report)
    if rows is None:
        return report
    roads, compounds = _features_by_name(False), _features_by_name(True)
    villages = {
        v.name: v
        for v in Division.objects.filter(level=Level.VILLAGE, code__startswith=settings.GEO_MZ_COUNTY_CODE)
    }
    max_offset = services.numbering_rules().max_offset_m
    seen: dict[tuple, int] = {}
    with transaction.atomic():
        for offset, values in rows:
            if progress is not None and offset % 500 == 0:
                progress(offset, None, "逐行校验并写入 / checking and writing row by row")
            row = RowResult(row=offset)
            report.rows.append(row)
            kind = KIND_ALIASES.get(cell_text(values.get("kind")))
            if kind is None:
                row.error(
                    "类型",
                    "应为 道路、小区 或 农村 / kind must be road, compound or rural",
                    values.get("kind"),
                )
                continue
            place = cell_text(values.get("place"))
            row.name = place
            feature_id = village = None
            building = unit = None
            room = group = ""
            if kind == AddressKind.RURAL:
                village = villages.get(cell_text(values.get("village")))
                group = normalize(cell_text(values.get("group")))
                if village is None:
                    row.error("村", "本县没有这个村（社区）/ unknown village", values.get("village"))
                if not group:
                    row.error("组/自然村", "不能为空 / required")
            else:
                ids = (compounds if kind == AddressKind.COMPOUND else roads).get(place, [])
                if not ids:
                    row.error(
                        "道路/小区",
                        f"“{place}”不是本县现行的{'小区' if kind == AddressKind.COMPOUND else '道路街巷'}名称 / unknown",
                        place,
                    )
                elif len(ids) > 1:
                    row.error(
                        "道路/小区",
                        f"“{place}”有 {len(ids)} 条同名道路，请先在地名中消除重名 / ambiguous",
                        place,
                    )
                else:
                    feature_id = ids[0]
            if kind == AddressKind.COMPOUND:
                building = _int(row, "幢", values.get("building"))
                unit = _int(row, "单元", values.get("unit"))
                room = normalize(cell_text(values.get("room"))).rstrip("室")
                number, suffix = (building, "") if building else (None, "")
                if building is None and not row.errors:
                    row.error("幢", "小区门牌须填写楼栋号 / the building number is required")
            else:
                number, suffix = _number(row, values.get("number"))
            point = _point(row, values, coordinate_system)
            valid_from = cell_date(row, "启用日期", values.get("valid_from"))
            key = (kind, feature_id, village.pk if village else None, group, number, suffix, unit, room)
            label = services.number_text(number, suffix) if kind != AddressKind.COMPOUND else f"{building}幢"
            row.code = label
            if number is not None and key in seen:
                row.error(
                    "门牌号",
                    f"{place or group}{label} 与第 {seen[key]} 行重复 / duplicate of row {seen[key]}",
                )
            seen.setdefault(key, offset)
            if row.errors:
                continue

            def create(
                row=row,
                kind=kind,
                feature_id=feature_id,
                village=village,
                group=group,
                number=number,
                suffix=suffix,
                building=building,
                unit=unit,
                room=room,
                point=point,
                valid_from=valid_from,
                values=values,
                place=place,
                label=label,
            ):
                address = Address(
                    kind=kind,
                    status=LifecycleStatus.ACTIVE,
                    point=point,
                    feature_id=feature_id,
                    group=group,
                    number=number if kind != AddressKind.COMPOUND else None,
                    suffix=suffix,
                    building_no=building,
                    unit_no=unit,
                    room=room,
                    valid_from=valid_from,
                    use=cell_text(values.get("use")),
                    recorded_only=True,
                )
                if kind == AddressKind.RURAL:
                    address.division = village
                else:
                    address.division = services.township_at(point)
                    clash = Address.objects.active().filter(feature_id=feature_id, kind=kind)
                    clash = (
                        clash.filter(number=number, suffix=suffix)
                        if kind == AddressKind.ROAD
                        else clash.filter(building_no=building, unit_no=unit, room=room)
                    )
                    if clash.exists():
                        row.error(
                            "门牌号",
                            f"{place}{label} 已是现行门牌（{clash.first().code}）/ already active on {place}",
                        )
                        raise RowRejected
                if kind == AddressKind.ROAD:
                    road = address.feature
                    distance = road.geom.distance(point) if road.geom else 0.0
                    if distance > max_offset:
                        row.error(
                            "经度/纬度",
                            f"门口距{place} {distance:.0f} 米，超过 {max_offset:.0f} 米 / too far from the road",
                        )
                        raise RowRejected
                services._guard(user, [address.division.code])
                if cell_text(values.get("decision_number")):
                    address.decision = DecisionDocument.objects.filter(
                        number=cell_text(values.get("decision_number"))
                    ).first()
                address.code = services._new_codes(address.division, 1)[0]
                services._refresh_text(address)
                services._save(address, user)
                row.action = "create"
                return address

            row_savepoint(row, create, services.integrity_message)
        import_finish(report)
    return report


def addresses_import_upload(
    upload, *, dry_run: bool, coordinate_system: str = "wgs84", user=None
) -> ImportReport:
    if user is not None:
        require_role(user, services.APP)  # before the upload is read
    with saved_upload(upload) as path:
        report = addresses_import(path, dry_run=dry_run, coordinate_system=coordinate_system, user=user)
    report.source = Path(upload.name or "").name
    return report


def template_csv() -> bytes:
    lines = [
        ",".join(TEMPLATE_HEADER),
        "道路,人民路,15之一,,,,,,113.9021,29.7211,2020-05-01,,住宅",
        "小区,金鸾花园,,3,2,301,,,113.9102,29.7263,2021-03-01,,住宅",
        "农村,,12,,,,石坡村,3组,113.8012,29.6511,2022-08-15,,住宅",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


# ---------------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------------


def _export_rows(qs) -> Iterator[list[Any]]:
    """Rows in documents.ADDRESS_XLSX_HEADERS order, streamed from the database."""
    srid = settings.GEO_MZ_SRID
    names: dict[int, str] = {}
    for a in qs.select_related("division__parent", "feature", "decision").iterator(chunk_size=2000):
        lon, lat = crs.projected_to_lonlat(a.point.x, a.point.y, srid)
        rural = a.kind == AddressKind.RURAL
        township = a.division.parent if rural else a.division
        yield [
            a.code,
            a.get_kind_display(),
            township.name if township else "",
            a.division.name if rural else "",
            a.group,
            services._feature_name(a.feature, names) if a.feature else "",
            services.number_text(a.number, a.suffix) if a.kind != AddressKind.COMPOUND else "",
            a.building_no or "",
            a.unit_no or "",
            a.room,
            a.full_text,
            a.get_status_display(),
            round(float(lon), 7),
            round(float(lat), 7),
            a.valid_from.isoformat() if a.valid_from else "",
            a.decision.number if a.decision else "",
        ]


def addresses_export_xlsx(qs=None) -> bytes:
    qs = qs if qs is not None else Address.objects.active()
    return documents.addresses_xlsx(_export_rows(qs.order_by("code")))


def addresses_export_gpkg(qs=None) -> bytes:
    """A GeoPackage of entrance points in EPSG:4490 (written in chunks through pyogrio)."""
    import geopandas as gpd
    import pyogrio
    import shapely

    qs = qs if qs is not None else Address.objects.active()
    headers = list(documents.ADDRESS_XLSX_HEADERS)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "addresses.gpkg"
        chunk: list[list[Any]] = []
        append = False

        def flush():
            nonlocal append, chunk
            frame = gpd.GeoDataFrame(
                chunk,
                columns=headers,
                geometry=shapely.points([r[12] for r in chunk], [r[13] for r in chunk]),
                crs=f"EPSG:{crs.CGCS2000}",
            )
            pyogrio.write_dataframe(frame, path, layer="addresses", driver="GPKG", append=append)
            append, chunk = True, []

        for row in _export_rows(qs.order_by("code")):
            chunk.append(row)
            if len(chunk) >= 20000:
                flush()
        if chunk or not append:
            if not chunk:
                frame = gpd.GeoDataFrame(columns=headers, geometry=[], crs=f"EPSG:{crs.CGCS2000}")
                pyogrio.write_dataframe(frame, path, layer="addresses", driver="GPKG")
            else:
                flush()
        return path.read_bytes()


# ---------------------------------------------------------------------------------------------------
# Demo data (gis_data/addresses.py): entrances, compounds, rural households, certificate requests
# ---------------------------------------------------------------------------------------------------


def _geojson(path: Path) -> list[dict]:
    import json

    return json.loads(path.read_text(encoding="utf-8"))["features"]


def _projected(geometry: dict):
    """A GeoJSON geometry in lon/lat (EPSG:4490) as GEOS in the storage CRS."""
    import shapely
    from django.contrib.gis.geos import GEOSGeometry

    shape = crs.transform_geometry(shapely.geometry.shape(geometry), crs.CGCS2000, settings.GEO_MZ_SRID)
    return GEOSGeometry(memoryview(shapely.to_wkb(shape)), srid=settings.GEO_MZ_SRID)


def demo_addresses_import(demo_dir: Path, *, today=None) -> ImportReport:
    """Load the synthetic house-number demo through the services: entrances along the demo roads are
    numbered road by road by the engine, compounds get S-order buildings and rooms, the finished
    villages are numbered in one batch each, and the certificate requests become certificates
    (issued) or open cases (in progress). One transaction; any error rolls everything back."""
    import datetime as dt
    import json

    from geo_mz.addresses.models import AddressCaseKind, Building
    from geo_mz.placenames import services as placename_services
    from geo_mz.placenames.models import FeatureKind, NamedFeature

    today = today or dt.date(2026, 11, 1)
    report = ImportReport(kind="addresses_demo", source=str(demo_dir), dry_run=False)
    townships = {d.code: d for d in Division.objects.filter(level=Level.TOWNSHIP)}
    villages = {d.code: d for d in Division.objects.filter(level=Level.VILLAGE).select_related("parent")}
    roads = {f.code: f for f in NamedFeature.objects.filter(kind__is_road=True)}
    compound_ids = [f["properties"]["compound_id"] for f in _geojson(demo_dir / "chibi_compounds.geojson")]
    if NamedFeature.objects.filter(code__in=compound_ids, synthetic=True).exists():
        # already loaded: numbers are never rewritten in place, so a second load changes nothing
        report.rows = [
            RowResult(row=i, code=code, action="unchanged") for i, code in enumerate(compound_ids, 1)
        ]
        return report
    with transaction.atomic():
        # 1. compounds, their buildings, S-order numbers and rooms
        kind = FeatureKind.objects.get(code="compound")
        building_by_id: dict[str, Building] = {}
        compound_features = {}
        for i, f in enumerate(_geojson(demo_dir / "chibi_compounds.geojson"), start=1):
            p = f["properties"]
            row = RowResult(row=i, code=p["compound_id"], name=p["name"], action="create")
            report.rows.append(row)
            feature = placename_services.feature_create(
                kind=kind,
                geom=_projected(f["geometry"]),
                division_code=p["township_code"],
                status=LifecycleStatus.ACTIVE,
                code=p["compound_id"],
                synthetic=True,
                user=SYSTEM,
            )
            placename_services.name_register(
                feature, name=p["name"], decision=None, valid_from=dt.date(2010, 1, 1), user=SYSTEM
            )
            compound_features[p["compound_id"]] = feature
        buildings = []
        for f in _geojson(demo_dir / "chibi_compound_buildings.geojson"):
            p = f["properties"]
            b = Building(
                code=p["building_id"],
                footprint=_projected(f["geometry"]),
                compound=compound_features[p["compound_id"]],
                units=p["units"],
                floors=p["floors"],
                rooms_per_floor=p["rooms_per_floor"],
                use="住宅",
                synthetic=True,
            )
            buildings.append(b)
            building_by_id[b.code] = b
        Building.objects.bulk_create(buildings)
        for feature in compound_features.values():
            services.compound_number(
                feature.pk, with_rooms=True, today=dt.date(2015, 6, 1), synthetic=True, user=SYSTEM
            )

        # 2. road entrances with their building footprints, numbered road by road
        entrances = _geojson(demo_dir / "chibi_address_entrances.geojson")
        footprints = []
        rows = []
        for f in entrances:
            p = f["properties"]
            point = _projected(f["geometry"])
            building = None
            if p.get("footprint"):
                building = Building(
                    code=f"B-{p['entrance_id']}",
                    footprint=_projected({"type": "Polygon", "coordinates": p["footprint"]}),
                    use=p.get("use", ""),
                    synthetic=True,
                )
                footprints.append(building)
            rows.append(
                Address(
                    kind=AddressKind.ROAD,
                    status=LifecycleStatus.PROPOSED,
                    point=point,
                    feature=roads[p["road_id"]],
                    division=townships[p["township_code"]],
                    use=p.get("use", ""),
                    building=building,
                    synthetic=True,
                )
            )
        Building.objects.bulk_create(footprints)
        for a in rows:
            if a.building is not None:
                a.building_id = a.building.pk
        _bulk_codes(rows)
        Address.objects.bulk_create(rows, batch_size=2000)
        entrance_address = {f["properties"]["entrance_id"]: a for f, a in zip(entrances, rows, strict=True)}
        for road_id in sorted({f["properties"]["road_id"] for f in entrances}):
            services.road_numbering_commit(roads[road_id].pk, today=dt.date(2012, 3, 1), user=SYSTEM)

        # 3. rural households; the finished campaigns are numbered village by village
        households = _geojson(demo_dir / "chibi_rural_households.geojson")
        rural = [
            Address(
                kind=AddressKind.RURAL,
                status=LifecycleStatus.PROPOSED,
                point=_projected(f["geometry"]),
                division=villages[f["properties"]["village_code"]],
                group=f["properties"]["group"],
                use="住宅",
                synthetic=True,
            )
            for f in households
        ]
        _bulk_codes(rural)
        Address.objects.bulk_create(rural, batch_size=2000)
        household_address = {
            f["properties"]["household_id"]: a for f, a in zip(households, rural, strict=True)
        }
        done_villages = sorted(
            {f["properties"]["village_code"] for f in households if f["properties"]["campaign"] == "done"}
        )
        for k, code in enumerate(done_villages):
            services.village_number(code, today=dt.date(2024, 3 + k, 15), user=SYSTEM)
        for code in sorted({f["properties"]["village_code"] for f in households} - set(done_villages)):
            VillageCampaign.objects.get_or_create(
                village=villages[code], defaults={"started_on": dt.date(2026, 9, 1)}
            )

        # 4. certificate requests: issued → certificates, in progress → open cases
        requests = json.loads((demo_dir / "chibi_certificate_requests.json").read_text(encoding="utf-8"))
        for i, r in enumerate(requests, start=1):
            target = r["target"]
            if "entrance_id" in target:
                address = Address.objects.get(pk=entrance_address[target["entrance_id"]].pk)
            elif "household_id" in target:
                address = Address.objects.get(pk=household_address[target["household_id"]].pk)
            else:
                b = building_by_id[target["building_id"]]
                room = f"{target['room_floor']}{target['room_index']:02d}"
                address = Address.objects.get(
                    building=b,
                    kind=AddressKind.COMPOUND,
                    status=LifecycleStatus.ACTIVE,
                    unit_no=target["unit"],
                    room=room,
                )
            common = {
                "owner": r["owner"],
                "owner_kind": r["owner_kind"],
                "previous_address": r["previous_address"],
                "previous_source": r["previous_source"],
            }
            row = RowResult(row=i, code=r["request_id"], name=address.label, action="create")
            report.rows.append(row)
            if r["issued_on"]:
                services.certificate_issue(
                    address, today=dt.date.fromisoformat(r["issued_on"]), synthetic=True, **common
                )
            else:
                services.address_case_create(
                    kind=AddressCaseKind.NEW,
                    address=address,
                    today=dt.date.fromisoformat(r["applied_on"]),
                    **common,
                )
        import_finish(report)
    return report


def _bulk_codes(rows: list[Address]) -> None:
    """Codes and texts for rows about to be bulk-created (one counter reservation per township)."""
    by_township: dict[int, list[Address]] = {}
    for a in rows:
        by_township.setdefault(services._township(a.division).pk, []).append(a)
    names: dict = {}
    for group in by_township.values():
        for a, code in zip(group, services._new_codes(group[0].division, len(group)), strict=True):
            a.code = code
            services._refresh_text(a, names)

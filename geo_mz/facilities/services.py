"""Facility services: the type list (data), facility registry edits, import from Excel/CSV/GeoPackage
(dry run, per-row report, all-or-nothing) and the demo facilities.

Editing services take the acting `user` (None for trusted scripts) and check role + jurisdiction:
planners edit facilities inside their jurisdiction."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from geo_mz.core.db import import_finish
from geo_mz.core.errors import ConflictError
from geo_mz.core.importing import ImportReport, RowResult
from geo_mz.core.limits import MAX_TEXT_CHARS
from geo_mz.core.permissions import require_edit
from geo_mz.core.tables import RowRejected, cell_date, cell_text, lonlat_cells, row_savepoint, table_rows
from geo_mz.divisions.jurisdiction import require_edit_at
from geo_mz.divisions.models import Division, Level
from geo_mz.facilities.models import Facility, FacilityStatus, FacilityType, Operator

APP = "facilities"
TYPES_FILE = Path(__file__).with_name("facility_types.json")
CAPACITY_FIELDS = ("beds", "nursing_beds", "plots_total", "plots_used", "places", "star_rating", "radius_m")
FLOAT_FIELDS = ("area_mu", "area_m2")
FACILITY_NAME_MAX_CHARS: int = Facility._meta.get_field("name").max_length  # 120


def _guard(user, codes) -> None:
    if user is not None:
        require_edit(user, APP, codes)


def _save(obj, user=None, **kwargs) -> None:
    if user is not None:
        obj._history_user = user
    obj.save(**kwargs)


def facility_types_ensure(path: Path = TYPES_FILE) -> list[str]:
    """Create the facility types listed in the JSON file that do not exist yet (never overwrites a
    type an administrator has edited). Returns the codes created."""
    created = []
    for order, spec in enumerate(json.loads(path.read_text(encoding="utf-8")), start=1):
        spec = dict(spec)
        code = spec.pop("code")
        _, was_created = FacilityType.objects.get_or_create(
            code=code, defaults={**spec, "sort_order": order * 10}
        )
        if was_created:
            created.append(code)
    return created


def integrity_message(exc: IntegrityError) -> str:
    text = str(exc)
    for name, message in (
        ("facility_nursing_le_beds", "护理型床位数不能超过床位数 / nursing beds exceed beds"),
        ("facility_plots_used_le_total", "已使用墓穴不能超过墓穴总数 / used plots exceed the total"),
        ("facility_star_rating_range", "星级应为 1–5 / the star rating is 1–5"),
        ("facilities_facility_code_key", "设施编码已存在 / the code is already in use"),
    ):
        if name in text:
            return message
    return text.splitlines()[0]


def division_at(point: Point) -> Division:
    """The village-level unit whose point is nearest within the township containing `point`, else
    the township: facilities belong to the smallest unit we can tell."""
    township = (
        Division.objects.filter(level=Level.TOWNSHIP, geom__intersects=point)
        .exclude(status="retired")
        .order_by("code")
        .first()
    )
    if township is None:
        raise ValidationError(
            {"point": "该位置不在本县任何乡镇（街道）范围内 / the point lies outside every township"}
        )
    from django.contrib.gis.db.models.functions import Distance

    village = (
        Division.objects.filter(level=Level.VILLAGE, parent=township, point__isnull=False)
        .annotate(d=Distance("point", point))
        .order_by("d")
        .first()
    )
    return village or township


def _check(f: Facility) -> None:
    errors: dict[str, str] = {}
    if f.beds is not None and f.nursing_beds is not None and f.nursing_beds > f.beds:
        errors["nursing_beds"] = f"护理型床位 {f.nursing_beds} 超过床位 {f.beds} / nursing beds exceed beds"
    if f.plots_total is not None and f.plots_used is not None and f.plots_used > f.plots_total:
        errors["plots_used"] = "已使用墓穴不能超过墓穴总数 / used plots exceed the total"
    if f.star_rating is not None and not 1 <= f.star_rating <= 5:
        errors["star_rating"] = "星级应为 1–5 / the star rating is 1–5"
    if f.status == FacilityStatus.OPERATING and f.opened_on and f.opened_on > dt.date.today():
        errors["opened_on"] = "运营中的设施投入运营日期不能晚于今天 / opened in the future"
    if f.status == FacilityStatus.CLOSED and not f.closed_on:
        errors["closed_on"] = "关停的设施须填写关停日期 / the closing date is required"
    if f.closed_on and f.opened_on and f.closed_on < f.opened_on:
        errors["closed_on"] = "关停日期早于投入运营日期 / closed before it opened"
    if errors:
        raise ValidationError(errors)


def _next_code() -> str:
    last = (
        Facility.objects.filter(code__regex=r"^F\d+$")
        .order_by("-code")
        .values_list("code", flat=True)
        .first()
    )
    n = int(last[1:]) + 1 if last else 1
    return f"F{n:04d}"


@transaction.atomic
def facility_create(
    *, type_code: str, name: str, point: Point, user=None, code: str | None = None, **fields
) -> Facility:
    try:
        ftype = FacilityType.objects.get(code=type_code)
    except FacilityType.DoesNotExist as exc:
        raise ValidationError({"type": f"未知设施类型 {type_code} / unknown facility type"}) from exc
    if not name.strip():
        raise ValidationError({"name": "名称不能为空 / the name is required"})
    division = fields.pop("division", None) or division_at(point)
    # where the point lies (a caller may also name the division: both are checked)
    require_edit_at(user, APP, point, [division.code])
    facility = Facility(
        code=code or _next_code(), name=name.strip(), type=ftype, point=point, division=division, **fields
    )
    _check(facility)
    try:
        with transaction.atomic():
            _save(facility, user)
    except IntegrityError as exc:
        raise ConflictError(integrity_message(exc), "duplicate") from exc
    return facility


EDITABLE = (
    "name",
    "address",
    "operator",
    "status",
    "opened_on",
    "closed_on",
    *CAPACITY_FIELDS,
    *FLOAT_FIELDS,
    "point",
)


@transaction.atomic
def facility_update(
    facility_id: int, *, user=None, expected_version: int | None = None, **fields
) -> Facility:
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError({f: "该字段不能修改 / not editable" for f in unknown})
    f = (
        Facility.objects.select_for_update(of=("self",))
        .select_related("division", "type")
        .get(pk=facility_id)
    )
    if expected_version is not None and f.version != expected_version:
        raise ConflictError(f"设施 {f.name} 已被他人修改，请刷新 / changed meanwhile", "version")
    require_edit_at(user, APP, f.point, [f.division.code])  # where it stands now
    for key, value in fields.items():
        setattr(f, key, value)
    if "point" in fields:
        f.division = division_at(f.point)
        require_edit_at(user, APP, f.point, [f.division.code])  # and where it is moved to
    _check(f)
    f.version += 1
    _save(f, user)
    return f


# ---------------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------------

COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("设施编码", "编码", "code"),
    "name": ("名称", "设施名称", "name"),
    "type": ("类型", "设施类型", "type"),
    "operator": ("举办性质", "operator"),
    "status": ("状态", "status"),
    "opened_on": ("投入运营日期", "opened_on"),
    "beds": ("床位数", "床位", "beds"),
    "nursing_beds": ("护理型床位数", "护理型床位", "nursing_beds"),
    "plots_total": ("墓穴总数", "plots_total"),
    "plots_used": ("已使用墓穴", "plots_used"),
    "area_mu": ("占地面积（亩）", "占地亩数", "area_mu"),
    "area_m2": ("建筑面积（平方米）", "建筑面积", "area_m2"),
    "places": ("服务人数", "places"),
    "star_rating": ("星级", "star_rating"),
    "address": ("地址", "address"),
    "lon": ("经度", "lon", "longitude", "x"),
    "lat": ("纬度", "lat", "latitude", "y"),
}
TEMPLATE_HEADER = [c[0] for c in COLUMNS.values()]


def template_csv() -> bytes:
    example = "F9001,示例社区日间照料中心,社区日间照料中心,公办,运营,2022-06-01,,,,,,320,40,,赤马港街道示例路8号,113.88,29.72"
    return (",".join(TEMPLATE_HEADER) + "\n" + example + "\n").encode("utf-8-sig")


def _choice(row: RowResult, field: str, value: Any, choices) -> str | None:
    text = cell_text(value)
    for v, label in choices.choices:
        if text in (v, str(label)):
            return v
    row.error(field, f"应为 {'、'.join(str(label) for _, label in choices.choices)} / unknown value", value)
    return None


def _int_cell(row: RowResult, field: str, value: Any, *, as_float: bool = False):
    text = cell_text(value)
    if not text:
        return None
    try:
        number = float(text)
        if number < 0:
            raise ValueError
        if not as_float and not number.is_integer():
            raise ValueError
        return number if as_float else int(number)
    except ValueError:
        row.error(
            field,
            "应为非负数 / must be a non-negative number"
            if as_float
            else "应为非负整数 / must be a whole number ≥ 0",
            text,
        )
        return None


def facilities_import(
    path: Path | str, *, dry_run: bool = True, coordinate_system: str = "wgs84", user=None
) -> ImportReport:
    """Facilities from Excel/CSV (UTF-8 or GBK) or GeoPackage/Shapefile. Existing codes are updated
    (capacity, status, position), new codes created; every row is checked first, then all rows are
    written in one transaction or none."""
    from geo_mz.core import crs

    path = Path(path)
    report = ImportReport(kind="facilities", source=path.name, dry_run=dry_run)
    if coordinate_system not in crs.COORDINATE_SYSTEMS:
        report.file_error("coordinate_system", f"未知坐标系 {coordinate_system}")
        return report
    rows = table_rows(path, report, COLUMNS, required=("name", "type"))
    if rows is None:
        return report
    types = {}
    for t in FacilityType.objects.all():
        types[t.code] = types[t.name] = t
    seen: dict[str, int] = {}
    with transaction.atomic():
        for offset, values in rows:
            row = RowResult(row=offset)
            report.rows.append(row)
            code, name = cell_text(values.get("code")), cell_text(values.get("name"))
            row.code, row.name = code, name
            ftype = types.get(cell_text(values.get("type")))
            if ftype is None:
                row.error("类型", "未知设施类型 / unknown facility type", values.get("type"))
            if not name:
                row.error("名称", "不能为空 / required")
            elif len(name) > FACILITY_NAME_MAX_CHARS:  # the column's width: a row error, not a 500
                row.error("名称", f"不能超过 {FACILITY_NAME_MAX_CHARS} 个字符 / too long", name[:20] + "…")
            if code and code in seen:
                row.error("设施编码", f"与第 {seen[code]} 行重复 / duplicates row {seen[code]}", code)
            if code:
                seen.setdefault(code, offset)
            fields: dict[str, Any] = {}
            if cell_text(values.get("operator")):
                fields["operator"] = _choice(row, "举办性质", values.get("operator"), Operator)
            if cell_text(values.get("status")):
                fields["status"] = _choice(row, "状态", values.get("status"), FacilityStatus)
            fields["opened_on"] = cell_date(row, "投入运营日期", values.get("opened_on"))
            for f in ("beds", "nursing_beds", "plots_total", "plots_used", "places", "star_rating"):
                fields[f] = _int_cell(row, COLUMNS[f][0], values.get(f))
            for f in FLOAT_FIELDS:
                fields[f] = _int_cell(row, COLUMNS[f][0], values.get(f), as_float=True)
            fields["address"] = cell_text(values.get("address"))
            if len(fields["address"]) > MAX_TEXT_CHARS:
                row.error(
                    "地址", f"不能超过 {MAX_TEXT_CHARS} 个字符 / too long", fields["address"][:20] + "…"
                )
            point = lonlat_cells(row, values, coordinate_system, srid=settings.GEO_MZ_SRID)
            if row.errors:
                continue

            def write(row=row, code=code, name=name, ftype=ftype, fields=fields, point=point):
                fields = {k: v for k, v in fields.items() if v is not None}
                existing = Facility.objects.filter(code=code).first() if code else None
                if existing is not None:
                    if existing.type_id != ftype.pk:
                        row.error(
                            "类型", f"编码 {code} 已是“{existing.type.name}” / the code has another type"
                        )
                        raise RowRejected
                    facility_update(existing.pk, user=user, name=name, point=point, **fields)
                    row.action = "update"
                else:
                    facility_create(
                        type_code=ftype.code, name=name, point=point, code=code or None, user=user, **fields
                    )
                    row.action = "create"

            row_savepoint(row, write, integrity_message)
        import_finish(report)
    return report


def demo_facilities_import(path: Path) -> ImportReport:
    """The synthetic demo facilities (gis_data/facilities.py); idempotent (existing codes unchanged)."""
    from simple_history.utils import bulk_create_with_history

    from geo_mz.core import crs

    report = ImportReport(kind="facilities (demo)", source=path.name, dry_run=False)
    facility_types_ensure()
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    existing = set(Facility.objects.values_list("code", flat=True))
    types = {t.code: t for t in FacilityType.objects.all()}
    divisions = {d.code: d for d in Division.objects.filter(code__startswith=settings.GEO_MZ_COUNTY_CODE)}
    fresh = [f for f in features if f["properties"]["code"] not in existing]
    if not fresh:
        report.rows.append(RowResult(row=1, code="facilities", name="已存在 already loaded"))
        report.committed = True
        return report
    xy = crs.lonlat_to_projected(
        [f["geometry"]["coordinates"][0] for f in fresh],
        [f["geometry"]["coordinates"][1] for f in fresh],
        settings.GEO_MZ_SRID,
    )
    objs = []
    for i, f in enumerate(fresh):
        p = f["properties"]
        objs.append(
            Facility(
                code=p["code"],
                name=p["name"],
                type=types[p["type"]],
                point=Point(float(xy[0][i]), float(xy[1][i]), srid=settings.GEO_MZ_SRID),
                division=divisions[p["division_code"]],
                operator=p.get("operator", "public"),
                status=p.get("status", "operating"),
                opened_on=dt.date.fromisoformat(p["opened_on"]) if p.get("opened_on") else None,
                synthetic=True,
                **{k: p.get(k) for k in (*CAPACITY_FIELDS[:-1], *FLOAT_FIELDS) if p.get(k) is not None},
            )
        )
    with transaction.atomic():
        bulk_create_with_history(objs, Facility)
    report.rows.extend(
        RowResult(row=i + 1, code=o.code, name=o.name, action="create") for i, o in enumerate(objs)
    )
    report.committed = True
    return report

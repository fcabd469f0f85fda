"""Bulk entry for inspections (marker findings from the Excel template, GNSS points from CSV) and the
boundary demo data. Every import is a dry run first, reports per row, and commits all rows or none."""

from __future__ import annotations

import datetime as dt
import io
import math
import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from geo_mz.boundaries import services
from geo_mz.boundaries.models import Action, BoundaryLine, Condition, Inspection, LineLevel, Marker
from geo_mz.core import roles
from geo_mz.core.db import import_finish
from geo_mz.core.errors import ConflictError
from geo_mz.core.importing import ImportReport, RowResult
from geo_mz.core.models import LifecycleStatus
from geo_mz.core.permissions import SYSTEM
from geo_mz.core.tables import cell_text, column_map, read_table, row_savepoint

FINDING_COLUMNS = {
    "number": ("界桩编号", "编号", "number"),
    "condition": ("状况", "condition"),
    "repainted": ("描红", "repainted"),
    "lon": ("实测经度", "经度", "lon"),
    "lat": ("实测纬度", "纬度", "lat"),
    "x": ("实测X", "X", "x"),
    "y": ("实测Y", "Y", "y"),
    "action": ("处理措施", "action"),
    "photos": ("照片文件", "照片", "photos"),
    "note": ("备注", "note"),
}
GNSS_COLUMNS = {
    "number": ("界桩编号", "编号", "点名", "number", "name"),
    "lon": ("经度", "lon", "longitude", "B"),
    "lat": ("纬度", "lat", "latitude", "L"),
    "x": ("X", "x", "北坐标", "N"),
    "y": ("Y", "y", "东坐标", "E"),
    "elevation": ("高程", "H", "h", "elevation"),
}
YES = {"是", "y", "yes", "true", "1", "√", "✓"}
NO = {"否", "n", "no", "false", "0", ""}


def _label_map(choices) -> dict[str, str]:
    out = {}
    for value, label in choices.choices:
        out[str(label)] = value
        out[value] = value
    return out


def _number(row: RowResult, field: str, value: Any) -> float | None:
    text = cell_text(value)
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        row.error(field, "不是数字 / not a number", value)
        return None


def _point(row: RowResult, get) -> Any:
    lon, lat = _number(row, "lon", get("lon")), _number(row, "lat", get("lat"))
    x, y = _number(row, "x", get("x")), _number(row, "y", get("y"))
    if row.errors or (lon is None and lat is None and x is None and y is None):
        return None
    if (lon is None) != (lat is None) or (x is None) != (y is None):
        row.error("lon" if lon is not None or lat is not None else "x", "坐标不完整 / incomplete coordinates")
        return None
    try:
        if lon is not None:
            return services.marker_point_from_input(lon=lon, lat=lat)
        return services.marker_point_from_input(x=x, y=y)
    except ValidationError as exc:
        for message in exc.messages:
            row.error("lon" if lon is not None else "x", message)
        return None


def _markers_by_number(inspection: Inspection) -> dict[str, Marker]:
    return {
        m.number: m
        for m in Marker.objects.filter(line=inspection.line).exclude(status=LifecycleStatus.RETIRED)
    }


def findings_import(
    inspection_id: int,
    path: Path,
    *,
    photos: Mapping[str, bytes] | None = None,
    dry_run: bool = True,
    user=None,
) -> ImportReport:
    """Marker findings from the Excel template (or CSV). Photos named in the 照片文件 column
    (separated by ；, ; or ,) come from `photos` (file name → bytes, e.g. the files of an uploaded
    zip). A damaged, moved or lost marker without a photo is that row's error."""
    report = ImportReport("联检界桩检查结果 marker findings", path.name, dry_run)
    photos = dict(photos or {})
    try:
        header, data = read_table(path)
    except ValidationError as exc:
        report.file_error("file", "；".join(exc.messages))
        return report
    cols = column_map(header, FINDING_COLUMNS)
    for required in ("number", "condition"):
        if required not in cols:
            report.file_error(required, f"缺少列“{FINDING_COLUMNS[required][0]}” / missing column")
    if report.file_errors:
        return report
    conditions, actions = _label_map(Condition), _label_map(Action)
    with transaction.atomic():
        try:
            inspection = services._lock_inspection(inspection_id, None)
            services._guard(user, inspection.line.side_codes)
        except (ConflictError, PermissionDenied) as exc:
            report.file_error("inspection", getattr(exc, "message", str(exc)))
            transaction.set_rollback(True)
            return report
        markers = _markers_by_number(inspection)
        seen: dict[str, int] = {}
        for i, values in enumerate(data, start=2):

            def get(field: str, values=values) -> Any:
                idx = cols.get(field)
                return values[idx] if idx is not None and idx < len(values) else None

            number = cell_text(get("number"))
            row = RowResult(row=i, code=number)
            report.rows.append(row)
            marker = markers.get(number)
            if not number:
                row.error("number", "界桩编号为空 / the marker number is empty")
            elif number in seen:
                row.error("number", f"与第 {seen[number]} 行重复 / duplicates row {seen[number]}", number)
            elif marker is None:
                row.error(
                    "number", f"界线 {inspection.line.name} 上没有界桩 {number} / no such marker", number
                )
            seen.setdefault(number, i)
            condition = conditions.get(cell_text(get("condition")))
            if condition is None:
                row.error(
                    "condition",
                    f"状况应为 {'、'.join(str(c.label) for c in Condition)} / unknown condition",
                    get("condition"),
                )
            repainted_text = cell_text(get("repainted")).lower()
            if repainted_text not in YES | NO:
                row.error("repainted", "描红应填“是”或“否” / yes or no", get("repainted"))
            action = actions.get(cell_text(get("action")) or Action.NONE)
            if action is None:
                row.error(
                    "action",
                    f"处理措施应为 {'、'.join(str(a.label) for a in Action)} / unknown action",
                    get("action"),
                )
            point = _point(row, get)
            uploads = []
            for name in (n.strip() for n in re.split(r"[；;,，]", cell_text(get("photos"))) if n.strip()):
                if name not in photos:
                    row.error("photos", f"未找到照片文件 {name} / photo file not uploaded", name)
                else:
                    uploads.append(services.PhotoUpload(name, photos[name]))
            if row.errors:
                continue

            def write(
                row=row,
                marker=marker,
                condition=condition,
                action=action,
                point=point,
                uploads=uploads,
                get=get,
            ):
                existing = marker.findings.filter(inspection=inspection).exists()
                finding = services.finding_record(
                    inspection.pk,
                    marker_id=marker.pk,
                    condition=condition,
                    repainted=cell_text(get("repainted")).lower() in YES,
                    measured=point,
                    action=action,
                    note=cell_text(get("note")),
                    photos=uploads,
                    user=user,
                )
                row.action = "update" if existing else "create"
                row.warnings.extend(finding.warnings)

            row_savepoint(row, write, services.integrity_message)
        import_finish(report)
    return report


def gnss_import(inspection_id: int, path: Path, *, dry_run: bool = True, user=None) -> ImportReport:
    """GNSS-measured marker positions (CSV/Excel: 界桩编号 + 经度/纬度 or X/Y). Each position updates
    that marker's finding in this inspection (entered first) and its offset from the recorded point."""
    report = ImportReport("联检GNSS实测坐标 GNSS points", path.name, dry_run)
    try:
        header, data = read_table(path)
    except ValidationError as exc:
        report.file_error("file", "；".join(exc.messages))
        return report
    cols = column_map(header, GNSS_COLUMNS)
    if "number" not in cols:
        report.file_error("number", "缺少列“界桩编号” / missing column")
    if not ({"lon", "lat"} <= cols.keys() or {"x", "y"} <= cols.keys()):
        report.file_error("lon", "缺少坐标列（经度/纬度 或 X/Y）/ missing coordinate columns")
    if report.file_errors:
        return report
    with transaction.atomic():
        try:
            inspection = services._lock_inspection(inspection_id, None)
            services._guard(user, inspection.line.side_codes)
        except (ConflictError, PermissionDenied) as exc:
            report.file_error("inspection", getattr(exc, "message", str(exc)))
            transaction.set_rollback(True)
            return report
        markers = _markers_by_number(inspection)
        seen: dict[str, int] = {}
        for i, values in enumerate(data, start=2):

            def get(field: str, values=values) -> Any:
                idx = cols.get(field)
                return values[idx] if idx is not None and idx < len(values) else None

            number = cell_text(get("number"))
            row = RowResult(row=i, code=number)
            report.rows.append(row)
            marker = markers.get(number)
            if marker is None:
                row.error(
                    "number", f"界线 {inspection.line.name} 上没有界桩 {number} / no such marker", number
                )
            elif number in seen:
                row.error("number", f"与第 {seen[number]} 行重复 / duplicates row {seen[number]}", number)
            seen.setdefault(number, i)
            point = _point(row, get)
            if point is None and not row.errors:
                row.error("lon", "坐标为空 / no coordinates")
            if row.errors:
                continue
            finding = marker.findings.filter(inspection=inspection).first()
            if finding is None:
                row.error("number", "该界桩尚无检查结果，请先录入状况 / enter the condition first")
                continue

            def write(row=row, finding=finding, marker=marker, point=point):
                f = services.finding_record(
                    inspection.pk,
                    marker_id=marker.pk,
                    condition=finding.condition,
                    repainted=finding.repainted,
                    measured=point,
                    action=finding.action,
                    bearings_intact=finding.bearings_intact,
                    note=finding.note,
                    user=user,
                )
                row.action = "update"
                row.name = f"偏移 {f.offset_m:.3f} m"
                row.warnings.extend(f.warnings)

            row_savepoint(row, write, services.integrity_message)
        import_finish(report)
    return report


# ---------------------------------------------------------------------------------------------------
# Demo data
# ---------------------------------------------------------------------------------------------------

DEMO_AGREEMENTS = {
    # Synthetic agreement records for the demo (the real agreement numbers are not published).
    "嘉鱼赤壁线": ("鄂界协字〔2002〕07号（演示）", dt.date(2002, 10, 18), "湖北省人民政府"),
    "崇阳赤壁线": ("鄂界协字〔2002〕11号（演示）", dt.date(2002, 11, 6), "湖北省人民政府"),
    "咸安赤壁线": ("鄂界协字〔2003〕02号（演示）", dt.date(2003, 4, 22), "湖北省人民政府"),
    "洪湖赤壁线": ("鄂界协字〔2003〕05号（演示）", dt.date(2003, 6, 10), "湖北省人民政府"),
    "赤壁临湘线": ("鄂湘界协〔2001〕03号（演示）", dt.date(2001, 9, 27), "国务院（民政部）"),
}
DEMO_INSPECTED = ("嘉鱼赤壁线", "崇阳赤壁线", "咸安赤壁线")
DEMO_TEAM_PASSWORDLESS = "界线联检演示账户，无密码；管理员可为其设置密码以演示双方确认"


def _demo_team_user(code: str, name: str):
    from geo_mz.core.models import UserProfile

    User = get_user_model()
    username = f"boundary_{code}"
    user, created = User.objects.get_or_create(username=username, defaults={"last_name": f"{name}界线工作组"})
    if created:
        user.set_unusable_password()
        user.save()
        from django.contrib.auth.models import Group

        user.groups.add(Group.objects.get_or_create(name=roles.BOUNDARY_TEAM)[0])
        UserProfile.objects.create(user=user, jurisdiction_code=code, organisation=f"{name}民政局")
    return user


BEARING_OBJECTS = ("电杆", "大树", "房屋墙角", "桥头", "水塘角", "坟墓", "路口", "石碑")


def demo_bearings(number: str) -> list[dict]:
    """Three synthetic bearing objects (方位物) per demo marker, as a marker record has them."""
    rnd = random.Random(number)
    names = rnd.sample(BEARING_OBJECTS, 3)
    return [
        {
            "name": n,
            "azimuth_deg": round(rnd.uniform(0, 359.9), 1),
            "distance_m": round(rnd.uniform(8, 120), 1),
        }
        for n in names
    ]


def demo_photo(number: str, condition: str, seed: int) -> bytes:
    """A small synthetic 'photo' (a drawn marker post) so the demo report has images."""
    from PIL import Image, ImageDraw

    rnd = random.Random(seed)
    img = Image.new("RGB", (320, 240), (120 + rnd.randint(0, 40), 150 + rnd.randint(0, 40), 90))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 170, 320, 240), fill=(110, 90, 60))
    tilt = {"intact": 0, "damaged": 25, "moved": 10, "lost": 0}[condition]
    if condition != "lost":
        draw.polygon([(150, 170), (170, 170), (170 + tilt, 70), (150 + tilt, 70)], fill=(200, 200, 195))
        draw.rectangle((152 + tilt, 80, 168 + tilt, 100), fill=(200, 30, 30))
    else:
        draw.ellipse((130, 160, 190, 185), fill=(70, 55, 40))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=80)
    return buf.getvalue()


def demo_boundaries_import(*, today: dt.date | None = None) -> ImportReport:
    """Derive 赤壁市's county lines from the real polygons and its township lines from the synthetic
    townships, place synthetic markers along the county lines, and record the 2023 joint inspection of
    嘉鱼赤壁线, 崇阳赤壁线 and 咸安赤壁线 confirmed by both sides. Idempotent."""
    report = ImportReport("界线、界桩与联检 boundaries (demo)", "demo", dry_run=False)
    county = settings.GEO_MZ_COUNTY_CODE
    with transaction.atomic():
        if BoundaryLine.objects.filter(level=LineLevel.COUNTY).exists():
            report.rows.append(RowResult(row=1, code=county, name="已存在 already loaded"))
            report.committed = True
            return report
        for level, synthetic in ((LineLevel.COUNTY, False), (LineLevel.TOWNSHIP, True)):
            run = services.lines_derive(level, around_code=county)
            counts = services.lines_store(run, synthetic=synthetic, user=SYSTEM)
            report.rows.append(
                RowResult(row=len(report.rows) + 1, code=level, name=str(counts), action="create")
            )
        for line in BoundaryLine.objects.filter(level=LineLevel.COUNTY).order_by("code"):
            if line.name in DEMO_AGREEMENTS:
                line.agreement_no, line.agreement_date, line.approving_authority = DEMO_AGREEMENTS[line.name]
                line.save()
            for m in services.markers_place(line.pk, spacing_m=3000.0, synthetic=True, user=SYSTEM):
                m.bearings = demo_bearings(m.number)
                m.location_text = f"{line.name}第{m.seq}号界桩处（合成位置）"
                m.elevation_m = round(random.Random(m.number).uniform(25, 320), 2)
                m.save()
        _demo_inspections(report)
        report.committed = True
    return report


def _demo_inspections(report: ImportReport) -> None:
    from django.contrib.gis.geos import Point

    rnd = random.Random(2023)
    for k, name in enumerate(DEMO_INSPECTED):
        line = BoundaryLine.objects.select_related("division_a", "division_b").get(
            name=name, level=LineLevel.COUNTY, status=LifecycleStatus.ACTIVE
        )
        a, b = line.division_a, line.division_b
        user_a, user_b = _demo_team_user(a.code, a.name), _demo_team_user(b.code, b.name)
        start = dt.date(2023, 4 + 2 * k, 10 + k)
        insp = services.inspection_create(
            line.pk,
            round_year=2023,
            lead_code=b.code if b.code == settings.GEO_MZ_COUNTY_CODE else a.code,
            start_date=start,
            end_date=start + dt.timedelta(days=3 + k),
            participants_a=f"{a.name}民政局 张建国（区划地名股股长）\n{a.name}自然资源局 李明（测绘员）",
            participants_b=f"{b.name}民政局 王志强（区划地名股股长）\n{b.name}自然资源局 陈伟（测绘员）",
            synthetic=True,
        )
        markers = list(line.markers.exclude(status=LifecycleStatus.RETIRED).order_by("seq", "letter"))
        for j, m in enumerate(markers):
            roll = rnd.random()
            condition = (
                Condition.LOST
                if roll < 0.04
                else Condition.MOVED
                if roll < 0.09
                else Condition.DAMAGED
                if roll < 0.22
                else Condition.INTACT
            )
            measured = None
            if condition != Condition.LOST:
                shift = rnd.uniform(1.5, 6.0) if condition == Condition.MOVED else rnd.uniform(0.0, 0.05)
                angle = rnd.uniform(0, 2 * math.pi)
                measured = Point(
                    m.point.x + shift * math.cos(angle),
                    m.point.y + shift * math.sin(angle),
                    srid=m.point.srid,
                )
            action = {
                Condition.INTACT: Action.REPAINTED,
                Condition.DAMAGED: Action.REPAIRED if rnd.random() < 0.6 else Action.REPORTED,
                Condition.MOVED: Action.RESET if rnd.random() < 0.5 else Action.REPORTED,
                Condition.LOST: Action.REPORTED,
            }[condition]
            photos = (
                [services.PhotoUpload(f"{m.number}.jpg", demo_photo(m.number, condition, j))]
                if condition != Condition.INTACT
                else []
            )
            note = {
                Condition.INTACT: "",
                Condition.DAMAGED: rnd.choice(["桩体倾斜，注记模糊", "桩顶破损", "基座松动"]),
                Condition.MOVED: "道路施工致桩体移位",
                Condition.LOST: "原位置已成耕地，未找到桩体",
            }[condition]
            services.finding_record(
                insp.pk,
                marker_id=m.pk,
                condition=condition,
                repainted=condition in (Condition.INTACT, Condition.DAMAGED),
                measured=measured,
                action=action,
                note=note,
                photos=photos,
            )
        services.segment_finding_record(
            insp.pk,
            section=f"{markers[0].number[-4:]}–{markers[len(markers) // 2].number[-4:]}",
            terrain_change="沿线新修村级公路一条",
            recognisable=True,
        )
        services.segment_finding_record(
            insp.pk,
            section=f"{markers[len(markers) // 2].number[-4:]}–{markers[-1].number[-4:]}",
            recognisable=True,
            construction="跨界养殖塘一处" if k == 1 else "",
            dispute="养殖塘权属存在争议" if k == 1 else "",
            handling="双方现场协商，维持原界线走向，由双方乡镇共同管理" if k == 1 else "",
        )
        services.inspection_update(
            insp.pk,
            conclusion="界线走向清楚，界桩总体完好；损坏、移位界桩已由双方共同修复或上报，边界地区和谐稳定。",
        )
        services.inspection_confirm(insp.pk, user=user_a, side="a", now=_aware(insp.end_date))
        services.inspection_confirm(insp.pk, user=user_b, side="b", now=_aware(insp.end_date))
        report.rows.append(
            RowResult(row=len(report.rows) + 1, code=insp.record_no, name=name, action="create")
        )


def _aware(day: dt.date):
    from django.utils import timezone

    return timezone.make_aware(dt.datetime.combine(day, dt.time(16, 0)))

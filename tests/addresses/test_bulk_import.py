"""Bulk (set-based, COPY) import of house numbers from vector files, on real PostGIS.

The bulk importer must agree with the row-by-row importer: the same addresses (codes, labels, full
texts, points) and history rows from the same file, the same row numbers, fields and messages for bad
rows, and nothing written when any row is bad.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import numpy as np
import pytest
from django.db import transaction
from django.test import override_settings

from geo_mz.addresses import bulk, import_jobs, importers, services
from geo_mz.addresses.models import Address
from geo_mz.core import crs, jobs, roles
from geo_mz.core.models import Job, JobStatus, SerialCounter
from tests.addresses.conftest import offset_point
from tests.browser.conftest import demo_county  # noqa: F401  (the demo county in a transactional test)

HEADER = [
    "类型",
    "道路/小区",
    "门牌号",
    "幢",
    "单元",
    "室",
    "村",
    "组/自然村",
    "启用日期",
    "批准文号",
    "用途",
]


# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------


def _lonlat(point) -> tuple[float, float]:
    lon, lat = crs.projected_to_lonlat(point.x, point.y, point.srid)
    return float(lon), float(lat)


def write_layer(
    target: Path,
    rows: list[dict],
    *,
    epsg: int | None = crs.CGCS2000,
    geometry: bool = True,
    driver: str = "GPKG",
    encoding: str | None = None,
) -> Path:
    """A point layer: each row's attributes by HEADER (all text) and its "lonlat" (lon, lat degrees)
    as the geometry, reprojected to `epsg`; or, with geometry=False, 经度/纬度 text columns."""
    import geopandas as gpd
    import pandas as pd
    import pyogrio
    import shapely

    columns = {h: [str(r.get(h, "")) for r in rows] for h in HEADER}
    if not geometry:
        columns["经度"] = [repr(r["lonlat"][0]) for r in rows]
        columns["纬度"] = [repr(r["lonlat"][1]) for r in rows]
        pyogrio.write_dataframe(pd.DataFrame(columns), target, driver=driver, layer="addresses")
        return target
    lon = np.array([r["lonlat"][0] for r in rows])
    lat = np.array([r["lonlat"][1] for r in rows])
    srid = epsg or crs.CGCS2000
    if srid != crs.CGCS2000:
        lon, lat = crs.transformer(crs.CGCS2000, srid).transform(lon, lat)
    frame = gpd.GeoDataFrame(columns, geometry=shapely.points(lon, lat), crs=f"EPSG:{srid}" if epsg else None)
    kwargs = {"encoding": encoding} if encoding else {}
    pyogrio.write_dataframe(frame, target, driver=driver, layer="addresses", **kwargs)
    return target


def road_row(road, number: str, chainage_m: float = 100, north_m: float = 12, **extra) -> dict:
    name = services._feature_name(road)
    return {
        "类型": "道路",
        "道路/小区": name,
        "门牌号": number,
        "lonlat": _lonlat(offset_point(road, chainage_m, north_m)),
        **extra,
    }


def snapshot() -> tuple[int, int, dict[str, int]]:
    """What an import may write: addresses, their history rows, the code counters."""
    return (
        Address.objects.count(),
        Address.history.count(),
        dict(SerialCounter.objects.values_list("scope", "last")),
    )


def errors_by_row(report) -> dict[int, list[tuple[str, str, str | None]]]:
    return {r.row: [(e.field, e.message, e.value) for e in r.errors] for r in report.rows if r.errors}


def address_tuples(codes) -> set[tuple]:
    out = set()
    for a in Address.objects.filter(code__in=codes):
        out.add(
            (
                a.kind,
                a.status,
                a.feature_id,
                a.division_id,
                a.number,
                a.suffix,
                a.building_no,
                a.unit_no,
                a.room,
                a.group,
                a.label,
                a.full_text,
                a.code,
                a.valid_from,
                a.use,
                a.decision_id,
                a.recorded_only,
                round(a.point.x, 3),
                round(a.point.y, 3),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------------
# A valid mixed file from the demo county: roads (with 之一 / 甲 / 号 spellings), compounds, rural
# ---------------------------------------------------------------------------------------------------


@pytest.fixture
def demo_rows(db) -> list[dict]:
    """≈ 30 valid rows: 3 demo roads × 6 numbers (2001+, none active), 2 compounds × 3 rooms in new
    buildings (91, 92), 3 villages (one of them 十八里畈村, whose name two villages share) × 3 rural
    numbers. Points: 10 m beside the road, inside the compound, inside the village."""
    import shapely

    from geo_mz.core.models import DecisionDocument
    from geo_mz.divisions.models import Division, Level
    from geo_mz.placenames.models import NamedFeature

    roads = []
    for feature in NamedFeature.objects.filter(
        kind__is_road=True, status="active", geom__isnull=False
    ).order_by("code"):
        name = services._feature_name(feature)
        if (
            NamedFeature.objects.filter(names__name=name, names__status="active", kind__is_road=True).count()
            == 1
            and feature.geom.length > 300
        ):
            roads.append(feature)
        if len(roads) == 3:
            break
    decision = DecisionDocument.objects.order_by("number").first().number
    rows: list[dict] = []
    for r, road in enumerate(roads):
        line = shapely.from_wkb(bytes(road.geom.wkb))
        line = line.geoms[0] if hasattr(line, "geoms") else line
        for k, number in enumerate(["2001", "2001之一", "2003号", "甲2005", "2007", "2009"]):
            d = line.length * (0.2 + 0.1 * k)
            p0, p1 = line.interpolate(d), line.interpolate(d + 1)
            dx, dy = p1.x - p0.x, p1.y - p0.y
            norm = (dx * dx + dy * dy) ** 0.5
            x, y = p0.x + 10 * dy / norm, p0.y - 10 * dx / norm
            lon, lat = crs.projected_to_lonlat(x, y, road.geom.srid)
            rows.append(
                {
                    "类型": "道路",
                    "道路/小区": services._feature_name(road),
                    "门牌号": number,
                    "启用日期": "2019-05-01" if k % 2 else "",
                    "批准文号": decision if (r, k) == (0, 0) else "",
                    "用途": "住宅",
                    "lonlat": (float(lon), float(lat)),
                }
            )
    for code, building in (("C007", 91), ("C002", 92)):
        compound = NamedFeature.objects.get(code=code)
        inside = shapely.from_wkb(bytes(compound.geom.wkb)).representative_point()
        for unit, room in ((1, "101"), (1, "102"), (2, "1502室")):
            lon, lat = crs.projected_to_lonlat(inside.x, inside.y, compound.geom.srid)
            rows.append(
                {
                    "类型": "小区",
                    "道路/小区": services._feature_name(compound),
                    "幢": str(building),
                    "单元": str(unit),
                    "室": room,
                    "lonlat": (float(lon), float(lat)),
                }
            )
    villages = list(Division.objects.filter(level=Level.VILLAGE).order_by("code")[:2])
    villages.append(Division.objects.filter(name="十八里畈村").order_by("code").last())
    for village in villages:  # demo villages have no polygon: a point of their township
        area = village.geom or village.parent.geom
        inside = shapely.from_wkb(bytes(area.wkb)).representative_point()
        lon, lat = crs.projected_to_lonlat(inside.x, inside.y, area.srid)
        for group, number in (("3组", "901"), ("第五组", "902"), ("张家湾", "902之一")):
            rows.append(
                {
                    "类型": "农村",
                    "村": village.name,
                    "组/自然村": group,
                    "门牌号": number,
                    "lonlat": (float(lon), float(lat)),
                }
            )
    assert len(rows) == 33
    return rows


@pytest.fixture
def admin(make_user):
    return make_user(roles.ADMIN)


def _import_and_collect(fn) -> tuple[object, set[tuple], int, list[tuple]]:
    """Run one import inside a savepoint, collect what it wrote, then roll it back (so the other
    importer starts from the same database and gets the same code numbers)."""
    before = set(Address.objects.values_list("code", flat=True))
    with transaction.atomic():
        report = fn()
        codes = set(Address.objects.values_list("code", flat=True)) - before
        written = address_tuples(codes)
        history = Address.history.filter(code__in=codes, history_type="+").count()
        listed = [(r.row, r.code, r.name, r.action) for r in report.rows]
        transaction.set_rollback(True)
    return report, written, history, listed


@pytest.mark.parametrize(
    ("coordinate_system", "epsg", "geometry"),
    [
        ("wgs84", crs.CGCS2000, True),
        ("gcj02", crs.CGCS2000, True),
        ("wgs84", 4547, True),
        ("wgs84", None, False),
    ],
    ids=["lonlat", "gcj02", "projected-4547", "lonlat-columns"],
)
def test_bulk_and_row_by_row_write_the_same_addresses(
    demo_rows, admin, tmp_path, coordinate_system, epsg, geometry
):
    # given one file of valid road, compound and rural rows (GCJ-02 input: the points shifted the
    # way Amap would show them)
    rows = demo_rows
    if coordinate_system == "gcj02":
        rows = [{**r, "lonlat": tuple(float(v) for v in crs.wgs84_to_gcj02(*r["lonlat"]))} for r in demo_rows]
    reference = write_layer(tmp_path / "reference.gpkg", rows, epsg=crs.CGCS2000)
    source = write_layer(tmp_path / "bulk.gpkg", rows, epsg=epsg, geometry=geometry)
    # when it is imported row by row, and (from the same database) in bulk
    slow, slow_rows, slow_history, slow_listed = _import_and_collect(
        lambda: importers.addresses_import(
            reference, dry_run=False, coordinate_system=coordinate_system, user=admin, bulk=False
        )
    )
    fast, fast_rows, fast_history, fast_listed = _import_and_collect(
        lambda: bulk.addresses_import_bulk(
            source, dry_run=False, coordinate_system=coordinate_system, user=admin
        )
    )
    # then both commit the same 33 addresses: codes, labels, full texts, townships, points (to 1 mm)
    assert slow.committed and slow.ok, slow.as_text()
    assert fast.committed and fast.ok, fast.as_text()
    assert len(slow_rows) == len(fast_rows) == 33
    assert fast_rows == slow_rows, sorted(fast_rows ^ slow_rows)
    assert slow_history == fast_history == 33
    assert fast_listed == slow_listed
    assert fast.counts() == slow.counts() == {"create": 33, "update": 0, "unchanged": 0, "error": 0}
    labels = {t[10] for t in fast_rows}
    assert any(label.endswith("号之一") for label in labels) and any("甲2005号" in label for label in labels)
    assert any("幢" in label and "单元" in label and label.endswith("1502室") for label in labels)
    assert "十八里畈村5组902号" in labels and "十八里畈村张家湾902号之一" in labels


def test_history_rows_carry_the_user_and_the_creation(demo_rows, admin, tmp_path):
    before = set(Address.objects.values_list("code", flat=True))
    report = bulk.addresses_import_bulk(
        write_layer(tmp_path / "a.gpkg", demo_rows), dry_run=False, user=admin
    )
    assert report.committed
    codes = set(Address.objects.values_list("code", flat=True)) - before
    assert len(codes) == 33
    history = Address.history.filter(code__in=codes)
    assert history.count() == 33
    assert set(history.values_list("history_type", "history_user_id")) == {("+", admin.pk)}
    for address in Address.objects.filter(code__in=codes):
        h = history.get(code=address.code)
        assert (h.id, h.label, h.full_text, h.status, h.point) == (
            address.pk,
            address.label,
            address.full_text,
            "active",
            address.point,
        )


# ---------------------------------------------------------------------------------------------------
# Errors: row, field, reason — and nothing written
# ---------------------------------------------------------------------------------------------------


@pytest.fixture
def outside_point(db) -> tuple[float, float]:
    """A lon/lat point in the county's bounding box but outside every township polygon."""
    import shapely

    from geo_mz.divisions.models import Division, Level

    towns = shapely.union_all(
        [
            shapely.from_wkb(bytes(d.geom.wkb))
            for d in Division.objects.filter(level=Level.TOWNSHIP, geom__isnull=False)
        ]
    )
    county = Division.objects.get(code="421281")
    x0, y0, x1, y1 = county.geom.extent
    for fx in np.linspace(0.02, 0.98, 25):
        for fy in np.linspace(0.02, 0.98, 25):
            p = shapely.Point(x0 + fx * (x1 - x0), y0 + fy * (y1 - y0))
            if not towns.buffer(200).contains(p):
                return _lonlat(type("P", (), {"x": p.x, "y": p.y, "srid": county.geom.srid}))
    raise AssertionError("no point outside the townships in the county's bbox")


def test_each_bad_row_is_reported_with_its_row_field_and_reason_and_nothing_is_written(
    ew_road, entrance, make_road, make_user, outside_point, tmp_path
):
    # given an active 鹭栖路 number, two roads sharing a name, and a user of one township only
    a = entrance(ew_road, 10, 12)
    services.road_numbering_commit(ew_road.pk, today=dt.date(2026, 3, 2))
    a.refresh_from_db()
    make_road("重名路", ((113.946, 29.706), (113.950, 29.706)))
    make_road("重名路", ((113.946, 29.707), (113.950, 29.707)))
    officer = make_user(roles.PLACENAME_OFFICER, jurisdiction_code=ew_road.division.code)
    village = "金潭村"
    lon, lat = _lonlat(offset_point(ew_road, 300, 12))
    rows = [
        road_row(ew_road, "31"),  # 1 ok
        road_row(ew_road, "31", 320),  # 2 duplicate of row 1
        road_row(ew_road, str(a.number)),  # 3 already active
        {**road_row(ew_road, "5"), "道路/小区": "不存在路"},  # 4 unknown road
        {**road_row(ew_road, "7"), "道路/小区": "重名路"},  # 5 ambiguous
        road_row(ew_road, "3十3"),  # 6 bad number
        road_row(ew_road, "35", 300, 400),  # 7 too far from the road
        {**road_row(ew_road, "37"), "lonlat": outside_point},  # 8 outside every township
        {**road_row(ew_road, "39"), "lonlat": (lat, lon)},  # 9 swapped lat/lon
        {"类型": "农村", "村": "不存在村", "组/自然村": "3组", "门牌号": "5", "lonlat": (lon, lat)},  # 10
        {"类型": "农村", "村": village, "组/自然村": "", "门牌号": "6", "lonlat": (lon, lat)},  # 11 group
        {**road_row(ew_road, "41"), "类型": "马路"},  # 12 bad kind
        {"类型": "小区", "道路/小区": "金鸾花园", "单元": "2", "lonlat": (lon, lat)},  # 13 building
        {**road_row(ew_road, "43"), "启用日期": "2019-13-45"},  # 14 bad date
    ]
    path = write_layer(tmp_path / "bad.gpkg", rows)
    before = snapshot()
    # when it is imported for real
    report = bulk.addresses_import_bulk(path, dry_run=False)
    # then every bad row is named with its field and reason, and nothing is written
    assert not report.ok and not report.committed
    errors = errors_by_row(report)
    assert set(errors) == set(range(2, 15)), report.as_text()
    assert errors[2] == [("门牌号", "鹭栖路31号 与第 1 行重复 / duplicate of row 1", None)]
    assert errors[3][0][0] == "门牌号" and f"已是现行门牌（{a.code}）" in errors[3][0][1]
    assert errors[4] == [("道路/小区", "“不存在路”不是本县现行的道路街巷名称 / unknown", "不存在路")]
    assert errors[5] == [("道路/小区", "“重名路”有 2 条同名道路，请先在地名中消除重名 / ambiguous", "重名路")]
    assert errors[6][0][0] == "门牌号" and errors[6][0][2] == "3十3"
    assert errors[7][0][0] == "经度/纬度" and "超过 120 米 / too far from the road" in errors[7][0][1]
    assert errors[8] == [
        ("point", "该位置不在任何乡镇（街道）范围内 / the point lies outside every township", None)
    ]
    assert errors[9][0][0] == "经度/纬度" and "经纬度颠倒" in errors[9][0][1] and "swapped" in errors[9][0][1]
    assert errors[10] == [("村", "本县没有这个村（社区）/ unknown village", "不存在村")]
    assert errors[11] == [("组/自然村", "不能为空 / required", None)]
    assert errors[12] == [("类型", "应为 道路、小区 或 农村 / kind must be road, compound or rural", "马路")]
    assert errors[13] == [("幢", "小区门牌须填写楼栋号 / the building number is required", None)]
    assert errors[14] == [
        ("启用日期", "日期格式应为 YYYY-MM-DD / expected a date like 2023-06-30", "2019-13-45")
    ]
    assert report.counts() == {"create": 1, "update": 0, "unchanged": 0, "error": 13}
    assert snapshot() == before

    # and the same rows through the row-by-row importer get the same messages where it has the check
    slow = importers.addresses_import(path, dry_run=True, bulk=False)
    slow_errors = errors_by_row(slow)
    for row in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14):
        assert slow_errors[row] == errors[row], (row, slow_errors[row], errors[row])

    # and a user of another township's jurisdiction is refused row by row (the row-by-row importer
    # raises PermissionDenied at the first such row instead)
    elsewhere = make_user(roles.PLACENAME_OFFICER, jurisdiction_code="421281001")
    ok_path = write_layer(tmp_path / "ok.gpkg", [road_row(ew_road, "45"), road_row(ew_road, "47", 200)])
    refused = bulk.addresses_import_bulk(ok_path, dry_run=False, user=elsewhere)
    town = ew_road.division.code
    assert errors_by_row(refused) == {
        r: [
            (
                "区划",
                f"区划 {town} 不在您的管辖范围（421281001）内 / division(s) {town} are outside your jurisdiction 421281001",
                None,
            )
        ]
        for r in (1, 2)
    }
    assert snapshot() == before
    allowed = bulk.addresses_import_bulk(ok_path, dry_run=True, user=officer)
    assert allowed.ok, allowed.as_text()


def test_a_file_without_a_crs_is_refused(ew_road, tmp_path):
    path = write_layer(tmp_path / "nocrs.gpkg", [road_row(ew_road, "31")], epsg=None)
    report = bulk.addresses_import_bulk(path, dry_run=False)
    assert [(e.field, e.message[:8]) for e in report.file_errors] == [("crs", "nocrs.gp")]
    assert "未声明坐标系" in report.file_errors[0].message and not report.rows


def test_one_bad_row_in_5000_is_found_and_nothing_is_written(ew_road, tmp_path):
    # given 5,000 rows on 鹭栖路 (numbers 1001…) with one unknown road at row 4321
    rows = [
        road_row(ew_road, str(1000 + i), 10 + (i * 7) % 900, 12 if i % 2 else -12) for i in range(1, 5001)
    ]
    rows[4320]["道路/小区"] = "不存在路"
    path = write_layer(tmp_path / "5000.gpkg", rows)
    before = snapshot()
    # when it is imported through the normal entry point (which goes bulk above BULK_THRESHOLD)
    progress: list[tuple] = []
    report = importers.addresses_import(path, dry_run=False, progress=lambda *a: progress.append(a))
    # then the bad row is reported, the other 4,999 would have been created, and nothing is written
    assert report.row_count == 5000 and report.counts()["error"] == 1 and report.counts()["create"] == 4999
    assert errors_by_row(report) == {
        4321: [("道路/小区", "“不存在路”不是本县现行的道路街巷名称 / unknown", "不存在路")]
    }
    assert not report.committed and snapshot() == before
    assert progress[0][1] == 5000 and progress[-1][0] == 5000 and any("数据库" in p[2] for p in progress)


def test_error_rows_are_listed_up_to_the_cap_and_counted_beyond(ew_road, tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "LIST_ROWS", 50)
    rows = [road_row(ew_road, str(3000 + i) if i % 5 else "x", 10 + i, 12) for i in range(1, 401)]
    path = write_layer(tmp_path / "many.gpkg", rows)
    report = bulk.addresses_import_bulk(path, dry_run=True)
    assert report.counts() == {"create": 320, "update": 0, "unchanged": 0, "error": 80}
    assert len(report.rows) == 50 and all(r.errors for r in report.rows)
    assert [r.row for r in report.rows] == list(range(5, 251, 5))
    assert report.file_errors[-1].message.startswith("另有 30 行错误未列出 / … and 30 more error rows")
    assert "400 行/rows" in report.summary() and report.as_dict()["row_count"] == 400


# ---------------------------------------------------------------------------------------------------
# Dry run, real run, formats
# ---------------------------------------------------------------------------------------------------


def test_dry_run_writes_nothing_and_a_real_run_writes_every_row_and_its_history(ew_road, tmp_path):
    rows = [road_row(ew_road, str(n), 10 + (3 * n) % 900, 12 if n % 2 else -12) for n in range(1, 2501)]
    path = write_layer(tmp_path / "clean.gpkg", rows)
    before = snapshot()
    dry = bulk.addresses_import_bulk(path, dry_run=True)
    assert dry.ok and not dry.committed and dry.counts()["create"] == 2500
    assert snapshot() == before
    report = bulk.addresses_import_bulk(path, dry_run=False)
    assert report.ok and report.committed, report.as_text()
    created = Address.objects.filter(feature=ew_road, recorded_only=True, status="active")
    assert created.count() == 2500
    assert Address.history.filter(code__in=created.values("code"), history_type="+").count() == 2500
    town = ew_road.division.code
    assert (
        SerialCounter.objects.get(scope=f"address:{town}").last == before[2].get(f"address:{town}", 0) + 2500
    )
    assert set(created.values_list("label", flat=True)) == {f"鹭栖路{n}号" for n in range(1, 2501)}
    # a second run of the same file clashes with what the first one wrote
    again = bulk.addresses_import_bulk(path, dry_run=True)
    assert again.counts()["error"] == 2500 and "已是现行门牌" in again.rows[0].errors[0].message


def test_a_gbk_shapefile_is_read_through_its_cpg(ew_road, tmp_path):
    rows = [road_row(ew_road, "31"), road_row(ew_road, "32之一", 200, -12)]
    path = write_layer(tmp_path / "gbk.shp", rows, driver="ESRI Shapefile", encoding="GBK")
    assert path.with_suffix(".cpg").read_text().strip().upper() in ("GBK", "936", "CP936")
    report = bulk.addresses_import_bulk(path, dry_run=True)
    assert report.ok, report.as_text()
    assert [(r.code, r.name) for r in report.rows] == [("31号", "鹭栖路"), ("32号之一", "鹭栖路")]


def test_a_zipped_shapefile_delegates_to_bulk_above_the_threshold(ew_road, tmp_path, monkeypatch):
    import zipfile

    monkeypatch.setattr(importers, "BULK_THRESHOLD", 1)
    rows = [road_row(ew_road, "31"), road_row(ew_road, "33", 200)]
    # GBK, as Chinese shapefiles are: a .dbf field name holds 10 bytes (5 Chinese characters in GBK)
    shp = write_layer(tmp_path / "roads.shp", rows, driver="ESRI Shapefile", encoding="GBK")
    archive = tmp_path / "roads.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("roads.*"):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    called = []
    original = bulk.addresses_import_bulk
    monkeypatch.setattr(bulk, "addresses_import_bulk", lambda *a, **k: called.append(1) or original(*a, **k))
    report = importers.addresses_import(archive, dry_run=True)
    assert called and report.ok and report.counts()["create"] == 2, report.as_text()
    del shp


# ---------------------------------------------------------------------------------------------------
# Background job, API and page
# ---------------------------------------------------------------------------------------------------


@pytest.fixture
def officer_client(make_user, ew_road):
    from rest_framework.test import APIClient

    user = make_user(roles.PLACENAME_OFFICER, jurisdiction_code="421281")
    client = APIClient()
    client.force_authenticate(user)
    return user, client


def test_the_api_queues_a_background_import_and_the_job_reports_progress_and_the_report(
    ew_road, officer_client, tmp_path, monkeypatch, settings
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    user, client = officer_client
    rows = [road_row(ew_road, str(n), 10 + 3 * n, 12) for n in range(1, 41)]
    path = write_layer(tmp_path / "job.gpkg", rows)
    monkeypatch.setattr(importers, "BULK_THRESHOLD", 10)
    monkeypatch.setattr(import_jobs, "TILE_REFRESH_ROWS", 10)
    calls: list[tuple] = []
    original = import_jobs.JobProgress.__call__
    monkeypatch.setattr(
        import_jobs.JobProgress, "__call__", lambda self, *a: calls.append(a) or original(self, *a)
    )
    with path.open("rb") as fh:
        response = client.post(
            "/api/addresses/import/",
            {"file": fh, "dry_run": "false", "background": "true"},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    job = Job.objects.get(pk=job_id)
    upload = Path(settings.MEDIA_ROOT) / job.params["upload"]
    assert job.kind == import_jobs.JOB_KIND and job.status == JobStatus.QUEUED and upload.exists()
    # the worker runs it (here in this thread, inside the test's transaction)
    jobs.job_run(jobs.job_claim())
    body = client.get(f"/api/address-imports/{job_id}/").json()
    assert body["status"] == "done", body
    report = body["result"]
    assert report["committed"] and report["counts"]["create"] == 40 and report["source"] == "job.gpkg"
    assert Address.objects.filter(feature=ew_road, recorded_only=True).count() == 40
    assert calls[0][:2] == (0, 40) and calls[-1][2].startswith("写入") and not upload.parent.exists()
    # a large committed import queues the rebuild of the low-zoom house-number clusters
    refresh = Job.objects.get(kind="tiles_refresh")
    assert refresh.status == JobStatus.QUEUED and refresh.params == {"layer": "addresses"}
    jobs.job_run(jobs.job_claim())
    refresh.refresh_from_db()
    assert refresh.status == JobStatus.DONE, refresh.error
    from geo_mz.api import tiles

    assert refresh.result["version"] == tiles.layer_version("addresses")
    # someone else's job is not visible
    from rest_framework.test import APIClient

    stranger = APIClient()
    stranger.force_authenticate(type(user).objects.create_user("stranger-bulk"))
    assert stranger.get(f"/api/address-imports/{job_id}/").status_code == 404


def test_the_synchronous_api_path_is_unchanged_for_small_files(ew_road, officer_client, tmp_path):
    _, client = officer_client
    path = write_layer(tmp_path / "small.gpkg", [road_row(ew_road, "31")])
    with path.open("rb") as fh:
        response = client.post("/api/addresses/import/", {"file": fh}, format="multipart")
    assert response.status_code == 200 and response.json()["counts"]["create"] == 1
    assert not Job.objects.filter(kind=import_jobs.JOB_KIND).exists()


def test_a_user_without_the_role_cannot_queue_an_import(make_user, ew_road, tmp_path):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(make_user(roles.VIEWER))
    path = write_layer(tmp_path / "x.gpkg", [road_row(ew_road, "31")])
    with path.open("rb") as fh:
        response = client.post(
            "/api/addresses/import/", {"file": fh, "background": "true"}, format="multipart"
        )
    assert response.status_code == 403 and not Job.objects.filter(kind=import_jobs.JOB_KIND).exists()


def test_the_import_page_shows_a_background_job_and_then_its_report(
    ew_road, make_user, tmp_path, settings, client
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    user = make_user(roles.PLACENAME_OFFICER, jurisdiction_code="421281")
    client.force_login(user)
    path = write_layer(tmp_path / "page.gpkg", [road_row(ew_road, "31"), road_row(ew_road, "31", 300)])
    with path.open("rb") as fh:
        response = client.post(
            "/addresses/import/", {"file": fh, "background": "1", "coordinate_system": "wgs84"}
        )
    assert response.status_code == 302 and "?job=" in response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert 'id="import-job"' in page and "/api/address-imports/" in page and "address_import.js" in page
    jobs.job_run(jobs.job_claim())
    page = client.get(response["Location"]).content.decode()
    assert 'id="import-report"' in page and "与第 1 行重复" in page and 'id="import-job"' not in page


@pytest.mark.django_db(transaction=True)
@override_settings(GEO_MZ_JOBS_MODE="thread")
def test_thread_mode_runs_the_import_with_visible_progress(demo_county, make_user, tmp_path, settings):  # noqa: F811
    from rest_framework.test import APIClient

    from geo_mz.placenames.models import NamedFeature

    settings.MEDIA_ROOT = str(tmp_path / "media")
    road = (
        NamedFeature.objects.filter(kind__is_road=True, status="active", geom__isnull=False)
        .order_by("code")
        .first()
    )
    user = make_user(roles.ADMIN)
    client = APIClient()
    client.force_authenticate(user)
    line = road.geom
    mid = line.interpolate(line.length / 2) if hasattr(line, "interpolate") else None
    start = mid or type("P", (), {"x": line.coords[0][0], "y": line.coords[0][1]})
    lon, lat = crs.projected_to_lonlat(start.x, start.y, road.geom.srid)
    rows = [
        {
            "类型": "道路",
            "道路/小区": services._feature_name(road),
            "门牌号": str(5000 + i),
            "lonlat": (float(lon), float(lat)),
        }
        for i in range(3000)
    ]
    path = write_layer(tmp_path / "thread.gpkg", rows)
    with path.open("rb") as fh:
        response = client.post(
            "/api/addresses/import/", {"file": fh, "background": "true"}, format="multipart"
        )
    assert response.status_code == 202
    job_id = response.json()["id"]
    for _ in range(600):
        body = client.get(f"/api/address-imports/{job_id}/").json()
        if body["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert body["status"] == "done", body
    assert body["total"] == 3000 and body["progress"] == 3000 and body["percent"] == 100.0
    assert (
        body["result"]["ok"]
        and body["result"]["counts"]["create"] == 3000
        and not body["result"]["committed"]
    )


def test_a_number_taken_by_a_concurrent_writer_is_a_file_error_and_nothing_is_written(
    ew_road, tmp_path, monkeypatch
):
    # given a clean file, and another writer who takes 鹭栖路31号 after the checks, before the insert
    path = write_layer(tmp_path / "race.gpkg", [road_row(ew_road, "31"), road_row(ew_road, "33", 200)])
    original = bulk._write

    def racing_write(cursor, *args, **kwargs):
        services.entrance_add(kind="road", point=offset_point(ew_road, 100, 12), feature=ew_road)
        Address.objects.filter(feature=ew_road, status="proposed").update(
            status="active", number=31, code="RACE-31"
        )
        return original(cursor, *args, **kwargs)

    monkeypatch.setattr(bulk, "_write", racing_write)
    before = snapshot()
    # when the import writes
    report = bulk.addresses_import_bulk(path, dry_run=False)
    # then the unique index's violation is the report's file-level error, and nothing is written
    assert [(e.field, e.message) for e in report.file_errors] == [
        ("row", "该道路上此门牌号已在使用 / the number is already active on this road")
    ]
    assert not report.ok and not report.committed
    assert snapshot() == before


def test_an_empty_layer_and_a_layer_without_coordinates_are_file_errors(db, tmp_path):
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    empty = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({h: [] for h in HEADER}, geometry=[], crs="EPSG:4490").to_file(empty, layer="a")
    report = bulk.addresses_import_bulk(empty, dry_run=False)
    assert [(e.field, e.message) for e in report.file_errors] == [("file", "文件为空 / the file is empty")]
    table = tmp_path / "table.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"类型": ["道路"], "门牌号": ["5"]}), table, layer="t")
    report = bulk.addresses_import_bulk(table, dry_run=True)
    assert report.file_errors[0].field == "geometry" and "经度/纬度" in report.file_errors[0].message

"""Excel and CSV house-number imports through the set-based path (addresses/tabular.py + bulk.py).

They must agree with the row-by-row importer (the reference, `bulk=False`): the same addresses from
the same sheet, and the same row, field and message for each bad row; rows keep the spreadsheet's
row numbers; large tables run as background jobs; and a database connection lost while writing
fails the job with a plain message and writes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from geo_mz.addresses import bulk, import_jobs, importers, services, tabular
from geo_mz.addresses.models import Address
from geo_mz.core import crs, jobs, roles
from geo_mz.core.models import Job, JobStatus
from tests.addresses.conftest import offset_point
from tests.addresses.test_bulk_import import (  # noqa: F401  (fixtures)
    HEADER,
    _import_and_collect,
    _lonlat,
    admin,
    demo_rows,
    errors_by_row,
    outside_point,
    road_row,
    snapshot,
)
from tests.browser.conftest import demo_county  # noqa: F401  (the demo county in a transactional test)

TABLE_HEADER = [*HEADER, "经度", "纬度"]


def _cells(row: dict, typed: bool) -> list:
    """A row's cells in TABLE_HEADER order; typed: numbers, dates and coordinates as Excel stores
    them (int, datetime, float) wherever the text allows it."""
    out: list = []
    for h in HEADER:
        value = str(row.get(h, ""))
        if typed and h in ("门牌号", "幢", "单元") and value.isdigit():
            out.append(int(value))
        elif typed and h == "启用日期" and value:
            try:
                out.append(dt.datetime.fromisoformat(value))
            except ValueError:
                out.append(value)
        else:
            out.append(value or None if typed else value)
    lon, lat = row["lonlat"]
    out += [lon, lat] if typed else [repr(lon), repr(lat)]
    return out


def write_xlsx(path: Path, rows: list[dict], *, blank_rows: tuple[int, ...] = ()) -> Path:
    """An .xlsx sheet: the header on row 1, then the rows with typed cells; `blank_rows` are sheet
    row numbers left empty (the data moves down past them)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(TABLE_HEADER)
    pending = list(rows)
    while pending:
        if sheet.max_row + 1 in blank_rows:
            sheet.append([])
            sheet.cell(row=sheet.max_row + 1, column=1)  # keep the blank row in the sheet's numbering
            continue
        sheet.append(_cells(pending.pop(0), typed=True))
    book.save(path)
    return path


def write_csv(path: Path, rows: list[dict], encoding: str = "utf-8-sig") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TABLE_HEADER)
    for row in rows:
        writer.writerow(_cells(row, typed=False))
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


# ---------------------------------------------------------------------------------------------------
# The same addresses and the same report as the row-by-row importer
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "coordinate_system"), [("xlsx", "wgs84"), ("csv", "wgs84"), ("xlsx", "gcj02"), ("csv", "bd09")]
)
def test_a_table_writes_the_same_addresses_as_the_row_by_row_importer(
    demo_rows,  # noqa: F811
    admin,  # noqa: F811
    tmp_path,
    suffix,
    coordinate_system,
):
    # given a sheet of 33 valid road, compound and rural rows, the points shifted as the option says
    rows = demo_rows
    if coordinate_system == "gcj02":
        rows = [{**r, "lonlat": tuple(float(v) for v in crs.wgs84_to_gcj02(*r["lonlat"]))} for r in rows]
    if coordinate_system == "bd09":
        rows = [{**r, "lonlat": tuple(float(v) for v in crs.wgs84_to_bd09(*r["lonlat"]))} for r in rows]
    writer = write_xlsx if suffix == "xlsx" else write_csv
    path = writer(tmp_path / f"a.{suffix}", rows)
    # when it is imported row by row, and (from the same database) through the default entry point
    slow, slow_rows, slow_history, slow_listed = _import_and_collect(
        lambda: importers.addresses_import(
            path, dry_run=False, coordinate_system=coordinate_system, user=admin, bulk=False
        )
    )
    fast, fast_rows, fast_history, fast_listed = _import_and_collect(
        lambda: importers.addresses_import(
            path, dry_run=False, coordinate_system=coordinate_system, user=admin
        )
    )
    # then both commit the same addresses (codes, labels, full texts, points to 1 mm) and history
    assert slow.committed and fast.committed, (slow.as_text(), fast.as_text())
    assert bulk.last_steps, "the default path for a table is the set-based importer"
    assert len(fast_rows) == 33 and fast_rows == slow_rows, sorted(fast_rows ^ slow_rows)
    assert fast_history == slow_history == 33
    assert fast_listed == slow_listed and fast_listed[0][0] == 2  # the header is row 1


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_a_table_with_bad_rows_gets_the_row_by_row_report_and_nothing_is_written(
    ew_road,
    entrance,
    make_road,
    outside_point,  # noqa: F811 - the fixture imported above
    tmp_path,
    suffix,
):
    # given an active 鹭栖路 number, two roads sharing a name, and a sheet mixing good and bad rows
    a = entrance(ew_road, 10, 12)
    services.road_numbering_commit(ew_road.pk, today=dt.date(2026, 3, 2))
    a.refresh_from_db()
    make_road("重名路", ((113.946, 29.706), (113.950, 29.706)))
    make_road("重名路", ((113.946, 29.707), (113.950, 29.707)))
    lon, lat = _lonlat(offset_point(ew_road, 300, 12))
    rows = [
        road_row(ew_road, "31"),  # 2 ok
        road_row(ew_road, "31", 320),  # 3 duplicate of row 2
        road_row(ew_road, str(a.number)),  # 4 already active
        {**road_row(ew_road, "5"), "道路/小区": "不存在路"},  # 5 unknown road
        {**road_row(ew_road, "7"), "道路/小区": "重名路"},  # 6 ambiguous
        road_row(ew_road, "3十3"),  # 7 bad number
        road_row(ew_road, "35", 300, 400),  # 8 too far from the road
        {**road_row(ew_road, "37"), "lonlat": outside_point},  # 9 outside every township
        {**road_row(ew_road, "39"), "lonlat": (lat, lon)},  # 10 swapped lat/lon
        {"类型": "农村", "村": "不存在村", "组/自然村": "3组", "门牌号": "5", "lonlat": (lon, lat)},  # 11
        {"类型": "农村", "村": "金潭村", "组/自然村": "", "门牌号": "6", "lonlat": (lon, lat)},  # 12
        {**road_row(ew_road, "41"), "类型": "马路"},  # 13 bad kind
        {"类型": "小区", "道路/小区": "金鸾花园", "单元": "2", "lonlat": (lon, lat)},  # 14 building
        {**road_row(ew_road, "43"), "启用日期": "2019-13-45"},  # 15 bad date
        road_row(ew_road, "45之一", 500, -12, 启用日期="2019-05-01"),  # 16 ok
    ]
    path = (write_xlsx if suffix == "xlsx" else write_csv)(tmp_path / f"bad.{suffix}", rows)
    before = snapshot()
    # when it is imported for real through the default (set-based) path and row by row
    fast = importers.addresses_import(path, dry_run=False)
    slow = importers.addresses_import(path, dry_run=False, bulk=False)
    # then the reports agree row for row: row numbers, fields, messages and values
    assert errors_by_row(fast) == errors_by_row(slow), (fast.as_text(), slow.as_text())
    assert set(errors_by_row(fast)) == set(range(3, 16))
    assert [(r.row, r.action) for r in fast.rows] == [(r.row, r.action) for r in slow.rows]
    assert fast.counts() == slow.counts() == {"create": 2, "update": 0, "unchanged": 0, "error": 13}
    # and nothing is written by either
    assert not fast.committed and not slow.committed and snapshot() == before


def test_rows_keep_their_spreadsheet_row_numbers_across_blank_rows(ew_road, tmp_path):
    # given a sheet whose rows 3 and 4 are blank, so the data sits on rows 2, 5 and 6
    rows = [road_row(ew_road, "31"), road_row(ew_road, "x"), road_row(ew_road, "35", 300)]
    path = write_xlsx(tmp_path / "gaps.xlsx", rows, blank_rows=(3, 4))
    # when it is checked
    report = importers.addresses_import(path, dry_run=True)
    # then the bad number is reported on row 5, where Excel shows it
    assert [r.row for r in report.rows] == [2, 5, 6]
    assert list(errors_by_row(report)) == [5] and errors_by_row(report)[5][0][0] == "门牌号"


def test_a_table_without_the_number_column_or_empty_is_a_file_error(db, tmp_path):
    headless = tmp_path / "h.csv"
    headless.write_text("类型,道路/小区,经度,纬度\n道路,人民路,113.9,29.7\n", encoding="utf-8")
    report = importers.addresses_import(headless, dry_run=True)
    assert report.file_errors[0].field == "header" and "门牌号" in report.file_errors[0].message
    empty = tmp_path / "e.csv"
    empty.write_text("\n\n", encoding="utf-8")
    report = importers.addresses_import(empty, dry_run=True)
    assert [(e.field, e.message) for e in report.file_errors] == [("file", "文件为空 / the file is empty")]


# ---------------------------------------------------------------------------------------------------
# Routing: large tables become background jobs
# ---------------------------------------------------------------------------------------------------


def test_row_estimates_of_csv_and_xlsx_uploads(ew_road, tmp_path):
    rows = [road_row(ew_road, str(n), 10 + n, 12) for n in range(1, 8)]
    csv_path = write_csv(tmp_path / "e.csv", rows)
    xlsx_path = write_xlsx(tmp_path / "e.xlsx", rows)
    for path in (csv_path, xlsx_path):
        upload = SimpleUploadedFile(path.name, path.read_bytes())
        assert import_jobs.upload_row_estimate(upload) == 7, path.name
        assert upload.read(2) == path.read_bytes()[:2]  # rewound for the importer
    assert tabular.table_row_estimate("x.xlsx", io.BytesIO(b"not a zip")) is None


def test_an_api_upload_above_the_row_threshold_is_queued_and_a_small_one_is_not(
    ew_road, make_user, tmp_path, settings
):
    from rest_framework.test import APIClient

    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.GEO_MZ_IMPORT_BACKGROUND_ROWS = 5
    settings.GEO_MZ_JOBS_MODE = "worker"
    client = APIClient()
    client.force_authenticate(make_user(roles.PLACENAME_OFFICER, jurisdiction_code="421281"))
    small = write_xlsx(tmp_path / "small.xlsx", [road_row(ew_road, str(n), 10 + 9 * n, 12) for n in (1, 3)])
    large = write_csv(
        tmp_path / "large.csv", [road_row(ew_road, str(n), 10 + 9 * n, 12) for n in range(1, 9)]
    )
    with small.open("rb") as fh:
        response = client.post("/api/addresses/import/", {"file": fh}, format="multipart")
    assert response.status_code == 200 and response.json()["counts"]["create"] == 2
    assert not Job.objects.filter(kind=import_jobs.JOB_KIND).exists()
    with large.open("rb") as fh:
        response = client.post("/api/addresses/import/", {"file": fh, "dry_run": "false"}, format="multipart")
    assert response.status_code == 202, response.content
    job = jobs.job_run(jobs.job_claim())
    assert job.status == JobStatus.DONE and job.result["committed"] and job.result["counts"]["create"] == 8
    assert job.result["source"] == "large.csv"
    # the size threshold is the setting GEO_MZ_IMPORT_BACKGROUND_MB, not a constant
    settings.GEO_MZ_IMPORT_BACKGROUND_ROWS = 500
    settings.GEO_MZ_IMPORT_BACKGROUND_MB = 0.0001
    with small.open("rb") as fh:
        assert client.post("/api/addresses/import/", {"file": fh}, format="multipart").status_code == 202


def test_a_viewer_is_refused_before_the_upload_is_estimated(make_user, ew_road, tmp_path, monkeypatch):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(make_user(roles.VIEWER))
    path = write_csv(tmp_path / "v.csv", [road_row(ew_road, "31")])
    monkeypatch.setattr(import_jobs, "upload_row_estimate", lambda upload: pytest.fail("file read"))
    with path.open("rb") as fh:
        response = client.post("/api/addresses/import/", {"file": fh}, format="multipart")
    assert response.status_code == 403


# ---------------------------------------------------------------------------------------------------
# A backend killed during the write stage
# ---------------------------------------------------------------------------------------------------


def _kill_own_backend_when_writing(message: str) -> None:
    """Terminate Django's backend from a second connection once the import reaches its write step."""
    import psycopg

    from geo_mz.core.db import psycopg_conninfo

    if not message.startswith("写入"):
        return
    pid = connection.connection.info.backend_pid
    with psycopg.connect(**psycopg_conninfo(), autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone()[0]


def _demo_road_rows(n: int) -> list[dict]:
    from geo_mz.placenames.models import NamedFeature

    road = next(
        f
        for f in NamedFeature.objects.filter(
            kind__is_road=True, status="active", geom__isnull=False
        ).order_by("code")
        if f.geom.length > 400
    )
    line = road.geom[0] if road.geom.geom_type == "MultiLineString" else road.geom
    start = line.coords[0]
    from django.contrib.gis.geos import Point

    point = Point(start[0], start[1], srid=road.geom.srid)
    return [
        {
            "类型": "道路",
            "道路/小区": services._feature_name(road),
            "门牌号": str(7000 + i),
            "lonlat": _lonlat(point),
        }
        for i in range(n)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_backend_killed_while_writing_fails_the_job_plainly_and_writes_nothing(
    demo_county,  # noqa: F811
    make_user,
    tmp_path,
    settings,
    monkeypatch,
):
    # given a queued import job of a 40-row CSV, and a hook that kills the import's backend as soon as
    # it starts writing
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.GEO_MZ_JOBS_MODE = "worker"
    user = make_user(roles.ADMIN)
    path = write_csv(tmp_path / "kill.csv", _demo_road_rows(40))
    job = import_jobs.import_job_submit(
        SimpleUploadedFile("kill.csv", path.read_bytes()), dry_run=False, coordinate_system="wgs84", user=user
    )
    original = import_jobs.JobProgress.__call__

    def killing(self, done, total=None, message=""):
        _kill_own_backend_when_writing(message)
        return original(self, done, total, message)

    monkeypatch.setattr(import_jobs.JobProgress, "__call__", killing)
    before = snapshot()
    # when a worker runs it
    job = jobs.job_run(jobs.job_claim())
    # then the job failed with the plain message (not "An error occurred in the current transaction"),
    # nothing was written, and the next query works on a fresh connection
    job.refresh_from_db()
    assert (job.status, job.error) == (JobStatus.FAILED, "数据库连接中断，导入未写入任何数据，可重试")
    assert snapshot() == before
    assert not Address.objects.filter(number__gte=7000, number__lt=7040, recorded_only=True).exists()
    # and a retry (the upload was kept) imports every row
    monkeypatch.setattr(import_jobs.JobProgress, "__call__", original)
    jobs.job_retry(job)
    retried = jobs.job_run(jobs.job_claim())
    assert retried.status == JobStatus.DONE and retried.result["committed"], retried.error
    assert Address.objects.filter(number__gte=7000, number__lt=7040, recorded_only=True).count() == 40


@pytest.mark.django_db(transaction=True)
def test_a_backend_killed_while_writing_a_synchronous_import_is_reported_plainly(
    demo_county,  # noqa: F811
    tmp_path,
):
    path = write_xlsx(tmp_path / "kill.xlsx", _demo_road_rows(10))
    before = snapshot()
    report = importers.addresses_import(
        path,
        dry_run=False,
        progress=lambda done, total=None, message="": _kill_own_backend_when_writing(message),
    )
    assert [(e.field, e.message) for e in report.file_errors] == [
        (bulk.CONNECTION_LOST_FIELD, "数据库连接中断，导入未写入任何数据，可重试")
    ]
    assert not report.committed and not report.ok
    assert snapshot() == before  # a fresh connection answers, and nothing was written

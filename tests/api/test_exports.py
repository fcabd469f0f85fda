"""Per-layer exports (api/exports.py over core/exporting.py and core/jobs.py): background jobs with
progress for every format, streamed GeoJSON, filters, permissions and clear errors — read back with
GDAL (pyogrio), openpyxl and the project's own shapefile reader, against the database."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import pytest
from django.conf import settings
from django.test import override_settings
from openpyxl import load_workbook
from rest_framework.test import APIClient

from geo_mz.core import crs, geofile, jobs
from geo_mz.core.models import Job
from geo_mz.facilities.models import Facility
from geo_mz.placenames.models import NamedFeature
from tests.browser.conftest import demo_county  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("worker_mode")]


@pytest.fixture
def worker_mode(settings, tmp_path):
    settings.GEO_MZ_JOBS_MODE = "worker"  # jobs run when the test says so, on the test's connection
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def planner(make_user):
    from geo_mz.core import roles

    user = make_user(roles.PLANNER)
    client = APIClient()
    client.force_authenticate(user)
    return user, client


def _export(client, **body) -> dict:
    r = client.post("/api/exports/", body, format="json")
    assert r.status_code == 202, r.content
    job = r.json()
    assert job["status"] == "queued"
    assert jobs.job_work_one()
    r = client.get(f"/api/exports/{job['id']}/")
    assert r.status_code == 200
    return r.json()


def _download(client, job: dict, tmp_path: Path) -> Path:
    assert job["status"] == "done", job
    r = client.get(f"/api/exports/{job['id']}/download/")
    assert r.status_code == 200
    path = tmp_path / job["file_name"]
    path.write_bytes(b"".join(r.streaming_content))
    return path


def _facility_lonlat() -> dict[str, tuple[float, float]]:
    srid = settings.GEO_MZ_SRID
    return {
        code: tuple(map(float, crs.projected_to_lonlat(p.x, p.y, srid)))
        for code, p in Facility.objects.values_list("code", "point")
    }


def test_given_facilities_when_exported_to_gpkg_then_same_count_crs_and_coordinates(planner, tmp_path):
    _, client = planner
    job = _export(client, collection="facilities", format="gpkg")
    n = Facility.objects.count()
    assert job["result"]["count"] == n and job["progress"] == n and job["total"] == n
    assert job["percent"] == 100.0
    path = _download(client, job, tmp_path)
    info = pyogrio.read_info(path)
    assert info["features"] == n and info["crs"] == "EPSG:4490" and info["geometry_type"] == "Point"
    frame = pyogrio.read_dataframe(path)
    assert {"设施编码", "名称", "类型", "床位数"} <= set(frame.columns)
    expected = _facility_lonlat()
    got = {c: (g.x, g.y) for c, g in zip(frame["设施编码"], frame.geometry, strict=True)}
    assert set(got) == set(expected)
    err = max(max(abs(got[c][0] - expected[c][0]), abs(got[c][1] - expected[c][1])) for c in got)
    assert err < 1e-7


@pytest.mark.parametrize("encoding", ["GBK", "UTF-8"])
def test_shapefile_export_carries_its_encoding_in_the_cpg_and_chinese_survives(planner, tmp_path, encoding):
    _, client = planner
    job = _export(client, collection="facilities", format="shp", encoding=encoding)
    path = _download(client, job, tmp_path)
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        cpg = next(n for n in names if n.endswith(".cpg"))
        assert z.read(cpg).decode().strip() == encoding
        assert {Path(n).suffix for n in names} >= {".shp", ".shx", ".dbf", ".prj", ".cpg"}
        z.extractall(tmp_path / "shp")
    data = geofile.read_vector(next((tmp_path / "shp").glob("*.shp")))
    assert data.encoding == encoding
    name_col = job["result"]["field_names"]["名称"]
    assert sorted(data.frame[name_col]) == sorted(Facility.objects.values_list("name", flat=True))


@pytest.mark.parametrize("fmt", ["geojson", "kml", "xlsx", "csv"])
def test_every_format_holds_every_feature(planner, tmp_path, fmt):
    _, client = planner
    job = _export(client, collection="facilities", format=fmt)
    path = _download(client, job, tmp_path)
    codes = set(Facility.objects.values_list("code", flat=True))
    if fmt == "geojson":
        doc = json.loads(path.read_text(encoding="utf-8"))
        got = {f["properties"]["设施编码"] for f in doc["features"]}
    elif fmt == "kml":
        frame = pyogrio.read_dataframe(path)
        assert len(frame) == len(codes)
        got = set(frame["设施编码"])
    elif fmt == "xlsx":
        wb = load_workbook(path, read_only=True)
        ws = wb.worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
        header = list(rows[0])
        assert "经度" in header and "纬度" in header
        got = {r[header.index("设施编码")] for r in rows[1:]}
    else:
        text = path.read_bytes().decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert {"经度", "纬度"} <= set(rows[0])
        got = {r["设施编码"] for r in rows}
    assert got == codes


def test_division_filter_exports_only_that_township(planner, tmp_path):
    _, client = planner
    code = NamedFeature.objects.filter(kind__is_road=True).values_list("division__code", flat=True).first()
    job = _export(client, collection="roads", format="gpkg", filters={"division_code": code})
    expected = NamedFeature.objects.filter(kind__is_road=True, division__code=code).count()
    assert expected > 0 and job["result"]["count"] == expected
    path = _download(client, job, tmp_path)
    assert pyogrio.read_info(path)["features"] == expected


def test_streamed_geojson_is_the_whole_layer(planner):
    _, client = planner
    r = client.get("/api/exports/roads.geojson")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/geo+json")
    assert r.streaming
    doc = json.loads(b"".join(r.streaming_content))
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) == NamedFeature.objects.filter(kind__is_road=True).count()
    assert doc["numberMatched"] == doc["numberReturned"] == len(doc["features"])  # complete-download marker
    lon, lat = np.array(doc["features"][0]["geometry"]["coordinates"][0][0])
    assert 113 < lon < 115 and 29 < lat < 31  # lon/lat order


def test_addresses_need_a_signed_in_user_and_jobs_are_private(planner, make_user):
    anonymous = APIClient()
    r = anonymous.get("/api/exports/addresses.geojson")
    assert r.status_code in (401, 403)
    assert anonymous.post(
        "/api/exports/", {"collection": "roads", "format": "gpkg"}, format="json"
    ).status_code in (
        401,
        403,
    )
    _, client = planner
    job = client.post("/api/exports/", {"collection": "addresses", "format": "csv"}, format="json").json()
    other = APIClient()
    other.force_authenticate(make_user())
    assert other.get(f"/api/exports/{job['id']}/").status_code == 404
    assert other.get(f"/api/exports/{job['id']}/download/").status_code == 404
    assert [j["id"] for j in other.get("/api/exports/").json()] == []


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"collection": "nope", "format": "gpkg"}, "collection", "nope"),
        ({"collection": "roads", "format": "dwg"}, "format", "dwg"),
        ({"collection": "roads", "format": "gpkg", "encoding": "GBK"}, "encoding", "Shapefile"),
        ({"collection": "roads", "format": "shp", "encoding": "latin-1"}, "encoding", "GBK"),
        ({"collection": "roads", "format": "gpkg", "filters": {"colour": "red"}}, "colour", "colour"),
        ({"collection": "roads", "format": "gpkg", "filters": {"bbox": "1,2,3"}}, "bbox", "bbox"),
    ],
)
def test_bad_requests_name_the_field_and_queue_nothing(planner, body, field, fragment):
    _, client = planner
    before = Job.objects.count()
    r = client.post("/api/exports/", body, format="json")
    assert r.status_code == 400, r.content
    errors = r.json()["errors"]
    assert field in errors and fragment in json.dumps(errors[field], ensure_ascii=False)
    assert Job.objects.count() == before


def test_download_before_the_job_ran_is_404(planner):
    _, client = planner
    job = client.post("/api/exports/", {"collection": "roads", "format": "gpkg"}, format="json").json()
    assert client.get(f"/api/exports/{job['id']}/download/").status_code == 404


@pytest.mark.django_db(transaction=True)
@override_settings(GEO_MZ_JOBS_MODE="thread")
def test_thread_mode_runs_the_export_in_the_background(demo_county, planner, tmp_path):  # noqa: F811
    import time

    _, client = planner
    r = client.post("/api/exports/", {"collection": "facilities", "format": "csv"}, format="json")
    assert r.status_code == 202
    job_id = r.json()["id"]
    for _ in range(200):
        job = client.get(f"/api/exports/{job_id}/").json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "done", job
    assert job["result"]["count"] == Facility.objects.count()


def test_a_failed_export_is_retried_with_one_call_by_its_requester_only(planner, make_user):
    """An export interrupted by a restart is failed by core.jobs; its requester retries it in one call
    (the export page shows a 重试 button from the `retry` link) and the retry runs to done."""
    from geo_mz.core import roles

    user, client = planner
    created = client.post("/api/exports/", {"collection": "roads", "format": "csv"}, format="json").json()
    Job.objects.filter(pk=created["id"]).update(status="failed", error=jobs.INTERRUPTED)
    listed = client.get("/api/jobs/").json()
    failed = next(j for j in listed if j["id"] == created["id"])
    assert failed["retry"].endswith(f"/api/jobs/{created['id']}/retry/")
    other = APIClient()
    other.force_authenticate(make_user(roles.PLANNER))
    assert other.post(f"/api/jobs/{created['id']}/retry/").status_code == 404
    r = client.post(f"/api/jobs/{created['id']}/retry/")
    assert r.status_code == 202 and r.json()["status"] == "queued"
    retry = Job.objects.get(pk=r.json()["id"])
    assert retry.retry_of_id == created["id"] and retry.params == Job.objects.get(pk=created["id"]).params
    assert jobs.job_work_one() is True
    retry.refresh_from_db()
    assert retry.status == "done" and retry.file
    again = client.post(f"/api/jobs/{retry.pk}/retry/")
    assert again.status_code == 409 and "失败" in again.json()["detail"]

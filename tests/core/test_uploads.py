"""Uploads at the edges (issue 14): types by content, re-encoded images under generated names,
downloads only through /files/ as attachments, bounded archives, permission before reading, temp
files removed, large imports as background jobs."""

from __future__ import annotations

import io
import resource
import tempfile
import tracemalloc
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from geo_mz.core import roles, uploads
from geo_mz.core.uploads import UploadError, ZipLimits

SCRIPT = b"<script>fetch('/api/certificates/').then(r=>r.text()).then(alert)</script>"
MB = 1024 * 1024


def _gif_polyglot() -> bytes:
    """A valid GIF with an HTML script appended after its trailer (Pillow's verify accepts it)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("P", (8, 8), 3).save(buf, format="GIF")
    return buf.getvalue() + b"<html><body>" + SCRIPT + b"</body></html>"


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (20, 10), (10, 120, 10)).save(buf, format="PNG")
    return buf.getvalue()


def _client(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory) -> Path:
    """About 1 MB on disk that inflates to 1 GiB (one entry of zeros), written in 1 MB chunks."""
    path = tmp_path_factory.mktemp("bomb") / "photos.zip"
    chunk = bytes(MB)
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("lost.png", "w", force_zip64=True) as fh,
    ):
        for _ in range(1024):
            fh.write(chunk)
    assert path.stat().st_size < 2 * MB
    return path


@pytest.fixture
def open_inspection(honghu_line, side_users):
    import datetime as dt

    from geo_mz.boundaries import services

    return services.inspection_create(
        honghu_line.pk,
        round_year=2026,
        lead_code="421281",
        start_date=dt.date(2026, 10, 12),
        user=side_users[1],
    )


def _rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# ---------------------------------------------------------------------------------------------------
# Pure: content checks
# ---------------------------------------------------------------------------------------------------


def test_polyglot_gif_is_reencoded_without_the_script_and_gets_a_generated_name():
    # Given a GIF with a script appended, named like a web page
    data = _gif_polyglot()
    assert uploads.sniff(data) == uploads.GIF
    # When it is re-encoded
    clean, kind = uploads.image_reencode(data, field="photos", name="evil.html")
    # Then the stored bytes are a PNG with no trace of the script, under a uuid name
    assert kind == uploads.PNG and clean.startswith(b"\x89PNG")
    assert b"<script" not in clean and b"<html" not in clean
    name = uploads.generated_name(kind)
    assert name.endswith(".png") and "evil" not in name and len(name) == 36


@pytest.mark.parametrize(
    "payload",
    [
        b"<!DOCTYPE html><html>" + SCRIPT,
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b'<?xml version="1.0"?><x/>',
        SCRIPT,
        b"GIF89a" + SCRIPT,  # a GIF header and nothing else: not an image Pillow can read
    ],
)
def test_html_svg_xml_and_scripts_are_refused_as_images(payload):
    with pytest.raises(UploadError) as err:
        uploads.image_reencode(payload, field="photos", name="a.jpg")
    assert err.value.field == "photos" and "a.jpg" in err.value.message


@pytest.mark.parametrize(
    "payload",
    [b"<html>" + SCRIPT, b"<svg onload=alert(1)>", b'<?xml version="1.0"?>', b"#!/bin/sh\nrm -rf /"],
)
def test_documents_refuse_html_svg_xml_and_scripts_whatever_their_name(payload):
    with pytest.raises(UploadError, match="不允许"):
        uploads.document_check(payload, field="file", name="报告.pdf")


def _office(kind: str, *, macros: bool = False) -> bytes:
    buf = io.BytesIO()
    ct = "application/vnd.ms-word.document.macroEnabled.main+xml" if macros else "application/xml"
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", f'<Types><Override ContentType="{ct}"/></Types>')
        zf.writestr(f"{kind}/document.xml", "<w:document/>")
    return buf.getvalue()


def test_documents_accept_pdf_and_office_by_content_not_name():
    assert uploads.document_check(b"%PDF-1.7\n%...", field="file", name="x.html") == uploads.PDF
    assert uploads.document_check(_office("word"), field="file", name="a.bin") == uploads.DOCX
    assert uploads.document_check(_office("xl"), field="file") == uploads.XLSX
    with pytest.raises(UploadError):
        uploads.document_check(_office("word", macros=True), field="file", name="a.docx")
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as zf:
        zf.writestr("index.html", SCRIPT)
    with pytest.raises(UploadError):
        uploads.document_check(plain_zip.getvalue(), field="file", name="a.docx")


def test_decompression_bomb_image_is_refused_from_its_header():
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(buf, format="PNG")  # 144 M pixels in ~20 KB
    assert len(buf.getvalue()) < 100_000
    with pytest.raises(UploadError, match="像素过多") as err:
        uploads.image_reencode(buf.getvalue(), field="photos", max_pixels=50_000_000)
    assert err.value.too_large


def test_zip_slip_and_symlinks_are_refused(tmp_path):
    evil = tmp_path / "slip.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../etc/cron.d/x", "boom")
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(UploadError, match="非法路径"):
        uploads.zip_extract(evil, target, ZipLimits())
    assert not list(target.iterdir()) and not (tmp_path.parent / "etc").exists()
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as zf:
        info = zipfile.ZipInfo("passwd")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UploadError, match="符号链接"):
        uploads.zip_extract(link, target, ZipLimits())


def test_zip_limits_on_entries_and_total(tmp_path):
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(30):
            zf.writestr(f"f{i}.txt", "x")
    with pytest.raises(UploadError, match="条目过多"), zipfile.ZipFile(many) as zf:
        uploads.zip_check(zf, ZipLimits(max_entries=20))
    with pytest.raises(UploadError, match="上限"), zipfile.ZipFile(many) as zf:
        uploads.zip_check(zf, ZipLimits(max_total_bytes=10))


def test_zip_bomb_is_refused_before_extraction_with_bounded_memory(zip_bomb, tmp_path):
    # Given a 1 MB zip that inflates to 1 GiB
    target = tmp_path / "out"
    target.mkdir()
    rss_before = _rss_peak_mb()
    tracemalloc.start()
    # When it is extracted or read as photos
    with pytest.raises(UploadError, match="压缩比") as err:
        uploads.zip_extract(zip_bomb, target, ZipLimits())
    with pytest.raises(UploadError, match="压缩比"):
        uploads.zip_read_members(zip_bomb, ZipLimits(), field="photos", max_member_bytes=20 * MB)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Then it is refused from its central directory: nothing written, memory growth under 50 MB
    assert err.value.too_large
    assert not list(target.iterdir())
    assert peak < 50 * MB, peak
    assert _rss_peak_mb() - rss_before < 50


def test_extraction_caps_bytes_even_when_headers_lie(tmp_path):
    # Given an archive whose entries are each under the ratio floor but add up past the total cap
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for i in range(3):
            zf.writestr(f"{i}.bin", bytes(400_000))
    limits = ZipLimits(max_total_bytes=1_000_000)
    with pytest.raises(UploadError, match="上限"), zipfile.ZipFile(path) as zf:
        uploads.zip_check(zf, limits)
    # and the streaming copy stops at the declared size of an entry
    with pytest.raises(UploadError, match="超出"):
        uploads._copy_capped(
            io.BytesIO(bytes(2 * MB)), io.BytesIO(), declared=MB, budget=10 * MB, field="file", name="x"
        )


def test_safe_content_type_never_html_or_svg():
    assert uploads.safe_content_type(b"<html><script>") == "application/octet-stream"
    assert uploads.safe_content_type(b"<svg onload=x>") == "application/octet-stream"
    assert uploads.safe_content_type(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert uploads.safe_content_type(b"%PDF-1.4") == "application/pdf"


# ---------------------------------------------------------------------------------------------------
# Through the API and the download view (real PostGIS, demo county)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_polyglot_marker_photo_is_stored_clean_and_served_only_as_an_attachment(honghu_line, side_users):
    # Given a boundary-team user uploading a GIF+script named evil.html as a marker photo
    m = honghu_line.markers.order_by("seq", "letter").first()
    r = _client(side_users[1]).post(
        f"/api/boundary-markers/{m.pk}/photos/",
        {"photos": [SimpleUploadedFile("evil.html", _gif_polyglot(), content_type="text/html")]},
        format="multipart",
    )
    assert r.status_code == 201, r.content
    # Then the stored file has a generated name, a PNG extension and no script
    photo = m.photos.get()
    stored = Path(photo.file.name).name
    assert stored.endswith(".png") and "evil" not in stored
    with photo.file.open("rb") as fh:
        assert b"<script" not in fh.read()
    # And it is served by /files/ as a download with a safe type, nosniff and a sandbox CSP
    url = r.json()["properties"]["photos"][0]
    assert url == f"/files/marker-photo/{photo.pk}/"
    viewer = APIClient()
    viewer.force_login(side_users[0])
    got = viewer.get(url)
    assert got.status_code == 200
    assert got["Content-Type"] == "image/png"
    assert got["Content-Disposition"].startswith("attachment")
    assert got["X-Content-Type-Options"] == "nosniff"
    assert got["Content-Security-Policy"].startswith("sandbox")
    assert b"<script" not in b"".join(got.streaming_content)
    # And the raw path under /media/ serves nothing
    assert viewer.get(f"/media/{photo.file.name}").status_code == 404


@pytest.mark.django_db
def test_case_attachment_html_and_svg_refused_pdf_stored_under_generated_name(make_user):
    from tests.placenames.test_cases import _new_case

    officer = make_user(roles.PLACENAME_OFFICER, jurisdiction_code="421281")
    case = _new_case(officer)
    c = _client(officer)
    for name, body in (("a.html", b"<html>" + SCRIPT), ("a.svg", b"<svg onload=alert(1)/>")):
        r = c.post(
            f"/api/naming-cases/{case.pk}/attachments/",
            {
                "kind": "other",
                "title": name,
                "file": SimpleUploadedFile(name, body, content_type="image/png"),
            },
            format="multipart",
        )
        assert r.status_code == 400, r.content
        assert "file" in r.json()["errors"] and "不允许" in r.json()["errors"]["file"][0]
    assert not case.attachments.exists()
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
    r = c.post(
        f"/api/naming-cases/{case.pk}/attachments/",
        {"kind": "other", "title": "评估报告", "file": SimpleUploadedFile("r.html", pdf)},
        format="multipart",
    )
    assert r.status_code == 201, r.content
    att = case.attachments.get()
    assert att.file.name.endswith(".pdf") and "r.html" not in att.file.name
    url = r.json()["attachments"][0]["url"]
    assert url == f"/files/attachment/{att.pk}/"
    browser = APIClient()
    browser.force_login(officer)  # /files/ is a Django view: a session, not a DRF token
    got = browser.get(url)
    assert got.status_code == 200 and got["Content-Type"] == "application/pdf"
    assert got["Content-Disposition"].startswith("attachment")
    assert quote("评估报告.pdf") in got["Content-Disposition"]
    # a signed-in user whose role cannot read place names gets nothing; anonymous goes to the login
    planner = APIClient()
    planner.force_login(make_user(roles.PLANNER))
    assert planner.get(url).status_code == 404
    assert APIClient().get(url).status_code == 302


@pytest.mark.django_db
def test_upload_over_the_limit_is_413_with_a_message(honghu_line, side_users, settings):
    settings.GEO_MZ_UPLOAD_MAX_MB = 0.001  # ~1 KB
    m = honghu_line.markers.order_by("seq", "letter").first()
    big = SimpleUploadedFile("big.png", _png() + bytes(4096), content_type="image/png")
    r = _client(side_users[1]).post(
        f"/api/boundary-markers/{m.pk}/photos/", {"photos": [big]}, format="multipart"
    )
    assert r.status_code == 413, r.content
    assert "文件过大" in r.json()["errors"]["photos"][0]


@pytest.mark.django_db
def test_viewer_cannot_download_another_users_export_file(make_user, settings, tmp_path):
    from geo_mz.core.models import Job

    settings.MEDIA_ROOT = tmp_path / "media"
    owner = make_user(roles.PLANNER)
    viewer = make_user(roles.VIEWER)
    job = Job.objects.create(kind="export", params={"format": "csv"}, status="done", created_by=owner)
    job.file.save("roads.csv", ContentFile("名称\n<script>x</script>\n".encode()), save=False)
    job.file_name = "roads-421281.csv"
    job.save()
    other = APIClient()
    other.force_login(viewer)
    assert other.get(f"/files/job/{job.pk}/").status_code == 404
    assert other.get(f"/api/exports/{job.pk}/download/").status_code == 404
    assert other.get(f"/media/{job.file.name}").status_code == 404
    mine = APIClient()
    mine.force_login(owner)
    got = mine.get(f"/files/job/{job.pk}/")
    assert got.status_code == 200
    assert got["Content-Type"] == "application/octet-stream"
    assert got["X-Content-Type-Options"] == "nosniff"
    assert 'filename="roads-421281.csv"' in got["Content-Disposition"]
    api = mine.get(f"/api/exports/{job.pk}/download/")
    assert api.status_code == 200 and api["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_viewer_zip_bomb_to_import_findings_is_403_before_the_upload_is_read(
    open_inspection, make_user, zip_bomb, monkeypatch
):
    # Given a viewer, and archive code that would fail the test if it ever ran
    def never(*args, **kwargs):
        raise AssertionError("the upload was read before the permission check")

    monkeypatch.setattr(uploads, "zip_check", never)
    monkeypatch.setattr(uploads, "zip_read_members", never)
    viewer = make_user(roles.VIEWER)
    rss_before = _rss_peak_mb()
    r = _client(viewer).post(
        f"/api/inspections/{open_inspection.pk}/import-findings/",
        {
            "file": SimpleUploadedFile("f.csv", b"x"),
            "photos": [SimpleUploadedFile("photos.zip", zip_bomb.read_bytes())],
        },
        format="multipart",
    )
    # Then: 403 with the role message, and no memory spent on the archive
    assert r.status_code == 403, r.content
    assert _rss_peak_mb() - rss_before < 50


@pytest.mark.django_db
def test_team_zip_bomb_to_import_findings_is_413_without_inflating(open_inspection, side_users, zip_bomb):
    tracemalloc.start()
    rss_before = _rss_peak_mb()
    r = _client(side_users[1]).post(
        f"/api/inspections/{open_inspection.pk}/import-findings/",
        {
            "file": SimpleUploadedFile("f.csv", "界桩编号,状况\n".encode()),
            "photos": [SimpleUploadedFile("photos.bin", zip_bomb.read_bytes())],  # a zip by content
        },
        format="multipart",
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert r.status_code == 413, r.content
    assert "压缩比" in r.json()["errors"]["photos"][0]
    assert peak < 50 * MB and _rss_peak_mb() - rss_before < 50


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """tempfile's directory, private to this test, so leftovers can be counted."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


@pytest.mark.django_db
def test_division_import_zip_bomb_refused_and_temp_dirs_removed(make_user, zip_bomb, private_tmp):
    admin = make_user(roles.ADMIN)
    r = _client(admin).post(
        "/api/divisions/import/",
        {"kind": "geometries", "file": SimpleUploadedFile("towns.zip", zip_bomb.read_bytes())},
        format="multipart",
    )
    assert r.status_code == 413, r.content
    assert list(private_tmp.iterdir()) == []


@pytest.mark.django_db
def test_division_import_of_a_zipped_file_leaves_no_temp_dir_after_a_failed_import(make_user, private_tmp):
    # Given a zipped GeoJSON whose features lack the code field (the import fails per row/file)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            "towns.geojson",
            '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"x":1},'
            '"geometry":{"type":"Point","coordinates":[113.9,29.7]}}]}',
        )
    admin = make_user(roles.ADMIN)
    r = _client(admin).post(
        "/api/divisions/import/",
        {"kind": "geometries", "file": SimpleUploadedFile("towns.zip", buf.getvalue())},
        format="multipart",
    )
    assert r.status_code == 400, r.content
    assert r.json()["source"] == "towns.zip"
    # Then neither the upload's copy nor the unpacked archive is left behind
    assert list(private_tmp.iterdir()) == []


@pytest.mark.django_db
def test_viewer_facility_import_is_403_before_the_upload_is_saved(make_user, monkeypatch):
    from geo_mz.api import coverage as coverage_api

    def never(*args, **kwargs):
        raise AssertionError("the upload was saved before the permission check")

    monkeypatch.setattr(coverage_api, "saved_upload", never)
    r = _client(make_user(roles.VIEWER)).post(
        "/api/facilities/import/", {"file": SimpleUploadedFile("f.csv", b"a,b\n")}, format="multipart"
    )
    assert r.status_code == 403, r.content


@pytest.mark.django_db
def test_large_facility_import_runs_as_a_background_job(make_user, settings, tmp_path):
    from geo_mz.core import import_jobs, jobs
    from geo_mz.core.models import Job

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GEO_MZ_JOBS_MODE = "worker"  # queued only; run below in this test's transaction
    settings.GEO_MZ_IMPORT_BACKGROUND_MB = 0.0001  # ~100 bytes: this CSV is "large"
    planner = make_user(roles.PLANNER)
    rows = ["名称,类型,经度,纬度"] + [f"测试站{i},day_care,113.9{i},29.72" for i in range(5)]
    r = _client(planner).post(
        "/api/facilities/import/",
        {"file": SimpleUploadedFile("big.csv", "\n".join(rows).encode()), "dry_run": True},
        format="multipart",
    )
    assert r.status_code == 202, r.content
    body = r.json()
    assert body["status"] == "queued" and body["url"].endswith(f"/api/import-jobs/{body['id']}/")
    job = Job.objects.get(pk=body["id"])
    saved = Path(settings.MEDIA_ROOT) / job.params["upload"]
    assert saved.exists() and saved.name == "upload.csv"
    result = import_jobs.file_import_job(jobs.JobContext(job, tmp_path))
    assert result["kind"] == "facilities" and result["source"] == "big.csv" and result["dry_run"]
    assert not saved.parent.exists()  # the upload is removed when the job ends
    # only its submitter can follow it
    assert _client(planner).get(f"/api/import-jobs/{job.pk}/").status_code == 200
    assert _client(make_user(roles.PLANNER)).get(f"/api/import-jobs/{job.pk}/").status_code == 404


@pytest.mark.django_db
def test_case_page_links_attachments_through_files_and_refuses_html_upload(make_user):
    from django.test import Client

    from tests.placenames.test_cases import _new_case

    officer = make_user(roles.PLACENAME_OFFICER, jurisdiction_code="421281")
    case = _new_case(officer)
    c = Client()
    c.force_login(officer)
    page = f"/placenames/cases/{case.pk}/"
    r = c.post(
        page,
        {
            "op": "attach",
            "kind": "other",
            "title": "x",
            "file": SimpleUploadedFile("x.html", b"<html>" + SCRIPT),
        },
        follow=True,
    )
    assert r.status_code == 200 and "不允许" in r.content.decode()
    assert not case.attachments.exists()
    r = c.post(
        page,
        {"op": "attach", "kind": "other", "title": "图", "file": SimpleUploadedFile("p.svg", _png())},
        follow=True,
    )
    att = case.attachments.get()
    html = r.content.decode()
    assert f'href="/files/attachment/{att.pk}/"' in html and "/media/" not in html
    assert att.file.name.endswith(".png")


@pytest.mark.django_db
def test_request_declaring_more_than_the_import_limit_is_413_before_the_body_is_read(make_user, settings):
    settings.GEO_MZ_IMPORT_MAX_MB = 1
    c = APIClient()
    c.force_login(make_user(roles.ADMIN))
    # Given a body that claims 5 MB (the test client would send it; the server must not read it)
    r = c.generic(
        "POST",
        "/api/facilities/import/",
        b"x" * 10,
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(5 * MB),
    )
    assert r.status_code == 413
    assert "请求过大" in r.json()["detail"]

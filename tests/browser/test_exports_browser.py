"""The export page in real headless Chromium: queue a GBK shapefile export, watch its progress, and
download the zip (the job runs in a background thread of the live server)."""

from __future__ import annotations

import zipfile
from urllib.parse import urlparse

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_export_a_layer_as_gbk_shapefile_and_download_it(live_server, demo_county, page, settings, tmp_path):
    from geo_mz.core import geofile, roles
    from geo_mz.core.services import user_create
    from geo_mz.facilities.models import Facility

    settings.GEO_MZ_JOBS_MODE = "thread"
    settings.MEDIA_ROOT = tmp_path / "media"
    user_create("exporter", password="pw-Test-12345", role=roles.PLANNER, jurisdiction_code="421281")
    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/accounts/login/?next=/exports/")
    page.fill("input[name=username]", "exporter")
    page.fill("input[name=password]", "pw-Test-12345")
    page.click("button[type=submit]")
    # the form is in the page before exports.js (at the end of <body>) has run: wait for the script
    page.wait_for_selector("#export-encoding:disabled", timeout=10_000)  # encoding: shapefiles only
    assert page.is_disabled("#export-encoding")
    page.select_option("#export-layer", "facilities")
    page.select_option("#export-format", "shp")
    assert not page.is_disabled("#export-encoding")
    page.select_option("#export-encoding", "GBK")
    page.click("#export-form button[type=submit]")

    link = page.wait_for_selector("a.export-download", timeout=60_000)
    row = page.locator("#export-jobs tbody tr").first
    assert row.get_attribute("data-status") == "done"
    n = Facility.objects.count()
    assert f"{n:,}" in row.inner_text() and "100%" in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "exports.png"), full_page=True)

    with page.expect_download() as info:
        link.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.suffix == ".zip"
    with zipfile.ZipFile(path) as z:
        cpg = next(name for name in z.namelist() if name.endswith(".cpg"))
        assert z.read(cpg).decode().strip() == "GBK"
        z.extractall(tmp_path / "shp")
    data = geofile.read_vector(next((tmp_path / "shp").glob("*.shp")))
    assert data.encoding == "GBK" and len(data.frame) == n

    hosts = {urlparse(u).hostname for u in requested if u.startswith("http")}
    assert hosts <= {"127.0.0.1", "localhost"}, hosts
    assert not errors, errors

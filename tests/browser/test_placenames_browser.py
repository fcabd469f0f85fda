"""A naming case from the form to the announcement, in real headless Chromium."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlparse

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _seed_zhongshan_road():
    from django.conf import settings
    from django.contrib.gis.geos import LineString

    from geo_mz.core import crs
    from geo_mz.placenames import services
    from geo_mz.placenames.models import FeatureKind, PlaceName

    if PlaceName.objects.filter(name="中山路", status="active").exists():
        return
    coords = [
        crs.lonlat_to_projected(lon, lat, settings.GEO_MZ_SRID)
        for lon, lat in ((113.90, 29.72), (113.91, 29.72))
    ]
    feature = services.feature_create(
        kind=FeatureKind.objects.get(code="road"),
        geom=LineString(coords, srid=settings.GEO_MZ_SRID),
        status="active",
    )
    decision = services.decision_get_or_create("浏览器测试〔2010〕1号", dt.date(2010, 1, 1), "赤壁市人民政府")
    services.name_register(feature, name="中山路", decision=decision, valid_from=dt.date(2010, 1, 1))


def test_officer_runs_a_naming_case_through_every_state(live_server, demo_county, page):
    from geo_mz.core import roles
    from geo_mz.core.services import user_create

    _seed_zhongshan_road()
    user_create("officer", password="pw-Test-12345", role=roles.PLACENAME_OFFICER, jurisdiction_code="421281")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # Given a signed-in place-name officer on the new-case form
    page.goto(f"{live_server.url}/accounts/login/?next=/placenames/cases/new/")
    page.fill("input[name=username]", "officer")
    page.fill("input[name=password]", "pw-Test-12345")
    page.click("button[type=submit]")
    page.wait_for_selector("#map[data-ready='true']", timeout=30_000)

    # When the officer types a name that sounds like 中山路, the live check flags the homophone
    page.fill("input[name=title]", "栖霞路命名")
    page.fill("input[name=applicant]", "赤马港街道办事处")
    page.select_option("select[name=division_code]", "421281002")
    page.fill("#proposed-name", "钟山路")
    page.wait_for_function(
        # a function, not an expression string: Playwright would eval() a string, which the CSP forbids
        "() => document.getElementById('findings').dataset.rules?.includes('homophone')",
        timeout=15_000,
    )
    assert "中山路" in page.inner_text("#findings")
    assert page.locator(".leaflet-tooltip", has_text="中山路").count() >= 1  # the conflict is on the map

    # and after choosing another name and drawing the centre-line, the case is created
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5)
    page.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.52)
    assert page.get_attribute("#map", "data-vertices") == "2"
    page.fill("#proposed-name", "栖霞路")
    page.wait_for_function(
        "() => document.getElementById('romanization').textContent === 'Qixia Lu'", timeout=15_000
    )
    page.click("#case-submit")
    page.wait_for_selector("#case[data-state='application']", timeout=15_000)

    # Then every step runs from the case page
    notice_start = (dt.date.today() - dt.timedelta(days=10)).isoformat()
    steps = [
        ("accept", {}),
        ("start_notice", {"notice_start": notice_start}),
        ("submit", {}),
        ("approve", {"decision_number": "赤政函〔2026〕88号", "decided_on": dt.date.today().isoformat()}),
        ("file", {}),
        ("announce", {"announcement_number": "赤民地公〔2026〕8号"}),
    ]
    expected = ["review", "notice", "submitted", "approved", "filed", "announced"]
    for (action, fields), state in zip(steps, expected, strict=True):
        form = page.locator(f"form.transition[data-action='{action}']")
        for name, value in fields.items():
            form.locator(f"input[name={name}]").fill(value)
        form.locator("button[type=submit]").click()
        page.wait_for_selector(f"#case[data-state='{state}']", timeout=15_000)
        assert not page.locator(".messages .error").count(), page.inner_text(".messages")

    assert page.inner_text("#case-state") == "公告"
    assert page.locator("#case-events li").count() == 7
    pdf = page.request.get(live_server.url + page.get_attribute("#announcement-pdf", "href"))
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "naming_case.png"), full_page=True)

    # and the road page shows the new name
    page.click("#case-items a")
    page.wait_for_selector("#name-history li")
    assert "栖霞路" in page.inner_text("#name-history")
    hosts = {urlparse(url).hostname for url in requested if not url.startswith("data:")}
    assert hosts <= {"localhost", "127.0.0.1"}, hosts
    assert not errors, errors
